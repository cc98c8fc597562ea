/**
 * Corners of the gradient rules the other autograd tests in the mutation sample's list do not take: floordiv of
 * two tensors gives both a zero gradient, each of its operand's shape (PyTorch's zeros_like), and, reading only
 * shapes, saves nothing, so its operands may be written before backward and a second backward is not refused
 * (as floor and floordiv with a number); `v / b` saves b, which its gradient -v/b² reads, so writing b before
 * backward is refused; rsqrt saves its result, so a second backward through it is refused, as PyTorch refuses it.
 * `max(a, b)` of two tensors saves both (which side wins is read from their values), `a % b` saves a and b, and `v % b` saves b (the divisor's gradient -floor(a/b) reads them). grad() refusing an input the outputs do not use names
 * its op and the input's shape; jvp names itself in its options check. Expected values are derived by hand in the
 * comments.
 */
import { describe, expect, it } from 'vitest';
import { grad, jvp, noGrad, tensor, type Tensor } from '../../src/index.js';
import { binaryScalarLeft } from '../../src/runtime/ops.js';
import { thrown } from '../helpers/thrown.js';

const f64 = (data: number[], shape: number[] = [data.length]): Tensor => tensor(data, { shape, dtype: 'float64', requiresGrad: true });
const values = (t: Tensor | null): number[] => Array.from(t!.dataSync() as ArrayLike<number>);

describe('floordiv of two tensors', () => {
  it('gives each operand a zero gradient of its own shape, a broadcast divisor included', () => {
    const a = f64([7, -3, 5.5, 1, 2, -8], [2, 3]);
    const b = f64([2, 0.5, 3]);
    a.floorDivide(b).sum().backward();
    expect(a.grad!.shape).toEqual([2, 3]);
    expect(values(a.grad)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(b.grad!.shape).toEqual([3]);
    expect(values(b.grad)).toEqual([0, 0, 0]);
  });

  it('saves nothing: its operands may be written before backward, and a second backward runs', () => {
    const a = f64([7, -3]);
    const b = f64([2, 4]);
    // loss = Σ floor(a / b) + Σ a·1: d/da = 0 + 1, d/db = 0 (mul by a number saves nothing either).
    const loss = a.floorDivide(b).sum().add(a.mul(1).sum());
    noGrad(() => {
      a.add_(10);
      b.add_(10);
    });
    loss.backward();
    expect(values(a.grad)).toEqual([1, 1]);
    expect(values(b.grad)).toEqual([0, 0]);
    loss.backward();
    expect(values(a.grad)).toEqual([2, 2]);
    expect(values(b.grad)).toEqual([0, 0]);
  });
});

describe('what a rule saves is guarded', () => {
  it('v / b saves b: writing it before backward is refused, naming div', () => {
    const b = f64([2, 4]);
    const y = binaryScalarLeft('div', 3, b).sum();
    noGrad(() => b.add_(1));
    const err = thrown(() => y.backward());
    expect(err.op).toBe('backward');
    expect(err.reason).toMatch(/^a tensor needed to compute the gradient of 'div' was modified by an in-place operation/);
    expect(b.grad).toBeNull();
  });

  it('v / b with b unwritten has the gradient -v/b²', () => {
    const b = f64([2, 4]);
    binaryScalarLeft('div', 3, b).sum().backward();
    expect(values(b.grad)).toEqual([-3 / 4, -3 / 16]);
  });

  it('rsqrt saves its result: a second backward without retainGraph is refused, naming rsqrt', () => {
    const x = f64([4, 16]);
    const y = x.rsqrt().sum();
    y.backward();
    // d/dx x^(-1/2) = -x^(-3/2)/2: -1/16 at 4, -1/128 at 16.
    expect(values(x.grad)).toEqual([-1 / 16, -1 / 128]);
    const err = thrown(() => y.backward());
    expect(err.reason).toBe("trying to backward through the graph a second time (the saved tensors of 'rsqrt' were freed)");
    expect(values(x.grad)).toEqual([-1 / 16, -1 / 128]);
  });
});

describe('max of two tensors saves both', () => {
  it('writing either before backward is refused, naming max; unwritten, the winner gets the gradient and a tie halves it', () => {
    for (const which of ['a', 'b'] as const) {
      const a = f64([1, 5, 3]);
      const b = f64([2, 4, 3]);
      const y = a.maximum(b).sum();
      noGrad(() => (which === 'a' ? a : b).add_(1));
      expect(thrown(() => y.backward()).reason).toMatch(/^a tensor needed to compute the gradient of 'max' was modified by an in-place operation/);
    }
    const a = f64([1, 5, 3]);
    const b = f64([2, 4, 3]);
    a.maximum(b).sum().backward();
    expect(values(a.grad)).toEqual([0, 1, 0.5]);
    expect(values(b.grad)).toEqual([1, 0, 0.5]);
  });
});

describe('a % b saves a and b', () => {
  it('writing either before backward is refused, naming mod; unwritten, the gradients are 1 and -floor(a/b)', () => {
    for (const which of ['a', 'b'] as const) {
      const a = f64([7, -7]);
      const b = f64([2, 4]);
      const y = a.remainder(b).sum();
      noGrad(() => (which === 'a' ? a : b).add_(1));
      expect(thrown(() => y.backward()).reason).toMatch(/^a tensor needed to compute the gradient of 'mod' was modified by an in-place operation/);
    }
    const a = f64([7, -7]);
    const b = f64([2, 4]);
    a.remainder(b).sum().backward();
    // floor(7/2) = 3, floor(-7/4) = -2.
    expect(values(a.grad)).toEqual([1, 1]);
    expect(values(b.grad)).toEqual([-3, 2]);
  });
});

describe('v % b saves b', () => {
  it('writing b before backward is refused, naming mod; unwritten, the gradient is -floor(v/b)', () => {
    const b = f64([2, 4]);
    const y = binaryScalarLeft('mod', 7, b).sum();
    noGrad(() => b.add_(1));
    expect(thrown(() => y.backward()).reason).toMatch(/^a tensor needed to compute the gradient of 'mod' was modified by an in-place operation/);
    const c = f64([2, 4]);
    binaryScalarLeft('mod', 7, c).sum().backward();
    // -floor(7/2) = -3, -floor(7/4) = -1.
    expect(values(c.grad)).toEqual([-3, -1]);
  });
});

describe('grad() and jvp() name themselves', () => {
  it("grad()'s refusal of an unused input names grad and the input's shape", () => {
    const x = f64([1, 2]);
    const unused = f64([1, 2, 3, 4, 5, 6], [2, 3]);
    const err = thrown(() => grad(x.mul(x).sum(), [x, unused]));
    expect(err.op).toBe('grad');
    expect(err.reason).toBe('one of the differentiated tensors appears to not have been used in the graph');
    expect(err.shapes).toEqual([[2, 3]]);
  });

  it("jvp's options check", () => {
    const x = f64([1, 2]);
    const err = thrown(() => jvp((t) => t.sum(), [x], [f64([1, 1])], 5 as never));
    expect(err.op).toBe('jvp');
  });
});
