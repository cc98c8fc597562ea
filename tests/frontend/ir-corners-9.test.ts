/**
 * A corner of src/ir that a fresh mutation sample (seed 20261222) found unobserved: parseShape's refusal of a
 * shape with fewer dimensions than a pattern with '...' needs says why, with its own hint.
 */
import { describe, expect, it } from 'vitest';
import { ones, parseShape } from '../../src/index.js';
import { thrown } from '../helpers/thrown.js';

describe('parseShape with too few dimensions', () => {
  it("for a pattern with '...': at least so many, and the hint says the pattern names more than the shape has", () => {
    const e = thrown(() => parseShape(ones([2, 3]), 'a b c ...'));
    expect(e.reason).toBe('the shape has 2 dimensions but the pattern needs at least 3');
    expect(e.hint).toBe('the pattern names more dimensions than the shape has');
    const one = thrown(() => parseShape(ones([2]), 'a b'));
    expect(one.reason).toBe('the shape has 1 dimension but the pattern has 2');
    expect(one.hint).toBe("write one entry per dimension; '_' skips one, '...' any number");
  });
});
