/**
 * Contractions big enough to take the GEMM path, in the layouts that exercise its lowering: merged M/N/K groups,
 * groups that cannot merge (extra batch axes with a broadcast operand), transposed and sliced operands, and
 * operands that must be packed. Each is compared with the naive oracle in float64.
 */
import { describe, expect, it } from 'vitest';
import { compile, einsum, manualSeed, randn, type Tensor } from '../../src/index.js';
import { referenceEinsum } from '../reference/einsum.js';

function check(pattern: string, ops: Tensor[]): void {
  const got = einsum(pattern, ...ops);
  const want = referenceEinsum(pattern, ops.map((t) => ({ shape: t.shape, data: t.contiguous().dataSync() })));
  expect(got.shape).toEqual(want.shape);
  const g = got.dataSync();
  for (let i = 0; i < want.data.length; i++) {
    if (!(Math.abs(g[i]! - want.data[i]!) <= 1e-9 * Math.max(1, Math.abs(want.data[i]!)))) {
      expect.fail(`${pattern}: element ${i} got ${g[i]} want ${want.data[i]}`);
    }
  }
}

const r = (...shape: number[]): Tensor => randn(shape, { dtype: 'float64' });

describe('einsum steps lowered to GEMMs', () => {
  manualSeed(7);
  it('conv as einsum: N axes (b, l) that do not merge become batch axes, no packing', () => {
    check('oc,bcl->bol', [r(6, 20), r(3, 20, 17)]);
    const kinds = compile('oc,bcl->bol', [[6, 20], [3, 20, 17]]).explain();
    expect(kinds).toContain('GEMM');
    expect(kinds.match(/loop nest/g)).toBeNull();
  });
  it('merged M axes, transposed B, batched attention', () => {
    check('bij,jk->bik', [r(4, 9, 30), r(30, 11)]);
    check('bhqd,bhkd->bhqk', [r(2, 3, 12, 16), r(2, 3, 10, 16)]);
    check('ibj,jk->ikb', [r(9, 4, 30), r(30, 11)]);
  });
  it('non-contiguous operands: transposed, sliced with steps, negative strides', () => {
    check('ij,jk->ik', [r(30, 40).T, r(60, 50).index('::2', '::-1')]);
    check('bij,bjk->bik', [r(3, 40, 20).permute(0, 2, 1), r(3, 40, 25).index(':', '::-1', ':')]);
  });
  it('K split across axes that must be packed, and a broadcast operand', () => {
    check('abij,ajb->ai', [r(5, 3, 7, 11), r(5, 11, 3).permute(0, 1, 2)]);
    check('ij,kjl->kil', [r(20, 30), r(4, 30, 9)]);
    check('...ij,jk->...ik', [r(2, 1, 8, 30), r(30, 12)]);
  });
});
