/**
 * The pipelined GEMM (two workgroup tiles in turn, vec4 workgroup reads, vec4 or scalar stores of C, K split over
 * workgroups with a second pass) and the tile chooser. Every tile shape the device sweep times is checked here
 * against float64, on layouts that take each load kind (vec4 along k, along the free dim, scalar), each store kind,
 * ragged edges, batches, and splits whose last chunk is short or empty.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { WebGPUBackend } from '../../kernels/wgsl/index.js';
import type { GemmTileShape } from '../../kernels/wgsl/gemm.js';
import { GEMM_CHOOSER, GEMM_SWEEP_SHAPES, chooseGemmConfig, splitChunk } from '../../kernels/wgsl/gemm.js';
import { EinjitError } from '../../src/errors.js';
import type { GemmSpec, MatrixAccess } from '../../src/lower/spec.js';
import { referenceGemm } from './reference.js';
import { gpuAvailable, openBackend } from './setup.js';

const SEED = process.env['EINJIT_GPU_SEED'] === 'random' ? undefined : Number(process.env['EINJIT_GPU_SEED'] ?? 20261204);
const H200 = { maxComputeWorkgroupStorageSize: 49152, maxComputeInvocationsPerWorkgroup: 1024 };

function data(length: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

/** Elements a buffer needs for an access over [batch..., rows, cols]. */
function extent(x: MatrixAccess, batch: readonly number[], rows: number, cols: number): number {
  if (rows === 0 || cols === 0 || batch.includes(0)) return x.offset + 1;
  return batch.reduce((s, n, d) => s + (n - 1) * x.batchStrides[d]!, x.offset + (rows - 1) * x.rowStride + (cols - 1) * x.colStride) + 1;
}

/** A GEMM whose operands are row- or column-major (`rowA`, `rowB`, `rowC`), padded by `pad`, batched over `batch`. */
function layout(m: number, n: number, k: number, batch: number[], rowA: boolean, rowB: boolean, rowC: boolean, pad = 0, offset = 0): GemmSpec {
  const mat = (rows: number, cols: number, row: boolean): MatrixAccess => {
    const rs = row ? cols + pad : 1;
    const cs = row ? 1 : rows + pad;
    const span = row ? rows * rs : cols * cs;
    const bs = batch.map((_, d) => span * batch.slice(d + 1).reduce((a, b) => a * b, 1));
    return { offset, batchStrides: bs, rowStride: rs, colStride: cs };
  };
  return { kind: 'gemm', label: 'pipelined test', dtype: 'float32', batch, m, n, k, a: mat(m, k, rowA), b: mat(k, n, rowB), c: mat(m, n, rowC) };
}

describe('GEMM tile chooser', () => {
  it('auto splits K only where the medium tiles are too few, within the table and the device', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 4096 }), fc.integer({ min: 1, max: 4096 }), fc.integer({ min: 0, max: 1 << 20 }), fc.integer({ min: 1, max: 64 }),
      (m, n, k, batch) => {
        const spec = layout(m, n, k, [batch], true, true, true);
        const c = chooseGemmConfig(spec, 'auto', H200);
        expect(2 * (c.BM + c.BN) * c.BK * 4).toBeLessThanOrEqual(H200.maxComputeWorkgroupStorageSize);
        expect(c.splitK).toBeGreaterThanOrEqual(1);
        expect(c.splitK).toBeLessThanOrEqual(GEMM_CHOOSER.maxSplit);
        if (c.splitK > 1) {
          const tiles = Math.ceil(m / c.BM) * Math.ceil(n / c.BN) * batch;
          expect(tiles).toBeLessThan(GEMM_CHOOSER.splitBelowWorkgroups);
          // Every split gets at least splitMinK of K, and the chunks cover K.
          expect(k / c.splitK).toBeGreaterThanOrEqual(GEMM_CHOOSER.splitMinK);
          expect(splitChunk(k, c) * c.splitK).toBeGreaterThanOrEqual(k);
        }
      }), { seed: SEED, numRuns: 300 });
  });

  it('a skinny K ≫ M·N product is split; 1024³, a tall product and 4096³ are not', () => {
    expect(chooseGemmConfig(layout(256, 256, 65536, [], true, true, true), 'auto', H200).splitK).toBeGreaterThan(1);
    expect(chooseGemmConfig(layout(1024, 1024, 1024, [], true, true, true), 'auto', H200).splitK).toBe(1);
    expect(chooseGemmConfig(layout(8192, 64, 1024, [], true, true, true), 'auto', H200).splitK).toBe(1);
    const big = chooseGemmConfig(layout(4096, 4096, 4096, [], true, true, true), 'auto', H200);
    expect([big.BM, big.BN, big.splitK]).toEqual([GEMM_CHOOSER.big.BM, GEMM_CHOOSER.big.BN, 1]);
  });

  it('refuses an explicit tile shape the device cannot run, with an EinjitError naming the problem', () => {
    const spec = layout(64, 64, 64, [], true, true, true);
    const tooBig: GemmTileShape = { BM: 128, BN: 128, BK: 32, TM: 8, TN: 8, pipelined: true };
    expect(() => chooseGemmConfig(spec, tooBig, { maxComputeWorkgroupStorageSize: 16384, maxComputeInvocationsPerWorkgroup: 256 })).toThrow(EinjitError);
    expect(() => chooseGemmConfig(spec, { BM: 64, BN: 64, BK: 16, TM: 3, TN: 4, pipelined: true }, H200)).toThrow(/TM, TN and BK divisible by 4|integers/);
  });
});

describe.skipIf(!gpuAvailable)('pipelined WGSL GEMM kernels', () => {
  let backend: WebGPUBackend;
  beforeAll(async () => { backend = await openBackend(); });
  afterAll(() => { backend?.destroy(); });
  const names = new Set<string>();

  async function check(spec: GemmSpec, tiles: GemmTileShape, seed: number): Promise<void> {
    const aLen = extent(spec.a, spec.batch, spec.m, spec.k);
    const bLen = extent(spec.b, spec.batch, spec.k, spec.n);
    const cLen = extent(spec.c, spec.batch, spec.m, spec.n) + 3;
    const a = data(aLen, seed);
    const b = data(bLen, seed * 7 + 1);
    const sentinel = 4242;
    const ref = referenceGemm(spec, a, b, new Array<number>(cLen).fill(sentinel));
    const sa = backend.upload('float32', a);
    const sb = backend.upload('float32', b);
    // Poisoned: every element of C must be written, and nothing else.
    const sc = backend.upload('float32', Float32Array.from(ref.out, (v, i) => (ref.written.has(i) ? NaN : v)));
    backend.tuning.gemmTiles = tiles;
    try {
      const name = backend.kernelSource(spec).name;
      names.add(name);
      backend.run(spec, [sa, sb], sc);
      const got = (await backend.read(sc)) as Float32Array;
      const bad: string[] = [];
      got.forEach((g, i) => {
        const want = ref.out[i]!;
        if (!ref.written.has(i)) {
          if (g !== want && bad.length < 3) bad.push(`[${i}] outside C changed to ${g}`);
          return;
        }
        const err = Math.abs(g - want) / Math.max(ref.scale.get(i)!, 1e-30);
        if (!(err <= 1e-5) && bad.length < 3) bad.push(`[${i}] got ${g}, want ${want}`);
      });
      if (bad.length > 0) throw new Error(`${bad.join('; ')} in ${name} (${JSON.stringify(tiles)})\n${JSON.stringify(spec)}`);
    } finally {
      backend.tuning.gemmTiles = 'auto';
      for (const s of [sa, sb, sc]) backend.release(s);
    }
  }

  const pipelined = GEMM_SWEEP_SHAPES.filter((t) => t.pipelined === true);

  it.each(pipelined.map((t) => [JSON.stringify(t), t] as const))('%s: vec4 loads and stores, ragged m and n, a batch', { timeout: 120_000 }, async (_, tiles) => {
    // A row-major (vec4 along k), B row-major (vec4 along n), C row-major with n % 4 = 0 (vec4 stores).
    await check(layout(70, 36, 52, [2], true, true, true), tiles, 3);
  });

  it.each(pipelined.map((t) => [JSON.stringify(t), t] as const))('%s: scalar loads, transposed C, ragged k', { timeout: 120_000 }, async (_, tiles) => {
    // Padded rows force scalar loads; a column-major C forces scalar stores; k = 45 leaves a ragged last slab.
    await check(layout(33, 67, 45, [], false, true, false, 1, 3), tiles, 5);
  });

  it('A column-major (vec4 along m) and B transposed (vec4 along k), split K with a short last chunk', { timeout: 120_000 }, async () => {
    await check(layout(64, 40, 100, [3], false, false, true), { ...GEMM_CHOOSER.medium, splitK: 3 }, 7);
  });

  it('random layouts and sizes under auto (splits included) match float64', { timeout: 300_000 }, async () => {
    await fc.assert(fc.asyncProperty(
      fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 100 }), fc.constantFrom(1, 4, 17, 64, 600, 2100), fc.constantFrom([] as number[], [2]),
      fc.boolean(), fc.boolean(), fc.boolean(), fc.constantFrom(0, 1),
      async (m, n, k, batch, ra, rb, rc, pad) => {
        const spec = layout(m, n, k, batch, ra, rb, rc, pad);
        // The medium shape with the split auto would give a skinny product (medium tiles are few here).
        const c = chooseGemmConfig(spec, 'auto', H200);
        await check(spec, { BM: c.BM, BN: c.BN, BK: c.BK, TM: c.TM, TN: c.TN, pipelined: c.pipelined, splitK: c.splitK }, m + n + k);
      }), { seed: SEED, numRuns: 12 });
  });

  it('covered every pipelined load and store kind and a split', () => {
    const all = [...names].join(' ');
    for (const part of ['_ak4', '_am4', '_bk4', '_bn4', '_as_', '_bs_', '_c4', '_cs']) expect(all).toContain(part);
  });

  it('k = 0 writes zeros (a requested split is clamped to one)', async () => {
    await check(layout(5, 8, 0, [], true, true, true), { ...GEMM_CHOOSER.medium, splitK: 4 }, 1);
  });
});
