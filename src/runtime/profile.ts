/**
 * `profile(fn)`: what running `fn` cost — kernel launches by kernel, bytes allocated, and GPU milliseconds per
 * kernel where the WebGPU device has `timestamp-query`. The same report serves eager code and (later) jitted code.
 */
import { EinjitError } from '../errors.js';
import type { DType } from './dtype.js';
import { peekBackend, type Backend, type Device } from './backend.js';
import type { WebGPUBackend } from '../../kernels/wgsl/index.js';

/** One kernel in a profile: how often it ran and, on a GPU with timestamps, for how long in all. */
export interface ProfiledKernel {
  /** The kernel's name: the WGSL kernel name on 'webgpu' (as in `kernelSource`), the spec's label on 'cpu'. */
  readonly name: string;
  readonly device: Device;
  readonly count: number;
  /** Total GPU milliseconds of its launches (webgpu with `timestamp-query` only). */
  readonly ms?: number;
}

export interface Profile<T> {
  /** What `fn` returned (awaited). */
  readonly result: T;
  /** Kernel launches on every device, in all. */
  readonly launches: number;
  /** Bytes of the storages created while `fn` ran (allocations, uploads), whether or not they were released. */
  readonly bytesAllocated: number;
  /** Whether `ms` was measured (a WebGPU device with `timestamp-query` ran kernels). */
  readonly timed: boolean;
  /** By launches, most first. */
  readonly kernels: readonly ProfiledKernel[];
}

const BYTES: Readonly<Record<DType, number>> = { float64: 8, float32: 4, int32: 4, float16: 2, bool: 1 };
let active = false;

/**
 * Runs `fn` (awaiting it) and reports its kernel launches, the bytes it allocated and, on a GPU with timestamps,
 * the time of each kernel. Counts the devices started before the call; profiles do not nest.
 *
 * @example
 * const x = randn([256, 256]);
 * const p = await profile(() => x.matmul(x).relu().sum().data());
 * console.log(p.launches, p.bytesAllocated, p.kernels.map((k) => `${k.name} x${k.count}`));
 */
export async function profile<T>(fn: () => T | Promise<T>): Promise<Profile<Awaited<T>>> {
  if (typeof fn !== 'function') throw new EinjitError(`profile expects a function, got ${fn === null ? 'null' : typeof fn}`, { op: 'profile' });
  if (active) throw new EinjitError('profile() is already running', { op: 'profile', hint: 'profiles do not nest: profile the outer function only' });
  active = true;
  const counts = new Map<string, { name: string; device: Device; count: number }>();
  let bytes = 0;
  const restores: (() => void)[] = [];
  const gpu = (peekBackend('webgpu') as (Backend & { gpu?: WebGPUBackend }) | undefined)?.gpu;
  try {
    for (const device of ['cpu', 'webgpu'] as const) {
      const backend = peekBackend(device);
      if (backend === undefined) continue;
      const { allocate, allocateZeroed, fromArray, run } = backend;
      // Interposed for the duration of fn and restored after: counting, then the backend's own method.
      backend.allocate = (dtype, length) => { bytes += BYTES[dtype] * length; return allocate.call(backend, dtype, length); };
      backend.allocateZeroed = (dtype, length) => { bytes += BYTES[dtype] * length; return allocateZeroed.call(backend, dtype, length); };
      backend.fromArray = (dtype, data, share) => { bytes += BYTES[dtype] * data.length; return fromArray.call(backend, dtype, data, share); };
      if (device === 'cpu') {
        backend.run = (spec, inputs, output) => {
          const key = spec.label;
          const k = counts.get(key) ?? { name: key, device, count: 0 };
          k.count++;
          counts.set(key, k);
          run.call(backend, spec, inputs, output);
        };
      }
      restores.push(() => Object.assign(backend, { allocate, allocateZeroed, fromArray, run }));
    }
    gpu?.startProfile();
    let result: Awaited<T>;
    try {
      result = await fn();
    } catch (e) {
      await gpu?.stopProfile().catch(() => undefined);
      throw e;
    } finally {
      for (const r of restores) r();
    }
    const kernels: ProfiledKernel[] = [...counts.values()];
    let timed = false;
    if (gpu !== undefined) {
      const g = await gpu.stopProfile();
      timed = g.timed && g.kernels.length > 0;
      for (const k of g.kernels) kernels.push({ ...k, device: 'webgpu' });
    }
    kernels.sort((a, b) => b.count - a.count);
    return { result, launches: kernels.reduce((s, k) => s + k.count, 0), bytesAllocated: bytes, timed, kernels };
  } finally {
    active = false;
  }
}
