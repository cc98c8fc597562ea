/**
 * What the second-order tests (higher-order, higher-order-devices, jvp) share: float64 tensors and their values,
 * seeded random values, an elementwise closeness check, and a dense solver for the Newton step's expected point.
 */
import { expect } from 'vitest';
import { tensor, type Tensor } from '../../src/index.js';
import { prng } from './gradcheck.js';

export const f64 = (data: number[], shape: number[], requiresGrad = false): Tensor => tensor(data, { dtype: 'float64', shape, requiresGrad });
export const values = (t: Tensor | null | undefined): number[] => Array.from(t!.dataSync(), Number);

/** n values uniform in [−scale, scale), from a seed. */
export const randoms = (n: number, seed: number, scale = 1): number[] => {
  const r = prng(seed);
  return Array.from({ length: n }, () => scale * (2 * r() - 1));
};

/** |got − want| ≤ tol·(1 + |want|) elementwise. */
export function expectClose(got: readonly number[], want: readonly number[], tol: number, what: string): void {
  expect(got.length, what).toBe(want.length);
  got.forEach((g, i) => {
    if (!(Math.abs(g - want[i]!) <= tol * (1 + Math.abs(want[i]!)))) throw new Error(`${what}[${i}]: got ${g}, want ${want[i]} (tolerance ${tol})`);
  });
}

/** Solves M x = r (n×n, row-major) by Gaussian elimination with partial pivoting. */
export function solve(M: readonly number[], r: readonly number[]): number[] {
  const n = r.length;
  const a = M.slice();
  const x = r.slice();
  for (let col = 0; col < n; col++) {
    let p = col;
    for (let i = col + 1; i < n; i++) if (Math.abs(a[i * n + col]!) > Math.abs(a[p * n + col]!)) p = i;
    for (let j = 0; j < n; j++) [a[col * n + j], a[p * n + j]] = [a[p * n + j]!, a[col * n + j]!];
    [x[col], x[p]] = [x[p]!, x[col]!];
    for (let i = col + 1; i < n; i++) {
      const f = a[i * n + col]! / a[col * n + col]!;
      for (let j = col; j < n; j++) a[i * n + j]! -= f * a[col * n + j]!;
      x[i]! -= f * x[col]!;
    }
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = x[i]!;
    for (let j = i + 1; j < n; j++) s -= a[i * n + j]! * x[j]!;
    x[i] = s / a[i * n + i]!;
  }
  return x;
}
