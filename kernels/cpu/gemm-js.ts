/**
 * The scalar JavaScript side of the CPU GEMM: the generated register-blocked macro-kernel (the fallback when
 * WebAssembly SIMD is missing, and the reference the Wasm kernel is tested against) and the direct strided loop
 * that small products take instead of packing.
 */

import type { GemmSpec } from '../../src/lower/spec.js';

export type FloatArray = Float32Array | Float64Array;

export interface JsTile {
  readonly mr: number;
  readonly nr: number;
  readonly unroll: number;
}

/**
 * Source of `function macro(M, a, b, c, mp, np, kc, ldc, aps, bps, ldb, first)` over one typed array `M` holding the
 * packed panels and the C staging buffer (same layout as the Wasm kernel, in elements rather than bytes): for
 * each of `np` B panels and `mp` A panels, MR·NR accumulators live in locals through the K loop (unrolled by U,
 * `kc` a multiple of U), then the tile is written (`first`) or added into C staging at leading dimension `ldc`.
 * The sums run in float64 and round once on store, so float32 results are at least as accurate as float32
 * accumulation.
 */
export function jsMacroSource(tile: JsTile): string {
  const { mr, nr, unroll } = tile;
  const L: string[] = [];
  const accs: string[] = [];
  for (let r = 0; r < mr; r++) for (let s = 0; s < nr; s++) accs.push(`c${r}_${s}`);
  L.push('function macro(M, a, b, c, mp, np, kc, ldc, aps, bps, ldb, first) {');
  L.push('  for (let j = 0; j < np; j++) {');
  L.push(`    const bj = b + j * bps, cj = c + j * ${nr};`);
  L.push('    for (let i = 0; i < mp; i++) {');
  L.push(`      let ap = a + i * aps, bp = bj;`);
  L.push(`      let ${accs.map((x) => `${x} = 0`).join(', ')};`);
  L.push(`      for (let p = 0; p < kc; p += ${unroll}) {`);
  for (let u = 0; u < unroll; u++) {
    const as = Array.from({ length: mr }, (_, r) => `a${r} = M[ap + ${u * mr + r}]`);
    const bs = Array.from({ length: nr }, (_, s) => `b${s} = M[bp + ${s}]`);
    L.push(`        { const ${[...as, ...bs].join(', ')};`);
    for (let r = 0; r < mr; r++) {
      L.push(`          ${Array.from({ length: nr }, (_, s) => `c${r}_${s} += a${r} * b${s};`).join(' ')}`);
    }
    L.push(`          bp += ldb;`);
    L.push('        }');
  }
  L.push(`        ap += ${unroll * mr};`);
  L.push('      }');
  L.push(`      const ci = cj + i * ${mr} * ldc;`);
  L.push('      if (first) {');
  for (let r = 0; r < mr; r++) {
    L.push(`        ${Array.from({ length: nr }, (_, s) => `M[ci + ${r} * ldc + ${s}] = c${r}_${s};`).join(' ')}`);
  }
  L.push('      } else {');
  for (let r = 0; r < mr; r++) {
    L.push(`        ${Array.from({ length: nr }, (_, s) => `M[ci + ${r} * ldc + ${s}] += c${r}_${s};`).join(' ')}`);
  }
  L.push('      }');
  L.push('    }');
  L.push('  }');
  L.push('}');
  return L.join('\n');
}

/** Element offset of every batch point of an operand, in row-major order over `batch`. */
export function batchOffsets(batch: readonly number[], strides: readonly number[], offset: number): number[] {
  let out = [offset];
  for (let d = 0; d < batch.length; d++) {
    const size = batch[d] ?? 1;
    const stride = strides[d] ?? 0;
    const next: number[] = [];
    for (const o of out) for (let i = 0; i < size; i++) next.push(o + i * stride);
    out = next;
  }
  return out;
}

/** The direct loop for small products: one strided dot product per element of C, summed in float64. */
export function directGemm(spec: GemmSpec, a: FloatArray, b: FloatArray, c: FloatArray): void {
  const { m, n, k } = spec;
  const ao = batchOffsets(spec.batch, spec.a.batchStrides, spec.a.offset);
  const bo = batchOffsets(spec.batch, spec.b.batchStrides, spec.b.offset);
  const co = batchOffsets(spec.batch, spec.c.batchStrides, spec.c.offset);
  const ars = spec.a.rowStride, acs = spec.a.colStride;
  const brs = spec.b.rowStride, bcs = spec.b.colStride;
  const crs = spec.c.rowStride, ccs = spec.c.colStride;
  for (let t = 0; t < co.length; t++) {
    const a0 = ao[t] ?? 0, b0 = bo[t] ?? 0, c0 = co[t] ?? 0;
    for (let i = 0; i < m; i++) {
      const ai = a0 + i * ars, ci = c0 + i * crs;
      for (let j = 0; j < n; j++) {
        let s = 0;
        let ap = ai, bp = b0 + j * bcs;
        for (let p = 0; p < k; p++) {
          s += (a[ap] as number) * (b[bp] as number);
          ap += acs;
          bp += brs;
        }
        c[ci + j * ccs] = s;
      }
    }
  }
}
