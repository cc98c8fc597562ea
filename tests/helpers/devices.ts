/**
 * The devices a suite runs on: always 'cpu', and 'webgpu' when an adapter is found. Under CI=true a missing
 * adapter is a failure (CI installs lavapipe so every WGSL kernel runs for real); elsewhere the GPU part is
 * skipped with one printed line saying why.
 */
import { isAvailable, type Device } from '../../src/index.js';

let probed: Promise<Device[]> | null = null;

export function devicesUnderTest(): Promise<Device[]> {
  probed ??= (async () => {
    if (process.env.XDG_RUNTIME_DIR === undefined) process.env.XDG_RUNTIME_DIR = (await import('node:os')).tmpdir();
    // EINJIT_TEST_DEVICES=cpu narrows a local run to the CPU (CI never sets it).
    if (process.env.EINJIT_TEST_DEVICES === 'cpu' && process.env.CI !== 'true') return ['cpu'] as Device[];
    if (await isAvailable('webgpu')) return ['cpu', 'webgpu'] as Device[];
    if (process.env.CI === 'true') {
      throw new Error('CI=true but no WebGPU adapter was found: the GPU suite must run in CI (install lavapipe: scripts/install-lavapipe.sh)');
    }
    console.log('[einjit tests] no WebGPU adapter found: GPU cases skipped (install lavapipe: scripts/install-lavapipe.sh)');
    return ['cpu'] as Device[];
  })();
  return probed;
}

/** Top-level-await friendly: the list of devices, resolved once per test file. */
export const DEVICES: Device[] = await devicesUnderTest();
