/**
 * Buffer reuse by liveness: intermediates whose lives do not overlap share one storage per replay. The
 * assignment is checked on hand-built graphs (who shares with whom, sizes that fit or grow, never within one
 * kernel); replays of long chains are checked for bounded bytes and against float64 loops.
 */
import { describe, expect, it } from 'vitest';
import { jit, randn, type Tensor } from '../../src/index.js';
import type { KernelSpec } from '../../src/lower/spec.js';
import type { Graph, GraphBuffer } from '../../src/jit/trace.js';
import { assignSlots } from '../../src/jit/reuse.js';
import { DEVICES } from '../helpers/devices.js';

/** A graph of launches over buffers of the given lengths (float32 on the CPU); specs are never looked at. */
function graphOf(lengths: readonly number[], launches: readonly [readonly number[], number][]): Graph {
  const buffers: GraphBuffer[] = lengths.map((length, id) => ({ id, device: 'cpu', dtype: 'float32', length, origin: { kind: 'alloc', zeroed: false } }));
  return { buffers, launches: launches.map(([inputs, output]) => ({ spec: {} as KernelSpec, device: 'cpu', inputs, output, ops: ['op'] })) };
}

describe('assigning storages by liveness', () => {
  it('a chain a → b → c → d shares two storages, and a kernel never writes the storage it reads', () => {
    // Buffer 0 is the argument-like start; 1..4 are the chain.
    const g = graphOf([8, 8, 8, 8, 8], [[[0], 1], [[1], 2], [[2], 3], [[3], 4]]);
    const slots = assignSlots(g, new Set([1, 2, 3, 4]));
    expect(slots.map((s) => s.buffers)).toEqual([[1, 3], [2, 4]]);
  });

  it('takes the smallest free storage that fits, else grows the largest; only same-dtype buffers share', () => {
    // 1 (100) and 2 (10) die at launch 2; 3 (10) takes 2's storage; 4 (200) grows 1's.
    const g = graphOf([1, 100, 10, 10, 200, 1], [[[0], 1], [[0], 2], [[1, 2], 5], [[5], 3], [[3], 4]]);
    const slots = assignSlots(g, new Set([1, 2, 3, 4]));
    expect(slots.map((s) => [s.buffers, s.length])).toEqual([[[1, 4], 200], [[2, 3], 10]]);
    const mixed: Graph = { ...g, buffers: g.buffers.map((b) => (b.id === 3 ? { ...b, dtype: 'int32' as const } : b)) };
    expect(assignSlots(mixed, new Set([1, 2, 3])).map((s) => s.buffers)).toEqual([[1], [2], [3]]);
  });

  it('a buffer outside the reusable set (returned, zeroed, an argument) is never given a shared storage', () => {
    const g = graphOf([8, 8, 8, 8], [[[0], 1], [[1], 2], [[2], 3]]);
    expect(assignSlots(g, new Set([1, 3])).map((s) => s.buffers)).toEqual([[1, 3]]);
    expect(assignSlots(g, new Set()).length).toBe(0);
  });
});

/** Row-wise softmax · 2, k times, then row sums, in float64. */
function chainF64(x: readonly number[], rows: number, cols: number, k: number): number[] {
  let v = x.slice();
  for (let s = 0; s < k; s++) {
    const next: number[] = [];
    for (let r = 0; r < rows; r++) {
      const row = v.slice(r * cols, (r + 1) * cols);
      const m = Math.max(...row);
      const e = row.map((a) => Math.exp(a - m));
      const sum = e.reduce((a, b) => a + b, 0);
      next.push(...e.map((a) => (2 * a) / sum));
    }
    v = next;
  }
  return Array.from({ length: rows }, (_, r) => v.slice(r * cols, (r + 1) * cols).reduce((a, b) => a + b, 0));
}

describe.each(DEVICES)('replays with shared storages on %s', (device) => {
  const chain = (k: number) => jit((x: Tensor) => {
    let y = x;
    for (let s = 0; s < k; s++) y = y.softmax(1).mul(2);
    return [y.sum(1), y.max()];
  });

  it('a long chain holds a bounded set of storages, with values unchanged (against a float64 loop)', async () => {
    const [rows, cols] = [6, 40];
    const bytes: number[][] = [];
    for (const k of [2, 10, 20]) {
      const f = chain(k);
      f(randn([rows, cols], { device }));
      for (let call = 0; call < 2; call++) {
        const x = randn([rows, cols], { device });
        const [sums] = f(x) as Tensor[];
        const want = chainF64(Array.from(await x.data(), Number), rows, cols, k);
        const got = Array.from(await sums!.data(), Number);
        got.forEach((g, i) => expect(Math.abs(g - want[i]!), `k=${k} row ${i}`).toBeLessThan(1e-4 * (1 + Math.abs(want[i]!))));
      }
      const s = f.stats()!;
      bytes.push([s.intermediateBytes, s.intermediateBytesWithoutReuse]);
    }
    // Without reuse the bytes grow with the chain; with it they stop growing (from ten steps on, the same as for
    // twenty; the first steps may need less, where a GPU recomputes a step's output in the next step's readers).
    expect(bytes[0]![0]).toBeLessThanOrEqual(bytes[1]![0]!);
    expect(bytes[2]![0]).toBe(bytes[1]![0]);
    expect(bytes[2]![1]).toBeGreaterThan(1.8 * bytes[1]![1]!);
    // At most three row-by-column buffers live at once (the shifted exp, the sum's input, the next step's).
    expect(bytes[2]![0]).toBeLessThanOrEqual(3 * rows * cols * 4 + 4 * rows * 4);
  });

  it('a returned intermediate keeps its own storage while later buffers reuse the rest', async () => {
    const f = jit((x: Tensor) => {
      const mid = x.exp().sum(1);
      const after = x.mul(mid.unsqueeze(1)).tanh().sum(1).neg().exp().sum();
      return [mid, after];
    });
    f(randn([3, 5], { device }));
    const x = randn([3, 5], { device });
    const [mid, after] = f(x) as Tensor[];
    const xv = Array.from(await x.data(), Number);
    const rowSum = (r: number, g: (v: number) => number): number => xv.slice(r * 5, r * 5 + 5).reduce((a, v) => a + g(v), 0);
    const m = [0, 1, 2].map((r) => rowSum(r, Math.exp));
    const a = [0, 1, 2].reduce((acc, r) => acc + Math.exp(-rowSum(r, (v) => Math.tanh(v * m[r]!))), 0);
    Array.from(await mid!.data(), Number).forEach((g, i) => expect(Math.abs(g - m[i]!)).toBeLessThan(1e-5 * m[i]!));
    expect(Math.abs(Number((await after!.data())[0]) - a)).toBeLessThan(1e-5 * a);
  });
});
