/**
 * einjit/testing checked on its own: the oracle against hand-written loops, the arbitraries' shapes, dtypes and
 * layouts, assertClose's tolerances and messages, gradcheck catching a wrong gradient; then the tools used as a
 * user would, einjit's einsum against the oracle on random calls, on every device.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EinjitError, einsum, noGrad, pack, rearrange, reduce, repeat, tensor, type Tensor } from '../../src/index.js';
import {
  AssertionError, DEFAULT_TOLERANCES, LAYOUTS, applyEinsum, assertClose, einopsCall, einsumCall, gradcheck, multiIndices,
  nonContiguous, numpyEinsumCase, packCase, randomTensor, referenceEinsum, tensorOf, toleranceFor,
} from '../../src/testing/index.js';
import { DEVICES } from '../helpers/devices.js';

const RUNS = 150;

describe('referenceEinsum against loops written here', () => {
  const a = { shape: [2, 3], data: [1, 2, 3, 4, 5, 6] };
  const b = { shape: [3, 2], data: [7, 8, 9, 10, 11, 12] };

  it('matrix product, implicit output, transpose and outer product', () => {
    const mm = [0, 1].flatMap((i) => [0, 1].map((k) => [0, 1, 2].reduce((s, j) => s + a.data[i * 3 + j]! * b.data[j * 2 + k]!, 0)));
    expect(referenceEinsum('ij,jk->ik', [a, b])).toEqual({ shape: [2, 2], data: Float64Array.from(mm) });
    expect(referenceEinsum('ij,jk', [a, b])).toEqual({ shape: [2, 2], data: Float64Array.from(mm) });
    // Implicit output sorts the free labels: 'ba' means the transpose.
    expect(Array.from(referenceEinsum('ba', [a]).data)).toEqual([1, 4, 2, 5, 3, 6]);
    expect(referenceEinsum('i,j->ij', [{ shape: [2], data: [2, 3] }, { shape: [3], data: [1, 10, 100] }]).data)
      .toEqual(Float64Array.from([2, 20, 200, 3, 30, 300]));
  });

  it('diagonal, trace, broadcasting with ..., einops syntax, size-0 axes and scalars', () => {
    const sq = { shape: [3, 3], data: [1, 2, 3, 4, 5, 6, 7, 8, 9] };
    expect(Array.from(referenceEinsum('ii->i', [sq]).data)).toEqual([1, 5, 9]);
    expect(referenceEinsum('ii', [sq])).toEqual({ shape: [], data: Float64Array.from([15]) });
    // '...' broadcasts a size-1 dim: [2, 1, 3] · [4, 3] summed over the last axis -> [2, 4].
    const x = { shape: [2, 1, 3], data: [1, 0, 0, 0, 1, 1] };
    const y = { shape: [4, 3], data: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] };
    expect(referenceEinsum('...i,...i->...', [x, y])).toEqual({ shape: [2, 4], data: Float64Array.from([1, 4, 7, 10, 5, 11, 17, 23]) });
    expect(referenceEinsum('batch i, i -> batch', [a, { shape: [3], data: [1, 1, 1] }], { syntax: 'einops' }).data)
      .toEqual(Float64Array.from([6, 15]));
    expect(referenceEinsum('ij,jk->ik', [{ shape: [2, 0], data: [] }, { shape: [0, 3], data: [] }])).toEqual({ shape: [2, 3], data: new Float64Array(6) });
    expect(referenceEinsum(',->', [{ shape: [], data: [3] }, { shape: [], data: [4] }]).data).toEqual(Float64Array.from([12]));
  });

  it('reads CPU tensors of any layout and refuses what it cannot read', () => {
    const t = tensor([[1, 2, 3], [4, 5, 6]], { dtype: 'float64' }).transpose(0, 1);
    expect(Array.from(referenceEinsum('ij->ij', [t]).data)).toEqual([1, 4, 2, 5, 3, 6]);
    expect(() => referenceEinsum('ij,jk->ik', [a])).toThrow(/2 operands but 1 were given/);
    expect(() => referenceEinsum('ij->ij', [{ shape: [2], data: [1, 2] }])).toThrow(EinjitError);
    expect(() => referenceEinsum('i,i->i', [{ shape: [2], data: [1, 2] }, { shape: [3], data: [1, 2, 3] }])).toThrow(/lengths 2 and 3/);
  });
});

describe('the arbitraries', () => {
  it('tensorOf gives the shape, dtype, values and layout it reports', () => {
    const seen = new Set<string>();
    fc.assert(fc.property(
      fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 0, maxLength: 3 }).chain((shape) => tensorOf(shape, { dtypes: ['float32', 'float64', 'float16', 'int32', 'bool'] })),
      (c) => {
        seen.add(c.layout);
        expect(c.tensor.shape).toEqual(c.shape);
        expect(c.tensor.dtype).toBe(c.dtype);
        expect(Array.from(c.tensor.dataSync(), Number)).toEqual(Array.from(c.data));
        if (c.layout === 'contiguous') expect(c.tensor.offset).toBe(0);
        if (c.layout === 'contiguous' && c.tensor.size > 0) expect(c.tensor.isContiguous).toBe(true);
        if (c.layout === 'offset') expect(c.tensor.offset).toBe(1);
        if (c.layout === 'transposed' || c.layout === 'strided' || c.layout === 'reversed') expect(c.tensor.isContiguous).toBe(false);
        if (c.layout === 'reversed' && c.shape[c.shape.length - 1]! > 1) expect(c.tensor.strides[c.tensor.ndim - 1]).toBeLessThan(0);
        if (c.dtype === 'int32') expect(c.data.every((v) => Number.isInteger(v))).toBe(true);
        if (c.dtype === 'bool') expect(c.data.every((v) => v === 0 || v === 1)).toBe(true);
      },
    ), { numRuns: 300 });
    expect([...seen].sort()).toEqual([...LAYOUTS].sort());
  });

  it('einsum cases cover size-0 and size-1 axes, ellipses and implicit outputs', () => {
    const cases = fc.sample(numpyEinsumCase(), { numRuns: 400, seed: 7 });
    expect(cases.some((c) => c.shapes.some((s) => s.includes(0)))).toBe(true);
    expect(cases.some((c) => c.shapes.some((s) => s.includes(1)))).toBe(true);
    expect(cases.some((c) => c.pattern.includes('...'))).toBe(true);
    expect(cases.some((c) => !c.pattern.includes('->'))).toBe(true);
    expect(cases.some((c) => c.shapes.length >= 3)).toBe(true);
  });

  it('einops calls run, and keep the total (rearrange), scale it (repeat) or sum it (reduce sum), in float64', () => {
    fc.assert(fc.property(einopsCall({ dtypes: ['float64'] }), (c) => {
      const x = c.input.tensor;
      const total = c.input.data.reduce((s, v) => s + v, 0);
      const sumOf = (t: Tensor): number => Array.from(t.dataSync()).reduce((s, v) => s + v, 0);
      if (c.op === 'rearrange') {
        const y = rearrange(x, c.pattern, c.axesLengths);
        expect(y.size).toBe(x.size);
        expect(sumOf(y)).toBeCloseTo(total, 9);
      } else if (c.op === 'repeat') {
        const y = repeat(x, c.pattern, c.axesLengths);
        expect(sumOf(y)).toBeCloseTo(x.size === 0 ? 0 : total * (y.size / x.size), 9);
      } else if (c.reduction === 'sum') {
        expect(sumOf(reduce(x, c.pattern, 'sum', c.axesLengths))).toBeCloseTo(total, 9);
      } else {
        expect(reduce(x, c.pattern, c.reduction as 'mean', c.axesLengths).dtype).toBe('float64');
      }
    }), { numRuns: RUNS });
  });

  it('pack cases pack', () => {
    fc.assert(fc.property(packCase(), (c) => {
      const [packed] = pack(c.shapes.map((s) => tensor(new Float64Array(s.reduce((a, b) => a * b, 1)), { shape: s })), c.pattern);
      expect(packed.size).toBe(c.shapes.reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0));
    }), { numRuns: 50 });
  });
});

describe('assertClose', () => {
  it('holds each dtype to its tolerance, the loosest of the two sides', () => {
    expect(toleranceFor('float32', 'float64')).toBe(DEFAULT_TOLERANCES.float32);
    expect(toleranceFor('float64', 'float16')).toBe(DEFAULT_TOLERANCES.float16);
    const exact = { shape: [2], data: [1, 2] };
    // 1 + 5e-6 is within float32's tolerance (1e-5 + 1.3e-6) but not float64's (2e-7).
    assertClose(tensor([1 + 5e-6, 2], { dtype: 'float32' }), exact);
    expect(() => assertClose(tensor([1 + 5e-6, 2], { dtype: 'float64' }), exact)).toThrow(AssertionError);
    assertClose(tensor([1.0005, 2], { dtype: 'float16' }), exact, { atol: 1e-3 });
    expect(() => assertClose(tensor([1, 3], { dtype: 'int32' }), exact)).toThrow(/1 of 2 elements/);
    assertClose([1, 2.05], exact, { atol: 0.1 });
    assertClose(3, { shape: [], data: [3] });
  });

  it('names the worst element, checks shapes, and treats NaN as unequal unless asked', () => {
    let message = '';
    try {
      assertClose({ shape: [2, 2], data: [1, 2, 3, 4.5] }, { shape: [2, 2], data: [1, 2.1, 3, 4] }, { message: 'attention output' });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('attention output: values are not close: 2 of 4 elements (50.0%)');
    expect(message).toContain('worst at [1, 1]: actual 4.5, expected 4');
    expect(() => assertClose({ shape: [2, 1], data: [1, 2] }, { shape: [1, 2], data: [1, 2] })).toThrow(/shapes differ: actual \[2, 1\], expected \[1, 2\]/);
    expect(() => assertClose([NaN], [NaN])).toThrow(AssertionError);
    assertClose([NaN, Infinity], [NaN, Infinity], { equalNan: true });
    expect(() => assertClose([Infinity], [-Infinity])).toThrow(AssertionError);
  });
});

describe('gradcheck', () => {
  it('passes for einsum on non-contiguous inputs', () => {
    const f = (q: Tensor, k: Tensor): Tensor => einsum('id,jd->ij', q, k).tanh();
    gradcheck(f, [randomTensor([3, 4], 1), nonContiguous(randomTensor([2, 4], 2), true)]);
    gradcheck(f, [randomTensor([3, 4], 3).transpose(0, 1).contiguous().transpose(0, 1), randomTensor([2, 4], 4)], { constant: [1] });
  });

  it('catches a wrong gradient and refuses inputs it cannot difference', () => {
    // x · detach(x): backward sees x as the gradient, finite differences see 2x.
    const wrong = (x: Tensor): Tensor => x.mul(noGrad(() => x.detach()));
    expect(() => gradcheck(wrong, [randomTensor([3], 5)])).toThrow(/gradcheck failed: input 0/);
    expect(() => gradcheck((x) => x.mul(2), [randomTensor([3], 6).cast('float32')])).toThrow(/float64 CPU inputs/);
  });
});

describe.each(DEVICES)('einjit einsum against the oracle on random calls (%s)', (device) => {
  it(device === 'cpu' ? `${RUNS} calls, every syntax, dtype and layout` : '12 calls', async () => {
    const runs = device === 'cpu' ? RUNS : 12;
    await fc.assert(fc.asyncProperty(einsumCall({ device, dtypes: device === 'cpu' ? ['float32', 'float64', 'float16'] : ['float32'] }), async (c) => {
      const got = applyEinsum(c, c.operands.map((o) => o.tensor));
      const want = referenceEinsum(c.pattern, c.operands, { syntax: c.syntax });
      assertClose(await got.to('cpu'), want, { message: c.pattern });
    }), { numRuns: runs, seed: 42 });
  }, 300_000);
});

describe('multiIndices', () => {
  it('enumerates in row-major order', () => {
    expect(multiIndices([2, 2])).toEqual([[0, 0], [0, 1], [1, 0], [1, 1]]);
    expect(multiIndices([])).toEqual([[]]);
    expect(multiIndices([2, 0])).toEqual([]);
  });
});
