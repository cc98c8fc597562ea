/**
 * einops' layers (Rearrange, Reduce, EinMix): values against float64 loops written here, einops' parameter
 * shapes, initialisation bounds and state-dict keys, pattern errors raised when a layer is built, gradients by
 * finite differences, and a ViT-style patch embedding trained on every device.
 */
import { describe, expect, it } from 'vitest';
import { EinjitError, manualSeed, noGrad, tensor, type Device, type Tensor } from '../../src/index.js';
import { DEVICES } from '../helpers/devices.js';
import { gradcheck, nonContiguous, randomTensor, prng } from '../autograd/gradcheck.js';
import { multiIndices } from '../helpers/random.js';
import { nn, optim } from './nn.js';

function randomData(n: number, seed: number): Float64Array {
  const next = prng(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = next() * 2 - 1;
  return out;
}

/** Row-major strides of a shape. */
function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let d = shape.length - 2; d >= 0; d--) s[d] = s[d + 1]! * shape[d + 1]!;
  return s;
}

function at(data: ArrayLike<number>, shape: readonly number[], idx: readonly number[]): number {
  const s = stridesOf(shape);
  return data[idx.reduce((o, c, d) => o + c * s[d]!, 0)]!;
}

async function values(t: Tensor): Promise<number[]> {
  return Array.from(await t.data(), Number);
}

function expectClose(actual: readonly number[], expected: readonly number[], tol: number): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  actual.forEach((v, i) => { worst = Math.max(worst, Math.abs(v - expected[i]!) / Math.max(1, Math.abs(expected[i]!))); });
  expect(worst).toBeLessThanOrEqual(tol);
}

const tolOf = (device: Device): number => (device === 'cpu' ? 1e-12 : 1e-5);
const dtypeOf = (device: Device): 'float32' | 'float64' => (device === 'cpu' ? 'float64' : 'float32');

describe.each(DEVICES)('einops layers on %s: values against float64 loops', (device) => {
  const dtype = dtypeOf(device);
  const tol = tolOf(device);

  it('Rearrange: the ViT patch split', async () => {
    const [B, C, H, P1, W, P2] = [2, 3, 2, 2, 3, 2];
    const shape = [B, C, H * P1, W * P2];
    const data = randomData(B * C * H * P1 * W * P2, 1);
    const x = tensor(data, { shape, dtype, device });
    const layer = new nn.Rearrange('b c (h p1) (w p2) -> b (h w) (p1 p2 c)', { p1: P1, p2: P2 });
    const y = layer.forward(x);
    expect(y.shape).toEqual([B, H * W, P1 * P2 * C]);
    const expected: number[] = [];
    for (const [b, hw, k] of multiIndices([B, H * W, P1 * P2 * C])) {
      const h = Math.floor(hw! / W), w = hw! % W;
      const p1 = Math.floor(k! / (P2 * C)), p2 = Math.floor(k! / C) % P2, c = k! % C;
      expected.push(at(data, shape, [b!, c, h * P1 + p1, w * P2 + p2]));
    }
    expectClose(await values(y), expected, tol);
  });

  it("Reduce: 2x2 max pooling and a global mean", async () => {
    const [B, C, H, W] = [2, 3, 4, 6];
    const shape = [B, C, H, W];
    const data = randomData(B * C * H * W, 2);
    const x = tensor(data, { shape, dtype, device });
    const pool = new nn.Reduce('b c (h 2) (w 2) -> b c h w', 'max');
    const expectedPool: number[] = [];
    for (const [b, c, h, w] of multiIndices([B, C, H / 2, W / 2])) {
      let m = -Infinity;
      for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) m = Math.max(m, at(data, shape, [b!, c!, 2 * h! + i, 2 * w! + j]));
      expectedPool.push(m);
    }
    expectClose(await values(pool.forward(x)), expectedPool, tol);

    const gap = new nn.Reduce('b c h w -> b c', 'mean');
    const expectedGap: number[] = [];
    for (const [b, c] of multiIndices([B, C])) {
      let s = 0;
      for (const [h, w] of multiIndices([H, W])) s += at(data, shape, [b!, c!, h!, w!]);
      expectedGap.push(s / (H * W));
    }
    expectClose(await values(gap.forward(x)), expectedGap, tol);
  });

  it('EinMix: a multi-head linear layer with bias', async () => {
    manualSeed(3);
    const [T, B, HEAD, CIN, COUT] = [3, 2, 2, 4, 5];
    const mix = new nn.EinMix('t b (head cin) -> t b (head cout)', 'head cin cout', 'head cout', { head: HEAD, cin: CIN, cout: COUT }, { dtype, device });
    expect(mix.weight.shape).toEqual([HEAD, CIN, COUT]);
    expect(mix.bias!.shape).toEqual([1, 1, HEAD, COUT]);
    const xs = [T, B, HEAD * CIN];
    const data = randomData(T * B * HEAD * CIN, 4);
    const w = await values(mix.weight);
    const bias = await values(mix.bias!);
    const y = mix.forward(tensor(data, { shape: xs, dtype, device }));
    expect(y.shape).toEqual([T, B, HEAD * COUT]);
    const expected: number[] = [];
    for (const [t, b, k] of multiIndices([T, B, HEAD * COUT])) {
      const head = Math.floor(k! / COUT), co = k! % COUT;
      let s = at(bias, [1, 1, HEAD, COUT], [0, 0, head, co]);
      for (let ci = 0; ci < CIN; ci++) s += at(data, xs, [t!, b!, head * CIN + ci]) * at(w, [HEAD, CIN, COUT], [head, ci, co]);
      expected.push(s);
    }
    expectClose(await values(y), expected, tol);
  });

  it('EinMix: mixing a composed axis that is not last (no bias), and an ellipsis', async () => {
    manualSeed(5);
    const [B, H, W, C, HOUT] = [2, 3, 2, 4, 5];
    const mix = new nn.EinMix('b (h w) c -> b c (hout w)', 'h hout', null, { h: H, hout: HOUT }, { dtype, device });
    expect(mix.bias).toBeNull();
    const xs = [B, H * W, C];
    const data = randomData(B * H * W * C, 6);
    const w = await values(mix.weight);
    const y = mix.forward(tensor(data, { shape: xs, dtype, device }));
    expect(y.shape).toEqual([B, C, HOUT * W]);
    const expected: number[] = [];
    for (const [b, c, k] of multiIndices([B, C, HOUT * W])) {
      const ho = Math.floor(k! / W), ww = k! % W;
      let s = 0;
      for (let h = 0; h < H; h++) s += at(data, xs, [b!, h * W + ww, c!]) * at(w, [H, HOUT], [h, ho]);
      expected.push(s);
    }
    expectClose(await values(y), expected, tol);

    const any = new nn.EinMix('... cin -> ... cout', 'cin cout', 'cout', { cin: 3, cout: 2 }, { dtype, device });
    expect(any.bias!.shape).toEqual([2]);
    const zs = [2, 2, 3];
    const zd = randomData(12, 7);
    const aw = await values(any.weight);
    const ab = await values(any.bias!);
    const z = any.forward(tensor(zd, { shape: zs, dtype, device }));
    expect(z.shape).toEqual([2, 2, 2]);
    const expectedZ: number[] = [];
    for (const [i, j, co] of multiIndices([2, 2, 2])) {
      let s = ab[co!]!;
      for (let ci = 0; ci < 3; ci++) s += at(zd, zs, [i!, j!, ci]) * at(aw, [3, 2], [ci, co!]);
      expectedZ.push(s);
    }
    expectClose(await values(z), expectedZ, tol);
  });
});

describe('EinMix parameters and state dict', () => {
  it("names its parameters 'weight' and 'bias' and shapes the bias over the output axes, as einops does", () => {
    const withBias = new nn.EinMix('t b cin -> t b cout', 'cin cout', 'cout', { cin: 10, cout: 20 });
    expect(Object.keys(withBias.stateDict())).toEqual(['weight', 'bias']);
    expect(withBias.stateDict().weight!.shape).toEqual([10, 20]);
    expect(withBias.stateDict().bias!.shape).toEqual([1, 1, 20]);
    expect(withBias.einsumPattern).toBe('dab,bc->dac');
    const noBias = new nn.EinMix('h w c -> hout w c', 'h hout', null, { h: 4, hout: 6 });
    expect(Object.keys(noBias.stateDict())).toEqual(['weight']);
    expect(noBias.parameters().length).toBe(1);
    const scale = new nn.EinMix('t b c -> t b c', 'c', null, { c: 8 });
    expect(scale.weight.shape).toEqual([8]);
    expect(new nn.Rearrange('a b -> b a').parameters()).toEqual([]);
    expect(Object.keys(new nn.Reduce('a b -> a', 'sum').stateDict())).toEqual([]);
    const seq = new nn.Sequential(new nn.Rearrange('b c h w -> b h w c'), withBias, new nn.Reduce('a b c -> a c', 'mean'), noBias);
    expect(Object.keys(seq.stateDict())).toEqual(['1.weight', '1.bias', '3.weight']);
  });

  it('initialises uniformly within ±√(3/fan_in) (weight) and ±√(1/fan_in) (bias), fan_in counting mixed axes only', async () => {
    manualSeed(11);
    // head reaches the output and cin does not, so fan_in = 16.
    const mix = new nn.EinMix('t (head cin) -> t (head cout)', 'head cin cout', 'head cout', { head: 3, cin: 16, cout: 40 });
    const w = await values(mix.weight);
    const b = await values(mix.bias!);
    const wb = Math.sqrt(3 / 16), bb = Math.sqrt(1 / 16);
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(wb);
    expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(0.9 * wb);
    expect(Math.max(...b.map(Math.abs))).toBeLessThanOrEqual(bb);
    expect(Math.max(...b.map(Math.abs))).toBeGreaterThan(0.8 * bb);
    // Uniform on [-a, a] has variance a²/3.
    const variance = w.reduce((s, v) => s + v * v, 0) / w.length;
    expect(variance).toBeGreaterThan(0.8 * wb * wb / 3);
    expect(variance).toBeLessThan(1.2 * wb * wb / 3);
  });

  it('round-trips through stateDict and loadStateDict', async () => {
    manualSeed(12);
    const a = new nn.EinMix('b (g c) -> b (g d)', 'g c d', 'g d', { g: 2, c: 3, d: 4 });
    const b = new nn.EinMix('b (g c) -> b (g d)', 'g c d', 'g d', { g: 2, c: 3, d: 4 });
    b.loadStateDict(a.stateDict());
    const x = tensor(randomData(12, 13), { shape: [2, 6] });
    expect(await values(b.forward(x))).toEqual(await values(a.forward(x)));
    expect(() => b.loadStateDict({ weight: a.weight.detach() })).toThrow(/missing keys \(1\): "bias"/);
  });

  it('prints like einops repr', () => {
    expect(new nn.EinMix('t b cin -> t b cout', 'cin cout', 'cout', { cin: 2, cout: 3 }).toString())
      .toBe("EinMix('t b cin -> t b cout', 'cin cout', 'cout', cin=2, cout=3)");
    expect(new nn.Rearrange('b (h p) -> b h p', { p: 2 }).toString()).toBe("Rearrange('b (h p) -> b h p', p=2)");
    expect(new nn.Reduce('b c h w -> b c', 'mean').toString()).toBe("Reduce('b c h w -> b c', 'mean')");
  });
});

describe("EinMix decomposes as einops' own tests expect (test_einmix_decomposition)", () => {
  type Inner = { _pre: nn.Rearrange | null; _post: nn.Rearrange | null };
  const cases: [string, string, string | null, Record<string, number>, string, number[], number[] | null, string | null, string | null][] = [
    ['a b c d e -> e d c b a', 'd a b', null, { d: 2, a: 3, b: 5 }, 'abcde,dab->edcba', [2, 3, 5], null, null, null],
    ['a b c d e -> e d c b a', 'd a b', 'a b c d e', { a: 1, b: 2, c: 3, d: 4, e: 5 }, 'abcde,dab->edcba', [4, 1, 2], [5, 4, 3, 2, 1], null, null],
    ['... -> ...', '', '', {}, '...,->...', [], [], null, null],
    ['b a ...  -> b c ...', 'b a c', null, { a: 1, b: 2, c: 3 }, 'ba...,bac->bc...', [2, 1, 3], null, null, null],
    ['(b a) ... -> b c (...)', 'b a c', null, { a: 1, b: 2, c: 3 }, 'ba...,bac->bc...', [2, 1, 3], null, '(b a) ... -> b a ...', 'b c ... -> b c (...)'],
    ['b ... (a c) -> b ... (a d)', 'c d', 'a d', { a: 1, c: 3, d: 4 }, 'b...ac,cd->b...ad', [3, 4], [1, 1, 4], 'b ... (a c) -> b ... a c', 'b ... a d -> b ... (a d)'],
    ['a ... (b c) -> a (... d b)', 'c d b', 'd b', { b: 2, c: 3, d: 4 }, 'a...bc,cdb->a...db', [3, 4, 2], [1, 4, 2], 'a ... (b c) -> a ... b c', 'a ... d b -> a (... d b)'],
  ];
  it.each(cases)('%s', (pattern, weightShape, biasShape, lengths, einsumPattern, wShape, bShape, pre, post) => {
    const mix = new nn.EinMix(pattern, weightShape, biasShape, lengths);
    expect(mix.einsumPattern).toBe(einsumPattern);
    expect(mix.weight.shape).toEqual(wShape);
    expect(mix.bias === null ? null : mix.bias.shape).toEqual(bShape);
    expect((mix as unknown as Inner)._pre?.pattern ?? null).toBe(pre);
    expect((mix as unknown as Inner)._post?.pattern ?? null).toBe(post);
  });

  it("runs the last one, with '...' inside the output group, against a loop", async () => {
    manualSeed(8);
    const [A, E, B, C, D] = [2, 3, 2, 3, 4];
    const mix = new nn.EinMix('a ... (b c) -> a (... d b)', 'c d b', 'd b', { b: B, c: C, d: D }, { dtype: 'float64' });
    const xs = [A, E, B * C];
    const data = randomData(A * E * B * C, 9);
    const w = await values(mix.weight);
    const bias = await values(mix.bias!);
    const y = mix.forward(tensor(data, { shape: xs, dtype: 'float64' }));
    expect(y.shape).toEqual([A, E * D * B]);
    const expected: number[] = [];
    for (const [a, k] of multiIndices([A, E * D * B])) {
      const e = Math.floor(k! / (D * B)), d = Math.floor(k! / B) % D, b = k! % B;
      let s = at(bias, [1, D, B], [0, d, b]);
      for (let c = 0; c < C; c++) s += at(data, xs, [a!, e, b * C + c]) * at(w, [C, D, B], [c, d, b]);
      expected.push(s);
    }
    expectClose(await values(y), expected, 1e-12);
  });
});

describe('a bad pattern fails when the layer is built', () => {
  const cases: [string, () => unknown, RegExp][] = [
    ['rearrange dropping an axis', () => new nn.Rearrange('a b -> a'), /Rearrange: axis 'b' appears only on the left side/],
    ['rearrange inventing an axis', () => new nn.Rearrange('a -> a c'), /Rearrange: axis 'c' appears only on the right side/],
    ['a syntax error', () => new nn.Rearrange('a b ->> a b'), /Rearrange: /],
    ['two unknown lengths in one group', () => new nn.Rearrange('a (b c) -> a b c'), /cannot infer the lengths of 'b' and 'c'/],
    ['a length for an axis not in the pattern', () => new nn.Rearrange('a b -> b a', { z: 2 }), /axis 'z' has a length but does not appear/],
    ['an unknown reduction', () => new nn.Reduce('a b -> a', 'median' as 'sum'), /Reduce: unknown reduction 'median'/],
    ['reduce creating an axis', () => new nn.Reduce('a -> a b', 'sum'), /Reduce: axis 'b' appears only on the right side/],
    ['EinMix: an output axis from nowhere', () => new nn.EinMix('a b -> a c', 'b', null, { b: 2 }), /EinMix: unrecognized identifiers on the right side: 'c'/],
    ['EinMix: a weight axis without a length', () => new nn.EinMix('a b -> a c', 'b c', null, { b: 2 }), /the length of the weight axis 'c' is not given/],
    ['EinMix: an unused length', () => new nn.EinMix('a b -> a c', 'b c', null, { b: 2, c: 3, z: 4 }), /axes 'z' have lengths but are not used/],
    ['EinMix: a redundant weight axis', () => new nn.EinMix('a b -> a b', 'b z', null, { b: 2, z: 3 }), /weight axes 'z' are redundant/],
    ['EinMix: ellipsis on one side', () => new nn.EinMix('... b -> c', 'b c', null, { b: 2, c: 3 }), /'...' must appear on both sides/],
    ['EinMix: ellipsis in the weight', () => new nn.EinMix('... b -> ... c', '... b c', null, { b: 2, c: 3 }), /'...' in the weight shape/],
    ['EinMix: an anonymous axis', () => new nn.EinMix('a (b 2) -> a c', 'b c', null, { b: 2, c: 3 }), /anonymous axis '2'/],
    ['EinMix: parentheses in the weight', () => new nn.EinMix('a b c -> a d', '(b c) d', null, { b: 2, c: 3, d: 4 }), /may only list axis names/],
    ['EinMix: a bias axis not in the output', () => new nn.EinMix('a b -> a c', 'b c', 'b', { b: 2, c: 3 }), /bias axes 'b' are not present in the output/],
    ['EinMix: a bias axis without a length', () => new nn.EinMix('a b -> a c d', 'b c d', 'a', { b: 2, c: 3, d: 1 }), /sizes are not provided for bias axes 'a'/],
    ['EinMix: bias before the ellipsis', () => new nn.EinMix('... b -> c ...', 'b c', 'c', { b: 2, c: 3 }), /bias dimensions should go after the ellipsis/],
    ['EinMix: an axis twice on one side', () => new nn.EinMix('a a -> a', 'a', null, { a: 2 }), /twice/],
    ["einops' restriction: a missing weight length", () => new nn.EinMix('a b c d e -> e d c b a', 'd a b', null, { d: 2, a: 3 }), /weight axis 'b' is not given/],
    ["einops' restriction: '(...)' on the left", () => new nn.EinMix('(...) a -> ... a', 'a', null, { a: 1 }), /'...' inside parentheses on the left/],
    ['EinMix: a syntax error in the weight shape', () => new nn.EinMix('a b -> a c', 'b c ->', null, { b: 2, c: 3 }), /EinMix: in the weight shape/],
  ];
  it.each(cases)('%s', (_, build, message) => {
    let error: unknown = null;
    try {
      build();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(EinjitError);
    expect(String((error as Error).message)).toMatch(message);
    expect((error as EinjitError).hint).toBeTruthy();
  });

  it('a good pattern with the wrong input fails at forward, like einops', () => {
    const layer = new nn.Rearrange('b (h p) -> b h p', { p: 4 });
    expect(() => layer.forward(tensor(randomData(6, 1), { shape: [2, 3] }))).toThrow(EinjitError);
  });
});

describe('gradients by finite differences (float64)', () => {
  it('EinMix to its input (non-contiguous too), weight and bias', () => {
    manualSeed(21);
    const mix = new nn.EinMix('t (head cin) -> (head cout) t', 'head cin cout', 'head cout', { head: 2, cin: 2, cout: 3 }, { dtype: 'float64' });
    const f = (x: Tensor, w: Tensor, b: Tensor): Tensor => {
      const saved = [mix.weight, mix.bias];
      Object.assign(mix, { weight: w, bias: b });
      try {
        return mix.forward(x);
      } finally {
        Object.assign(mix, { weight: saved[0], bias: saved[1] });
      }
    };
    const w = randomTensor([2, 2, 3], 22);
    const b = randomTensor([2, 3], 23); // right side flattened: head cout t -> bias [head, cout, 1]
    expect(mix.bias!.shape).toEqual([2, 3, 1]);
    const b3 = b.reshape([2, 3, 1]);
    gradcheck((x, ww, bb) => f(x!, ww!, bb!), [randomTensor([3, 4], 24), w, b3]);
    gradcheck((x, ww, bb) => f(x!, ww!, bb!), [nonContiguous(randomTensor([3, 4], 25), true), w, b3]);
  });

  it('Rearrange and Reduce (mean, max) to their input', () => {
    const r = new nn.Rearrange('b c (h p1) (w p2) -> b (h w) (p1 p2 c)', { p1: 2, p2: 1 });
    gradcheck((x) => r.forward(x!), [randomTensor([1, 2, 4, 3], 31)]);
    gradcheck((x) => r.forward(x!), [nonContiguous(randomTensor([1, 2, 4, 3], 32))]);
    const mean = new nn.Reduce('b (h 2) w -> b w', 'mean');
    gradcheck((x) => mean.forward(x!), [randomTensor([2, 4, 3], 33)]);
    const max = new nn.Reduce('b (h 2) -> b h', 'max');
    gradcheck((x) => max.forward(x!), [randomTensor([2, 6], 34)]);
  });
});

describe.each(DEVICES)('a ViT-style patch embedding trains on %s', (device) => {
  it('Sequential(Rearrange, Linear, EinMix, Reduce, Linear): the loss goes down', async () => {
    manualSeed(41);
    const [B, C, S, P, D, CLASSES] = [8, 3, 8, 4, 16, 4];
    const model = new nn.Sequential(
      new nn.Rearrange('b c (h p1) (w p2) -> b (h w) (p1 p2 c)', { p1: P, p2: P }),
      new nn.Linear(P * P * C, D),
      new nn.GELU(),
      new nn.EinMix('b n d -> b n e', 'd e', 'e', { d: D, e: D }),
      new nn.Reduce('b n d -> b d', 'mean'),
      new nn.Linear(D, CLASSES),
    );
    expect(Object.keys(model.stateDict())).toEqual(['1.weight', '1.bias', '3.weight', '3.bias', '5.weight', '5.bias']);
    await model.to(device);
    // Each class is an image whose pixels are shifted by a class-dependent amount: learnable from the patches.
    const labels = Array.from({ length: B }, (_, i) => i % CLASSES);
    const pixels = randomData(B * C * S * S, 42).map((v, i) => 0.3 * v + (labels[Math.floor(i / (C * S * S))]! - 1.5) * 0.5);
    const x = tensor(pixels, { shape: [B, C, S, S], dtype: 'float32', device });
    const y = tensor(labels, { dtype: 'int32', device });
    const opt = new optim.Adam(model.parameters(), { lr: 0.02 });
    const losses: number[] = [];
    for (let step = 0; step < 15; step++) {
      const loss = nn.functional.crossEntropy(model.forward(x), y);
      opt.zeroGrad();
      loss.backward();
      opt.step();
      losses.push((await loss.data())[0]!);
    }
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[losses.length - 1]!).toBeLessThan(losses[0]! * 0.5);
    expect(model.parameters().every((p) => p.device === device)).toBe(true);
    const logits = noGrad(() => model.forward(x));
    expect(logits.shape).toEqual([B, CLASSES]);
    // Read: the values are finite, and no launch is left in flight when the test ends.
    expect((await logits.data()).every(Number.isFinite)).toBe(true);
  }, 120_000);
});
