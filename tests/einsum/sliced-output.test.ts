/**
 * Slicing output indices: when no slicing of summed indices brings a plan's intermediates under the memory
 * limit, output indices are sliced too, and each slice fills its block of the output (slices that differ only in
 * summed indices add into the same block). Values against a float64 evaluation written here (B·C first, then
 * A·(B·C), which is the same sum), on every device under test; the slicing reported by einsumPath and explain();
 * the operands' gradients against the same float64 loops.
 */
import { describe, expect, it } from 'vitest';
import { compile, einsum, einsumPath, grad, tensor } from '../../src/index.js';
import { DEVICES } from '../helpers/devices.js';

/** Y[a, d] = Σ_b Σ_c A[a, b] B[b, c] C[c, d] in float64, as A·(B·C). */
function chain(A: Float64Array, B: Float64Array, C: Float64Array, [na, nb, nc, nd]: number[]): Float64Array {
  const BC = new Float64Array(nb! * nd!);
  for (let b = 0; b < nb!; b++) for (let c = 0; c < nc!; c++) {
    const v = B[b * nc! + c]!;
    for (let d = 0; d < nd!; d++) BC[b * nd! + d]! += v * C[c * nd! + d]!;
  }
  const Y = new Float64Array(na! * nd!);
  for (let a = 0; a < na!; a++) for (let b = 0; b < nb!; b++) {
    const v = A[a * nb! + b]!;
    for (let d = 0; d < nd!; d++) Y[a * nd! + d]! += v * BC[b * nd! + d]!;
  }
  return Y;
}

const values = (n: number, k: number): Float64Array => Float64Array.from({ length: n }, (_, i) => Math.fround(Math.sin(i * 0.61 + k) / 4));

describe('slicing an output index', () => {
  // a = c = d = 256, b = 72: the cheapest path makes bd (72 × 256) first. Under a limit of 200 elements no pair
  // fits, and the one step left (1.2·10^9 flops) is too large for a loop nest; slicing b leaves bd at 256
  // elements and c does not touch it, so d, an output index, is sliced: 256 slices, each a column of the output.
  const dims = [256, 72, 256, 256];
  const [na, nb, nc, nd] = dims as [number, number, number, number];
  const shapes = [[na, nb], [nb, nc], [nc, nd]];

  it('is reported by einsumPath and explain()', () => {
    const p = einsumPath('ab,bc,cd->ad', shapes, { memoryLimit: 200 });
    expect(p.sliced?.axes).toEqual(['d']);
    expect(p.sliced?.slices).toBe(256);
    expect(p.sliced!.peakPerSlice).toBeLessThanOrEqual(200);
    const c = compile('ab,bc,cd->ad', shapes, { memoryLimit: 200, dtype: 'float64' });
    expect(c.explain()).toMatch(/256 slices over \[d\], each running the path of one slice and adding into its block of the output/);
  });

  it.each(DEVICES)('gives the einsum on %s', async (device) => {
    const dtype = device === 'cpu' ? 'float64' : 'float32';
    const raw = shapes.map((s, k) => values(s[0]! * s[1]!, k));
    const xs = shapes.map((s, k) => tensor(raw[k]!, { dtype, device }).reshape(s));
    const y = einsum('ab,bc,cd->ad', xs[0]!, xs[1]!, xs[2]!, { memoryLimit: 200 });
    expect(y.shape).toEqual([na, nd]);
    const got = await y.data();
    const want = chain(raw[0]!, raw[1]!, raw[2]!, dims);
    const tol = device === 'cpu' ? 1e-12 : 1e-4;
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(Number(got[i]) - want[i]!) / (1 + Math.abs(want[i]!)));
    expect(worst).toBeLessThanOrEqual(tol);
  });
  it('has the gradients of the einsum (cpu, float64)', () => {
    // L = Σ Y ⊙ G: dA = G·(B·C)ᵀ, dB = Aᵀ·G·Cᵀ, dC = (A·B)ᵀ·G, each from plain loops.
    const raw = shapes.map((s, k) => values(s[0]! * s[1]!, k + 7));
    const G = values(na * nd, 11);
    const [A, B, C] = raw as [Float64Array, Float64Array, Float64Array];
    const xs = shapes.map((s, k) => tensor(raw[k]!, { dtype: 'float64' }).reshape(s).requiresGrad_());
    const y = einsum('ab,bc,cd->ad', xs[0]!, xs[1]!, xs[2]!, { memoryLimit: 200 });
    const got = grad(y.mul(tensor(G, { dtype: 'float64' }).reshape([na, nd])).sum(), xs).map((g) => g.dataSync() as Float64Array);
    /** X·Y with X n×k (or its transpose stored k×n) and Y k×m (or its transpose stored m×k). */
    const matmul = (X: Float64Array, Y: Float64Array, n: number, k: number, m: number, xt = false, yt = false): Float64Array => {
      const out = new Float64Array(n * m);
      for (let i = 0; i < n; i++) for (let p = 0; p < k; p++) {
        const v = xt ? X[p * n + i]! : X[i * k + p]!;
        for (let j = 0; j < m; j++) out[i * m + j]! += v * (yt ? Y[j * k + p]! : Y[p * m + j]!);
      }
      return out;
    };
    const BC = matmul(B, C, nb, nc, nd);
    const AB = matmul(A, B, na, nb, nc);
    const want = [
      matmul(G, BC, na, nd, nb, false, true),
      matmul(matmul(A, G, nb, na, nd, true), C, nb, nd, nc, false, true),
      matmul(AB, G, nc, na, nd, true),
    ];
    want.forEach((w, k) => {
      let worst = 0;
      for (let i = 0; i < w.length; i++) worst = Math.max(worst, Math.abs(got[k]![i]! - w[i]!) / (1 + Math.abs(w[i]!)));
      expect(worst, `operand ${k}`).toBeLessThanOrEqual(1e-12);
    });
  });
});

describe('slicing an output index and a summed one', () => {
  // a = c = 600, b = d = 60: the cheapest path makes bd (60 × 60) first. Under a limit of 50 elements, slicing
  // d leaves 60 elements and slicing b as well; both together leave one: 3,600 slices, and each pair of
  // (b, d) values adds into column d.
  const dims = [600, 60, 600, 60];
  const [na, nb, nc, nd] = dims as [number, number, number, number];
  const shapes = [[na, nb], [nb, nc], [nc, nd]];

  it('adds the slices of one output block and fills every block (cpu, float64)', async () => {
    const p = einsumPath('ab,bc,cd->ad', shapes, { memoryLimit: 50 });
    expect([...p.sliced!.axes].sort()).toEqual(['b', 'd']);
    expect(p.sliced!.slices).toBe(3600);
    const raw = shapes.map((s, k) => values(s[0]! * s[1]!, k + 3));
    const xs = shapes.map((s, k) => tensor(raw[k]!, { dtype: 'float64' }).reshape(s));
    const got = await einsum('ab,bc,cd->ad', xs[0]!, xs[1]!, xs[2]!, { memoryLimit: 50 }).data();
    const want = chain(raw[0]!, raw[1]!, raw[2]!, dims);
    for (let i = 0; i < want.length; i++) expect(Math.abs(Number(got[i]) - want[i]!)).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(want[i]!)));
  });
});
