/**
 * The index checks of the nn ops that take class or row indices (embedding, crossEntropy, nllLoss, oneHot), as
 * device checks (runtime/device-checks.ts): the values are reduced on their device to a small summary, which is
 * read now on the CPU, at the next read on a GPU, and at every replay of a jitted function that calls the op.
 */
import { EinjitError } from '../errors.js';
import { noGrad } from '../autograd/record.js';
import { tensor } from '../runtime/creation.js';
import { checkSummary } from '../runtime/device-checks.js';
import type { Tensor } from '../runtime/tensor.js';

/**
 * Refuses indices outside 0..n-1: one kernel reduces them to `[max, -min]` (the indices times the signs
 * `[1, -1]`, max-reduced), and the error names the op, the bad index and the valid range.
 */
export function checkIndexRange(indices: Tensor, n: number, op: string, what: string): void {
  if (indices.dtype !== 'int32') {
    throw new EinjitError(`${op} expects int32 indices, got ${indices.dtype}`, { op, hint: 'cast with .int()' });
  }
  if (indices.size === 0) return;
  const shape = indices.shape;
  const summary = noGrad(() => {
    const signs = tensor([1, -1], { dtype: 'int32', device: indices.device }).reshape([2, ...shape.map(() => 1)]);
    return indices.unsqueeze(0).mul(signs).max(shape.map((_, d) => d + 1));
  });
  checkSummary(summary, ([hi, negLo], deferred) => {
    const lo = -negLo!;
    if (lo >= 0 && hi! < n) return null;
    return new EinjitError(
      `index ${lo < 0 ? lo : hi!} is out of range for ${n} ${what} (the indices span ${lo}..${hi!})` +
      (deferred ? '; found on the GPU at the next read, so every value computed from these indices is wrong' : ''),
      { op, shapes: [shape], hint: `valid indices are 0..${n - 1}` },
    );
  });
}

/** Refuses floating indices that are not whole numbers (one kernel: any(t != round(t))). */
export function checkWholeIndices(t: Tensor, op: string): void {
  if (t.size === 0) return;
  const summary = noGrad(() => t.ne(t.round()).any());
  checkSummary(summary, ([flag]) => (flag === 0 ? null : new EinjitError(
    `expected integer indices, got ${t.dtype} values that are not whole numbers`,
    { op, shapes: [t.shape], hint: "create them with { dtype: 'int32' }" },
  )));
}
