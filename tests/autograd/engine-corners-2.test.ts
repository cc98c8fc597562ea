/**
 * More corners of the backward pass and the functional API: the reason, op, shapes and hint of each refusal
 * (an output that needs no gradient, a gradient of another shape, a disposed or freed saved tensor, grad()'s and
 * vjp's and hvp's argument checks), and the branches the derivative tests do not take (an input reached only
 * through ops that pass it no gradient, a primal already in a graph under createGraph, integer primals, an
 * output that does not depend on the primals). Expected values are derived by hand in the comments.
 */
import { describe, expect, it } from 'vitest';
import { grad, hvp, isGradEnabled, noGrad, tensor, tidy, vjp, type Tensor } from '../../src/index.js';
import { DEVICES } from '../helpers/devices.js';
import { thrown } from '../helpers/thrown.js';

const f64 = (data: number[], requiresGrad = true): Tensor => tensor(data, { dtype: 'float64', requiresGrad });
const values = (t: Tensor | null): number[] => Array.from(t!.dataSync() as ArrayLike<number>);

describe('backward refusals', () => {
  it('an output that does not require grad', () => {
    const err = thrown(() => f64([1, 2], false).sum().backward());
    expect(err.reason).toBe('element 0 of tensors does not require grad and does not have a grad_fn');
    expect(err.op).toBe('backward');
    expect(err.shapes).toEqual([[]]);
    expect(err.hint).toBe('create the leaves with { requiresGrad: true } and do not wrap the forward pass in noGrad');
  });

  it('the hints: reduce first for a non-scalar output; options go second', () => {
    const y = f64([1, 2]).mul(2);
    expect(thrown(() => y.backward()).hint).toBe('reduce to a scalar first (e.g. .sum()), or pass the output gradient: y.backward(grad)');
    expect(thrown(() => y.backward({ retainGraph: true } as unknown as Tensor)).hint).toBe('options go second: y.backward(undefined, { retainGraph: true })');
    expect(thrown(() => y.backward({ createGraph: true } as unknown as Tensor)).hint).toBe('options go second: y.backward(undefined, { retainGraph: true })');
    expect(thrown(() => y.backward(null as unknown as Tensor)).reason).toMatch(/only for scalar outputs/);
    expect(thrown(() => y.backward([1, 2] as unknown as Tensor)).hint)
      .toBe('pass a tensor of the output shape, e.g. y.backward(onesLike(y)), or nothing for a scalar output');
  });

  it('a gradient of another shape, of the same rank or not', () => {
    const y = f64([1, 2, 3, 4, 5, 6]).reshape([2, 3]).mul(2);
    const err = thrown(() => y.backward(f64([1, 2, 3], false).reshape([3, 1])));
    expect(err.reason).toBe('the gradient has shape [3, 1] but the output has [2, 3]');
    expect(err.shapes).toEqual([[2, 3], [3, 1]]);
    expect(err.hint).toBe('pass a gradient of exactly the output shape');
    expect(thrown(() => y.backward(f64([1, 2, 3, 4, 5, 6], false))).reason).toBe('the gradient has shape [6] but the output has [2, 3]');
  });

  it('a second pass through freed saved tensors, and a disposed saved tensor, are refused before any gradient moves', () => {
    const x = f64([1, 2]);
    const y = x.mul(x).sum();
    y.backward();
    expect(values(x.grad)).toEqual([2, 4]);
    const err = thrown(() => y.backward());
    expect(err.reason).toBe("trying to backward through the graph a second time (the saved tensors of 'mul' were freed)");
    expect(err.op).toBe('backward');
    expect(err.hint).toMatch(/^pass \{ retainGraph: true \} to the first call/);
    expect(values(x.grad)).toEqual([2, 4]);

    const w = f64([3]);
    let z: Tensor | undefined;
    const inner = tidy(() => {
      const e = w.exp();
      z = e.mul(e).sum();
      return e;
    });
    inner.dispose();
    const gone = thrown(() => z!.backward());
    expect(gone.reason).toMatch(/^a tensor needed to compute the gradient of '(mul|exp)' was disposed$/);
    expect(gone.shapes).toEqual([[1]]);
    expect(gone.hint).toBe('dispose intermediates only after backward(), or call backward() inside the tidy() that made them');
    expect(w.grad).toBeNull();
  });

  it('a saved tensor written in place: the hint says how to avoid it', () => {
    const x = f64([1, 2]);
    const y = x.mul(x).sum();
    noGrad(() => x.add_(1));
    expect(thrown(() => y.backward()).hint).toBe('avoid in-place writes (x.add_(...), x.copy_(...)) to tensors the graph still needs, or to views of them; ' +
      'write x = x.add(...) instead, or clone() before writing');
  });

  for (const device of DEVICES.filter((d) => d !== 'cpu')) {
    it(`a gradient on ${device}: both shapes and the move in the hint`, () => {
      const y = f64([1, 2]).mul(2);
      const err = thrown(() => y.backward(tensor([1, 1], { dtype: 'float32', device })));
      expect(err.shapes).toEqual([[2], [2]]);
      expect(err.hint).toBe("move it first: await grad.to('cpu')");
    });
  }

  it('with retainGraph the second pass adds the same gradient again', () => {
    const x = f64([1, 2]);
    const y = x.mul(x).sum();
    y.backward(undefined, { retainGraph: true });
    y.backward();
    expect(values(x.grad)).toEqual([4, 8]);
  });
});

describe('grad refusals', () => {
  const x = f64([1, 2]);

  it('outputs and inputs must be tensors or non-empty arrays of them', () => {
    for (const bad of [[], 5, [x, 5]]) {
      const err = thrown(() => grad(bad as never, [x]));
      expect(err.reason).toMatch(/^outputs must be a Tensor or a non-empty array of Tensors, got /);
      expect(err.hint).toBe('e.g. grad(loss, [w, b])');
    }
    const inputs = thrown(() => grad(x.sum(), [] as never));
    expect(inputs.reason).toMatch(/^inputs must be a Tensor/);
    expect(inputs.op).toBe('grad');
  });

  it('allowUnused must be a boolean, and gradOutputs one per output', () => {
    expect(thrown(() => grad(x.sum(), [x], { allowUnused: 1 as never })).reason).toBe('allowUnused must be true or false, got 1');
    const y = x.mul(2);
    const err = thrown(() => grad([y, y.sum()], [x], { gradOutputs: [f64([1, 1], false)] }));
    expect(err.reason).toMatch(/^gradOutputs must hold one gradient per output \(2\), got /);
    expect(err.shapes).toEqual([[2], []]);
    expect(err.hint).toBe('pass [gradOfOutput0, gradOfOutput1, ...], null for a scalar output');
    expect(thrown(() => grad(y, [x], { gradOutputs: 5 as never })).reason).toMatch(/^gradOutputs must hold one gradient per output \(1\)/);
    // One tensor stands for a one-element list; an empty list for none.
    expect(values(grad(y, [x], { gradOutputs: f64([1, 10], false) })[0])).toEqual([2, 20]);
    expect(values(grad(y.sum(), [x], { gradOutputs: [] })[0])).toEqual([2, 2]);
    expect(thrown(() => grad(y, [x], { gradOutputs: [] })).op).toBe('grad');
  });

  it('names the output that does not require grad, and an input that does not', () => {
    const out = thrown(() => grad([x.sum(), f64([1], false)], [x]));
    expect(out.reason).toBe('element 1 of tensors does not require grad and does not have a grad_fn');
    expect(out.shapes).toEqual([[1]]);
    const inp = thrown(() => grad(x.sum(), [f64([1, 2, 3], false)]));
    expect(inp.reason).toBe('one of the differentiated tensors does not require grad');
    expect(inp.shapes).toEqual([[3]]);
    expect(inp.hint).toBe('ask for gradients only of tensors created with { requiresGrad: true } or computed from them');
  });

  it('an input reached only through ops that pass it no gradient is unused: refused, or null with allowUnused', () => {
    // argmax depends on x but passes it no gradient; x.mul(0) does pass one (zeros).
    const y = x.mul(0).sum();
    expect(values(grad(y, [x])[0])).toEqual([0, 0]);
    const w = f64([5]);
    const z = x.argmax().cast('float64').add(w).sum();
    const err = thrown(() => grad(z, [x], { retainGraph: true }));
    expect(err.reason).toBe('one of the differentiated tensors appears to not have been used in the graph');
    expect(err.hint).toBe('pass { allowUnused: true } to get null for it');
    const [gx, gw] = grad(z, [x, w], { allowUnused: true });
    expect(gx).toBeNull();
    expect(values(gw)).toEqual([1]);
    expect(x.grad).toBeNull();
  });

  it('a gradient of another dtype than its input comes back in the input dtype', () => {
    const a = tensor([1.5], { dtype: 'float32', requiresGrad: true });
    const y = a.cast('float64').mul(f64([1 + 2 ** -30], false)).sum();
    const [g] = grad(y, [a]);
    expect(g.dtype).toBe('float32');
    expect(values(g)).toEqual([1]);
  });
});

describe('vjp and hvp refusals and corners', () => {
  it('need a function returning a Tensor, and floating-point primals', () => {
    const x = f64([1, 2], false);
    const notFn = thrown(() => vjp(5 as never, [x]));
    expect(notFn.reason).toBe('vjp needs a function of tensors, got 5');
    expect(notFn.hint).toBe('vjp((x, w) => ..., [x, w], ...)');
    const notTensor = thrown(() => vjp((() => 3) as never, [x]));
    expect(notTensor.reason).toBe('the function given to vjp must return a Tensor, got 3');
    expect(notTensor.op).toBe('vjp');
    const int = thrown(() => hvp((t) => t.sum(), [f64([1], false), tensor([1], { dtype: 'int32' })], [x, x]));
    expect(int.reason).toBe('primal 1 is int32; only floating-point tensors can be differentiated');
    expect(int.hint).toBe("cast it first, e.g. x.cast('float64')");
    expect(thrown(() => vjp((t) => t, [] as never)).reason).toMatch(/^primals must be a Tensor or a non-empty array/);
  });

  it('vjp needs a cotangent for a non-scalar output, of its shape; a scalar output takes 1', () => {
    const x = f64([1, 2, 3], false);
    const err = thrown(() => vjp((t) => t.mul(t), [x]));
    expect(err.reason).toBe('vjp needs a cotangent for a non-scalar output');
    expect(err.shapes).toEqual([[3]]);
    expect(err.hint).toBe('pass a tensor of the output shape as the third argument');
    expect(thrown(() => vjp((t) => t.mul(t), [x], f64([1, 1], false))).op).toBe('vjp');
    const [y, [g]] = vjp((t) => t.mul(t).sum(), [x]);
    expect(values(y)).toEqual([14]);
    expect(values(g)).toEqual([2, 4, 6]);
    expect(g.requiresGrad).toBe(false);
  });

  it('v must match the primals one for one, in shape', () => {
    const x = f64([1, 2], false);
    const count = thrown(() => hvp((t) => t.sum(), [x], [x, x]));
    expect(count.reason).toBe('v must hold one tensor per primal, of its shape');
    expect(count.op).toBe('hvp');
    expect(count.hint).toBe('primals have shapes [2]');
    expect(thrown(() => hvp((t) => t.sum(), [x], [f64([1, 2, 3], false)])).reason).toBe('v must hold one tensor per primal, of its shape');
    expect(thrown(() => hvp((t) => t.sum(), [x], [f64([1, 2], false).reshape([2, 1])])).reason).toBe('v must hold one tensor per primal, of its shape');
  });

  it('hvp needs a single-element output', () => {
    const x = f64([1, 2], false);
    const err = thrown(() => hvp((t) => t.mul(t), [x], [x]));
    expect(err.reason).toBe('the function given to hvp must return a single element, got shape [2]');
    expect(err.hint).toBe('reduce it to a scalar (e.g. .sum())');
    // f = Σ x³ with two primals summed: H = diag(6x) for each; H·v = 6·x·v.
    const [, [h1, h2]] = hvp((a, b) => a.pow(3).sum().add(b.pow(3).sum()), [x, f64([3], false)], [f64([1, 1], false), f64([2], false)]);
    expect(values(h1)).toEqual([6, 12]);
    expect(values(h2)).toEqual([36]);
  });

  it('the gradient of an output that does not depend on the primals is zero; each primal gets its own', () => {
    const x = f64([1, 2], false);
    const [y, [g]] = vjp(() => f64([7], false).sum(), [x]);
    expect(values(y)).toEqual([7]);
    expect(values(g)).toEqual([0, 0]);
    // f(a, b) = Σ a·b with cotangent 1: the gradient of a is b, of b is a.
    const [, [ga, gb]] = vjp((a, b) => a.mul(b).sum(), [x, f64([3, 4], false)]);
    expect(values(ga)).toEqual([3, 4]);
    expect(values(gb)).toEqual([1, 2]);
  });

  it('under createGraph a primal already in a graph stays connected; without, results are detached', () => {
    const w = f64([2]);
    const [, [g]] = vjp((t) => t.pow(3).sum(), [w], undefined, { createGraph: true });
    // g = 3w² = 12, and it is differentiable in w: d(3w²)/dw = 6w = 12.
    expect(values(g)).toEqual([12]);
    expect(g.requiresGrad).toBe(true);
    g.sum().backward();
    expect(values(w.grad)).toEqual([12]);
    const [y2, [g2]] = vjp((t) => t.pow(3).sum(), [w]);
    expect(y2.requiresGrad).toBe(false);
    expect(g2.requiresGrad).toBe(false);
  });
});

describe('noGrad', () => {
  it('refuses what is not a function, and restores recording after a throw', () => {
    const err = thrown(() => noGrad(5 as never));
    expect(err.reason).toBe('noGrad expects a function to run, got 5');
    expect(err.hint).toBe('noGrad(() => ...)');
    expect(() => noGrad(() => { throw new Error('inner'); })).toThrow('inner');
    expect(f64([1]).mul(2).requiresGrad).toBe(true);
  });

  it('vjp differentiates inside noGrad, and leaves recording off again', () => {
    const x = f64([1, 2], false);
    const [g, after] = noGrad(() => {
      const [, [gx]] = vjp((t) => t.mul(t).sum(), [x]);
      return [gx, isGradEnabled()] as const;
    });
    expect(values(g)).toEqual([2, 4]);
    expect(after).toBe(false);
    expect(isGradEnabled()).toBe(true);
  });
});

describe('recording', () => {
  it('in-place writes: a leaf and a graph tensor get their own hints; inside noGrad a leaf may be written', () => {
    const x = f64([1, 2]);
    const leaf = thrown(() => x.mul_(2));
    expect(leaf.reason).toBe('a leaf tensor that requires grad is being used in an in-place operation');
    expect(leaf.shapes).toEqual([[2]]);
    expect(leaf.hint).toBe('wrap the update in noGrad(() => ...), as optimizers do, or work on a clone()');
    const graph = thrown(() => x.mul(2).mul_(2));
    expect(graph.reason).toBe('in-place writes to a tensor inside the autograd graph are not supported');
    expect(graph.hint).toBe('compute a new tensor instead (x = x.add(y)), or detach() it first');
    expect(graph.shapes).toEqual([[2]]);
    noGrad(() => x.mul_(2));
    expect(values(x)).toEqual([2, 4]);
    // A tensor that does not require grad may be written anywhere.
    const c = f64([1, 1], false);
    c.mul_(3);
    expect(values(c)).toEqual([3, 3]);
  });

  it('an integer output records nothing; an input that needs no gradient gets none', () => {
    const x = f64([1, 5, 2]);
    const i = x.argmax();
    expect(i.requiresGrad).toBe(false);
    expect(i.gradFn).toBeNull();
    const c = f64([2, 3, 4], false);
    x.mul(c).sum().backward();
    expect(values(x.grad)).toEqual([2, 3, 4]);
    expect(c.grad).toBeNull();
    expect(x.mul(c).gradFn!.inputs[1]).toBeNull();
    expect(noGrad(() => x.mul(c)).gradFn).toBeNull();
  });
});

describe('what a rule saves is guarded against an in-place write', () => {
  it('erf, sin and max with a number save their input: writing it before backward is refused, naming the op', () => {
    const cases: [string, (x: Tensor) => Tensor][] = [['erf', (x) => x.erf()], ['sin', (x) => x.sin()], ['max', (x) => x.maximum(1.5)]];
    for (const [op, f] of cases) {
      const x = f64([1, 2]);
      const y = f(x).sum();
      noGrad(() => x.add_(1));
      const err = thrown(() => y.backward());
      expect(err.reason).toMatch(new RegExp(`^a tensor needed to compute the gradient of '${op}' was modified by an in-place operation`));
    }
  });

  it('sum, x - y and floor save nothing: their inputs may be written before backward', () => {
    const a = f64([1, 2]);
    const b = f64([5, 7]);
    const loss = a.sum().add(a.sub(b).sum()).add(b.floor().sum());
    noGrad(() => {
      a.add_(10);
      b.add_(10);
    });
    loss.backward();
    // d/da: 1 (sum) + 1 (x - y) = 2; d/db: -1 (x - y) + 0 (floor).
    expect(values(a.grad)).toEqual([2, 2]);
    expect(values(b.grad)).toEqual([-1, -1]);
  });
});

describe('vjp names itself', () => {
  it('in its options check and its primal check', () => {
    const x = f64([1], false);
    expect(thrown(() => vjp((t) => t.sum(), [x], undefined, 5 as never)).op).toBe('vjp');
    const int = thrown(() => vjp((t) => t.sum(), [tensor([1], { dtype: 'int32' })]));
    expect(int.op).toBe('vjp');
    expect(int.reason).toBe('primal 0 is int32; only floating-point tensors can be differentiated');
  });
});

