/**
 * The Backend interface and the registry of backends.
 *
 * A backend owns storage on one device and runs kernel specs over it. The runtime never touches elements:
 * every op lowers to a KernelSpec and calls `run`. Backends are found lazily and cached (einops' habit), so
 * importing einjit never starts a GPU.
 */
import type { KernelSpec } from '../lower/spec.js';
import type { DType, TypedArray } from './dtype.js';
import { EinjitError, describeValue } from '../errors.js';

export type Device = 'cpu' | 'webgpu';
export const DEVICES: readonly Device[] = ['cpu', 'webgpu'];

/** A block of elements owned by a backend. Tensors are views (shape, strides, offset) over one storage. */
export interface Storage {
  readonly device: Device;
  readonly dtype: DType;
  /** Elements. */
  readonly length: number;
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
  /** Releases the device (GPU) or worker threads (CPU) so the process can exit; the backend is unusable after. */
  destroy?(): void;
}

const backends = new Map<Device, Backend>();
/** Devices shut down and not started again, so a later use can say so instead of "not initialised". */
const shutDown = new Set<Device>();
const initializers = new Map<Device, () => Promise<Backend>>();

export function registerBackend(backend: Backend): void {
  backends.set(backend.device, backend);
  shutDown.delete(backend.device);
}

/** Registers an asynchronous initializer, run once by `initBackend`. */
export function registerBackendInitializer(device: Device, init: () => Promise<Backend>): void {
  initializers.set(device, init);
}

const pending = new Map<Device, Promise<Backend>>();

export async function initBackend(device: Device): Promise<Backend> {
  const ready = backends.get(device);
  if (ready !== undefined) return ready;
  let p = pending.get(device);
  if (p === undefined) {
    const init = initializers.get(device);
    if (init === undefined) throw new EinjitError(`no backend is registered for device '${device}'`, { op: 'init' });
    p = init().then((b) => {
      backends.set(device, b);
      shutDown.delete(device);
      return b;
    });
    pending.set(device, p);
    p.catch(() => pending.delete(device));
  }
  return p;
}

export function checkDevice(device: unknown, op: string): Device {
  if (device === 'cpu' || device === 'webgpu') return device;
  throw new EinjitError(`unknown device ${describeValue(device)}`, { op, hint: `use 'cpu' or 'webgpu'` });
}

/** The backend of a device that is ready for synchronous use. */
export function getBackend(device: Device, op: string): Backend {
  const b = backends.get(device);
  if (b !== undefined) return b;
  if (shutDown.has(device)) {
    throw new EinjitError(`the '${device}' device was shut down`, {
      op,
      hint: `tensors do not outlive shutdown(); start the device again with 'await setDefaultDevice('${device}')' and recreate them there`,
    });
  }
  throw new EinjitError(`the '${device}' device is not initialised`, {
    op,
    hint: `call 'await isAvailable('${device}')' or 'await setDefaultDevice('${device}')' first; GPU start-up is asynchronous`,
  });
}

/** Destroys every backend that holds a device or threads; CPU comes back on first use, GPU after re-init. */
export function shutdownBackends(): void {
  for (const [device, b] of backends) {
    b.destroy?.();
    deferred.delete(device);
    if (device !== 'cpu') {
      backends.delete(device);
      shutDown.add(device);
    }
  }
  pending.clear();
  if (defaultDevice !== 'cpu' && !backends.has(defaultDevice)) defaultDevice = 'cpu';
}

// -------------------------------------------------------------------------------------------------------------
// Deterministic release: Tensor.dispose() and tidy() release storages now; the garbage collector stays the
// safety net for the rest.

const disposed = new WeakSet<Storage>();

/** Releases `storage` now; a second call does nothing. Every tensor over it is unusable afterwards. */
export function disposeStorage(storage: Storage): void {
  if (disposed.has(storage)) return;
  disposed.add(storage);
  backends.get(storage.device)?.release(storage);
}

export function isDisposed(storage: Storage): boolean {
  return disposed.has(storage);
}

/** Throws the EinjitError for a storage that was disposed; backends call it before they touch one. */
export function checkNotDisposed(storage: Storage, op: string): void {
  if (!disposed.has(storage)) return;
  throw new EinjitError(`a tensor used by this op was disposed (by dispose() or at the end of a tidy())`, {
    op,
    hint: 'do not use a tensor after disposing it; return it from tidy(), or keep(t) it, to use it afterwards',
  });
}

// -------------------------------------------------------------------------------------------------------------
// Deferred checks: a check of values that live on a GPU (index ranges) cannot run synchronously without a
// readback, so it is queued here and run at the device's next read, before any value is returned.

const deferred = new Map<Device, (() => Promise<void>)[]>();

/** Queues `check` to run at the next read from `device`; it throws the EinjitError when the values are bad. */
export function deferCheck(device: Device, check: () => Promise<void>): void {
  const list = deferred.get(device) ?? [];
  list.push(check);
  deferred.set(device, list);
}

/** Runs (and clears) the checks queued for `device`; throws the first failure after running them all. */
export async function runDeferredChecks(device: Device): Promise<void> {
  const list = deferred.get(device);
  if (list === undefined || list.length === 0) return;
  deferred.delete(device);
  let failure: unknown = null;
  for (const check of list) {
    try {
      await check();
    } catch (e) {
      failure ??= e;
    }
  }
  if (failure !== null) throw failure;
}

export function peekBackend(device: Device): Backend | undefined {
  return backends.get(device);
}

let defaultDevice: Device = 'cpu';
/**
 * The device new tensors go to when no `device` option is given.
 *
 * @example
 * getDefaultDevice();                            // 'cpu'
 */
export function getDefaultDevice(): Device {
  return defaultDevice;
}
export function setDefaultDeviceSync(device: Device): void {
  defaultDevice = device;
}

/**
 * Runs `fn` while recording every kernel spec the device's backend is asked to run (the specs still run).
 * `einjit explain` uses it to show the kernels behind an einops call.
 */
export function captureKernels<T>(device: Device, fn: () => T): { result: T; specs: KernelSpec[] } {
  const backend = backends.get(device);
  if (backend === undefined) return { result: fn(), specs: [] };
  const specs: KernelSpec[] = [];
  const original = backend.run;
  backend.run = (spec, inputs, output) => {
    specs.push(spec);
    original.call(backend, spec, inputs, output);
  };
  try {
    return { result: fn(), specs };
  } finally {
    backend.run = original;
  }
}
