/**
 * The routes a CPU GEMM can take, as the options that force each: the direct strided loop, the packed GEMM with
 * the JavaScript macro-kernel, and (where Wasm SIMD validates) with the WebAssembly one.
 */
import { gemmCapabilities, type GemmOptions } from '../../kernels/cpu/gemm.js';

export function cpuGemmRoutes(): { name: string; options: Partial<GemmOptions> }[] {
  return [
    { name: 'direct loop', options: { smallMacs: Number.MAX_SAFE_INTEGER } },
    { name: 'packed JS', options: { smallMacs: 0, path: 'js' } },
    ...(gemmCapabilities().wasmSimd ? [{ name: 'packed Wasm', options: { smallMacs: 0, path: 'wasm' as const } }] : []),
  ];
}
