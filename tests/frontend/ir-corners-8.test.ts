/**
 * Corners of src/ir that a fresh mutation sample (seed 20261221) found unobserved: the refusal of a '...' that
 * rearrange finds on the left side only names it as '...', not as an axis; and the one-character subscripts that
 * index lists are written with skip every code point the lexer reads as whitespace, and the surrogates, all the
 * way past the Basic Multilingual Plane.
 */
import { describe, expect, it } from 'vitest';
import { ones, rearrange } from '../../src/index.js';
import { patternOfIndexLists } from '../../src/ir/einsum.js';
import { thrown } from '../helpers/thrown.js';

describe("a '...' on one side of rearrange", () => {
  it('is named as such', () => {
    const left = thrown(() => rearrange(ones([2, 3, 4]), 'a ... -> a'));
    expect(left.reason).toBe("'...' appears only on the left side of 'a ... -> a'");
    const named = thrown(() => rearrange(ones([2, 3]), 'a b -> a'));
    expect(named.reason).toBe("axis 'b' appears only on the left side of 'a b -> a'");
  });
});

describe('the subscripts of index lists', () => {
  it("run 'A'-'Z', 'a'-'z', then up from U+00C0 past every whitespace code point and surrogate", () => {
    // Independently: every code point from U+00C0 up that a JavaScript \s does not match and that is not a
    // surrogate (U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000 and U+FEFF are \s).
    const n = 66_000;
    const want: string[] = [];
    for (let i = 0; i < 52; i++) want.push(i < 26 ? String.fromCharCode(65 + i) : String.fromCharCode(97 + i - 26));
    for (let cp = 0xc0; want.length < n; cp++) {
      const ch = String.fromCodePoint(cp);
      if (/\s/u.test(ch) || (cp >= 0xd800 && cp <= 0xdfff)) continue;
      want.push(ch);
    }
    expect(want.at(-1)!.codePointAt(0)).toBeGreaterThan(0xffff);
    const ids = Array.from({ length: n }, (_, i) => i);
    const pattern = patternOfIndexLists({ inputs: [ids] });
    expect([...pattern]).toEqual(want);
  });
});
