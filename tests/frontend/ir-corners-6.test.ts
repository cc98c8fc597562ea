/**
 * Corners of src/ir that a fresh mutation sample (seed 20261219) found unobserved: the recipe cache's key for axis
 * lengths (`{ a1: 2 }` and `{ a: 12 }` must not share one), checkEinops' own refusal of axis lengths that are not
 * an object, and of the name `_` among them; the op that resolveEinsumGroups names by default; and the composite
 * axes it leaves to the flat check ('...' or a number inside a group).
 */
import { describe, expect, it } from 'vitest';
import { einsum, ones, rearrange } from '../../src/index.js';
import { checkEinops } from '../../src/ir/einops.js';
import { resolveEinsumGroups } from '../../src/ir/einsum-groups.js';
import { thrown } from '../helpers/thrown.js';

describe('axis lengths', () => {
  it('key the recipe cache by name and length apart: { a1: 2, c: 4 } and { a: 12, c: 4 } are two recipes', () => {
    const x = ones([1, 48]);
    expect(rearrange(x, 'b (a a1 c) -> b a a1 c', { a1: 2, c: 4 }).shape).toEqual([1, 6, 2, 4]);
    expect(rearrange(x, 'b (a a1 c) -> b a a1 c', { a: 12, c: 4 }).shape).toEqual([1, 12, 1, 4]);
  });

  it('that are not an object are refused by checkEinops itself', () => {
    for (const lengths of [5, [2], 'h=2']) {
      expect(thrown(() => checkEinops('rearrange', 'a b -> b a', [2, 3], lengths as never)).reason).toBe('axis lengths must be an object such as { h: 2 }');
    }
  });

  it("may not name an axis '_'", () => {
    expect(thrown(() => rearrange(ones([2, 3]), 'a b -> b a', { _: 2 })).reason).toBe("invalid axis name '_' in the axis lengths");
  });
});

describe('resolveEinsumGroups', () => {
  it("names the op 'einsum' unless told another", () => {
    const e = thrown(() => resolveEinsumGroups('b (h w) -> b', [[2, 5]], { h: 2 }));
    expect(e.op).toBe('einsum');
    expect(e.reason).toBe('composite axis (h w) of length 5 is not divisible by 2');
  });

  it("leaves '...' or a number inside a group to the flat check, which refuses them", () => {
    expect(resolveEinsumGroups('b (h ...) c -> b', [[2, 6, 3]], { h: 2 })).toBeNull();
    expect(resolveEinsumGroups('b (h 3) c -> b', [[2, 6, 3]], {})).toBeNull();
    expect(thrown(() => einsum(ones([2, 6, 3]), 'b (h ...) c -> b', { sizes: { h: 2 } })).reason).toBe("'...' inside a composite axis is not supported in einsum");
    expect(thrown(() => einsum(ones([2, 6, 3]), 'b (h 3) c -> b')).reason).toBe("anonymous axis '3' is not supported in einsum");
    // With two named members the group could otherwise be opened with its number or '...' left behind.
    expect(resolveEinsumGroups('b (h w 3) c -> b', [[2, 12, 3]], { h: 2 })).toBeNull();
    expect(thrown(() => einsum(ones([2, 12, 3]), 'b (h w 3) c -> b', { sizes: { h: 2 } })).reason).toBe("anonymous axis '3' is not supported in einsum");
    expect(thrown(() => einsum(ones([2, 12, 3]), 'b (h w ...) c -> b', { sizes: { h: 2 } })).reason).toBe("'...' inside a composite axis is not supported in einsum");
  });
});
