/**
 * Corners of the IR layer that a fresh mutation sample (seed 20261209) found unpinned: the hints of reduce's
 * unknown reduction and of repeat's axis found only on the left (named and anonymous), a composite einsum axis
 * whose members multiply to the wrong length (the message lists them), '...' inside a group next to another
 * axis (refused) and alone (accepted), a sublist index that is not a JSON value, and the checked-pattern cache
 * keeping shapes [1, 23] and [12, 3] apart, and operands [12], [3, 4] apart from [1], [23, 4]. Expected values are worked out from the arguments.
 */
import { describe, expect, it } from 'vitest';
import { einsum, ones, reduce, repeat } from '../../src/index.js';
import { thrown } from '../helpers/thrown.js';

const first = (message: string): string => message.split('\n')[0]!;

describe('einops hints', () => {
  it('an unknown reduction lists the known ones', () => {
    const err = thrown(() => reduce(ones([2, 3]), 'b c -> b', 'median' as never));
    expect(first(err.message)).toBe("reduce: unknown reduction 'median'");
    expect(err.hint).toBe("use one of 'min', 'max', 'sum', 'mean', 'prod', 'any', 'all', or a function");
  });

  it('repeat: a named axis only on the left is for reduce; an anonymous one must be named', () => {
    const named = thrown(() => repeat(ones([2, 3]), 'b c -> b', {}));
    expect(first(named.message)).toBe("repeat: axis 'c' appears only on the left side of 'b c -> b'");
    expect(named.hint).toBe('repeat cannot remove axes; use reduce to drop it');
    const anonymous = thrown(() => repeat(ones([2, 3]), 'b 3 -> b', {}));
    expect(first(anonymous.message)).toBe("repeat: anonymous axis '3' appears only on the left side of 'b 3 -> b'");
    expect(anonymous.hint).toBe('anonymous axes never match each other across sides; name the axis and give its length');
  });
});

describe('composite axes in einsum', () => {
  it('name each member with its length when they do not multiply to the axis', () => {
    const err = thrown(() => einsum(ones([1, 6, 2]), ones([2, 2, 2]), 'x (h w) c, h w c -> c'));
    expect(first(err.message)).toBe('einsum: composite axis (h w) has length 6 but its axes multiply to 4 (h=2, w=2)');
    expect(err.hint).toBe('the axes of a group must have the lengths the other operands and sizes give them');
  });

  it("refuse '...' beside another axis in a group, and take it alone", () => {
    const err = thrown(() => einsum(ones([2, 6]), 'x (... b) -> x'));
    expect(first(err.message)).toBe("einsum: '...' inside a composite axis is not supported in einsum");
    expect(err.hint).toBe("write '...' outside the parentheses");
    expect(Array.from(einsum(ones([2, 6]), 'x (...) -> x').dataSync())).toEqual([6, 6]);
  });
});

describe('sublist indices', () => {
  it('that are not JSON values are named in the error', () => {
    expect(first(thrown(() => einsum(ones([2, 2]), [0, Number.NaN], [0])).message))
      .toBe('einsum: the index list of operand 0 holds NaN, which is not a JSON value');
    const err = thrown(() => einsum(ones([2, 2]), [0, (() => 1) as never], [0]));
    expect(first(err.message)).toBe('einsum: the index list of operand 0 holds function, which is not a JSON value');
    expect(err.hint).toBe("indices are numbers, strings or other JSON values; '...' is an ellipsis");
  });
});

describe('the checked-pattern cache', () => {
  it('keeps shapes whose digits run together apart ([1, 23] and [12, 3])', () => {
    const a = einsum('ij->i', ones([1, 23]));
    const b = einsum('ij->i', ones([12, 3]));
    expect(a.shape).toEqual([1]);
    expect(Array.from(a.dataSync())).toEqual([23]);
    expect(b.shape).toEqual([12]);
    expect(Array.from(b.dataSync())).toEqual(new Array(12).fill(3));
  });

  it('keeps operands whose shapes run together apart ([12], [3, 4] and [1], [23, 4])', () => {
    expect(einsum('i,jk->ijk', ones([12]), ones([3, 4])).shape).toEqual([12, 3, 4]);
    expect(einsum('i,jk->ijk', ones([1]), ones([23, 4])).shape).toEqual([1, 23, 4]);
  });
});
