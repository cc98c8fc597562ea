/**
 * Element types, their storage arrays, and PyTorch's type promotion.
 */
import { Float16Array } from '@petamoriken/float16';
import type { DType } from '../lower/spec.js';
import { EinjitError, describeValue } from '../errors.js';

export type { DType };
const DTYPES: readonly DType[] = ['float32', 'float64', 'float16', 'int32', 'bool'];

export function isFloating(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64' || dtype === 'float16';
}

/** The dtype a typed array holds, for `fromArray` and `tensor(typedArray)`. */
export function dtypeOfArray(data: unknown): DType | undefined {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Uint8Array) return 'bool';
  if (data instanceof Float16Array) return 'float16';
  return undefined;
}

export function checkDType(dtype: unknown, op: string): DType {
  if (typeof dtype === 'string' && (DTYPES as readonly string[]).includes(dtype)) return dtype as DType;
  throw new EinjitError(`unknown dtype ${describeValue(dtype)}`, {
    op,
    hint: `use one of ${DTYPES.map((d) => `'${d}'`).join(', ')}${dtype === 'int64' ? "; einjit has no int64, use 'int32'" : ''}`,
  });
}

// PyTorch's promotion lattice for the dtypes einjit has: bool < int32 < float16 < float32 < float64, where a
// float operand always wins over an integral one and the wider float wins among floats.
const RANK: Record<DType, number> = { bool: 0, int32: 1, float16: 2, float32: 3, float64: 4 };

/** Result dtype of a binary op between two tensors (torch.result_type for tensors of the same category rank). */
export function promoteTypes(a: DType, b: DType): DType {
  return RANK[a] >= RANK[b] ? a : b;
}

const CATEGORY: Record<DType, number> = { bool: 0, int32: 1, float16: 2, float32: 2, float64: 2 };

/**
 * torch.result_type of two tensors: a zero-dim tensor decides the dtype only when its category (bool < integral <
 * floating) is higher than the dimensioned operand's, so `float32[3] * float64 0-d` stays float32.
 */
export function promoteOperands(a: DType, aZeroDim: boolean, b: DType, bZeroDim: boolean): DType {
  if (aZeroDim === bZeroDim) return promoteTypes(a, b);
  const [dim, zero] = aZeroDim ? [b, a] : [a, b];
  return CATEGORY[zero] > CATEGORY[dim] ? zero : dim;
}

/**
 * Result dtype of a binary op between a tensor and a JS number, as PyTorch treats a Python scalar: it never
 * widens a tensor of the same category, but a float scalar makes an integral tensor float32 (the default
 * float dtype) and any number makes a bool tensor numeric.
 */
export function promoteWithScalar(t: DType, value: number | boolean): DType {
  if (typeof value === 'boolean') return t;
  if (isFloating(t)) return t;
  if (!Number.isInteger(value)) return 'float32';
  return t === 'bool' ? 'int32' : t;
}

/** Which dtype arithmetic on `dtype` is carried out in: float16 computes in float32 as PyTorch's CPU does. */
export function computeTypeOf(dtype: DType): DType {
  return dtype === 'float16' ? 'float32' : dtype;
}
