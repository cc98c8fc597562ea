/**
 * Corners of src/plan that a fresh mutation sample (seed 20261216) found unobserved: greedy's scores when operand
 * sizes pass a double (taken from log2 sizes, the indices' too), and the smallest pairwise limit a refused memory
 * limit names (the largest intermediate of dp's smallest-intermediate plan, the output aside).
 */
import { describe, expect, it } from 'vitest';
import { EinjitError } from '../../src/errors.js';
import { einsum, ones } from '../../src/index.js';
import { planContraction } from '../../src/plan/index.js';

describe('greedy past a double', () => {
  it('scores pairs from the log2 sizes of their indices when operands overflow a double', () => {
    // A = [a, b], B = [b, c], C = [c, d] → [a, d] with |a| = |b| = 2^600, |c| = 2^10, |d| = 2^700: A holds 2^1200
    // elements, past a double. (A, B) leaves [a, c] (2^610) from 2^1200 + 2^610; (B, C) leaves [b, d] (2^1300)
    // from 2^610 + 2^710. Greedy takes (A, B) first. With every index's log2 size read as 0, the result of (A, B)
    // would be scored as 2^1810 and (B, C) taken first. (Each of a, b and d is two indices of half its log2 size:
    // the planner takes index sizes below 2^512.)
    const [a1, a2, b1, b2, c, d1, d2] = [0, 1, 2, 3, 4, 5, 6];
    const plan = planContraction({ inputs: [[a1, a2, b1, b2], [b1, b2, c], [c, d1, d2]], output: [a1, a2, d1, d2], sizes: [2 ** 300, 2 ** 300, 2 ** 300, 2 ** 300, 2 ** 10, 2 ** 350, 2 ** 350] }, { optimize: 'greedy' });
    expect(plan.path).toEqual([[0, 1], [0, 1]]);
  });
});

describe('the smallest pairwise limit a refusal names', () => {
  const refusal = (pattern: string, shapes: number[][]): string => {
    try {
      einsum(pattern, ...shapes.map((sh) => ones(sh)), { memoryLimit: 1000 });
    } catch (e) {
      expect(e).toBeInstanceOf(EinjitError);
      return (e as EinjitError).message;
    }
    throw new Error('expected a refusal');
  };

  it("is the largest intermediate of dp's smallest-intermediate plan, the output aside", () => {
    // 'ai,bi,ci,d,e->abcde', a = b = c = i = 200, d = e = 2: every pairwise plan holds a 200^3 intermediate
    // (8,000,000 elements); the output (3.2·10^7) is exempt from the limit and not named.
    expect(refusal('ai,bi,ci,d,e->abcde', [[200, 200], [200, 200], [200, 200], [2], [2]]))
      .toContain('the smallest limit with a pairwise plan is 8000000 elements');
  });

  it('over all the intermediates, not the first step alone', () => {
    // 'ef,ai,bi,ci->abc': dp's plan first sums ef away (a 1-element result), then holds 200^3 intermediates.
    const dp = planContraction({ inputs: [[4, 5], [0, 3], [1, 3], [2, 3]], output: [0, 1, 2], sizes: [200, 200, 200, 200, 2, 2] },
      { optimize: 'dp', minimize: 'size' });
    expect(dp.steps.map((st) => st.resultSize)).toEqual([1, 8_000_000, 8_000_000, 8_000_000]);
    expect(refusal('ef,ai,bi,ci->abc', [[2, 2], [200, 200], [200, 200], [200, 200]]))
      .toContain('the smallest limit with a pairwise plan is 8000000 elements');
  });
});
