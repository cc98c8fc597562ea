/**
 * The nn suites' form of the public gradcheck (src/testing/gradcheck.ts): inputs that do not require a
 * gradient are held constant, and one tolerance serves as both the absolute and the relative bound.
 */
import { tensor, type Tensor } from '../../src/index.js';
import { gradcheck as check } from '../../src/testing/gradcheck.js';

/** Checks the gradient of f at `inputs` (float64 leaves) for every input with requiresGrad. */
export function gradcheck(f: (...xs: Tensor[]) => Tensor, inputs: Tensor[], options: { eps?: number; tol?: number } = {}): void {
  const tol = options.tol ?? 1e-5;
  const constant = inputs.flatMap((x, i) => (x.requiresGrad ? [] : [i]));
  check(f, inputs, { eps: options.eps ?? 1e-6, atol: tol, rtol: tol, constant });
}

/** A float64 leaf with values from a fixed pseudo-random sequence in [-1, 1). */
export function leaf(shape: number[], seed = 1, requiresGrad = true): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const w = new Float64Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    w[i] = (s / 2 ** 32) * 2 - 1;
  }
  return tensor(w, { shape, dtype: 'float64', requiresGrad });
}
