/**
 * The registry of backends. The contract itself (Backend, Storage, Device) is src/lower/backend.ts; the
 * backends are created and registered by the composition root, src/backends.ts. Backends are started lazily
 * and cached (einops' habit), so importing einjit never starts a GPU.
 */
import type { Backend, Device, Storage } from '../lower/backend.js';
import { EinjitError, describeValue } from '../errors.js';

export type { Backend, Device, Storage };

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

/** The devices the composition root registered, in registration order (started or not). */
export function deviceNames(): Device[] {
  return [...new Set([...backends.keys(), ...initializers.keys()])];
}

export function checkDevice(device: unknown, op: string): Device {
  const names = deviceNames();
  if ((names as unknown[]).includes(device)) return device as Device;
  throw new EinjitError(`unknown device ${describeValue(device)}`, { op, hint: `use ${names.map((d) => `'${d}'`).join(' or ')}` });
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
 * Runs `fn` with the given backends standing in for their devices' registered ones (RecordingBackends that
 * forward to them, for `explain` and `profile`), and puts the registered ones back when `fn` returns or, for a
 * promise, settles.
 */
export function withBackends<T>(standIns: readonly Backend[], fn: () => T): T {
  const registered = standIns.map((b) => [b.device, backends.get(b.device)] as const);
  for (const b of standIns) backends.set(b.device, b);
  const restore = (): void => {
    for (const [device, b] of registered) {
      if (b !== undefined) backends.set(device, b);
      else backends.delete(device);
    }
  };
  let result: T;
  try {
    result = fn();
  } catch (e) {
    restore();
    throw e;
  }
  if (result instanceof Promise) return result.finally(restore) as T;
  restore();
  return result;
}
