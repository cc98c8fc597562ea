/**
 * asStrided: a view with any geometry over a tensor's storage (PyTorch's as_strided), the one way the runtime
 * builds a view by hand, checked against the storage's bounds; and the gradient of the public method, which has
 * to add up the elements an overlapping view repeats.
 */
import { EinjitError, formatShape } from '../errors.js';
import * as A from './args.js';
import { Tensor } from './tensor.js';
import { numel } from './shape.js';
import { zerosOf, onesOf } from './creation.js';
import { viewOf } from './ops.js';
import { noGrad, record } from '../autograd/record.js';

/** A view's geometry over a storage: strides and offset count storage elements. */
interface Geometry {
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
}

/** The lowest and highest storage element a geometry reaches; null when it has no elements. */
function span(g: Geometry): [number, number] | null {
  if (numel(g.shape) === 0) return null;
  let lo = g.offset;
  let hi = g.offset;
  g.shape.forEach((n, d) => {
    const reach = (n - 1) * g.strides[d]!;
    if (reach < 0) lo += reach;
    else hi += reach;
  });
  return [lo, hi];
}

/**
 * A view of `base`'s storage with the given shape, strides and offset (storage elements, the offset from the
 * storage's start), sharing `base`'s version counter so in-place writes through it are seen by autograd. It
 * records no gradient: views that need one go through `viewOf` or `Tensor.asStrided`. Throws when an element of
 * the view would lie outside the storage.
 */
export function asStrided(base: Tensor, shape: readonly number[], strides: readonly number[], offset: number,
  op = 'asStrided'): Tensor {
  const reach = span({ shape, strides, offset });
  const length = base.storage.length;
  if (reach !== null && (reach[0] < 0 || reach[1] >= length)) {
    throw new EinjitError(
      `a view of size ${formatShape(shape)}, stride ${formatShape(strides)} and storage offset ${offset} reaches storage ` +
        `elements ${reach[0]}..${reach[1]}, outside the ${length} elements of the storage (0..${length - 1})`,
      {
        op,
        shapes: [base.shape, shape],
        hint: 'the view reaches offset + Σ (size - 1) · stride; shrink the size or the strides, or move the offset',
      },
    );
  }
  const v = new Tensor(base.storage, shape, strides, offset);
  v._version = base._version;
  return v;
}

/**
 * A view of `input`'s storage with any size and strides (PyTorch's torch.as_strided; the package exports it as
 * `asStrided`, and `x.asStrided(...)` calls it): strides and the offset count storage elements, the offset
 * (default: the input's) from the storage's start. The arguments are checked as PyTorch checks them; the view's
 * gradient flows to `input`, adding up the elements the view repeats.
 *
 * @example
 * const windows = asStrided(arange(0, 6), [4, 3], [1, 1]);   // [[0,1,2],[1,2,3],[2,3,4],[3,4,5]]
 */
export function asStridedView(input: Tensor, size: readonly number[], stride: readonly number[], storageOffset?: number): Tensor {
  const op = 'asStrided';
  const base = A.tensorArg(input, op);
  const shape = A.shapeArg(size, op, 'size');
  const strides = A.intListArg(stride, op, 'stride');
  const offset = storageOffset === undefined ? base.offset : A.intArg(storageOffset, op, 'storageOffset', 0);
  if (strides.length !== shape.length) {
    throw new EinjitError(`mismatch in length of strides and shape: size ${formatShape(shape)} has ${shape.length} dims, stride ${formatShape(strides)} has ${strides.length}`, {
      op, shapes: [base.shape], hint: 'give one stride per dimension of the size',
    });
  }
  if (strides.some((s) => s < 0)) {
    throw new EinjitError(`negative strides are not supported, got stride ${formatShape(strides)}`, {
      op, shapes: [base.shape], hint: 'as in PyTorch; take a view with non-negative strides, then flip(...) or slice with a negative step',
    });
  }
  const to: Geometry = { shape, strides, offset };
  const from: Geometry = { shape: base.shape, strides: base.strides, offset: base.offset };
  return viewOf(base, shape, strides, offset, op, (g) => restride(g, to, from, from));
}

/**
 * Moves `x` (laid out as `from`) onto the geometry `to` through the storage both describe: every element of `to`
 * gets the sum of the elements of `x` at its storage position, divided by how many elements of `counted` share
 * that position. With `counted` the base, restride(g, view, base) is as_strided's gradient (an element the base
 * itself repeats, e.g. after expand, gets its share once, as PyTorch divides), and restride(·, base, view) its
 * adjoint, which is this op's recorded gradient: gradients of any order stay exact.
 */
function restride(x: Tensor, from: Geometry, to: Geometry, counted: Geometry): Tensor {
  const reaches = [span(from), span(to)].filter((r): r is [number, number] => r !== null);
  if (reaches.length === 0 || numel(to.shape) === 0) return zerosOf(to.shape, x.dtype, x.device);
  const lo = Math.min(...reaches.map((r) => r[0]));
  const hi = Math.max(...reaches.map((r) => r[1]));
  const at = (g: Geometry): Geometry => ({ ...g, offset: g.offset - lo });
  const out = noGrad(() => {
    let image = zerosOf([hi - lo + 1], x.dtype, x.device);
    addInto(image, x, at(from));
    if (!injective(counted)) {
      const count = zerosOf([hi - lo + 1], x.dtype, x.device);
      addInto(count, onesOf(counted.shape, x.dtype, x.device), at(counted));
      image = image.div(count.clamp(1));
    }
    return asStrided(image, to.shape, to.strides, to.offset - lo).contiguous();
  });
  record('asStrided backward', [x], out, (g) => [restride(g, to, from, counted)], []);
  return out;
}

/**
 * Whether no two elements of `g` share a storage position, by the sufficient test: ordered by stride, each stride
 * steps past everything the smaller ones reach.
 */
function injective(g: Geometry): boolean {
  return loopDims(g).length === 0;
}

/**
 * The dims (of size > 1) to walk one index at a time so that the others address distinct storage elements:
 * ordered by |stride|, a dim whose stride does not step past what the smaller kept dims reach is walked.
 */
function loopDims(g: Geometry): number[] {
  const dims = g.shape.map((_, d) => d).filter((d) => g.shape[d]! > 1);
  dims.sort((p, q) => Math.abs(g.strides[p]!) - Math.abs(g.strides[q]!));
  const walked: number[] = [];
  let reach = 0;
  for (const d of dims) {
    const s = Math.abs(g.strides[d]!);
    if (s <= reach) walked.push(d);
    else reach += (g.shape[d]! - 1) * s;
  }
  return walked;
}

/** image[geometry] += x, where the geometry may repeat storage elements (each repeat adds). */
function addInto(image: Tensor, x: Tensor, g: Geometry): void {
  const walked = loopDims(g);
  const inner = g.shape.map((n, d) => (walked.includes(d) ? 1 : n));
  const index = walked.map(() => 0);
  const count = walked.reduce((p, d) => p * g.shape[d]!, 1);
  for (let step = 0; step < count; step++) {
    let offset = g.offset;
    let part = x;
    walked.forEach((d, j) => {
      offset += index[j]! * g.strides[d]!;
      part = part.narrow(d, index[j]!, 1);
    });
    const dst = asStrided(image, inner, g.strides, offset);
    dst.copy_(dst.add(part));
    for (let j = 0; j < walked.length && ++index[j]! === g.shape[walked[j]!]!; j++) index[j] = 0;
  }
}
