/**
 * Adapts kernels/wgsl's WebGPUBackend to the runtime's Backend interface: storage conversion for bool and
 * float16, and the release of GPU buffers when their tensors are garbage-collected.
 */
import { Float16Array } from '@petamoriken/float16';
import { WebGPUBackend, type GpuStorage } from '../../kernels/wgsl/index.js';
import type { KernelSpec } from '../lower/spec.js';
import { EinjitError } from '../errors.js';
import { checkNotDisposed, runDeferredChecks, type Backend, type Storage } from './backend.js';
import { noteAllocation } from './scope.js';
import { allocateArray, type DType, type TypedArray } from './dtype.js';

interface WebGPUStorage extends Storage {
  readonly device: 'webgpu';
  readonly gpu: GpuStorage;
  /** The backend that made it: after shutdown() and a re-init, older storages belong to no live device. */
  readonly owner: Backend;
}

function gpuDType(dtype: DType, op: string): 'float32' | 'int32' | 'bool' | 'float16' {
  if (dtype === 'float64') {
    throw new EinjitError('float64 tensors cannot live on the webgpu device: WGSL has no 64-bit floats', {
      op,
      hint: "cast first: x.cast('float32'), or keep float64 work on the cpu",
    });
  }
  return dtype;
}

export async function createWebGPUBackend(): Promise<Backend> {
  const gpu = await WebGPUBackend.create();
  // Buffers are destroyed when the last tensor over them is collected (or by release()).
  const registry = new FinalizationRegistry<GpuStorage>((s) => gpu.release(s));
  const wrap = (s: GpuStorage, dtype: DType): WebGPUStorage => {
    const storage: WebGPUStorage = { device: 'webgpu', dtype, length: s.length, gpu: s, owner: backend };
    registry.register(storage, s, storage);
    noteAllocation(storage);
    return storage;
  };
  // A storage a kernel or a read may use: not disposed, and made by this backend (not by one shut down since).
  const usable = (storage: Storage, op: string): GpuStorage => {
    checkNotDisposed(storage, op);
    const s = storage as WebGPUStorage;
    if (s.owner !== backend) {
      throw new EinjitError('this tensor belongs to a webgpu device that was shut down', {
        op,
        hint: 'tensors do not outlive shutdown(): copy them to the cpu first (await t.to("cpu")), or recreate them on the new device',
      });
    }
    return s.gpu;
  };
  const backend: Backend & { gpu: WebGPUBackend } = {
    device: 'webgpu',
    gpu,
    allocate(dtype: DType, length: number): Storage {
      return wrap(gpu.allocate(gpuDType(dtype, 'allocate'), length), dtype);
    },
    allocateZeroed(dtype: DType, length: number): Storage {
      return wrap(gpu.allocateZeroed(gpuDType(dtype, 'allocate'), length), dtype);
    },
    fromArray(dtype: DType, data: TypedArray): Storage {
      const d = gpuDType(dtype, 'upload');
      // Dawn reads the bytes of an ordinary ArrayBuffer; einjit's CPU storage is shared memory, so copy out.
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
      await runDeferredChecks('webgpu');
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
    destroy(): void {
      gpu.destroy();
    },
  };
  return backend;
}
