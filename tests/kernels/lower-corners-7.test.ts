/**
 * A corner of src/lower that a fresh mutation sample (seed 20261221) found unobserved: a loop spec's key tells
 * apart row values stored into different inputs (two kernels that store a row's value into input 0 and input 1
 * must not share a compiled program).
 */
import { describe, expect, it } from 'vitest';
import { ex, specKey, type LoopSpec } from '../../src/lower/spec.js';

describe("a loop spec's key", () => {
  it('names where each row value is stored, and whether it is', () => {
    const spec = (store: number | undefined): LoopSpec => ({
      kind: 'loop', label: 'x - max', sizes: [3, 5], parallel: 2, reduceOp: null,
      inputs: [{ dtype: 'float32', offset: 0, strides: [5, 1] }, { dtype: 'float32', offset: 0, strides: [1, 0] }, { dtype: 'float32', offset: 0, strides: [1, 0] }],
      output: { dtype: 'float32', offset: 0, strides: [5, 1] }, computeType: 'float32',
      expr: ex.binary('sub', ex.input(0), ex.input(3)),
      rows: { outer: 1, values: [{ op: 'max', expr: ex.input(0), ...(store === undefined ? {} : { store }) }] },
    });
    const keys = [undefined, 1, 2].map((s) => specKey(spec(s)));
    expect(new Set(keys).size).toBe(3);
  });
});
