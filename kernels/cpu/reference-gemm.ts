/**
 * A direct strided GEMM: the definition of GemmSpec, written as plainly as possible. Small products and tests
 * use it; the packed kernels are checked against it.
 */
import type { GemmSpec } from '../../src/lower/spec.js';

type FloatArray = Float32Array | Float64Array;

export function referenceGemm(spec: GemmSpec, a: FloatArray, b: FloatArray, c: FloatArray): void {
  const batchCount = spec.batch.reduce((x, y) => x * y, 1);
  const idx = new Array<number>(spec.batch.length).fill(0);
  for (let t = 0; t < batchCount; t++) {
    let ao = spec.a.offset, bo = spec.b.offset, co = spec.c.offset;
    for (let d = 0; d < idx.length; d++) {
      ao += idx[d]! * spec.a.batchStrides[d]!;
      bo += idx[d]! * spec.b.batchStrides[d]!;
      co += idx[d]! * spec.c.batchStrides[d]!;
    }
    for (let i = 0; i < spec.m; i++) {
      for (let j = 0; j < spec.n; j++) {
        let acc = 0;
        for (let p = 0; p < spec.k; p++) {
          acc += a[ao + i * spec.a.rowStride + p * spec.a.colStride]! * b[bo + p * spec.b.rowStride + j * spec.b.colStride]!;
        }
        c[co + i * spec.c.rowStride + j * spec.c.colStride] = acc;
      }
    }
    for (let d = idx.length - 1; d >= 0; d--) {
      if (++idx[d]! < spec.batch[d]!) break;
      idx[d] = 0;
    }
  }
}

export function referenceGemmSource(spec: GemmSpec): string {
  return `// einjit CPU kernel: ${spec.label}\n// direct strided GEMM (${spec.dtype}), batch ${JSON.stringify(spec.batch)}, m=${spec.m} n=${spec.n} k=${spec.k}\n` +
    referenceGemm.toString();
}
