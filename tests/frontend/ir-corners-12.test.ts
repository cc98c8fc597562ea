/**
 * IR corners found by mutation testing (seed 20261226's sample of src/ir):
 * - the transform cache tells apart an input rank and the names given lengths that would run together (rank 21
 *   with 'x' against rank 2 with '1x'): the second call still gets its own refusal;
 * - pack refuses a zero-length named axis after '*' as it does one before it (numpy's reshape to -1 would fail);
 * - composite axes in an einsum are inferred over as many passes as it takes: a group whose members become known
 *   only after another group's are;
 * - (seed 20261227) an einsum IR lists the axes '...' stands for; parseShape checks an anonymous length in
 *   parentheses and refuses '...' inside them, pointing at it. (The same sample's composite-einsum rank and count refusals are in ir-corners-2 and
 *   tests/einsum/composite-axes.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { einsum, rearrange, tensor, zeros } from '../../src/index.js';
import { checkEinsum, checkPack, clearFrontendCaches, parseShape } from '../../src/ir/index.js';
import { thrown } from '../helpers/thrown.js';

describe('the transform cache', () => {
  it('keeps the input rank apart from the names given lengths', () => {
    clearFrontendCaches();
    expect(rearrange(zeros(new Array<number>(21).fill(1)), 'x ... -> ... x', { x: 1 }).ndim).toBe(21);
    const e = thrown(() => rearrange(zeros([1, 1]), 'x ... -> ... x', { '1x': 1 } as never));
    expect(e.reason).toBe("invalid axis name '1x' in the axis lengths");
  });
});

describe('pack', () => {
  it('refuses a zero-length named axis after the star, as before it', () => {
    for (const [pattern, shape] of [['* j', [3, 0]], ['i *', [0, 3]], ['i * j', [2, 3, 0]]] as const) {
      const e = thrown(() => checkPack(pattern, [shape]));
      expect(e.reason, pattern).toBe(`tensor 0 has shape [${shape.join(', ')}]: a zero-length named axis leaves the packed length undefined`);
    }
    expect(checkPack('* j', [[3, 2], [0, 2]]).packedShapes).toEqual([[3], [0]]);
  });
});

describe('composite axes in einsum', () => {
  it('infers a group whose members are known only after a later group is resolved', () => {
    // a = 2 from z; then (a b) = 6 gives b = 3; only then (b c) = 6 gives c = 2.
    const xs = [1, 2, 3, 4, 5, 6];
    const ys = [0.5, -1, 2, 3, 0.25, -2];
    const zs = [2, -3];
    const expected = [0, 0];
    for (let a = 0; a < 2; a++) for (let b = 0; b < 3; b++) for (let c = 0; c < 2; c++) expected[c]! += xs[b * 2 + c]! * ys[a * 3 + b]! * zs[a]!;
    const out = einsum(tensor(xs, { dtype: 'float64' }), tensor(ys, { dtype: 'float64' }), tensor(zs, { dtype: 'float64' }), '(b c), (a b), a -> c');
    expect(out.toArray()).toEqual(expected);
  });
});

describe('seed 20261227 corners', () => {
  it("an einsum IR lists the axes '...' stands for", () => {
    const { ir } = checkEinsum('...ij,...jk->...ik', [[5, 2, 3, 4], [5, 2, 4, 6]]);
    expect(ir.ellipsisAxes.map((id) => ir.axisNames[id])).toEqual(['...0', '...1']);
  });

  it('parseShape checks an anonymous length in parentheses as it checks a bare one (einops: a group of one is no composite)', () => {
    expect({ ...parseShape('(3) a', [3, 4]) }).toEqual({ a: 4 });
    expect(thrown(() => parseShape('(3) a', [2, 4])).reason).toBe(thrown(() => parseShape('3 a', [2, 4])).reason);
    expect(thrown(() => parseShape('(3) a', [2, 4])).reason).toBe('dimension 0 has length 2, not 3');
  });

  it("parseShape refuses '...' inside parentheses, pointing at it", () => {
    const e = thrown(() => parseShape('(...) a', [2, 3]));
    expect([e.op, e.reason, e.hint, e.span]).toEqual(['parseShape', "'...' inside parentheses", "write '...' without parentheses", { start: 1, end: 4 }]);
  });
});

