/**
 * The WebGPU backend as the backend contract (src/lower/backend.ts) sees it: the device layer (backend.ts)
 * wrapped with storage conversion for bool and float16, and the release of GPU buffers when their tensors are
 * garbage-collected.
 */
import { Float16Array } from '@petamoriken/float16';
import { WebGPUBackend, type GpuStorage } from './backend.js';
import { gpuDType } from './dtypes.js';
import type { DType, KernelSpec } from '../../src/lower/spec.js';
import { allocateArray, type Backend, type Storage, type StorageHooks, type TypedArray } from '../../src/lower/backend.js';
import { EinjitError } from '../../src/errors.js';

interface WebGPUStorage extends Storage {
  readonly device: 'webgpu';
  readonly gpu: GpuStorage;
  /** The backend that made it: after shutdown() and a re-init, older storages belong to no live device. */
  readonly owner: Backend;
}

const devices = new WeakMap<Backend, WebGPUBackend>();

/**
 * The device layer under a backend made by createWebGPUBackend, for tools and tests that look below the contract
 * (Dawn's compiler messages for a module, the pipeline count).
 */
export function webgpuDeviceOf(backend: Backend): WebGPUBackend {
  const gpu = devices.get(backend);
  if (gpu === undefined) throw new EinjitError(`the '${backend.device}' backend is not a webgpu backend`);
  return gpu;
}

/** Starts the GPU; `hooks` are the runtime's (dispose scopes, disposal checks, deferred checks before reads). */
export async function createWebGPUBackend(hooks: StorageHooks): Promise<Backend> {
  const gpu = await WebGPUBackend.create();
  // Buffers are destroyed when the last tensor over them is collected (or by release()).
  const registry = new FinalizationRegistry<GpuStorage>((s) => gpu.release(s));
  const wrap = (s: GpuStorage, dtype: DType): WebGPUStorage => {
    const storage: WebGPUStorage = { device: 'webgpu', dtype, length: s.length, gpu: s, owner: backend };
    registry.register(storage, s, storage);
    hooks.allocated(storage);
    return storage;
  };
  // A storage a kernel or a read may use: not disposed, and made by this backend (not by one shut down since).
  const usable = (storage: Storage, op: string): GpuStorage => {
    hooks.checkUsable(storage, op);
    const s = storage as WebGPUStorage;
    if (s.owner !== backend) {
      throw new EinjitError('this tensor belongs to a webgpu device that was shut down', {
        op,
        hint: 'tensors do not outlive shutdown(): copy them to the cpu first (await t.to("cpu")), or recreate them on the new device',
      });
    }
    return s.gpu;
  };
  const backend: Backend = {
    device: 'webgpu',
    allocate(dtype: DType, length: number): Storage {
      return wrap(gpu.allocate(gpuDType(dtype, 'allocate'), length), dtype);
    },
    allocateZeroed(dtype: DType, length: number): Storage {
      return wrap(gpu.allocateZeroed(gpuDType(dtype, 'allocate'), length), dtype);
    },
    fromArray(dtype: DType, data: TypedArray): Storage {
      const d = gpuDType(dtype, 'upload');
      // einjit's CPU storage may be shared memory, and not every WebGPU takes a view of it for writeBuffer (Dawn's
      // Node binding does), so shared data is copied out first.
      const payload = d === 'float16' ? new Uint16Array((data as Float16Array).buffer, data.byteOffset, data.length).slice()
        : typeof SharedArrayBuffer !== 'undefined' && data.buffer instanceof SharedArrayBuffer ? (data as Float32Array).slice() : data;
      return wrap(gpu.upload(d, payload as Float32Array | Int32Array | Uint8Array | Uint16Array), dtype);
    },
    run(spec: KernelSpec, inputs: readonly Storage[], output: Storage): void {
      gpu.run(spec, inputs.map((s) => usable(s, spec.label)), usable(output, spec.label));
    },
    async read(storage: Storage): Promise<TypedArray> {
      const gs = usable(storage, 'data');
      // Checks of GPU-resident values queued since the last read (index ranges) fail before any value returns.
      await hooks.beforeRead('webgpu');
      const raw = await gpu.read(gs);
      const out = allocateArray(storage.dtype, storage.length);
      if (storage.dtype === 'float16') {
        new Uint16Array(out.buffer, out.byteOffset, out.length).set(raw as Uint16Array);
      } else {
        (out as { set(a: ArrayLike<number>): void }).set(raw as ArrayLike<number>);
      }
      return out;
    },
    readSync(_storage: Storage, op: string): TypedArray {
      throw new EinjitError(`${op}() reads synchronously, but this tensor lives on the webgpu device`, {
        op,
        hint: "bring it back first: 'const c = await t.to(\"cpu\")', or use 'await t.data()'",
      });
    },
    release(storage: Storage): void {
      const s = storage as WebGPUStorage;
      // A storage of a device shut down since went with that device.
      if (s.owner !== backend) return;
      registry.unregister(storage);
      gpu.release(s.gpu);
    },
    liveBytes(): number {
      return gpu.liveBytes();
    },
    setPoison(value: number | null): void {
      gpu.setPoison(value);
    },
    source(spec: KernelSpec): string {
      return gpu.kernelSource(spec).source;
    },
    kernelName(spec: KernelSpec): string {
      return `WGSL ${gpu.kernelName(spec)}`;
    },
    details() {
      return { adapter: gpu.adapterDetails, limits: gpu.limits, features: gpu.features };
    },
    startTiming(): void {
      gpu.startProfile();
    },
    stopTiming() {
      return gpu.stopProfile();
    },
    destroy(): void {
      gpu.destroy();
    },
  };
  devices.set(backend, gpu);
  return backend;
}
