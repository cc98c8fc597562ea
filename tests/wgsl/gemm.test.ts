import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { WebGPUBackend } from '../../kernels/wgsl/index.js';
import type { GemmSpec, MatrixAccess } from '../../src/lower/spec.js';
import { referenceGemm } from './reference.js';
import { gpuAvailable, openBackend } from './setup.js';

type Pick = (min: number, max: number) => number;
const choose = <T>(pick: Pick, xs: readonly T[]): T => xs[pick(0, xs.length - 1)]!;
const RUNS = Number(process.env['EINJIT_GPU_RUNS'] ?? 40);
/** A fixed seed keeps the set of compiled kernels (and so the suite's time on lavapipe) stable; EINJIT_GPU_SEED varies it. */
const SEED = process.env['EINJIT_GPU_SEED'] === 'random' ? undefined : Number(process.env['EINJIT_GPU_SEED'] ?? 20261123);

/**
 * A strided matrix operand of `rows`×`cols` per batch: row-major or column-major (transposed), rows padded so
 * loads are scalar, an offset, each batch dim broadcast (stride 0) or packed. Every random case shares one
 * kernel on purpose (each distinct kernel costs seconds of LLVM time on lavapipe); the vec4 paths have their own
 * cases below.
 */
function operand(pick: Pick, rows: number, cols: number, batch: readonly number[]): { access: MatrixAccess; length: number } {
  const row = pick(0, 1) === 0;
  const pad = 1;
  const rowStride = row ? cols + pad : 1;
  const colStride = row ? 1 : rows + pad;
  const span = row ? rows * rowStride : cols * colStride;
  const batchStrides: number[] = new Array<number>(batch.length).fill(0);
  let step = Math.max(span, 1);
  for (let d = batch.length - 1; d >= 0; d--) {
    if (pick(0, 2) === 0) continue;
    batchStrides[d] = step;
    step *= batch[d]!;
  }
  const offset = choose(pick, [0, 3]);
  const length = offset + step + 4;
  return { access: { offset, batchStrides, rowStride, colStride }, length };
}

function randomGemm(pick: Pick): { spec: GemmSpec; aLen: number; bLen: number; cLen: number } {
  const size = (): number => choose(pick, [1, 3, 4, 8, 16, 17, 32, 33, 63, 64, 65, 100, 128, 129]);
  const m = size();
  const n = size();
  const k = choose(pick, [1, 3, 4, 8, 15, 16, 17, 32, 64, 100, 256, 300]);
  const batch = [pick(1, 3)];
  const a = operand(pick, m, k, batch);
  const b = operand(pick, k, n, batch);
  // C is written, so every batch dim is packed; rows or columns contiguous, maybe with a gap.
  const cRow = pick(0, 1) === 0;
  const cPad = choose(pick, [0, 2]);
  const cSpan = cRow ? m * (n + cPad) : n * (m + cPad);
  const cBatch: number[] = [];
  let step = cSpan;
  for (let d = batch.length - 1; d >= 0; d--) { cBatch.unshift(step); step *= batch[d]!; }
  const cOff = choose(pick, [0, 1, 4]);
  const c: MatrixAccess = { offset: cOff, batchStrides: cBatch, rowStride: cRow ? n + cPad : 1, colStride: cRow ? 1 : m + cPad };
  const spec: GemmSpec = { kind: 'gemm', label: 'random strided GEMM', dtype: 'float32', batch, m, n, k, a: a.access, b: b.access, c };
  return { spec, aLen: a.length, bLen: b.length, cLen: cOff + step + 3 };
}

function randomData(length: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

describe.skipIf(!gpuAvailable)('WGSL GEMM kernels', () => {
  let backend: WebGPUBackend;
  beforeAll(async () => { backend = await openBackend(); });
  afterAll(() => { backend?.destroy(); });
  const names = new Set<string>();

  async function check(spec: GemmSpec, aLen: number, bLen: number, cLen: number, seed: number): Promise<void> {
    const a = randomData(aLen, seed);
    const b = randomData(bLen, seed * 7 + 1);
    const sentinel = 4242;
    const ref = referenceGemm(spec, a, b, new Array<number>(cLen).fill(sentinel));
    const poison = ref.out.map((v, i) => (ref.written.has(i) ? NaN : v));
    const sa = backend.upload('float32', a);
    const sb = backend.upload('float32', b);
    const sc = backend.upload('float32', Float32Array.from(poison));
    names.add(backend.kernelSource(spec).name);
    try {
      backend.run(spec, [sa, sb], sc);
      const got = (await backend.read(sc)) as Float32Array;
      let worst = 0;
      const bad: string[] = [];
      got.forEach((g, i) => {
        const want = ref.out[i]!;
        if (!ref.written.has(i)) {
          if (g !== want && bad.length < 3) bad.push(`[${i}] outside C changed to ${g}`);
          return;
        }
        const err = Math.abs(g - want) / Math.max(ref.scale.get(i)!, 1e-30);
        if (!(err <= 1e-5) && bad.length < 3) bad.push(`[${i}] got ${g}, want ${want}`);
        worst = Math.max(worst, err);
      });
      if (bad.length > 0) throw new Error(`${bad.join('; ')} in ${backend.kernelSource(spec).name}\n${JSON.stringify(spec)}`);
    } finally {
      for (const s of [sa, sb, sc]) backend.release(s);
    }
  }

  it('random strided, transposed and batched GEMMs match float64 within 1e-5', { timeout: 300_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.gen(), async (g) => {
        const pick: Pick = (min, max) => g(fc.integer, { min, max });
        const { spec, aLen, bLen, cLen } = randomGemm(pick);
        await check(spec, aLen, bLen, cLen, pick(1, 1000));
      }),
      { numRuns: Math.ceil(RUNS / 2), seed: SEED },
    );
  });

  /** Row-major A·B (or A·Bᵀ); `batch` [1] shares the random cases' kernel. */
  const plain = (m: number, n: number, k: number, batch: readonly number[] = []): GemmSpec => ({
    kind: 'gemm', label: 'ik,kj->ij', dtype: 'float32', batch, m, n, k,
    a: { offset: 0, batchStrides: batch.map(() => 0), rowStride: Math.max(k, 4), colStride: 1 },
    b: { offset: 0, batchStrides: batch.map(() => 0), rowStride: n, colStride: 1 },
    c: { offset: 0, batchStrides: batch.map(() => 0), rowStride: n, colStride: 1 },
  });

  it.each([
    ['vec4 loads (aligned)', 64, 64, 64, []],
    ['scalar loads (ragged k)', 65, 33, 67, [1]],
    ['1x1x1', 1, 1, 1, [1]],
    ['k = 4096', 5, 8, 4096, []],
  ] as const)('%s', async (_, m, n, k, batch) => {
    await check(plain(m, n, k, batch), m * Math.max(k, 4), k * n, m * n, m + n + k);
  });

  it('attention scores bhqd,bhkd->bhqk as a batched GEMM with transposed B and a broadcast batch', async () => {
    const [B, H, Q, K, D] = [2, 3, 33, 20, 16];
    const spec: GemmSpec = {
      kind: 'gemm', label: 'bhqd,bhkd->bhqk', dtype: 'float32', batch: [B, H], m: Q, n: K, k: D,
      a: { offset: 0, batchStrides: [H * Q * D, Q * D], rowStride: D, colStride: 1 },
      b: { offset: 0, batchStrides: [0, K * D], rowStride: 1, colStride: D },
      c: { offset: 0, batchStrides: [H * Q * K, Q * K], rowStride: K, colStride: 1 },
    };
    await check(spec, B * H * Q * D, H * K * D, B * H * Q * K, 5);
    expect(backend.kernelSource(spec).name).toContain('ak4_bk4');
  });

  it('column-major A (vec4 along m) into a column-major C', async () => {
    const [m, n, k] = [36, 40, 20];
    const spec: GemmSpec = {
      kind: 'gemm', label: 'ki,kj->ji', dtype: 'float32', batch: [], m, n, k,
      a: { offset: 4, batchStrides: [], rowStride: 1, colStride: m },
      b: { offset: 0, batchStrides: [], rowStride: n, colStride: 1 },
      c: { offset: 1, batchStrides: [], rowStride: 1, colStride: m + 1 },
    };
    await check(spec, 4 + m * k, k * n, 1 + n * (m + 1), 11);
    expect(backend.kernelSource(spec).name).toContain('am4_bn4');
  });

  it('128x128 tiles (8x8 per invocation) with ragged edges', async () => {
    backend.tuning.gemmTiles = 'large';
    try {
      await check(plain(130, 136, 40), 130 * 40, 40 * 136, 130 * 136, 9);
    } finally {
      backend.tuning.gemmTiles = 'auto';
    }
  });

  it('exercised both vec4 and scalar loads and both tile shapes', () => {
    const all = [...names].join(' ');
    expect(all).toMatch(/_ak4/);
    expect(all).toMatch(/_bk4/);
    expect(all).toMatch(/_bn4/);
    expect(all).toMatch(/_as_bs/);
    expect(all).toMatch(/64x64x16/);
    expect(all).toMatch(/128x128x16/);
  });

  it('k = 0 writes zeros and a 0-row C runs nothing', async () => {
    const spec = plain(3, 4, 0);
    const a = backend.allocate('float32', 0);
    const b = backend.allocate('float32', 0);
    const c = backend.upload('float32', new Float32Array(12).fill(NaN));
    backend.run(spec, [a, b], c);
    expect(Array.from(await backend.read(c))).toEqual(new Array<number>(12).fill(0));
    backend.run(plain(0, 4, 2), [backend.allocate('float32', 0), backend.allocate('float32', 8)], backend.allocate('float32', 0));
    await backend.flush();
  });
});
