/**
 * Shared set-up of the GPU suites: one backend per test file, and the skip rule. Without a WebGPU adapter the
 * suites skip with one printed line, except under CI=true, where a missing adapter is a failure.
 */

import { inject } from 'vitest';
import { WebGPUBackend } from '../../kernels/wgsl/index.js';
import type { GpuDType, GpuStorage } from '../../kernels/wgsl/index.js';
import { roundHalf } from './reference.js';

// The global setup (tests/setup/webgpu-probe.ts) looked for an adapter once and printed the one skip line;
// without an adapter Dawn is never loaded here.
const probe = inject('webgpuProbe');
if (!probe.available && process.env['CI'] === 'true') {
  throw new Error(`WebGPU suite: ${probe.reason} (a missing adapter fails the suite under CI=true)`);
}

export const gpuAvailable = probe.available;

/** The file's backend, created in beforeAll and destroyed in afterAll. */
export async function openBackend(): Promise<WebGPUBackend> {
  return WebGPUBackend.create();
}

/** Number values → the host array `upload` takes for the dtype. */
export function hostArray(dtype: GpuDType, values: readonly number[]): Float32Array | Int32Array | Uint8Array | Uint16Array {
  switch (dtype) {
    case 'float32': return Float32Array.from(values);
    case 'int32': return Int32Array.from(values);
    case 'bool': return Uint8Array.from(values, (v) => (v !== 0 ? 1 : 0));
    case 'float16': return Uint16Array.from(values, halfBits);
  }
}

/** What `read` returns → numbers. */
export function numbers(dtype: GpuDType, data: Float32Array | Int32Array | Uint8Array | Uint16Array): number[] {
  if (dtype === 'float16') return Array.from(data as Uint16Array, halfValue);
  return Array.from(data as ArrayLike<number>);
}

export async function readNumbers(backend: WebGPUBackend, s: GpuStorage): Promise<number[]> {
  return numbers(s.dtype, await backend.read(s));
}

export function halfValue(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m === 0 ? sign * Infinity : NaN;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

export function halfBits(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const v = roundHalf(x);
  const sign = v < 0 || Object.is(v, -0) ? 0x8000 : 0;
  const a = Math.abs(v);
  if (a === Infinity) return sign | 0x7c00;
  if (a < 2 ** -14) return sign | Math.round(a / 2 ** -24);
  const e = Math.floor(Math.log2(a));
  return sign | ((e + 15) << 10) | Math.round((a / 2 ** e - 1) * 1024);
}

/** Whether two numbers agree: both NaN, equal, or within atol + rtol·scale. */
export function close(got: number, want: number, atol: number, rtol: number, scale = Math.abs(want)): boolean {
  if (Number.isNaN(want)) return Number.isNaN(got);
  if (!Number.isFinite(want)) return got === want;
  if (!Number.isFinite(got)) return false;
  const s = Number.isFinite(scale) ? Math.max(scale, Math.abs(want)) : Math.abs(want);
  return Math.abs(got - want) <= atol + rtol * s;
}
