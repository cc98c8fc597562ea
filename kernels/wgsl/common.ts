/** Pieces every renderer and the backend share: names, hashing, grid folding, store/load conversions. */

import { EinjitError } from '../../src/errors.js';
import type { ComputeType } from './expr.js';
import { truthy } from './expr.js';
import type { GpuDType } from './dtypes.js';
import { storageType } from './dtypes.js';

/** WebGPU's guaranteed limit on workgroups per grid dimension; larger grids are folded into y. */
export const MAX_GRID_DIM = 65535;

/** FNV-1a, as 8 hex digits: short, stable kernel names from spec keys. */
export function hash8(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

/**
 * Folds a 1-D count of workgroups into (x, y) with x ≤ 65,535; the kernel recovers the linear id as
 * `wid.y * nwg.x + wid.x` and returns early past the end.
 */
export function foldGrid(workgroups: number, op: string): [number, number, number] {
  if (workgroups <= MAX_GRID_DIM) return [Math.max(1, workgroups), 1, 1];
  const y = Math.ceil(workgroups / MAX_GRID_DIM);
  if (y > MAX_GRID_DIM) {
    throw new EinjitError(`launch of ${workgroups} workgroups exceeds the ${MAX_GRID_DIM}² a grid can hold`, {
      op,
      hint: 'split the operation into smaller pieces',
    });
  }
  return [Math.ceil(workgroups / y), y, 1];
}

/** `var<storage, read> name: array<T>;` lines get this prefix. */
export function bindingDecl(binding: number, name: string, access: 'read' | 'read_write', elem: string, doc: string): string {
  return `@group(0) @binding(${binding}) var<storage, ${access}> ${name}: array<${elem}>; // ${doc}`;
}

/** WGSL converting a stored element (`raw`) to the compute type. */
export function loadAs(raw: string, dtype: GpuDType, f16: boolean, type: ComputeType): string {
  const st = storageType(dtype, f16);
  return st === type ? raw : `${type}(${raw})`;
}

/** WGSL converting a compute value to the output's storage element (rounding float16 without shader-f16). */
export function storeAs(value: string, type: ComputeType, dtype: GpuDType, f16: boolean): string {
  switch (dtype) {
    case 'float32': return type === 'f32' ? value : `f32(${value})`;
    case 'int32': return type === 'i32' ? value : `i32(${value})`;
    case 'bool': return `u32(${truthy(value, type)})`;
    case 'float16': {
      const asF32 = type === 'f32' ? value : `f32(${value})`;
      return f16 ? `f16(${asF32})` : `round_f16(${asF32})`;
    }
  }
}

/** Smallest and largest element index an access reaches over the given loop sizes (none when a size is 0). */
export function accessRange(offset: number, strides: readonly number[], sizes: readonly number[]): { min: number; max: number } | null {
  let min = offset;
  let max = offset;
  for (let d = 0; d < sizes.length; d++) {
    const n = sizes[d]!;
    if (n === 0) return null;
    const span = (n - 1) * (strides[d] ?? 0);
    if (span < 0) min += span;
    else max += span;
  }
  return { min, max };
}
