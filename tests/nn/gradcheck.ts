/**
 * A finite-difference gradient check: central differences of a random projection of f's output against the
 * gradients backward computes. Inputs should be small float64 tensors.
 */
import { expect } from 'vitest';
import { noGrad, tensor, type Tensor } from '../../src/index.js';

function projection(n: number, seed: number): Float64Array {
  const w = new Float64Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    w[i] = (s / 2 ** 32) * 2 - 1;
  }
  return w;
}

function project(y: Tensor, w: Float64Array): number {
  const v = y.dataSync();
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * w[i]!;
  return s;
}

/**
 * Checks d(Σ w·f(inputs))/d(input) for every input that requires a gradient. `inputs` are float64 leaves with
 * requiresGrad; f must be deterministic (no dropout in training mode).
 */
export function gradcheck(f: (...xs: Tensor[]) => Tensor, inputs: Tensor[], options: { eps?: number; tol?: number } = {}): void {
  const eps = options.eps ?? 1e-6;
  const tol = options.tol ?? 1e-5;
  for (const x of inputs) x.grad = null;
  const y = f(...inputs);
  const w = projection(y.size, 1234);
  const wt = tensor(w, { shape: y.shape.slice(), dtype: 'float64' });
  y.mul(wt).sum().backward();
  inputs.forEach((x, k) => {
    if (!x.requiresGrad) return;
    expect(x.grad, `input ${k} got no gradient`).not.toBeNull();
    const analytic = x.grad!.dataSync();
    const base = x.detach().dataSync();
    for (let i = 0; i < base.length; i++) {
      const at = (delta: number): number => {
        const moved = Float64Array.from(base);
        moved[i] = moved[i]! + delta;
        const xs = inputs.map((t, j) => (j === k ? tensor(moved, { shape: x.shape.slice(), dtype: 'float64' }) : t.detach()));
        return noGrad(() => project(f(...xs), w));
      };
      const numeric = (at(eps) - at(-eps)) / (2 * eps);
      const a = analytic[i]!;
      if (Math.abs(a - numeric) > tol * Math.max(1, Math.abs(numeric))) {
        throw new Error(`gradient of input ${k} at element ${i}: backward ${a}, finite difference ${numeric}`);
      }
    }
  });
}

/** A float64 leaf with values from a fixed pseudo-random sequence in [-1, 1). */
export function leaf(shape: number[], seed = 1, requiresGrad = true): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tensor(projection(n, seed), { shape, dtype: 'float64', requiresGrad });
}
