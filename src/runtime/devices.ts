/**
 * Device selection: the CPU backend is always there; the WebGPU backend starts lazily (the composition root,
 * src/backends.ts, registers both).
 */
import type { AdapterDescription, GpuLimits } from '../lower/backend.js';
import { capabilities } from '../platform/index.js';
import { EinjitError } from '../errors.js';
import { checkDevice, initBackend, shutdownBackends, peekBackend, setDefaultDeviceSync, type Backend, type Device } from './backend.js';

/**
 * Whether a device can be used here; for 'webgpu' this starts the GPU (once), so a later
 * `tensor(..., { device: 'webgpu' })` works synchronously.
 *
 * @example
 * const device = (await isAvailable('webgpu')) ? 'webgpu' : 'cpu';
 */
export async function isAvailable(device: Device): Promise<boolean> {
  checkDevice(device, 'isAvailable');
  if (peekBackend(device) !== undefined) return true;
  try {
    await initBackend(device);
    return true;
  } catch (e) {
    lastFailure.set(device, failureReason(device, e));
    return false;
  }
}

const lastFailure = new Map<Device, string>();

function failureReason(device: Device, e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return e instanceof EinjitError ? text : `the '${device}' device could not be started: ${text}`;
}

/** What {@link deviceInfo} reports about a device. */
export interface DeviceInfo {
  readonly device: Device;
  readonly available: boolean;
  /** Why the device cannot be used (only when `available` is false): the error starting it, with what to do. */
  readonly reason?: string;
  /** The WebGPU adapter: vendor, architecture, device, description, and `software` for lavapipe/SwiftShader/WARP. */
  readonly adapter?: AdapterDescription;
  /** The WebGPU limits in force on the device einjit created. */
  readonly limits?: GpuLimits;
  /** The optional WebGPU features einjit enabled ('shader-f16', 'subgroups', 'timestamp-query'). */
  readonly features?: readonly string[];
  /** For 'cpu': threads the GEMM uses and whether storage is shared memory (see `capabilities()`). */
  readonly threads?: number;
  readonly sharedMemory?: boolean;
}

/**
 * Whether a device can be used and, when it cannot, why; for 'webgpu' also the adapter (with `software: true` for
 * a software rasterizer such as lavapipe or SwiftShader) and the limits in force. Starts the device, like
 * `isAvailable`.
 *
 * @example
 * const info = await deviceInfo('webgpu');
 * if (!info.available) console.warn(info.reason);
 */
export async function deviceInfo(device: Device): Promise<DeviceInfo> {
  checkDevice(device, 'deviceInfo');
  if (device === 'cpu') {
    const caps = capabilities();
    return { device, available: true, threads: caps.threads, sharedMemory: caps.sharedMemory };
  }
  let backend: Backend;
  try {
    backend = peekBackend(device) ?? await initBackend(device);
  } catch (e) {
    const reason = failureReason(device, e);
    lastFailure.set(device, reason);
    return { device, available: false, reason };
  }
  return { device, available: true, ...backend.details?.() };
}

/**
 * Makes `device` the default for new tensors, starting it first (await it).
 *
 * @example
 * await setDefaultDevice('webgpu');
 * const x = ones([1024, 1024]);                  // on the GPU
 */
export async function setDefaultDevice(device: Device): Promise<void> {
  checkDevice(device, 'setDefaultDevice');
  try {
    await initBackend(device);
  } catch (e) {
    if (e instanceof EinjitError) throw e;
    throw new EinjitError(`the '${device}' device could not be started: ${e instanceof Error ? e.message : String(e)}`, {
      op: 'setDefaultDevice',
      hint: "check 'await isAvailable(device)' first; WebGPU needs a GPU driver or Mesa's lavapipe",
    });
  }
  setDefaultDeviceSync(device);
}

/**
 * Releases the GPU device and the CPU worker threads so the process can exit promptly. Tensors on 'webgpu' are
 * unusable afterwards; a later `setDefaultDevice('webgpu')` starts a fresh device.
 *
 * @example
 * const y = await einsum('ij,jk->ik', a, b).to('cpu');
 * await shutdown();                              // the process can exit
 */
export async function shutdown(): Promise<void> {
  shutdownBackends();
}
