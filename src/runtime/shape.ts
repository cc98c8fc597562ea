/**
 * Shape arithmetic: sizes, contiguous strides, broadcasting, dimension normalisation, and the question
 * "can this reshape be a view?" answered the way PyTorch answers it.
 */
import { EinjitError, describeValue, formatShape } from '../errors.js';

export type Shape = readonly number[];

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= Math.max(shape[i]!, 1);
  }
  return strides;
}

export function isContiguous(shape: Shape, strides: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const d = shape[i]!;
    if (d === 1) continue;
    if (strides[i] !== expected) return false;
    expected *= d;
  }
  return true;
}

/**
 * The most elements one tensor may have: 2^32 - 1, so every element index fits the GPU's u32 arithmetic and
 * every count is an exact integer. (A backend may still fail to allocate less than this; that is an
 * EinjitError too.)
 */
export const MAX_ELEMENTS = 2 ** 32 - 1;

/**
 * The one shape validator: an array of integers >= 0, each and their product at most MAX_ELEMENTS (so the
 * element count is an exact safe integer even when another dimension is 0). Returns a copy.
 */
export function checkShape(shape: unknown, op: string, name = 'shape'): number[] {
  if (!Array.isArray(shape)) {
    throw new EinjitError(`${name} must be an array of non-negative integers, got ${describeValue(shape)}`, {
      op,
      hint: 'e.g. [2, 3]; a 0-d tensor has shape []',
    });
  }
  let count = 1;
  for (let i = 0; i < shape.length; i++) {
    const d: unknown = shape[i];
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) {
      throw new EinjitError(`${name} has an invalid size ${describeValue(d)} at dimension ${i}`, {
        op,
        hint: 'every size must be a non-negative integer',
      });
    }
    if (d > MAX_ELEMENTS) {
      throw new EinjitError(`${name} has size ${d} at dimension ${i}, more than einjit's limit of ${MAX_ELEMENTS} elements`, {
        op,
        hint: 'a tensor holds at most 2^32 - 1 elements',
      });
    }
    count *= d;
  }
  if (count > MAX_ELEMENTS) {
    throw new EinjitError(`${name} [${shape.join(', ')}] has ${count} elements, more than einjit's limit of ${MAX_ELEMENTS}`, {
      op,
      hint: 'a tensor holds at most 2^32 - 1 elements; split the work into smaller tensors',
    });
  }
  return shape.slice() as number[];
}

/** Broadcasts shapes by NumPy's rules (align right; 1 stretches). */
export function broadcastShapes(shapes: readonly Shape[], op: string): number[] {
  const ndim = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(ndim).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const j = ndim - s.length + i;
      const d = s[i]!;
      const cur = out[j]!;
      if (cur === d || d === 1) continue;
      if (cur === 1) { out[j] = d; continue; }
      throw new EinjitError(
        `shapes cannot be broadcast together: size ${cur} and size ${d} at dimension ${j - ndim}`,
        { op, shapes, hint: 'sizes must match or be 1 in every dimension, counted from the right' },
      );
    }
  }
  return out;
}

/** Strides that read a tensor of `shape`/`strides` as if it had the (broadcast) shape `target`. */
export function broadcastStrides(shape: Shape, strides: readonly number[], target: Shape): number[] {
  const out = new Array<number>(target.length).fill(0);
  const lead = target.length - shape.length;
  for (let i = 0; i < shape.length; i++) {
    out[lead + i] = shape[i] === 1 && target[lead + i] !== 1 ? 0 : strides[i]!;
  }
  return out;
}

/** Turns a possibly negative dim into an index, or throws naming the valid range. */
export function normalizeDim(dim: number, ndim: number, op: string, shape?: Shape): number {
  const lo = -Math.max(ndim, 1);
  const hi = Math.max(ndim, 1) - 1;
  if (typeof dim !== 'number' || !Number.isInteger(dim) || dim < lo || dim > hi) {
    throw new EinjitError(`dimension out of range (expected to be in range of [${lo}, ${hi}], but got ${describeValue(dim)})`, {
      op,
      ...(shape ? { shapes: [shape] } : {}),
      hint: `the tensor has ${ndim} dimension${ndim === 1 ? '' : 's'}; negative dims count from the end`,
    });
  }
  return dim < 0 ? dim + Math.max(ndim, 1) : dim;
}

export function normalizeDims(dims: number | readonly number[] | undefined, ndim: number, op: string, shape?: Shape): number[] {
  // null means every dim, as PyTorch's dim=None does.
  if (dims === undefined || dims === null) return Array.from({ length: ndim }, (_, i) => i);
  const list: readonly number[] = Array.isArray(dims) ? dims : [dims as number];
  const out = list.map((d) => normalizeDim(d, ndim, op, shape));
  if (new Set(out).size !== out.length) {
    throw new EinjitError(`dim ${describeValue(list)} appears multiple times in the list of dims`, { op });
  }
  // A 0-d tensor accepts dim 0 or -1 (as PyTorch does) but has no dimension for it to name.
  return ndim === 0 ? [] : out;
}

/** Resolves one -1 in a requested shape. */
export function inferShape(requested: readonly number[], size: number, op: string, from: Shape): number[] {
  let infer = -1;
  let known = 1;
  for (let i = 0; i < requested.length; i++) {
    const d = requested[i]!;
    if (d === -1) {
      if (infer >= 0) throw new EinjitError('only one dimension can be inferred (-1)', { op, shapes: [from] });
      infer = i;
    } else if (typeof d !== 'number' || !Number.isInteger(d) || d < 0 || d > MAX_ELEMENTS) {
      throw new EinjitError(`invalid shape dimension ${describeValue(d)} at position ${i}`, {
        op, shapes: [from], hint: 'sizes are non-negative integers, with at most one -1 to infer',
      });
    } else known *= d;
  }
  const out = requested.slice();
  if (infer >= 0) {
    if (known === 0 || size % known !== 0) {
      throw new EinjitError(`shape ${formatShape(requested)} is invalid for input of size ${size}`, { op, shapes: [from] });
    }
    out[infer] = size / known;
  } else if (known !== size) {
    throw new EinjitError(`shape ${formatShape(requested)} is invalid for input of size ${size}`, {
      op,
      shapes: [from],
      hint: `the new shape must have ${size} elements`,
    });
  }
  return out;
}

/**
 * Strides that let `newShape` view the same elements as `shape`/`strides` without copying, or null when no
 * such strides exist (PyTorch's rule: each run of old dims merged or split must be contiguous within itself).
 */
export function viewStrides(shape: Shape, strides: readonly number[], newShape: Shape): number[] | null {
  const total = numel(shape);
  if (total === 0 || shape.length === 0) return contiguousStrides(newShape);
  const out = new Array<number>(newShape.length);
  let viewD = newShape.length - 1;
  let chunkBase = strides[strides.length - 1]!;
  let tensorNumel = 1;
  let viewNumel = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    tensorNumel *= shape[d]!;
    const atChunkStart = d === 0 || (shape[d - 1] !== 1 && strides[d - 1] !== tensorNumel * chunkBase);
    if (atChunkStart) {
      while (viewD >= 0 && (viewNumel < tensorNumel || newShape[viewD] === 1)) {
        out[viewD] = viewNumel * chunkBase;
        viewNumel *= newShape[viewD]!;
        viewD--;
      }
      if (viewNumel !== tensorNumel) return null;
      if (d > 0) {
        chunkBase = strides[d - 1]!;
        tensorNumel = 1;
        viewNumel = 1;
      }
    }
  }
  if (viewD !== -1) return null;
  return out;
}
