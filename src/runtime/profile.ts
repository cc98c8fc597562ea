/**
 * `profile(fn)`: what running `fn` cost — kernel launches by kernel, bytes allocated, and milliseconds per
 * kernel: wall-clock time around each launch on the CPU (its kernels run to completion inside the launch), GPU
 * time where the WebGPU device has `timestamp-query`. The same report serves eager code and (later) jitted code.
 */
import { EinjitError } from '../errors.js';
import { deviceNames, peekBackend, withBackends, type Device } from './backend.js';
import { RecordingBackend } from './recording.js';

/** One kernel in a profile: how often it ran and, where the device is timed, for how long in all. */
export interface ProfiledKernel {
  /** The kernel's name: the WGSL kernel name on 'webgpu' (as in `kernelSource`), the spec's label on 'cpu'. */
  readonly name: string;
  readonly device: Device;
  readonly count: number;
  /** Total milliseconds of its launches: on 'cpu' always, on 'webgpu' with `timestamp-query` only. */
  readonly ms?: number;
}

export interface Profile<T> {
  /** What `fn` returned (awaited). */
  readonly result: T;
  /** Kernel launches on every device, in all. */
  readonly launches: number;
  /** Bytes of the storages created while `fn` ran (allocations, uploads), whether or not they were released. */
  readonly bytesAllocated: number;
  /** Whether `ms` was measured (a kernel ran on the CPU, or on a WebGPU device with `timestamp-query`). */
  readonly timed: boolean;
  /** By launches, most first. */
  readonly kernels: readonly ProfiledKernel[];
}

let active = false;

/**
 * Runs `fn` (awaiting it) and reports its kernel launches, the bytes it allocated and the time of each kernel
 * (on a GPU only with timestamps). Counts the devices started before the call; profiles do not nest.
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
  try {
    // Every started device runs through a forwarding recorder while fn runs: its launches (counted here for
    // devices that do not time themselves) and the bytes it allocates.
    const recorders = deviceNames().flatMap((device) => {
      const target = peekBackend(device);
      return target === undefined ? [] : [{ device, target, recorder: new RecordingBackend(target, true) }];
    });
    const timers = recorders.filter((r) => r.target.startTiming !== undefined);
    for (const { target } of timers) target.startTiming!();
    let result: Awaited<T>;
    try {
      result = await withBackends(recorders.map((r) => r.recorder), async () => await fn());
    } catch (e) {
      for (const { target } of timers) await target.stopTiming!().catch(() => undefined);
      throw e;
    }
    const kernels: ProfiledKernel[] = [];
    let timed = false;
    for (const { device, target, recorder } of recorders) {
      if (target.stopTiming !== undefined) {
        const t = await target.stopTiming();
        timed ||= t.timed && t.kernels.length > 0;
        for (const k of t.kernels) kernels.push({ ...k, device });
        continue;
      }
      const counts = new Map<string, number>();
      for (const spec of recorder.specs) counts.set(spec.label, (counts.get(spec.label) ?? 0) + 1);
      for (const [name, count] of counts) kernels.push({ name, device, count });
    }
    const bytes = recorders.reduce((sum, r) => sum + r.recorder.bytesAllocated, 0);
    kernels.sort((a, b) => b.count - a.count);
    return { result, launches: kernels.reduce((s, k) => s + k.count, 0), bytesAllocated: bytes, timed, kernels };
  } finally {
    active = false;
  }
}
