/**
 * Index checks shared by every op that takes indices (embedding, crossEntropy, nllLoss, oneHot, gather,
 * scatter, scatterAdd).
 */
import { EinjitError } from '../errors.js';
import { deferCheck } from './backend.js';
import { noGrad } from '../autograd/record.js';
import { keep } from './scope.js';
import { stack } from './ops.js';
import type { Tensor } from './tensor.js';

/**
 * Refuses indices outside 0..n-1 on every device. On the CPU the check runs now. On a GPU the indices' minimum
 * and maximum are computed there and checked at the device's next read (`deferCheck`), before any value is
 * returned: the error then names the op, the bad index and the valid range, as on the CPU.
 */
export function checkIndices(indices: Tensor, n: number, op: string, what: string): void {
  if (indices.dtype !== 'int32') {
    throw new EinjitError(`${op} expects int32 indices, got ${indices.dtype}`, { op, hint: 'cast with .int()' });
  }
  if (indices.size === 0) return;
  const shape = indices.shape;
  if (indices.device === 'cpu') {
    const lo = indices.min().item();
    const hi = indices.max().item();
    if (lo < 0 || hi >= n) throw indexRangeError(op, what, lo, hi, n, shape, false);
    return;
  }
  const range = keep(noGrad(() => stack([indices.min(), indices.max()])));
  deferCheck(indices.device, async () => {
    const [lo, hi] = Array.from(await range.data(), Number) as [number, number];
    range.dispose();
    if (lo < 0 || hi >= n) throw indexRangeError(op, what, lo, hi, n, shape, true);
  });
}

function indexRangeError(op: string, what: string, lo: number, hi: number, n: number, shape: readonly number[],
  deferred: boolean): EinjitError {
  const bad = lo < 0 ? lo : hi;
  return new EinjitError(
    `index ${bad} is out of range for ${n} ${what} (the indices span ${lo}..${hi})` +
    (deferred ? '; found on the GPU at the next read, so every value computed from these indices is wrong' : ''),
    { op, shapes: [shape], hint: `valid indices are 0..${n - 1}` },
  );
}
