/** The WebGPU backend: device layer (backend.ts) and the two WGSL renderers (loop.ts, gemm.ts). */
export { WebGPUBackend } from './backend.js';
export type { GpuStorage, GpuTuning } from './backend.js';
export type { GpuDType, HostArray } from './dtypes.js';
export { renderLoop, loopVariant, loopKernelKey, DEFAULT_LOOP_TUNING } from './loop.js';
export type { LoopVariant, LoopTuning, RenderedKernel } from './loop.js';
export { renderGemm, chooseGemmConfig, gemmKernelKey } from './gemm.js';
export type { GemmConfig, GemmTileChoice } from './gemm.js';
