/**
 * Corners of kernels/cpu that a fresh mutation sample (seed 20261209) found unobserved: a packed product whose
 * sub-product does not fit the round's memory budget falls back to the direct loop (and must still compute C), the
 * generated loop kernel's header line, the relaxed-SIMD kernel forced where relaxed SIMD does not validate,
 * EINJIT_CPU_GEMM=relaxed's options (read at import, so the module is imported afresh with the variable set), and
 * the CPU's live-byte count, which starts at its first call. Expected values are computed here in plain float64.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';

import { configureGemm, runGemm, type GemmOptions } from '../../kernels/cpu/gemm.js';
import { loopSource } from '../../kernels/cpu/loop.js';
import { WASM_TRANSPOSE_MIN_ELEMENTS } from '../../kernels/cpu/transpose.js';
import { wasmApi } from '../../kernels/cpu/wasm/api.js';
import { ex, type GemmSpec, type LoopSpec } from '../../src/lower/spec.js';

function values(n: number, seed: number): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => ((((i + 1) * 7919 + seed * 104729) % 2003) / 1001) - 1);
}

describe('a packed product over the round budget', () => {
  let saved: GemmOptions | null = null;
  afterEach(() => { if (saved !== null) configureGemm(saved); saved = null; });

  it('is computed by the direct loop instead', () => {
    const [m, n, k] = [37, 29, 41];
    const spec: GemmSpec = {
      kind: 'gemm', label: 'ik,kj->ij', dtype: 'float64', batch: [], m, n, k,
      a: { offset: 0, batchStrides: [], rowStride: k, colStride: 1 },
      b: { offset: 0, batchStrides: [], rowStride: n, colStride: 1 },
      c: { offset: 0, batchStrides: [], rowStride: n, colStride: 1 },
    };
    const a = values(m * k, 1);
    const b = values(k * n, 2);
    // The packed JS path asked for, with a round budget no sub-product fits.
    saved = configureGemm({ path: 'js', smallMacs: 0, roundElements: 1 });
    const c = new Float64Array(m * n).fill(Number.NaN);
    runGemm(spec, a, b, c);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
      let want = 0;
      for (let p = 0; p < k; p++) want += a[i * k + p]! * b[p * n + j]!;
      expect(Math.abs(c[i * n + j]! - want)).toBeLessThan(1e-12);
    }
  });
});

describe('the relaxed-SIMD kernel forced', () => {
  afterEach(() => { vi.doUnmock('../../src/platform/index.js'); vi.resetModules(); });

  // Relaxed SIMD's availability is process-wide (a V8 flag, which a test elsewhere may have set), so the platform's
  // probe is replaced by one that says no, in a fresh instance of the GEMM module.
  it('is refused with a hint where relaxed SIMD does not validate; the mul+add kernel is not', async () => {
    vi.resetModules();
    vi.doMock('../../src/platform/index.js', async (original) => ({
      ...(await original<typeof import('../../src/platform/index.js')>()), relaxedSimdAvailable: () => false,
    }));
    const fresh = await import('../../kernels/cpu/gemm.js');
    const spec: GemmSpec = {
      kind: 'gemm', label: 'ik,kj->ij', dtype: 'float32', batch: [], m: 64, n: 64, k: 64,
      a: { offset: 0, batchStrides: [], rowStride: 64, colStride: 1 },
      b: { offset: 0, batchStrides: [], rowStride: 64, colStride: 1 },
      c: { offset: 0, batchStrides: [], rowStride: 64, colStride: 1 },
    };
    expect(fresh.gemmCapabilities().relaxedSimd).toBe(false);
    fresh.configureGemm({ path: 'relaxed', smallMacs: 0 });
    expect(() => fresh.gemmRoute(spec)).toThrow(/^gemm: WebAssembly relaxed SIMD does not validate here, so the fused multiply-add GEMM kernel cannot be forced/);
    fresh.configureGemm({ path: 'wasm' });
    expect(fresh.gemmRoute(spec)).toBe(fresh.gemmCapabilities().wasmSimd ? 'wasm' : expect.anything());
  });
});

describe('the generated loop kernel', () => {
  it("opens with einjit's header naming the kernel's label", () => {
    const spec: LoopSpec = {
      kind: 'loop', label: 'sum over j of ij->i', sizes: [3, 4], parallel: 1, reduceOp: 'sum',
      inputs: [{ dtype: 'float32', offset: 0, strides: [4, 1] }], output: { dtype: 'float32', offset: 0, strides: [1] },
      expr: ex.input(0), computeType: 'float32',
    };
    expect(loopSource(spec)).toMatch(/^\/\/ einjit CPU kernel: sum over j of ij->i\n\/\/ 2 loops: 1 over the output/);
  });

  const WASM = /run by the WebAssembly SIMD kernel below/;
  /** A float32 transpose [rows, cols] -> [cols, rows]. */
  const permute = (rows: number, cols: number): LoopSpec => ({
    kind: 'loop', label: 'ij->ji', sizes: [cols, rows], parallel: 2, reduceOp: null,
    inputs: [{ dtype: 'float32', offset: 0, strides: [1, cols] }], output: { dtype: 'float32', offset: 0, strides: [rows, 1] },
    expr: ex.input(0), computeType: 'float32',
  });

  it('is preceded by the Wasm transpose only for a permute of at least the threshold size', () => {
    // A large map that is no permute (no transpose loops) stays JavaScript.
    const map: LoopSpec = {
      kind: 'loop', label: 'neg', sizes: [256, 256], parallel: 2, reduceOp: null,
      inputs: [{ dtype: 'float32', offset: 0, strides: [256, 1] }], output: { dtype: 'float32', offset: 0, strides: [256, 1] },
      expr: ex.unary('neg', ex.input(0)), computeType: 'float32',
    };
    expect(loopSource(map)).not.toMatch(WASM);
    const copy: LoopSpec = { ...map, label: 'copy', expr: ex.input(0) };
    expect(loopSource(copy)).not.toMatch(WASM);
    // One row under the threshold stays JavaScript; exactly the threshold runs on the Wasm kernel (where it exists).
    const below = permute(WASM_TRANSPOSE_MIN_ELEMENTS / 64 - 1, 64);
    expect(loopSource(below)).not.toMatch(WASM);
    const at = permute(WASM_TRANSPOSE_MIN_ELEMENTS / 64, 64);
    expect(at.sizes[0]! * at.sizes[1]!).toBe(WASM_TRANSPOSE_MIN_ELEMENTS);
    if (wasmApi !== undefined) expect(loopSource(at)).toMatch(WASM);
  });
});

describe('EINJIT_CPU_GEMM=relaxed', () => {
  afterEach(() => { vi.unstubAllEnvs(); vi.resetModules(); });

  it('forces the fused multiply-add kernel for every product with a contraction, however small', async () => {
    vi.stubEnv('EINJIT_CPU_GEMM', 'relaxed');
    vi.resetModules();
    const fresh = await import('../../kernels/cpu/gemm.js');
    const options = fresh.configureGemm({});
    expect(options).toMatchObject({ path: 'relaxed', smallMacs: 0, everyContraction: true });
    expect(fresh.gemmMinWork()).toBe(1);
  });
});

describe("the CPU backend's live bytes", () => {
  afterEach(() => { vi.resetModules(); });

  it('count the storages made after the first call only', async () => {
    vi.resetModules();
    const { createCpuBackend } = await import('../../kernels/cpu/backend.js');
    const cpu = createCpuBackend({ allocated() {}, checkUsable() {}, async beforeRead() {} });
    const before = cpu.allocate('float32', 1000);
    expect(cpu.liveBytes()).toBe(0);
    const after = cpu.allocate('float32', 1000);
    expect(cpu.liveBytes()).toBe(4000);
    expect([before.length, after.length]).toEqual([1000, 1000]);
    // Releasing a storage made before the first call does not uncount it (seed 20261223 of kernels/cpu), and a
    // second release of a counted one takes nothing more.
    cpu.release(before);
    expect(cpu.liveBytes()).toBe(4000);
    cpu.release(after);
    cpu.release(after);
    expect(cpu.liveBytes()).toBe(0);
  });
});
