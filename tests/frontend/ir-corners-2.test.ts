/**
 * More corners of the IR layer: the ellipsis axes of a transform IR, composite einsum axes whose operand count or
 * rank is off (with and without '...'), a group whose one unknown member divides evenly, numeric index ids sorted
 * as numbers, and an unpack shape holding two -1 entries. Expected values are worked out by hand from the
 * documented rules (types.ts, numpy's sublist and reshape behaviour), not read back from einjit.
 */
import { describe, expect, it } from 'vitest';
import { checkEinops, checkEinsum, checkUnpack, patternOfIndexLists } from '../../src/ir/index.js';
import { checkOpenedEinsum, resolveEinsumGroups } from '../../src/ir/einsum-groups.js';
import { thrown } from '../helpers/thrown.js';

/** The einops einsum check as the API runs it: composite axes opened first, the flat check otherwise. */
function checkGrouped(pattern: string, shapes: number[][], sizes: Record<string, number> = {}) {
  const groups = resolveEinsumGroups(pattern, shapes, sizes);
  return groups === null ? checkEinsum(pattern, shapes, 'einsum', 'einops') : checkOpenedEinsum(groups, pattern, shapes, 'einsum');
}

describe('the ellipsis axes of a transform IR', () => {
  it("are named '...0', '...1' from the left and have kind 'ellipsis' (types.ts)", () => {
    const r = checkEinops('rearrange', 'a ... -> ... a', [2, 3, 4]);
    expect(r.ir.axes.map((a) => a.name)).toEqual(['a', '...0', '...1']);
    expect(r.ir.axes.map((a) => a.kind)).toEqual(['named', 'ellipsis', 'ellipsis']);
    expect(r.outputShape).toEqual([3, 4, 2]);
  });
});

describe('composite einsum axes', () => {
  it('a group with one unknown member that divides evenly binds it: (a b) of 6 with a=2 gives b=3', () => {
    const g = resolveEinsumGroups('(a b) c -> a b c', [[6, 4]], { a: 2 });
    expect(g).not.toBeNull();
    expect(g!.shapes).toEqual([[2, 3, 4]]);
    expect(checkGrouped('(a b) c -> a b c', [[6, 4]], { a: 2 }).outputShape).toEqual([2, 3, 4]);
  });

  // resolveEinsumGroups refuses these itself, in the flat check's words: the flat check would refuse the groups
  // first ("composite axes are opened by einsum, ..."), which once hid the operand count or rank at fault.
  const reason = (fn: () => unknown): string => thrown(fn).reason;

  it('one operand too few is refused as an operand count, not a crash', () => {
    expect(reason(() => resolveEinsumGroups('(a b) c, c -> a b', [[6, 4]], { a: 2 }))).toBe('fewer operands (1) than terms in the pattern (2)');
  });

  it('one operand too many is refused, not dropped', () => {
    expect(reason(() => resolveEinsumGroups('(a b) c -> a b c', [[6, 4], [3]], { a: 2 }))).toBe('more operands (2) than terms in the pattern (1)');
  });

  it('an operand of the wrong rank without an ellipsis is refused (too few and too many dimensions)', () => {
    expect(reason(() => resolveEinsumGroups('(a b) c -> a b c', [[6]], { a: 2 }))).toBe('the operand has 1 dimension but its term names 2 axes');
    expect(reason(() => resolveEinsumGroups('(a b) c -> a b c', [[6, 4, 5]], { a: 2 }))).toBe('the operand has 3 dimensions but its term names 2 axes');
  });

  it("'...' first covering two, one or no dimensions splits the group after it", () => {
    expect(resolveEinsumGroups('... (a b) -> ... a b', [[5, 7, 6]], { a: 2 })!.shapes).toEqual([[5, 7, 2, 3]]);
    expect(resolveEinsumGroups('... (a b) -> ... a b', [[5, 6]], { a: 2 })!.shapes).toEqual([[5, 2, 3]]);
    expect(resolveEinsumGroups('... (a b) -> ... a b', [[6]], { a: 2 })!.shapes).toEqual([[2, 3]]);
    expect(resolveEinsumGroups('(a b) ... -> a b ...', [[6, 5, 7]], { a: 2 })!.shapes).toEqual([[2, 3, 5, 7]]);
  });

  it("'...' with fewer dimensions than the named ones is refused", () => {
    expect(reason(() => resolveEinsumGroups('... (a b) c -> ... a b c', [[6]], { a: 2 }))).toBe('the operand has 1 dimension but its term names 2 axes');
  });
});

describe('index lists', () => {
  it('sort numeric ids as numbers (2 < 3 < 10), as numpy orders a sublist einsum\'s implicit output', () => {
    // ids 2, 3, 10 get A, B, C; the implicit output is the ids used once, ascending: [3, 10].
    expect(patternOfIndexLists({ inputs: [[10, 2], [2, 3]] })).toBe('CA,AB');
    expect(checkEinsum(patternOfIndexLists({ inputs: [[10, 2], [2, 3]] }), [[5, 2], [2, 3]]).outputShape).toEqual([3, 5]);
  });

  it('sort string ids by code point', () => {
    expect(patternOfIndexLists({ inputs: [['j', 'i']] })).toBe('BA');
  });
});

describe('unpack', () => {
  it('refuses a packed shape with two -1 entries (numpy reshape allows one unknown dimension)', () => {
    expect(() => checkUnpack('a *', [2, 12], [[-1, -1]])).toThrow(/cannot split an axis of length 12/);
  });
});
