/**
 * assertClose: the comparison property tests need, with tolerances chosen by dtype (PyTorch's
 * `torch.testing.assert_close` defaults) and a failure message that names the worst element.
 */
import { EinjitError } from '../errors.js';
import { Tensor } from '../runtime/tensor.js';
import type { DType } from '../runtime/dtype.js';
import { dense, type DenseArray } from './reference.js';

/** |actual − expected| ≤ atol + rtol·|expected|, elementwise. */
export interface Tolerance {
  readonly rtol: number;
  readonly atol: number;
}

/**
 * The default tolerances by dtype, PyTorch's for assert_close: float64 1e-7/1e-7, float32 1.3e-6/1e-5,
 * float16 1e-3/1e-5; integers and booleans compare exactly.
 */
export const DEFAULT_TOLERANCES: Readonly<Record<DType, Tolerance>> = Object.freeze({
  float64: Object.freeze({ rtol: 1e-7, atol: 1e-7 }),
  float32: Object.freeze({ rtol: 1.3e-6, atol: 1e-5 }),
  float16: Object.freeze({ rtol: 1e-3, atol: 1e-5 }),
  int32: Object.freeze({ rtol: 0, atol: 0 }),
  bool: Object.freeze({ rtol: 0, atol: 0 }),
});

/** The least precise of the dtypes first (its tolerance is the one a comparison can hold to). */
const PRECISION_ORDER: readonly DType[] = ['float16', 'float32', 'float64', 'int32', 'bool'];

/** The tolerance for comparing values of these dtypes: the loosest of theirs. */
export function toleranceFor(...dtypes: DType[]): Tolerance {
  const known = dtypes.filter((d) => d in DEFAULT_TOLERANCES);
  if (known.length === 0) return DEFAULT_TOLERANCES.float64;
  const loosest = PRECISION_ORDER.find((d) => known.includes(d))!;
  return DEFAULT_TOLERANCES[loosest];
}

export interface AssertCloseOptions {
  /** Relative tolerance; by default the dtype's (see DEFAULT_TOLERANCES). */
  readonly rtol?: number;
  /** Absolute tolerance; by default the dtype's. */
  readonly atol?: number;
  /** Whose tolerance applies when neither side is a tensor (default 'float64'). */
  readonly dtype?: DType;
  /** NaN equals NaN (default false: a NaN anywhere fails). */
  readonly equalNan?: boolean;
  /** Prefixed to the failure message. */
  readonly message?: string;
}

/** The error assertClose throws when values differ (a test failure, not a misuse of the API). */
export class AssertionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AssertionError';
  }
}

type Comparable = Tensor | DenseArray | ArrayLike<number> | number;

function read(x: Comparable, side: string): { shape: readonly number[] | null; data: ArrayLike<number>; dtype: DType | null } {
  if (typeof x === 'number') return { shape: [], data: [x], dtype: null };
  if (x instanceof Tensor) {
    const d = dense(x, 'assertClose');
    return { shape: d.shape, data: d.data, dtype: x.dtype };
  }
  if (x !== null && typeof x === 'object' && 'shape' in x && 'data' in x) return { shape: x.shape, data: x.data, dtype: null };
  if (x !== null && typeof x === 'object' && typeof (x as ArrayLike<number>).length === 'number') return { shape: null, data: x as ArrayLike<number>, dtype: null };
  throw new EinjitError(`the ${side} value must be a Tensor, { shape, data }, an array of numbers or a number`, {
    op: 'assertClose', hint: 'compare a tensor with the oracle\'s { shape, data } or with plain numbers',
  });
}

function indexOf(flat: number, shape: readonly number[] | null): string {
  if (shape === null || shape.length === 0) return `[${flat}]`;
  const idx: number[] = [];
  let r = flat;
  for (let d = shape.length - 1; d >= 0; d--) {
    idx.unshift(r % shape[d]!);
    r = Math.floor(r / shape[d]!);
  }
  return `[${idx.join(', ')}]`;
}

/**
 * Throws an AssertionError unless `actual` and `expected` have the same shape and every element satisfies
 * |actual − expected| ≤ atol + rtol·|expected|. Tolerances default to the loosest dtype among the tensors given
 * (a float32 result against a float64 oracle is held to float32's). Tensors must be on the CPU.
 *
 * @example
 * assertClose(einsum('ij,jk->ik', a, b), referenceEinsum('ij,jk->ik', [a, b]));
 */
export function assertClose(actual: Comparable, expected: Comparable, options: AssertCloseOptions = {}): void {
  const a = read(actual, 'actual');
  const e = read(expected, 'expected');
  const dtypes = [a.dtype, e.dtype].filter((d): d is DType => d !== null);
  const tol = dtypes.length > 0 ? toleranceFor(...dtypes) : DEFAULT_TOLERANCES[options.dtype ?? 'float64'];
  const rtol = options.rtol ?? tol.rtol;
  const atol = options.atol ?? tol.atol;
  const equalNan = options.equalNan ?? false;
  const prefix = options.message !== undefined ? `${options.message}: ` : '';
  if (a.shape !== null && e.shape !== null) {
    if (a.shape.length !== e.shape.length || a.shape.some((n, i) => n !== e.shape![i])) {
      throw new AssertionError(`${prefix}shapes differ: actual [${a.shape.join(', ')}], expected [${e.shape.join(', ')}]`);
    }
  }
  if (a.data.length !== e.data.length) {
    throw new AssertionError(`${prefix}sizes differ: actual ${a.data.length} elements, expected ${e.data.length}`);
  }
  let mismatched = 0;
  let worst = -1;
  let worstExcess = -Infinity;
  let maxAbs = 0;
  let maxRel = 0;
  for (let i = 0; i < a.data.length; i++) {
    const x = Number(a.data[i]);
    const y = Number(e.data[i]);
    let ok: boolean;
    let excess: number;
    if (Number.isNaN(x) || Number.isNaN(y)) {
      ok = equalNan && Number.isNaN(x) && Number.isNaN(y);
      excess = ok ? -Infinity : Infinity;
    } else if (x === y) {
      ok = true; // also equal infinities
      excess = -Infinity;
    } else {
      const diff = Math.abs(x - y);
      excess = diff - (atol + rtol * Math.abs(y));
      ok = excess <= 0;
      maxAbs = Math.max(maxAbs, diff);
      if (y !== 0) maxRel = Math.max(maxRel, diff / Math.abs(y));
      else if (diff > 0) maxRel = Infinity;
    }
    if (!ok) {
      mismatched++;
      if (excess > worstExcess || worst < 0) {
        worst = i;
        worstExcess = excess;
      }
    }
  }
  if (mismatched > 0) {
    const shape = a.shape ?? e.shape;
    const n = a.data.length;
    throw new AssertionError(
      `${prefix}values are not close: ${mismatched} of ${n} elements (${((100 * mismatched) / n).toFixed(1)}%) differ ` +
      `by more than atol ${atol} + rtol ${rtol}·|expected|\n` +
      `  worst at ${indexOf(worst, shape)}: actual ${Number(a.data[worst])}, expected ${Number(e.data[worst])}\n` +
      `  greatest absolute difference ${maxAbs}, greatest relative difference ${maxRel}`,
    );
  }
}
