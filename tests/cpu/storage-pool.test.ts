/**
 * The CPU storage pool: released blocks are reused by size, a block whose array a caller may still hold never is,
 * zeroed allocations are zero after reuse, and the pool stays within its byte bound (against a model under random
 * allocate/release sequences).
 */
import fc from 'fast-check';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';

import { createCpuBackend, type CpuStorage } from '../../kernels/cpu/backend.js';
import { configureStoragePool, giveArray, resetStoragePoolStats, storagePoolStats, takeArray } from '../../kernels/cpu/pool.js';
import { fromArray, full, randn, tidy, zeros, type Tensor } from '../../src/index.js';
import type { StorageHooks } from '../../src/lower/backend.js';
import type { DType } from '../../src/lower/spec.js';

const bound = configureStoragePool(64 * 1024 * 1024);
afterAll(() => configureStoragePool(bound));

/** Empties the pool and its counters so each test sees only its own blocks. */
beforeEach(() => {
  configureStoragePool(0);
  configureStoragePool(64 * 1024 * 1024);
  resetStoragePoolStats();
});

const bufferOf = (t: Tensor): ArrayBufferLike => (t.storage as CpuStorage).data.buffer;

// A backend of its own (the pool is shared with the runtime's, which these tests do not use meanwhile).
const hooks: StorageHooks = { allocated: () => undefined, checkUsable: () => undefined, beforeRead: async () => undefined };
const backend = createCpuBackend(hooks);

describe('CPU storage pool through tensors', () => {
  it('reuses a disposed output for the next output of the same size, and counts it', () => {
    const x = randn([1000]);
    const y = x.mul(2);
    const block = bufferOf(y);
    y.dispose();
    expect(storagePoolStats()).toMatchObject({ returned: 1, blocks: 1, bytes: 4000 });
    const z = x.mul(3);
    expect(storagePoolStats()).toMatchObject({ hits: 1, blocks: 0, bytes: 0 });
    expect(bufferOf(z)).toBe(block);
    // Independent expected values: the input's own elements times 3, in float64, rounded once.
    const xs = x.dataSync();
    const zs = z.dataSync();
    for (let i = 0; i < 1000; i++) expect(zs[i]).toBe(Math.fround(xs[i]! * 3));
  });

  it('reuses the storages a tidy() scope releases', () => {
    const x = randn([256]);
    const out = tidy(() => x.add(1).mul(2).sub(3));
    expect(storagePoolStats().returned).toBe(2);
    const again = tidy(() => x.add(1).mul(2).sub(3));
    expect(storagePoolStats().hits).toBeGreaterThanOrEqual(2);
    const xs = x.dataSync();
    const a = again.dataSync();
    for (let i = 0; i < 256; i++) expect(a[i]).toBe(Math.fround(Math.fround(Math.fround(xs[i]! + 1) * 2) - 3));
    expect(out.dataSync()).toEqual(a);
  });

  it('never reuses a block whose array was handed out, nor an array the caller shares', () => {
    const x = randn([500]);
    const read = x.mul(2);
    const held = read.dataSync();
    const copy = Float32Array.from(held);
    read.dispose();
    const user = new Float32Array(500).fill(5);
    const shared = fromArray(user);
    shared.dispose();
    expect(storagePoolStats().returned).toBe(0);
    const next = [x.mul(7), x.mul(8), zeros([500])];
    for (const t of next) {
      expect(bufferOf(t)).not.toBe(bufferOf(read));
      expect(bufferOf(t)).not.toBe(user.buffer);
    }
    expect(held).toEqual(copy);
    expect(user.every((v) => v === 5)).toBe(true);
  });

  it('zeroes a reused block for zeros(), whatever it held', () => {
    const dirty = full([3, 333], 7);
    const block = bufferOf(dirty);
    dirty.dispose();
    const z = zeros([3, 333]);
    expect(bufferOf(z)).toBe(block);
    expect(storagePoolStats().hits).toBe(1);
    expect(z.dataSync().every((v) => v === 0)).toBe(true);
  });
});

describe('CPU storage pool at the backend', () => {
  it('hands a live array\'s block to nobody, and the array keeps its values', () => {
    const s = backend.allocate('float64', 64) as CpuStorage;
    s.data.fill(3);
    const live = backend.readSync(s, 'test');
    backend.release(s);
    for (let i = 0; i < 4; i++) {
      const t = backend.allocate('float64', 64) as CpuStorage;
      expect(t.data.buffer).not.toBe(live.buffer);
      t.data.fill(-1);
    }
    expect(live.every((v) => v === 3)).toBe(true);
    expect(storagePoolStats().returned).toBe(0);
  });

  it('keeps every dtype\'s view type and length over a reused block', () => {
    const dtypes: DType[] = ['float32', 'float64', 'int32', 'bool', 'float16'];
    for (const dtype of dtypes) {
      const s = backend.allocate(dtype, 24) as CpuStorage;
      const block = s.data.buffer;
      const kind = s.data.constructor;
      backend.release(s);
      const t = backend.allocateZeroed(dtype, 24) as CpuStorage;
      expect(t.data.buffer).toBe(block);
      expect(t.data.constructor).toBe(kind);
      expect(t.data.length).toBe(24);
      expect(Array.from(t.data as ArrayLike<number>).every((v) => v === 0)).toBe(true);
    }
  });

  it('keeps the other blocks of a size when one is taken', () => {
    const blocks = [new Float32Array(1000), new Float32Array(1000), new Float32Array(1000)];
    for (const b of blocks) giveArray(b);
    const taken = [takeArray('float32', 1000, false), takeArray('float32', 1000, false), takeArray('float32', 1000, false)];
    // The most recently released first, then the others: three hits, no miss.
    expect(taken.map((t) => blocks.findIndex((b) => b.buffer === t.buffer))).toEqual([2, 1, 0]);
    expect(storagePoolStats()).toMatchObject({ hits: 3, misses: 0, blocks: 0, bytes: 0 });
  });

  it('stays within its bound: the oldest blocks go first, a block larger than the bound never enters', () => {
    configureStoragePool(1000);
    const a = backend.allocate('float32', 100) as CpuStorage; // 400 bytes
    const b = backend.allocate('float32', 100) as CpuStorage;
    const c = backend.allocate('float32', 100) as CpuStorage;
    const big = backend.allocate('float32', 300) as CpuStorage; // 1200 bytes
    const [ba, bb, bc] = [a, b, c].map((s) => s.data.buffer);
    for (const s of [a, b, c, big]) backend.release(s);
    expect(storagePoolStats()).toMatchObject({ blocks: 2, bytes: 800, dropped: 2 });
    const first = backend.allocate('float32', 100) as CpuStorage;
    const second = backend.allocate('float32', 100) as CpuStorage;
    expect([first.data.buffer, second.data.buffer]).toEqual([bc, bb]);
    expect(first.data.buffer).not.toBe(ba);
    configureStoragePool(0);
    backend.release(first);
    expect(storagePoolStats()).toMatchObject({ blocks: 0, bytes: 0 });
    expect((backend.allocate('float32', 100) as CpuStorage).data.buffer).not.toBe(bc);
  });

  it('property: random allocate/release sequences match a model of the pool', () => {
    type Op = { kind: 'alloc'; elems: number; zeroed: boolean; dtype: DType } | { kind: 'release'; pick: number; read: boolean };
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      fc.record({
        kind: fc.constant('alloc' as const), elems: fc.constantFrom(1, 2, 8, 9, 16, 50),
        zeroed: fc.boolean(), dtype: fc.constantFrom<DType>('float32', 'float64', 'bool'),
      }),
      fc.record({ kind: fc.constant('release' as const), pick: fc.nat(), read: fc.boolean() }),
    );
    const bytesPer: Record<string, number> = { float32: 4, float64: 8, bool: 1 };
    fc.assert(fc.property(fc.array(opArb, { maxLength: 80 }), fc.integer({ min: 0, max: 600 }), (ops, limit) => {
      configureStoragePool(0);
      configureStoragePool(limit);
      resetStoragePoolStats();
      // The model: pooled block sizes oldest first; a take removes the newest of its size.
      const model: number[] = [];
      let hits = 0;
      const live: { s: CpuStorage; escaped: boolean }[] = [];
      const escapedArrays: ArrayLike<number>[] = [];
      let stamp = 1;
      for (const op of ops) {
        if (op.kind === 'alloc') {
          const bytes = op.elems * (bytesPer[op.dtype] ?? 0);
          const at = model.lastIndexOf(bytes);
          if (at >= 0) {
            model.splice(at, 1);
            hits++;
          }
          const s = (op.zeroed ? backend.allocateZeroed(op.dtype, op.elems) : backend.allocate(op.dtype, op.elems)) as CpuStorage;
          expect(s.data.byteLength).toBe(bytes);
          if (op.zeroed) expect(Array.from(s.data as ArrayLike<number>).every((v) => v === 0)).toBe(true);
          // Every live storage and every handed-out array is its own memory.
          for (const other of live) expect(other.s.data.buffer).not.toBe(s.data.buffer);
          for (const arr of escapedArrays) expect((arr as Uint8Array).buffer).not.toBe(s.data.buffer);
          (s.data as Uint8Array).fill(stamp++ % 100 + 1);
          live.push({ s, escaped: false });
        } else if (live.length > 0) {
          const [entry] = live.splice(op.pick % live.length, 1);
          if (entry === undefined) continue;
          if (op.read) {
            escapedArrays.push(backend.readSync(entry.s, 'test'));
            entry.escaped = true;
          }
          const bytes = entry.s.data.byteLength;
          backend.release(entry.s);
          if (!entry.escaped && bytes <= limit) {
            model.push(bytes);
            let total = model.reduce((x, y) => x + y, 0);
            while (total > limit) total -= model.shift() ?? 0;
          }
        }
        const stats = storagePoolStats();
        expect(stats.bytes).toBeLessThanOrEqual(limit);
        expect(stats.blocks).toBe(model.length);
        expect(stats.bytes).toBe(model.reduce((x, y) => x + y, 0));
        expect(stats.hits).toBe(hits);
      }
    }), { numRuns: 150, seed: 20261205 });
  });
});
