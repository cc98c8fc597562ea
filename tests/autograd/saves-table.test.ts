/**
 * What each differentiable unary op saves for its backward pass, pinned against an in-place write: an op whose
 * derivative reads its input (log: 1/a) refuses a backward after that input was written, an op whose derivative
 * reads its output (sigmoid: out·(1 - out)) refuses one after the output was written, and an op that reads
 * neither (neg, the piecewise-constant ones) accepts both. The expected column is read off each derivative's
 * formula, not off the rule table. A rule that saves too little computes a silently wrong gradient after such a
 * write; one that saves too much refuses a valid program.
 */
import { describe, expect, it } from 'vitest';
import { noGrad, tensor, type Tensor } from '../../src/index.js';
import { thrown } from '../helpers/thrown.js';

type Reads = 'input' | 'output' | 'neither';

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

describe('what a unary rule saves is guarded against an in-place write', () => {
  it.each(OPS)('%s', (name, f, reads) => {
    for (const written of ['input', 'output'] as const) {
      const x = tensor([0.5, 1.5], { dtype: 'float64', requiresGrad: true });
      // The op on a non-leaf copy of x, so that writing its input is allowed outside the graph (under noGrad).
      const a = x.mul(1);
      const y = f(a);
      const loss = y.sum();
      noGrad(() => (written === 'input' ? a : y).add_(1));
      if (reads === written) {
        const err = thrown(() => loss.backward());
        expect(err.reason).toMatch(MODIFIED);
        expect(err.reason.match(MODIFIED)![1]).toBe(name);
      } else {
        loss.backward();
        expect(x.grad).not.toBeNull();
      }
    }
  });
});
