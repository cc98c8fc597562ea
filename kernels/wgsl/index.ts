/** The WebGPU backend: device layer (backend.ts) and the kernel variants of the two spec kinds (loop.ts, gemm.ts; kernel.ts is their common shape). */
export { WebGPUBackend } from './backend.js';
export type { GpuStorage } from './backend.js';
export type { GpuDType } from './dtypes.js';
export { loopKernel, loopVariant, DEFAULT_LOOP_TUNING } from './loop.js';
export { gemmKernel, chooseGemmConfig } from './gemm.js';
