/**
 * The whole numpy einsum corpus on the CPU with each GEMM kernel forced (packed JavaScript, Wasm SIMD mul+add,
 * relaxed-SIMD FMA, the direct strided loop), in float64 and float32, with the CPU storage pool on. The corpus's
 * shapes are small, so a normal run lowers almost every step to a loop nest; a forced kernel also lowers every
 * step that contracts an axis to a GEMM, and the test counts those steps so it cannot pass by never reaching the
 * kernel. Expected values are numpy's.
 */
import { readFileSync } from 'node:fs';

import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { configureGemm, gemmCapabilities, shutdownGemmPool, type GemmOptions } from '../../kernels/cpu/gemm.js';
import { compile, einsum, tensor } from '../../src/index.js';
import { captureKernels } from '../../src/runtime/recording.js';
import { enableRelaxedSimd } from '../../src/platform/index.js';

const corpus = JSON.parse(readFileSync(new URL('../conformance/einsum.json', import.meta.url), 'utf8'));
const valid: { id: string; subscripts: string; shapes: number[][]; expected: { shape: number[]; values: number[] }; abs_scale: number }[] =
  corpus.cases.filter((c: { valid: boolean }) => c.valid);

/** numpy's einsum inputs (the corpus header's formula, as tests/conformance/values.test.ts evaluates it). */
function einsumValue(i: number, k: number): number {
  return ((i * 0.37 + 1.3 + 0.11 * k) % 7) - 3.1;
}

enableRelaxedSimd();
// Start the CPU backend, so captureKernels sees the first case's kernels too.
tensor([1]).add(1);
const KERNELS: Record<string, Partial<GemmOptions>> = {
  js: { path: 'js', smallMacs: 0, everyContraction: true },
  simd: { path: 'wasm', smallMacs: 0, everyContraction: true },
  relaxed: { path: 'relaxed', smallMacs: 0, everyContraction: true },
  direct: { smallMacs: Infinity, everyContraction: true },
};

let saved: GemmOptions | null = null;
afterEach(() => {
  if (saved !== null) configureGemm(saved);
  saved = null;
});
afterAll(() => shutdownGemmPool());

describe('the einsum corpus with each CPU GEMM kernel forced', () => {
  it('has the relaxed-SIMD kernel to force (after enableRelaxedSimd on Node 20)', () => {
    expect(gemmCapabilities().relaxedSimd).toBe(true);
  });

  for (const [kernel, change] of Object.entries(KERNELS)) {
    for (const dtype of ['float64', 'float32'] as const) {
      it(`${kernel}, ${dtype}: every valid case matches numpy, and the contracting steps ran as GEMMs`, () => {
        saved = configureGemm(change);
        let gemmSteps = 0;
        let casesWithGemm = 0;
        const failures: string[] = [];
        for (const c of valid) {
          const ops = c.shapes.map((s, k) => {
            const n = s.reduce((a, b) => a * b, 1);
            return tensor(Array.from({ length: n }, (_, i) => einsumValue(i, k)), { shape: s, dtype });
          });
          const { result, specs } = captureKernels('cpu', () => einsum(c.subscripts, ...ops));
          const gemms = specs.filter((s) => s.kind === 'gemm').length;
          gemmSteps += gemms;
          if (gemms > 0) casesWithGemm++;
          const got = result.dataSync() as ArrayLike<number>;
          const tol = 1e-4 * Math.max(c.abs_scale, 1e-3) + 1e-6; // the corpus stores numpy's values to 7 digits
          expect(result.shape, c.id).toEqual(c.expected.shape);
          for (let i = 0; i < got.length; i++) {
            if (!(Math.abs(got[i]! - c.expected.values[i]!) <= tol)) {
              failures.push(`${c.id} '${c.subscripts}' element ${i}: ${got[i]} vs numpy ${c.expected.values[i]}`);
              break;
            }
          }
        }
        expect(failures).toEqual([]);
        // A forced run lowers every contracting step to a GEMM: hundreds of cases reach the kernel.
        expect(casesWithGemm).toBeGreaterThan(valid.length / 4);
        expect(gemmSteps).toBeGreaterThanOrEqual(casesWithGemm);
      }, 120_000);
    }
  }

  it("explain() names the kernel each step runs as, and follows the forced kernel", () => {
    const names: Record<string, string> = {
      js: 'packed JavaScript 4x4 micro-kernel',
      simd: 'packed WebAssembly SIMD mul+add 4x8 micro-kernel',
      relaxed: 'packed WebAssembly relaxed-SIMD FMA 4x8 micro-kernel (f32x4.relaxed_madd)',
      direct: 'direct strided loop',
    };
    for (const [kernel, change] of Object.entries(KERNELS)) {
      saved ??= configureGemm(change);
      configureGemm(change);
      const text = compile('ij,jk->ik', [[8, 8], [8, 8]], { dtype: 'float32' }).explain();
      expect(text, kernel).toContain(`runs as: ${names[kernel]}`);
    }
    configureGemm(saved!);
    // Unforced, an 8×8×8 product (512 multiply-adds) is one loop nest, and a 64³ one a packed GEMM.
    expect(compile('ij,jk->ik', [[8, 8], [8, 8]]).explain()).toContain('runs as: generated JavaScript loop nest');
    expect(compile('ij,jk->ik', [[64, 64], [64, 64]]).explain()).toMatch(/runs as: packed WebAssembly/);
  });

  it('without a forced kernel the corpus barely reaches a GEMM (why the forced runs exist)', () => {
    let casesWithGemm = 0;
    for (const c of valid) {
      const ops = c.shapes.map((s, k) => tensor(Array.from({ length: s.reduce((a, b) => a * b, 1) }, (_, i) => einsumValue(i, k)), { shape: s }));
      if (captureKernels('cpu', () => einsum(c.subscripts, ...ops)).specs.some((s) => s.kind === 'gemm')) casesWithGemm++;
    }
    expect(casesWithGemm).toBeLessThan(valid.length / 20);
  }, 120_000);
});
