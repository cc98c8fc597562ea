/**
 * A corner of src/lower left by the seed-20261206 sample: a transpose whose output's unit-stride loop is exactly
 * `minExtent` long still counts (the bound is "at least"), on either loop. Expected values written by hand.
 */
import { describe, expect, it } from 'vitest';
import { buildLoop, transposeDims } from '../../src/lower/loops.js';
import { ex } from '../../src/lower/spec.js';
import type { LoopSpec } from '../../src/lower/spec.js';

/** out[i, j] = x[j, i] for x of shape [cols, rows]: the input walks loop 0 with stride 1, the output loop 1. */
function permute(rows: number, cols: number): LoopSpec {
  return buildLoop({
    label: 'ij->ji', outShape: [rows, cols], inputs: [{ dtype: 'float32', offset: 0, strides: [1, rows] }],
    output: { dtype: 'float32', offset: 0, strides: [cols, 1] }, expr: ex.input(0), computeType: 'float32',
  });
}

describe('transposeDims at its minimum extent', () => {
  it('takes loops exactly minExtent long and refuses one shorter, whichever loop it is', () => {
    // Loop 0 (a, the input's unit stride) has 5 points, loop 1 (b, the output's) 3.
    const spec = permute(5, 3);
    expect(spec.sizes).toEqual([5, 3]);
    expect(transposeDims(spec, 3)).toEqual({ a: 0, b: 1 });
    expect(transposeDims(spec, 4)).toBeNull();
    // Now a is the shorter loop: 3 points against b's 5.
    const other = permute(3, 5);
    expect(transposeDims(other, 3)).toEqual({ a: 0, b: 1 });
    expect(transposeDims(other, 4)).toBeNull();
  });
});
