/**
 * CPU corners found by mutation testing (seed 20261223's sample of kernels/cpu): a subexpression hoisted out of
 * the row's loops that reads a row value (`exp(max)` in x·exp(max over the row)) reads the row value, not an
 * operand array. (The same sample's live-bytes corner is in cpu-corners-4.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { runLoop } from '../../kernels/cpu/loop.js';
import { ex, type LoopSpec } from '../../src/lower/spec.js';

describe('a hoisted subexpression of a row value', () => {
  it('reads the row value', () => {
    // out[i, j] = x[i, j] · exp(max_j x[i, j]): exp(max) varies with i only, so it is computed once per row.
    const spec: LoopSpec = {
      kind: 'loop', label: 'x times exp of the row max', sizes: [2, 3], parallel: 2, reduceOp: null,
      inputs: [{ dtype: 'float64', offset: 0, strides: [3, 1] }],
      output: { dtype: 'float64', offset: 0, strides: [3, 1] },
      rows: { outer: 1, values: [{ op: 'max', expr: ex.input(0) }] },
      expr: ex.binary('mul', ex.input(0), ex.unary('exp', ex.input(1))), computeType: 'float64',
    };
    const x = Float64Array.from([0.5, -1, 0.25, 2, 1.5, -3]);
    const out = new Float64Array(6);
    runLoop(spec, [x], out);
    const want = [0, 1].flatMap((i) => {
      const row = [...x.subarray(3 * i, 3 * i + 3)];
      const m = Math.max(...row);
      return row.map((v) => v * Math.exp(m));
    });
    [...out].forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 12));
  });
});
