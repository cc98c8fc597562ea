/**
 * Composite axes in einops-style einsum ('b (h w) c, h w c -> b', 'i j, j k -> (i k)'), which einops refuses:
 * values against a plain float64 loop and against rearrange-then-einsum, random groupings, gradients, WebGPU.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compile, einsum, einsumPath, rearrange, tensor, type Tensor } from '../../src/index.js';
import { gradcheck, prng } from '../autograd/gradcheck.js';
import { DEVICES } from '../helpers/devices.js';
import { thrown } from '../helpers/thrown.js';

function data(n: number, seed: number): Float64Array {
  const next = prng(seed);
  return Float64Array.from({ length: n }, () => next() * 2 - 1);
}

function t64(shape: number[], seed: number): Tensor {
  return tensor(data(shape.reduce((a, b) => a * b, 1), seed), { shape, dtype: 'float64' });
}

async function values(t: Tensor): Promise<number[]> {
  return Array.from((await t.data()) as ArrayLike<number>);
}

function expectClose(got: readonly number[], want: readonly number[], tol = 1e-12): void {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(Math.abs(g - want[i]!)).toBeLessThanOrEqual(tol * (1 + Math.abs(want[i]!))));
}

/**
 * 'a b c, c d -> a b d' with parentheses around runs of neighbouring axes of every term: merge flag m joins an
 * axis with the next one (seven flags for the seven gaps). Returns each term's groups and the pattern.
 */
function grouped(merges: readonly boolean[]): { terms: string[][][]; pattern: string } {
  let m = 0;
  const group = (axes: string[]): string[][] => {
    const out: string[][] = [[axes[0]!]];
    for (const ax of axes.slice(1)) { if (merges[m++]) out[out.length - 1]!.push(ax); else out.push([ax]); }
    return out;
  };
  const terms = [group(['a', 'b', 'c']), group(['c', 'd']), group(['a', 'b', 'd'])];
  const text = (g: string[][]): string => g.map((x) => (x.length > 1 ? `(${x.join(' ')})` : x[0])).join(' ');
  return { terms, pattern: `${text(terms[0]!)}, ${text(terms[1]!)} -> ${text(terms[2]!)}` };
}

describe('composite axes in einsum', () => {
  it("'b (h w) c, h w c -> b' equals a float64 loop and rearrange-then-einsum", async () => {
    const [B, H, W, C] = [2, 3, 4, 5];
    const x = t64([B, H * W, C], 1);
    const w = t64([H, W, C], 2);
    const xd = await values(x);
    const wd = await values(w);
    const want: number[] = [];
    for (let b = 0; b < B; b++) {
      let s = 0;
      for (let h = 0; h < H; h++) for (let q = 0; q < W; q++) for (let c = 0; c < C; c++) s += xd[(b * H * W + h * W + q) * C + c]! * wd[(h * W + q) * C + c]!;
      want.push(s);
    }
    const got = einsum(x, w, 'b (h w) c, h w c -> b');
    expect(got.shape).toEqual([B]);
    expectClose(await values(got), want);
    expectClose(await values(einsum(rearrange(x, 'b (h w) c -> b h w c', { h: H }), w, 'b h w c, h w c -> b')), want);
  });

  it("'i j, j k -> (i k)' merges the output's group", async () => {
    const a = t64([3, 4], 3);
    const b = t64([4, 5], 4);
    const ad = await values(a);
    const bd = await values(b);
    const want: number[] = [];
    for (let i = 0; i < 3; i++) for (let k = 0; k < 5; k++) { let s = 0; for (let j = 0; j < 4; j++) s += ad[i * 4 + j]! * bd[j * 5 + k]!; want.push(s); }
    const got = einsum(a, b, 'i j, j k -> (i k)');
    expect(got.shape).toEqual([15]);
    expectClose(await values(got), want);
    expectClose(await values(rearrange(einsum(a, b, 'i j, j k -> i k'), 'i k -> (i k)')), want);
  });

  it('takes member lengths as sizes, splits non-contiguous operands, keeps a batch "..."', async () => {
    const x = t64([6, 2], 5).permute(1, 0); // [2, 6], not contiguous: the split copies
    const xd = await values(x.contiguous());
    const got = einsum(x, '... (h w) -> ... w h', { sizes: { h: 2 } });
    expect(got.shape).toEqual([2, 3, 2]);
    const want: number[] = [];
    for (let b = 0; b < 2; b++) for (let q = 0; q < 3; q++) for (let h = 0; h < 2; h++) want.push(xd[b * 6 + h * 3 + q]!);
    expectClose(await values(got), want);
  });

  it('einsumPath and compile accept the same patterns', async () => {
    const path = einsumPath('b (h w) c, h w c -> b', [[2, 12, 5], [3, 4, 5]]);
    expect(path.path).toEqual([[0, 1]]);
    const a = t64([3, 4], 6);
    const b = t64([4, 5], 7);
    const expr = compile('i j, j k -> (i k)', [[3, 4], [4, 5]], { dtype: 'float64' });
    expectClose(await values(expr.runSync(a, b)), await values(einsum(a, b, 'i j, j k -> i k').reshape([15])));
  });

  it('random groupings equal the plain loop on the flat axes', async () => {
    // Random groupings of 'a b c, c d -> a b d' (see grouped).
    const arb = fc.record({
      sizes: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 4, maxLength: 4 }),
      merges: fc.array(fc.boolean(), { minLength: 7, maxLength: 7 }),
      seed: fc.integer({ min: 0, max: 1000 }),
    });
    await fc.assert(fc.asyncProperty(arb, async ({ sizes, merges, seed }) => {
      const [A, B, C, D] = sizes as [number, number, number, number];
      const len: Record<string, number> = { a: A, b: B, c: C, d: D };
      const { terms, pattern } = grouped(merges);
      const shape = (g: string[][]): number[] => g.map((x) => x.reduce((p, ax) => p * len[ax]!, 1));
      const x = tensor(data(A * B * C, seed), { shape: shape(terms[0]!), dtype: 'float64' });
      const y = tensor(data(C * D, seed + 1), { shape: shape(terms[1]!), dtype: 'float64' });
      const xd = await values(x);
      const yd = await values(y);
      const want: number[] = [];
      for (let a = 0; a < A; a++) for (let b = 0; b < B; b++) for (let d = 0; d < D; d++) {
        let s = 0;
        for (let c = 0; c < C; c++) s += xd[(a * B + b) * C + c]! * yd[c * D + d]!;
        want.push(s);
      }
      // a and b are given; c and d are inferred from the plain dimensions or from the groups.
      const got = einsum(x, y, pattern, { sizes: { a: A, b: B } });
      expect(got.shape).toEqual(shape(terms[2]!));
      expectClose(await values(got), want);
    }), { numRuns: 60, seed: 42 });
  });

  it('a wrong operand count or rank is refused as such, with the groups counted as one axis each (property)', () => {
    // The same random groupings; then one operand dropped or added, or one operand given a dimension more or less.
    // (These were once refused as "composite axes are opened by einsum, einsumPath and compile, not by checkEinsum".)
    const arb = fc.record({
      merges: fc.array(fc.boolean(), { minLength: 7, maxLength: 7 }),
      change: fc.constantFrom('drop operand', 'add operand', 'rank up', 'rank down'),
      which: fc.integer({ min: 0, max: 1 }),
    });
    fc.assert(fc.property(arb, ({ merges, change, which }) => {
      const { terms, pattern } = grouped(merges);
      const shapes = [terms[0]!.map((x) => 2 ** x.length), terms[1]!.map((x) => 2 ** x.length)];
      let want: string;
      if (change === 'drop operand') {
        shapes.pop();
        want = 'fewer operands (1) than terms in the pattern (2)';
      } else if (change === 'add operand') {
        shapes.push([2]);
        want = 'more operands (3) than terms in the pattern (2)';
      } else {
        const named = terms[which]!.length;
        if (change === 'rank up') shapes[which]!.push(1); else shapes[which]!.pop();
        const rank = shapes[which]!.length;
        want = `operand ${which} has ${rank} dimension${rank === 1 ? '' : 's'} but its term names ${named} ax${named === 1 ? 'is' : 'es'}`;
      }
      const e = thrown(() => einsum(...shapes.map((sh) => tensor(new Array<number>(sh.reduce((p, q) => p * q, 1)).fill(1), { shape: sh })), pattern));
      expect(e.reason, pattern).toBe(want);
      expect(e.pattern).toBe(pattern);
    }), { numRuns: 80, seed: 7 });
  });

  it('gradients flow through the split and the merge (gradcheck, float64)', () => {
    const r = gradcheck((x, w) => einsum(x, w, 'b (h w) c, h w c -> (b h)'), [t64([2, 6, 3], 8), t64([2, 3, 3], 9)]);
    // gradcheck throws when the analytic and numeric gradients differ.
    expect(r.analytic.map((g) => g.length)).toEqual([36, 18]);
    const s = gradcheck((x) => einsum(x, '(a b) c -> (c a) b', { sizes: { a: 2 } }), [t64([4, 3], 10).permute(1, 0).contiguous().permute(1, 0)]);
    expect(s.analytic[0]!.length).toBe(12);
  });

  for (const device of DEVICES.filter((d) => d !== 'cpu')) {
    it(`runs on ${device}`, async () => {
      const x = t64([2, 12, 5], 11);
      const w = t64([3, 4, 5], 12);
      const want = await values(einsum(x, w, 'b (h w) c, h w c -> (b h)'));
      const xg = await x.float().to(device);
      const wg = await w.float().to(device);
      const got = einsum(xg, wg, 'b (h w) c, h w c -> (b h)');
      expect(got.device).toBe(device);
      expectClose(await values(got), want, 1e-4);
    });
  }
});
