/**
 * Corners of src/ir that a fresh mutation sample (seed 20261223) found unobserved: a bare 1 in an einops pattern
 * is a unit axis (it prints as '()', as a '()' group does); the caret of "the output has no '...'" points at the
 * output when there is one, and past the end of the pattern when the output is empty.
 */
import { describe, expect, it } from 'vitest';
import { einsum, ones, rearrange } from '../../src/index.js';
import { buildTransformIR } from '../../src/ir/einops.js';
import { parseTransform } from '../../src/frontend/parse.js';
import { printTransform } from '../../src/ir/print.js';
import { thrown } from '../helpers/thrown.js';

describe('a bare 1 in an einops pattern', () => {
  it("is a unit axis, printed as '()' like an empty group", () => {
    for (const [pattern, printed] of [
      ['b 1 c -> b c 1', 'b () c -> b c ()'],
      ['b () c -> (b 1) c', 'b () c -> (b 1) c'],
    ] as const) {
      const ir = buildTransformIR(parseTransform(pattern, 'rearrange'), 'rearrange', undefined, [], 3);
      expect(printTransform(ir), pattern).toBe(printed);
    }
    expect(rearrange(ones([2, 1, 3]), 'b 1 c -> c 1 b').shape).toEqual([3, 1, 2]);
  });
});

describe("the output's missing '...'", () => {
  it('is marked on the output, or past the end of the pattern when the output is empty', () => {
    const x = ones([4, 2, 3]);
    const named = thrown(() => einsum('...ij->i', x));
    expect(named.span).toEqual({ start: 7, end: 8 });
    const empty = thrown(() => einsum('...ij->', x));
    expect(empty.span).toEqual({ start: 7, end: 8 });
    const longer = thrown(() => einsum('...ij->ji', x));
    expect(longer.span).toEqual({ start: 7, end: 9 });
  });
});
