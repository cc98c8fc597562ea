/**
 * The CPU backend: storage is a typed array (over a SharedArrayBuffer when einjit allocates it), loop specs
 * run as generated JavaScript, GEMM specs through the packed GEMM. Released blocks go to a bounded pool
 * (pool.ts) unless a caller may still hold their array.
 */
import { Float16Array } from '@petamoriken/float16';
import type { DType, KernelSpec } from '../../src/lower/spec.js';
import type { Backend, KernelTimes, Storage, StorageHooks, TypedArray } from '../../src/lower/backend.js';
import { EinjitError } from '../../src/errors.js';
import { loopKernelKind, loopSource, runLoop } from './loop.js';
import { gemmKernelName, gemmMinWork, gemmSource, runGemm, shutdownGemmPool } from './gemm.js';
import { codegenAllowed, wasmAllowed } from '../../src/platform/index.js';
import { giveArray, takeArray } from './pool.js';

export interface CpuStorage extends Storage {
  readonly device: 'cpu';
  /** The elements; replaced by an empty array when the storage is released, so the memory can go. */
  data: TypedArray;
  /**
   * Whether no array over this block has left the backend: true for blocks it allocated, false once `read` or
   * `readSync` hands the array out (the caller may keep it past the release) and for arrays `fromArray` shares.
   * Only such a block goes back to the pool at release; the rest go to the garbage collector as before.
   */
  owned: boolean;
}

// Live bytes: counted at allocation, uncounted at release or, for storages nobody released, when the garbage
// collector finalises them (release unregisters the storage, so it is never uncounted twice). Counting starts at
// the first liveBytes() call: registering every storage with a FinalizationRegistry cost about 5 µs per small op
// (the registration and the extra garbage-collector work), which a program that never asks should not pay.
// Storages made before that call are never counted, so the figure stays consistent.
let counting = false;
let live = 0;
const finalizer = new FinalizationRegistry<number>((bytes) => {
  live -= bytes;
});
let poison: number | null = null;

/**
 * Kernel times while `profile()` runs, by spec label: a CPU kernel runs to completion inside `run` (the GEMM's
 * helper threads included), so the wall-clock time around it is the kernel's.
 */
let timing: Map<string, { count: number; ms: number }> | null = null;

// What a released storage holds instead of its elements: one shared empty array per dtype, never written.
const EMPTY: Record<DType, TypedArray> = {
  float32: new Float32Array(0), float64: new Float64Array(0), int32: new Int32Array(0), bool: new Uint8Array(0),
  float16: new Float16Array(0),
};

/** The CPU backend; `hooks` are the runtime's (dispose scopes, disposal checks). */
export function createCpuBackend(hooks: StorageHooks): Backend {
  const data = (s: Storage, op: string): TypedArray => {
    hooks.checkUsable(s, op);
    return (s as CpuStorage).data;
  };
  // The array leaves the backend: its block may never be reused, whatever happens to the storage.
  const handOut = (s: Storage, op: string): TypedArray => {
    const array = data(s, op);
    (s as CpuStorage).owned = false;
    return array;
  };
  const adopt = (dtype: DType, array: TypedArray, owned: boolean): CpuStorage => {
    const storage: CpuStorage = { device: 'cpu', dtype, length: array.length, data: array, owned };
    if (counting) {
      live += array.byteLength;
      finalizer.register(storage, array.byteLength, storage);
    }
    hooks.allocated(storage);
    return storage;
  };
  return {
    device: 'cpu',
    allocate(dtype: DType, length: number): CpuStorage {
      const array = takeArray(dtype, length, false);
      if (poison !== null) array.fill(poison as never);
      return adopt(dtype, array, true);
    },
    allocateZeroed(dtype: DType, length: number): CpuStorage {
      // A fresh ArrayBuffer is zero-filled; a pooled block is zeroed by takeArray.
      return adopt(dtype, takeArray(dtype, length, true), true);
    },
    fromArray(dtype: DType, src: TypedArray, share: boolean): CpuStorage {
      if (share) return adopt(dtype, src, false);
      const copy = takeArray(dtype, src.length, false);
      (copy as { set(a: ArrayLike<number>): void }).set(src as ArrayLike<number>);
      return adopt(dtype, copy, true);
    },
    run(spec: KernelSpec, inputs: readonly Storage[], output: Storage): void {
      const ins = inputs.map((x) => data(x, spec.label));
      const out = data(output, spec.label);
      if (timing === null) {
        runKernel(spec, ins, out);
        return;
      }
      const t0 = performance.now();
      runKernel(spec, ins, out);
      const ms = performance.now() - t0;
      const entry = timing.get(spec.label);
      if (entry === undefined) timing.set(spec.label, { count: 1, ms });
      else {
        entry.count++;
        entry.ms += ms;
      }
    },
    async read(storage: Storage): Promise<TypedArray> {
      return handOut(storage, 'data');
    },
    readSync(storage: Storage, op: string): TypedArray {
      return handOut(storage, op);
    },
    release(storage: Storage): void {
      const s = storage as CpuStorage;
      if (finalizer.unregister(storage)) live -= s.data.byteLength;
      if (s.data.length === 0) return;
      if (s.owned) giveArray(s.data);
      s.owned = false;
      s.data = EMPTY[s.dtype];
    },
    liveBytes(): number {
      counting = true;
      return live;
    },
    setPoison(value: number | null): void {
      poison = value;
    },
    gemmMinWork,
    kernelName(spec: KernelSpec): string {
      if (spec.kind === 'gemm') return gemmKernelName(spec);
      const blocked = loopKernelKind(spec);
      return codegenAllowed() ? `generated JavaScript loop nest${blocked}` : `interpreted loop nest${blocked} (no generated code allowed here)`;
    },
    source(spec: KernelSpec): string {
      const source = spec.kind === 'loop' ? loopSource(spec) : gemmSource(spec);
      if (codegenAllowed() && wasmAllowed()) return source;
      // What runs instead where the page's policy refuses generated code (explain() and source() show it).
      return `// einjit runs this kernel without generated code: this page's Content-Security-Policy refuses ${codegenAllowed() ? "WebAssembly compilation ('wasm-unsafe-eval')" : "'unsafe-eval'"},\n` +
        `// so ${spec.kind === 'loop' ? 'the interpreter (kernels/cpu/interpret.ts) evaluates this loop nest with the same arithmetic' : 'the direct strided loop computes this product'}; the generated source would be:\n${source}`;
    },
    startTiming(): void {
      timing = new Map();
    },
    async stopTiming(): Promise<KernelTimes> {
      const kernels = [...(timing ?? [])].map(([name, t]) => ({ name, count: t.count, ms: t.ms }));
      timing = null;
      return { timed: true, kernels };
    },
    destroy(): void {
      // The worker pool starts again lazily on the next large GEMM.
      shutdownGemmPool();
    },
  };
}

function runKernel(spec: KernelSpec, ins: readonly TypedArray[], out: TypedArray): void {
  if (spec.kind === 'loop') {
    runLoop(spec, ins, out);
    return;
  }
  const [a, b, ...extra] = ins as (Float32Array | Float64Array)[];
  if (a === undefined || b === undefined) throw new EinjitError('a GEMM needs two operands', { op: spec.label });
  runGemm(spec, a, b, out as Float32Array | Float64Array, extra);
}
