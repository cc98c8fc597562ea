/**
 * Corners of src/ir that a fresh mutation sample (seed 20261220) found unobserved: the einops IR cache's key keeps
 * the pattern apart from the input's rank ('... -> ... 1' over 11 dimensions and '... -> ... 11' over one must not
 * share a recipe) and the names of the given lengths apart from each other ({ ab } is not { a, b }); and the hint
 * for a '1' or '()' dimension of another length.
 */
import { describe, expect, it } from 'vitest';
import { ones, rearrange, repeat } from '../../src/index.js';
import { thrown } from '../helpers/thrown.js';

describe("the einops IR cache's key", () => {
  it("keeps the pattern apart from the rank: '... -> ... 1' over 11 dimensions, then '... -> ... 11' over one", () => {
    expect(repeat(ones(Array<number>(11).fill(1)), '... -> ... 1').shape).toEqual(Array<number>(12).fill(1));
    expect(repeat(ones([2]), '... -> ... 11').shape).toEqual([2, 11]);
  });

  it('keeps the names of the given lengths apart: { a, b } and then { ab }', () => {
    expect(rearrange(ones([2, 6]), 'x (a b ab) -> x a b ab', { a: 1, b: 2 }).shape).toEqual([2, 1, 2, 3]);
    expect(thrown(() => rearrange(ones([2, 6]), 'x (a b ab) -> x a b ab', { ab: 2 })).reason).toBe("cannot infer the lengths of 'a' and 'b' from one dimension");
  });
});

describe("a '1' or '()' dimension of another length", () => {
  it('is refused with a hint that says what they match', () => {
    for (const pattern of ['a () -> a', 'a 1 -> a']) {
      const e = thrown(() => rearrange(ones([2, 3]), pattern));
      expect(e.reason).toBe(`input dimension 1 has length 3 but '${pattern.includes('()') ? '()' : '1'}' needs 1`);
      expect(e.hint).toBe("'1' and '()' match only dimensions of length 1");
    }
  });
});
