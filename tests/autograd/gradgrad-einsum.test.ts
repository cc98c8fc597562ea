/**
 * Second-order gradients of einsum on 300 random expressions drawn by einjit/testing's own arbitraries (numpy and
 * einops syntax, 1-4 operands, repeated labels, '...' with broadcasting, size-0 and size-1 axes, implicit
 * outputs; float64 tensors in every layout: transposed, strided, reversed, offset). The gradient of an einsum is
 * an einsum (plus a scatter onto a diagonal for repeated labels), so its own gradient must be too:
 * gradgradcheck compares it with finite differences of the first-order gradient. Cases are kept small (at most
 * 24 elements over all operands) so the file runs in seconds.
 */
import { describe, it } from 'vitest';
import fc from 'fast-check';
import { applyEinsum, einsumCall, type EinsumCall } from '../../src/testing/index.js';
import { gradgradcheck } from './gradcheck.js';

const MAX_ELEMENTS = 24;
const elements = (c: EinsumCall): number => c.shapes.reduce((s, shape) => s + shape.reduce((a, b) => a * b, 1), 0);

describe('einsum second-order gradients', () => {
  it('pass gradgradcheck for every operand of 300 random expressions', () => {
    fc.assert(fc.property(einsumCall({ dtypes: ['float64'] }).filter((c) => elements(c) <= MAX_ELEMENTS), (c) => {
      try {
        gradgradcheck((...xs) => applyEinsum(c, xs), c.operands.map((o) => o.tensor));
      } catch (err) {
        const layouts = c.operands.map((o) => o.layout).join(', ');
        throw new Error(`${c.pattern} (${c.syntax}) with shapes ${JSON.stringify(c.shapes)}, layouts ${layouts}: ${(err as Error).message}`);
      }
    }), { numRuns: 300, seed: 20261205 });
  });
});
