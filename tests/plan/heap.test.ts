/**
 * The planner's priority queue: smallest key first, and among equal keys the earliest pushed first (greedy's
 * determinism rests on it). The expected order is a stable sort of the pushes, computed here independently.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MinHeap, PairHeap } from '../../src/plan/heap.js';

describe('MinHeap', () => {
  it('pops by key, equal keys in insertion order, under any interleaving of pushes and pops (property)', () => {
    const op = fc.oneof(fc.record({ push: fc.integer({ min: 0, max: 4 }) }), fc.constant({ pop: true as const }));
    fc.assert(fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
      const heap = new MinHeap<number>();
      const model: { key: number; id: number }[] = [];
      let id = 0;
      for (const o of ops) {
        if ('push' in o) {
          heap.push(o.push, id);
          model.push({ key: o.push, id: id++ });
        } else {
          // The model: the smallest key, and among those the smallest id (the earliest pushed).
          let best = -1;
          model.forEach((m, i) => { if (best < 0 || m.key < model[best]!.key || (m.key === model[best]!.key && m.id < model[best]!.id)) best = i; });
          const want = best < 0 ? undefined : model.splice(best, 1)[0]!.id;
          expect(heap.pop()).toBe(want);
        }
        expect(heap.size).toBe(model.length);
      }
    }), { seed: 20261205, numRuns: 300 });
  });

  it('gives ties back in the order they were pushed', () => {
    const heap = new MinHeap<string>();
    for (const [k, v] of [[2, 'a'], [1, 'b'], [2, 'c'], [1, 'd'], [1, 'e'], [0, 'f'], [2, 'g']] as const) heap.push(k, v);
    const out: string[] = [];
    while (heap.size > 0) out.push(heap.pop()!);
    expect(out).toEqual(['f', 'b', 'd', 'e', 'a', 'c', 'g']);
    expect(heap.pop()).toBeUndefined();
  });
});

describe('PairHeap', () => {
  it('pops by key, then by tie, under any interleaving of pushes and pops, growing past its first capacity (property)', () => {
    const op = fc.oneof(
      fc.record({ key: fc.integer({ min: 0, max: 6 }), tie: fc.integer({ min: 0, max: 1000 }) }),
      fc.constant({ pop: true as const }),
    );
    fc.assert(fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
      const heap = new PairHeap();
      const model: { key: number; tie: number; a: number; b: number }[] = [];
      let id = 0;
      for (const o of ops) {
        if ('key' in o) {
          // Distinct ties, as greedy's are for distinct pairs: the tie is made unique by the push count.
          const tie = o.tie * 1000 + id;
          heap.push(o.key, tie, id, id + 1);
          model.push({ key: o.key, tie, a: id, b: id + 1 });
          id++;
        } else {
          let best = -1;
          model.forEach((m, i) => { if (best < 0 || m.key < model[best]!.key || (m.key === model[best]!.key && m.tie < model[best]!.tie)) best = i; });
          if (best < 0) {
            expect(heap.pop()).toBe(false);
          } else {
            const want = model.splice(best, 1)[0]!;
            expect(heap.pop()).toBe(true);
            expect([heap.key, heap.a, heap.b]).toEqual([want.key, want.a, want.b]);
          }
        }
        expect(heap.size).toBe(model.length);
      }
    }), { seed: 20261205, numRuns: 200 });
  });

  it('is empty after clear', () => {
    const heap = new PairHeap();
    for (let i = 0; i < 100; i++) heap.push(100 - i, i, i, i);
    heap.clear();
    expect(heap.size).toBe(0);
    expect(heap.pop()).toBe(false);
    heap.push(3, 0, 7, 8);
    expect(heap.pop()).toBe(true);
    expect([heap.key, heap.a, heap.b]).toEqual([3, 7, 8]);
  });
});
