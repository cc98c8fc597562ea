/**
 * What each differentiable unary op, and each binary op with a number on one side, saves for its backward pass,
 * pinned against an in-place write: an op whose derivative reads its input (log: 1/a) refuses a backward after that input was written, an op whose derivative
 * reads its output (sigmoid: out·(1 - out)) refuses one after the output was written, and an op that reads
 * neither (neg, the piecewise-constant ones) accepts both. The expected column is read off each derivative's
 * formula, not off the rule table. A rule that saves too little computes a silently wrong gradient after such a
 * write; one that saves too much refuses a valid program.
 */
import { describe, expect, it } from 'vitest';
import { noGrad, tensor, type Tensor } from '../../src/index.js';
import type { BinaryOp } from '../../src/lower/spec.js';
import { binaryScalarLeft } from '../../src/runtime/ops.js';
import { thrown } from '../helpers/thrown.js';

type Reads = 'input' | 'output' | 'neither';
/** What a derivative reads, of its input and its output. */
type Saved = readonly ('input' | 'output')[];

const OPS: [string, (x: Tensor) => Tensor, Reads][] = [
  ['neg', (x) => x.neg(), 'neither'],
  ['abs', (x) => x.abs(), 'input'],
  ['exp', (x) => x.exp(), 'output'],
  ['log', (x) => x.log(), 'input'],
  ['sqrt', (x) => x.sqrt(), 'output'],
  ['rsqrt', (x) => x.rsqrt(), 'output'],
  ['relu', (x) => x.relu(), 'input'],
  ['sigmoid', (x) => x.sigmoid(), 'output'],
  ['tanh', (x) => x.tanh(), 'output'],
  ['gelu', (x) => x.gelu(), 'input'],
  ['erf', (x) => x.erf(), 'input'],
  ['sin', (x) => x.sin(), 'input'],
  ['cos', (x) => x.cos(), 'input'],
  ['floor', (x) => x.floor(), 'neither'],
  ['ceil', (x) => x.ceil(), 'neither'],
  ['round', (x) => x.round(), 'neither'],
  ['sign', (x) => x.sign(), 'neither'],
  ['reciprocal', (x) => x.reciprocal(), 'output'],
  ['square', (x) => x.square(), 'input'],
];

const MODIFIED = /^a tensor needed to compute the gradient of '(\w+)' was modified by an in-place operation/;

/**
 * Writes the input, then (from scratch) the output of `f` on [0.5, 2.5] before backward: refused, naming `name`,
 * exactly for what the derivative reads.
 */
function checkSaves(name: string, f: (x: Tensor) => Tensor, reads: Saved): void {
  for (const written of ['input', 'output'] as const) {
    const x = tensor([0.5, 2.5], { dtype: 'float64', requiresGrad: true });
    // The op on a non-leaf copy of x, so that writing its input is allowed outside the graph (under noGrad).
    const a = x.mul(1);
    const y = f(a);
    const loss = y.sum();
    noGrad(() => (written === 'input' ? a : y).add_(1));
    expectBackward(loss, x, name, written, reads.includes(written));
  }
}

/** Backward after a write: refused naming `name` when the write touched what the derivative reads, else run. */
function expectBackward(loss: Tensor, leaf: Tensor, name: string, written: string, refused: boolean): void {
  if (refused) {
    const err = thrown(() => loss.backward());
    expect(err.reason, `${name}, ${written} written`).toMatch(MODIFIED);
    expect(err.reason.match(MODIFIED)![1]).toBe(name);
  } else {
    loss.backward();
    expect(leaf.grad, `${name}, ${written} written`).not.toBeNull();
  }
}

describe('what a unary rule saves is guarded against an in-place write', () => {
  it.each(OPS)('%s', (name, f, reads) => checkSaves(name, f, reads === 'neither' ? [] : [reads]));
});

/**
 * The binary rules with a number on one side, `x op v` and `v op x` (v = 1.5), with what d/dx reads written beside
 * each: [op, x op v, what d(x op v)/dx reads, what d(v op x)/dx reads].
 */
const SCALAR_OPS: [BinaryOp, (x: Tensor) => Tensor, Saved, Saved][] = [
  ['add', (x) => x.add(1.5), [], []], // 1, 1
  ['sub', (x) => x.sub(1.5), [], []], // 1, -1
  ['mul', (x) => x.mul(1.5), [], []], // v, v
  ['div', (x) => x.div(1.5), [], ['input', 'output']], // 1/v; -v/x² = -out/x
  ['pow', (x) => x.pow(1.5), ['input'], ['output']], // v·x^(v-1); v^x·ln v = out·ln v
  ['max', (x) => x.maximum(1.5), ['input'], ['input']], // which side wins: x against v
  ['min', (x) => x.minimum(1.5), ['input'], ['input']],
  ['mod', (x) => x.remainder(1.5), [], ['input']], // 1; -floor(v/x)
  ['floordiv', (x) => x.floorDivide(1.5), [], []], // 0, 0
];

describe('what a rule with a number on one side saves is guarded against an in-place write', () => {
  it.each(SCALAR_OPS)('x %s v', (op, f, right) => checkSaves(op, f, right));
  it.each(SCALAR_OPS)('v %s x', (op, _f, _right, left) => checkSaves(op, (a) => binaryScalarLeft(op, 1.5, a), left));
});

/** The binary rules on two tensors, with what their two derivatives read: d/da and d/db together. */
const TENSOR_OPS: [string, (a: Tensor, b: Tensor) => Tensor, readonly ('a' | 'b' | 'out')[]][] = [
  ['add', (a, b) => a.add(b), []], // 1, 1
  ['sub', (a, b) => a.sub(b), []], // 1, -1
  ['mul', (a, b) => a.mul(b), ['a', 'b']], // b, a
  ['div', (a, b) => a.div(b), ['b', 'out']], // 1/b; -a/b² = -out/b
  ['pow', (a, b) => a.pow(b), ['a', 'b', 'out']], // b·a^(b-1); a^b·ln a = out·ln a
];

describe('what a rule on two tensors saves is guarded against an in-place write', () => {
  it.each(TENSOR_OPS)('a %s b', (name, f, reads) => {
    for (const written of ['a', 'b', 'out'] as const) {
      const x1 = tensor([0.5, 2.5], { dtype: 'float64', requiresGrad: true });
      const x2 = tensor([1.5, 0.75], { dtype: 'float64', requiresGrad: true });
      const a = x1.mul(1);
      const b = x2.mul(1);
      const out = f(a, b);
      const loss = out.sum();
      noGrad(() => ({ a, b, out })[written].add_(1));
      expectBackward(loss, x1, name, written, reads.includes(written));
    }
  });
});
