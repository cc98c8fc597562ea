/**
 * Engine behaviour near what a fresh mutation sample (seed 20261209) found unpinned: `grad` with targets follows
 * only the way to them, so a branch it does not need keeps its graph for a later call; and the functional API
 * differentiates at fresh leaves unless `createGraph` asks to stay connected to primals that require grad, in which
 * case they are 'alias' views. Expected values are worked out by hand (d/db sin b = cos b).
 */
import { describe, expect, it } from 'vitest';
import { grad, tensor, vjp, type Tensor } from '../../src/index.js';

describe('grad with targets', () => {
  it('leaves a branch that leads to no target alone, so its graph is still there for a later call', () => {
    const a = tensor([1, 2], { dtype: 'float64', requiresGrad: true });
    const b = tensor([3, 4], { dtype: 'float64', requiresGrad: true });
    const v = b.sin();
    const y = a.exp().sum().add(v.sum());
    expect(Array.from(grad(y, [a])[0]!.dataSync())).toEqual([Math.exp(1), Math.exp(2)]);
    // Without retainGraph: had the call above freed sin's node, off its way to a, this one would fail.
    expect(Array.from(grad(v.sum(), [b])[0]!.dataSync())).toEqual([Math.cos(3), Math.cos(4)]);
  });
});

describe("the functional API's primals", () => {
  it('are fresh leaves without createGraph, and alias views of primals that require grad with it', () => {
    const x = tensor([1, 2], { dtype: 'float64', requiresGrad: true });
    let seen: Tensor | null = null;
    const f = (p: Tensor): Tensor => { seen = p; return p.mul(p).sum(); };
    vjp(f, [x]);
    expect(seen!.gradFn).toBeNull();
    expect(seen!.requiresGrad).toBe(true);
    vjp(f, [x], undefined, { createGraph: true });
    expect(seen!.gradFn?.op).toBe('alias');
    expect(seen!.gradFn?.inputs[0]).toBe(x);
  });
});
