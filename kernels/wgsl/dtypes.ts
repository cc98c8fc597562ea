/**
 * How each einjit dtype lives in a GPU buffer, and the host-side conversions at upload and read.
 *
 * - float32: `f32`, 4 bytes.
 * - int32: `i32`, 4 bytes.
 * - bool: `u32` holding 0 or 1, 4 bytes per element (unpacked: every kernel reads and writes it with one plain
 *   load/store; the host speaks Uint8Array 0/1).
 * - float16: `f16`, 2 bytes, when the device has 'shader-f16'; otherwise `f32` on the device, rounded to float16
 *   by every kernel that writes it and converted from/to float16 bits at upload and read. The host speaks
 *   Uint16Array of float16 bits either way.
 * - float64 does not exist in WGSL: every entry point refuses it.
 */

import { EinjitError } from '../../src/errors.js';
import type { DType } from '../../src/lower/spec.js';

export type GpuDType = 'float32' | 'int32' | 'bool' | 'float16';

/** The host array type `upload` takes and `read` returns for each dtype. */
export type HostArray = Float32Array | Int32Array | Uint8Array | Uint16Array;

/** WGSL element type of a buffer of this dtype. */
export function storageType(dtype: GpuDType, f16: boolean): 'f32' | 'i32' | 'u32' | 'f16' {
  switch (dtype) {
    case 'float32': return 'f32';
    case 'int32': return 'i32';
    case 'bool': return 'u32';
    case 'float16': return f16 ? 'f16' : 'f32';
  }
}

export function bytesPerElement(dtype: GpuDType, f16: boolean): number {
  return dtype === 'float16' && f16 ? 2 : 4;
}

/** Narrows a spec dtype to one the GPU stores, refusing float64 with the fix. */
export function gpuDType(dtype: DType, op: string): GpuDType {
  if (dtype === 'float64') {
    throw new EinjitError('float64 tensors cannot live on the webgpu device: WGSL has no 64-bit floats', {
      op,
      hint: "cast first: x.cast('float32'), or keep float64 work on the cpu",
    });
  }
  return dtype;
}

export function hostArrayName(dtype: GpuDType): string {
  switch (dtype) {
    case 'float32': return 'Float32Array';
    case 'int32': return 'Int32Array';
    case 'bool': return 'Uint8Array';
    case 'float16': return 'Uint16Array';
  }
}

export function matchesHostArray(dtype: GpuDType, data: HostArray): boolean {
  switch (dtype) {
    case 'float32': return data instanceof Float32Array;
    case 'int32': return data instanceof Int32Array;
    case 'bool': return data instanceof Uint8Array;
    case 'float16': return data instanceof Uint16Array;
  }
}

// ---- float16 bits <-> float32 (round to nearest even), for devices without 'shader-f16' ----

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

export function halfBitsToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

export function floatToHalfBits(x: number): number {
  f32Scratch[0] = x;
  const bits = u32Scratch[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const frac = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (frac !== 0 ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = frac | 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let r = m >>> shift;
    const rest = m & ((1 << shift) - 1);
    if (rest > half || (rest === half && (r & 1) === 1)) r += 1;
    return sign | r;
  }
  let r = (e << 10) | (frac >>> 13);
  const rest = frac & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (r & 1) === 1)) r += 1;
  return sign | r;
}

/** Host data → the bytes the buffer holds (padded by the caller). */
export function toDeviceBytes(dtype: GpuDType, data: HostArray, f16: boolean): ArrayBufferView {
  if (dtype === 'bool') return Uint32Array.from(data as Uint8Array, (v) => (v !== 0 ? 1 : 0));
  if (dtype === 'float16' && !f16) return Float32Array.from(data as Uint16Array, halfBitsToFloat);
  return data;
}

/** Buffer bytes → the host array of `length` elements. */
export function fromDeviceBytes(dtype: GpuDType, bytes: ArrayBuffer, length: number, f16: boolean): HostArray {
  switch (dtype) {
    case 'float32': return new Float32Array(bytes, 0, length).slice();
    case 'int32': return new Int32Array(bytes, 0, length).slice();
    case 'bool': return Uint8Array.from(new Uint32Array(bytes, 0, length), (v) => (v !== 0 ? 1 : 0));
    case 'float16':
      return f16 ? new Uint16Array(bytes, 0, length).slice() : Uint16Array.from(new Float32Array(bytes, 0, length), floatToHalfBits);
  }
}
