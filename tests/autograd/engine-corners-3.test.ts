/**
 * Corners of the backward pass and the functional API the other autograd tests do not take: a gradient that has
 * a shape and a storage but is not a Tensor, grad() walking only the part of the graph that leads to its inputs
 * (a disposed saved tensor elsewhere does not stop it, where backward() refuses), what log saves, hvp's hint with
 * two primals, and hvp's createGraph and op name. Expected values are derived by hand in the comments.
 */
import { describe, expect, it } from 'vitest';
import { grad, hvp, noGrad, tensor, type Tensor } from '../../src/index.js';
import { thrown } from '../helpers/thrown.js';

const f64 = (data: number[], requiresGrad = true): Tensor => tensor(data, { dtype: 'float64', requiresGrad });
const values = (t: Tensor | null): number[] => Array.from(t!.dataSync() as ArrayLike<number>);

describe('backward checks its gradient argument', () => {
  it('a function carrying a shape and a storage is not a gradient', () => {
    const x = f64([1, 2]);
    const y = x.mul(2);
    const fake = Object.assign(() => 0, { shape: [2], storage: {} });
    const err = thrown(() => y.backward(fake as never));
    expect(err.op).toBe('backward');
    expect(err.reason).toMatch(/^backward's first argument must be the output's gradient \(a Tensor\), got /);
    expect(x.grad).toBeNull();
  });

  it('a number is not a gradient either', () => {
    const y = f64([1, 2]).mul(2);
    expect(thrown(() => y.backward(5 as never)).reason).toBe("backward's first argument must be the output's gradient (a Tensor), got 5");
  });
});

describe('grad() walks only what leads to its inputs', () => {
  it('a disposed saved tensor on a branch that does not lead to the inputs does not stop grad(); backward() refuses it', () => {
    const x = f64([1, 2]);
    const w = f64([3, 4]);
    const e = w.exp(); // exp saves its output
    const y = x.mul(x).sum().add(e.sum());
    e.dispose();
    // d/dx Σ x² = 2x.
    expect(values(grad(y, [x], { retainGraph: true })[0])).toEqual([2, 4]);
    const err = thrown(() => y.backward());
    expect(err.reason).toBe("a tensor needed to compute the gradient of 'exp' was disposed");
    // Named as backward's refusal, with the disposed tensor's shape and what to do.
    expect(err.op).toBe('backward');
    expect(err.shapes).toEqual([[2]]);
    expect(err.hint).toMatch(/^dispose intermediates only after backward\(\)/);
  });
});

describe('what log saves', () => {
  it('log saves its input: writing it before backward is refused, naming log', () => {
    const x = f64([1, 2]);
    const y = x.log().sum();
    noGrad(() => x.add_(1));
    expect(thrown(() => y.backward()).reason).toMatch(/^a tensor needed to compute the gradient of 'log' was modified by an in-place operation/);
  });
});

describe('functional API corners', () => {
  it("hvp's hint lists every primal's shape, comma-separated", () => {
    const err = thrown(() => hvp((a: Tensor, b: Tensor) => a.sum().add(b.sum()), [f64([1, 2], false), f64([1, 2, 3], false)], [f64([1], false)]));
    expect(err.reason).toBe('v must hold one tensor per primal, of its shape');
    expect(err.hint).toBe('primals have shapes [2], [3]');
    // The error's shapes: the primals', then the vectors'.
    expect(err.shapes).toEqual([[2], [3], [1]]);
  });

  it('hvp with createGraph returns H·v in the graph (differentiable again); without, detached', () => {
    // f = Σ x³: ∇f = 3x², H·v = 6·x·v, and d/dx Σ (6·x·v) = 6·v.
    const x = f64([1, 2]);
    const v = f64([1, -1], false);
    const [, [plain]] = hvp((a) => a.pow(3).sum(), [x], [v]);
    expect(values(plain)).toEqual([6, -12]);
    expect(plain.requiresGrad).toBe(false);
    const [, [kept]] = hvp((a) => a.pow(3).sum(), [x], [v], { createGraph: true });
    expect(values(kept)).toEqual([6, -12]);
    expect(kept.requiresGrad).toBe(true);
    expect(values(grad(kept.sum(), [x])[0])).toEqual([6, -6]);
  });

  it("hvp's options are checked under its own name", () => {
    const err = thrown(() => hvp((a) => a.sum(), [f64([1])], [f64([1], false)], 5 as never));
    expect(err.op).toBe('hvp');
  });
});
