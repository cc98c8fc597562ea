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
  /** What the caller can do about it, in lower case (the message capitalises it where it starts a sentence). */
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
    const c = sane(context);
    super(formatMessage(reason, c));
    this.name = 'EinjitError';
    this.reason = reason;
    this.op = c.op;
    this.pattern = c.pattern;
    this.span = c.span;
    this.shapes = c.shapes;
    this.hint = c.hint;
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
    // Unchanged is the common case at nested entry points (and fuzzers throw thousands): keep the error.
    if (merged.op === this.op && merged.pattern === this.pattern && merged.span === this.span
      && merged.shapes === this.shapes && merged.hint === this.hint) return this;
    // The stack is left alone: formatting it costs more than the rest of the error path together.
    return new EinjitError(this.reason, merged);
  }
}

/**
 * How an argument is named in a message: never `[object Object]`, never a conversion that throws (a Symbol, a
 * null-prototype object) or recurses (a deeply nested list).
 */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'undefined': return 'undefined';
    case 'number': return String(v);
    case 'string': return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
    case 'boolean': return String(v);
    case 'bigint': return `${v}n`;
    case 'symbol': return v.description === undefined ? 'a Symbol' : `Symbol(${v.description})`;
    case 'function': return 'a function';
  }
  if (Array.isArray(v)) {
    return v.length <= 8 && v.every((x) => typeof x === 'number') ? `an array [${v.join(', ')}]` : `an array of length ${v.length}`;
  }
  if (ArrayBuffer.isView(v)) return `a ${(v as { constructor?: { name?: string } }).constructor?.name ?? 'typed array'}`;
  const proto = Object.getPrototypeOf(v) as { constructor?: { name?: string } } | null;
  if (proto === null) return 'an object with no prototype';
  const name = proto.constructor?.name;
  if (name === 'Tensor' || name === 'Parameter') {
    const t = v as { dtype?: unknown; shape?: unknown };
    if (typeof t.dtype === 'string' && Array.isArray(t.shape)) return `a ${t.dtype} Tensor of shape [${t.shape.join(', ')}]`;
  }
  return name === undefined || name === 'Object' ? 'an object' : `a ${name}`;
}

/** Formats a shape as `[2, 3, 4]` (a 0-d shape is `[]`). */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Context built from unchecked arguments at an API boundary: fields of the wrong type are dropped, not printed. */
function sane(c: ErrorContext): ErrorContext {
  const isShape = (s: unknown): boolean => Array.isArray(s) && s.length <= 64 && s.every((d) => typeof d === 'number');
  return {
    ...(typeof c.op === 'string' ? { op: c.op } : {}),
    ...(typeof c.pattern === 'string' ? { pattern: c.pattern } : {}),
    ...(typeof c.pattern === 'string' && c.span !== undefined ? { span: c.span } : {}),
    ...(Array.isArray(c.shapes) && c.shapes.every(isShape) ? { shapes: c.shapes } : {}),
    ...(typeof c.hint === 'string' ? { hint: c.hint } : {}),
  };
}

/**
 * A hint as it is printed: hints are written in lower case (as `error.hint` reads), and the message starts each
 * with a capital when its first word is a plain word. Code and the project's name stay as written: `noGrad(…)`,
 * `x.contiguous()`, `e.g.`, einjit.
 */
function sentence(hint: string): string {
  return /^(?!einjit\b)[a-z]+[ ,;:]/.test(hint) ? hint.charAt(0).toUpperCase() + hint.slice(1) : hint;
}

function formatMessage(reason: string, context: ErrorContext): string {
  const c = sane(context);
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
  if (c.hint !== undefined) tail.push(sentence(c.hint));
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
  if ((e instanceof EvalError || (e instanceof Error && e.name === 'CompileError'))
    && /unsafe-eval|Content Security Policy|Content-Security-Policy|code generation from strings/i.test(e.message)) {
    // The page's policy refused generated code: not einjit's bug, and the page can change it.
    const err = new EinjitError(`the page's Content-Security-Policy refuses the generated CPU kernel: ${e.message}`, {
      ...context,
      hint: "add 'unsafe-eval' and 'wasm-unsafe-eval' to the page's script-src, or use the webgpu device (it needs neither); capabilities().codegen says whether kernels can be compiled",
    });
    (err as { cause?: unknown }).cause = e;
    return err;
  }
  const err = new EinjitError(`internal error: ${e instanceof Error ? e.message : String(e)}`, {
    ...context,
    hint: 'this is a bug in einjit; please report it with the pattern and shapes above',
  });
  (err as { cause?: unknown }).cause = e;
  return err;
}
