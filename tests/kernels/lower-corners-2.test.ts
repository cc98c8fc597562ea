/**
 * More corners of src/lower: the kernel key of every expression kind, the order of an expression's constants,
 * which specs count as a transpose (each condition on its own), and the loop simplifier's unit-loop, zero-extent
 * and merge rules. Each expected value is written out by hand.
 */
import { describe, expect, it } from 'vitest';
import { buildLoop, transposeDims } from '../../src/lower/loops.js';
import { ex, exprConstants, specKey } from '../../src/lower/spec.js';
import type { Expr, LoopSpec } from '../../src/lower/spec.js';

const f32 = (strides: number[], offset = 0): { dtype: 'float32'; offset: number; strides: number[] } => ({ dtype: 'float32', offset, strides });

function map1(expr: Expr, outShape: number[], inStrides: number[], outStrides: number[]): LoopSpec {
  return buildLoop({ label: 'map', outShape, inputs: [f32(inStrides)], output: f32(outStrides), expr, computeType: 'float32' });
}

describe('specKey and exprConstants', () => {
  it('names every expression kind, constants by position only', () => {
    const e = ex.select(ex.binary('gt', ex.input(0), ex.const(2)), ex.unary('exp', ex.input(1)), ex.cast('int32', ex.const(-3)));
    const spec = buildLoop({
      label: 'sel', outShape: [5], inputs: [f32([1]), { dtype: 'int32', offset: 0, strides: [1] }],
      output: { dtype: 'float64', offset: 0, strides: [1] }, expr: e, computeType: 'float64',
    });
    expect(specKey(spec)).toBe('loop:1:1:-:float32,int32->float64:float64:sel(gt($0,c),exp($1),int32(c))');
    expect(specKey({ ...spec, expr: ex.select(ex.binary('gt', ex.input(0), ex.const(9)), ex.unary('exp', ex.input(1)), ex.cast('int32', ex.const(0))) }))
      .toBe(specKey(spec));
  });

  it('a reduction names its op and its loop counts', () => {
    const spec = buildLoop({
      label: 'max', outShape: [3], reduceShape: [4], reduceOp: 'max', inputs: [f32([1, 3])], output: f32([1]),
      expr: ex.input(0), computeType: 'float32',
    });
    expect(specKey(spec)).toBe('loop:2:1:max:float32->float32:float32:$0');
  });

  it('constants come depth first, left to right, once per occurrence', () => {
    const e = ex.select(ex.const(1), ex.binary('add', ex.unary('neg', ex.const(2)), ex.cast('float32', ex.const(3))), ex.binary('mul', ex.input(0), ex.const(2)));
    expect(exprConstants(e)).toEqual([1, 2, 3, 2]);
    const into = [9];
    expect(exprConstants(ex.const(4), into)).toBe(into);
    expect(into).toEqual([9, 4]);
    expect(exprConstants(ex.input(0))).toEqual([]);
  });
});

describe('transposeDims', () => {
  // A [16, 16] permute: input walks loop 0 with stride 1, output walks loop 1 with stride 1.
  const permute = (expr: Expr = ex.input(0)): LoopSpec => map1(expr, [16, 16], [1, 16], [16, 1]);

  it('a copy or a chain of casts of input 0 whose unit-stride loops differ', () => {
    expect(transposeDims(permute())).toEqual({ a: 0, b: 1 });
    expect(transposeDims(permute(ex.cast('float64', ex.cast('int32', ex.input(0)))))).toEqual({ a: 0, b: 1 });
  });

  it('not a transpose: another expression, another input, two inputs, a reduction, one unit-stride loop', () => {
    expect(transposeDims(permute(ex.unary('neg', ex.input(0))))).toBeNull();
    expect(transposeDims(permute(ex.cast('float64', ex.unary('neg', ex.input(0)))))).toBeNull();
    expect(transposeDims({ ...permute(), expr: ex.input(1) })).toBeNull();
    const two = permute();
    expect(transposeDims({ ...two, inputs: [two.inputs[0]!, two.inputs[0]!] })).toBeNull();
    expect(transposeDims({ ...two, parallel: 1, reduceOp: 'sum' })).toBeNull();
    expect(transposeDims(map1(ex.input(0), [16, 16], [16, 1], [16, 1]))).toBeNull();
    expect(transposeDims(map1(ex.input(0), [16, 16], [32, 2], [16, 1]))).toBeNull();
    expect(transposeDims(map1(ex.input(0), [16, 16], [1, 16], [32, 2]))).toBeNull();
  });

  it('both loops must reach minExtent', () => {
    const spec = map1(ex.input(0), [8, 20], [1, 8], [20, 1]);
    expect(transposeDims(spec, 8)).toEqual({ a: 0, b: 1 });
    expect(transposeDims(spec, 9)).toBeNull();
    expect(transposeDims(map1(ex.input(0), [20, 8], [1, 20], [8, 1]), 9)).toBeNull();
    expect(transposeDims(spec)).toEqual({ a: 0, b: 1 });
  });
});

describe('buildLoop simplifies', () => {
  it('drops loops of extent 1 but keeps a zero-extent loop', () => {
    const spec = map1(ex.input(0), [3, 1, 0], [7, 100, 2], [5, 100, 1]);
    expect(spec.sizes).toEqual([3, 0]);
    expect(spec.inputs[0]!.strides).toEqual([7, 2]);
    expect(spec.output.strides).toEqual([5, 1]);
    expect(spec.parallel).toBe(2);
  });

  it('a reduction over only unit loops keeps its last one, so argmax still writes an index', () => {
    const spec = buildLoop({
      label: 'argmax', outShape: [4], reduceShape: [1, 1], reduceOp: 'argmax', inputs: [f32([1, 9, 8])],
      output: { dtype: 'int32', offset: 0, strides: [1] }, expr: ex.input(0), computeType: 'float32',
    });
    expect(spec.sizes).toEqual([4, 1]);
    expect(spec.parallel).toBe(1);
    expect(spec.reduceOp).toBe('argmax');
    expect(spec.inputs[0]!.strides).toEqual([1, 8]);
  });

  it('a reduction defaults to sum; a map has no reduceOp', () => {
    const sum = buildLoop({ label: 's', outShape: [2], reduceShape: [3], inputs: [f32([3, 1])], output: f32([1]), expr: ex.input(0), computeType: 'float32' });
    expect(sum.reduceOp).toBe('sum');
    const map = buildLoop({ label: 'm', outShape: [2], reduceOp: 'max', inputs: [f32([1])], output: f32([1]), expr: ex.input(0), computeType: 'float32' });
    expect(map.reduceOp).toBeNull();
  });

  it('merges only when every operand, output included, walks the two loops as one', () => {
    // Input contiguous [2, 3]; output transposed: not mergeable.
    expect(map1(ex.input(0), [2, 3], [3, 1], [1, 2]).sizes).toEqual([2, 3]);
    // Output contiguous, input with a padded row: not mergeable.
    expect(map1(ex.input(0), [2, 3], [4, 1], [3, 1]).sizes).toEqual([2, 3]);
    // Both contiguous: one loop.
    const merged = map1(ex.input(0), [2, 3], [3, 1], [3, 1]);
    expect(merged.sizes).toEqual([6]);
    expect(merged.inputs[0]!.strides).toEqual([1]);
  });

  it('never merges an output loop with a reduce loop, and merges reduce loops with each other', () => {
    const spec = buildLoop({
      label: 'sum', outShape: [2], reduceShape: [3, 4], reduceOp: 'sum', inputs: [f32([12, 4, 1])], output: f32([1]),
      expr: ex.input(0), computeType: 'float32',
    });
    expect(spec.sizes).toEqual([2, 12]);
    expect(spec.parallel).toBe(1);
    expect(spec.inputs[0]!.strides).toEqual([12, 1]);
    expect(spec.output.strides).toEqual([1]);
  });

  it('keeps its own copy of the strides it was given', () => {
    const strides = [1];
    const spec = buildLoop({ label: 'c', outShape: [4], inputs: [f32(strides)], output: f32([1]), expr: ex.input(0), computeType: 'float32' });
    strides[0] = 99;
    expect(spec.inputs[0]!.strides).toEqual([1]);
  });
});
