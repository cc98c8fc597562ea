/**
 * The autograd engine: deep graphs, deterministic order, leaf and non-leaf rules, accumulation, retainGrad,
 * retainGraph, noGrad, detach, zeroGrad, and the errors a caller can run into.
 */
import { describe, expect, it } from 'vitest';
import {
  EinjitError, Tensor, tensor, einsum, noGrad, isGradEnabled, rearrange, randn, manualSeed, zeros,
} from '../../src/index.js';
import { zeroGrad } from '../../src/autograd/index.js';

const f64 = (data: number[] | number[][], requiresGrad = true): Tensor => tensor(data, { dtype: 'float64', requiresGrad });
const values = (t: Tensor | null): number[] => {
  if (t === null) throw new Error('expected a gradient, got null');
  return Array.from(t.dataSync() as ArrayLike<number>);
};

/** Asserts that `fn` throws an EinjitError whose message matches `reason` and that carries a hint. */
function expectEinjitError(fn: () => unknown, reason: RegExp, hint?: RegExp): EinjitError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(EinjitError);
  const err = caught as EinjitError;
  expect(err.message).toMatch(reason);
  expect(err.hint ?? '').not.toBe('');
  if (hint !== undefined) expect(err.hint).toMatch(hint);
  return err;
}

describe('the public API', () => {
  it('tensor(data, { shape, dtype, requiresGrad }), y.mul(w).sum().backward(), x.grad', () => {
    const y = tensor(new Float64Array([1, 2, 3, 4, 5, 6]), { shape: [2, 3], dtype: 'float64', requiresGrad: true });
    const w = tensor([[1, 0, -1], [2, 0.5, 3]], { dtype: 'float64' });
    expect(y.requiresGrad).toBe(true);
    expect(w.requiresGrad).toBe(false);
    y.mul(w).sum().backward();
    expect(y.grad).toBeInstanceOf(Tensor);
    expect(y.grad?.shape).toEqual([2, 3]);
    expect(values(y.grad)).toEqual([1, 0, -1, 2, 0.5, 3]);
    expect(w.grad).toBeNull();
  });

  it('requiresGrad as a setter and requiresGrad_() for chaining', () => {
    const x = tensor([1, 2], { dtype: 'float64' });
    x.requiresGrad = true;
    expect(x.requiresGrad).toBe(true);
    x.requiresGrad = false;
    expect(x.requiresGrad).toBe(false);
    const w = randn([2, 2]).requiresGrad_();
    expect(w.requiresGrad).toBe(true);
    expect(w.requiresGrad_(false).requiresGrad).toBe(false);
  });

  it('backward(grad) for a non-scalar output', () => {
    const x = f64([1, 2, 3]);
    x.mul(x).backward(tensor([1, 10, 100], { dtype: 'float64' }));
    expect(values(x.grad)).toEqual([2, 40, 600]);
  });

  it('a gradient of another dtype is cast to the output dtype', () => {
    const x = f64([1, 2]);
    x.mul(3).backward(tensor([1, 2], { dtype: 'float32' }));
    expect(x.grad?.dtype).toBe('float64');
    expect(values(x.grad)).toEqual([3, 6]);
  });

  it('a scalar leaf can call backward itself', () => {
    const x = tensor(3, { dtype: 'float64', requiresGrad: true });
    x.backward();
    expect(values(x.grad)).toEqual([1]);
  });
});

describe('leaves and non-leaves', () => {
  it('follow PyTorch: leaves keep .grad, non-leaves do not unless retainGrad()', () => {
    const x = f64([1, 2]);
    const h = x.mul(3);
    const k = h.add(1);
    expect(x.isLeaf).toBe(true);
    expect(h.isLeaf).toBe(false);
    expect(h.requiresGrad).toBe(true);
    k.retainGrad();
    k.square().sum().backward();
    expect(h.grad).toBeNull();
    expect(values(k.grad)).toEqual([8, 14]);
    expect(values(x.grad)).toEqual([24, 42]);
  });

  it('a tensor made without requiresGrad is a leaf outside the graph, and so is everything computed from it', () => {
    const c = tensor([1, 2], { dtype: 'float64' });
    const d = c.mul(2).exp();
    expect(c.isLeaf).toBe(true);
    expect(d.isLeaf).toBe(true);
    expect(d.requiresGrad).toBe(false);
  });

  it('retainGrad accumulates across backward calls too', () => {
    const x = f64([1, 2]);
    const h = x.mul(2).retainGrad();
    h.sum().backward();
    h.sum().backward();
    expect(values(h.grad)).toEqual([2, 2]);
    expect(values(x.grad)).toEqual([4, 4]);
  });

  it('retainGrad on a leaf is harmless; on a tensor without grad it is an error', () => {
    const x = f64([1, 2]).retainGrad();
    x.sum().backward();
    expect(values(x.grad)).toEqual([1, 1]);
    expectEinjitError(() => tensor([1, 2]).retainGrad(), /retain/, /requiresGrad/);
  });

  it('only floating-point tensors can require grad, and only leaves can stop', () => {
    expectEinjitError(() => { tensor([1, 2], { dtype: 'int32' }).requiresGrad = true; }, /floating-point/, /cast/);
    expectEinjitError(() => tensor([1, 2], { dtype: 'int32', requiresGrad: true }), /floating-point/);
    expectEinjitError(() => { f64([1]).mul(2).requiresGrad = false; }, /leaf/, /detach/);
  });

  it('detach() shares storage, leaves the graph, and is a leaf', () => {
    const x = f64([1, 2]);
    const h = x.mul(2);
    const d = h.detach();
    expect(d.requiresGrad).toBe(false);
    expect(d.isLeaf).toBe(true);
    expect(d.storage).toBe(h.storage);
    const y = h.mul(d).sum();
    y.backward();
    expect(values(x.grad)).toEqual([4, 8]); // d is a constant: d(2x * d)/dx = 2d
  });
});

describe('accumulation and clearing', () => {
  it('two backward calls add into .grad', () => {
    const x = f64([1, 2, 3]);
    x.mul(3).sum().backward();
    x.mul(x).sum().backward();
    expect(values(x.grad)).toEqual([5, 7, 9]);
  });

  it('zeroGrad sets .grad to null, or fills it with zeros in place', () => {
    const a = f64([1, 2]);
    const b = f64([[1, 2], [3, 4]]);
    const c = f64([5]);
    a.mul(b).sum().backward();
    const bGrad = b.grad;
    zeroGrad([a, b, c], { setToNone: false });
    expect(values(a.grad)).toEqual([0, 0]);
    expect(b.grad).toBe(bGrad);
    expect(values(b.grad)).toEqual([0, 0, 0, 0]);
    expect(c.grad).toBeNull();
    a.sum().backward();
    expect(values(a.grad)).toEqual([1, 1]);
    zeroGrad([a, b]);
    expect(a.grad).toBeNull();
    expect(b.grad).toBeNull();
  });

  it('a leaf gradient is its own contiguous tensor (not the seed, not a broadcast view)', () => {
    const x = f64([[1, 2], [3, 4]]);
    x.sum().backward();
    expect(x.grad?.isContiguous).toBe(true);
    noGrad(() => x.grad?.zero_());
    const y = f64([1, 2]);
    const seed = tensor([5, 6], { dtype: 'float64' });
    y.add(1).backward(seed);
    noGrad(() => seed.fill_(0));
    expect(values(y.grad)).toEqual([5, 6]);
  });

  it('gradients of a leaf used many times add up', () => {
    const x = f64([2]);
    let y = x;
    for (let i = 0; i < 5; i++) y = y.add(x);
    y.sum().backward();
    expect(values(x.grad)).toEqual([6]);
  });
});

describe('retainGraph', () => {
  it('keeps the graph for a second backward; without it the second call is an EinjitError', () => {
    const x = f64([1, 2]);
    const y = x.mul(x).sum();
    y.backward(undefined, { retainGraph: true });
    expect(values(x.grad)).toEqual([2, 4]);
    y.backward();
    expect(values(x.grad)).toEqual([4, 8]);
    const err = expectEinjitError(() => y.backward(), /second time/, /retainGraph/);
    expect(err.op).toBe('backward');
    expect(values(x.grad)).toEqual([4, 8]);
  });

  it('einsum and matmul graphs are freed too', () => {
    const a = f64([[1, 2], [3, 4]]);
    const y = einsum('ij,jk->', a, a);
    y.backward();
    expectEinjitError(() => y.backward(), /second time/, /retainGraph/);
    const z = a.matmul(a).sum();
    z.backward();
    expectEinjitError(() => z.backward(), /second time/);
  });

  it('nodes that saved nothing can run again, as in PyTorch (a view of a parameter reused every step)', () => {
    const w = f64([[1, 2], [3, 4]]);
    const wt = rearrange(w, 'i j -> j i');
    wt.mul(2).sum().backward();
    wt.mul(3).sum().backward();
    expect(values(w.grad)).toEqual([5, 5, 5, 5]);
  });
});

describe('errors', () => {
  it('backward on a non-scalar without a gradient', () => {
    const y = f64([1, 2]).mul(2);
    expectEinjitError(() => y.backward(), /scalar outputs/, /backward\(grad\)|sum\(\)/);
  });

  it('backward with a gradient of the wrong shape', () => {
    const y = f64([1, 2]).mul(2);
    expectEinjitError(() => y.backward(tensor([1, 2, 3], { dtype: 'float64' })), /shape/, /output shape/);
  });

  it('backward with options in the place of the gradient', () => {
    const y = f64([1, 2]).mul(2).sum();
    const asAny = y as unknown as { backward(g: unknown): void };
    expectEinjitError(() => asAny.backward({ retainGraph: true }), /first argument/, /y\.backward\(undefined, \{ retainGraph: true \}\)/);
    expectEinjitError(() => asAny.backward([1, 2]), /an array/);
  });

  it('backward on a tensor that does not require grad', () => {
    expectEinjitError(() => tensor([1, 2]).sum().backward(), /does not require grad/, /requiresGrad/);
  });

  it('an in-place write to a tensor the graph saved', () => {
    const x = f64([1, 2]);
    const w = tensor([3, 4], { dtype: 'float64' });
    const y = x.mul(w).sum();
    w.add_(1);
    const err = expectEinjitError(() => y.backward(), /modified by an in-place operation/, /in-place/);
    expect(err.op).toBe('backward');
    expect(x.grad).toBeNull();
  });

  it('an in-place write through a view or a detached alias is caught as well', () => {
    const x = f64([1, 2]);
    const w = tensor([1, 2, 3], { dtype: 'float64' });
    const y = x.mul(w.slice(0, 0, 2)).sum(); // mul saves the view, which shares w's version counter
    w.slice(0, 2, 3).fill_(7);
    expectEinjitError(() => y.backward(), /in-place/);
    const z = x.sin().sum(); // sin saves its input
    noGrad(() => x.detach().mul_(2));
    expectEinjitError(() => z.backward(), /in-place/);
  });

  it('an in-place write to an operand an einsum or a matmul saved', () => {
    const x = f64([[1, 2], [3, 4]]);
    const c = tensor([[1, 0], [0, 1]], { dtype: 'float64' });
    const y = einsum('ij,jk->', x, c);
    c.mul_(2);
    expectEinjitError(() => y.backward(), /gradient of 'einsum'/, /in-place/);
    const z = x.matmul(c).sum();
    c.zero_();
    expectEinjitError(() => z.backward(), /gradient of 'matmul'/);
  });

  it('in-place writes to tensors that need grad are refused at once (outside noGrad)', () => {
    const x = f64([1, 2]);
    expectEinjitError(() => x.add_(1), /leaf/, /noGrad/);
    expectEinjitError(() => x.mul(2).add_(1), /in-place/, /detach|new tensor/);
    noGrad(() => x.sub_(1)); // an optimizer step
    expect(values(x)).toEqual([0, 1]);
  });

  it('an optimizer-style update after the forward pass invalidates the graph that saved the parameter', () => {
    const w = f64([1, 2]);
    const loss = w.square().sum();
    noGrad(() => w.sub_(0.1));
    expectEinjitError(() => loss.backward(), /in-place/);
  });

  it('writes that the graph does not depend on are allowed', () => {
    const x = f64([1, 2]);
    const b = tensor([5, 5], { dtype: 'float64' });
    const y = x.add(b).sum(); // add reads no values in backward
    b.fill_(0);
    y.backward();
    expect(values(x.grad)).toEqual([1, 1]);
  });
});

describe('noGrad', () => {
  it("returns the callback's value and records nothing inside", () => {
    const x = f64([1, 2]);
    const y = noGrad(() => x.mul(2));
    expect(y.requiresGrad).toBe(false);
    expect(y.isLeaf).toBe(true);
    expect(noGrad(() => 42)).toBe(42);
    expect(isGradEnabled()).toBe(true);
  });

  it('nests, and restores recording after an exception', () => {
    noGrad(() => {
      noGrad(() => expect(isGradEnabled()).toBe(false));
      expect(isGradEnabled()).toBe(false);
    });
    expect(() => noGrad(() => { throw new Error('boom'); })).toThrow('boom');
    expect(isGradEnabled()).toBe(true);
    expect(f64([1]).mul(2).requiresGrad).toBe(true);
  });

  it('backward itself records nothing (gradients are not part of any graph)', () => {
    const x = f64([1, 2]);
    x.exp().sum().backward();
    expect(x.grad?.requiresGrad).toBe(false);
    expect(x.grad?.isLeaf).toBe(true);
  });
});

describe('deep graphs and determinism', () => {
  it('a graph 10,000 nodes deep runs backward without a stack overflow', () => {
    const x = f64([1, 2]);
    let y = x;
    for (let i = 0; i < 10_000; i++) {
      y = i % 4 === 0 ? y.reshape([2, 1]).squeeze(1) : i % 4 === 1 ? y.mul(1.0001) : i % 4 === 2 ? y.add(0.5) : y.sub(0.5);
    }
    y.sum().backward();
    const expected = 1.0001 ** 2500;
    values(x.grad).forEach((g) => expect(g).toBeCloseTo(expected, 9));
  });

  it('a chain of 2,000 einsum nodes', () => {
    const x = f64([[1, 0], [0, 1]]);
    const r = tensor([[0.6, -0.8], [0.8, 0.6]], { dtype: 'float64' });
    let y = x;
    for (let i = 0; i < 2_000; i++) y = einsum('ij,jk->ik', y, r);
    y.sum().backward();
    expect(values(x.grad).every(Number.isFinite)).toBe(true);
  });

  const build = (): { x: Tensor; w: Tensor; loss: Tensor } => {
    manualSeed(7);
    const x = randn([8, 16]).requiresGrad_();
    const w = randn([16, 16]).requiresGrad_();
    let h = x;
    const branches: Tensor[] = [];
    for (let i = 0; i < 6; i++) {
      h = einsum('bi,ij->bj', h, w).tanh().add(h.mul(0.3));
      branches.push(h.sum(0).mul(1e-3 * (i + 1)), h.square().mean(0));
    }
    let loss = branches[0]!;
    for (const b of branches.slice(1)) loss = loss.add(b);
    return { x, w, loss: loss.sum() };
  };

  it('the same graph twice gives bit-identical gradients (float32, many fan-ins)', () => {
    const first = build();
    first.loss.backward();
    const second = build();
    second.loss.backward();
    const bits = (t: Tensor | null): Uint8Array => new Uint8Array((t!.dataSync() as Float32Array).slice().buffer);
    expect(bits(second.x.grad)).toEqual(bits(first.x.grad));
    expect(bits(second.w.grad)).toEqual(bits(first.w.grad));
  });

  it('backward through a retained graph twice gives exactly twice the gradient', () => {
    const { w, loss } = build();
    loss.backward(undefined, { retainGraph: true });
    const once = values(w.grad);
    zeroGrad([w]);
    loss.backward(undefined, { retainGraph: true });
    expect(values(w.grad)).toEqual(once);
    loss.backward();
    expect(values(w.grad)).toEqual(once.map((v) => Math.fround(v + v)));
  });

  it('gradients nobody needs are never computed (a constant operand gets none)', () => {
    const x = f64([1, 2]);
    const c = zeros([2], { dtype: 'float64' });
    x.mul(c).sum().backward();
    expect(c.grad).toBeNull();
    expect(values(x.grad)).toEqual([0, 0]);
  });
});
