/**
 * The backend contract: what a backend is, what it is given, and the storage arrays both backends share.
 *
 * A backend owns storage on one device and runs the kernel specs of spec.ts over it; the runtime never touches
 * elements. Each backend lives in its own folder under kernels/ and implements `Backend` there; the runtime
 * hands it `StorageHooks` (dispose scopes, disposal checks, deferred checks) when the composition root
 * (src/backends.ts) creates it, so no backend imports the runtime.
 */
import { Float16Array } from '@petamoriken/float16';
import type { DType, KernelSpec } from './spec.js';
import { EinjitError } from '../errors.js';

/**
 * The device names, one key per backend, for the type checker. A new backend adds its own from its folder with
 * a module augmentation, so nothing outside the folder changes for it:
 *
 * ```ts fragment
 * declare module '../../src/lower/backend.js' {
 *   interface DeviceNames { wasm64: true }
 * }
 * ```
 *
 * At run time the names are those registered (src/runtime/backend.ts `deviceNames()`).
 */
export interface DeviceNames {
  cpu: true;
  webgpu: true;
}

export type Device = keyof DeviceNames & string;

/** A block of elements owned by a backend. Tensors are views (shape, strides, offset) over one storage. */
export interface Storage {
  readonly device: Device;
  readonly dtype: DType;
  /** Elements. */
  readonly length: number;
}

/** What the runtime asks of a backend's storages; given to a backend when it is created. */
export interface StorageHooks {
  /** Called with every storage the backend makes (dispose scopes collect them). */
  allocated(storage: Storage): void;
  /** Throws the EinjitError for a storage that was disposed; called before a storage is touched. */
  checkUsable(storage: Storage, op: string): void;
  /** Runs before a read returns values: checks of device-resident values queued since the last read. */
  beforeRead(device: Device): Promise<void>;
}

/** The adapter as WebGPU describes it, and whether it is a software rasterizer (lavapipe, SwiftShader, WARP). */
export interface AdapterDescription {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
  readonly software: boolean;
}

/** The adapter limits the device was created with (all of them requested, not the WebGPU defaults). */
export interface GpuLimits {
  readonly maxStorageBufferBindingSize: number;
  readonly maxBufferSize: number;
  readonly maxComputeWorkgroupStorageSize: number;
  readonly maxComputeInvocationsPerWorkgroup: number;
  readonly maxStorageBuffersPerShaderStage: number;
  readonly maxComputeWorkgroupsPerDimension: number;
}

/** What `deviceInfo` shows beyond availability, for backends that have more to say. */
export interface BackendDetails {
  readonly adapter?: AdapterDescription;
  /** The device limits in force. */
  readonly limits?: GpuLimits;
  /** Optional features enabled ('shader-f16', 'subgroups', 'timestamp-query'). */
  readonly features?: readonly string[];
}

/** Kernel times a backend measured itself (GPU timestamps), for `profile()`. */
export interface KernelTimes {
  /** Whether times were measured (a device with timestamps). */
  readonly timed: boolean;
  readonly kernels: readonly { readonly name: string; readonly count: number; readonly ms?: number }[];
}

/**
 * Storage contract: `allocate` returns storage whose contents are unspecified (the GPU reuses released buffers
 * as they are), for outputs a kernel writes in full; `allocateZeroed` returns storage whose every element is 0
 * (false for bool), for outputs written only in part or accumulated into (zeros, pads, scatter-style
 * gradients). A caller that reads an element it did not write must use `allocateZeroed`.
 */
export interface Backend {
  readonly device: Device;
  /** Storage with unspecified contents: every element must be written before it is read. */
  allocate(dtype: DType, length: number): Storage;
  /** Storage whose every element is 0. */
  allocateZeroed(dtype: DType, length: number): Storage;
  /** Storage holding a copy of `data` (or, when `share` is true and the backend can, `data` itself). */
  fromArray(dtype: DType, data: TypedArray, share: boolean): Storage;
  /** Enqueues one kernel; on the CPU it runs at once. */
  run(spec: KernelSpec, inputs: readonly Storage[], output: Storage): void;
  /** The storage's elements (a copy on the GPU; the live array on the CPU). */
  read(storage: Storage): Promise<TypedArray>;
  /** Synchronous access, where the device allows it; otherwise throws EinjitError. */
  readSync(storage: Storage, op: string): TypedArray;
  /** Frees the storage now (a GPU buffer goes back to the pool); the storage must not be used again. */
  release(storage: Storage): void;
  /**
   * Bytes held by storages that are neither released nor garbage-collected. The CPU counts only storages made
   * after the first call (counting every storage costs small ops several µs), so call it once before measuring.
   */
  liveBytes(): number;
  /**
   * Test hook: fill every storage `allocate` returns with `value` (NaN, 7, ...) so a caller that relies on
   * zeros from `allocate` reads poison; null turns it off. `allocateZeroed` is unaffected.
   */
  setPoison?(value: number | null): void;
  /** The generated source (JS or WGSL) of the kernel that would run this spec. */
  source(spec: KernelSpec): string;
  /**
   * One line naming the kernel that would run this spec (which GEMM micro-kernel, which WGSL entry point), as
   * `explain()` prints it beside the step.
   */
  kernelName(spec: KernelSpec): string;
  /**
   * The fewest multiply-adds an einsum step with a contracted axis needs to become a GEMM spec rather than one
   * loop nest (undefined: the contraction's default, 2,048). A backend forcing its GEMM kernel for a test run
   * lowers it so small shapes reach that kernel.
   */
  gemmMinWork?(): number | undefined;
  /** Adapter, limits and features, for `deviceInfo`. */
  details?(): BackendDetails;
  /** Starts timing kernels on the device (`profile()`); `stopTiming` returns what was measured. */
  startTiming?(): void;
  stopTiming?(): Promise<KernelTimes>;
  /** Releases the device (GPU) or worker threads (CPU) so the process can exit; the backend is unusable after. */
  destroy?(): void;
}

// -------------------------------------------------------------------------------------------------------------
// Storage arrays: how elements of each dtype are held in memory on the host.

/** The flat array a CPU tensor of each dtype lives in. float16 is stored as IEEE binary16 bits. */
export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array | Float16Array;

export function bytesPerElement(dtype: DType): number {
  switch (dtype) {
    case 'float64': return 8;
    case 'float32': case 'int32': return 4;
    case 'float16': return 2;
    case 'bool': return 1;
  }
}

/**
 * Allocates zeroed storage for `length` elements, in a plain ArrayBuffer. Not a SharedArrayBuffer: the GEMM's
 * worker pool copies operands into its own shared WebAssembly memory, so tensors never need to be shared, and a
 * fresh SharedArrayBuffer is fresh pages from the OS, each faulting on first touch (measured: 85-130 ms to allocate
 * and fill 25.7 MB, against 3.5 ms for an ArrayBuffer the allocator recycles).
 */
export function allocateArray(dtype: DType, length: number): TypedArray {
  let buffer: ArrayBufferLike;
  try {
    const bytes = length * bytesPerElement(dtype);
    buffer = new ArrayBuffer(bytes);
  } catch (e) {
    throw new EinjitError(`cannot allocate ${length} ${dtype} elements (${length * bytesPerElement(dtype)} bytes): ${e instanceof Error ? e.message : String(e)}`, {
      op: 'allocate',
      hint: 'the tensor is too large for memory; use a smaller shape',
    });
  }
  return arrayOver(dtype, buffer, 0, length);
}

function arrayOver(dtype: DType, buffer: ArrayBufferLike, byteOffset: number, length: number): TypedArray {
  switch (dtype) {
    case 'float32': return new Float32Array(buffer, byteOffset, length);
    case 'float64': return new Float64Array(buffer, byteOffset, length);
    case 'int32': return new Int32Array(buffer, byteOffset, length);
    case 'bool': return new Uint8Array(buffer, byteOffset, length);
    case 'float16': return new Float16Array(buffer, byteOffset, length);
  }
}
