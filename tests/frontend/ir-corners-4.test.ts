/**
 * Corners of the IR layer that a fresh mutation sample (seed 20261210) found unpinned: an einops input with more
 * dimensions than a pattern without '...' (refused by the rank check, with its own hint), parse_shape's cache
 * keeping patterns, shapes and a non-array shape apart, and the checkers' refusal of operand shapes that are not
 * arrays: before, the cache key was built first and a string or a non-array shape ended in "internal error:
 * s.join is not a function". Expected values are worked out from the arguments.
 */
import { describe, expect, it } from 'vitest';
import { checkEinops, checkEinsum, checkPack, parseShape, patternOfIndexLists } from '../../src/ir/index.js';
import { thrown } from '../helpers/thrown.js';

describe('the einops rank check', () => {
  it('an input with more dimensions than a pattern without an ellipsis is refused with the counts', () => {
    const err = thrown(() => checkEinops('rearrange', 'a b -> b a', [2, 3, 4]));
    expect(err.reason).toBe('the input has 3 dimensions but the left side of the pattern has 2');
    expect(err.hint).toBe("write one entry per input dimension, or use '...' for the rest");
    const fewer = thrown(() => checkEinops('rearrange', 'a b c ... -> a b c ...', [2, 3]));
    expect(fewer.reason).toBe('the input has 2 dimensions but the left side of the pattern has at least 3');
    expect(fewer.hint).toBe('the pattern names more dimensions than the input has');
  });
});

describe("parse_shape's cache", () => {
  it('keeps a name that ends in a digit apart from the next dimension, and [1, 23] apart from [12, 3]', () => {
    expect(parseShape('a b', [12, 3])).toEqual({ a: 12, b: 3 });
    expect(parseShape('a b1', [2, 3])).toEqual({ a: 2, b1: 3 });
    expect(parseShape('a b', [1, 23])).toEqual({ a: 1, b: 23 });
  });

  it('never answers a non-array shape from the entry of the empty shape', () => {
    expect(parseShape('', [])).toEqual({});
    const err = thrown(() => parseShape('', 'x' as never));
    expect(err.reason).toBe('the shape must be an array of dimension sizes');
  });

  it('a shape that is not an array names the op, the pattern and what to pass', () => {
    const err = thrown(() => parseShape('a', 'x' as never));
    expect([err.op, err.pattern, err.hint]).toEqual(['parseShape', 'a', 'pass a shape such as [2, 3]']);
  });
});

describe('operand shapes that are not arrays', () => {
  it.each([
    ['einsum', () => checkEinsum('ij', 'x' as never)],
    ['pack', () => checkPack('a *', 'x' as never)],
  ])('%s: a list of shapes that is not an array', (op, f) => {
    const err = thrown(f);
    expect(err.reason).toBe('the operand shapes must be an array of shapes');
    expect(err.op).toBe(op);
  });

  it.each([
    ['einsum', () => checkEinsum('ij,j', [[2, 3], 'x'] as never)],
    ['pack', () => checkPack('a *', [null] as never)],
  ])('%s: an operand shape that is not an array, by position', (op, f) => {
    const err = thrown(f);
    expect(err.reason).toMatch(/^operand (0|1)'s shape must be an array of dimension sizes$/);
    expect(err.reason).toBe(`operand ${op === 'einsum' ? 1 : 0}'s shape must be an array of dimension sizes`);
    expect([err.op, err.hint]).toEqual([op, 'pass a shape such as [2, 3]']);
  });
});

// Seed 20261211.
describe('more einops and index-list corners', () => {
  it("reduce with 'repeat' as its reduction is repeat", () => {
    const recipe = checkEinops('reduce', 'h -> h c', [2], { c: 3 }, 'repeat');
    expect(recipe).toEqual(checkEinops('repeat', 'h -> h c', [2], { c: 3 }));
  });

  it("rearrange names the axis found only on the left", () => {
    const err = thrown(() => checkEinops('rearrange', 'a b -> a', [2, 3]));
    expect(err.reason).toBe("axis 'b' appears only on the left side of 'a b -> a'");
    expect(err.hint).toBe("every axis must appear on both sides; to drop it, use reduce(x, 'a b -> a', 'sum')");
  });

  it('an index list that is not an array is refused by position', () => {
    const err = thrown(() => patternOfIndexLists({ inputs: [[0], 5] } as never));
    expect([err.reason, err.op, err.hint]).toEqual(['the index list of operand 1 is not an array', 'einsum', "write each operand's indices as a list, e.g. [0, 1]"]);
    expect(thrown(() => patternOfIndexLists({ inputs: [[0]], output: 'x' } as never)).reason).toBe('the output list is not an array');
  });

  it("parse_shape refuses '...' inside parentheses", () => {
    const err = thrown(() => parseShape('(...)', [2]));
    expect([err.reason, err.hint, err.op]).toEqual(["'...' inside parentheses", "write '...' without parentheses", 'parseShape']);
  });
});
