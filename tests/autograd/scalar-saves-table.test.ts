/**
 * What each differentiable binary op with a number on one side saves for its backward pass, pinned against an
 * in-place write, as saves-table.test.ts pins the unary rules: `x op v` and `v op x` for every op. The expected
 * column is read off each derivative's formula (written beside it), not off the rule table: an op whose
 * derivative reads x refuses a backward after x was written, one that reads its output refuses one after the
 * output was written, and one that reads neither accepts both. A rule that saves too little computes a silently
 * wrong gradient after such a write; one that saves too much refuses a valid program.
 */
import { describe, expect, it } from 'vitest';
import { noGrad, tensor, type Tensor } from '../../src/index.js';
import type { BinaryOp } from '../../src/lower/spec.js';
import { binaryScalarLeft } from '../../src/runtime/ops.js';
import { thrown } from '../helpers/thrown.js';

type Reads = readonly ('input' | 'output')[];

/** [op, x op v, v op x, what d(x op v)/dx reads, what d(v op x)/dx reads], v = 1.5. */
const OPS: [BinaryOp, (x: Tensor) => Tensor, Reads, Reads][] = [
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

const MODIFIED = /^a tensor needed to compute the gradient of '(\w+)' was modified by an in-place operation/;

function check(op: string, f: (a: Tensor) => Tensor, reads: Reads): void {
  for (const written of ['input', 'output'] as const) {
    const x = tensor([0.5, 2.5], { dtype: 'float64', requiresGrad: true });
    // The op on a non-leaf copy of x, so that writing its input is allowed outside the graph (under noGrad).
    const a = x.mul(1);
    const y = f(a);
    const loss = y.sum();
    noGrad(() => (written === 'input' ? a : y).add_(1));
    if (reads.includes(written)) {
      const err = thrown(() => loss.backward());
      expect(err.reason, `${op}, ${written} written`).toMatch(MODIFIED);
      expect(err.reason.match(MODIFIED)![1]).toBe(op);
    } else {
      loss.backward();
      expect(x.grad, `${op}, ${written} written`).not.toBeNull();
    }
  }
}

describe('what a rule with a number on one side saves is guarded against an in-place write', () => {
  it.each(OPS)('x %s v', (op, f, right) => check(op, f, right));
  it.each(OPS)('v %s x', (op, _f, _right, left) => check(op, (a) => binaryScalarLeft(op, 1.5, a), left));
});
