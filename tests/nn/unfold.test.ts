import { describe, expect, it } from 'vitest';
import { tensor, EinjitError, type Tensor } from '../../src/index.js';
import { nn } from './nn.js';
import { gradcheck, leaf } from './gradcheck.js';

const F = nn.functional;

/** im2col by definition: rows channel-major, then kernel row, kernel column; columns row-major over outputs. */
type Geometry = { stride?: readonly number[]; padding?: readonly number[]; dilation?: readonly number[] };

function naiveUnfold(x: Tensor, kh: number, kw: number, o: Geometry = {}): number[][][] {
  const [sh, sw] = (o.stride ?? [1, 1]) as [number, number];
  const [ph, pw] = (o.padding ?? [0, 0]) as [number, number];
  const [dh, dw] = (o.dilation ?? [1, 1]) as [number, number];
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const v = x.dataSync();
  const oh = Math.floor((h + 2 * ph - dh * (kh - 1) - 1) / sh) + 1;
  const ow = Math.floor((w + 2 * pw - dw * (kw - 1) - 1) / sw) + 1;
  const out: number[][][] = [];
  for (let b = 0; b < n; b++) {
    const rows: number[][] = [];
    for (let ch = 0; ch < c; ch++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
      const row: number[] = [];
      for (let y = 0; y < oh; y++) for (let z = 0; z < ow; z++) {
        const yy = y * sh - ph + i * dh;
        const zz = z * sw - pw + j * dw;
        row.push(yy >= 0 && yy < h && zz >= 0 && zz < w ? v[((b * c + ch) * h + yy) * w + zz]! : 0);
      }
      rows.push(row);
    }
    out.push(rows);
  }
  return out;
}

function naiveConv(x: Tensor, wt: Tensor, o: { stride: number[]; padding: number[]; dilation: number[]; groups: number }): number[] {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const [oc, cg, kh, kw] = wt.shape as [number, number, number, number];
  const xv = x.dataSync();
  const wv = wt.dataSync();
  const [sh, sw] = o.stride as [number, number];
  const [ph, pw] = o.padding as [number, number];
  const [dh, dw] = o.dilation as [number, number];
  const oh = Math.floor((h + 2 * ph - dh * (kh - 1) - 1) / sh) + 1;
  const ow = Math.floor((w + 2 * pw - dw * (kw - 1) - 1) / sw) + 1;
  const og = oc / o.groups;
  const out: number[] = [];
  for (let b = 0; b < n; b++) for (let q = 0; q < oc; q++) for (let y = 0; y < oh; y++) for (let z = 0; z < ow; z++) {
    const g = Math.floor(q / og);
    let s = 0;
    for (let ci = 0; ci < cg; ci++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
      const yy = y * sh - ph + i * dh;
      const zz = z * sw - pw + j * dw;
      if (yy < 0 || yy >= h || zz < 0 || zz >= w) continue;
      s += xv[((b * c + g * cg + ci) * h + yy) * w + zz]! * wv[((q * cg + ci) * kh + i) * kw + j]!;
    }
    out.push(s);
  }
  void c;
  return out;
}

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-9): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b[i]!)));
}

describe('unfold', () => {
  const cases = [
    { k: [3, 3], o: {} },
    { k: [2, 3], o: { stride: [2, 1], padding: [1, 2] } },
    { k: [3, 2], o: { stride: [1, 2], padding: [1, 0], dilation: [2, 1] } },
    { k: [1, 1], o: { stride: [2, 2] } },
  ] as const;
  for (const { k, o } of cases) {
    it(`matches im2col by definition for kernel ${k.join('×')} ${JSON.stringify(o)}`, () => {
      const x = leaf([2, 3, 5, 6], 7, false);
      const got = F.unfold(x, { kernelSize: [k[0], k[1]], ...(o as object) });
      const want = naiveUnfold(x, k[0], k[1], o as Geometry);
      expect(got.shape).toEqual([2, 3 * k[0] * k[1], want[0]![0]!.length]);
      close(got.dataSync(), want.flat(2));
    });
  }

  it('has a gradient that adds overlapping windows (fold), checked by finite differences', () => {
    const x = leaf([1, 2, 4, 5], 3);
    gradcheck((t) => F.unfold(t, { kernelSize: 3, padding: 1, stride: 1 }), [x]);
    gradcheck((t) => F.unfold(t, { kernelSize: [2, 3], padding: [0, 1], stride: [1, 2], dilation: [2, 1] }), [x]);
    // Every input pixel of a 3×3, padding-1 unfold sits in as many windows as it has in-bounds neighbours.
    const ones = tensor(new Float64Array(16).fill(1), { shape: [1, 1, 4, 4], requiresGrad: true });
    F.unfold(ones, { kernelSize: 3, padding: 1 }).sum().backward();
    expect(ones.grad!.toArray()).toEqual([[[[4, 6, 6, 4], [6, 9, 9, 6], [6, 9, 9, 6], [4, 6, 6, 4]]]]);
  });

  it('fold is the adjoint of unfold', () => {
    const x = leaf([2, 2, 5, 4], 11, false);
    const opts = { kernelSize: [3, 2] as const, padding: [1, 1] as const, stride: [2, 1] as const };
    const cols = F.unfold(x, opts);
    const r = leaf(cols.shape.slice(), 12, false);
    const lhs = cols.mul(r).sum().item();
    const rhs = F.fold(r, { ...opts, outputSize: [5, 4] }).mul(x).sum().item();
    expect(lhs).toBeCloseTo(rhs, 10);
    gradcheck((t) => F.fold(t, { ...opts, outputSize: [5, 4] }), [leaf(cols.shape.slice(), 13)]);
  });

  it('rejects a kernel larger than the padded input', () => {
    expect(() => F.unfold(leaf([1, 1, 2, 2], 1, false), { kernelSize: 3 })).toThrow(EinjitError);
  });
});

describe('conv2d (unfold + einsum)', () => {
  const cases = [
    { c: 3, o: 4, k: [3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 },
    { c: 4, o: 6, k: [3, 2], stride: [2, 1], padding: [0, 1], dilation: [1, 2], groups: 2 },
    { c: 4, o: 4, k: [3, 3], stride: [2, 2], padding: [1, 1], dilation: [1, 1], groups: 4 },
  ];
  for (const cs of cases) {
    it(`matches direct convolution: ${JSON.stringify(cs)}`, () => {
      const x = leaf([2, cs.c, 6, 5], 21, false);
      const w = leaf([cs.o, cs.c / cs.groups, cs.k[0]!, cs.k[1]!], 22, false);
      const b = leaf([cs.o], 23, false);
      const y = F.conv2d(x, w, b, { stride: cs.stride as [number, number], padding: cs.padding as [number, number], dilation: cs.dilation as [number, number], groups: cs.groups });
      const want = naiveConv(x, w, cs);
      const bv = b.dataSync();
      const per = y.size / (2 * cs.o);
      close(y.dataSync(), want.map((v, i) => v + bv[Math.floor(i / per) % cs.o]!));
    });
  }

  it('passes gradcheck for input, weight and bias with stride, padding, dilation and groups', () => {
    const x = leaf([2, 4, 5, 5], 31);
    const w = leaf([4, 2, 3, 2], 32);
    const b = leaf([4], 33);
    gradcheck((a, ww, bb) => F.conv2d(a!, ww!, bb, { stride: [2, 1], padding: [1, 1], dilation: [1, 2], groups: 2 }), [x, w, b]);
  });

  it('conv1d matches conv2d on a one-row image', () => {
    const x = leaf([2, 3, 9], 41);
    const w = leaf([5, 3, 3], 42);
    gradcheck((a, ww) => F.conv1d(a!, ww!, null, { stride: 2, padding: 1, dilation: 2 }), [x, w]);
    const y1 = F.conv1d(x, w, null, { padding: 1 });
    const y2 = F.conv2d(x.unsqueeze(2), w.unsqueeze(2), null, { padding: [0, 1] }).squeeze(2);
    close(y1.dataSync(), y2.dataSync());
  });

  it('names the mismatch when channels do not fit', () => {
    expect(() => F.conv2d(leaf([1, 3, 4, 4], 1, false), leaf([2, 2, 3, 3], 2, false))).toThrow(/channels/);
  });
});

describe('pooling', () => {
  it('maxPool2d with padding matches a direct max and passes gradcheck', () => {
    const x = leaf([1, 2, 5, 5], 51);
    const y = F.maxPool2d(x, { kernelSize: 3, stride: 2, padding: 1 });
    expect(y.shape).toEqual([1, 2, 3, 3]);
    const v = x.dataSync();
    const at = (c: number, i: number, j: number): number => (i < 0 || j < 0 || i >= 5 || j >= 5 ? -Infinity : v[(c * 5 + i) * 5 + j]!);
    const want: number[] = [];
    for (let c = 0; c < 2; c++) for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
      let m = -Infinity;
      for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) m = Math.max(m, at(c, 2 * i - 1 + a, 2 * j - 1 + b));
      want.push(m);
    }
    close(y.dataSync(), want);
    gradcheck((t) => F.maxPool2d(t, { kernelSize: 3, stride: 2, padding: 1 }), [x]);
  });

  it('avgPool2d and adaptiveAvgPool2d average windows (with PyTorch bins)', () => {
    const x = leaf([2, 3, 6, 7], 61);
    gradcheck((t) => F.avgPool2d(t, { kernelSize: 2, stride: 2 }), [x]);
    expect(F.avgPool2d(x, { kernelSize: 2 }).shape).toEqual([2, 3, 3, 3]);
    const g = F.adaptiveAvgPool2d(x, 1);
    close(g.reshape([6]).dataSync(), x.mean([2, 3]).dataSync());
    const odd = F.adaptiveAvgPool2d(x, [4, 3]);
    expect(odd.shape).toEqual([2, 3, 4, 3]);
    // Row bin 1 of 4 over 6 rows is [1, 3); column bin 2 of 3 over 7 columns is [4, 7).
    close([odd.index(0, 0, 1, 2).item()], [x.index(0, 0, '1:3', '4:7').mean().item()]);
    gradcheck((t) => F.adaptiveAvgPool2d(t, [4, 3]), [leaf([1, 1, 6, 7], 62)]);
  });
});
