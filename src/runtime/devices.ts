/**
 * Device selection: the CPU backend is always there; the WebGPU backend starts lazily (Dawn is loaded only
 * when a program asks for 'webgpu').
 */
import { cpuBackend } from '../../kernels/cpu/backend.js';
import { EinjitError } from '../errors.js';
import {
  checkDevice, initBackend, shutdownBackends, peekBackend, registerBackend, registerBackendInitializer, setDefaultDeviceSync, type Backend,
  type Device,
} from './backend.js';

registerBackend(cpuBackend);
registerBackendInitializer('webgpu', async (): Promise<Backend> => {
  const { createWebGPUBackend } = await import('./webgpu.js');
  return createWebGPUBackend();
});

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
  } catch {
    return false;
  }
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
