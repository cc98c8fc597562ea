/**
 * GemmSpecs are made here and nowhere else: matmul (ops.ts) and the contraction executor (contraction.ts) ask
 * `gemmDType` which dtype a product runs in, and `gemmSpec` for the spec they hand their backend.
 */
import type { GemmSpec, MatrixAccess } from '../lower/spec.js';
import type { DType } from './dtype.js';

/** The dtypes a GEMM kernel computes in. */
type GemmDType = GemmSpec['dtype'];

/**
 * The dtype a matrix product whose result is `result` runs its GEMM in, or null when it runs as a loop nest
 * instead. float32 and float64 run as themselves. float16 runs in float32 and is rounded to float16 once per
 * product, as PyTorch's CPU matmul/bmm (and so its einsum, a chain of bmm) accumulates half precision in float32:
 * a float16 accumulator would stop growing at 2048 when adding ones. Integers and bool have no GEMM.
 */
export function gemmDType(result: DType): GemmDType | null {
  if (result === 'float32' || result === 'float64') return result;
  return result === 'float16' ? 'float32' : null;
}

/** The extents of C[...batch, m, n] = Σ_k A[...batch, m, k] · B[...batch, k, n]. */
interface GemmShape {
  readonly batch: readonly number[];
  readonly m: number;
  readonly n: number;
  readonly k: number;
}

/** The GemmSpec of a product in `dtype` (what gemmDType chose), its operands read through the given accesses. */
export function gemmSpec(label: string, dtype: GemmDType, shape: GemmShape, a: MatrixAccess, b: MatrixAccess,
  c: MatrixAccess): GemmSpec {
  return { kind: 'gemm', label, dtype, batch: shape.batch, m: shape.m, n: shape.n, k: shape.k, a, b, c };
}
