/**
 * Buffer reuse by liveness: intermediates of a schedule whose lives do not overlap share one storage per replay.
 *
 * A buffer lives from the first launch that touches it to the last; once its last launch has run, its storage
 * can hold a buffer that a later launch first writes. Storage is never shared within one launch (a kernel never
 * reads the buffer it writes: WebGPU cannot bind one buffer both ways in a dispatch). Only buffers allocated
 * uninitialised qualify: a zeroed one must start at zero, an upload holds its values, and a returned one outlives
 * the replay.
 */
import type { Device } from '../lower/backend.js';
import { bytesPerElement } from '../lower/backend.js';
import type { DType } from '../lower/spec.js';
import type { Graph } from './trace.js';

/** One storage of a replay and the buffers that take turns in it. */
export interface SharedStorage {
  readonly device: Device;
  readonly dtype: DType;
  /** Elements: the longest buffer it holds (a kernel addresses its buffer through strides, so a longer one fits). */
  readonly length: number;
  readonly buffers: readonly number[];
}

interface OpenStorage { device: Device; dtype: DType; length: number; buffers: number[] }

/** The first and last launch that touches each of `ids`. */
function lifetimes(graph: Graph, ids: ReadonlySet<number>): Map<number, { first: number; last: number }> {
  const life = new Map<number, { first: number; last: number }>();
  graph.launches.forEach((l, i) => {
    for (const b of [...l.inputs, l.output]) {
      if (!ids.has(b)) continue;
      const known = life.get(b);
      if (known === undefined) life.set(b, { first: i, last: i });
      else known.last = i;
    }
  });
  return life;
}

/**
 * Slots for the `reusable` buffers, by a linear scan of the launches: a buffer takes a free slot of its device and
 * dtype when one is free (the smallest that fits, else the largest, which grows: growing costs less than a new
 * slot), and frees it after its last launch.
 */
export function assignSlots(graph: Graph, reusable: ReadonlySet<number>): SharedStorage[] {
  const life = lifetimes(graph, reusable);
  const slots: OpenStorage[] = [];
  const free = new Set<OpenStorage>();
  const holder = new Map<number, OpenStorage>();
  graph.launches.forEach((l, i) => {
    for (const b of new Set([...l.inputs, l.output])) {
      if (life.get(b)?.first !== i) continue;
      const buf = graph.buffers[b]!;
      const slot = pick([...free].filter((s) => s.device === buf.device && s.dtype === buf.dtype), buf.length)
        ?? { device: buf.device, dtype: buf.dtype, length: 0, buffers: [] };
      if (!free.delete(slot)) slots.push(slot);
      slot.length = Math.max(slot.length, buf.length);
      slot.buffers.push(b);
      holder.set(b, slot);
    }
    for (const b of new Set([...l.inputs, l.output])) if (life.get(b)?.last === i) free.add(holder.get(b)!);
  });
  return slots;
}

function pick(candidates: readonly OpenStorage[], length: number): OpenStorage | undefined {
  const fitting = candidates.filter((s) => s.length >= length);
  if (fitting.length > 0) return fitting.reduce((a, s) => (s.length < a.length ? s : a));
  return candidates.length === 0 ? undefined : candidates.reduce((a, s) => (s.length > a.length ? s : a));
}

export function sharedBytes(s: SharedStorage): number {
  return s.length * bytesPerElement(s.dtype);
}
