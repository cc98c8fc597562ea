/**
 * More corners of kernels/cpu the kernel tests pass through without looking at: the unary rows that map to the
 * platform's Math functions (log, exp, sqrt, tanh, sin, cos), in their source and their function; what the GEMM kernel is called when JavaScript is forced and, where
 * WebAssembly SIMD exists, under auto; and the product's sizes in the GEMM source. Expected values are Math's
 * own or written out by hand.
 */
import { describe, expect, it, vi } from 'vitest';
import { gemmCapabilities, gemmKernelName, gemmSource } from '../../kernels/cpu/gemm.js';
import { UNARY, scalarHelpers } from '../../kernels/cpu/ops.js';
import type { GemmSpec } from '../../src/lower/spec.js';

/** A row-major float64 product [m, k]·[k, n]. */
function gemm(m: number, n: number, k: number): GemmSpec {
  return {
    kind: 'gemm', label: 'ik,kj->ij', dtype: 'float64', batch: [], m, n, k,
    a: { offset: 0, batchStrides: [], rowStride: k, colStride: 1 },
    b: { offset: 0, batchStrides: [], rowStride: n, colStride: 1 },
    c: { offset: 0, batchStrides: [], rowStride: n, colStride: 1 },
  };
}

/** A row's source, compiled as the loop kernels compile it: with the scalar helpers (exp, erf, ...) in scope. */
const runJs = (source: string, x: number): number => {
  const names = Object.keys(scalarHelpers);
  return new Function(...names, 'x', `return ${source};`)(...names.map((n) => scalarHelpers[n as keyof typeof scalarHelpers]), x) as number;
};

describe('unary rows that call Math', () => {
  it('log, sqrt, tanh, sin and cos compute Math\'s value in their source and their function; exp the kernels\' own', () => {
    // exp is the kernels' own (checked against C's libm in cpu-corners), not Math.exp.
    const want: [keyof typeof UNARY, (x: number) => number][] = [
      ['log', Math.log], ['exp', scalarHelpers.exp], ['sqrt', Math.sqrt], ['tanh', Math.tanh], ['sin', Math.sin], ['cos', Math.cos],
    ];
    for (const [op, f] of want) {
      const row = UNARY[op];
      for (const x of [2.25, 0.5, 7]) {
        expect(Object.is(row.fn(x), f(x)), `${op}.fn(${x})`).toBe(true);
        expect(Object.is(runJs(row.js('x'), x), f(x)), `${op}.js(${x})`).toBe(true);
      }
    }
    expect(runJs(UNARY.log.js('x'), 0)).toBe(-Infinity);
  });
});

describe('GEMM kernel names and source', () => {
  it("a forced JavaScript kernel is named as the packed JavaScript micro-kernel", async () => {
    vi.stubEnv('EINJIT_CPU_GEMM', 'js');
    vi.resetModules();
    try {
      const g = await import('../../kernels/cpu/gemm.js');
      expect(g.gemmKernelName(gemm(48, 40, 36))).toMatch(/^packed JavaScript \d+x\d+ micro-kernel$/);
    } finally {
      vi.unstubAllEnvs();
      vi.resetModules();
    }
  });

  it('where WebAssembly SIMD validates (Node 20 and later), auto runs a large product on a WebAssembly SIMD kernel', () => {
    // v128.const 0, drop: a module that only validates with SIMD.
    const simd = Uint8Array.of(0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 10, 23, 1, 21, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 26, 11);
    expect((globalThis as unknown as { WebAssembly: { validate(b: Uint8Array): boolean } }).WebAssembly.validate(simd)).toBe(true);
    expect(gemmCapabilities().wasmSimd).toBe(true);
    expect(gemmKernelName(gemm(96, 96, 96))).toMatch(/^packed WebAssembly (relaxed-SIMD FMA|SIMD mul\+add) \d+x\d+ micro-kernel/);
  });

  it("the GEMM source's header gives the product's sizes", () => {
    const header = gemmSource(gemm(48, 40, 36)).split('\n')[1]!;
    expect(header).toBe('// GEMM float64: C[b,m,n] = sum_k A[b,m,k] * B[b,k,n], batch [], m=48 n=40 k=36');
  });
});
