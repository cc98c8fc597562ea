/**
 * simplifyLoops' contract, seen through buildLoop (a fresh mutation sample, seed 20261213, found it unpinned):
 * every loop of extent 1 is dropped, except that a reduction whose reduce loops are all of extent 1 keeps the
 * last of them (so argmax writes an index); and adjacent loops merge only when they are of one kind, parallel
 * with parallel or reduce with reduce, never a reduce loop into the parallel loop before it.
 */
import { describe, expect, it } from 'vitest';
import { buildLoop } from '../../src/lower/loops.js';
import { ex } from '../../src/lower/spec.js';

const f32 = (strides: number[], offset = 0) => ({ dtype: 'float32' as const, offset, strides });

describe('unit loops', () => {
  it('are dropped from a map, wherever they are and whatever their strides', () => {
    const spec = buildLoop({
      label: 'map', outShape: [3, 1, 5, 1], inputs: [f32([5, 7, 1, 9])], output: f32([5, 11, 1, 13]),
      expr: ex.unary('neg', ex.input(0)), computeType: 'float32',
    });
    expect([spec.sizes, spec.parallel, spec.reduceOp]).toEqual([[15], 1, null]);
  });

  it('are dropped from a reduction that keeps a reduce loop longer than 1', () => {
    const spec = buildLoop({
      label: 'sum', outShape: [4, 1], reduceShape: [1, 6, 1], reduceOp: 'sum',
      inputs: [f32([6, 3, 5, 1, 7])], output: f32([1, 9]), expr: ex.input(0), computeType: 'float32',
    });
    expect([spec.sizes, spec.parallel, spec.reduceOp]).toEqual([[4, 6], 1, 'sum']);
    expect(spec.inputs[0]!.strides).toEqual([6, 1]);
  });

  it('leave one reduce loop when every reduce loop is of extent 1 (argmax still writes an index)', () => {
    const spec = buildLoop({
      label: 'argmax', outShape: [4], reduceShape: [1, 1], reduceOp: 'argmax',
      inputs: [f32([1, 3, 5])], output: { dtype: 'int32', offset: 0, strides: [1] }, expr: ex.input(0), computeType: 'float32',
    });
    expect([spec.sizes, spec.parallel, spec.reduceOp]).toEqual([[4, 1], 1, 'argmax']);
  });
});

describe('merging', () => {
  it('never folds a reduce loop into the parallel loop before it, even when the strides line up', () => {
    // A sum over the last axis of a contiguous [4, 3] array: input strides [3, 1] would merge as one run of 12.
    const spec = buildLoop({
      label: 'sum', outShape: [4], reduceShape: [3], reduceOp: 'sum',
      inputs: [f32([3, 1])], output: f32([1]), expr: ex.input(0), computeType: 'float32',
    });
    expect([spec.sizes, spec.parallel, spec.reduceOp]).toEqual([[4, 3], 1, 'sum']);
  });

  it('merges parallel loops with parallel ones and reduce loops with reduce ones', () => {
    const spec = buildLoop({
      label: 'sum', outShape: [2, 3], reduceShape: [4, 5], reduceOp: 'sum',
      inputs: [f32([60, 20, 5, 1])], output: f32([3, 1]), expr: ex.input(0), computeType: 'float32',
    });
    expect([spec.sizes, spec.parallel]).toEqual([[6, 20], 1]);
    expect(spec.inputs[0]!.strides).toEqual([20, 1]);
  });
});
