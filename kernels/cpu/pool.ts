/**
 * A bounded pool of released CPU storage blocks, so an output of the same size as one disposed earlier reuses its
 * memory instead of a fresh (Shared)ArrayBuffer whose every page faults on first touch.
 *
 * Blocks are keyed by their exact byte length (the size class): a typed array handed to a caller then views its
 * whole buffer, as one from a fresh allocation does (`new Float32Array(t.dataSync().buffer)`, transfers and
 * uploads keep working), and the repeated calls of a training or inference loop ask for the same sizes again.
 * Within a size the most recently released block is reused first (its lines may still be in cache); past the
 * byte bound the oldest blocks are dropped for the garbage collector.
 *
 * The pool never decides what may enter it: the backend gives it only blocks no caller can still see (see
 * `owned` in backend.ts).
 */
import { Float16Array } from '@petamoriken/float16';
import type { DType } from '../../src/lower/spec.js';
import { allocateArray, bytesPerElement, type TypedArray } from '../../src/lower/backend.js';
import { envVar } from '../../src/platform/index.js';

/** Counters of the pool since the process started (or the last `resetStoragePoolStats`). */
export interface StoragePoolStats {
  /** Allocations served from a pooled block. */
  readonly hits: number;
  /** Allocations that found no block of their size. */
  readonly misses: number;
  /** Blocks released into the pool. */
  readonly returned: number;
  /** Blocks dropped to stay within the bound (or too large for it). */
  readonly dropped: number;
  /** Blocks and bytes held now. */
  readonly blocks: number;
  readonly bytes: number;
  /** The bound, in bytes (0: the pool is off). */
  readonly maxBytes: number;
}

/** The default bound: 64 MiB of idle blocks; EINJIT_CPU_POOL_BYTES changes it (0 turns the pool off). */
const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;

function initialBound(): number {
  const v = envVar('EINJIT_CPU_POOL_BYTES');
  const n = v === undefined || v.trim() === '' ? NaN : Number(v);
  return Number.isFinite(n) && n >= 0 ? Math.floor(n) : DEFAULT_MAX_BYTES;
}

/** Blocks by byte length, newest last; `order` holds every pooled block, oldest first, for eviction. */
const free = new Map<number, ArrayBufferLike[]>();
const order = new Set<ArrayBufferLike>();
let held = 0;
let maxBytes = initialBound();
let hits = 0;
let misses = 0;
let returned = 0;
let dropped = 0;

function remove(buffer: ArrayBufferLike): void {
  order.delete(buffer);
  held -= buffer.byteLength;
  const list = free.get(buffer.byteLength);
  if (list === undefined) return;
  const i = list.lastIndexOf(buffer);
  if (i >= 0) list.splice(i, 1);
  if (list.length === 0) free.delete(buffer.byteLength);
}

function evictTo(bound: number): void {
  for (const oldest of order) {
    if (held <= bound) return;
    remove(oldest);
    dropped++;
  }
}

/** The array allocateArray would make for `dtype`, over a reused buffer. */
function viewOf(dtype: DType, buffer: ArrayBufferLike, length: number): TypedArray {
  switch (dtype) {
    case 'float32': return new Float32Array(buffer, 0, length);
    case 'float64': return new Float64Array(buffer, 0, length);
    case 'int32': return new Int32Array(buffer, 0, length);
    case 'bool': return new Uint8Array(buffer, 0, length);
    case 'float16': return new Float16Array(buffer, 0, length);
  }
}

/**
 * An array of `length` elements: a pooled block of the same byte length when there is one (its old contents
 * left in place unless `zero`), else a fresh zero-filled allocation.
 */
export function takeArray(dtype: DType, length: number, zero: boolean): TypedArray {
  const bytes = length * bytesPerElement(dtype);
  const list = bytes > 0 ? free.get(bytes) : undefined;
  const buffer = list?.pop();
  if (buffer === undefined) {
    if (bytes > 0 && maxBytes > 0) misses++;
    return allocateArray(dtype, length);
  }
  if (list !== undefined && list.length === 0) free.delete(bytes);
  order.delete(buffer);
  held -= bytes;
  hits++;
  if (zero) new Uint8Array(buffer, 0, bytes).fill(0);
  return viewOf(dtype, buffer, length);
}

/**
 * Gives a released array's block to the pool. The caller guarantees no other array views the block; an array
 * that does not view its whole buffer is not taken (it is not a block this backend allocated).
 */
export function giveArray(array: TypedArray): void {
  const buffer = array.buffer;
  const bytes = buffer.byteLength;
  if (bytes === 0 || array.byteOffset !== 0 || array.byteLength !== bytes || order.has(buffer)) return;
  if (bytes > maxBytes) {
    if (maxBytes > 0) dropped++;
    return;
  }
  let list = free.get(bytes);
  if (list === undefined) free.set(bytes, (list = []));
  list.push(buffer);
  order.add(buffer);
  held += bytes;
  returned++;
  evictTo(maxBytes);
}

/** Sets the pool's bound in bytes (0 turns it off and empties it); returns the old bound. */
export function configureStoragePool(bound: number): number {
  const old = maxBytes;
  maxBytes = Math.max(0, Math.floor(bound));
  evictTo(maxBytes);
  return old;
}

export function storagePoolStats(): StoragePoolStats {
  return { hits, misses, returned, dropped, blocks: order.size, bytes: held, maxBytes };
}

/** Zeroes the counters (tests and benchmarks measure one stretch of work); pooled blocks stay. */
export function resetStoragePoolStats(): void {
  hits = 0;
  misses = 0;
  returned = 0;
  dropped = 0;
}
