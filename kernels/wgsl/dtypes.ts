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

import { Float16Array } from '@petamoriken/float16';
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

/** float16 values as their IEEE bits (round to nearest even, one rounding from the given number). */
export function halfBits(values: ArrayLike<number>): Uint16Array {
  const half = Float16Array.from(values);
  return new Uint16Array(half.buffer, half.byteOffset, half.length);
}

/** Host data → the bytes the buffer holds (padded by the caller). */
export function toDeviceBytes(dtype: GpuDType, data: HostArray, f16: boolean): ArrayBufferView {
  if (dtype === 'bool') return Uint32Array.from(data as Uint8Array, (v) => (v !== 0 ? 1 : 0));
  // A device without 'shader-f16' stores float16 as f32: widen the bits (exact).
  if (dtype === 'float16' && !f16) return Float32Array.from(new Float16Array((data as Uint16Array).buffer, data.byteOffset, data.length));
  return data;
}

/** Buffer bytes → the host array of `length` elements. */
export function fromDeviceBytes(dtype: GpuDType, bytes: ArrayBuffer, length: number, f16: boolean): HostArray {
  switch (dtype) {
    case 'float32': return new Float32Array(bytes, 0, length).slice();
    case 'int32': return new Int32Array(bytes, 0, length).slice();
    case 'bool': return Uint8Array.from(new Uint32Array(bytes, 0, length), (v) => (v !== 0 ? 1 : 0));
    case 'float16':
      return f16 ? new Uint16Array(bytes, 0, length).slice() : halfBits(new Float32Array(bytes, 0, length));
  }
}
