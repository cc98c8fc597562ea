/**
 * Free-function forms of tensor ops (torch.cat, torch.stack, torch.where, ...).
 */
import { tensorArg, tensorListArg } from './args.js';
import * as ops from './ops.js';
import type { Tensor } from './tensor.js';

/**
 * Joins tensors along an existing dimension.
 *
 * @example
 * cat([ones([2, 3]), zeros([1, 3])]).shape;      // [3, 3]
 */
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  return ops.cat(tensors, dim);
}

/**
 * Joins equally shaped tensors along a new dimension.
 *
 * @example
 * stack([ones([3]), zeros([3])], 1).shape;       // [3, 2]
 */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  return ops.stack(tensors, dim);
}

/**
 * Stacks rows: 1-D tensors become rows of a matrix, others join along dim 0.
 *
 * @example
 * vstack([tensor([1, 2]), tensor([3, 4])]);      // tensor([[1., 2.], [3., 4.]])
 */
export function vstack(tensors: readonly Tensor[]): Tensor {
  tensorListArg(tensors, 'vstack', 'tensors', { nonEmpty: true });
  return ops.cat(tensors.map((t) => (t.ndim === 0 ? t.reshape([1, 1]) : t.ndim === 1 ? t.unsqueeze(0) : t)), 0, 'vstack');
}

/**
 * Stacks columns: 1-D tensors are concatenated, others join along dim 1.
 *
 * @example
 * hstack([tensor([1, 2]), tensor([3])]);         // tensor([1., 2., 3.])
 */
export function hstack(tensors: readonly Tensor[]): Tensor {
  tensorListArg(tensors, 'hstack', 'tensors', { nonEmpty: true });
  const ts = tensors.map((t) => (t.ndim === 0 ? t.reshape([1]) : t));
  return ops.cat(ts, ts[0]!.ndim === 1 ? 0 : 1, 'hstack');
}

/**
 * `cond ? a : b` elementwise, with broadcasting.
 *
 * @example
 * where(x.gt(0), x, 0);                          // relu
 */
export function where(cond: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  return ops.where(cond, a, b);
}

/**
 * PyTorch's matmul: vector and matrix products with broadcast batch dimensions.
 *
 * @example
 * matmul(ones([8, 2, 3]), ones([3, 4])).shape;   // [8, 2, 4]
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  tensorArg(a, 'matmul'); tensorArg(b, 'matmul', 'other');
  return ops.matmul(a, b);
}
