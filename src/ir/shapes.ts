/** Input validation shared by the checkers: shapes and lengths are arrays of non-negative safe integers. */
import { EinjitError, type ErrorContext } from '../errors.js';

export function isDim(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

/** Throws unless `shape` is an array of non-negative integers. */
export function assertShape(shape: unknown, what: string, ctx: ErrorContext): asserts shape is readonly number[] {
  if (!Array.isArray(shape)) {
    throw new EinjitError(`${what} must be an array of dimension sizes`, { ...ctx, hint: 'pass a shape such as [2, 3]' });
  }
  for (const d of shape as unknown[]) {
    if (!isDim(d)) {
      throw new EinjitError(`${what} has an invalid dimension ${String(d)}`, {
        ...ctx, hint: 'every dimension must be a non-negative integer',
      });
    }
  }
}

/** Throws unless `shapes` is an array of shapes. */
export function assertShapes(shapes: unknown, ctx: ErrorContext): asserts shapes is readonly (readonly number[])[] {
  if (!Array.isArray(shapes)) throw new EinjitError('the operand shapes must be an array of shapes', ctx);
  (shapes as unknown[]).forEach((s, i) => assertShape(s, `operand ${i}'s shape`, ctx));
}

export function product(xs: readonly number[]): number {
  let p = 1;
  for (const x of xs) p *= x;
  return p;
}

/** A cache key for a list of shapes ('2,3;4' for [[2, 3], [4]], prefixed by the count so [] and [[]] differ). */
export function shapesKey(shapes: readonly (readonly number[])[]): string {
  // Total over anything a caller passes, so that the checks after the cache lookup report what is wrong ('!' is
  // no valid shape's key, so a bad argument never hits a cached entry).
  if (!Array.isArray(shapes)) return '!';
  let key = String(shapes.length);
  for (const s of shapes as unknown[]) key += ';' + (Array.isArray(s) ? s.join(',') : '!');
  return key;
}

/** `{ shapes }` for an error's context when `shapes` is a valid list of shapes, `{}` otherwise. */
export function shapesContext(shapes: unknown): { shapes?: readonly (readonly number[])[] } {
  if (!Array.isArray(shapes) || shapes.length === 0) return {};
  for (const s of shapes as unknown[]) if (!Array.isArray(s) || !(s as unknown[]).every(isDim)) return {};
  return { shapes: shapes as readonly (readonly number[])[] };
}

