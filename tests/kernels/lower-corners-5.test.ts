/**
 * Corners of src/lower that a fresh mutation sample (seed 20261212) found unpinned: a loop spec's cache key
 * names its row values (op, expression and store), since kernels that differ only there compute different
 * things; loopConstants called without a list starts an empty one; and storage of every dtype is allocated as
 * its own typed array, zeroed.
 */
import { describe, expect, it } from 'vitest';
import { allocateArray } from '../../src/lower/backend.js';
import { ex, loopConstants, specKey, type LoopSpec } from '../../src/lower/spec.js';

/** out[i] = x[i, j] / (row value over j), rows over the last loop: softmax's division with its sum folded in. */
function rowSpec(rows: LoopSpec['rows']): LoopSpec {
  return {
    kind: 'loop', label: 'rows', sizes: [4, 3], parallel: 2, reduceOp: null,
    inputs: [{ dtype: 'float32', offset: 0, strides: [3, 1] }, { dtype: 'float32', offset: 0, strides: [1, 0] }],
    output: { dtype: 'float32', offset: 0, strides: [3, 1] },
    expr: ex.binary('div', ex.input(0), ex.input(2)), computeType: 'float32', ...(rows === undefined ? {} : { rows }),
  };
}

describe("a loop spec's key", () => {
  it('differs with the row values: none, their op, their expression, their store, the loops they span', () => {
    const keys = [
      specKey(rowSpec(undefined)),
      specKey(rowSpec({ outer: 1, values: [{ op: 'sum', expr: ex.input(0) }] })),
      specKey(rowSpec({ outer: 1, values: [{ op: 'max', expr: ex.input(0) }] })),
      specKey(rowSpec({ outer: 1, values: [{ op: 'sum', expr: ex.unary('exp', ex.input(0)) }] })),
      specKey(rowSpec({ outer: 1, values: [{ op: 'sum', expr: ex.input(0), store: 1 }] })),
      specKey(rowSpec({ outer: 0, values: [{ op: 'sum', expr: ex.input(0) }] })),
      specKey(rowSpec({ outer: 1, values: [{ op: 'sum', expr: ex.input(0) }, { op: 'sum', expr: ex.input(0) }] })),
    ];
    expect(new Set(keys).size).toBe(keys.length);
    // The same rows give the same key (a kernel is reused).
    expect(specKey(rowSpec({ outer: 1, values: [{ op: 'sum', expr: ex.input(0), store: 1 }] }))).toBe(keys[4]);
  });
});

describe('loopConstants', () => {
  it('without a list, returns a new one holding the constants of expr, then also, then the rows', () => {
    const spec: LoopSpec = {
      ...rowSpec({ outer: 1, values: [{ op: 'sum', expr: ex.binary('mul', ex.input(0), ex.const(3)) }] }),
      expr: ex.binary('add', ex.input(0), ex.const(1)),
      also: [{ input: 1, expr: ex.binary('sub', ex.input(1), ex.const(2)) }],
    };
    expect(loopConstants(spec)).toEqual([1, 2, 3]);
    expect(loopConstants(spec)).toEqual([1, 2, 3]);
    expect(loopConstants(spec, [9])).toEqual([9, 1, 2, 3]);
  });
});

describe('allocateArray', () => {
  it('gives each dtype its own typed array, zeroed, of the length asked', () => {
    const want = { float32: [Float32Array, 4], float64: [Float64Array, 8], int32: [Int32Array, 4], bool: [Uint8Array, 1], float16: [undefined, 2] } as const;
    for (const [dtype, [ctor, bytes]] of Object.entries(want)) {
      const a = allocateArray(dtype as keyof typeof want, 5);
      if (ctor !== undefined) expect(a, dtype).toBeInstanceOf(ctor);
      else expect(a.constructor.name, dtype).toBe('Float16Array');
      expect([a.length, a.byteLength, a.byteOffset], dtype).toEqual([5, 5 * bytes, 0]);
      expect(Array.from(a as ArrayLike<number>), dtype).toEqual([0, 0, 0, 0, 0]);
    }
  });
});
