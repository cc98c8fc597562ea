/**
 * Autograd corners a fresh mutation sample (seed 20261221) found unobserved: backward refuses a gradient of
 * another shape than the output, naming itself and both shapes; its options and jvp's function are checked
 * under their own names.
 */
import { describe, expect, it } from 'vitest';
import { jvp, tensor } from '../../src/index.js';
import { thrown } from '../helpers/thrown.js';

describe('refusals name their op', () => {
  it('backward: a gradient of another shape than the output', () => {
    const x = tensor([1, 2, 3], { requiresGrad: true });
    const y = x.mul(2);
    for (const g of [tensor([1, 1]), tensor([[1, 1, 1]])]) {
      const e = thrown(() => y.backward(g));
      expect(e.op).toBe('backward');
      expect(e.reason).toBe(`the gradient has shape [${g.shape.join(', ')}] but the output has [3]`);
    }
    // The right shape goes through.
    y.backward(tensor([1, 1, 1]));
    expect(x.grad!.toArray()).toEqual([2, 2, 2]);
  });

  it("backward: its options", () => {
    const y = tensor([1, 2], { requiresGrad: true }).sum();
    const e = thrown(() => y.backward(undefined, { retainGraph: 'yes' as never }));
    expect(e.op).toBe('backward');
    expect(e.reason).toContain('retainGraph');
  });

  it('jvp: a function that returns no tensor', () => {
    const e = thrown(() => jvp((() => 3) as never, [tensor([1, 2])], [tensor([1, 1])]));
    expect(e.op).toBe('jvp');
    expect(e.reason).toBe('the function given to jvp must return a Tensor, got 3');
  });
});
