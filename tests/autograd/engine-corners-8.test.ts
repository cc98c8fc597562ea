/**
 * Autograd corners found by mutation testing (seed 20261223's sample of src/autograd): a primal that cannot be
 * differentiated is refused with its shape; the gradient of a view, under createGraph, is recorded as a scatter.
 */
import { describe, expect, it } from 'vitest';
import { grad, tensor, vjp } from '../../src/index.js';
import { thrown } from '../helpers/thrown.js';

describe('functional transforms', () => {
  it('refuse an integer primal, naming it and its shape', () => {
    const e = thrown(() => vjp((x) => x.sum(), [tensor([1, 2, 3], { dtype: 'int32' })]));
    expect([e.op, e.reason, e.shapes]).toEqual(['vjp', 'primal 0 is int32; only floating-point tensors can be differentiated', [[3]]]);
  });
});

describe('the gradient of a view under createGraph', () => {
  it("is a scatter of the view's gradient, recorded so that it is differentiable again", () => {
    const x = tensor([1, 2, 3, 4], { requiresGrad: true });
    const y = x.slice(0, 1, 3);
    const [g] = grad(y.mul(y).sum(), [x], { createGraph: true });
    expect(g!.gradFn?.op).toBe('scatter');
    expect(g!.toArray()).toEqual([0, 4, 6, 0]);
  });
});
