/**
 * The planner's priority queue: smallest key first, and among equal keys the earliest pushed first (greedy's
 * determinism rests on it). The expected order is a stable sort of the pushes, computed here independently.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MinHeap } from '../../src/plan/heap.js';

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
