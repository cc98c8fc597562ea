/**
 * The autograd rule table, driven by itself: every op of every rule family (the BINARY_OPS, UNARY_OPS and
 * REDUCE_OPS tables of src/lower/spec.ts, binary ops applied tensor-tensor, tensor-scalar and scalar-tensor) and
 * every other rule function of src/autograd/rules.ts has an entry here that gradchecks it, or checks that it has
 * no gradient.
 * A new op or rule without an entry fails 'every rule has a gradcheck'.
 *
 * Below the table: PyTorch's maximum/minimum and remainder gradient formulas (tools/autograd/derivatives.yaml),
 * written plainly, against einjit's gradients at hundreds of points including ties, zeros, -0, infinities and NaN.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Tensor, tensor, cat, where } from '../../src/index.js';
import { binaryScalarLeft } from '../../src/runtime/ops.js';
import { BINARY_RULES, NOT_DIFFERENTIABLE, REDUCE_RULES, UNARY_RULES } from '../../src/autograd/rules.js';
import { BINARY_OPS, REDUCE_OPS, UNARY_OPS, type BinaryOp } from '../../src/lower/spec.js';
import { gradcheck, randomTensor } from './gradcheck.js';

const RUNS = { numRuns: 16 };
const shapeArb = fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 3 });
const seedArb = fc.integer({ min: 1, max: 2 ** 30 });

/** Gradchecks fn over random shapes with inputs drawn from the given ranges (the second input broadcasts). */
function check(fn: (...xs: Tensor[]) => Tensor, ranges: [number, number][]): void {
  fc.assert(fc.property(shapeArb, seedArb, fc.boolean(), (shape, seed, bcast) => {
    const inputs = ranges.map(([lo, hi], i) => randomTensor(i === 1 && bcast ? shape.map(() => 1) : shape, seed + i, lo, hi));
    gradcheck(fn, inputs);
  }), RUNS);
}

/** A piecewise-constant op: its gradient is zero everywhere it is defined. */
function zeroGradient(fn: (x: Tensor) => Tensor): void {
  fc.assert(fc.property(shapeArb, seedArb, (shape, seed) => {
    const x = randomTensor(shape, seed, -3, 3);
    x.requiresGrad = true;
    fn(x).sum().backward();
    expect(Array.from(x.grad!.dataSync(), Number).every((v) => v === 0)).toBe(true);
  }), RUNS);
}

/** An op with a bool or integer result: it leaves the graph. */
function noGradient(fn: (x: Tensor) => Tensor): void {
  const x = randomTensor([2, 3], 7);
  x.requiresGrad = true;
  const y = fn(x);
  expect(y.requiresGrad).toBe(false);
  expect(y.dtype === 'bool' || y.dtype === 'int32').toBe(true);
}

const smooth: [number, number] = [-2, 2];
const positive: [number, number] = [0.5, 2];

/** One entry per (family, op): what checks its rule. */
const TABLE: Record<string, () => void> = {
  // a op b, broadcasting
  'binary:add': () => check((a, b) => a.add(b), [smooth, smooth]),
  'binary:sub': () => check((a, b) => a.sub(b), [smooth, smooth]),
  'binary:mul': () => check((a, b) => a.mul(b), [smooth, smooth]),
  'binary:div': () => check((a, b) => a.div(b), [smooth, positive]),
  'binary:pow': () => check((a, b) => a.pow(b), [positive, [-1.5, 1.5]]),
  'binary:max': () => check((a, b) => a.maximum(b), [smooth, smooth]),
  'binary:min': () => check((a, b) => a.minimum(b), [smooth, smooth]),
  'binary:mod': () => check((a, b) => a.remainder(b), [[0.1, 1.4], [1.5, 2]]),
  'binary:floordiv': () => zeroGradient((x) => x.floorDivide(randomTensor(x.shape, 3, 0.5, 2))),
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
  'binaryScalar:add': () => check((a) => a.add(1.5), [smooth]),
  'binaryScalar:sub': () => check((a) => a.sub(1.5), [smooth]),
  'binaryScalar:mul': () => check((a) => a.mul(-2.5), [smooth]),
  'binaryScalar:div': () => check((a) => a.div(-2.5), [smooth]),
  'binaryScalar:pow': () => check((a) => a.pow(2.5), [positive]),
  'binaryScalar:max': () => check((a) => a.maximum(0.3), [smooth]),
  'binaryScalar:min': () => check((a) => a.minimum(0.3), [smooth]),
  'binaryScalar:mod': () => check((a) => a.remainder(1.7), [[0.1, 1.6]]),
  'binaryScalar:floordiv': () => zeroGradient((x) => x.floorDivide(0.7)),
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
  'binaryScalarLeft:add': () => check((b) => binaryScalarLeft('add', 1.5, b), [smooth]),
  'binaryScalarLeft:sub': () => check((b) => binaryScalarLeft('sub', 1.5, b), [smooth]),
  'binaryScalarLeft:mul': () => check((b) => binaryScalarLeft('mul', -2.5, b), [smooth]),
  'binaryScalarLeft:div': () => check((b) => binaryScalarLeft('div', -2.5, b), [positive]),
  'binaryScalarLeft:pow': () => check((b) => binaryScalarLeft('pow', 2.5, b), [smooth]),
  'binaryScalarLeft:max': () => check((b) => binaryScalarLeft('max', 0.3, b), [smooth]),
  'binaryScalarLeft:min': () => check((b) => binaryScalarLeft('min', 0.3, b), [smooth]),
  'binaryScalarLeft:mod': () => check((b) => binaryScalarLeft('mod', 2.3, b), [[0.9, 1.1]]),
  'binaryScalarLeft:floordiv': () => zeroGradient((x) => binaryScalarLeft('floordiv', 2.3, x.abs().add(0.5))),
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
  'unary:neg': () => check((x) => x.neg(), [smooth]),
  'unary:abs': () => check((x) => x.abs(), [positive]) ,
  'unary:exp': () => check((x) => x.exp(), [smooth]),
  'unary:log': () => check((x) => x.log(), [positive]),
  'unary:sqrt': () => check((x) => x.sqrt(), [positive]),
  'unary:rsqrt': () => check((x) => x.rsqrt(), [positive]),
  'unary:relu': () => check((x) => x.relu(), [[0.1, 2]]),
  'unary:sigmoid': () => check((x) => x.sigmoid(), [smooth]),
  'unary:tanh': () => check((x) => x.tanh(), [smooth]),
  'unary:gelu': () => check((x) => x.gelu(), [smooth]),
  'unary:erf': () => check((x) => x.erf(), [smooth]),
  'unary:sin': () => check((x) => x.sin(), [smooth]),
  'unary:cos': () => check((x) => x.cos(), [smooth]),
  'unary:floor': () => zeroGradient((x) => x.floor()),
  'unary:ceil': () => zeroGradient((x) => x.ceil()),
  'unary:round': () => zeroGradient((x) => x.round()),
  'unary:sign': () => zeroGradient((x) => x.sign()),
  'unary:reciprocal': () => check((x) => x.reciprocal(), [positive]),
  'unary:not': () => noGradient((x) => x.gt(0).logicalNot()),
  'unary:square': () => check((x) => x.square(), [smooth]),
  'unary:isnan': () => noGradient((x) => x.isnan()),
  // reductions over some dims (keepdim or not) and over everything
  'reduce:sum': () => check((x) => x.sum([0], false).sum(), [smooth]),
  'reduce:prod': () => check((x) => x.prod([0], true), [positive]),
  'reduce:max': () => check((x) => x.max([0], false), [smooth]),
  'reduce:min': () => check((x) => x.min(), [smooth]),
  'reduce:argmax': () => noGradient((x) => x.argmax()),
  'reduce:argmin': () => noGradient((x) => x.argmin()),
  'reduce:any': () => noGradient((x) => x.gt(0).any()),
  'reduce:all': () => noGradient((x) => x.gt(0).all()),
  // the other rule functions
  'where': () => check((a, b) => where(a.gt(0.1), a, b), [smooth, smooth]),
  'matmul': () => fc.assert(fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), seedArb, (m, k, n, s) => {
    gradcheck((a, b) => a.matmul(b), [randomTensor([m, k], s), randomTensor([k, n], s + 1)]);
  }), RUNS),
  'cat': () => fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }), fc.integer({ min: 1, max: 3 }), seedArb, (shape, extra, s) => {
    const other = [extra, ...shape.slice(1)];
    gradcheck((a, b) => cat([a, b, a.mul(2)], 0), [randomTensor(shape, s), randomTensor(other, s + 1)]);
  }), RUNS),
  // helpers every rule uses, exercised through broadcasting (sumTo) and views (scatterInto)
  'sumTo': () => check((a, b) => a.add(b), [smooth, smooth]),
  'scatterInto': () => check((x) => x.reshape([-1]).slice(0, 0, undefined, 2).mul(2), [smooth]),
};

describe('the autograd rule table', () => {
  it('every rule has a gradcheck (a new op or rule function without one fails here)', () => {
    const expected: string[] = [];
    for (const op of Object.keys(BINARY_OPS)) for (const f of ['binary', 'binaryScalar', 'binaryScalarLeft']) expected.push(`${f}:${op}`);
    for (const op of Object.keys(UNARY_OPS)) expected.push(`unary:${op}`);
    for (const op of REDUCE_OPS) expected.push(`reduce:${op}`);
    for (const key of ['sumTo', 'scatterInto', 'where', 'matmul', 'cat']) expected.push(key);
    expect(expected.length).toBeGreaterThan(80);
    const missing = expected.filter((k) => !(k in TABLE));
    expect(missing, 'rules without an entry in TABLE').toEqual([]);
    // The rule tables hold exactly the ops of their unions (the type checker holds them to that too).
    expect(Object.keys(BINARY_RULES).sort()).toEqual(Object.keys(BINARY_OPS).sort());
    expect(Object.keys(UNARY_RULES).sort()).toEqual(Object.keys(UNARY_OPS).sort());
    expect(Object.keys(REDUCE_RULES).sort()).toEqual([...REDUCE_OPS].sort());
  });

  it('an op marked not differentiable returns bool or int32, so it leaves the graph', () => {
    const marked = [
      ...Object.entries(BINARY_RULES).filter(([, r]) => r === NOT_DIFFERENTIABLE).map(([op]) => `binary:${op}`),
      ...Object.entries(UNARY_RULES).filter(([, r]) => r === NOT_DIFFERENTIABLE).map(([op]) => `unary:${op}`),
      ...Object.entries(REDUCE_RULES).filter(([, r]) => r === NOT_DIFFERENTIABLE).map(([op]) => `reduce:${op}`),
    ];
    expect(marked.length).toBeGreaterThan(10);
    // Their TABLE entries are noGradient checks: each asserts the result's dtype is bool or int32.
    for (const key of marked) expect(TABLE[key]!.toString(), key).toContain('noGradient');
  });

  for (const [key, run] of Object.entries(TABLE)) it(key, run);
});

// ---------------------------------------------------------------------------------------------------------------
// PyTorch's formulas, written out. derivatives.yaml:
//   maximum: self: at::where(self == other, grad / 2, grad).masked_fill_(self < other, 0)
//            other: at::where(self == other, grad / 2, grad).masked_fill_(self > other, 0)
//   minimum: the same with < and > exchanged.
//   remainder: self: grad;  other: -grad * self.div(other, rounding_mode="floor")

function torchMaxWeights(a: number, b: number, op: 'max' | 'min'): [number, number] {
  const tie = a === b;
  const aLoses = op === 'max' ? a < b : a > b;
  const bLoses = op === 'max' ? a > b : a < b;
  return [aLoses ? 0 : tie ? 0.5 : 1, bLoses ? 0 : tie ? 0.5 : 1];
}

const special = fc.constantFrom(0, -0, 1, -1, 2.5, Infinity, -Infinity, NaN);
const valueArb = fc.oneof(special, special, fc.double({ min: -4, max: 4, noNaN: true }), fc.integer({ min: -3, max: 3 }));

function gradOf(fn: (x: Tensor, y: Tensor) => Tensor, a: number[], b: number[]): [number[], number[]] {
  const x = tensor(a, { dtype: 'float64', requiresGrad: true });
  const y = tensor(b, { dtype: 'float64', requiresGrad: true });
  fn(x, y).backward(tensor(a.map((_, i) => i + 1), { dtype: 'float64' }));
  const values = (t: Tensor): number[] => (t.grad === null ? [] : Array.from(t.grad.dataSync(), Number));
  return [values(x), values(y)];
}

describe("maximum/minimum gradients are PyTorch's at ties, zeros, -0, infinities and NaN", () => {
  const pairs = fc.array(fc.tuple(valueArb, valueArb), { minLength: 1, maxLength: 6 });
  for (const op of ['max', 'min'] as const) {
    const method = op === 'max' ? 'maximum' : 'minimum';
    it(`${method}(a, b) for tensors`, () => fc.assert(fc.property(pairs, (ps) => {
      const a = ps.map((p) => p[0]);
      const b = ps.map((p) => p[1]);
      const [ga, gb] = gradOf((x, y) => x[method](y), a, b);
      ps.forEach(([u, v], i) => {
        const [wa, wb] = torchMaxWeights(u, v, op);
        expect([ga[i], gb[i]], `${method}(${u}, ${v})`).toEqual([wa * (i + 1), wb * (i + 1)]);
      });
    }), { numRuns: 400 }));

    it(`${method}(a, scalar) and ${method}(scalar, b)`, () => fc.assert(fc.property(fc.array(valueArb, { minLength: 1, maxLength: 6 }), valueArb, (xs, s) => {
      const [gRight] = gradOf((x) => x[method](s), xs, xs);
      const [gLeft] = gradOf((x) => binaryScalarLeft(op, s, x), xs, xs);
      xs.forEach((u, i) => {
        expect(gRight[i], `${method}(${u}, scalar ${s})`).toBe(torchMaxWeights(u, s, op)[0] * (i + 1));
        expect(gLeft[i], `${method}(scalar ${s}, ${u})`).toBe(torchMaxWeights(s, u, op)[1] * (i + 1));
      });
    }), { numRuns: 400 }));
  }

  it('a tie with a scalar gives 1/2 (maximum(x, 2) at x = 2, minimum at -0 against 0)', () => {
    expect(gradOf((x) => x.maximum(2), [2, 1, 3], [0, 0, 0])[0]).toEqual([0.5, 0, 3]);
    expect(gradOf((x) => x.minimum(0), [-0, 0, -1], [0, 0, 0])[0]).toEqual([0.5, 1, 3]);
  });
});

describe("remainder gradients are PyTorch's", () => {
  // Points where a / b is not within 1e-9 of an integer, where the gradient is defined.
  const awayFromJumps = (a: number, b: number): boolean => b !== 0 && Math.abs(a / b - Math.round(a / b)) > 1e-9 && Number.isFinite(a / b);
  const finite = fc.double({ min: -50, max: 50, noNaN: true, noDefaultInfinity: true });
  const nonzero = fc.double({ min: 0.25, max: 8, noNaN: true }).chain((m) => fc.constantFrom(m, -m));

  it('remainder(scalar, b): d/db = -floor(scalar / b)', () => fc.assert(fc.property(
    finite.filter((s) => Math.abs(s) > 1e-3).chain((s) => fc.tuple(fc.constant(s), fc.array(nonzero.filter((b) => awayFromJumps(s, b)), { minLength: 1, maxLength: 6 }))),
    ([s, bs]) => {
      const [gb] = gradOf((y) => binaryScalarLeft('mod', s, y), bs, bs);
      bs.forEach((b, i) => expect(gb[i]! + 0, `remainder(${s}, ${b})`).toBe(-Math.floor(s / b) * (i + 1) + 0));
    }), { numRuns: 300 }));

  it('remainder(a, b) and remainder(a, scalar): d/da = 1, d/db = -floor(a / b)', () => fc.assert(fc.property(
    fc.array(fc.tuple(finite, nonzero).filter(([a, b]) => awayFromJumps(a, b)), { minLength: 1, maxLength: 6 }), nonzero, (ps, s) => {
      const a = ps.map((p) => p[0]);
      const b = ps.map((p) => p[1]);
      const [ga, gb] = gradOf((x, y) => x.remainder(y), a, b);
      const [gs] = gradOf((x) => x.remainder(s), a, a);
      ps.forEach(([u, v], i) => {
        expect(ga[i]).toBe(i + 1);
        expect(gs[i]).toBe(i + 1);
        expect(gb[i]! + 0, `remainder(${u}, ${v})`).toBe(-Math.floor(u / v) * (i + 1) + 0);
      });
    }), { numRuns: 300 }));
});
