/**
 * Corners of the WGSL generator and backend that a fresh mutation sample (seed 20261210) found unobserved: a
 * GEMM's grid (tiles along n, tiles along m, batch; folded into two dimensions only past 65,535 in one of them,
 * including the limit itself), a folded GEMM on the device with one spare workgroup, the workspaces of a split-K
 * GEMM with an epilogue given back, which loop specs the vec4 copy kernel takes, floor, ceil and round of int32
 * values, and erf and GELU on the device against C's libm. Expected values are worked out from the arguments; erf's from Python's math.erf.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { chooseGemmConfig, gemmKernel } from '../../kernels/wgsl/gemm.js';
import { isVec4Copy } from '../../kernels/wgsl/copy.js';
import type { WebGPUBackend } from '../../kernels/wgsl/index.js';
import { ex, type GemmSpec, type LoopSpec } from '../../src/lower/spec.js';
import { gpuAvailable, openBackend } from './setup.js';

/** A row-major batched GEMM C[b] = A[b]·B[b]. */
function gemm(batch: number, m: number, n: number, k: number, extra: Partial<GemmSpec> = {}): GemmSpec {
  return {
    kind: 'gemm', label: 'bik,bkj->bij', dtype: 'float32', batch: [batch], m, n, k,
    a: { offset: 0, batchStrides: [m * k], rowStride: k, colStride: 1 },
    b: { offset: 0, batchStrides: [k * n], rowStride: n, colStride: 1 },
    c: { offset: 0, batchStrides: [m * n], rowStride: n, colStride: 1 }, ...extra,
  };
}

const LIMITS = { maxComputeWorkgroupStorageSize: 16384, maxComputeInvocationsPerWorkgroup: 256 };
const MAX = 65535;

describe("a GEMM's grid", () => {
  /** The grid of `spec` under the basic 64×64 tiles. */
  const grid = (spec: GemmSpec): [number, number, number] => {
    const config = chooseGemmConfig(spec, 'small', LIMITS);
    expect([config.BM, config.BN, config.pipelined]).toEqual([64, 64, false]);
    return gemmKernel(spec, config).grid();
  };

  it('is [tiles along n, tiles along m, batch] while each fits, up to 65,535 itself', () => {
    expect(grid(gemm(3, 100, 130, 5))).toEqual([3, 2, 3]);
    expect(grid(gemm(2, 64 * 2, 64 * MAX, 1))).toEqual([MAX, 2, 2]);
    expect(grid(gemm(2, 64 * MAX, 64 * 2, 1))).toEqual([2, MAX, 2]);
    expect(grid(gemm(MAX, 64 * 2, 64 * 2, 1))).toEqual([2, 2, MAX]);
  });

  it('is folded into x·y ≥ the tile count when one dimension passes 65,535', () => {
    // 65,537 tiles over y = 2 rows of 32,769: one spare workgroup.
    expect(grid(gemm(65537, 1, 1, 1))).toEqual([32769, 2, 1]);
    expect(grid(gemm(1, 1, 64 * 65536, 1))).toEqual([32768, 2, 1]);
    expect(grid(gemm(1, 64 * 65536, 1, 1))).toEqual([32768, 2, 1]);
  });
});

describe('which loop specs the vec4 copy kernel takes', () => {
  const f32 = (strides: number[], offset = 0) => ({ dtype: 'float32' as const, offset, strides });
  const copy = (sizes: number[], parallel: number, inStrides: number[], outStrides: number[]): LoopSpec => ({
    kind: 'loop', label: 'copy', sizes, parallel, reduceOp: parallel < sizes.length ? 'sum' : null,
    inputs: [f32(inStrides)], output: f32(outStrides.length > 0 ? outStrides : [1]), expr: ex.input(0), computeType: 'float32',
  });

  it('a contiguous 1-D copy of at least 4 elements', () => {
    expect(isVec4Copy(copy([16], 1, [1], [1]))).toBe(true);
  });

  it('not a map that computes something from its input', () => {
    expect(isVec4Copy({ ...copy([16], 1, [1], [1]), expr: ex.unary('neg', ex.input(0)) })).toBe(false);
  });

  it('not a sum over a contiguous row, nor a 2-D copy whose first loop is contiguous on both sides', () => {
    expect(isVec4Copy({ ...copy([16], 0, [1], []), output: f32([]) })).toBe(false);
    expect(isVec4Copy(copy([4, 3], 2, [1, 8], [1, 4]))).toBe(false);
  });
});

describe.skipIf(!gpuAvailable)('on the device', () => {
  let backend: WebGPUBackend;
  afterAll(() => { backend?.destroy(); });

  it('a folded GEMM (65,537 batches of 1×3 by 3×2) computes every batch and writes nothing past C', { timeout: 120_000 }, async () => {
    backend ??= await openBackend();
    const B = 65537;
    const spec = gemm(B, 1, 2, 3);
    const a = Float32Array.from({ length: B * 3 }, (_, i) => (i % 7) - 3);
    const b = Float32Array.from({ length: B * 6 }, (_, i) => (i % 5) - 2);
    const sentinel = 4242;
    const sa = backend.upload('float32', a);
    const sb = backend.upload('float32', b);
    const sc = backend.upload('float32', new Float32Array(B * 2 + 8).fill(sentinel));
    try {
      backend.run(spec, [sa, sb], sc);
      const got = (await backend.read(sc)) as Float32Array;
      let bad = 0;
      for (let t = 0; t < B; t++) {
        for (let j = 0; j < 2; j++) {
          let s = 0;
          for (let p = 0; p < 3; p++) s += a[t * 3 + p]! * b[t * 6 + p * 2 + j]!;
          if (got[t * 2 + j] !== s) bad++;
        }
      }
      expect(bad).toBe(0);
      expect(Array.from(got.subarray(B * 2))).toEqual(new Array(8).fill(sentinel));
    } finally {
      for (const s of [sa, sb, sc]) backend.release(s);
    }
  });

  it.each([false, true])('a split-K GEMM with an epilogue (reading C: %s) gives its workspaces back', async (readsC) => {
    backend ??= await openBackend();
    backend.tuning.gemmTiles = { BM: 64, BN: 64, BK: 4, TM: 4, TN: 4, pipelined: true, splitK: 3 };
    try {
      const [m, n, k] = [5, 6, 40];
      // C = A·B + 1, or C_old − (A·B + 1) reading C's old value.
      const epilogue = readsC ? ex.binary('sub', ex.input(1), ex.binary('add', ex.input(0), ex.const(1))) : ex.binary('add', ex.input(0), ex.const(1));
      const spec = gemm(1, m, n, k, { epilogue, ...(readsC ? { epilogueReadsC: true } : {}) });
      expect(gemmKernel(spec, chooseGemmConfig(spec, backend.tuning.gemmTiles, backend.limits)).splitK).toBe(3);
      const a = Float32Array.from({ length: m * k }, (_, i) => ((i * 3) % 5) - 2);
      const b = Float32Array.from({ length: k * n }, (_, i) => ((i * 7) % 3) - 1);
      const old = Float32Array.from({ length: m * n }, (_, i) => i);
      const sa = backend.upload('float32', a);
      const sb = backend.upload('float32', b);
      const sc = backend.upload('float32', old);
      const before = backend.liveBytes();
      backend.run(spec, [sa, sb], sc);
      const got = (await backend.read(sc)) as Float32Array;
      expect(backend.liveBytes()).toBe(before);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let p = 0; p < k; p++) s += a[i * k + p]! * b[p * n + j]!;
          expect(got[i * n + j]).toBe(readsC ? old[i * n + j]! - (s + 1) : s + 1);
        }
      }
      for (const s of [sa, sb, sc]) backend.release(s);
    } finally {
      backend.tuning.gemmTiles = 'auto';
    }
  });

  it('floor, ceil and round of int32 values are the values', async () => {
    backend ??= await openBackend();
    const values = [-7, -1, 0, 3, 2147483647, -2147483648];
    for (const op of ['floor', 'ceil', 'round'] as const) {
      const map: LoopSpec = {
        kind: 'loop', label: op, sizes: [values.length], parallel: 1, reduceOp: null,
        inputs: [{ dtype: 'int32', offset: 0, strides: [1] }], output: { dtype: 'int32', offset: 0, strides: [1] },
        expr: ex.unary(op, ex.input(0)), computeType: 'int32',
      };
      const sx = backend.upload('int32', Int32Array.from(values));
      const out = backend.allocate('int32', values.length);
      backend.run(map, [sx], out);
      expect(Array.from((await backend.read(out)) as Int32Array), op).toEqual(values);
      backend.release(sx);
      backend.release(out);
    }
  });

  it('erf and GELU agree with C\'s libm to float32 accuracy', async () => {
    backend ??= await openBackend();
    // Python's math.erf at these points.
    const table: [number, number][] = [
      [0.1, 0.1124629160182849], [0.37, 0.39920598404299923], [0.5, 0.5204998778130465], [1, 0.8427007929497149],
      [1.5, 0.9661051464753108], [2, 0.9953222650189527], [2.6, 0.9997639655834707], [4, 0.9999999845827421],
    ];
    const xs = table.flatMap(([x]) => [x, -x]);
    const want = table.flatMap(([, e]) => [e, -e]);
    for (const op of ['erf', 'gelu'] as const) {
      const map: LoopSpec = {
        kind: 'loop', label: op, sizes: [xs.length], parallel: 1, reduceOp: null,
        inputs: [{ dtype: 'float32', offset: 0, strides: [1] }], output: { dtype: 'float32', offset: 0, strides: [1] },
        expr: ex.unary(op, ex.input(0)), computeType: 'float32',
      };
      // GELU at √2·x is √2·x·(1 + erf(x))/2: the table's points, scaled.
      const input = op === 'erf' ? xs : xs.map((x) => x * Math.SQRT2);
      const expected = op === 'erf' ? want : want.map((e, i) => (input[i]! * (1 + e)) / 2);
      const sx = backend.upload('float32', Float32Array.from(input));
      const out = backend.allocate('float32', xs.length);
      backend.run(map, [sx], out);
      const got = (await backend.read(out)) as Float32Array;
      got.forEach((g, i) => expect(Math.abs(g - expected[i]!), `${op}(${input[i]})`).toBeLessThanOrEqual(3e-7 * Math.max(1, Math.abs(input[i]!))));
      backend.release(sx);
      backend.release(out);
    }
  });
});
