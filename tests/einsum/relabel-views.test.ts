/**
 * Two things numpy's einsum does that einjit now does too: a single operand that is only relabelled (no axis
 * summed: a diagonal, a permutation, the identity) comes back as a view of it, and numbers and nested arrays are
 * operands. Expected values come from the float64 reference einsum (einjit/testing's, written apart from the
 * parser and planner) or are written out by hand.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EinjitError, einsum, randn, tensor, type Tensor } from '../../src/index.js';
import { gradcheck } from '../../src/testing/index.js';
import { DEVICES } from '../helpers/devices.js';
import { referenceEinsum } from '../reference/einsum.js';

const values = (t: Tensor): number[] => Array.from(t.dataSync() as ArrayLike<number>);

/** A random single-operand pattern over up to 4 letters, some repeated, and an output that may drop some. */
const relabelCase = fc.record({
  term: fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { minLength: 1, maxLength: 4 }),
  keep: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
  order: fc.array(fc.nat(), { minLength: 4, maxLength: 4 }),
  sizes: fc.record({ a: fc.integer({ min: 1, max: 4 }), b: fc.integer({ min: 1, max: 4 }), c: fc.integer({ min: 1, max: 4 }), d: fc.integer({ min: 1, max: 4 }) }),
});

describe('einsum returns a view when one operand is only relabelled', () => {
  it("'ii->i' and 'ij->ji' share the operand's storage: a write through the view shows in the operand", () => {
    const a = tensor([[1, 2], [3, 4]], { dtype: 'float64' });
    const d = einsum('ii->i', a);
    const t = einsum('ij->ji', a);
    expect(values(d)).toEqual([1, 4]);
    expect(values(t)).toEqual([1, 3, 2, 4]);
    expect(d.storage).toBe(a.storage);
    expect(t.storage).toBe(a.storage);
    d.mul_(10);
    expect(values(a)).toEqual([10, 2, 3, 40]);
    t.add_(tensor([[0, 100], [0, 0]], { dtype: 'float64' }));
    expect(values(a)).toEqual([10, 2, 103, 40]); // t[0][1] is a[1][0]
  });

  it('views exactly when nothing is summed, with the reference values (property)', () => {
    fc.assert(fc.property(relabelCase, ({ term, keep, order, sizes }) => {
      const distinct = term.filter((l, i) => term.indexOf(l) === i);
      const kept = distinct.filter((_, i) => keep[i]);
      const output = kept.map((l, i) => [l, order[i]!] as const).sort((x, y) => x[1] - y[1]).map(([l]) => l);
      const pattern = `${term.join('')}->${output.join('')}`;
      const shape = term.map((l) => sizes[l as keyof typeof sizes]);
      const x = randn(shape, { dtype: 'float64' });
      const got = einsum(pattern, x);
      const want = referenceEinsum(pattern, [x]);
      expect(got.shape).toEqual(want.shape);
      values(got).forEach((v, i) => expect(Math.abs(v - want.data[i]!)).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(want.data[i]!))));
      expect(got.storage === x.storage, pattern).toBe(output.length === distinct.length);
    }), { numRuns: 300 });
  });

  it('differentiates through the view: the gradient lands on the diagonal, or is the transpose', () => {
    const x = randn([3, 3], { dtype: 'float64' }).requiresGrad_();
    einsum('ii->i', x).mul(tensor([1, 2, 3], { dtype: 'float64' })).sum().backward();
    expect(values(x.grad!)).toEqual([1, 0, 0, 0, 2, 0, 0, 0, 3]);
    for (const pattern of ['ii->i', 'ij->ji', 'iij->ji', 'ijk->kij']) {
      const shape = pattern.startsWith('iij') ? [2, 2, 3] : pattern.startsWith('ijk') ? [2, 3, 4] : [3, 3];
      const input = randn(shape, { dtype: 'float64' }).requiresGrad_();
      // Throws when the analytic gradient and central differences disagree.
      const result = gradcheck((t) => einsum(pattern, t).mul(einsum(pattern, t)), [input]);
      expect(result.analytic[0]!.length, pattern).toBe(input.size);
    }
  });

  for (const device of DEVICES) {
    it(`is a view on ${device} too`, async () => {
      const a = await tensor([[1, 2, 3], [4, 5, 6], [7, 8, 9]]).to(device);
      const d = einsum('ii->i', a);
      expect(d.storage).toBe(a.storage);
      expect(Array.from(await d.data() as ArrayLike<number>)).toEqual([1, 5, 9]);
      expect(Array.from(await einsum('ij->ji', a).data() as ArrayLike<number>)).toEqual([1, 4, 7, 2, 5, 8, 3, 6, 9]);
    });
  }
});

describe('einsum takes numbers and nested arrays as operands', () => {
  it('reads them as tensor() does, alone or beside tensors, pattern first or last', () => {
    expect(values(einsum('ij,j->i', [[1, 2], [3, 4]], [1, 1]))).toEqual([3, 7]);
    expect(values(einsum('ii->i', [[1, 2], [3, 4]]))).toEqual([1, 4]); // one nested array is data, not a list
    expect(values(einsum('i,->i', tensor([1, 2]), 3))).toEqual([3, 6]);
    expect(values(einsum([[1, 2], [3, 4]], [5, 6], 'i j, j -> i'))).toEqual([17, 39]);
    expect(einsum('i,i->', [true, false], [true, true]).toArray()).toBe(true); // numpy: True
  });

  it('keeps every digit beside a float64 tensor (the array is read in float64, not rounded to float32)', () => {
    const x = tensor([1, 1, 1], { dtype: 'float64' });
    const got = einsum('i,i->', x, [0.1, 0.2, 0.3]);
    expect(got.dtype).toBe('float64');
    expect(got.toArray()).toBe(0.1 + 0.2 + 0.3);
    // Beside an int32 tensor the array reads as float32, and the result promotes.
    expect(einsum('i,i->', tensor([1, 2], { dtype: 'int32' }), [0.5, 0.25]).dtype).toBe('float32');
  });

  for (const device of DEVICES) {
    it(`puts them on the tensors' device (${device})`, async () => {
      const w = await tensor([[1, 0], [0, 2]]).to(device);
      const out = einsum('ij,j->i', w, [3, 4]);
      expect(out.device).toBe(device);
      expect(Array.from(await out.data() as ArrayLike<number>)).toEqual([3, 8]);
    });
  }

  it('reads a row shared twice, and refuses an array holding itself with an EinjitError (no stack overflow, no hang)', () => {
    const row = [1, 2];
    expect(values(einsum('ij->', [row, row]))).toEqual([6]);
    const cyclic: unknown[] = [1];
    cyclic.push(cyclic);
    expect(() => einsum('i->', cyclic as never)).toThrow(EinjitError);
    let deep: unknown = 1;
    for (let i = 0; i < 20000; i++) deep = [deep];
    expect(() => einsum('i->', deep as never)).toThrow(EinjitError);
  });

  it('still refuses what is not numbers, with the operand named', () => {
    for (const bad of ['x', [1, 'x'], null, undefined]) {
      let caught: unknown = null;
      try {
        einsum('i,i->', tensor([1, 2]), bad as never);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(EinjitError);
      expect((caught as EinjitError).message).toContain('operand 1 of einsum is not a Tensor');
    }
  });
});
