/**
 * The einsum family people reach for — tensordot, outer, inner, dot, trace, diagonal, kron — as thin frontends
 * that build a contraction over numeric axis ids and hand it to the same compiler as einsum.
 */
import { EinjitError, describeValue, withErrorContext } from '../errors.js';
import * as Args from '../runtime/args.js';
import type { ContractionProgram } from '../runtime/contraction.js';
import { normalizeDim } from '../runtime/shape.js';
import { Tensor } from '../runtime/tensor.js';
import * as ops from '../runtime/ops.js';
import { grads } from '../autograd/rules.js';
import { contract } from './einsum.js';

function letters(n: number, from = 0): string[] {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
  return Array.from({ length: n }, (_, i) => alphabet[(from + i) % 52]! + (from + i >= 52 ? String(from + i) : ''));
}

/**
 * numpy's tensordot: sums the products over `axes` of a and b. `axes` is N (a's last N with b's first N), a
 * pair of axis lists, or a pair of single axes.
 *
 * @example
 * tensordot(a, b, 1);                 // matrix product for 2-D a and b
 * tensordot(a, b, [[1, 0], [0, 1]]);  // contract a's dims 1,0 with b's 0,1
 */
export function tensordot(a: Tensor, b: Tensor, axes: number | readonly [number | readonly number[], number | readonly number[]] = 2): Tensor {
  Args.tensorArg(a, 'tensordot'); Args.tensorArg(b, 'tensordot', 'other');
  if (typeof axes !== 'number') {
    if (!Array.isArray(axes) || axes.length !== 2) {
      throw new EinjitError(`axes must be a count or a pair of axis lists, got ${describeValue(axes)}`, { op: 'tensordot', hint: 'e.g. 1, or [[1], [0]]' });
    }
    for (const side of axes) if (typeof side !== 'number') Args.intListArg(side, 'tensordot', 'axes');
  }
  return withErrorContext({ op: 'tensordot', shapes: [a.shape, b.shape] }, () => {
    let aAxes: number[];
    let bAxes: number[];
    if (typeof axes === 'number') {
      if (!Number.isInteger(axes) || axes < 0 || axes > a.ndim || axes > b.ndim) {
        throw new EinjitError(`axes must be an integer in 0..${Math.min(a.ndim, b.ndim)}, got ${describeValue(axes)}`, {
          hint: 'give how many trailing axes of a meet leading axes of b',
        });
      }
      aAxes = Array.from({ length: axes }, (_, i) => a.ndim - axes + i);
      bAxes = Array.from({ length: axes }, (_, i) => i);
    } else {
      const [x, y] = axes;
      aAxes = (typeof x === 'number' ? [x] : x.slice()).map((d) => normalizeDim(d, a.ndim, 'tensordot', a.shape));
      bAxes = (typeof y === 'number' ? [y] : y.slice()).map((d) => normalizeDim(d, b.ndim, 'tensordot', b.shape));
    }
    if (aAxes.length !== bAxes.length) {
      throw new EinjitError(`both axis lists must have the same length, got ${aAxes.length} and ${bAxes.length}`, {});
    }
    const sizes: number[] = [];
    const aIds = a.shape.map((n) => { sizes.push(n); return sizes.length - 1; });
    const bIds = b.shape.map((n, d) => {
      const k = bAxes.indexOf(d);
      if (k >= 0) {
        const aDim = aAxes[k]!;
        if (a.shape[aDim] !== n) {
          throw new EinjitError(`shape mismatch for sum: a's dim ${aDim} has size ${a.shape[aDim]} but b's dim ${d} has size ${n}`, {
            hint: 'contracted axes must have equal sizes',
          });
        }
        return aIds[aDim]!;
      }
      sizes.push(n);
      return sizes.length - 1;
    });
    const output = [...aIds.filter((_, d) => !aAxes.includes(d)), ...bIds.filter((_, d) => !bAxes.includes(d))];
    return contract({ sizes, labels: letters(sizes.length), inputs: [aIds, bIds], output }, [a, b], {}, 'tensordot');
  });
}

function program(sizes: number[], inputs: number[][], output: number[]): ContractionProgram {
  return { sizes, labels: letters(sizes.length), inputs, output };
}

function expectRank(t: Tensor, ranks: readonly number[], op: string): void {
  if (!ranks.includes(t.ndim)) {
    throw new EinjitError(`${op} expects a ${ranks.join('-D or ')}-D tensor, got ${t.ndim}-D`, { op, shapes: [t.shape] });
  }
}

/**
 * The outer product of two vectors: `outer(a, b)[i, j] = a[i] b[j]`.
 *
 * @example
 * outer(tensor([1, 2]), tensor([3, 4, 5])).shape; // [2, 3]
 */
export function outer(a: Tensor, b: Tensor): Tensor {
  Args.tensorArg(a, 'outer'); Args.tensorArg(b, 'outer', 'other');
  expectRank(a, [1], 'outer');
  expectRank(b, [1], 'outer');
  return contract(program([a.shape[0]!, b.shape[0]!], [[0], [1]], [0, 1]), [a, b], {}, 'outer');
}

/**
 * numpy's inner: sums over the last axes of a and b.
 *
 * @example
 * inner(tensor([1, 2, 3]), tensor([4, 5, 6]));   // tensor(32.)
 */
export function inner(a: Tensor, b: Tensor): Tensor {
  Args.tensorArg(a, 'inner'); Args.tensorArg(b, 'inner', 'other');
  if (a.ndim === 0 || b.ndim === 0) return a.mul(b);
  return tensordot(a, b, [[a.ndim - 1], [b.ndim - 1]]);
}

/**
 * numpy's dot: a vector dot product, a matrix product, or a sum over a's last and b's second-to-last axis.
 *
 * @example
 * dot(tensor([1, 2, 3]), tensor([4, 5, 6]));     // tensor(32.)
 */
export function dot(a: Tensor, b: Tensor): Tensor {
  Args.tensorArg(a, 'dot'); Args.tensorArg(b, 'dot', 'other');
  if (a.ndim === 0 || b.ndim === 0) return a.mul(b);
  return tensordot(a, b, [[a.ndim - 1], [Math.max(0, b.ndim - 2)]]);
}

/**
 * The diagonal of two dimensions as a view (numpy/PyTorch `diagonal`); the diagonal becomes the last axis.
 *
 * @example
 * diagonal(tensor([[1, 2], [3, 4]]));            // tensor([1., 4.]), a view
 */
export function diagonal(x: Tensor, offset = 0, dim1 = 0, dim2 = 1): Tensor {
  Args.tensorArg(x, 'diagonal'); Args.intArg(offset, 'diagonal', 'offset');
  const d1 = normalizeDim(dim1, x.ndim, 'diagonal', x.shape);
  const d2 = normalizeDim(dim2, x.ndim, 'diagonal', x.shape);
  if (d1 === d2) throw new EinjitError('diagonal dimensions cannot be identical', { op: 'diagonal', shapes: [x.shape] });
  const n1 = x.shape[d1]!;
  const n2 = x.shape[d2]!;
  const len = Math.max(0, offset >= 0 ? Math.min(n1, n2 - offset) : Math.min(n1 + offset, n2));
  const start = len === 0 ? 0 : offset >= 0 ? offset * x.strides[d2]! : -offset * x.strides[d1]!;
  const keep = x.shape.map((_, i) => i).filter((i) => i !== d1 && i !== d2);
  const shape = [...keep.map((i) => x.shape[i]!), len];
  const strides = [...keep.map((i) => x.strides[i]!), x.strides[d1]! + x.strides[d2]!];
  return ops.viewOf(x, shape, strides, x.offset + start, 'diagonal',
    (g) => grads.scatterInto(g, x.shape, (z) => diagonal(z, offset, d1, d2)));
}

/**
 * Sum of the main diagonal of a matrix.
 *
 * @example
 * trace(tensor([[1, 2], [3, 4]])).item();        // 5
 */
export function trace(x: Tensor): Tensor {
  Args.tensorArg(x, 'trace');
  expectRank(x, [2], 'trace');
  return diagonal(x).sum();
}

/**
 * The Kronecker product: blocks a[i] · b, for tensors of any ranks (the smaller is padded with leading 1s).
 *
 * @example
 * kron(eye(2), ones([2, 2])).shape;              // [4, 4]
 */
export function kron(a: Tensor, b: Tensor): Tensor {
  Args.tensorArg(a, 'kron'); Args.tensorArg(b, 'kron', 'other');
  const n = Math.max(a.ndim, b.ndim);
  const A = a.reshape([...Array(n - a.ndim).fill(1), ...a.shape]);
  const B = b.reshape([...Array(n - b.ndim).fill(1), ...b.shape]);
  const sizes = [...A.shape, ...B.shape];
  const aIds = A.shape.map((_, i) => i);
  const bIds = B.shape.map((_, i) => n + i);
  const interleaved = aIds.flatMap((id, i) => [id, bIds[i]!]);
  const prod = contract(program(sizes, [aIds, bIds], interleaved), [A, B], {}, 'kron');
  return prod.reshape(A.shape.map((m, i) => m * B.shape[i]!));
}
