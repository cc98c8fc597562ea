/**
 * Corners of the engine the other autograd tests in the mutation sample's list do not take: grad()'s hint for a
 * non-scalar output without gradOutputs; an output that is also below another output gets the gradients of both
 * paths (it is walked once); under createGraph the caller's output gradient stays in the graph (its
 * own gradient is defined, as PyTorch's grad_outputs that require grad); a rule that passes one of its inputs no
 * gradient (null) leaves the part of the graph below that input unwalked; an op recorded with an optional (null)
 * input and the default saved list saves its other inputs; the gradient of a view (select, slice) is a recorded
 * 'scatter' under createGraph, so it can be differentiated again; jvp and hvp name themselves in their primal,
 * function and output checks; zeroGrad refuses null, undefined and a string as a whole. Expected values are
 * derived by hand in the comments.
 */
import { describe, expect, it } from 'vitest';
import { grad, hvp, jvp, noGrad, tensor, type Tensor } from '../../src/index.js';
import { zeroGrad } from '../../src/autograd/index.js';
import { record } from '../../src/autograd/record.js';
import { thrown } from '../helpers/thrown.js';

const f64 = (data: number[], shape: number[] = [data.length], requiresGrad = true): Tensor =>
  tensor(data, { shape, dtype: 'float64', requiresGrad });
const values = (t: Tensor | null): number[] => Array.from(t!.dataSync() as ArrayLike<number>);

describe('the seed of a non-scalar output', () => {
  it('grad() without gradOutputs hints at gradOutputs, backward() at its argument', () => {
    const x = f64([1, 2]);
    const y = x.mul(2);
    const viaGrad = thrown(() => grad(y, [x]));
    expect(viaGrad.op).toBe('grad');
    expect(viaGrad.reason).toBe('grad can be implicitly created only for scalar outputs');
    expect(viaGrad.hint).toBe('reduce to a scalar first (e.g. .sum()), or pass the output gradient in gradOutputs');
    const viaBackward = thrown(() => y.backward());
    expect(viaBackward.hint).toBe('reduce to a scalar first (e.g. .sum()), or pass the output gradient: y.backward(grad)');
  });
});

describe('createGraph keeps the caller\'s output gradient in the graph', () => {
  // y = x ⊙ x, so the vector-Jacobian product with v is 2·x ⊙ v, and its sum differentiated by v is 2·x.
  it('grad() with gradOutputs that require grad: d/dv Σ (2x ⊙ v) = 2x', () => {
    const x = f64([1, 2, 3]);
    const v = f64([0.5, -1, 2]);
    const [gx] = grad(x.mul(x), [x], { gradOutputs: [v], createGraph: true });
    expect(values(gx)).toEqual([1, -4, 12]);
    const [gv] = grad(gx.sum(), [v]);
    expect(values(gv)).toEqual([2, 4, 6]);
  });

  it('backward() with a float32 gradient of a float64 output: the cast stays in the graph too', () => {
    const x = f64([1, 2, 3]);
    const v = tensor([0.5, -1, 2], { dtype: 'float32', requiresGrad: true });
    x.mul(x).backward(v, { createGraph: true });
    expect(x.grad!.dtype).toBe('float64');
    expect(values(x.grad)).toEqual([1, -4, 12]);
    const [gv] = grad(x.grad!.sum(), [v]);
    expect(gv.dtype).toBe('float32');
    expect(values(gv)).toEqual([2, 4, 6]);
  });
});

describe('an output that is also below another output', () => {
  it('grad() of [2·s, s] by s adds both paths: 2 + 1', () => {
    // s = Σ x⊙x, l = 2s; grad([l, s], [s]) seeds both with ones: dl/ds + ds/ds = 3 (PyTorch gives 3 too).
    const x = f64([1, 2]);
    const s = x.mul(x).sum();
    const l = s.mul(2);
    expect(values(grad([l, s], [s])[0])).toEqual([3]);
    // and by x: (2 + 1)·2x = [6, 12]
    const s2 = x.mul(x).sum();
    expect(values(grad([s2.mul(2), s2], [x])[0])).toEqual([6, 12]);
  });
});

describe('a rule that passes an input no gradient', () => {
  // h = 3x is recorded; z is a fresh tensor recorded as an op of h whose rule gives h no gradient (null), so
  // nothing flows through h's own rule and the only gradient x gets is the one of Σx: ones.
  function opaque(): { x: Tensor; z: Tensor } {
    const x = f64([1, 2]);
    const h = x.mul(3);
    const z = f64([7, 8], [2], false);
    record('opaque', [h], z, () => [null], []);
    return { x, z };
  }

  it('backward() skips the input and the graph below it', () => {
    const { x, z } = opaque();
    expect(z.requiresGrad).toBe(true);
    z.sum().add(x.sum()).backward();
    expect(values(x.grad)).toEqual([1, 1]);
  });

  it('grad() gets the other path\'s gradient, or null (allowUnused) when that is the only path', () => {
    const a = opaque();
    expect(values(grad(a.z.sum().add(a.x.sum()), [a.x])[0])).toEqual([1, 1]);
    const b = opaque();
    expect(grad(b.z.sum(), [b.x], { allowUnused: true })[0]).toBeNull();
    const c = opaque();
    expect(thrown(() => grad(c.z.sum(), [c.x])).reason).toBe('one of the differentiated tensors appears to not have been used in the graph');
  });
});

describe('record with an optional (null) input and the default saved list', () => {
  // out = 4x recorded by hand, with a second, absent input: d Σout / dx = 4 each.
  function scaled(): { x: Tensor; out: Tensor } {
    const x = f64([2, 5]);
    const out = f64([8, 20], [2], false);
    record('scaled', [x, null], out, (g) => [g.mul(4), null]);
    return { x, out };
  }

  it('records, and backward gives the present input its gradient', () => {
    const { x, out } = scaled();
    expect(out.gradFn!.inputs).toEqual([x, null]);
    out.sum().backward();
    expect(values(x.grad)).toEqual([4, 4]);
  });

  it('saves the present input: writing it before backward is refused', () => {
    const { x, out } = scaled();
    const loss = out.sum();
    noGrad(() => x.add_(1));
    const err = thrown(() => loss.backward());
    expect(err.op).toBe('backward');
    expect(err.reason).toMatch(/^a tensor needed to compute the gradient of 'scaled' was modified by an in-place operation/);
  });
});

describe('the gradient of a view under createGraph is a recorded scatter', () => {
  it('select: ∇Σ r³ is 3r² on the row, and the Hessian times w is 6·r⊙w there', () => {
    // r = x[1] = [4, 5, 6]: ∇ = [[0,0,0],[48,75,108]]; H·w with w[1] = [1,-1,2] is [[0,0,0],[24,-30,72]].
    const x = f64([1, 2, 3, 4, 5, 6], [2, 3]);
    const r = x.select(0, 1);
    const [g] = grad(r.mul(r).mul(r).sum(), [x], { createGraph: true });
    expect(values(g)).toEqual([0, 0, 0, 48, 75, 108]);
    expect(g.gradFn!.op).toBe('scatter');
    const w = f64([1, 1, 1, 1, -1, 2], [2, 3], false);
    const [h] = grad(g.mul(w).sum(), [x]);
    expect(values(h)).toEqual([0, 0, 0, 24, -30, 72]);
  });

  it('slice with a step, through hvp', () => {
    // s = x[1::2] = [2, 4, 6]: H·w = 6·s⊙w at 1, 3, 5 with w there [1, 1, -1]: [0, 12, 0, 24, 0, -36].
    const x = f64([1, 2, 3, 4, 5, 6], [6], false);
    const w = f64([1, 1, 1, 1, 1, -1], [6], false);
    const [y, [hw]] = hvp((t) => {
      const s = t.slice(0, 1, 6, 2);
      return s.mul(s).mul(s).sum();
    }, [x], [w]);
    expect(values(y)).toEqual([8 + 64 + 216]);
    expect(values(hw)).toEqual([0, 12, 0, 24, 0, -36]);
  });
});

describe('jvp and hvp name themselves', () => {
  const x = f64([1, 2]);

  it('jvp in its primal checks', () => {
    const empty = thrown(() => jvp((t) => t, [] as unknown as [Tensor], [x]));
    expect(empty.op).toBe('jvp');
    expect(empty.hint).toBe('e.g. jvp(loss, [w, b])');
    const ints = thrown(() => jvp((t) => t, [tensor([1, 2], { dtype: 'int32' })], [x]));
    expect(ints.op).toBe('jvp');
    expect(ints.reason).toBe('primal 0 is int32; only floating-point tensors can be differentiated');
  });

  it('hvp in its function and scalar-output checks', () => {
    const notFn = thrown(() => hvp('f' as unknown as (t: Tensor) => Tensor, [x], [x]));
    expect(notFn.op).toBe('hvp');
    expect(notFn.reason).toBe('hvp needs a function of tensors, got "f"');
    expect(notFn.hint).toBe('hvp((x, w) => ..., [x, w], ...)');
    const notScalar = thrown(() => hvp((t) => t.mul(2), [x], [x]));
    expect(notScalar.op).toBe('hvp');
    expect(notScalar.reason).toBe('the function given to hvp must return a single element, got shape [2]');
    expect(notScalar.shapes).toEqual([[2]]);
    expect(notScalar.hint).toBe('reduce it to a scalar (e.g. .sum())');
  });
});

describe('zeroGrad refuses what is not a collection of tensors as a whole', () => {
  it('null, undefined and a string (iterable, but not a collection of tensors)', () => {
    for (const [v, shown] of [[null, 'null'], [undefined, 'undefined'], ['ab', '"ab"']] as const) {
      const err = thrown(() => zeroGrad(v as unknown as Tensor[]));
      expect(err.op).toBe('zeroGrad');
      expect(err.reason).toBe(`tensors must be an array of Tensors, got ${shown}`);
    }
  });
});
