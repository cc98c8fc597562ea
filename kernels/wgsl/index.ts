/** The WebGPU backend: device layer (backend.ts) and the two WGSL renderers (loop.ts, gemm.ts). */
export { WebGPUBackend } from './backend.js';
export type { GpuStorage } from './backend.js';
export type { GpuDType } from './dtypes.js';
export { renderLoop, loopVariant, DEFAULT_LOOP_TUNING } from './loop.js';
export { renderGemm, chooseGemmConfig } from './gemm.js';
