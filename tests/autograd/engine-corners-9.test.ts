/**
 * Autograd corners found by mutation testing (seed 20261224's sample of src/autograd): an output listed twice
 * gets the sum of its seeds (PyTorch's torch.autograd.grad does the same); a gradient computed in another dtype
 * than its input's is cast to the input's; the in-place error gives both versions; grad's options error names grad.
 */
import { describe, expect, it } from 'vitest';
import { grad, tensor } from '../../src/index.js';
import { thrown } from '../helpers/thrown.js';

describe('the backward engine', () => {
  it('sums the seeds of an output listed twice', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const y = x.mul(x); // dy/dx = 2x = [2, 4]
    const [g] = grad([y, y], [x], { gradOutputs: [tensor([1, 1]), tensor([10, 100])] });
    expect(g!.toArray()).toEqual([(1 + 10) * 2, (1 + 100) * 4]);
  });

  it("casts a gradient to its input's dtype", () => {
    const a = tensor([1, 2], { requiresGrad: true });
    const b = tensor([3, 4], { dtype: 'float64', requiresGrad: true });
    a.mul(b).sum().backward(); // computed in float64: d/da = b, d/db = a
    expect([a.grad!.dtype, a.grad!.toArray(), b.grad!.dtype, b.grad!.toArray()]).toEqual(['float32', [3, 4], 'float64', [1, 2]]);
  });

  it('names both versions when a saved tensor was modified in place', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const w = tensor([3, 4]);
    const y = x.mul(w).sum();
    w.add_(1);
    w.add_(1);
    const e = thrown(() => y.backward());
    expect(e.reason).toBe("a tensor needed to compute the gradient of 'mul' was modified by an in-place operation (it is at version 2, the graph saved version 0)");
  });

  it("names grad when its options are not an object", () => {
    const x = tensor([1, 2], { requiresGrad: true });
    expect(thrown(() => grad(x.sum(), [x], 5 as never)).op).toBe('grad');
  });
});
