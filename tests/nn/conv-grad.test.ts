/**
 * conv2d's gradients against a float64 reference written here with loops. A stride-1 ungrouped convolution takes
 * its input gradient as a transposed convolution (the output gradient convolved with the flipped, transposed
 * weight: src/nn/functional.ts, convWithTransposedGrad); other geometries go through unfold's col2im. The bug
 * classes: a weight not flipped or not transposed, the transposed convolution's padding or dilation off, the
 * weight gradient taken from the wrong windows, and a path chosen for a geometry it does not cover (stride 2,
 * padding past the kernel's reach, groups).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { grad, nn, profile, tensor, type Device, type Tensor } from '../../src/index.js';
import { DEVICES } from '../helpers/devices.js';
import { prng } from '../helpers/random.js';

interface Case {
  readonly n: number; readonly c: number; readonly o: number; readonly h: number; readonly w: number;
  readonly kh: number; readonly kw: number; readonly sh: number; readonly sw: number;
  readonly dh: number; readonly dw: number; readonly ph: number; readonly pw: number;
  readonly groups: number; readonly seed: number;
  /** The bias: omitted, null, or a tensor (whose gradient is checked too). */
  readonly bias: 'omitted' | 'null' | 'tensor';
}

const caseArb: fc.Arbitrary<Case> = fc.record({
  n: fc.integer({ min: 1, max: 2 }), cg: fc.integer({ min: 1, max: 3 }), og: fc.integer({ min: 1, max: 3 }),
  groups: fc.constantFrom(1, 1, 1, 2),
  kh: fc.integer({ min: 1, max: 3 }), kw: fc.integer({ min: 1, max: 3 }),
  // Mostly stride 1 (the transposed path); sometimes 2 (col2im).
  sh: fc.constantFrom(1, 1, 1, 2), sw: fc.constantFrom(1, 1, 1, 2),
  dh: fc.integer({ min: 1, max: 2 }), dw: fc.integer({ min: 1, max: 2 }),
  // Padding up to one past the kernel's reach, so both sides of the path's bound come up.
  ph: fc.nat(3), pw: fc.nat(3),
  h: fc.integer({ min: 1, max: 6 }), w: fc.integer({ min: 1, max: 6 }),
  seed: fc.integer({ min: 1, max: 1 << 30 }),
  bias: fc.constantFrom('omitted' as const, 'null' as const, 'tensor' as const),
}).map((r) => ({
  n: r.n, c: r.cg * r.groups, o: r.og * r.groups, groups: r.groups, kh: r.kh, kw: r.kw, sh: r.sh, sw: r.sw, dh: r.dh, dw: r.dw,
  ph: Math.min(r.ph, r.dh * (r.kh - 1) + 1), pw: Math.min(r.pw, r.dw * (r.kw - 1) + 1),
  // Large enough for at least one window.
  h: Math.max(r.h, r.dh * (r.kh - 1) + 1), w: Math.max(r.w, r.dw * (r.kw - 1) + 1), seed: r.seed, bias: r.bias,
}));

const out = (len: number, k: number, s: number, d: number, p: number): number => Math.floor((len + 2 * p - d * (k - 1) - 1) / s) + 1;

/**
 * For y = conv2d(x, wt, bias) and the loss Σ y·r: y, ∂/∂x, ∂/∂w and ∂/∂bias, in float64, straight from the
 * definition y[n, o, a, b] = bias[o] + Σ x[n, g·cg + ci, a·sh + i·dh − ph, b·sw + j·dw − pw] · wt[o, ci, i, j].
 */
function reference(c: Case, x: readonly number[], wt: readonly number[], bias: readonly number[] | null, r: readonly number[]): { y: number[]; dx: number[]; dw: number[]; db: number[] } {
  const oh = out(c.h, c.kh, c.sh, c.dh, c.ph);
  const ow = out(c.w, c.kw, c.sw, c.dw, c.pw);
  const cg = c.c / c.groups;
  const og = c.o / c.groups;
  const y = new Array<number>(c.n * c.o * oh * ow).fill(0);
  const dx = new Array<number>(x.length).fill(0);
  const dw = new Array<number>(wt.length).fill(0);
  const db = new Array<number>(c.o).fill(0);
  for (let n = 0; n < c.n; n++) {
    for (let o = 0; o < c.o; o++) {
      const g = Math.floor(o / og);
      for (let a = 0; a < oh; a++) {
        for (let b = 0; b < ow; b++) {
          const yi = ((n * c.o + o) * oh + a) * ow + b;
          y[yi] = bias === null ? 0 : bias[o]!;
          db[o] = db[o]! + r[yi]!;
          for (let ci = 0; ci < cg; ci++) {
            for (let i = 0; i < c.kh; i++) {
              for (let j = 0; j < c.kw; j++) {
                const yy = a * c.sh + i * c.dh - c.ph;
                const xx = b * c.sw + j * c.dw - c.pw;
                if (yy < 0 || yy >= c.h || xx < 0 || xx >= c.w) continue;
                const xi = ((n * c.c + g * cg + ci) * c.h + yy) * c.w + xx;
                const wi = ((o * cg + ci) * c.kh + i) * c.kw + j;
                y[yi] = y[yi]! + x[xi]! * wt[wi]!;
                dx[xi] = dx[xi]! + r[yi]! * wt[wi]!;
                dw[wi] = dw[wi]! + r[yi]! * x[xi]!;
              }
            }
          }
        }
      }
    }
  }
  return { y, dx, dw, db };
}

function close(got: ArrayLike<number>, want: readonly number[], tol: number, what: string): void {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(Number(got[i]) - want[i]!) <= tol * (1 + Math.abs(want[i]!)))) expect.fail(`${what}[${i}]: got ${got[i]}, want ${want[i]}`);
  }
}

describe.each(DEVICES)('conv2d gradients on %s', (device: Device) => {
  const dtype = device === 'cpu' ? 'float64' : 'float32';
  const tol = device === 'cpu' ? 1e-12 : 2e-5;

  it('y, ∂x, ∂w and ∂bias match the float64 definition for every geometry, with a bias or without', { timeout: 120_000 }, async () => {
    await fc.assert(fc.asyncProperty(caseArb, async (c) => {
      const rand = prng(c.seed);
      const values = (len: number): number[] => Array.from({ length: len }, () => Math.fround(rand() * 4 - 2));
      const xv = values(c.n * c.c * c.h * c.w);
      const wv = values(c.o * (c.c / c.groups) * c.kh * c.kw);
      const oh = out(c.h, c.kh, c.sh, c.dh, c.ph);
      const ow = out(c.w, c.kw, c.sw, c.dw, c.pw);
      const rv = values(c.n * c.o * oh * ow);
      const x = tensor(xv, { shape: [c.n, c.c, c.h, c.w], dtype, device, requiresGrad: true });
      const w = tensor(wv, { shape: [c.o, c.c / c.groups, c.kh, c.kw], dtype, device, requiresGrad: true });
      const r = tensor(rv, { shape: [c.n, c.o, oh, ow], dtype, device });
      const bv = c.bias === 'tensor' ? values(c.o) : null;
      const b = bv === null ? null : tensor(bv, { dtype, device, requiresGrad: true });
      const options = { stride: [c.sh, c.sw] as const, padding: [c.ph, c.pw] as const, dilation: [c.dh, c.dw] as const, groups: c.groups };
      const y = c.bias === 'omitted' ? nn.functional.conv2d(x, w, undefined, options) : nn.functional.conv2d(x, w, b, options);
      const grads = grad(y.mul(r).sum(), b === null ? [x, w] : [x, w, b]) as Tensor[];
      const want = reference(c, xv, wv, bv, rv);
      const what = JSON.stringify(c);
      close(await y.data(), want.y, tol, `${what} y`);
      close(await grads[0]!.data(), want.dx, tol, `${what} dx`);
      close(await grads[1]!.data(), want.dw, tol, `${what} dw`);
      if (b !== null) close(await grads[2]!.data(), want.db, tol, `${what} db`);
    }), { numRuns: device === 'cpu' ? 150 : 40 });
  });

});

describe('the weight gradient reads the forward windows as they are laid out', () => {
  // The windows are [N, L, C·kh·kw], so Σ_{n,l} g[n,o,l]·cols[n,l,k] walks (n, l) with one stride; in unfold's
  // [N, C·kh·kw, L] layout every training step copied the windows transposed first.
  it.each([[1, 1], [2, 0]])('stride %i, padding %i: the backward allocates far less than one copy of the windows', async (stride, padding) => {
    const [n, c, o, h] = [2, 16, 2, 16];
    const l = (Math.floor((h + 2 * padding - 3) / stride) + 1) ** 2;
    const x = tensor(Array.from({ length: n * c * h * h }, (_, i) => Math.sin(i))).reshape([n, c, h, h]);
    const w = tensor(Array.from({ length: o * c * 9 }, (_, i) => Math.cos(i)), { requiresGrad: true }).reshape([o, c, 3, 3]);
    const y = nn.functional.conv2d(x, w, null, { stride, padding });
    const { result, bytesAllocated } = await profile(() => grad(y.sum(), [w]));
    const windows = n * l * c * 9 * 4;
    expect(result[0]!.shape).toEqual([o, c, 3, 3]);
    expect(bytesAllocated).toBeLessThan(windows / 4);
  });
});
