/**
 * A corner of src/lower that a fresh mutation sample (seed 20261222) found unpinned: only a plain copy (one
 * input, every loop parallel) is a transpose to tile; a reduction or a second input is not, however its strides
 * look.
 */
import { describe, expect, it } from 'vitest';
import { transposeDims } from '../../src/lower/loops.js';
import { ex, type LoopSpec } from '../../src/lower/spec.js';

// ij -> ji over [20, 24]: the input is contiguous along loop 0, the output along loop 1.
const copy: LoopSpec = {
  kind: 'loop', label: 'ij -> ji', sizes: [24, 20], parallel: 2, reduceOp: null,
  inputs: [{ dtype: 'float32', offset: 0, strides: [1, 24] }],
  output: { dtype: 'float32', offset: 0, strides: [20, 1] }, expr: ex.input(0), computeType: 'float32',
};

describe('transposeDims', () => {
  it('finds the two loops of a transposing copy, and nothing in a reduction or a loop of two inputs', () => {
    expect(transposeDims(copy)).toEqual({ a: 0, b: 1 });
    // The same two loops with a third summed (out[j, i] = Σ_k x[k, i, j]): a reduction, not a transpose.
    const sum: LoopSpec = { ...copy, sizes: [24, 20, 3], reduceOp: 'sum', inputs: [{ dtype: 'float32', offset: 0, strides: [1, 24, 480] }] };
    expect(transposeDims(sum)).toBeNull();
    // A second input the expression does not read still makes it not a copy.
    const two: LoopSpec = { ...copy, inputs: [copy.inputs[0]!, { dtype: 'float32', offset: 0, strides: [20, 1] }] };
    expect(transposeDims(two)).toBeNull();
  });
});
