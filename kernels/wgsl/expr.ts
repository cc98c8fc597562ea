/**
 * Expr → WGSL statements. Every value is held in the kernel's compute type (`f32` or `i32`); comparisons and
 * logical ops produce 0/1 in that type, as the spec's bool values are 0 or 1. The rendered code is a list of
 * `let` bindings, one per expression node, so shared subtrees stay readable.
 *
 * WGSL quirks kept here: no NaN/infinity literals (they come from private variables holding their bits), no
 * erf, pow undefined for negative bases, max/min unspecified for NaN, integer division by zero defined.
 */

import type { BinaryOp, DType, Expr, UnaryOp } from '../../src/lower/spec.js';
import { f16round } from '@petamoriken/float16';

export type ComputeType = 'f32' | 'i32';

/** How the expression's values are represented: WGSL type and the value set each node is rounded to. */
export interface ComputeMode {
  readonly type: ComputeType;
  /** float16 compute: every arithmetic result is rounded to float16. */
  readonly roundF16: boolean;
  /** bool compute: every arithmetic result is normalised to 0/1. */
  readonly asBool: boolean;
}

export function computeMode(dtype: DType): ComputeMode {
  switch (dtype) {
    case 'int32': return { type: 'i32', roundF16: false, asBool: false };
    case 'bool': return { type: 'i32', roundF16: false, asBool: true };
    case 'float16': return { type: 'f32', roundF16: true, asBool: false };
    default: return { type: 'f32', roundF16: false, asBool: false };
  }
}

/** The helper functions a module uses, emitted once each, in a fixed order, only when used. */
export class Helpers {
  private readonly used = new Set<string>();

  use(name: keyof typeof HELPERS): string {
    for (const dep of HELPER_DEPS[name] ?? []) this.use(dep);
    this.used.add(name);
    return name;
  }

  render(): string {
    return Object.keys(HELPERS)
      .filter((k) => this.used.has(k))
      .map((k) => HELPERS[k as keyof typeof HELPERS])
      .join('\n');
  }
}

const HELPERS = {
  NONFINITE: [
    '// WGSL has no NaN or infinity literals; these private variables hold their bits.',
    'var<private> NAN_BITS: u32 = 0x7fc00000u;',
    'var<private> INF_BITS: u32 = 0x7f800000u;',
    '',
  ].join('\n'),
  log_f: [
    '// log, sqrt and inverseSqrt of a negative number are NaN (WGSL leaves them indeterminate, and compilers',
    '// then fold exp(log(x)) to x).',
    'fn log_f(x: f32) -> f32 { return select(log(x), bitcast<f32>(NAN_BITS), x < 0.0); }',
    'fn sqrt_f(x: f32) -> f32 { return select(sqrt(x), bitcast<f32>(NAN_BITS), x < 0.0); }',
    'fn rsqrt_f(x: f32) -> f32 { return select(inverseSqrt(x), bitcast<f32>(NAN_BITS), x < 0.0); }',
    '',
  ].join('\n'),
  is_nan: 'fn is_nan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }\n',
  max_nan: [
    '// max/min that propagate NaN (WGSL leaves max(NaN, x) unspecified).',
    'fn max_nan(a: f32, b: f32) -> f32 { if (is_nan(a)) { return a; } if (is_nan(b)) { return b; } return max(a, b); }',
    'fn min_nan(a: f32, b: f32) -> f32 { if (is_nan(a)) { return a; } if (is_nan(b)) { return b; } return min(a, b); }',
    '',
  ].join('\n'),
  pow_f: [
    '// pow with negative bases and zero exponents defined as in PyTorch (WGSL pow needs a >= 0).',
    'fn pow_f(a: f32, b: f32) -> f32 {',
    '  if (b == 0.0) { return 1.0; }',
    '  if (a == 0.0) { return select(0.0, bitcast<f32>(INF_BITS), b < 0.0); }',
    '  let r = pow(abs(a), b);',
    '  if (a >= 0.0 || is_nan(a)) { return r; }',
    '  if (b != floor(b)) { return bitcast<f32>(NAN_BITS); }',
    '  return select(r, -r, fract(b * 0.5) != 0.0);',
    '}',
    '',
  ].join('\n'),
  erf_f: [
    '// erf: Taylor series near 0, 1 - erfc (Chebyshev fit, fractional error < 1.2e-7) elsewhere.',
    'fn erf_f(x: f32) -> f32 {',
    '  let z = abs(x);',
    '  if (z < 0.5) {',
    '    let x2 = x * x;',
    '    return 1.1283791671 * x * (1.0 + x2 * (-0.3333333333 + x2 * (0.1 + x2 * (-0.0238095238 + x2 * (0.0046296296 - x2 * 0.0007575758)))));',
    '  }',
    '  let t = 1.0 / (1.0 + 0.5 * z);',
    '  let p = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 +',
    '    t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));',
    '  let erfc = t * exp(-z * z + p);',
    '  return select(1.0 - erfc, erfc - 1.0, x < 0.0);',
    '}',
    '',
  ].join('\n'),
  gelu_f: 'fn gelu_f(x: f32) -> f32 { return 0.5 * x * (1.0 + erf_f(x * 0.70710678118654752)); }\n',
  tanh_f: '// tanh saturates explicitly: some drivers compute it as a ratio of exponentials that overflows.\nfn tanh_f(x: f32) -> f32 { return select(tanh(x), sign(x), abs(x) > 10.0); }\n',
  sigmoid_f: 'fn sigmoid_f(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }\n',
  mod_f: '// remainder with the sign of the divisor (PyTorch, Python).\nfn mod_f(a: f32, b: f32) -> f32 { let r = a % b; return select(r, r + b, r != 0.0 && ((r < 0.0) != (b < 0.0))); }\n',
  mod_i: '// remainder with the sign of the divisor (PyTorch, Python); 0 for a zero divisor.\nfn mod_i(a: i32, b: i32) -> i32 { if (b == 0) { return 0; } let r = a % b; return select(r, r + b, r != 0 && ((r < 0) != (b < 0))); }\n',
  floordiv_i: '// division rounding toward negative infinity; 0 for a zero divisor.\nfn floordiv_i(a: i32, b: i32) -> i32 { if (b == 0) { return 0; } let q = a / b; return select(q, q - 1, (a % b != 0) && ((a < 0) != (b < 0))); }\n',
  // Arithmetic, not unpack2x16float(pack2x16float(x)): lavapipe folds that pair away and returns x unrounded.
  round_f16: [
    '// rounds an f32 to the nearest float16 value, ties to even (a cast to float16, or float16 compute without',
    "// the shader-f16 feature): a whole number of float16's spacing at x's binade (2^-24 below 2^-14), by round(),",
    '// which ties to even; from 65520 on the nearest is infinity; NaN stays NaN.',
    'fn round_f16(x: f32) -> f32 {',
    '  let bits = bitcast<u32>(x);',
    '  let mag = bits & 0x7fffffffu;',
    '  if (mag > 0x7f800000u) { return x; }',
    '  if (mag >= 0x477ff000u) { return bitcast<f32>((bits & 0x80000000u) | 0x7f800000u); }',
    '  let e = max(i32(mag >> 23u) - 127, -14);',
    '  let spacing = bitcast<f32>(u32(e - 10 + 127) << 23u);',
    '  let r = round(bitcast<f32>(mag) / spacing) * spacing;',
    '  return bitcast<f32>(bitcast<u32>(r) | (bits & 0x80000000u));',
    '}',
    '',
  ].join('\n'),
} as const;

const HELPER_DEPS: Partial<Record<keyof typeof HELPERS, readonly (keyof typeof HELPERS)[]>> = {
  max_nan: ['is_nan'],
  pow_f: ['is_nan', 'NONFINITE'],
  log_f: ['NONFINITE'],
  gelu_f: ['erf_f'],
};

/** A WGSL literal of the compute type. Non-finite values read the NONFINITE private variables. */
export function literal(value: number, type: ComputeType, helpers: Helpers): string {
  if (type === 'i32') {
    const v = Number.isFinite(value) ? Math.trunc(value) : 0;
    return v === -2147483648 ? 'i32(-2147483647 - 1)' : `${Math.max(-2147483647, Math.min(2147483647, v))}`;
  }
  if (Number.isNaN(value)) return (helpers.use('NONFINITE'), 'bitcast<f32>(NAN_BITS)');
  if (!Number.isFinite(value)) return (helpers.use('NONFINITE'), value > 0 ? 'bitcast<f32>(INF_BITS)' : '-bitcast<f32>(INF_BITS)');
  const f = Math.fround(value);
  if (!Number.isFinite(f)) return (helpers.use('NONFINITE'), f > 0 ? 'bitcast<f32>(INF_BITS)' : '-bitcast<f32>(INF_BITS)');
  const s = String(f);
  return /[.eE]/.test(s) ? (s.includes('e') && !s.includes('.') ? s.replace('e', '.0e') : s) : `${s}.0`;
}

/**
 * The i32 a params field holds for a constant of the compute type: the value itself for i32 (truncated and
 * saturated, as `literal` does; 0/1 for bool compute), the bits of its float32 rounding for f32 (rounded to
 * float16 first under float16 compute), which the kernel reads back with `constantRead`.
 */
export function constantParam(value: number, mode: ComputeMode): number {
  if (mode.type === 'i32') {
    if (mode.asBool) return value !== 0 ? 1 : 0;
    const v = Number.isFinite(value) ? Math.trunc(value) : 0;
    return Math.max(-2147483648, Math.min(2147483647, v));
  }
  F32[0] = mode.roundF16 ? f16round(value) : value;
  return I32[0]!;
}

const F32 = new Float32Array(1);
const I32 = new Int32Array(F32.buffer);

/** The WGSL expression reading a constant from its params field (see `constantParam`). */
export function constantRead(field: string, type: ComputeType): string {
  return type === 'f32' ? `bitcast<f32>(${field})` : field;
}

/** A boolean WGSL expression saying whether `x` (of the compute type) is nonzero. */
export function truthy(x: string, type: ComputeType): string {
  return type === 'f32' ? `(${x} != 0.0)` : `(${x} != 0)`;
}

export interface RenderedExpr {
  readonly lines: readonly string[];
  readonly result: string;
}

/**
 * Renders `expr` as `let` bindings named `${prefix}N`. `load(i)` gives the WGSL expression of input i's
 * current value, already converted to the compute type. `constant(k)`, where given, gives the expression reading
 * constant k (exprConstants order) from the kernel's params, so the value is not part of the pipeline; without
 * it constants are literals.
 */
export function renderExpr(
  expr: Expr, mode: ComputeMode, helpers: Helpers, load: (index: number) => string, prefix = 'v',
  constant?: (slot: number) => string,
): RenderedExpr {
  const lines: string[] = [];
  const T = mode.type;
  const loaded = new Map<number, string>();
  let n = 0;
  let slot = 0;
  const bind = (rhs: string): string => {
    const name = `${prefix}${n++}`;
    lines.push(`let ${name} = ${rhs};`);
    return name;
  };
  // Rounds an arithmetic result to the compute dtype's value set.
  const rounded = (rhs: string): string => {
    if (mode.roundF16) return `${helpers.use('round_f16')}(${rhs})`;
    if (mode.asBool) return `i32(${rhs} != 0)`;
    return rhs;
  };
  const fromBool = (cond: string): string => `${T}(${cond})`;
  // WGSL evaluates an op on literals at compile time and rejects the shader when that fails (log(-1.0),
  // 1.0 / 0.0, overflow); binding the literal with `let` makes it a runtime value with the usual semantics.
  const isLiteral = (x: string): boolean => !new RegExp(`^${prefix}\\d+$`).test(x) && !x.includes('_BITS');
  const runtime = (x: string): string => (isLiteral(x) ? bind(x) : x);

  const visit = (e: Expr): string => {
    switch (e.kind) {
      case 'input': {
        const seen = loaded.get(e.index);
        if (seen !== undefined) return seen;
        const name = bind(load(e.index));
        loaded.set(e.index, name);
        return name;
      }
      case 'const':
        if (constant !== undefined) return bind(constant(slot++));
        return literal(mode.asBool ? (e.value !== 0 ? 1 : 0) : mode.roundF16 ? f16round(e.value) : e.value, T, helpers);
      case 'unary': {
        const x = runtime(visit(e.arg));
        return bind(unary(e.op, x));
      }
      case 'binary': {
        let a = visit(e.lhs);
        const b = visit(e.rhs);
        if (isLiteral(a) && isLiteral(b)) a = runtime(a);
        return bind(binary(e.op, a, b));
      }
      case 'select': {
        const c = visit(e.cond);
        const t = visit(e.then);
        const f = visit(e.otherwise);
        return bind(`select(${f}, ${t}, ${truthy(c, T)})`);
      }
      case 'cast':
        return bind(cast(e.to, runtime(visit(e.arg))));
    }
  };

  const ctx: OpContext = { T, helpers, rounded, fromBool };
  const unary = (op: UnaryOp, x: string): string => {
    const row = UNARY[op];
    if (T === 'i32') return row.i32 !== undefined ? row.i32(x, ctx) : rounded(`i32(${row.f32(`f32(${x})`, helpers)})`);
    return row.keepsValueSet === true ? row.f32(x, helpers) : rounded(row.f32(x, helpers));
  };

  const binary = (op: BinaryOp, a: string, b: string): string => BINARY[op](a, b, ctx);

  const cast = (to: DType, x: string): string => {
    switch (to) {
      case 'bool': return fromBool(truthy(x, T));
      case 'int32': return T === 'f32' ? `f32(i32(${x}))` : x;
      case 'float16': return T === 'f32' ? `${helpers.use('round_f16')}(${x})` : `i32(${helpers.use('round_f16')}(f32(${x})))`;
      case 'float32': case 'float64': return x;
    }
  };

  const result = visit(expr);
  return { lines, result };
}

/** What a binary row (and an integer unary row) needs from the expression being rendered. */
interface OpContext {
  readonly T: ComputeType;
  readonly helpers: Helpers;
  /** Rounds an arithmetic result to the compute dtype's value set (float16, bool). */
  readonly rounded: (rhs: string) => string;
  /** A WGSL bool as 0/1 of the compute type. */
  readonly fromBool: (cond: string) => string;
}

interface UnaryRow {
  /** The op on an f32 operand. */
  readonly f32: (x: string, helpers: Helpers) => string;
  /** The op on an i32 operand where it is not the f32 op on f32(x) converted back. */
  readonly i32?: (x: string, c: OpContext) => string;
  /** The result is 0/1 or NaN-test output, already in the value set, so it is not rounded. */
  readonly keepsValueSet?: boolean;
}

/** One row per unary op; the type checker names a missing one. */
const UNARY: { readonly [Op in UnaryOp]: UnaryRow } = {
  neg: { f32: (x) => negate(x), i32: (x, c) => c.rounded(negate(x)) },
  abs: { f32: (x) => `abs(${x})`, i32: (x) => `abs(${x})` },
  exp: { f32: (x) => `exp(${x})` },
  log: { f32: (x, h) => `${h.use('log_f')}(${x})` },
  sqrt: { f32: (x, h) => `${(h.use('log_f'), 'sqrt_f')}(${x})` },
  rsqrt: { f32: (x, h) => `${(h.use('log_f'), 'rsqrt_f')}(${x})` },
  relu: { f32: (x) => `select(${x}, 0.0, ${x} < 0.0)`, i32: (x) => `max(${x}, 0)` },
  sigmoid: { f32: (x, h) => `${h.use('sigmoid_f')}(${x})` },
  tanh: { f32: (x, h) => `${h.use('tanh_f')}(${x})` },
  gelu: { f32: (x, h) => `${h.use('gelu_f')}(${x})` },
  erf: { f32: (x, h) => `${h.use('erf_f')}(${x})` },
  sin: { f32: (x) => `sin(${x})` },
  cos: { f32: (x) => `cos(${x})` },
  floor: { f32: (x) => `floor(${x})`, i32: (x) => x },
  ceil: { f32: (x) => `ceil(${x})`, i32: (x) => x },
  round: { f32: (x) => `round(${x})`, i32: (x) => x },
  sign: { f32: (x) => `sign(${x})`, i32: (x) => `sign(${x})` },
  reciprocal: { f32: (x) => `1.0 / ${x}` },
  not: {
    f32: (x) => `f32(${x} == 0.0)`, i32: (x, c) => c.fromBool(`${x} == 0`), keepsValueSet: true,
  },
  square: { f32: (x) => `${x} * ${x}`, i32: (x, c) => c.rounded(`${x} * ${x}`) },
  isnan: { f32: (x, h) => `f32(${h.use('is_nan')}(${x}))`, i32: () => '0', keepsValueSet: true },
};

/** One row per binary op; the type checker names a missing one. */
const BINARY: { readonly [Op in BinaryOp]: (a: string, b: string, c: OpContext) => string } = {
  add: (a, b, c) => c.rounded(`${a} + ${b}`),
  sub: (a, b, c) => c.rounded(`${a} - ${b}`),
  mul: (a, b, c) => c.rounded(`${a} * ${b}`),
  div: (a, b, c) => c.rounded(`${a} / ${b}`),
  pow: (a, b, c) => c.rounded(c.T === 'f32' ? `${c.helpers.use('pow_f')}(${a}, ${b})` : `i32(${c.helpers.use('pow_f')}(f32(${a}), f32(${b})))`),
  max: (a, b, c) => (c.T === 'f32' ? (c.helpers.use('max_nan'), `max_nan(${a}, ${b})`) : `max(${a}, ${b})`),
  min: (a, b, c) => (c.T === 'f32' ? (c.helpers.use('max_nan'), `min_nan(${a}, ${b})`) : `min(${a}, ${b})`),
  mod: (a, b, c) => c.rounded(c.T === 'f32' ? `${c.helpers.use('mod_f')}(${a}, ${b})` : `${c.helpers.use('mod_i')}(${a}, ${b})`),
  floordiv: (a, b, c) => c.rounded(c.T === 'f32' ? `floor(${a} / ${b})` : `${c.helpers.use('floordiv_i')}(${a}, ${b})`),
  eq: (a, b, c) => c.fromBool(`${a} == ${b}`),
  ne: (a, b, c) => c.fromBool(`${a} != ${b}`),
  lt: (a, b, c) => c.fromBool(`${a} < ${b}`),
  le: (a, b, c) => c.fromBool(`${a} <= ${b}`),
  gt: (a, b, c) => c.fromBool(`${a} > ${b}`),
  ge: (a, b, c) => c.fromBool(`${a} >= ${b}`),
  and: (a, b, c) => c.fromBool(`${truthy(a, c.T)} && ${truthy(b, c.T)}`),
  or: (a, b, c) => c.fromBool(`${truthy(a, c.T)} || ${truthy(b, c.T)}`),
  xor: (a, b, c) => c.fromBool(`${truthy(a, c.T)} != ${truthy(b, c.T)}`),
};

/** `-x`, parenthesised when x is itself a negative literal. */
function negate(x: string): string {
  return x.startsWith('-') ? `-(${x})` : `-${x}`;
}
