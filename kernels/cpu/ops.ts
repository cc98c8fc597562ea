/**
 * The CPU backend's op tables: for every elementwise op, the JavaScript the loop renderer emits (`js`) beside the
 * function the no-eval interpreter calls (`fn`), one row per op. The tables are typed by the op unions of
 * src/lower/spec.ts, so a new op fails to compile until it has its row here, and the two renderings of one op
 * sit on one line, where a reader sees that they agree.
 */
import { f16round } from '@petamoriken/float16';
import type { BinaryOp, DType, UnaryOp } from '../../src/lower/spec.js';

export type AnyArray = { [i: number]: number; readonly length: number };
/** A loop spec made runnable, by the renderer (loop.ts) or the interpreter (interpret.ts): the same signature. */
export type LoopKernel = (ins: readonly AnyArray[], out: AnyArray, params: readonly number[]) => void;

/**
 * The summation order both renderers share: points of the innermost reduce loop summed as one block (by 8
 * accumulators) in a floating-point sum.
 */
export const SUM_BLOCK = 128;
/** Floating-point sums of at most this many points use one accumulator (within the pairwise bound). */
export const SHORT_SUM = 16;

/** Scalar helpers the generated code may call (by these names) and the interpreter calls directly. Tiny and exact. */
export const scalarHelpers = {
  relu: (a: number): number => (a > 0 || a !== a ? a : 0),
  sign: (a: number): number => (a > 0 ? 1 : a < 0 ? -1 : a),
  square: (a: number): number => a * a,
  remainder: (a: number, b: number): number => {
    const r = a % b;
    return r !== 0 && (r < 0) !== (b < 0) ? r + b : r;
  },
  roundHalfEven: (a: number): number => {
    const f = Math.floor(a);
    const d = a - f;
    const r = d > 0.5 ? f + 1 : d < 0.5 ? f : f % 2 === 0 ? f : f + 1;
    // Rounding keeps the sign of zero: round(-0.4) is -0, as in PyTorch.
    return r === 0 && a < 0 ? -0 : r;
  },
  exp,
  erf,
  gelu: (a: number): number => 0.5 * a * (1 + erf(a / Math.SQRT2)),
  f16round: (a: number): number => f16round(a),
};

const h = scalarHelpers;

interface UnaryRow {
  /** Source of the op applied to the rendered operand `a`. */
  readonly js: (a: string) => string;
  readonly fn: (a: number) => number;
}

export const UNARY: { readonly [Op in UnaryOp]: UnaryRow } = {
  neg: { js: (a) => `(-${a})`, fn: (a) => -a },
  abs: { js: (a) => `Math.abs(${a})`, fn: Math.abs },
  exp: { js: (a) => `exp(${a})`, fn: h.exp },
  log: { js: (a) => `Math.log(${a})`, fn: Math.log },
  sqrt: { js: (a) => `Math.sqrt(${a})`, fn: Math.sqrt },
  rsqrt: { js: (a) => `(1 / Math.sqrt(${a}))`, fn: (a) => 1 / Math.sqrt(a) },
  relu: { js: (a) => `relu(${a})`, fn: h.relu },
  sigmoid: { js: (a) => `(1 / (1 + exp(-${a})))`, fn: (a) => 1 / (1 + h.exp(-a)) },
  tanh: { js: (a) => `Math.tanh(${a})`, fn: Math.tanh },
  gelu: { js: (a) => `gelu(${a})`, fn: h.gelu },
  erf: { js: (a) => `erf(${a})`, fn: h.erf },
  sin: { js: (a) => `Math.sin(${a})`, fn: Math.sin },
  cos: { js: (a) => `Math.cos(${a})`, fn: Math.cos },
  floor: { js: (a) => `Math.floor(${a})`, fn: Math.floor },
  ceil: { js: (a) => `Math.ceil(${a})`, fn: Math.ceil },
  round: { js: (a) => `roundHalfEven(${a})`, fn: h.roundHalfEven },
  sign: { js: (a) => `sign(${a})`, fn: h.sign },
  reciprocal: { js: (a) => `(1 / ${a})`, fn: (a) => 1 / a },
  not: { js: (a) => `(${a} === 0 ? 1 : 0)`, fn: (a) => (a === 0 ? 1 : 0) },
  square: { js: (a) => `square(${a})`, fn: h.square },
  isnan: { js: (a) => `(${a} !== ${a} ? 1 : 0)`, fn: (a) => (a !== a ? 1 : 0) },
};

interface BinaryRow {
  readonly js: (l: string, r: string) => string;
  readonly fn: (l: number, r: number) => number;
  /** int32 arithmetic where it differs from float64's (a product wraps as int32 does). */
  readonly int32?: { readonly js: (l: string, r: string) => string; readonly fn: (l: number, r: number) => number };
}

const BINARY: { readonly [Op in BinaryOp]: BinaryRow } = {
  add: { js: (l, r) => `(${l} + ${r})`, fn: (l, r) => l + r },
  sub: { js: (l, r) => `(${l} - ${r})`, fn: (l, r) => l - r },
  mul: {
    js: (l, r) => `(${l} * ${r})`, fn: (l, r) => l * r,
    int32: { js: (l, r) => `Math.imul(${l}, ${r})`, fn: Math.imul },
  },
  div: { js: (l, r) => `(${l} / ${r})`, fn: (l, r) => l / r },
  pow: { js: (l, r) => `Math.pow(${l}, ${r})`, fn: Math.pow },
  max: { js: (l, r) => `Math.max(${l}, ${r})`, fn: Math.max },
  min: { js: (l, r) => `Math.min(${l}, ${r})`, fn: Math.min },
  mod: { js: (l, r) => `remainder(${l}, ${r})`, fn: h.remainder },
  floordiv: { js: (l, r) => `Math.floor(${l} / ${r})`, fn: (l, r) => Math.floor(l / r) },
  eq: { js: (l, r) => `(${l} === ${r} ? 1 : 0)`, fn: (l, r) => (l === r ? 1 : 0) },
  ne: { js: (l, r) => `(${l} !== ${r} ? 1 : 0)`, fn: (l, r) => (l !== r ? 1 : 0) },
  lt: { js: (l, r) => `(${l} < ${r} ? 1 : 0)`, fn: (l, r) => (l < r ? 1 : 0) },
  le: { js: (l, r) => `(${l} <= ${r} ? 1 : 0)`, fn: (l, r) => (l <= r ? 1 : 0) },
  gt: { js: (l, r) => `(${l} > ${r} ? 1 : 0)`, fn: (l, r) => (l > r ? 1 : 0) },
  ge: { js: (l, r) => `(${l} >= ${r} ? 1 : 0)`, fn: (l, r) => (l >= r ? 1 : 0) },
  and: { js: (l, r) => `((${l} !== 0 && ${r} !== 0) ? 1 : 0)`, fn: (l, r) => (l !== 0 && r !== 0 ? 1 : 0) },
  or: { js: (l, r) => `((${l} !== 0 || ${r} !== 0) ? 1 : 0)`, fn: (l, r) => (l !== 0 || r !== 0 ? 1 : 0) },
  xor: { js: (l, r) => `(((${l} !== 0) !== (${r} !== 0)) ? 1 : 0)`, fn: (l, r) => ((l !== 0) !== (r !== 0) ? 1 : 0) },
};

/** The row's arithmetic in the given compute type. */
export function binaryIn(op: BinaryOp, computeType: DType | undefined): Pick<BinaryRow, 'js' | 'fn'> {
  const row = BINARY[op];
  return computeType === 'int32' && row.int32 !== undefined ? row.int32 : row;
}

/** Conversion to each dtype's value set: truncation toward zero for int32, `!= 0` for bool. */
export const CAST: { readonly [To in DType]: UnaryRow } = {
  int32: { js: (a) => `(Math.trunc(${a}) | 0)`, fn: (a) => Math.trunc(a) | 0 },
  bool: { js: (a) => `(${a} !== 0 ? 1 : 0)`, fn: (a) => (a !== 0 ? 1 : 0) },
  float32: { js: (a) => `Math.fround(${a})`, fn: Math.fround },
  float16: { js: (a) => `f16round(${a})`, fn: h.f16round },
  float64: { js: (a) => a, fn: (a) => a },
};

/** 2^(j/64) for j in [0, 64): exp's table. */
const EXP_TABLE = Float64Array.from({ length: 64 }, (_, j) => Math.pow(2, j / 64));
/** 2^e for e in [-1022, 1023], at e + 1022. */
const EXP_SCALE = Float64Array.from({ length: 2046 }, (_, i) => Math.pow(2, i - 1022));
/**
 * ln 2 / 64 in two parts: EXP_LN2_HI keeps 33 significant bits, so k·EXP_LN2_HI is exact for the |k| < 2^17 used
 * here, and EXP_LN2_LO the rest, with ln 2 − Math.LN2 (2.3190468138462996·10⁻¹⁷) restored.
 */
const EXP_LN2_HI = Math.LN2 / 64 - ((Math.LN2 / 64) % 2 ** -39);
const EXP_LN2_LO = (Math.LN2 / 64 - EXP_LN2_HI) + 2.3190468138462996e-17 / 64;
/** 1.5·2^52: adding and subtracting it rounds a double of magnitude under 2^51 to an integer. */
const ROUNDER = 6755399441055744;

/**
 * e^x to 1 ulp of C's libm (as Math.exp, measured on 200,000 points of [-745, 700]), in about 40 % of Math.exp's
 * time, which V8 spends in a call out of the generated code: x = k·ln2/64 + r with |r| ≤ ln2/128, then
 * e^x = 2^(k/64) · e^r from a table of 2^(j/64), the power of two, and a degree-5 series of e^r − 1. Outside
 * (−708, 709), where the result overflows, is subnormal or is not a number, it is Math.exp's.
 */
function exp(x: number): number {
  if (!(x > -708 && x < 709)) return Math.exp(x);
  const kf = x * (64 / Math.LN2) + ROUNDER - ROUNDER;
  const k = kf | 0;
  const r = x - kf * EXP_LN2_HI - kf * EXP_LN2_LO;
  const q = r * (1 + r * (1 / 2 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120)))));
  const t = EXP_TABLE[k & 63]!;
  return (t + t * q) * EXP_SCALE[(k >> 6) + 1022]!;
}

/** erf(x) for |x| at or past this is ±1 in float64 (1 − erf(6) ≈ 2·10⁻¹⁷). */
const ERF_LAST = 6;
/** Centres of the series erf is summed from: the multiples of ERF_STEP in [0, ERF_LAST], so |h| ≤ ERF_STEP / 2. */
const ERF_STEP = 0.25;
/** Terms of each centre's series: 13 already reach 2 ulp at |h| ≤ 1/8; one more is margin (erf writes out 14). */
const ERF_TERMS = 14;

/**
 * The Taylor coefficients of erf(c + h) − erf(c) in h (of h¹, h², …), from erf′(x) = 2/√π·e^(−x²): with
 * e^(−(c+h)²) = Σ aₙhⁿ, the equation f′ = −2x·f gives a₀ = e^(−c²), a₁ = −2c·a₀ and (n+1)·aₙ₊₁ = −2c·aₙ − 2aₙ₋₁,
 * and the coefficient of hⁿ⁺¹ is 2/√π·aₙ/(n+1).
 */
function erfSeries(c: number, terms: number): Float64Array {
  const a = new Float64Array(terms);
  a[0] = Math.exp(-c * c);
  if (terms > 1) a[1] = -2 * c * a[0];
  for (let n = 1; n + 1 < terms; n++) a[n + 1] = (-2 * c * a[n]! - 2 * a[n - 1]!) / (n + 1);
  return a.map((an, n) => (2 / Math.sqrt(Math.PI)) * an / (n + 1));
}

/** Σ bₙ·hⁿ⁺¹ by Horner's rule, over `count` coefficients of `b` from `at`. */
function seriesAt(b: Float64Array, at: number, count: number, h: number): number {
  let s = 0;
  for (let n = at + count - 1; n >= at; n--) s = s * h + b[n]!;
  return s * h;
}

/**
 * Centre i's ERF_TERMS coefficients at ERF_COEFFS[i·ERF_TERMS …] (one flat array: the lookup is one index), and
 * erf at each centre, summed from erf(0) = 0 by the same series in steps of ERF_STEP / 2.
 */
const ERF_CENTRES = Math.round(ERF_LAST / ERF_STEP) + 1;
const ERF_COEFFS = new Float64Array(ERF_CENTRES * ERF_TERMS);
const ERF_AT = new Float64Array(ERF_CENTRES);
for (let i = 0, at = 0; i < ERF_CENTRES; i++) {
  const c = i * ERF_STEP;
  ERF_COEFFS.set(erfSeries(c, ERF_TERMS), i * ERF_TERMS);
  ERF_AT[i] = at;
  at += seriesAt(ERF_COEFFS, i * ERF_TERMS, ERF_TERMS, ERF_STEP / 2);
  at += seriesAt(erfSeries(c + ERF_STEP / 2, ERF_TERMS), 0, ERF_TERMS, ERF_STEP / 2);
}

/**
 * erf to about 2 ulp (4·10⁻¹⁶ relative against C's libm on 200,000 points of [0, 6.2]): the Taylor series about
 * the nearest centre, a few multiply-adds without a division, where a series about 0 needs dozens of terms by
 * |x| = 2 and loses digits to cancellation. erf(±0) is ±0, as in C.
 */
function erf(x: number): number {
  const ax = Math.abs(x);
  if (!(ax < ERF_LAST)) return ax === ax ? Math.sign(x) : x;
  // The nearest centre (ax ≥ 0, so adding a half and truncating rounds; Math.round costs several times more).
  const i = (ax * (1 / ERF_STEP) + 0.5) | 0;
  // seriesAt written out for ERF_TERMS = 14 (the same operations in the same order, so the same result): V8
  // does not unroll the loop, and its counter and bounds checks cost more than the multiply-adds.
  const h = ax - i * ERF_STEP;
  const b = ERF_COEFFS;
  const o = i * ERF_TERMS;
  let s = b[o + 13]!;
  s = s * h + b[o + 12]!; s = s * h + b[o + 11]!; s = s * h + b[o + 10]!; s = s * h + b[o + 9]!;
  s = s * h + b[o + 8]!; s = s * h + b[o + 7]!; s = s * h + b[o + 6]!; s = s * h + b[o + 5]!;
  s = s * h + b[o + 4]!; s = s * h + b[o + 3]!; s = s * h + b[o + 2]!; s = s * h + b[o + 1]!;
  s = s * h + b[o]!;
  const r = ERF_AT[i]! + s * h;
  return x > 0 ? r : x < 0 ? -r : x;
}
