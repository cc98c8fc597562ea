/**
 * einops' operations over einjit tensors: rearrange, reduce, repeat, pack, unpack and parseShape.
 *
 * Each follows the checked recipe from src/ir: view the input as its elementary axes (a view whenever the
 * strides allow, so a rearrange of a contiguous tensor is often free), reduce, permute (a view), insert new
 * axes as broadcasts (a view), and reshape to the output (a copy only when the strides demand one).
 */
import { EinjitError, withErrorContext } from '../errors.js';
import * as A from '../runtime/args.js';
import { MAX_ELEMENTS } from '../runtime/shape.js';
import { checkEinops, checkPack, checkUnpack, parseShape as parseShapeIR, type EinopsRecipe } from '../ir/index.js';
import { Tensor } from '../runtime/tensor.js';
import * as ops from '../runtime/ops.js';

/** A reduction by name, or a function that reduces the given axes of a tensor (einops' callable reductions). */
export type Reduction = 'sum' | 'mean' | 'max' | 'min' | 'prod' | 'any' | 'all' | ((x: Tensor, axes: number[]) => Tensor);
export type AxesLengths = Readonly<Record<string, number>>;

type TensorInput = Tensor | readonly Tensor[];

function asTensor(x: TensorInput, op: string, pattern: string): Tensor {
  if (x instanceof Tensor) return x;
  if (Array.isArray(x)) {
    if (x.length === 0) {
      throw new EinjitError('a list input must contain at least one tensor', { op, pattern, hint: 'pass a tensor or a non-empty list' });
    }
    return ops.stack(A.tensorListArg(x, op, 'the input list'), 0);
  }
  throw new EinjitError(`expected a Tensor or a list of tensors, got ${A.describe(x)}`, { op, pattern });
}

function applyRecipe(x: Tensor, recipe: EinopsRecipe, reduction: Reduction | null): Tensor {
  let t = x.reshape(recipe.elementaryShape.slice());
  let remaining = recipe.elementaryShape.map((_, i) => i);
  if (recipe.reducedAxes.length > 0) {
    const axes = recipe.reducedAxes.slice();
    t = reduceAxes(t, axes, reduction ?? 'sum');
    remaining = remaining.filter((i) => !axes.includes(i));
  }
  // Permute kept axes into output order.
  const order = recipe.outputAxes.filter((a) => a.kind === 'input').map((a) => remaining.indexOf((a as { axis: number }).axis));
  if (order.some((p, i) => p !== i)) t = t.permute(order);
  // Insert repeated axes as broadcasts.
  if (recipe.outputAxes.some((a) => a.kind === 'new')) {
    const full: number[] = [];
    recipe.outputAxes.forEach((a, i) => {
      if (a.kind === 'new') {
        t = t.unsqueeze(i);
        full.push(a.size);
      } else {
        full.push(t.shape[i]!);
      }
    });
    t = t.expand(full);
  }
  return t.reshape(recipe.outputShape.slice());
}

function reduceAxes(t: Tensor, axes: number[], reduction: Reduction): Tensor {
  if (typeof reduction === 'function') {
    const r = reduction(t, axes);
    if (!(r instanceof Tensor)) throw new EinjitError('a custom reduction must return a Tensor', { op: 'reduce' });
    return r;
  }
  switch (reduction) {
    case 'sum': return t.sum(axes);
    case 'mean': return t.mean(axes);
    case 'max': return t.max(axes);
    case 'min': return t.min(axes);
    case 'prod': return t.prod(axes);
    case 'any': return t.any(axes);
    case 'all': return t.all(axes);
  }
}

/** Axis lengths: an object whose values are sizes (the pattern decides which names it needs). */
function checkAxesLengths(v: unknown, op: string): void {
  const o = A.optionsArg<Record<string, unknown>>(v, op, 'axesLengths');
  for (const k of Object.keys(o)) A.intArg(o[k], op, `axesLengths.${k}`, 0, MAX_ELEMENTS);
}

/**
 * Reorders, splits and merges axes: `rearrange(x, 'b c (h 2) (w 2) -> b (c h w) 4')`. A list of tensors is
 * stacked on a new leading axis first.
 *
 * @example
 * const y = rearrange(x, 'b c h w -> b h w c');
 */
export function rearrange(x: TensorInput, pattern: string, axesLengths: AxesLengths = {}): Tensor {
  A.patternArg(pattern, 'rearrange'); checkAxesLengths(axesLengths, 'rearrange');
  return withErrorContext({ op: 'rearrange', pattern }, () => {
    const t = asTensor(x, 'rearrange', pattern);
    return withErrorContext({ shapes: [t.shape] }, () =>
      applyRecipe(t, checkEinops('rearrange', pattern, t.shape, axesLengths), null));
  });
}

/**
 * Reduces the axes missing on the right: `reduce(x, 'b c h w -> b c', 'mean')`.
 *
 * @example
 * const pooled = reduce(x, 'b c (h 2) (w 2) -> b c h w', 'max');
 */
export function reduce(x: TensorInput, pattern: string, reduction: Reduction, axesLengths: AxesLengths = {}): Tensor {
  A.patternArg(pattern, 'reduce'); checkAxesLengths(axesLengths, 'reduce');
  // The name itself is checked with the pattern (einops also takes 'rearrange' and 'repeat' here).
  if (typeof reduction !== 'function') A.stringArg(reduction, 'reduce', 'the reduction');
  return withErrorContext({ op: 'reduce', pattern }, () => {
    const t = asTensor(x, 'reduce', pattern);
    const name = typeof reduction === 'function' ? 'custom' : reduction;
    return withErrorContext({ shapes: [t.shape] }, () => {
      const recipe = checkEinops('reduce', pattern, t.shape, axesLengths, name);
      return applyRecipe(t, recipe, reduction);
    });
  });
}

/**
 * Adds or tiles axes: `repeat(x, 'h w -> h w c', { c: 3 })`.
 *
 * @example
 * const tiled = repeat(x, 'h w -> (2 h) (3 w)');
 */
export function repeat(x: TensorInput, pattern: string, axesLengths: AxesLengths = {}): Tensor {
  A.patternArg(pattern, 'repeat'); checkAxesLengths(axesLengths, 'repeat');
  return withErrorContext({ op: 'repeat', pattern }, () => {
    const t = asTensor(x, 'repeat', pattern);
    return withErrorContext({ shapes: [t.shape] }, () =>
      applyRecipe(t, checkEinops('repeat', pattern, t.shape, axesLengths), null));
  });
}

/**
 * Packs tensors that share the named axes into one, along the axes '*' stands for; returns the packed tensor and
 * each input's packed shape (for unpack).
 *
 * @example
 * const [packed, shapes] = pack([cls, patches], 'b * c');
 */
export function pack(tensors: readonly Tensor[], pattern: string): [Tensor, number[][]] {
  A.tensorListArg(tensors, 'pack'); A.patternArg(pattern, 'pack');
  return withErrorContext({ op: 'pack', pattern }, () => {
    if (!Array.isArray(tensors)) throw new EinjitError('pack expects a list of tensors', { op: 'pack', pattern });
    const shapes = tensors.map((t) => t.shape);
    return withErrorContext({ shapes }, () => {
      const r = checkPack(pattern, shapes);
      const parts = tensors.map((t, i) => {
        const s = r.splits[i]!;
        return t.reshape([...s.before, r.lengths[i]!, ...s.after]);
      });
      if (parts.length === 0) {
        throw new EinjitError('pack needs at least one tensor', { op: 'pack', pattern });
      }
      return [ops.cat(parts, r.axis), r.packedShapes.map((s) => s.slice())];
    });
  });
}

/**
 * Splits a packed tensor back into the shapes pack returned.
 *
 * @example
 * const [cls2, patches2] = unpack(packed, shapes, 'b * c');
 */
export function unpack(packed: Tensor, packedShapes: readonly (readonly number[])[], pattern: string): Tensor[] {
  A.tensorArg(packed, 'unpack', 'the packed tensor'); A.patternArg(pattern, 'unpack');
  if (!Array.isArray(packedShapes)) A.shapeListArg(packedShapes, 'unpack', 'packedShapes');
  packedShapes.forEach((s, i) => A.intListArg(s, 'unpack', `packedShapes[${i}]`));
  return withErrorContext({ op: 'unpack', pattern, shapes: [packed.shape] }, () => {
    const r = checkUnpack(pattern, packed.shape, packedShapes);
    return r.ranges.map((range, i) => packed.slice(r.axis, range.start, range.stop).reshape(r.outputShapes[i]!));
  });
}

/**
 * Names the axes of a tensor's shape: `parseShape(x, 'b c _ _')` gives `{ b: 2, c: 3 }`.
 *
 * @example
 * parseShape(zeros([2, 3, 32, 32]), 'b c _ _');  // { b: 2, c: 3 }
 */
export function parseShape(x: Tensor, pattern: string): Record<string, number> {
  A.tensorArg(x, 'parseShape'); A.patternArg(pattern, 'parseShape');
  return withErrorContext({ op: 'parseShape', pattern, shapes: [x.shape] }, () => ({ ...parseShapeIR(pattern, x.shape) }));
}
