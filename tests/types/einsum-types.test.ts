/**
 * Typed patterns. These assertions are checked by the type checker (`npm run typecheck` runs over tests/):
 * `expectTypeOf` fails compilation when a type is wrong, and every `@ts-expect-error` line must really be an
 * error, or compilation fails with "unused directive". The runtime part only checks that the calls run.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { einsum, ones, EinjitError, type Tensor } from '../../src/index.js';
import type { CheckedPattern, PatternProblem } from '../../src/api/pattern-types.js';

const a = ones([2, 3]);
const b = ones([3, 4]);
const a3 = ones([5, 2, 3]).withRank(3);
const b3 = ones([5, 3, 4]).withRank(3);

describe('einsum patterns are typed', () => {
  it('gives the result rank for explicit outputs', () => {
    const c = einsum('ij,jk->ik', a, b);
    expectTypeOf(c).toEqualTypeOf<Tensor<2>>();
    const d = einsum('bij,bjk->bik', a3, b3);
    expectTypeOf(d).toEqualTypeOf<Tensor<3>>();
    const s = einsum('ij,ij->', a, a);
    expectTypeOf(s).toEqualTypeOf<Tensor<0>>();
    expect(c.shape).toEqual([2, 4]);
  });

  it('resolves implicit outputs (letters that occur once)', () => {
    expectTypeOf(einsum('ij,jk', a, b)).toEqualTypeOf<Tensor<2>>();
    expectTypeOf(einsum('ii', ones([3, 3]))).toEqualTypeOf<Tensor<0>>();
    expectTypeOf(einsum('i,j', ones([2]), ones([3]))).toEqualTypeOf<Tensor<2>>();
  });

  it('computes the rank of an ellipsis from a ranked operand, else falls back to number', () => {
    expectTypeOf(einsum('...ij,...jk->...ik', a3, b3)).toEqualTypeOf<Tensor<3>>();
    expectTypeOf(einsum('...ij,...jk->...ik', a, b)).toEqualTypeOf<Tensor<number>>();
    expect(einsum('...ij,...jk->...ik', a3, b3).shape).toEqual([5, 2, 4]);
  });

  it('accepts spaces, options and the list form', () => {
    expectTypeOf(einsum('i j , j k -> i k', a, b)).toEqualTypeOf<Tensor<2>>();
    expectTypeOf(einsum('ij,jk->ik', a, b, { optimize: 'greedy' })).toEqualTypeOf<Tensor<2>>();
    expectTypeOf(einsum('ij,jk->ik', [a, b])).toEqualTypeOf<Tensor<2>>();
  });

  it('falls back to the untyped signature for dynamic strings and einops-style calls', () => {
    const pattern: string = 'ij,jk->ik';
    expectTypeOf(einsum(pattern, a, b)).toEqualTypeOf<Tensor<number>>();
    expectTypeOf(einsum(a, b, 'i j, j k -> i k')).toEqualTypeOf<Tensor>();
  });

  it('rejects a wrong operand count at compile time (and at run time)', () => {
    // @ts-expect-error two operands declared, one given
    expect(() => einsum('bij,bjk->bik', a3)).toThrow(EinjitError);
    // @ts-expect-error one operand declared, two given
    expect(() => einsum('ij->ji', a, b)).toThrow(EinjitError);
    // @ts-expect-error implicit mode: three operands declared
    expect(() => einsum('ij,jk,kl', a, b)).toThrow(EinjitError);
  });

  it('says what is wrong in one sentence: the pattern parameter becomes it', () => {
    // The compiler prints: Argument of type '"bij,bjk->bik"' is not assignable to parameter of type
    // '"pattern declares 2 operands, 1 given"'.
    expectTypeOf<PatternProblem<'bij,bjk->bik', [Tensor<3>]>>().toEqualTypeOf<'pattern declares 2 operands, 1 given'>();
    expectTypeOf<CheckedPattern<'ij->ji', [Tensor, Tensor]>>().toEqualTypeOf<'pattern declares 1 operand, 2 given'>();
    expectTypeOf<PatternProblem<'ij,jk->ik', [readonly [Tensor], { optimize: 'greedy' }]>>()
      .toEqualTypeOf<'pattern declares 2 operands, 1 given'>();
    expectTypeOf<CheckedPattern<'bij,bjk->bik', [Tensor, Tensor]>>().toEqualTypeOf<'bij,bjk->bik'>();
    expectTypeOf<PatternProblem<string, [Tensor]>>().toBeNever();
  });

  it('rejects named axes in a pattern given first (named-axis einsum takes the operands first)', () => {
    expectTypeOf<PatternProblem<'batch i j, batch j k -> batch i k', [Tensor, Tensor]>>().toEqualTypeOf<
      "named axis 'batch' in a pattern given first: named axes take the operands first, einsum(a, b, 'batch i j, batch j k -> batch i k')">();
    // @ts-expect-error read as letters this would be a Tensor<7>; at run time the ranks do not match
    expect(() => einsum('batch i j, batch j k -> batch i k', a3, b3)).toThrow(EinjitError);
    // Single letters with spaces and '...' words are numpy letters, as before.
    expectTypeOf<PatternProblem<'... i j, ... j k -> ... i k', [Tensor<3>, Tensor<3>]>>().toBeNever();
    expectTypeOf(einsum(a3, b3, 'batch i j, batch j k -> batch i k')).toEqualTypeOf<Tensor>();
  });

  it('rejects a non-tensor operand at compile time', () => {
    // @ts-expect-error a number is not a rank-2 operand
    expect(() => einsum('ij,jk->ik', a, 3)).toThrow(EinjitError);
    // @ts-expect-error a string is neither a tensor nor numbers
    expect(() => einsum('ij,jk->ik', a, 'b')).toThrow(EinjitError);
  });

  it('takes numbers and nested arrays as deep as the term has letters, as numpy does', () => {
    expectTypeOf(einsum('ij,j->i', [[1, 2], [3, 4]], [1, 1])).toEqualTypeOf<Tensor<1>>();
    expectTypeOf(einsum('ij,->ij', a, 2)).toEqualTypeOf<Tensor<2>>();
    expectTypeOf(einsum('...i,i->...', a, [1, 1, 1])).toEqualTypeOf<Tensor>();
    // @ts-expect-error 'ij' needs arrays of arrays, not a flat array
    expect(() => einsum('ij,j->i', [1, 2], [1, 1])).toThrow(EinjitError);
  });
});
