/**
 * Replayed einsum calls (src/runtime/replay.ts): a call signature seen before runs the kernels recorded for it.
 * The bug class is a stale replay — kernels recorded for one operand layout, dtype, aliasing or GEMM threshold
 * run on another — so these tests call one pattern on one set of shapes many times with the layouts changing
 * between calls, and check every result against a float64 loop written here.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { configureGemm } from '../../kernels/cpu/gemm.js';
import { einsum, grad, noGrad, randn, tensor, tidy, type Tensor } from '../../src/index.js';
import { getBackend } from '../../src/runtime/backend.js';
import { replayCount } from '../../src/runtime/replay.js';
import { reference, termsOf } from '../helpers/einsum-reference.js';

interface Case {
  readonly pattern: string;
  readonly sizes: Record<string, number>;
}

const CASES: readonly Case[] = [
  { pattern: 'ij,jk->ik', sizes: { i: 5, j: 7, k: 3 } },
  { pattern: 'ij,jk->ik', sizes: { i: 24, j: 20, k: 16 } }, // large enough for the GEMM kernel
  { pattern: 'bij,bjk->bik', sizes: { b: 3, i: 4, j: 5, k: 6 } },
  { pattern: 'i,i->', sizes: { i: 9 } },
  { pattern: 'ij->j', sizes: { i: 4, j: 6 } },
  { pattern: 'ii->', sizes: { i: 5 } },
  { pattern: 'ij,ij->ij', sizes: { i: 3, j: 4 } },
  { pattern: 'i,j->ij', sizes: { i: 3, j: 5 } },
  { pattern: 'ijk,ikl->jl', sizes: { i: 3, j: 4, k: 5, l: 2 } },
  { pattern: 'ij,jk,kl->il', sizes: { i: 4, j: 5, k: 6, l: 3 } },
];

type Layout = 'contiguous' | 'permuted' | 'offset' | 'broadcast';

/** An operand of `shape` laid out as asked (same logical values however it is laid out), and its values. */
function operand(shape: readonly number[], layout: Layout, dtype: 'float32' | 'float64', seed: number): { t: Tensor; at: (idx: number[]) => number } {
  const r = shape.length;
  let t: Tensor;
  if (layout === 'permuted' && r >= 2) {
    const perm = [...shape.keys()].reverse();
    t = randn(perm.map((p) => shape[p]!), { dtype }).permute(perm);
  } else if (layout === 'offset' && r >= 1) {
    t = randn([shape[0]! + 2 + (seed % 3), ...shape.slice(1)], { dtype }).narrow(0, 1 + (seed % 2), shape[0]!);
  } else if (layout === 'broadcast' && r >= 1) {
    t = randn([1, ...shape.slice(1)], { dtype }).expand([...shape]);
  } else {
    t = randn([...shape], { dtype });
  }
  const flat = Float64Array.from(t.contiguous().dataSync() as ArrayLike<number>);
  const strides = [...shape.keys()].map((d) => shape.slice(d + 1).reduce((n, m) => n * m, 1));
  return { t, at: (idx) => flat[idx.reduce((s, v, d) => s + v * strides[d]!, 0)]! };
}

function check(c: Case, calls: readonly { layouts: Layout[]; dtype: 'float32' | 'float64'; alias: boolean }[]): void {
  const { inputs } = termsOf(c.pattern);
  calls.forEach((call, n) => {
    tidy(() => {
      const ops = inputs.map((term, k) => operand([...term].map((ch) => c.sizes[ch]!), call.layouts[k]!, call.dtype, n + k));
      // x·x: the same tensor twice where two operands have the same shape.
      if (call.alias && inputs.length >= 2 && inputs[0]!.length === inputs[1]!.length &&
        [...inputs[0]!].every((ch, d) => c.sizes[ch] === c.sizes[inputs[1]![d]!])) {
        ops[1] = ops[0]!;
      }
      const want = reference(c.pattern, c.sizes, ops.map((o) => o.at));
      const got = einsum(c.pattern, ...ops.map((o) => o.t));
      expect(got.dtype).toBe(call.dtype);
      const values = got.dataSync() as ArrayLike<number>;
      expect(values.length).toBe(want.length);
      const tol = call.dtype === 'float64' ? 1e-12 : 1e-4;
      for (let i = 0; i < want.length; i++) {
        expect(Math.abs(values[i]! - want[i]!), `${c.pattern} call ${n} element ${i}`).toBeLessThanOrEqual(tol * (1 + Math.abs(want[i]!)));
      }
    });
  });
}

const layout = fc.constantFrom<Layout>('contiguous', 'permuted', 'offset', 'broadcast');
const callArb = fc.record({
  layouts: fc.array(layout, { minLength: 3, maxLength: 3 }),
  dtype: fc.constantFrom<'float32' | 'float64'>('float32', 'float64'),
  alias: fc.boolean(),
});

describe('replayed einsum calls', () => {
  it('equal a float64 loop however the layouts, dtypes and aliasing change between calls of one signature', () => {
    fc.assert(
      fc.property(fc.constantFrom(...CASES), fc.array(callArb, { minLength: 2, maxLength: 8 }), (c, calls) => {
        check(c, calls);
      }),
      { numRuns: 60 },
    );
  });

  it('a repeated call is replayed, and a new layout is recorded rather than replayed', () => {
    const a = randn([6, 5]);
    const b = randn([5, 4]);
    const before = replayCount();
    for (let i = 0; i < 3; i++) einsum('ij,jk->ik', a, b).dispose();
    expect(replayCount() - before).toBeGreaterThanOrEqual(2);
    const bt = randn([4, 5]).transpose(0, 1); // same shape, other strides: recorded, then replayed
    const want = noGrad(() => einsum('ij,jk->ik', a, bt.contiguous()));
    const at = replayCount();
    const got = einsum('ij,jk->ik', a, bt);
    expect(replayCount()).toBe(at);
    einsum('ij,jk->ik', a, bt).dispose();
    expect(replayCount()).toBe(at + 1);
    expect(Array.from(got.dataSync() as Float32Array)).toEqual(Array.from(want.dataSync() as Float32Array));
  });

  it('a changed GEMM threshold is not served the kernels recorded under the old one', () => {
    const a = randn([8, 8]);
    const b = randn([8, 8]);
    const backend = getBackend('cpu', 'test');
    const small = einsum('ij,jk->ik', a, b);
    einsum('ij,jk->ik', a, b).dispose();
    const minWork = backend.gemmMinWork?.();
    configureGemm({ everyContraction: true });
    try {
      expect(backend.gemmMinWork?.()).not.toBe(minWork);
      // Both kernels give these values; what shows the GEMM was chosen is that nothing recorded was replayed.
      const at = replayCount();
      const forced = einsum('ij,jk->ik', a, b);
      expect(replayCount()).toBe(at);
      const values = Array.from(forced.dataSync() as Float32Array);
      const ref = Array.from(small.dataSync() as Float32Array);
      values.forEach((v, i) => expect(Math.abs(v - ref[i]!)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(ref[i]!))));
    } finally {
      configureGemm({ everyContraction: false });
    }
  });

  it('gradients flow through a replayed call', () => {
    const x = tensor([[1, 2], [3, 4]], { requiresGrad: true });
    const w = tensor([[0.5, -1], [2, 0.25]]);
    for (let i = 0; i < 2; i++) einsum('ij,jk->ik', x, w).dispose(); // recorded, then replayed
    const before = replayCount();
    const [g] = grad(einsum('ij,jk->ik', x, w).sum(), [x]);
    expect(replayCount()).toBeGreaterThan(before);
    // d/dx Σ x·w = row sums of w, broadcast over the rows of x.
    expect(Array.from(g!.dataSync() as Float32Array)).toEqual([-0.5, 2.25, -0.5, 2.25]);
  });

  it('storages a replay allocates inside tidy() are released with the scope', () => {
    const a = randn([8, 8]);
    const b = randn([8, 8]);
    const backend = getBackend('cpu', 'test');
    einsum('ij,jk,kl->il', a, b, a).dispose();
    backend.liveBytes();
    const base = backend.liveBytes();
    for (let i = 0; i < 5; i++) tidy(() => { einsum('ij,jk,kl->il', a, b, a); });
    expect(backend.liveBytes()).toBe(base);
  });
});
