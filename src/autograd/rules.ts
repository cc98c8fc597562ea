/**
 * Gradient rules, one per primitive, each built from public tensor ops so the compiler and its caches serve the
 * backward pass too. A rule returns null for an input that does not require a gradient, so gradients nobody
 * needs are never computed.
 */
import type { BinaryOp, ReduceOp, UnaryOp } from '../lower/spec.js';
import type { Tensor } from '../runtime/tensor.js';
import * as ops from '../runtime/ops.js';
import { zerosOf } from '../runtime/creation.js';

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

/** The gradient of a view that picks some of the base's elements: zeros with `g` written where the view looks. */
function scatterInto(g: Tensor, shape: readonly number[], view: (z: Tensor) => Tensor): Tensor {
  const z = zerosOf(shape, g.dtype, g.device);
  view(z).copy_(g);
  return z;
}

function binary(op: BinaryOp, g: Tensor, a: Tensor, b: Tensor, out: Tensor): (Tensor | null)[] {
  const ga = needs(a);
  const gb = needs(b);
  switch (op) {
    case 'add': return [ga ? sumTo(g, a.shape) : null, gb ? sumTo(g, b.shape) : null];
    case 'sub': return [ga ? sumTo(g, a.shape) : null, gb ? sumTo(g.neg(), b.shape) : null];
    case 'mul': return [ga ? sumTo(g.mul(b), a.shape) : null, gb ? sumTo(g.mul(a), b.shape) : null];
    case 'div': return [ga ? sumTo(g.div(b), a.shape) : null, gb ? sumTo(g.mul(out).div(b).neg(), b.shape) : null];
    case 'pow': return [
      ga ? sumTo(g.mul(b).mul(a.pow(b.sub(1))), a.shape) : null,
      gb ? sumTo(g.mul(out).mul(ops.where(a.gt(0), a.log(), 0)), b.shape) : null,
    ];
    case 'max': case 'min': {
      // PyTorch's rule: the loser gets 0, a tie splits the gradient evenly, and where a side is NaN (neither
      // wins nor ties) both get it whole.
      const [aLoses, bLoses] = op === 'max' ? [a.lt(b), a.gt(b)] : [a.gt(b), a.lt(b)];
      const tie = a.eq(b);
      return [
        ga ? sumTo(g.mul(ops.where(tie, 0.5, ops.where(aLoses, 0, 1))), a.shape) : null,
        gb ? sumTo(g.mul(ops.where(tie, 0.5, ops.where(bLoses, 0, 1))), b.shape) : null,
      ];
    }
    case 'mod': return [ga ? sumTo(g, a.shape) : null, gb ? sumTo(g.mul(a.floorDivide(b)).neg(), b.shape) : null];
    default: return [ga ? zerosOf(a.shape, g.dtype, g.device) : null, gb ? zerosOf(b.shape, g.dtype, g.device) : null];
  }
}

function binaryScalar(op: BinaryOp, g: Tensor, a: Tensor, v: number, out: Tensor): Tensor {
  switch (op) {
    case 'add': case 'sub': case 'mod': return g;
    case 'mul': return g.mul(v);
    case 'div': return g.div(v);
    case 'pow': return v === 0 ? g.mul(0) : g.mul(v).mul(a.pow(v - 1));
    // As the tensor rule with b = v: 0 where a loses, 1/2 on a tie, 1 otherwise (NaN on either side included).
    case 'max': return g.mul(ops.where(a.eq(v), 0.5, ops.where(a.lt(v), 0, 1)));
    case 'min': return g.mul(ops.where(a.eq(v), 0.5, ops.where(a.gt(v), 0, 1)));
    default: return g.mul(0);
  }
  void out;
}

function binaryScalarLeft(op: BinaryOp, g: Tensor, v: number, b: Tensor, out: Tensor): Tensor {
  switch (op) {
    case 'add': return g;
    case 'sub': return g.neg();
    case 'mul': return g.mul(v);
    case 'div': return g.mul(out).div(b).neg();
    case 'pow': return g.mul(out).mul(Math.log(v));
    case 'max': return g.mul(ops.where(b.eq(v), 0.5, ops.where(b.lt(v), 0, 1)));
    case 'min': return g.mul(ops.where(b.eq(v), 0.5, ops.where(b.gt(v), 0, 1)));
    case 'mod': return g.mul(ops.binaryScalarLeft('floordiv', v, b)).neg();
    default: return g.mul(0);
  }
}

function unary(op: UnaryOp, g: Tensor, a: Tensor, out: Tensor): Tensor {
  switch (op) {
    case 'neg': return g.neg();
    case 'abs': return g.mul(a.sign());
    case 'exp': return g.mul(out);
    case 'log': return g.div(a);
    case 'sqrt': return g.div(out.mul(2));
    case 'rsqrt': return g.mul(out.pow(3)).mul(-0.5);
    case 'relu': return g.mul(a.gt(0));
    case 'sigmoid': return g.mul(out).mul(ops.binaryScalarLeft('sub', 1, out));
    case 'tanh': return g.mul(ops.binaryScalarLeft('sub', 1, out.mul(out)));
    case 'gelu': {
      const cdf = a.div(Math.SQRT2).erf().add(1).mul(0.5);
      const pdf = a.mul(a).mul(-0.5).exp().mul(1 / Math.sqrt(2 * Math.PI));
      return g.mul(cdf.add(a.mul(pdf)));
    }
    case 'erf': return g.mul(a.mul(a).neg().exp().mul(2 / Math.sqrt(Math.PI)));
    case 'sin': return g.mul(a.cos());
    case 'cos': return g.mul(a.sin()).neg();
    case 'reciprocal': return g.mul(out).mul(out).neg();
    case 'square': return g.mul(a).mul(2);
    default: return g.mul(0);
  }
}

function where(g: Tensor, cond: Tensor, a: Tensor | null, b: Tensor | null): (Tensor | null)[] {
  return [
    needs(a) ? sumTo(ops.where(cond, g, 0), a.shape) : null,
    needs(b) ? sumTo(ops.where(cond, 0, g), b.shape) : null,
  ];
}

function reduce(op: ReduceOp, g: Tensor, a: Tensor, dims: readonly number[], out: Tensor, keepdim: boolean): Tensor | null {
  const keptShape = a.shape.map((n, i) => (dims.includes(i) ? 1 : n));
  const gk = keepdim ? g : g.reshape(keptShape);
  const ok = keepdim ? out : out.reshape(keptShape);
  switch (op) {
    case 'sum': return gk.expand(a.shape.slice());
    case 'prod': {
      // prod of the others: out / a where a != 0; with one zero in the slice, the zero gets the product of the
      // rest and the others 0; with two or more zeros, everything gets 0 (PyTorch's rule).
      const isZero = a.eq(0);
      const zeros = isZero.sum(dims.slice(), true);
      const rest = ops.where(isZero, 1, a).prod(dims.slice(), true);
      const others = ops.where(zeros.eq(0), ok.div(ops.where(isZero, 1, a)), ops.where(zeros.eq(1).logicalAnd(isZero), rest, 0));
      return gk.mul(others);
    }
    case 'max': case 'min': {
      // The gradient is split evenly between tied extremes (PyTorch's rule for amax/amin and full max/min).
      const mask = a.eq(ok).cast(g.dtype);
      return gk.mul(mask).div(mask.sum(dims.slice(), true));
    }
    default: return null;
  }
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

// ---------------------------------------------------------------------------------------------------------------
// What each rule reads besides the output gradient. These are the tensors whose versions backward checks (an
// in-place write to one of them in between is an error) and whose loss makes a second backward impossible;
// a rule that reads only shapes saves nothing, so its node can run again, as in PyTorch.

/** Tensors read by the gradient of `a op b` (out = the op's result). */
function savedBinary(op: BinaryOp, a: Tensor, b: Tensor, out: Tensor): Tensor[] {
  switch (op) {
    case 'add': case 'sub': return [];
    case 'div': return [b, out];
    case 'pow': return [a, b, out];
    default: return [a, b];
  }
}

/** Tensors read by the gradient of `a op scalar`. */
function savedBinaryScalar(op: BinaryOp, a: Tensor): Tensor[] {
  return op === 'pow' || op === 'max' || op === 'min' ? [a] : [];
}

/** Tensors read by the gradient of `scalar op b`. */
function savedBinaryScalarLeft(op: BinaryOp, b: Tensor, out: Tensor): Tensor[] {
  switch (op) {
    case 'div': return [b, out];
    case 'pow': return [out];
    case 'max': case 'min': case 'mod': return [b];
    default: return [];
  }
}

/** Tensors read by the gradient of a unary op. */
function savedUnary(op: UnaryOp, a: Tensor, out: Tensor): Tensor[] {
  switch (op) {
    case 'exp': case 'sqrt': case 'rsqrt': case 'sigmoid': case 'tanh': case 'reciprocal': return [out];
    case 'abs': case 'log': case 'relu': case 'gelu': case 'erf': case 'sin': case 'cos': case 'square': return [a];
    default: return [];
  }
}

/** Tensors read by the gradient of a reduction. */
function savedReduce(op: ReduceOp, a: Tensor, out: Tensor): Tensor[] {
  return op === 'prod' || op === 'max' || op === 'min' ? [a, out] : [];
}

export const grads = {
  sumTo, scatterInto, binary, binaryScalar, binaryScalarLeft, unary, where, reduce, matmul, cat,
  savedBinary, savedBinaryScalar, savedBinaryScalarLeft, savedUnary, savedReduce,
};
