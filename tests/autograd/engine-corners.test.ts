/**
 * Corners of the backward pass that engine.test.ts does not look at: the fields of its errors, a gradient of
 * another dtype or device than the output, recording switched off while rules run, what exp and a scalar-left
 * remainder save, and zeroGrad over any iterable. Expected values are derived by hand in the comments.
 */
import { describe, expect, it } from 'vitest';
import { noGrad, tensor, type Tensor } from '../../src/index.js';
import { zeroGrad } from '../../src/autograd/index.js';
import { binaryScalarLeft } from '../../src/runtime/ops.js';
import { DEVICES } from '../helpers/devices.js';
import { thrown } from '../helpers/thrown.js';

const f64 = (data: number[] | number[][], requiresGrad = true): Tensor => tensor(data, { dtype: 'float64', requiresGrad });
const values = (t: Tensor | null): number[] => Array.from(t!.dataSync() as ArrayLike<number>);

describe('backward: its errors name the op and the shapes', () => {
  it('a non-scalar output without a gradient', () => {
    const y = f64([[1, 2, 3], [4, 5, 6]]).mul(2);
    const err = thrown(() => y.backward());
    expect(err.reason).toMatch(/only for scalar outputs/);
    expect(err.op).toBe('backward');
    expect(err.shapes).toEqual([[2, 3]]);
  });

  it('a first argument that is not a tensor', () => {
    const y = f64([1, 2]).mul(2);
    const err = thrown(() => y.backward(5 as unknown as Tensor));
    expect(err.reason).toMatch(/first argument must be the output's gradient/);
    expect(err.op).toBe('backward');
    expect(err.shapes).toEqual([[2]]);
  });

  it('a saved tensor written in place names that tensor', () => {
    const x = f64([[1, 2, 3], [4, 5, 6]]);
    const y = x.mul(x).sum();
    noGrad(() => x.add_(1));
    const err = thrown(() => y.backward());
    expect(err.reason).toMatch(/modified by an in-place operation/);
    expect(err.op).toBe('backward');
    expect(err.shapes).toEqual([[2, 3]]);
  });

  it('an in-place write to a leaf or to a graph tensor is refused as an in-place write', () => {
    const x = f64([1, 2]);
    expect(thrown(() => x.add_(1)).op).toBe('in-place write');
    const y = x.mul(2);
    const err = thrown(() => y.add_(1));
    expect(err.reason).toMatch(/inside the autograd graph/);
    expect(err.op).toBe('in-place write');
  });
});

describe('backward: the gradient passed in', () => {
  it('a float64 gradient of a float32 output is rounded to float32 before the rules run', () => {
    // 1 + 2^-24 lies halfway between the float32 neighbours 1 and 1 + 2^-23 and rounds to even: 1. The rule of
    // x * 3 then gives 3. Rounded only at the end, 3 + 3 * 2^-24 would round up to 3 + 2^-22.
    const x = tensor([1], { dtype: 'float32', requiresGrad: true });
    x.mul(3).backward(tensor([1 + 2 ** -24], { dtype: 'float64' }));
    expect(x.grad!.dtype).toBe('float32');
    expect(values(x.grad)).toEqual([3]);
  });

  for (const device of DEVICES.filter((d) => d !== 'cpu')) {
    it(`a gradient on ${device} for an output on the cpu is refused as such`, () => {
      const y = f64([1, 2]).mul(2);
      const g = tensor([1, 1], { dtype: 'float32', device });
      const err = thrown(() => y.backward(g));
      expect(err.reason).toBe(`the gradient is on '${device}' but the output is on 'cpu'`);
      expect(err.op).toBe('backward');
    });
  }
});

describe('backward runs its rules with recording off', () => {
  it('a gradient accumulated over two passes is a plain tensor, not part of a graph', () => {
    // d/dx sum(x * w) = w, twice: 2w. The second pass adds into x.grad; w requires grad, so a recorded rule
    // would make that sum a graph node.
    const x = f64([1, 2, 3]);
    const w = f64([0.5, -1, 4]);
    const y = x.mul(w).sum();
    y.backward(undefined, { retainGraph: true });
    y.backward();
    expect(values(x.grad)).toEqual([1, -2, 8]);
    expect(x.grad!.requiresGrad).toBe(false);
    expect(x.grad!.gradFn).toBeNull();
    expect(values(w.grad)).toEqual([2, 4, 6]);
    expect(w.grad!.requiresGrad).toBe(false);
  });
});

describe('what a rule saves is guarded against a second backward', () => {
  it("exp saves its result: a second pass without retainGraph is refused naming 'exp'", () => {
    const y = f64([0, 1]).exp().sum();
    y.backward();
    const err = thrown(() => y.backward());
    expect(err.reason).toMatch(/a second time \(the saved tensors of 'exp' were freed\)/);
  });

  it("v % b saves b: a second pass without retainGraph is refused naming 'mod'", () => {
    // d/db (5 mod b) = -floor(5 / b): b = 2 gives -2, b = 3 gives -1.
    const b = f64([2, 3]);
    const y = binaryScalarLeft('mod', 5, b).sum();
    y.backward();
    expect(values(b.grad)).toEqual([-2, -1]);
    const err = thrown(() => y.backward());
    expect(err.reason).toMatch(/a second time \(the saved tensors of 'mod' were freed\)/);
  });
});

describe('zeroGrad', () => {
  function withGrad(): Tensor {
    const x = f64([1, 2]);
    x.mul(3).sum().backward();
    return x;
  }

  it('takes any iterable of tensors, not only an array', () => {
    const x = withGrad();
    zeroGrad(new Set([x]));
    expect(x.grad).toBeNull();
    const y = withGrad();
    zeroGrad([y], { setToNone: false });
    expect(values(y.grad)).toEqual([0, 0]);
  });

  it('refuses a non-iterable, bad options and a non-boolean setToNone as zeroGrad', () => {
    const x = withGrad();
    const notIterable = thrown(() => zeroGrad({} as unknown as Tensor[]));
    expect(notIterable.op).toBe('zeroGrad');
    expect(thrown(() => zeroGrad([x], 5 as unknown as object)).op).toBe('zeroGrad');
    const bad = thrown(() => zeroGrad([x], { setToNone: 1 } as unknown as object));
    expect(bad.op).toBe('zeroGrad');
    expect(bad.reason).toMatch(/^setToNone must be true or false/);
    expect(values(x.grad)).toEqual([3, 3]);
  });
});
