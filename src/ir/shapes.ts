/** Input validation shared by the checkers: shapes and lengths are arrays of non-negative safe integers. */
import { asEinjitError, EinjitError, type ErrorContext } from '../errors.js';

export function isDim(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

/** Throws unless `shape` is an array of non-negative integers. */
export function assertShape(shape: unknown, what: string, ctx: ErrorContext): asserts shape is readonly number[] {
  if (!Array.isArray(shape)) {
    throw new EinjitError(`${what} must be an array of dimension sizes`, { ...ctx, hint: 'Pass a shape such as [2, 3]' });
  }
  for (const d of shape as unknown[]) {
    if (!isDim(d)) {
      throw new EinjitError(`${what} has an invalid dimension ${String(d)}`, {
        ...ctx, hint: 'Every dimension must be a non-negative integer',
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
  let key = String(shapes.length);
  for (const s of shapes) key += ';' + s.join(',');
  return key;
}

/** `{ shapes }` for an error's context when `shapes` is a valid list of shapes, `{}` otherwise. */
export function shapesContext(shapes: unknown): { shapes?: readonly (readonly number[])[] } {
  if (!Array.isArray(shapes) || shapes.length === 0) return {};
  for (const s of shapes as unknown[]) if (!Array.isArray(s) || !(s as unknown[]).every(isDim)) return {};
  return { shapes: shapes as readonly (readonly number[])[] };
}

/**
 * The error to throw at an entry point: an EinjitError gets the call's context where it lacks it (built
 * afresh rather than through withContext, which copies stack text and so formats the stack; errors are
 * thrown often by fuzzers and by callers probing patterns). Anything else is wrapped by asEinjitError.
 */
export function entryError(e: unknown, context: ErrorContext): EinjitError {
  if (!(e instanceof EinjitError)) return asEinjitError(e, context);
  const missing = (e.op === undefined && context.op !== undefined) || (e.pattern === undefined && context.pattern !== undefined)
    || (e.shapes === undefined && context.shapes !== undefined);
  if (!missing) return e;
  return new EinjitError(e.reason, {
    op: e.op ?? context.op,
    pattern: e.pattern ?? context.pattern,
    span: e.span ?? (e.pattern === undefined ? context.span : undefined),
    shapes: e.shapes ?? context.shapes,
    hint: e.hint ?? context.hint,
  });
}
