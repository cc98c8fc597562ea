/**
 * The devices a suite runs on: always 'cpu', and 'webgpu' when an adapter is found. Under CI=true a missing
 * adapter is a failure (CI installs lavapipe so every WGSL kernel runs for real); elsewhere the GPU part is
 * skipped with one printed line saying why.
 */
import { inject } from 'vitest';
import { isAvailable, type Device } from '../../src/index.js';

let probed: Promise<Device[]> | null = null;

export function devicesUnderTest(): Promise<Device[]> {
  probed ??= (async () => {
    if (process.env.XDG_RUNTIME_DIR === undefined) process.env.XDG_RUNTIME_DIR = (await import('node:os')).tmpdir();
    // EINJIT_TEST_DEVICES=cpu narrows a local run to the CPU (CI never sets it).
    if (process.env.EINJIT_TEST_DEVICES === 'cpu' && process.env.CI !== 'true') return ['cpu'] as Device[];
    // The global setup (tests/setup/webgpu-probe.ts) looked for an adapter once and printed the one skip line;
    // without an adapter Dawn is never loaded here.
    const probe = inject('webgpuProbe');
    if (probe.available && await isAvailable('webgpu')) return ['cpu', 'webgpu'] as Device[];
    if (process.env.CI === 'true') {
      throw new Error(`CI=true but WebGPU is unavailable (${probe.reason || 'the device did not start'}): the GPU suite must run in CI (install lavapipe: scripts/install-lavapipe.sh)`);
    }
    return ['cpu'] as Device[];
  })();
  return probed;
}

/** Top-level-await friendly: the list of devices, resolved once per test file. */
export const DEVICES: Device[] = await devicesUnderTest();
