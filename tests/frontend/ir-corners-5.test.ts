/**
 * Corners of src/ir that a fresh mutation sample (seed 20261215) found unobserved: the hint of an einsum operand
 * whose rank differs from its term (the '...' advice only when the operand has more dimensions), and where
 * parseShape's caret points when the shape and the pattern disagree (under the whole pattern; under its first
 * column when the pattern is empty).
 */
import { describe, expect, it } from 'vitest';
import { einsum, ones, parseShape } from '../../src/index.js';
import { thrown } from '../helpers/thrown.js';

describe('an einsum operand of another rank than its term', () => {
  it("advises '...' when the operand has more dimensions than its term names, not when it has fewer", () => {
    const more = thrown(() => einsum('ij->i', ones([2, 3, 4])));
    expect(more.reason).toBe('the operand has 3 dimensions but its term names 2 axes');
    expect(more.hint).toBe("write one axis per dimension, or '...' for the rest");
    const fewer = thrown(() => einsum('ijk->i', ones([2, 3])));
    expect(fewer.reason).toBe('the operand has 2 dimensions but its term names 3 axes');
    expect(fewer.hint).toBe('write one axis per dimension');
  });
});

describe('parseShape with a pattern of another length than the shape', () => {
  it('points under the whole pattern, or under its first column when the pattern is empty', () => {
    const long = thrown(() => parseShape(ones([2, 3]), 'a b c'));
    expect(long.reason).toBe('the shape has 2 dimensions but the pattern has 3');
    expect(long.span).toEqual({ start: 0, end: 5 });
    const empty = thrown(() => parseShape(ones([2, 3]), ''));
    expect(empty.reason).toBe('the shape has 2 dimensions but the pattern has 0');
    expect(empty.span).toEqual({ start: 0, end: 1 });
  });
});
