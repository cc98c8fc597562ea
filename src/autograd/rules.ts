/**
 * Gradient rules, one row per primitive, each built from public tensor ops so the compiler and its caches serve
 * the backward pass too. A row holds what the op saves for its backward pass beside the gradient itself
 * (micrograd's forward-beside-backward), and the tables are typed by the op unions of src/lower/spec.ts, so a new
 * op does not compile until it has a row: a gradient, or the explicit NOT_DIFFERENTIABLE marker for ops whose
 * result is bool or int32 (those leave the graph). Ops that are piecewise constant (floor, sign, floordiv) have a
 * row whose gradient is zero, as PyTorch's.
 *
 * Tensor-tensor rules return one thunk per operand, so a gradient nobody needs is never computed; the caller
 * (`binaryGrads`) sums broadcast dimensions away.
 */
import type { BinaryOp, ReduceOp, UnaryOp } from '../lower/spec.js';
import type { Tensor } from '../runtime/tensor.js';
import * as ops from '../runtime/ops.js';
import { zerosOf } from '../runtime/creation.js';
import { record } from './record.js';

const needs = (t: Tensor | null): t is Tensor => t !== null && t.requiresGrad;

/** Sums a broadcast gradient back to `shape` (the rule of expand and of every broadcasting op). */
function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (g.shape.length === shape.length && g.shape.every((n, i) => n === shape[i])) return g;
  const lead = g.ndim - shape.length;
  const dims: number[] = [];
  for (let i = 0; i < g.ndim; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) dims.push(i);
  }
  const summed = dims.length > 0 ? g.sum(dims, true) : g;
  return summed.reshape(shape.slice());
}

/**
 * The gradient of a view that picks some of the base's elements: zeros with `g` written where the view looks.
 * The write is recorded as an op of its own whose gradient is the same view of its gradient (a scatter and its
 * view are each other's adjoints), so under createGraph the gradient of a view is differentiable again.
 */
function scatterInto(g: Tensor, shape: readonly number[], view: (z: Tensor) => Tensor): Tensor {
  const z = zerosOf(shape, g.dtype, g.device);
  view(z).copy_(g);
  record('scatter', [g], z, (gz) => [view(gz)], []);
  return z;
}

/** Marks an op with no gradient: its result is bool or int32, so it is never recorded. */
export const NOT_DIFFERENTIABLE = 'not differentiable';
export type NotDifferentiable = typeof NOT_DIFFERENTIABLE;

/** What a rule reads at backward time besides the output gradient: inputs by name, or `out`, the op's result. */
type Saves<Name extends string> = readonly (Name | 'out')[];

/** `a op b`, broadcast. */
interface TensorRule {
  readonly saves: Saves<'a' | 'b'>;
  readonly grad: (g: Tensor, a: Tensor, b: Tensor, out: Tensor) => readonly [() => Tensor, () => Tensor];
}
/** `a op v` for a number v. */
interface ScalarRule {
  readonly saves: Saves<'a'>;
  readonly grad: (g: Tensor, a: Tensor, v: number, out: Tensor) => Tensor;
}
/** `v op b` for a number v. */
interface ScalarLeftRule {
  readonly saves: Saves<'b'>;
  readonly grad: (g: Tensor, v: number, b: Tensor, out: Tensor) => Tensor;
}
export interface BinaryRule {
  readonly tensor: TensorRule;
  readonly scalar: ScalarRule;
  readonly scalarLeft: ScalarLeftRule;
}

// PyTorch's maximum/minimum rule: the loser gets 0, a tie splits the gradient evenly, and where a side is NaN
// (neither wins nor ties) both get it whole. With a number on one side it is the same rule with that side fixed.
const extremum = (op: 'max' | 'min'): BinaryRule => {
  const loses = (x: Tensor, y: Tensor | number): Tensor => (op === 'max' ? x.lt(y) : x.gt(y));
  const weight = (x: Tensor, y: Tensor | number): Tensor => ops.where(x.eq(y), 0.5, ops.where(loses(x, y), 0, 1));
  return {
    tensor: {
      saves: ['a', 'b'],
      grad: (g, a, b) => [() => g.mul(weight(a, b)), () => g.mul(ops.where(a.eq(b), 0.5, ops.where(loses(b, a), 0, 1)))],
    },
    scalar: { saves: ['a'], grad: (g, a, v) => g.mul(weight(a, v)) },
    scalarLeft: { saves: ['b'], grad: (g, v, b) => g.mul(weight(b, v)) },
  };
};

/** Piecewise constant (floordiv): zero wherever it is defined. */
const zeroBinary: BinaryRule = {
  // Only the operands' shapes are read, which no in-place write changes, so nothing is saved (as floor, and floordiv
  // with a number): writing a or b before backward, or a second backward, is not refused.
  tensor: { saves: [], grad: (g, a, b) => [() => zerosOf(a.shape, g.dtype, g.device), () => zerosOf(b.shape, g.dtype, g.device)] },
  scalar: { saves: [], grad: (g) => g.mul(0) },
  scalarLeft: { saves: [], grad: (g) => g.mul(0) },
};

export const BINARY_RULES: { readonly [Op in BinaryOp]: BinaryRule | NotDifferentiable } = {
  add: {
    tensor: { saves: [], grad: (g) => [() => g, () => g] },
    scalar: { saves: [], grad: (g) => g },
    scalarLeft: { saves: [], grad: (g) => g },
  },
  sub: {
    tensor: { saves: [], grad: (g) => [() => g, () => g.neg()] },
    scalar: { saves: [], grad: (g) => g },
    scalarLeft: { saves: [], grad: (g) => g.neg() },
  },
  mul: {
    tensor: { saves: ['a', 'b'], grad: (g, a, b) => [() => g.mul(b), () => g.mul(a)] },
    scalar: { saves: [], grad: (g, _a, v) => g.mul(v) },
    scalarLeft: { saves: [], grad: (g, v) => g.mul(v) },
  },
  div: {
    tensor: { saves: ['b', 'out'], grad: (g, _a, b, out) => [() => g.div(b), () => g.mul(out).div(b).neg()] },
    scalar: { saves: [], grad: (g, _a, v) => g.div(v) },
    scalarLeft: { saves: ['b', 'out'], grad: (g, _v, b, out) => g.mul(out).div(b).neg() },
  },
  pow: {
    tensor: {
      saves: ['a', 'b', 'out'],
      grad: (g, a, b, out) => [() => g.mul(b).mul(a.pow(b.sub(1))), () => g.mul(out).mul(ops.where(a.gt(0), a.log(), 0))],
    },
    scalar: { saves: ['a'], grad: (g, a, v) => (v === 0 ? g.mul(0) : g.mul(v).mul(a.pow(v - 1))) },
    scalarLeft: { saves: ['out'], grad: (g, v, _b, out) => g.mul(out).mul(Math.log(v)) },
  },
  max: extremum('max'),
  min: extremum('min'),
  // PyTorch's remainder: d/da = 1, d/db = -floor(a / b).
  mod: {
    tensor: { saves: ['a', 'b'], grad: (g, a, b) => [() => g, () => g.mul(a.floorDivide(b)).neg()] },
    scalar: { saves: [], grad: (g) => g },
    scalarLeft: { saves: ['b'], grad: (g, v, b) => g.mul(ops.binaryScalarLeft('floordiv', v, b)).neg() },
  },
  floordiv: zeroBinary,
  eq: NOT_DIFFERENTIABLE, ne: NOT_DIFFERENTIABLE, lt: NOT_DIFFERENTIABLE, le: NOT_DIFFERENTIABLE,
  gt: NOT_DIFFERENTIABLE, ge: NOT_DIFFERENTIABLE,
  and: NOT_DIFFERENTIABLE, or: NOT_DIFFERENTIABLE, xor: NOT_DIFFERENTIABLE,
};

export interface UnaryRule {
  readonly saves: Saves<'a'>;
  readonly grad: (g: Tensor, a: Tensor, out: Tensor) => Tensor;
}

/** Piecewise constant (floor, ceil, round, sign): zero wherever it is defined. */
const zeroUnary: UnaryRule = { saves: [], grad: (g) => g.mul(0) };

export const UNARY_RULES: { readonly [Op in UnaryOp]: UnaryRule | NotDifferentiable } = {
  neg: { saves: [], grad: (g) => g.neg() },
  abs: { saves: ['a'], grad: (g, a) => g.mul(a.sign()) },
  exp: { saves: ['out'], grad: (g, _a, out) => g.mul(out) },
  log: { saves: ['a'], grad: (g, a) => g.div(a) },
  sqrt: { saves: ['out'], grad: (g, _a, out) => g.div(out.mul(2)) },
  rsqrt: { saves: ['out'], grad: (g, _a, out) => g.mul(out.pow(3)).mul(-0.5) },
  relu: { saves: ['a'], grad: (g, a) => g.mul(a.gt(0)) },
  sigmoid: { saves: ['out'], grad: (g, _a, out) => g.mul(out).mul(ops.binaryScalarLeft('sub', 1, out)) },
  tanh: { saves: ['out'], grad: (g, _a, out) => g.mul(ops.binaryScalarLeft('sub', 1, out.mul(out))) },
  gelu: {
    saves: ['a'],
    grad: (g, a) => {
      const cdf = a.div(Math.SQRT2).erf().add(1).mul(0.5);
      const pdf = a.mul(a).mul(-0.5).exp().mul(1 / Math.sqrt(2 * Math.PI));
      return g.mul(cdf.add(a.mul(pdf)));
    },
  },
  erf: { saves: ['a'], grad: (g, a) => g.mul(a.mul(a).neg().exp().mul(2 / Math.sqrt(Math.PI))) },
  sin: { saves: ['a'], grad: (g, a) => g.mul(a.cos()) },
  cos: { saves: ['a'], grad: (g, a) => g.mul(a.sin()).neg() },
  floor: zeroUnary,
  ceil: zeroUnary,
  round: zeroUnary,
  sign: zeroUnary,
  reciprocal: { saves: ['out'], grad: (g, _a, out) => g.mul(out).mul(out).neg() },
  not: NOT_DIFFERENTIABLE,
  square: { saves: ['a'], grad: (g, a) => g.mul(a).mul(2) },
  isnan: NOT_DIFFERENTIABLE,
};

export interface ReduceRule {
  readonly saves: Saves<'a'>;
  /** `gk` and `ok` are the gradient and the output with the reduced dims kept (size 1). */
  readonly grad: (gk: Tensor, a: Tensor, ok: Tensor, dims: readonly number[]) => Tensor;
}

// The gradient is split evenly between tied extremes (PyTorch's rule for amax/amin and full max/min).
const extremumReduce: ReduceRule = {
  saves: ['a', 'out'],
  grad: (gk, a, ok, dims) => {
    const mask = a.eq(ok).cast(gk.dtype);
    return gk.mul(mask).div(mask.sum(dims.slice(), true));
  },
};

export const REDUCE_RULES: { readonly [Op in ReduceOp]: ReduceRule | NotDifferentiable } = {
  sum: { saves: [], grad: (gk, a) => gk.expand(a.shape.slice()) },
  prod: {
    saves: ['a', 'out'],
    // prod of the others: out / a where a != 0; with one zero in the slice, the zero gets the product of the
    // rest and the others 0; with two or more zeros, everything gets 0 (PyTorch's rule).
    grad: (gk, a, ok, dims) => {
      const isZero = a.eq(0);
      const zeros = isZero.sum(dims.slice(), true);
      const rest = ops.where(isZero, 1, a).prod(dims.slice(), true);
      const others = ops.where(zeros.eq(0), ok.div(ops.where(isZero, 1, a)), ops.where(zeros.eq(1).logicalAnd(isZero), rest, 0));
      return gk.mul(others);
    },
  },
  max: extremumReduce,
  min: extremumReduce,
  argmax: NOT_DIFFERENTIABLE, argmin: NOT_DIFFERENTIABLE, any: NOT_DIFFERENTIABLE, all: NOT_DIFFERENTIABLE,
};

/** The tensors a row names, in the order it names them (what backward checks the versions of). */
function pick<Name extends string>(saves: Saves<Name>, named: Record<Name | 'out', Tensor>): Tensor[] {
  return saves.map((name) => named[name]);
}

/** Gradients of `a op b` for the operands that require them, with broadcast dimensions summed away. */
function binaryGrads(rule: TensorRule, g: Tensor, a: Tensor, b: Tensor, out: Tensor): (Tensor | null)[] {
  const [da, db] = rule.grad(g, a, b, out);
  return [needs(a) ? sumTo(da(), a.shape) : null, needs(b) ? sumTo(db(), b.shape) : null];
}

/** The gradient of a reduction over `dims`, reshaped to the kept dims first when `keepdim` was false. */
function reduceGrad(rule: ReduceRule, g: Tensor, a: Tensor, dims: readonly number[], out: Tensor, keepdim: boolean): Tensor {
  const keptShape = a.shape.map((n, i) => (dims.includes(i) ? 1 : n));
  return rule.grad(keepdim ? g : g.reshape(keptShape), a, keepdim ? out : out.reshape(keptShape), dims);
}

function where(g: Tensor, cond: Tensor, a: Tensor | null, b: Tensor | null): (Tensor | null)[] {
  return [
    needs(a) ? sumTo(ops.where(cond, g, 0), a.shape) : null,
    needs(b) ? sumTo(ops.where(cond, 0, g), b.shape) : null,
  ];
}

function matmul(g: Tensor, A: Tensor, B: Tensor): (Tensor | null)[] {
  return [
    needs(A) ? sumTo(g.matmul(B.mT), A.shape) : null,
    needs(B) ? sumTo(A.mT.matmul(g), B.shape) : null,
  ];
}

function cat(g: Tensor, tensors: readonly Tensor[], dim: number): (Tensor | null)[] {
  let at = 0;
  return tensors.map((t) => {
    const start = at;
    at += t.shape[dim]!;
    return needs(t) ? g.slice(dim, start, at) : null;
  });
}

export const grads = { sumTo, scatterInto, where, matmul, cat, pick, binaryGrads, reduceGrad };
