/**
 * Second-order gradients of the autograd rule table, driven by the table: every op of every rule family (the
 * BINARY_OPS, UNARY_OPS and REDUCE_OPS tables of src/lower/spec.ts, binary ops tensor-tensor, tensor-scalar and
 * scalar-tensor) and every rule function of src/autograd/rules.ts (`grads`) has an entry that gradgradchecks it
 * in float64 on random shapes, broadcasting and contiguous, strided and reversed inputs, or checks that it has no
 * gradient. A new op or rule function without an entry fails 'every rule has a second-order check', as
 * table.test.ts does for first order.
 *
 * Below the table: the rules that live beside their ops (views, cast, copies, the einsum rule) and composite ops.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Tensor, cat, diagonal, einsum, where } from '../../src/index.js';
import { binaryScalarLeft, unary } from '../../src/runtime/ops.js';
import { record } from '../../src/autograd/record.js';
import { AssertionError } from '../../src/testing/index.js';
import { BINARY_RULES, NOT_DIFFERENTIABLE, REDUCE_RULES, UNARY_RULES, grads } from '../../src/autograd/rules.js';
import { BINARY_OPS, REDUCE_OPS, UNARY_OPS } from '../../src/lower/spec.js';
import { gradcheck, gradgradcheck, nonContiguous, randomTensor, type GradcheckOptions } from './gradcheck.js';

const RUNS = { numRuns: 8 };
const shapeArb = fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 3 });
const seedArb = fc.integer({ min: 1, max: 2 ** 30 });

/** A random tensor laid out as `layout` says: 0 contiguous, 1 every other element, 2 that read backwards. */
function laidOut(shape: readonly number[], seed: number, lo: number, hi: number, layout: number): Tensor {
  const t = randomTensor(shape, seed, lo, hi);
  return layout % 3 === 0 ? t : nonContiguous(t, layout % 3 === 2);
}

/** Gradgradchecks fn over random shapes and layouts (the second input may broadcast). */
function check(fn: (...xs: Tensor[]) => Tensor, ranges: [number, number][], options: GradcheckOptions = {}): void {
  fc.assert(fc.property(shapeArb, seedArb, fc.boolean(), fc.nat(), (shape, seed, bcast, layout) => {
    const inputs = ranges.map(([lo, hi], i) => laidOut(i === 1 && bcast ? shape.map(() => 1) : shape, seed + i, lo, hi, layout + i));
    gradgradcheck(fn, inputs, options);
  }), RUNS);
}

/** An op with a bool or integer result: it leaves the graph, so it has no gradient of any order. */
function noGradient(fn: (x: Tensor) => Tensor): void {
  const x = randomTensor([2, 3], 7);
  x.requiresGrad = true;
  const y = fn(x);
  expect(y.requiresGrad).toBe(false);
  expect(y.dtype === 'bool' || y.dtype === 'int32').toBe(true);
}

const smooth: [number, number] = [-2, 2];
const positive: [number, number] = [0.5, 2];

/** One entry per (family, op) and per rule function: what checks its second-order gradient. */
const TABLE: Record<string, () => void> = {
  // a op b, broadcasting
  'binary:add': () => check((a, b) => a.add(b), [smooth, smooth]),
  'binary:sub': () => check((a, b) => a.sub(b), [smooth, smooth]),
  'binary:mul': () => check((a, b) => a.mul(b), [smooth, smooth]),
  'binary:div': () => check((a, b) => a.div(b), [smooth, positive]),
  'binary:pow': () => check((a, b) => a.pow(b), [positive, [-1.5, 1.5]]),
  'binary:max': () => check((a, b) => a.maximum(b).mul(a), [smooth, smooth]),
  'binary:min': () => check((a, b) => a.minimum(b).mul(b), [smooth, smooth]),
  'binary:mod': () => check((a, b) => a.remainder(b).mul(b), [[0.1, 1.4], [1.5, 2]]),
  // Piecewise constant: its gradient is zero (and does not even depend on the output gradient).
  'binary:floordiv': () => check((a, b) => a.floorDivide(b), [[0.1, 3], [0.5, 2]]),
  'binary:eq': () => noGradient((x) => x.eq(x.neg())),
  'binary:ne': () => noGradient((x) => x.ne(x.neg())),
  'binary:lt': () => noGradient((x) => x.lt(x.neg())),
  'binary:le': () => noGradient((x) => x.le(x.neg())),
  'binary:gt': () => noGradient((x) => x.gt(x.neg())),
  'binary:ge': () => noGradient((x) => x.ge(x.neg())),
  'binary:and': () => noGradient((x) => x.gt(0).logicalAnd(x.lt(1))),
  'binary:or': () => noGradient((x) => x.gt(0).logicalOr(x.lt(1))),
  'binary:xor': () => noGradient((x) => x.gt(0).logicalXor(x.lt(1))),
  // a op scalar
  'binaryScalar:add': () => check((a) => a.add(1.5).square(), [smooth]),
  'binaryScalar:sub': () => check((a) => a.sub(1.5).square(), [smooth]),
  'binaryScalar:mul': () => check((a) => a.mul(-2.5).square(), [smooth]),
  'binaryScalar:div': () => check((a) => a.div(-2.5).square(), [smooth]),
  'binaryScalar:pow': () => check((a) => a.pow(2.5), [positive]),
  'binaryScalar:max': () => check((a) => a.maximum(0.3).mul(a), [smooth]),
  'binaryScalar:min': () => check((a) => a.minimum(0.3).mul(a), [smooth]),
  'binaryScalar:mod': () => check((a) => a.remainder(1.7).mul(a), [[0.1, 1.6]]),
  'binaryScalar:floordiv': () => check((a) => a.floorDivide(0.7), [smooth]),
  'binaryScalar:eq': () => noGradient((x) => x.eq(0)),
  'binaryScalar:ne': () => noGradient((x) => x.ne(0)),
  'binaryScalar:lt': () => noGradient((x) => x.lt(0)),
  'binaryScalar:le': () => noGradient((x) => x.le(0)),
  'binaryScalar:gt': () => noGradient((x) => x.gt(0)),
  'binaryScalar:ge': () => noGradient((x) => x.ge(0)),
  'binaryScalar:and': () => noGradient((x) => x.gt(0).logicalAnd(1)),
  'binaryScalar:or': () => noGradient((x) => x.gt(0).logicalOr(0)),
  'binaryScalar:xor': () => noGradient((x) => x.gt(0).logicalXor(1)),
  // scalar op b
  'binaryScalarLeft:add': () => check((b) => binaryScalarLeft('add', 1.5, b).square(), [smooth]),
  'binaryScalarLeft:sub': () => check((b) => binaryScalarLeft('sub', 1.5, b).square(), [smooth]),
  'binaryScalarLeft:mul': () => check((b) => binaryScalarLeft('mul', -2.5, b).square(), [smooth]),
  'binaryScalarLeft:div': () => check((b) => binaryScalarLeft('div', -2.5, b), [positive]),
  'binaryScalarLeft:pow': () => check((b) => binaryScalarLeft('pow', 2.5, b), [smooth]),
  'binaryScalarLeft:max': () => check((b) => binaryScalarLeft('max', 0.3, b).mul(b), [smooth]),
  'binaryScalarLeft:min': () => check((b) => binaryScalarLeft('min', 0.3, b).mul(b), [smooth]),
  'binaryScalarLeft:mod': () => check((b) => binaryScalarLeft('mod', 2.3, b).mul(b), [[0.9, 1.1]]),
  'binaryScalarLeft:floordiv': () => check((b) => binaryScalarLeft('floordiv', 2.3, b), [[0.5, 2]]),
  'binaryScalarLeft:eq': () => noGradient((x) => binaryScalarLeft('eq', 0, x)),
  'binaryScalarLeft:ne': () => noGradient((x) => binaryScalarLeft('ne', 0, x)),
  'binaryScalarLeft:lt': () => noGradient((x) => binaryScalarLeft('lt', 0, x)),
  'binaryScalarLeft:le': () => noGradient((x) => binaryScalarLeft('le', 0, x)),
  'binaryScalarLeft:gt': () => noGradient((x) => binaryScalarLeft('gt', 0, x)),
  'binaryScalarLeft:ge': () => noGradient((x) => binaryScalarLeft('ge', 0, x)),
  'binaryScalarLeft:and': () => noGradient((x) => binaryScalarLeft('and', 1, x.gt(0))),
  'binaryScalarLeft:or': () => noGradient((x) => binaryScalarLeft('or', 0, x.gt(0))),
  'binaryScalarLeft:xor': () => noGradient((x) => binaryScalarLeft('xor', 1, x.gt(0))),
  // unary
  'unary:neg': () => check((x) => x.neg().square(), [smooth]),
  'unary:abs': () => check((x) => x.abs().mul(x), [positive]),
  'unary:exp': () => check((x) => x.exp(), [smooth]),
  'unary:log': () => check((x) => x.log(), [positive]),
  'unary:sqrt': () => check((x) => x.sqrt(), [positive]),
  'unary:rsqrt': () => check((x) => x.rsqrt(), [positive]),
  'unary:relu': () => check((x) => x.relu().mul(x), [[0.1, 2]]),
  'unary:sigmoid': () => check((x) => x.sigmoid(), [smooth]),
  'unary:tanh': () => check((x) => x.tanh(), [smooth]),
  'unary:gelu': () => check((x) => x.gelu(), [smooth]),
  'unary:erf': () => check((x) => x.erf(), [smooth]),
  'unary:sin': () => check((x) => x.sin(), [smooth]),
  'unary:cos': () => check((x) => x.cos(), [smooth]),
  'unary:floor': () => check((x) => x.floor(), [smooth]),
  'unary:ceil': () => check((x) => x.ceil(), [smooth]),
  'unary:round': () => check((x) => x.round(), [smooth]),
  'unary:sign': () => check((x) => x.sign(), [smooth]),
  'unary:reciprocal': () => check((x) => x.reciprocal(), [positive]),
  'unary:not': () => noGradient((x) => x.gt(0).logicalNot()),
  'unary:square': () => check((x) => x.square().mul(x), [smooth]),
  'unary:isnan': () => noGradient((x) => x.isnan()),
  // reductions over some dims (keepdim or not) and over everything, squared so the second order is not zero
  'reduce:sum': () => check((x) => x.sum([0], false).square().sum(), [smooth]),
  'reduce:prod': () => check((x) => x.prod([0], true), [positive]),
  'reduce:max': () => check((x) => x.max([0], false).square(), [smooth]),
  'reduce:min': () => check((x) => x.min().square(), [smooth]),
  'reduce:argmax': () => noGradient((x) => x.argmax()),
  'reduce:argmin': () => noGradient((x) => x.argmin()),
  'reduce:any': () => noGradient((x) => x.gt(0).any()),
  'reduce:all': () => noGradient((x) => x.gt(0).all()),
  // the rule functions of rules.ts (`grads`)
  'sumTo': () => check((a, b) => a.mul(b), [smooth, smooth]),
  'scatterInto': () => check((x) => x.reshape([-1]).slice(0, 0, undefined, 2).square(), [smooth]),
  'where': () => check((a, b) => where(a.gt(0.1), a.square(), b.mul(a)), [smooth, smooth]),
  'matmul': () => fc.assert(fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), seedArb, fc.nat(), (m, k, n, s, layout) => {
    gradgradcheck((a, b) => a.matmul(b).tanh(), [laidOut([m, k], s, -1, 1, layout), laidOut([k, n], s + 1, -1, 1, layout + 1)]);
  }), RUNS),
  'cat': () => fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }), fc.integer({ min: 1, max: 3 }), seedArb, (shape, extra, s) => {
    const other = [extra, ...shape.slice(1)];
    gradgradcheck((a, b) => cat([a, b, a.mul(2)], 0).square(), [randomTensor(shape, s), nonContiguous(randomTensor(other, s + 1), true)]);
  }), RUNS),
  'pick': () => check((a, b) => a.mul(b).div(b.add(3)), [smooth, smooth]),
  'binaryGrads': () => check((a, b) => a.pow(2).mul(b), [smooth, smooth]),
  'reduceGrad': () => check((x) => x.prod([0], false).mul(x.sum()), [positive]),
};

describe('second-order gradients of the autograd rule table', () => {
  it('every rule has a second-order check (a new op or rule function without one fails here)', () => {
    const expected: string[] = [];
    for (const op of Object.keys(BINARY_OPS)) for (const f of ['binary', 'binaryScalar', 'binaryScalarLeft']) expected.push(`${f}:${op}`);
    for (const op of Object.keys(UNARY_OPS)) expected.push(`unary:${op}`);
    for (const op of REDUCE_OPS) expected.push(`reduce:${op}`);
    expected.push(...Object.keys(grads));
    expect(expected.length).toBeGreaterThan(80);
    expect(expected.filter((k) => !(k in TABLE)), 'rules without an entry in TABLE').toEqual([]);
    expect(Object.keys(TABLE).filter((k) => !expected.includes(k)), 'entries for rules that do not exist').toEqual([]);
  });

  it('exactly the ops marked not differentiable are checked for having no gradient', () => {
    const marked = [
      ...Object.entries(BINARY_RULES).filter(([, r]) => r === NOT_DIFFERENTIABLE).flatMap(([op]) => ['binary', 'binaryScalar', 'binaryScalarLeft'].map((f) => `${f}:${op}`)),
      ...Object.entries(UNARY_RULES).filter(([, r]) => r === NOT_DIFFERENTIABLE).map(([op]) => `unary:${op}`),
      ...Object.entries(REDUCE_RULES).filter(([, r]) => r === NOT_DIFFERENTIABLE).map(([op]) => `reduce:${op}`),
    ];
    const noGradientEntries = Object.entries(TABLE).filter(([, run]) => run.toString().includes('noGradient')).map(([k]) => k);
    expect(noGradientEntries.sort()).toEqual(marked.sort());
  });

  for (const [key, run] of Object.entries(TABLE)) it(key, run);
});

describe('second-order gradients of the rules beside their ops', () => {
  it('views: reshape, permute, transpose, slice with negative steps, select, narrow, index, expand, squeeze', () => check((x) => {
    const v = x.reshape([-1]).flip(0);
    const w = x.ndim >= 2 ? x.transpose(0, 1).slice(0, 0, undefined, -1).select(0, 0) : x.unsqueeze(0).expand([2, ...x.shape]).select(0, 1);
    return v.square().sum().mul(w.sin().sum());
  }, [smooth]));

  it('diagonal and copies (contiguous, clone)', () => fc.assert(fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), seedArb, fc.nat(), (m, n, s, layout) => {
    gradgradcheck((x) => diagonal(x.mul(x), 0, 0, 1).mul(x.T.contiguous().clone().sum()), [laidOut([m, n], s, -2, 2, layout)]);
  }), RUNS));

  it('cast (through float32, so with float32 tolerances and a larger step)', () => check(
    (x) => x.cast('float32').square().cast('float64').mul(x),
    [smooth],
    { eps: 1e-3, rtol: 1e-3, atol: 1e-3 },
  ));

  it('einsum: contractions, diagonals (repeated indices), broadcasting and axes summed in one operand', () => {
    const cases: [string, number[][]][] = [
      ['ij,jk->ik', [[2, 3], [3, 2]]], ['ii->i', [[3, 3]]], ['iij->ji', [[2, 2, 3]]], ['ii,i->', [[3, 3], [1]]],
      ['ij,k->k', [[2, 3], [2]]], ['...ij,...jk->...ik', [[2, 1, 2, 3], [2, 3, 2]]], ['ij,ij,ji->', [[2, 2], [2, 2], [2, 2]]],
    ];
    cases.forEach(([pattern, shapes], c) => {
      for (let layout = 0; layout < 3; layout++) {
        gradgradcheck((...xs) => einsum(pattern, ...xs), shapes.map((sh, i) => laidOut(sh, 31 * c + i, -2, 2, layout + i)));
      }
    });
  });

  it('composite ops: softmax, logSoftmax, norm, cumsum, cumprod, mean and var', () => check((x) => {
    const d = x.ndim - 1;
    if (d < 0) return x.exp().mul(x);
    return x.softmax(d).mul(x.logSoftmax(d)).sum()
      .add(x.norm(2, d).sum()).add(x.cumsum(d).square().sum()).add(x.cumprod(d).sum()).add(x.mean().square()).add(x.size > 1 ? x.var().mul(x.sum()) : x.sum());
  }, [positive]));
});

describe('gradgradcheck itself', () => {
  /** sin with a rule that is right to first order but reads its input detached, so it has no second order. */
  const sinDetached = (x: Tensor): Tensor => {
    const out = unary('sin', x.detach());
    record('sin', [x], out, (g) => [g.mul(x.detach().cos())]);
    return out;
  };

  it('fails a rule whose gradient is right but not differentiable, which gradcheck passes', () => {
    const x = nonContiguous(randomTensor([2, 3], 5), true);
    gradcheck(sinDetached, [x]);
    let error: unknown = null;
    try {
      gradgradcheck(sinDetached, [x]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AssertionError);
    expect((error as Error).message).toContain('gradgradcheck failed: the gradient of the vector-Jacobian product with respect to input 0');
  });

  it('passes functions whose first-order gradient is constant or does not depend on the output gradient', () => {
    gradgradcheck((x, y) => x.mul(2).add(y), [randomTensor([3], 1), randomTensor([3], 2)]);
    gradgradcheck((x) => x.floor().add(x.sign()), [randomTensor([4], 3)]);
  });

  it('holds constant inputs fixed and reports the cotangent last', () => {
    const r = gradgradcheck((x, w) => x.mul(w).sin(), [randomTensor([2, 2], 1), randomTensor([2, 2], 2)], { constant: [1] });
    expect(r.analytic.map((a) => a.length)).toEqual([4, 0, 4]);
  });
});
