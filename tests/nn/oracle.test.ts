/**
 * Every nn layer, with and without bias and with each option, against a plain float64 reference written here
 * with loops (never einjit's einsum, unfold or functional ops), on the CPU in float64 and on WebGPU in float32.
 * The layer's parameters are read back as numbers and fed to the reference, so the reference shares nothing
 * with einjit but the values.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { tensor, type Tensor, type Device, type DType } from '../../src/index.js';
import { DEVICES } from '../helpers/devices.js';
import { prng } from '../helpers/random.js';
import { nn } from './nn.js';

/** A flat row-major array with its shape. */
interface Nd { shape: number[]; data: number[] }

const size = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
const strides = (s: readonly number[]): number[] => s.map((_, i) => size(s.slice(i + 1)));
const at = (x: Nd, idx: number[]): number => x.data[idx.reduce((o, v, i) => o + v * strides(x.shape)[i]!, 0)]!;

function random(shape: number[], seed: number, lo = -2, hi = 2): Nd {
  const next = prng(seed);
  return { shape, data: Array.from({ length: size(shape) }, () => lo + (hi - lo) * next()) };
}

async function values(t: Tensor): Promise<number[]> {
  return Array.from(await t.data(), Number);
}

// ---------------------------------------------------------------------------------------------------------------
// References

function linearRef(x: Nd, w: Nd, b: number[] | null): Nd {
  const [out, inp] = w.shape as [number, number];
  const rows = x.data.length / inp;
  const data: number[] = [];
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < out; o++) {
      let acc = b === null ? 0 : b[o]!;
      for (let i = 0; i < inp; i++) acc += x.data[r * inp + i]! * w.data[o * inp + i]!;
      data.push(acc);
    }
  }
  return { shape: [...x.shape.slice(0, -1), out], data };
}

interface Conv { stride: [number, number]; padding: [number, number]; dilation: [number, number]; groups: number }

function conv2dRef(x: Nd, w: Nd, b: number[] | null, o: Conv): Nd {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [O, Cg, KH, KW] = w.shape as [number, number, number, number];
  const OH = Math.floor((H + 2 * o.padding[0] - o.dilation[0] * (KH - 1) - 1) / o.stride[0]) + 1;
  const OW = Math.floor((W + 2 * o.padding[1] - o.dilation[1] * (KW - 1) - 1) / o.stride[1]) + 1;
  const perGroup = O / o.groups;
  const data: number[] = [];
  for (let n = 0; n < N; n++) for (let oc = 0; oc < O; oc++) for (let i = 0; i < OH; i++) for (let j = 0; j < OW; j++) {
    let acc = b === null ? 0 : b[oc]!;
    const g = Math.floor(oc / perGroup);
    for (let c = 0; c < Cg; c++) for (let ki = 0; ki < KH; ki++) for (let kj = 0; kj < KW; kj++) {
      const h = i * o.stride[0] - o.padding[0] + ki * o.dilation[0];
      const ww = j * o.stride[1] - o.padding[1] + kj * o.dilation[1];
      if (h < 0 || h >= H || ww < 0 || ww >= W) continue;
      acc += at(x, [n, g * Cg + c, h, ww]) * at(w, [oc, c, ki, kj]);
    }
    data.push(acc);
  }
  return { shape: [N, O, OH, OW], data };
}

function poolRef(x: Nd, k: [number, number], stride: [number, number], padding: [number, number], dilation: [number, number], kind: 'max' | 'avg'): Nd {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const OH = Math.floor((H + 2 * padding[0] - dilation[0] * (k[0] - 1) - 1) / stride[0]) + 1;
  const OW = Math.floor((W + 2 * padding[1] - dilation[1] * (k[1] - 1) - 1) / stride[1]) + 1;
  const data: number[] = [];
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let i = 0; i < OH; i++) for (let j = 0; j < OW; j++) {
    let best = -Infinity;
    let sum = 0;
    for (let a = 0; a < k[0]; a++) for (let bb = 0; bb < k[1]; bb++) {
      const h = i * stride[0] - padding[0] + a * dilation[0];
      const w = j * stride[1] - padding[1] + bb * dilation[1];
      const v = h < 0 || h >= H || w < 0 || w >= W ? (kind === 'max' ? -Infinity : 0) : at(x, [n, c, h, w]);
      best = Math.max(best, v);
      sum += v;
    }
    data.push(kind === 'max' ? best : sum / (k[0] * k[1]));
  }
  return { shape: [N, C, OH, OW], data };
}

function adaptiveAvgRef(x: Nd, [oh, ow]: [number, number]): Nd {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const data: number[] = [];
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let i = 0; i < oh; i++) for (let j = 0; j < ow; j++) {
    const h0 = Math.floor((i * H) / oh), h1 = Math.ceil(((i + 1) * H) / oh);
    const w0 = Math.floor((j * W) / ow), w1 = Math.ceil(((j + 1) * W) / ow);
    let sum = 0;
    for (let h = h0; h < h1; h++) for (let w = w0; w < w1; w++) sum += at(x, [n, c, h, w]);
    data.push(sum / ((h1 - h0) * (w1 - w0)));
  }
  return { shape: [N, C, oh, ow], data };
}

/** Batch norm over dim 1 of [N, C, ...]; returns the output and the batch mean and unbiased variance. */
function batchNormRef(x: Nd, mean: number[] | null, variance: number[] | null, w: number[] | null, b: number[] | null, eps: number): { y: Nd; batchMean: number[]; batchVarUnbiased: number[] } {
  const [N, C] = x.shape as [number, number];
  const inner = size(x.shape.slice(2));
  const count = N * inner;
  const bm: number[] = [], bv: number[] = [], bvu: number[] = [];
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let n = 0; n < N; n++) for (let k = 0; k < inner; k++) s += x.data[(n * C + c) * inner + k]!;
    const m = s / count;
    let q = 0;
    for (let n = 0; n < N; n++) for (let k = 0; k < inner; k++) q += (x.data[(n * C + c) * inner + k]! - m) ** 2;
    bm.push(m); bv.push(q / count); bvu.push(q / (count - 1));
  }
  const useM = mean ?? bm;
  const useV = variance ?? bv;
  const data = x.data.map((v, flat) => {
    const c = Math.floor(flat / inner) % C;
    const norm = (v - useM[c]!) / Math.sqrt(useV[c]! + eps);
    return norm * (w === null ? 1 : w[c]!) + (b === null ? 0 : b[c]!);
  });
  return { y: { shape: x.shape, data }, batchMean: bm, batchVarUnbiased: bvu };
}

function layerNormRef(x: Nd, normalized: number, w: number[] | null, b: number[] | null, eps: number): Nd {
  const data: number[] = [];
  for (let r = 0; r < x.data.length / normalized; r++) {
    const row = x.data.slice(r * normalized, (r + 1) * normalized);
    const m = row.reduce((a, v) => a + v, 0) / normalized;
    const v = row.reduce((a, u) => a + (u - m) ** 2, 0) / normalized;
    row.forEach((u, i) => data.push(((u - m) / Math.sqrt(v + eps)) * (w === null ? 1 : w[i]!) + (b === null ? 0 : b[i]!)));
  }
  return { shape: x.shape, data };
}

/** erf by its Taylor series: for |x| <= 3 the terms stay below 1e4, so float64 keeps ~1e-12. */
function erf(x: number): number {
  let term = x, sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

// ---------------------------------------------------------------------------------------------------------------

interface Setup { device: Device; dtype: DType; rtol: number; atol: number }
const setups: Setup[] = DEVICES.map((device) => device === 'cpu'
  ? { device, dtype: 'float64' as const, rtol: 1e-12, atol: 1e-12 }
  : { device, dtype: 'float32' as const, rtol: 2e-5, atol: 2e-5 });

function close(got: number[], want: Nd, s: Setup, what: string): void {
  expect(got.length, what).toBe(want.data.length);
  want.data.forEach((w, i) => {
    const g = got[i]!;
    if (!(Math.abs(g - w) <= s.atol + s.rtol * Math.abs(w))) expect.fail(`${what}: element ${i} is ${g}, the reference gives ${w}`);
  });
}

const numbers = async (t: Tensor | null): Promise<number[] | null> => (t === null ? null : values(t));

describe.each(setups)('nn layers against a float64 reference on $device ($dtype)', (s) => {
  const input = (x: Nd): Tensor => tensor(s.dtype === 'float64' ? Float64Array.from(x.data) : Float32Array.from(x.data), { shape: x.shape, dtype: s.dtype, device: s.device });
  const opts = { dtype: s.dtype };
  const onDevice = async <M extends nn.Module>(m: M): Promise<M> => (s.device === 'cpu' ? m : m.to(s.device));

  it('Linear with and without bias, 1-D to 3-D inputs', async () => {
    for (const bias of [true, false]) for (const lead of [[], [3], [2, 3]]) {
      const m = await onDevice(new nn.Linear(4, 5, { ...opts, bias }));
      const x = random([...lead, 4], 11);
      const w: Nd = { shape: [5, 4], data: (await numbers(m.weight))! };
      close(await values(m.forward(input(x))), linearRef(x, w, await numbers(m.bias)), s, `Linear bias=${bias} lead=[${lead}]`);
    }
  });

  it('Conv2d: bias, stride, padding, dilation and groups (property)', async () => {
    const arb = fc.record({
      bias: fc.boolean(), groups: fc.constantFrom(1, 2), kh: fc.integer({ min: 1, max: 3 }), kw: fc.integer({ min: 1, max: 3 }),
      sh: fc.integer({ min: 1, max: 2 }), sw: fc.integer({ min: 1, max: 2 }), ph: fc.integer({ min: 0, max: 2 }), pw: fc.integer({ min: 0, max: 1 }),
      dh: fc.integer({ min: 1, max: 2 }), dw: fc.integer({ min: 1, max: 2 }), seed: fc.integer({ min: 1, max: 1e6 }),
    });
    await fc.assert(fc.asyncProperty(arb, async (c) => {
      const m = await onDevice(new nn.Conv2d(4, 6, [c.kh, c.kw], { ...opts, bias: c.bias, groups: c.groups, stride: [c.sh, c.sw], padding: [c.ph, c.pw], dilation: [c.dh, c.dw] }));
      const x = random([2, 4, 6, 7], c.seed);
      const w: Nd = { shape: m.weight.shape.slice(), data: (await numbers(m.weight))! };
      const want = conv2dRef(x, w, await numbers(m.bias), { stride: [c.sh, c.sw], padding: [c.ph, c.pw], dilation: [c.dh, c.dw], groups: c.groups });
      const got = m.forward(input(x));
      expect(got.shape).toEqual(want.shape);
      close(await values(got), want, s, `Conv2d ${JSON.stringify(c)}`);
    }), { numRuns: s.device === 'cpu' ? 30 : 6, seed: 1204 });
  });

  it('Conv1d: bias, stride, padding, dilation and groups', async () => {
    for (const [bias, stride, padding, dilation, groups] of [[true, 1, 0, 1, 1], [false, 2, 1, 1, 1], [true, 1, 2, 2, 3], [false, 3, 1, 2, 3]] as const) {
      const m = await onDevice(new nn.Conv1d(3, 6, 3, { ...opts, bias, stride, padding, dilation, groups }));
      const x = random([2, 3, 9], 5);
      // A 1-D convolution is the 2-D one with a height of 1.
      const x2: Nd = { shape: [2, 3, 1, 9], data: x.data };
      const w: Nd = { shape: [6, 3 / groups, 1, 3], data: (await numbers(m.weight))! };
      const want = conv2dRef(x2, w, await numbers(m.bias), { stride: [1, stride], padding: [0, padding], dilation: [1, dilation], groups });
      const got = m.forward(input(x));
      expect(got.shape).toEqual([2, 6, want.shape[3]]);
      close(await values(got), want, s, `Conv1d ${[bias, stride, padding, dilation, groups]}`);
    }
  });

  it('MaxPool2d and AvgPool2d with stride, padding and dilation', async () => {
    const x = random([2, 3, 7, 8], 21);
    for (const [k, stride, padding, dilation] of [[[2, 2], undefined, [0, 0], [1, 1]], [[3, 2], [2, 1], [1, 1], [1, 1]], [[3, 3], [1, 2], [1, 0], [2, 1]]] as [[number, number], [number, number] | undefined, [number, number], [number, number]][]) {
      const st = stride ?? k;
      const mp = new nn.MaxPool2d(k, { stride: st, padding, dilation });
      close(await values(mp.forward(input(x))), poolRef(x, k, st, padding, dilation, 'max'), s, `MaxPool2d ${k} ${st} ${padding} ${dilation}`);
      const ap = new nn.AvgPool2d(k, { stride: st, padding });
      close(await values(ap.forward(input(x))), poolRef(x, k, st, padding, [1, 1], 'avg'), s, `AvgPool2d ${k} ${st} ${padding}`);
    }
  });

  it('AdaptiveAvgPool2d to sizes that do and do not divide the input', async () => {
    const x = random([2, 2, 7, 5], 31);
    // Neither divides, both, and each one alone (7 × 2: H divides, W does not; 3 × 5: W divides, H does not).
    for (const out of [[1, 1], [3, 2], [7, 5], [4, 3], [7, 2], [3, 5]] as [number, number][]) {
      close(await values(new nn.AdaptiveAvgPool2d(out).forward(input(x))), adaptiveAvgRef(x, out), s, `AdaptiveAvgPool2d ${out}`);
    }
  });

  it('BatchNorm1d/2d in training and eval, affine or not, tracking running stats or not', async () => {
    for (const [Layer, shape] of [[nn.BatchNorm2d, [3, 4, 2, 3]], [nn.BatchNorm1d, [5, 4]], [nn.BatchNorm1d, [3, 4, 6]]] as const) {
      for (const affine of [true, false]) for (const track of [true, false]) {
        const m = await onDevice(new Layer(4, { ...opts, affine, trackRunningStats: track, momentum: 0.25, eps: 1e-3 }));
        if (affine) {
          m.weight!.requiresGrad = false; m.bias!.requiresGrad = false;
          m.weight!.copy_(input(random([4], 3))); m.bias!.copy_(input(random([4], 4)));
        }
        const x = random(shape.slice(), 41);
        const w = await numbers(m.weight);
        const b = await numbers(m.bias);
        m.train();
        const train = batchNormRef(x, null, null, w, b, 1e-3);
        close(await values(m.forward(input(x))), train.y, s, `${Layer.name} train affine=${affine} track=${track}`);
        if (!track) continue;
        // running = (1 - momentum)·running + momentum·batch (unbiased variance), from mean 0 and variance 1.
        const rm = train.batchMean.map((v) => 0.25 * v);
        const rv = train.batchVarUnbiased.map((v) => 0.75 + 0.25 * v);
        close((await numbers(m.runningMean))!, { shape: [4], data: rm }, s, 'running mean');
        close((await numbers(m.runningVar))!, { shape: [4], data: rv }, s, 'running var');
        m.eval();
        const x2 = random(shape.slice(), 42);
        close(await values(m.forward(input(x2))), batchNormRef(x2, rm, rv, w, b, 1e-3).y, s, `${Layer.name} eval affine=${affine}`);
      }
    }
  });

  it('LayerNorm with affine, without bias, without affine', async () => {
    for (const o of [{}, { bias: false }, { elementwiseAffine: false }]) {
      const m = await onDevice(new nn.LayerNorm(6, { ...opts, ...o, eps: 1e-4 }));
      if (m.weight !== null) { m.weight.requiresGrad = false; m.weight.copy_(input(random([6], 8))); }
      if (m.bias !== null) { m.bias.requiresGrad = false; m.bias.copy_(input(random([6], 9))); }
      const x = random([2, 3, 6], 51);
      close(await values(m.forward(input(x))), layerNormRef(x, 6, await numbers(m.weight), await numbers(m.bias), 1e-4), s, `LayerNorm ${JSON.stringify(o)}`);
    }
  });

  it('Embedding looks up rows', async () => {
    const m = await onDevice(new nn.Embedding(7, 3, opts));
    const table = (await numbers(m.weight))!;
    const idx = [[0, 6, 3], [3, 3, 1]];
    const got = m.forward(tensor(idx, { dtype: 'int32', device: s.device }));
    expect(got.shape).toEqual([2, 3, 3]);
    close(await values(got), { shape: [2, 3, 3], data: idx.flat().flatMap((i) => table.slice(3 * i, 3 * i + 3)) }, s, 'Embedding');
  });

  it('activations, Softmax, Flatten, Identity, Dropout in eval', async () => {
    const x = random([2, 3, 4], 61, -3, 3);
    const map = (f: (v: number) => number): Nd => ({ shape: x.shape, data: x.data.map(f) });
    close(await values(new nn.ReLU().forward(input(x))), map((v) => Math.max(v, 0)), s, 'ReLU');
    close(await values(new nn.GELU().forward(input(x))), map((v) => 0.5 * v * (1 + erf(v / Math.SQRT2))), { ...s, atol: Math.max(s.atol, 1e-11) }, 'GELU');
    close(await values(new nn.Sigmoid().forward(input(x))), map((v) => 1 / (1 + Math.exp(-v))), s, 'Sigmoid');
    close(await values(new nn.Tanh().forward(input(x))), map(Math.tanh), s, 'Tanh');
    close(await values(new nn.Identity().forward(input(x))), x, s, 'Identity');
    const flat = new nn.Flatten().forward(input(x));
    expect(flat.shape).toEqual([2, 12]);
    close(await values(flat), x, s, 'Flatten');
    const drop = new nn.Dropout(0.5);
    drop.eval();
    close(await values(drop.forward(input(x))), x, s, 'Dropout in eval');
    for (const dim of [0, 1, -1]) {
      const d = dim < 0 ? 3 + dim : dim;
      const want = x.data.map((_, flat) => {
        const idx = [Math.floor(flat / 12), Math.floor(flat / 4) % 3, flat % 4];
        let sum = 0;
        for (let k = 0; k < x.shape[d]!; k++) { const j = idx.slice(); j[d] = k; sum += Math.exp(at(x, j)); }
        return Math.exp(at(x, idx)) / sum;
      });
      close(await values(new nn.Softmax(dim).forward(input(x))), { shape: x.shape, data: want }, s, `Softmax(${dim})`);
    }
  });

  it('CrossEntropyLoss (reductions, ignoreIndex, labelSmoothing) and MSELoss', async () => {
    const logits = random([4, 5], 71, -3, 3);
    const target = [1, 4, -100, 0];
    const C = 5;
    for (const reduction of ['mean', 'sum', 'none'] as const) for (const eps of [0, 0.2]) {
      const per: number[] = [];
      for (let n = 0; n < 4; n++) {
        const row = logits.data.slice(n * C, n * C + C);
        const lse = Math.log(row.reduce((a, v) => a + Math.exp(v), 0));
        if (target[n] === -100) { per.push(0); continue; }
        const nll = lse - row[target[n]!]!;
        const smooth = row.reduce((a, v) => a + (lse - v), 0) / C;
        per.push((1 - eps) * nll + eps * smooth);
      }
      const kept = target.filter((t) => t !== -100).length;
      const want = reduction === 'none' ? per : [reduction === 'sum' ? per.reduce((a, v) => a + v, 0) : per.reduce((a, v) => a + v, 0) / kept];
      const loss = new nn.CrossEntropyLoss({ reduction, labelSmoothing: eps, ignoreIndex: -100 });
      close(await values(loss.forward(input(logits), tensor(target, { dtype: 'int32', device: s.device }))), { shape: [want.length], data: want }, s, `CrossEntropyLoss ${reduction} ε=${eps}`);
    }
    const a = random([3, 4], 81), b = random([3, 4], 82);
    const sq = a.data.map((v, i) => (v - b.data[i]!) ** 2);
    for (const reduction of ['mean', 'sum', 'none'] as const) {
      const want = reduction === 'none' ? sq : [sq.reduce((x, y) => x + y, 0) / (reduction === 'mean' ? sq.length : 1)];
      close(await values(new nn.MSELoss(reduction).forward(input(a), input(b))), { shape: [want.length], data: want }, s, `MSELoss ${reduction}`);
    }
  });
});
