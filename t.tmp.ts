import { WebGPUBackend } from './kernels/wgsl/index.js';
import type { GemmSpec } from './src/lower/spec.js';
const be = await WebGPUBackend.create();
const plain = (m: number, n: number, k: number): GemmSpec => ({
    kind: 'gemm', label: 'x', dtype: 'float32', batch: [], m, n, k,
    a: { offset: 0, batchStrides: [], rowStride: k, colStride: 1 },
    b: { offset: 0, batchStrides: [], rowStride: n, colStride: 1 },
    c: { offset: 0, batchStrides: [], rowStride: n, colStride: 1 } });
for (const [tiles, m, n, k] of [['small', 64, 64, 64], ['small', 64, 64, 64], ['large', 64, 64, 64], ['small', 65, 33, 67], ['small', 256, 256, 256]] as const) {
  be.tuning.gemmTiles = tiles;
  const s = plain(m, n, k);
  const a = be.allocate('float32', m * k), b = be.allocate('float32', k * n), c = be.allocate('float32', m * n);
  let t = performance.now();
  be.run(s, [a, b], c); await be.flush();
  console.log(tiles, m, n, k, be.kernelSource(s).name, (performance.now() - t).toFixed(0), 'ms');
}
be.destroy();
