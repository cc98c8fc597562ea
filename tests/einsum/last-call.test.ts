/**
 * einsum remembers its last plain call (`einsum(pattern, ...tensors)`, no options) and, called again with the same
 * pattern and shapes, skips the argument split and the checked-pattern cache. The bug class is a stale shortcut: a
 * call with other shapes, another pattern, options, nested-array operands or a mismatch taken as the remembered
 * one. Random sequences of such calls run back to back, each checked against a float64 loop (or, for a call
 * that must fail, against the error einsum gives when nothing is remembered).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { EinjitError, einsum, randn, tensor, type Tensor } from '../../src/index.js';
import { lastCallHits } from '../../src/api/einsum.js';
import { reference, termsOf } from '../helpers/einsum-reference.js';
import { thrown } from '../helpers/thrown.js';

interface Call {
  readonly pattern: string;
  readonly sizes: Record<string, number>;
  /** How the call is written: plain tensors, with an options object, or the first operand as a nested array. */
  readonly form: 'plain' | 'options' | 'nested';
}

const PATTERNS = ['ij,jk->ik', 'ij,jk->ki', 'ab,bc->ac', 'i,i->', 'ij->ji', 'ij,ij->ij', 'bij,bjk->bik'];
const callArb: fc.Arbitrary<Call> = fc.record({
  pattern: fc.constantFrom(...PATTERNS),
  // Few sizes, so that sequences often repeat a call exactly and often change one extent.
  sizes: fc.record({ i: fc.constantFrom(2, 3), j: fc.constantFrom(3, 4), k: fc.constantFrom(2, 5), a: fc.constantFrom(2, 3), b: fc.constantFrom(3, 4), c: fc.constantFrom(2, 5) }),
  form: fc.constantFrom<Call['form']>('plain', 'plain', 'plain', 'options', 'nested'),
});

function nested(t: Tensor): unknown {
  return t.toArray();
}

function run(call: Call): void {
  const { inputs } = termsOf(call.pattern);
  const ops = inputs.map((term) => randn([...term].map((c) => call.sizes[c]!), { dtype: 'float64' }));
  const flats = ops.map((t) => Float64Array.from(t.dataSync() as Float64Array));
  const at = inputs.map((term, k) => (idx: number[]) => {
    let flat = 0;
    [...term].forEach((c, d) => { flat = flat * call.sizes[c]! + idx[d]!; });
    return flats[k]![flat]!;
  });
  const args: unknown[] = call.form === 'nested' ? [nested(ops[0]!), ...ops.slice(1)] : ops;
  const y = call.form === 'options'
    ? einsum(call.pattern, ...(args as Tensor[]), { optimize: 'greedy' })
    : einsum(call.pattern, ...(args as Tensor[]));
  // A nested array takes the dtype of the tensors beside it (float64 here); alone, the default float32, and the
  // reference then reads its values rounded to float32.
  const lone = call.form === 'nested' && ops.length === 1;
  expect(y.dtype).toBe(lone ? 'float32' : 'float64');
  const want = reference(call.pattern, call.sizes, lone ? [(idx) => Math.fround(at[0]!(idx))] : at);
  const got = y.contiguous().dataSync() as Float64Array;
  expect(got.length).toBe(want.length);
  const tol = lone ? 1e-6 : 1e-12;
  got.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThanOrEqual(tol * (1 + Math.abs(want[i]!))));
}

describe('the remembered last einsum call', () => {
  it('never stands in for a call with other shapes, another pattern, options or nested operands', () => {
    fc.assert(fc.property(fc.array(callArb, { minLength: 2, maxLength: 12 }), (calls) => {
      for (const c of calls) {
        run(c);
        run(c); // the same call twice: the second may take the shortcut
      }
      // Plain calls repeated in a row do take it (so the property above exercises it).
      const before = lastCallHits();
      const gemm: Call = { pattern: 'ij,jk->ik', sizes: calls[0]!.sizes, form: 'plain' };
      run(gemm);
      run(gemm);
      expect(lastCallHits()).toBeGreaterThan(before);
    }), { numRuns: 60 });
  });

  it('a call whose shapes do not fit after a remembered one fails as it would have without it', () => {
    const a = randn([2, 3]);
    const b = randn([3, 4]);
    einsum('ij,jk->ik', a, b);
    einsum('ij,jk->ik', a, b);
    const wrong = randn([5, 4]);
    const err = thrown(() => einsum('ij,jk->ik', a, wrong));
    expect(err).toBeInstanceOf(EinjitError);
    expect(err.message).toMatch(/j/);
    // The same failure on a fresh pattern string with nothing remembered for it.
    einsum('i,i->', randn([3]), randn([3]));
    const fresh = thrown(() => einsum('ij,jk->ik', a, wrong));
    expect(fresh.message).toBe(err.message);
    expect(thrown(() => einsum('ij,jk->ik' as string, a, b, b)).message).toMatch(/operand/);
    // An operand whose leading extents match the remembered shape but which has one axis more.
    einsum('ij,jk->ik', a, b);
    expect(thrown(() => einsum('ij,jk->ik', a, randn([3, 4, 2]))).message).toBe(thrown(() => einsum('ij,jk->ik', randn([2, 3]), randn([3, 4, 2]), {})).message);
  });

  it('errors raised on the shortcut name the pattern and the shapes', () => {
    const a = randn([2, 3]);
    const b = randn([3, 4]);
    einsum('ij,jk->ik', a, b);
    einsum('ij,jk->ik', a, b);
    const gone = randn([3, 4]);
    gone.dispose();
    const err = thrown(() => einsum('ij,jk->ik', a, gone));
    expect(err.pattern).toBe('ij,jk->ik');
    expect(err.shapes).toEqual([[2, 3], [3, 4]]);
  });

  it('a float32 call after a float64 one with the same shapes computes in float32', () => {
    const a64 = tensor([[1, 2], [3, 4]], { dtype: 'float64' });
    einsum('ij,jk->ik', a64, a64);
    const a32 = tensor([[1.1, 2], [3, 4]]);
    const y = einsum('ij,jk->ik', a32, a32);
    expect(y.dtype).toBe('float32');
    expect(y.dataSync()[0]).toBe(Math.fround(Math.fround(Math.fround(1.1) * Math.fround(1.1)) + 6));
  });
});
