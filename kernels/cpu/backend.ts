/**
 * The CPU backend: storage is a typed array (over a SharedArrayBuffer when einjit allocates it), loop specs
 * run as generated JavaScript, GEMM specs through the packed GEMM.
 */
import type { KernelSpec } from '../../src/lower/spec.js';
import type { Backend, Storage } from '../../src/runtime/backend.js';
import { allocateArray, type DType, type TypedArray } from '../../src/runtime/dtype.js';
import { EinjitError } from '../../src/errors.js';
import { renderLoop, runLoop } from './loop.js';
import { gemmSource, runGemm, shutdownGemmPool } from './gemm.js';

export interface CpuStorage extends Storage {
  readonly device: 'cpu';
  readonly data: TypedArray;
}

function data(s: Storage): TypedArray {
  return (s as CpuStorage).data;
}

export const cpuBackend: Backend = {
  device: 'cpu',
  allocate(dtype: DType, length: number): CpuStorage {
    return { device: 'cpu', dtype, length, data: allocateArray(dtype, length) };
  },
  fromArray(dtype: DType, src: TypedArray, share: boolean): CpuStorage {
    if (share) return { device: 'cpu', dtype, length: src.length, data: src };
    const copy = allocateArray(dtype, src.length);
    (copy as { set(a: ArrayLike<number>): void }).set(src as ArrayLike<number>);
    return { device: 'cpu', dtype, length: src.length, data: copy };
  },
  run(spec: KernelSpec, inputs: readonly Storage[], output: Storage): void {
    if (spec.kind === 'loop') {
      runLoop(spec, inputs.map(data), data(output));
      return;
    }
    const [a, b] = inputs;
    if (a === undefined || b === undefined) throw new EinjitError('a GEMM needs two operands', { op: spec.label });
    runGemm(spec, data(a) as Float32Array | Float64Array, data(b) as Float32Array | Float64Array,
      data(output) as Float32Array | Float64Array);
  },
  async read(storage: Storage): Promise<TypedArray> {
    return data(storage);
  },
  readSync(storage: Storage): TypedArray {
    return data(storage);
  },
  release(): void {
    // Garbage-collected.
  },
  source(spec: KernelSpec): string {
    return spec.kind === 'loop' ? renderLoop(spec) : gemmSource(spec);
  },
  destroy(): void {
    // The worker pool starts again lazily on the next large GEMM.
    shutdownGemmPool();
  },
};
