/**
 * nn.MultiheadAttention against a plain float64 reference written here with loops (PyTorch's
 * F.multi_head_attention_forward step by step), with and without masks, both layouts, unbatched inputs,
 * keys and values of other sizes (kdim, vdim: separate projections), gradients by finite differences, and
 * PyTorch's state-dict keys.
 */
import { describe, expect, it } from 'vitest';
import { tensor, EinjitError, type Tensor } from '../../src/index.js';
import { nn } from './nn.js';
import { gradcheck, leaf } from './gradcheck.js';
import { DEVICES } from '../helpers/devices.js';
import { thrown } from '../helpers/thrown.js';

type M3 = number[][][];

interface RefMasks {
  /** (n, l, s) → true when the position is hidden (bool masks). */
  readonly hidden?: (n: number, h: number, l: number, s: number) => boolean;
  /** (n, h, l, s) → what a float mask adds to the score. */
  readonly added?: (n: number, h: number, l: number, s: number) => number;
}

interface RefResult {
  readonly out: M3;
  /** [n][h][l][s] */
  readonly weights: number[][][][];
}

/** Multi-head attention of batch-first q [N][L][E], k and v [N][S][E] with the module's parameters, in float64 loops. */
function reference(mha: InstanceType<typeof nn.MultiheadAttention>, q: M3, k: M3, v: M3, masks: RefMasks = {}): RefResult {
  const E = mha.embedDim;
  const H = mha.numHeads;
  const D = E / H;
  // Per projection (query, key, value): E rows of the stacked weight, or its own weight when kdim/vdim differ.
  const Ws = mha.inProjWeight !== null
    ? [0, 1, 2].map((block) => (mha.inProjWeight!.toArray() as number[][]).slice(block * E, (block + 1) * E))
    : [mha.qProjWeight!, mha.kProjWeight!, mha.vProjWeight!].map((w) => w.toArray() as number[][]);
  const b = mha.inProjBias === null ? new Array<number>(3 * E).fill(0) : (mha.inProjBias.toArray() as number[]);
  const Wo = mha.outProj.weight.toArray() as number[][];
  const bo = mha.outProj.bias === null ? new Array<number>(E).fill(0) : (mha.outProj.bias.toArray() as number[]);
  const proj = (x: number[], block: number): number[] => {
    const y: number[] = [];
    for (let j = 0; j < E; j++) {
      let acc = b[block * E + j]!;
      for (let e = 0; e < x.length; e++) acc += Ws[block]![j]![e]! * x[e]!;
      y.push(acc);
    }
    return y;
  };
  const out: M3 = [];
  const weights: number[][][][] = [];
  for (let n = 0; n < q.length; n++) {
    const Q = q[n]!.map((x) => proj(x, 0));
    const K = k[n]!.map((x) => proj(x, 1));
    const V = v[n]!.map((x) => proj(x, 2));
    const ctx = Q.map(() => new Array<number>(E).fill(0));
    weights.push([]);
    for (let h = 0; h < H; h++) {
      weights[n]!.push([]);
      for (let l = 0; l < Q.length; l++) {
        const scores = K.map((kk, s) => {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += Q[l]![h * D + d]! * kk[h * D + d]!;
          let score = dot / Math.sqrt(D) + (masks.added?.(n, h, l, s) ?? 0);
          if (masks.hidden?.(n, h, l, s) === true) score = -Infinity;
          return score;
        });
        const max = Math.max(...scores);
        const exps = scores.map((x) => Math.exp(x - max));
        const total = exps.reduce((p, x) => p + x, 0);
        const w = exps.map((x) => x / total);
        weights[n]![h]!.push(w);
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let s = 0; s < K.length; s++) acc += w[s]! * V[s]![h * D + d]!;
          ctx[l]![h * D + d] = acc;
        }
      }
    }
    out.push(ctx.map((c) => Wo.map((row, i) => row.reduce((p, x, e) => p + x * c[e]!, bo[i]!))));
  }
  return { out, weights };
}

/** Mean over heads: [n][h][l][s] → [n][l][s]. */
function averaged(w: number[][][][]): M3 {
  return w.map((heads) => heads[0]!.map((row, l) => row.map((_, s) => heads.reduce((p, hw) => p + hw[l]![s]!, 0) / heads.length)));
}

function maxDiff(a: unknown, b: unknown): number {
  const fa = (a as unknown[]).flat(4) as number[];
  const fb = (b as unknown[]).flat(4) as number[];
  expect(fa.length).toBe(fb.length);
  return fa.reduce((m, x, i) => Math.max(m, Math.abs(x - fb[i]!)), 0);
}

/** Random float64 module and batch-first inputs, from fixed seeds. */
function setup(E: number, H: number, N: number, L: number, S: number,
  options: { batchFirst?: boolean; bias?: boolean; kdim?: number; vdim?: number } = {}) {
  const mha = new nn.MultiheadAttention(E, H, { dtype: 'float64', ...options });
  const [kdim, vdim] = [options.kdim ?? E, options.vdim ?? E];
  const stacked = kdim === E && vdim === E;
  // Non-zero biases so that they are exercised (PyTorch initialises them to zero).
  mha.loadStateDict({
    ...(stacked ? { in_proj_weight: leaf([3 * E, E], 11) }
      : { q_proj_weight: leaf([E, E], 15), k_proj_weight: leaf([E, kdim], 16), v_proj_weight: leaf([E, vdim], 17) }),
    ...(options.bias === false ? {} : { in_proj_bias: leaf([3 * E], 12), 'out_proj.bias': leaf([E], 14) }),
    'out_proj.weight': leaf([E, E], 13),
  });
  const q = leaf([N, L, E], 21, false);
  const k = leaf([N, S, kdim], 22, false);
  const v = leaf([N, S, vdim], 23, false);
  return { mha, q, k, v, ref: (masks: RefMasks = {}) => reference(mha, q.toArray() as M3, k.toArray() as M3, v.toArray() as M3, masks) };
}

const seqFirst = (t: Tensor): Tensor => t.transpose(0, 1);

describe('nn.MultiheadAttention', () => {
  it('matches the float64 reference, batch first', () => {
    const { mha, q, k, v, ref } = setup(8, 2, 3, 4, 5, { batchFirst: true });
    const [out, w] = mha.forward(q, k, v);
    const r = ref();
    expect(out.shape).toEqual([3, 4, 8]);
    expect(w!.shape).toEqual([3, 4, 5]);
    expect(maxDiff(out.toArray(), r.out)).toBeLessThan(1e-12);
    expect(maxDiff(w!.toArray(), averaged(r.weights))).toBeLessThan(1e-12);
  });

  it('takes [sequence, batch, embed] by default (PyTorch batch_first=False)', () => {
    const { mha, q, k, v, ref } = setup(6, 3, 2, 3, 4);
    expect(mha.batchFirst).toBe(false);
    const [out, w] = mha.forward(seqFirst(q), seqFirst(k), seqFirst(v));
    const r = ref();
    expect(out.shape).toEqual([3, 2, 6]);
    expect(w!.shape).toEqual([2, 3, 4]); // weights are batch first in both layouts, as PyTorch returns them
    expect(maxDiff(seqFirst(out).toArray(), r.out)).toBeLessThan(1e-12);
    expect(maxDiff(w!.toArray(), averaged(r.weights))).toBeLessThan(1e-12);
  });

  it('applies bool masks: a causal attnMask and a keyPaddingMask', () => {
    const { mha, q, k, v, ref } = setup(4, 2, 2, 3, 3, { batchFirst: true });
    const causal = tensor([[false, true, true], [false, false, true], [false, false, false]]);
    const padding = tensor([[false, false, true], [false, false, false]]);
    const [out, w] = mha.forward(q, k, v, { attnMask: causal, keyPaddingMask: padding });
    const r = ref({ hidden: (n, _h, l, s) => s > l || (n === 0 && s === 2) });
    expect(maxDiff(out.toArray(), r.out)).toBeLessThan(1e-12);
    expect(maxDiff(w!.toArray(), averaged(r.weights))).toBeLessThan(1e-12);
    expect((w!.toArray() as M3)[0]![2]![2]).toBe(0);
  });

  it('adds float masks: a per-head [batch·heads, L, S] attnMask and a float keyPaddingMask', () => {
    const { mha, q, k, v, ref } = setup(4, 2, 2, 3, 4);
    const attn = leaf([4, 3, 4], 31, false);
    const pad = leaf([2, 4], 32, false);
    const A = attn.toArray() as M3;
    const P = pad.toArray() as number[][];
    const [out, w] = mha.forward(seqFirst(q), seqFirst(k), seqFirst(v), { attnMask: attn, keyPaddingMask: pad, averageAttnWeights: false });
    const r = ref({ added: (n, h, l, s) => A[n * 2 + h]![l]![s]! + P[n]![s]! });
    expect(maxDiff(seqFirst(out).toArray(), r.out)).toBeLessThan(1e-12);
    expect(w!.shape).toEqual([2, 2, 3, 4]);
    expect(maxDiff(w!.toArray(), r.weights)).toBeLessThan(1e-12);
  });

  it('returns null weights when needWeights is false, and runs without biases', () => {
    const { mha, q, k, v, ref } = setup(4, 4, 1, 2, 2, { batchFirst: true, bias: false });
    expect(mha.inProjBias).toBeNull();
    expect(mha.outProj.bias).toBeNull();
    const [out, w] = mha.forward(q, k, v, { needWeights: false });
    expect(w).toBeNull();
    expect(maxDiff(out.toArray(), ref().out)).toBeLessThan(1e-12);
  });

  it('accepts unbatched [L, E] inputs', () => {
    const { mha, q, k, v, ref } = setup(4, 2, 1, 3, 2);
    const [out, w] = mha.forward(q.select(0, 0), k.select(0, 0), v.select(0, 0), { keyPaddingMask: tensor([false, true]) });
    const r = ref({ hidden: (_n, _h, _l, s) => s === 1 });
    expect(out.shape).toEqual([3, 4]);
    expect(w!.shape).toEqual([3, 2]);
    expect(maxDiff(out.toArray(), r.out[0])).toBeLessThan(1e-12);
    expect(maxDiff(w!.toArray(), averaged(r.weights)[0])).toBeLessThan(1e-12);
  });

  it('has correct gradients for the inputs and every parameter', () => {
    const { mha, q, k, v } = setup(4, 2, 1, 2, 3, { batchFirst: true });
    const inputs = [q, k, v].map((t) => t.detach().requiresGrad_(true));
    const params = mha.parameters().map((p) => p.detach().requiresGrad_(true));
    const mask = tensor([[false, false, true], [false, false, false]]);
    // gradcheck hands fresh leaves to the function, so the function puts them where forward reads its parameters.
    gradcheck((a, b, c, w, bi, wo, bo) => {
      Object.assign(mha, { inProjWeight: w, inProjBias: bi });
      Object.assign(mha.outProj, { weight: wo, bias: bo });
      return mha.forward(a, b, c, { attnMask: mask })[0];
    }, [...inputs, ...params]);
  });

  it("names its state like PyTorch's, so a PyTorch state dict loads", () => {
    const mha = new nn.MultiheadAttention(8, 2);
    expect(Object.keys(mha.stateDict())).toEqual(['in_proj_weight', 'in_proj_bias', 'out_proj.weight', 'out_proj.bias']);
    expect(mha.stateDict()['in_proj_weight']!.shape).toEqual([24, 8]);
    expect(Object.keys(new nn.MultiheadAttention(8, 2, { bias: false }).stateDict())).toEqual(['in_proj_weight', 'out_proj.weight']);
    // PyTorch's initialisation: zero biases.
    expect((mha.inProjBias!.toArray() as number[]).every((x) => x === 0)).toBe(true);
    expect(String(mha)).toContain('MultiheadAttention(embed_dim=8, num_heads=2, batch_first=False');
  });

  it('refuses what PyTorch refuses, as EinjitErrors', () => {
    expect(() => new nn.MultiheadAttention(6, 4)).toThrow(/embedDim \(6\) must be divisible by numHeads \(4\)/);
    const { mha, q, k, v } = setup(4, 2, 2, 3, 3, { batchFirst: true });
    expect(() => mha.forward(q, k.narrow(1, 0, 2), v)).toThrow(/key and value must have the same length/);
    expect(() => mha.forward(q, k, v, { keyPaddingMask: tensor([[false, true]]) })).toThrow(EinjitError);
    expect(() => mha.forward(q, k, v, { attnMask: tensor([[1, 0, 0]], { dtype: 'int32' }) })).toThrow(EinjitError);
    expect(() => mha.forward(q.narrow(2, 0, 3), k, v)).toThrow(/query has 3 features, expected embedDim = 4/);
  });
});

describe('nn.MultiheadAttention with keys and values of other sizes (kdim, vdim)', () => {
  it('projects each with its own weight and matches the float64 reference, in both layouts and with masks', () => {
    const { mha, q, k, v, ref } = setup(6, 2, 2, 3, 4, { batchFirst: true, kdim: 5, vdim: 3 });
    const [out, w] = mha.forward(q, k, v);
    expect(out.shape).toEqual([2, 3, 6]);
    const r = ref();
    expect(maxDiff(out.toArray(), r.out)).toBeLessThan(1e-12);
    expect(maxDiff(w!.toArray(), averaged(r.weights))).toBeLessThan(1e-12);
    const causal = tensor([[false, true, true, true], [false, false, true, true], [false, false, false, true]]);
    const [masked] = mha.forward(q, k, v, { attnMask: causal, keyPaddingMask: tensor([[false, false, false, false], [false, false, true, false]]) });
    expect(maxDiff(masked.toArray(), ref({ hidden: (n, _h, l, s) => s > l || (n === 1 && s === 2) }).out)).toBeLessThan(1e-12);
    // The default [sequence, batch, features] layout, with only vdim different.
    const seq = setup(4, 2, 2, 3, 2, { vdim: 7 });
    const [seqOut] = seq.mha.forward(seqFirst(seq.q), seqFirst(seq.k), seqFirst(seq.v));
    expect(seq.k.shape[2]).toBe(4);
    expect(maxDiff(seqFirst(seqOut).toArray(), seq.ref().out)).toBeLessThan(1e-12);
  });

  it("keeps PyTorch's keys and shapes: q_proj_weight, k_proj_weight, v_proj_weight instead of in_proj_weight", () => {
    const mha = new nn.MultiheadAttention(8, 2, { kdim: 5, vdim: 3 });
    const state = mha.stateDict();
    expect(Object.keys(state)).toEqual(['q_proj_weight', 'k_proj_weight', 'v_proj_weight', 'in_proj_bias', 'out_proj.weight', 'out_proj.bias']);
    expect([state['q_proj_weight']!.shape, state['k_proj_weight']!.shape, state['v_proj_weight']!.shape]).toEqual([[8, 8], [8, 5], [8, 3]]);
    expect(mha.inProjWeight).toBeNull();
    expect(Object.keys(new nn.MultiheadAttention(8, 2, { kdim: 5, bias: false }).stateDict())).toEqual(['q_proj_weight', 'k_proj_weight', 'v_proj_weight', 'out_proj.weight']);
    // kdim and vdim equal to embedDim are the stacked layout, as in PyTorch.
    const same = new nn.MultiheadAttention(8, 2, { kdim: 8, vdim: 8 });
    expect(Object.keys(same.stateDict())[0]).toBe('in_proj_weight');
    expect(same.qProjWeight).toBeNull();
    expect(String(mha)).toContain('MultiheadAttention(embed_dim=8, num_heads=2, kdim=5, vdim=3, batch_first=False');
    // PyTorch's initialisation: each projection Xavier-uniform on its own fans, within √(6 / (fan_in + fan_out)).
    for (const [w, fanIn] of [[mha.qProjWeight!, 8], [mha.kProjWeight!, 5], [mha.vProjWeight!, 3]] as const) {
      const bound = Math.sqrt(6 / (fanIn + 8));
      const abs = Array.from(w.dataSync(), (x) => Math.abs(Number(x)));
      expect(Math.max(...abs)).toBeLessThanOrEqual(bound);
      expect(Math.max(...abs)).toBeGreaterThan(0.5 * bound);
    }
    expect((mha.inProjBias!.toArray() as number[]).every((x) => x === 0)).toBe(true);
  });

  it('has correct gradients for the inputs and the separate projections', () => {
    const { mha, q, k, v } = setup(4, 2, 1, 2, 3, { batchFirst: true, kdim: 3, vdim: 2 });
    const inputs = [q, k, v].map((t) => t.detach().requiresGrad_(true));
    const params = mha.parameters().map((p) => p.detach().requiresGrad_(true));
    expect(params.map((p) => p.shape)).toEqual([[4, 4], [4, 3], [4, 2], [12], [4, 4], [4]]);
    gradcheck((a, b, c, wq, wk, wv, bi, wo, bo) => {
      Object.assign(mha, { qProjWeight: wq, kProjWeight: wk, vProjWeight: wv, inProjBias: bi });
      Object.assign(mha.outProj, { weight: wo, bias: bo });
      return mha.forward(a, b, c)[0];
    }, [...inputs, ...params]);
  });

  it('refuses keys or values of the wrong size, and a kdim that is not a positive integer', () => {
    const { mha, q, k, v } = setup(4, 2, 1, 2, 3, { batchFirst: true, kdim: 3, vdim: 2 });
    const wrongKey = thrown(() => mha.forward(q, v, v));
    expect(wrongKey.message).toContain('key has 2 features, expected kdim = 3');
    expect(wrongKey.hint).toContain('{ kdim: 2 }');
    expect(thrown(() => mha.forward(q, k, k)).message).toContain('value has 3 features, expected vdim = 2');
    expect(() => new nn.MultiheadAttention(4, 2, { kdim: 0 })).toThrow(EinjitError);
    expect(() => new nn.MultiheadAttention(4, 2, { vdim: 2.5 })).toThrow(EinjitError);
  });
});

describe.each(DEVICES.filter((d) => d !== 'cpu'))('nn.MultiheadAttention on %s', (device) => {
  it('matches the float64 reference in float32, with masks and gradients flowing', async () => {
    const { mha, q, k, v, ref } = setup(8, 2, 2, 3, 4, { batchFirst: true });
    const r = ref({ hidden: (n, _h, l, s) => s > l + 1 || (n === 1 && s === 0) });
    const gpu = new nn.MultiheadAttention(8, 2, { batchFirst: true });
    gpu.loadStateDict(mha.stateDict());
    await gpu.to(device);
    const on = (t: Tensor): Promise<Tensor> => t.cast('float32').to(device);
    const causal = await tensor([[false, false, true, true], [false, false, false, true], [false, false, false, false]]).to(device);
    const padding = await tensor([[false, false, false, false], [true, false, false, false]]).to(device);
    const [out, w] = gpu.forward(await on(q), await on(k), await on(v), { attnMask: causal, keyPaddingMask: padding });
    expect(out.device).toBe(device);
    const host = async (t: Tensor): Promise<number[]> => Array.from(await t.data());
    const close = (a: number[], b: number[]): void => a.forEach((x, i) => expect(Math.abs(x - b[i]!)).toBeLessThan(1e-4));
    close(await host(out), r.out.flat(2));
    close(await host(w!), averaged(r.weights).flat(2));
    out.sum().backward();
    expect(gpu.inProjWeight!.grad?.device).toBe(device);
  });
});

describe.each(DEVICES)('nn.MultiheadAttention with kdim and vdim on %s', (device) => {
  it('matches the float64 reference in float32, and its gradients reach the separate projections', async () => {
    const { mha, q, k, v, ref } = setup(6, 3, 2, 3, 4, { batchFirst: true, kdim: 5, vdim: 2 });
    const r = ref();
    const on = new nn.MultiheadAttention(6, 3, { batchFirst: true, kdim: 5, vdim: 2 });
    on.loadStateDict(mha.stateDict());
    await on.to(device);
    const input = (t: Tensor): Promise<Tensor> => t.cast('float32').to(device);
    const [out, w] = on.forward(await input(q), await input(k), await input(v));
    const host = async (t: Tensor): Promise<number[]> => Array.from(await t.data(), Number);
    const close = (a: number[], b: number[]): void => a.forEach((x, i) => expect(Math.abs(x - b[i]!)).toBeLessThan(1e-4));
    close(await host(out), r.out.flat(2));
    close(await host(w!), averaged(r.weights).flat(2));
    out.sum().backward();
    expect(on.kProjWeight!.grad?.device).toBe(device);
    expect(on.vProjWeight!.grad?.shape).toEqual([6, 2]);
  });
});

describe('nn.GELU and nn.LayerNorm as PyTorch has them', () => {
  it("GELU('tanh') is PyTorch's tanh approximation, and GELU() the erf form", () => {
    const xs = [-3, -1, -0.2, 0, 0.7, 2.5];
    const x = tensor(xs, { dtype: 'float64' });
    const tanhForm = (t: number): number => 0.5 * t * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (t + 0.044715 * t ** 3)));
    const approx = new nn.GELU('tanh').forward(x).toArray() as number[];
    approx.forEach((y, i) => expect(Math.abs(y - tanhForm(xs[i]!))).toBeLessThan(1e-14));
    // The exact form differs from the approximation by up to ~1e-3 on this range.
    const exact = new nn.GELU().forward(x).toArray() as number[];
    expect(Math.abs(exact[1]! - -0.15865525393145707)).toBeLessThan(1e-7); // -1·Φ(-1)
    expect(String(new nn.GELU('tanh'))).toBe("GELU(approximate='tanh')");
    expect(() => new nn.GELU('fast' as 'tanh')).toThrow(EinjitError);
    gradcheck((t) => new nn.GELU('tanh').forward(t), [leaf([5], 3)]);
  });

  it('LayerNorm: biased variance over the trailing shape, elementwiseAffine and bias', () => {
    const x = leaf([2, 3, 4], 5, false);
    const ln = new nn.LayerNorm([3, 4], { dtype: 'float64', eps: 1e-5 });
    const X = x.toArray() as M3;
    const y = ln.forward(x).toArray() as M3;
    for (let n = 0; n < 2; n++) {
      const flat = X[n]!.flat();
      const mean = flat.reduce((p, t) => p + t, 0) / flat.length;
      const variance = flat.reduce((p, t) => p + (t - mean) ** 2, 0) / flat.length;
      y[n]!.flat().forEach((t, i) => expect(Math.abs(t - (flat[i]! - mean) / Math.sqrt(variance + 1e-5))).toBeLessThan(1e-12));
    }
    expect(Object.keys(ln.stateDict())).toEqual(['weight', 'bias']);
    expect(Object.keys(new nn.LayerNorm(4, { bias: false }).stateDict())).toEqual(['weight']);
    expect(new nn.LayerNorm(4, { elementwiseAffine: false }).parameters()).toEqual([]);
    expect(String(new nn.LayerNorm(4))).toBe('LayerNorm((4,), eps=1e-05, elementwise_affine=True)');
  });
});
