/**
 * A small reference interpreter of kernel specs for the WGSL tests: float64 math, each expression node rounded
 * to the compute dtype's value set (float32 → fround, int32 → wrapped or saturated integers, bool → 0/1,
 * float16 → nearest half), stores rounded to the output dtype. It follows the semantics kernels/wgsl documents.
 */

import type { DType, Expr, GemmSpec, LoopSpec } from '../../src/lower/spec.js';

export function roundHalf(x: number): number {
  if (!Number.isFinite(x)) return x;
  const a = Math.abs(x);
  if (a >= 65520) return Math.sign(x) * Infinity;
  const e = a < 2 ** -14 ? -24 : Math.floor(Math.log2(a)) - 10;
  const q = 2 ** e;
  return Math.sign(x) * roundHalfEven(a / q) * q;
}

export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** float → int32 as WGSL converts: truncation, saturating, NaN → 0. */
export function toInt32Sat(x: number): number {
  if (Number.isNaN(x)) return 0;
  return Math.max(-2147483648, Math.min(2147483647, Math.trunc(x)));
}

export function roundTo(dtype: DType, x: number): number {
  switch (dtype) {
    case 'float32': return Math.fround(x);
    case 'float64': return x;
    case 'float16': return roundHalf(x);
    case 'int32': return toInt32Sat(x);
    case 'bool': return x !== 0 ? 1 : 0;
  }
}

/** erf to ~1e-12 for |x| ≤ 3 (Taylor series), 1.5e-7 beyond (Abramowitz–Stegun 7.1.26, where erf ≈ ±1). */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const z = Math.abs(x);
  if (z <= 3) {
    let term = x;
    let sum = x;
    for (let n = 1; n < 200; n++) {
      term *= (-x * x) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  const t = 1 / (1 + 0.3275911 * z);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-z * z);
  return Math.sign(x) * y;
}

const isInt = (t: DType): boolean => t === 'int32' || t === 'bool';

/** Evaluates `e` at one point; `inputs[i]` is input i's value there (already a number of its dtype). */
export function evalExpr(e: Expr, computeType: DType, inputs: readonly number[], seen?: { nonFinite: boolean }): number {
  const intMode = isInt(computeType);
  const round = (x: number): number => {
    if (computeType === 'bool') return x !== 0 ? 1 : 0;
    if (computeType === 'int32') return x | 0;
    return roundTo(computeType, x);
  };
  const fromFloat = (x: number): number => (intMode ? round(toInt32Sat(x)) : roundTo(computeType, x));
  const b = (c: boolean): number => (c ? 1 : 0);
  const visit = (n: Expr): number => checked(n);
  const visitNode = (n: Expr): number => {
    switch (n.kind) {
      case 'input': {
        const v = inputs[n.index]!;
        if (computeType === 'bool') return b(v !== 0);
        return intMode ? toInt32Sat(v) : roundTo(computeType === 'float16' ? 'float32' : computeType, v);
      }
      case 'const': return intMode ? (computeType === 'bool' ? b(n.value !== 0) : toInt32Sat(n.value)) : roundTo(computeType, n.value);
      case 'unary': {
        const x = visit(n.arg);
        switch (n.op) {
          case 'not': return b(x === 0);
          case 'isnan': return b(Number.isNaN(x));
          case 'neg': return round(-x);
          case 'abs': return round(Math.abs(x));
          case 'relu': return intMode ? Math.max(x, 0) : x < 0 ? 0 : x;
          case 'sign': return Math.sign(x);
          case 'square': return intMode ? round(Math.imul(x, x)) : round(x * x);
          case 'floor': return Math.floor(x);
          case 'ceil': return Math.ceil(x);
          case 'round': return roundHalfEven(x);
          case 'exp': return fromFloat(Math.exp(x));
          case 'log': return fromFloat(Math.log(x));
          case 'sqrt': return fromFloat(Math.sqrt(x));
          case 'rsqrt': return fromFloat(1 / Math.sqrt(x));
          case 'sigmoid': return fromFloat(1 / (1 + Math.exp(-x)));
          case 'tanh': return fromFloat(Math.tanh(x));
          case 'gelu': return fromFloat(0.5 * x * (1 + erf(x / Math.SQRT2)));
          case 'erf': return fromFloat(erf(x));
          case 'sin': return fromFloat(Math.sin(x));
          case 'cos': return fromFloat(Math.cos(x));
          case 'reciprocal': return fromFloat(1 / x);
        }
        break;
      }
      case 'binary': {
        const x = visit(n.lhs);
        const y = visit(n.rhs);
        switch (n.op) {
          case 'add': return round(x + y);
          case 'sub': return round(x - y);
          case 'mul': return intMode ? round(Math.imul(x, y)) : round(x * y);
          case 'div': return intMode ? (y === 0 ? x : round(Math.trunc(x / y))) : round(x / y);
          case 'pow': return fromFloat(pow(x, y));
          case 'max': return Number.isNaN(x) || Number.isNaN(y) ? NaN : Math.max(x, y);
          case 'min': return Number.isNaN(x) || Number.isNaN(y) ? NaN : Math.min(x, y);
          case 'mod': {
            if (intMode && y === 0) return 0;
            const r = x % y;
            return round(r !== 0 && r < 0 !== y < 0 ? r + y : r);
          }
          case 'floordiv':
            if (intMode && y === 0) return 0;
            return intMode ? round(Math.floor(x / y)) : round(Math.floor(x / y));
          case 'eq': return b(x === y);
          case 'ne': return b(x !== y);
          case 'lt': return b(x < y);
          case 'le': return b(x <= y);
          case 'gt': return b(x > y);
          case 'ge': return b(x >= y);
          case 'and': return b(x !== 0 && y !== 0);
          case 'or': return b(x !== 0 || y !== 0);
          case 'xor': return b((x !== 0) !== (y !== 0));
        }
        break;
      }
      case 'select': {
        const c = visit(n.cond);
        const t = visit(n.then);
        const f = visit(n.otherwise);
        return c !== 0 ? t : f;
      }
      case 'cast': {
        const x = visit(n.arg);
        switch (n.to) {
          case 'bool': return b(x !== 0);
          case 'int32': return intMode ? x : toInt32Sat(x);
          case 'float16': return intMode ? toInt32Sat(roundHalf(x)) : roundHalf(x);
          default: return x;
        }
      }
    }
    throw new Error('unreachable');
  };
  const checked = (n: Expr): number => {
    const v = visitNode(n);
    if (seen !== undefined && !Number.isFinite(v)) seen.nonFinite = true;
    return v;
  };
  return checked(e);
}

function pow(a: number, b: number): number {
  if (b === 0) return 1;
  const r = Math.abs(a) ** b;
  if (a >= 0 || Number.isNaN(a)) return r;
  if (b !== Math.floor(b)) return NaN;
  return Math.abs(b % 2) === 1 ? -r : r;
}

export interface ReferenceResult {
  /** The whole output buffer after the kernel: `before` with the written elements replaced. */
  readonly out: number[];
  /**
   * Written elements whose computation met an infinity or NaN along the way. WGSL lets implementations assume
   * neither occurs in arithmetic (0 · ∞ may fold to 0), so only their being written is checked.
   */
  readonly nonFinite: Set<number>;
  /** For each written element, Σ|value| over the points folded into it (a scale for tolerances). */
  readonly scale: Map<number, number>;
  readonly written: Set<number>;
}

/** Runs a LoopSpec over plain number arrays (one per input, values of its dtype). */
export function referenceLoop(spec: LoopSpec, inputs: readonly (readonly number[])[], before: readonly number[]): ReferenceResult {
  const out = [...before];
  const scale = new Map<number, number>();
  const written = new Set<number>();
  const nonFinite = new Set<number>();
  const P = spec.parallel;
  const rank = spec.sizes.length;
  const outSizes = spec.sizes.slice(0, P);
  const redSizes = spec.sizes.slice(P);
  const intMode = isInt(spec.computeType);
  const point = new Array<number>(rank).fill(0);
  const seen = { nonFinite: false };
  const valueAt = (): number =>
    evalExpr(spec.expr, spec.computeType, spec.inputs.map((a, i) => {
      let at = a.offset;
      for (let d = 0; d < rank; d++) at += point[d]! * a.strides[d]!;
      return inputs[i]![at]!;
    }), seen);
  forEach(outSizes, (pc) => {
    pc.forEach((v, d) => { point[d] = v; });
    let at = spec.output.offset;
    pc.forEach((v, d) => { at += v * spec.output.strides[d]!; });
    let result: number;
    let absSum = 0;
    seen.nonFinite = false;
    if (P === rank) {
      result = valueAt();
      absSum = Math.abs(result);
    } else {
      const op = spec.reduceOp!;
      let acc = op === 'sum' || op === 'any' ? 0 : op === 'prod' || op === 'all' ? 1 : op === 'max' ? -Infinity : Infinity;
      let best = op === 'argmax' ? -Infinity : Infinity;
      let bestIndex = -1;
      let r = 0;
      forEach(redSizes, (rc) => {
        rc.forEach((v, j) => { point[P + j] = v; });
        const v = valueAt();
        absSum += Math.abs(v);
        switch (op) {
          case 'sum': acc = intMode ? (spec.computeType === 'bool' ? (acc + v !== 0 ? 1 : 0) : (acc + v) | 0) : Math.fround(acc + v); break;
          case 'prod': acc = intMode ? (spec.computeType === 'bool' ? (acc * v !== 0 ? 1 : 0) : Math.imul(acc, v)) : Math.fround(acc * v); break;
          case 'max': acc = Number.isNaN(acc) || Number.isNaN(v) ? NaN : Math.max(acc, v); break;
          case 'min': acc = Number.isNaN(acc) || Number.isNaN(v) ? NaN : Math.min(acc, v); break;
          case 'any': acc = acc !== 0 || v !== 0 ? 1 : 0; break;
          case 'all': acc = acc !== 0 && v !== 0 ? 1 : 0; break;
          case 'argmax':
          case 'argmin': {
            const vn = Number.isNaN(v);
            const bn = Number.isNaN(best);
            const wins = bestIndex < 0 || (vn && !bn) || (!bn && (op === 'argmax' ? v > best : v < best));
            if (wins) { best = v; bestIndex = r; }
            break;
          }
        }
        r++;
      });
      result = op === 'argmax' || op === 'argmin' ? bestIndex : acc;
    }
    out[at] = roundTo(spec.output.dtype, result);
    scale.set(at, absSum);
    written.add(at);
    if (seen.nonFinite) nonFinite.add(at);
  });
  return { out, scale, written, nonFinite };
}

/** C = A·B in float64 over strided storage; returns the whole C buffer. */
export function referenceGemm(spec: GemmSpec, a: Float32Array, b: Float32Array, before: readonly number[]): ReferenceResult {
  const out = [...before];
  const scale = new Map<number, number>();
  const written = new Set<number>();
  forEach(spec.batch, (bc) => {
    const off = (x: GemmSpec['a']): number => bc.reduce((s, v, d) => s + v * x.batchStrides[d]!, x.offset);
    const ao = off(spec.a);
    const bo = off(spec.b);
    const co = off(spec.c);
    for (let i = 0; i < spec.m; i++) {
      for (let j = 0; j < spec.n; j++) {
        let s = 0;
        let abs = 0;
        for (let k = 0; k < spec.k; k++) {
          const p = a[ao + i * spec.a.rowStride + k * spec.a.colStride]! * b[bo + k * spec.b.rowStride + j * spec.b.colStride]!;
          s += p;
          abs += Math.abs(p);
        }
        const at = co + i * spec.c.rowStride + j * spec.c.colStride;
        out[at] = s;
        scale.set(at, abs);
        written.add(at);
      }
    }
  });
  return { out, scale, written, nonFinite: new Set() };
}

/** Calls `fn` for every point of a row-major iteration space (once for a 0-d space, never for an empty one). */
export function forEach(sizes: readonly number[], fn: (point: number[]) => void): void {
  if (sizes.some((s) => s === 0)) return;
  const p = new Array<number>(sizes.length).fill(0);
  for (;;) {
    fn(p);
    let d = sizes.length - 1;
    while (d >= 0) {
      p[d]!++;
      if (p[d]! < sizes[d]!) break;
      p[d] = 0;
      d--;
    }
    if (d < 0) return;
  }
}
