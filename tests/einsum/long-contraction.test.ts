/**
 * The accuracy issue's contraction through the public einsum, on every device: numpy's
 * `'...lmn,lmno->...o'` with arange inputs of shapes (1,1,1,160,160,120) and (160,160,120,3) sums 3,072,000
 * products per output. It lowers to a GEMM with k = 3,072,000 and m·n = 3, so the WGSL chooser splits K into
 * 64 chunks whose partial sums are folded by a blocked sum (kernels/wgsl/gemm.ts, loop.ts); the CPU GEMM
 * accumulates in float64. The issue measured 1.0e-3 on webgpu before the split; the reference here is float64.
 */
import { describe, expect, it } from 'vitest';
import { arange, einsum } from '../../src/index.js';
import { DEVICES } from '../helpers/devices.js';

const L = 160, M = 160, N = 120, K = L * M * N;

/** Σ_i i·(3i + o) in float64, added pairwise so the reference itself is accurate to ~1e-15. */
function reference(o: number): number {
  const sum = (lo: number, hi: number): number => {
    if (hi - lo <= 64) {
      let s = 0;
      for (let i = lo; i < hi; i++) s += i * (3 * i + o);
      return s;
    }
    const mid = (lo + hi) >>> 1;
    return sum(lo, mid) + sum(mid, hi);
  };
  return sum(0, K);
}

describe.each(DEVICES)('the 3,072,000-term contraction on %s', (device) => {
  it('matches float64 to a relative 1e-5 (the issue: 1.0e-3 on webgpu)', async () => {
    const a = (await arange(0, K, 1, { dtype: 'float32' }).to(device)).reshape([1, 1, 1, L, M, N]);
    const b = (await arange(0, K * 3, 1, { dtype: 'float32' }).to(device)).reshape([L, M, N, 3]);
    const r = einsum('...lmn,lmno->...o', a, b);
    expect(r.shape).toEqual([1, 1, 1, 3]);
    const got = Array.from(await r.data());
    for (let o = 0; o < 3; o++) {
      const want = reference(o);
      expect(Math.abs(got[o]! - want) / want).toBeLessThan(1e-5);
    }
  }, 120_000);
});
