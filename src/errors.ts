/**
 * The one error class einjit throws for anything a caller did wrong.
 *
 * A message reads like a compiler diagnostic: what went wrong, the pattern with a caret under the offending
 * span, the operand shapes involved, and what to do about it.
 *
 * ```
 * rearrange: axis 'h' appears only on the left side of 'b h w -> b w'
 *   b h w -> b w
 *     ^
 *   input shape [2, 3, 4]. Every axis must appear on both sides; to drop it, use reduce(x, 'b h w -> b w', 'sum').
 * ```
 */

/** A half-open character range `[start, end)` into a pattern string. */
export interface Span {
  readonly start: number;
  readonly end: number;
}

/** Everything an error may say besides its headline. Every field is optional. */
export interface ErrorContext {
  /** The public operation that failed: 'einsum', 'rearrange', 'matmul', ... */
  readonly op?: string;
  /** The pattern being compiled, verbatim. */
  readonly pattern?: string;
  /** Where in the pattern the problem is; a caret line is drawn under it. */
  readonly span?: Span;
  /** Operand shapes, printed as `input shape [2, 3]` or `operand shapes [2, 3], [3, 4]`. */
  readonly shapes?: readonly (readonly number[])[];
  /** What the caller can do about it. */
  readonly hint?: string;
}

export class EinjitError extends Error {
  /** The headline without the op prefix or the context lines. */
  readonly reason: string;
  readonly op: string | undefined;
  readonly pattern: string | undefined;
  readonly span: Span | undefined;
  readonly shapes: readonly (readonly number[])[] | undefined;
  readonly hint: string | undefined;

  constructor(reason: string, context: ErrorContext = {}) {
    super(formatMessage(reason, context));
    this.name = 'EinjitError';
    this.reason = reason;
    this.op = context.op;
    this.pattern = context.pattern;
    this.span = context.span;
    this.shapes = context.shapes;
    this.hint = context.hint;
  }

  /** The same error with context filled in where it was missing (used at API boundaries). */
  withContext(context: ErrorContext): EinjitError {
    const merged: ErrorContext = {
      op: this.op ?? context.op,
      pattern: this.pattern ?? context.pattern,
      span: this.span ?? (this.pattern === undefined ? context.span : undefined),
      shapes: this.shapes ?? context.shapes,
      hint: this.hint ?? context.hint,
    };
    // The stack is left alone: formatting it costs more than the rest of the error path together.
    return new EinjitError(this.reason, merged);
  }
}

/** Formats a shape as `[2, 3, 4]` (a 0-d shape is `[]`). */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function formatMessage(reason: string, c: ErrorContext): string {
  const lines: string[] = [c.op !== undefined ? `${c.op}: ${reason}` : reason];
  if (c.pattern !== undefined) {
    lines.push(`  ${c.pattern}`);
    if (c.span !== undefined) {
      const start = Math.max(0, Math.min(c.span.start, c.pattern.length));
      const width = Math.max(1, Math.min(c.span.end, c.pattern.length + 1) - start);
      lines.push(`  ${' '.repeat(start)}${'^'.repeat(width)}`);
    }
  }
  const tail: string[] = [];
  if (c.shapes !== undefined) {
    tail.push(
      c.shapes.length === 1
        ? `input shape ${formatShape(c.shapes[0]!)}`
        : `operand shapes ${c.shapes.map(formatShape).join(', ')}`,
    );
  }
  if (c.hint !== undefined) tail.push(c.hint);
  if (tail.length > 0) lines.push(`  ${tail.join('. ')}`);
  return lines.join('\n');
}

/**
 * Runs `fn` and re-throws any EinjitError with the API-level context added (einops' habit: the error that
 * reaches the user always names the pattern and the shapes). Anything that is not an EinjitError is a bug in
 * einjit; it is wrapped so nothing else escapes, with the original kept as `cause`.
 */
export function withErrorContext<T>(context: ErrorContext, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw asEinjitError(e, context);
  }
}

export function asEinjitError(e: unknown, context: ErrorContext): EinjitError {
  if (e instanceof EinjitError) return e.withContext(context);
  if (e instanceof RangeError && /Invalid typed array length|Array buffer allocation failed|Invalid array length/.test(e.message)) {
    return new EinjitError(`cannot allocate the result: ${e.message}`, {
      ...context,
      hint: 'the tensor is too large for this machine; split the work or use smaller shapes',
    });
  }
  const err = new EinjitError(`internal error: ${e instanceof Error ? e.message : String(e)}`, {
    ...context,
    hint: 'this is a bug in einjit; please report it with the pattern and shapes above',
  });
  (err as { cause?: unknown }).cause = e;
  return err;
}
