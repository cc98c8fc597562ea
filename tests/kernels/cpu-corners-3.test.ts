/**
 * Corners of kernels/cpu that the kernel tests ran through without looking at: the kernel line of the GEMM source,
 * the header of the Wasm transpose's listing, row values over fewer loops than the parallel ones in the
 * interpreter (a softmax-like map, each point divided by its row's sum), and a failure reported by the GEMM's
 * thread runtime, which must raise rather than leave C half computed. Expected values are written out by hand or
 * computed here in plain float64.
 */
import { describe, expect, it } from 'vitest';

import { gemmSource, runGemm } from '../../kernels/cpu/gemm.js';
import { loadRuntime } from '../../kernels/cpu/gemm-pool.js';
import { interpretLoop } from '../../kernels/cpu/interpret.js';
import { loopParams, loopSource } from '../../kernels/cpu/loop.js';
import { ex, type GemmSpec, type LoopSpec } from '../../src/lower/spec.js';

/** A row-major product [m, k]·[k, n]. */
function gemm(m: number, n: number, k: number, dtype: 'float32' | 'float64' = 'float64'): GemmSpec {
  return {
    kind: 'gemm', label: 'ik,kj->ij', dtype, batch: [], m, n, k,
    a: { offset: 0, batchStrides: [], rowStride: k, colStride: 1 },
    b: { offset: 0, batchStrides: [], rowStride: n, colStride: 1 },
    c: { offset: 0, batchStrides: [], rowStride: n, colStride: 1 },
  };
}

describe('the GEMM source', () => {
  it('names the kernel the product runs on its third line', () => {
    // 8·8·8 = 512 multiply-adds, below the default small-product threshold (32·32·32) on every platform.
    expect(gemmSource(gemm(8, 8, 8)).split('\n')[2])
      .toBe('// kernel: direct strided loop (a small product, or no generated code allowed)');
    expect(gemmSource(gemm(0, 8, 8)).split('\n')[2]).toBe('// kernel: none (empty product)');
  });
});

describe('the Wasm transpose listing', () => {
  it("opens with the permute's label and what runs it", () => {
    const spec: LoopSpec = {
      kind: 'loop', label: 'ij->ji', sizes: [1024, 64], parallel: 2, reduceOp: null,
      inputs: [{ dtype: 'float32', offset: 0, strides: [1, 1024] }], output: { dtype: 'float32', offset: 0, strides: [64, 1] },
      expr: ex.input(0), computeType: 'float32',
    };
    const lines = loopSource(spec).split('\n');
    expect(lines[0]).toBe('// ij->ji: a permute of 4-byte elements, run by the WebAssembly SIMD kernel below (kernels/cpu/transpose.ts)');
    expect(lines[1]).toBe('// on chunks copied in and out of its own memory; the JavaScript after it runs when input and output share memory.');
  });
});

describe('interpreted row values', () => {
  it('fold over the loops after `outer` when outer < parallel: each point divided by its row sum', () => {
    // out[i, j] = x[i, j] / Σ_j' x[i, j'], over a [2, 3] input stored row-major.
    const x = Float64Array.of(1, 2, 3, 4, 5, 7);
    const spec: LoopSpec = {
      kind: 'loop', label: 'softmax-like', sizes: [2, 3], parallel: 2, reduceOp: null,
      inputs: [{ dtype: 'float64', offset: 0, strides: [3, 1] }], output: { dtype: 'float64', offset: 0, strides: [3, 1] },
      expr: ex.binary('div', ex.input(0), ex.input(1)), computeType: 'float64',
      rows: { outer: 1, values: [{ op: 'sum', expr: ex.input(0) }] },
    };
    const want = new Float64Array(6);
    for (let i = 0; i < 2; i++) {
      let s = 0;
      for (let j = 0; j < 3; j++) s += x[i * 3 + j]!;
      for (let j = 0; j < 3; j++) want[i * 3 + j] = x[i * 3 + j]! / s;
    }
    const got = new Float64Array(6);
    interpretLoop(spec)([x], got, loopParams(spec));
    expect(Array.from(got)).toEqual(Array.from(want));
  });
});

describe('a failed GEMM unit', () => {
  it('raises an error instead of returning C', () => {
    // 64·64·64 multiply-adds: a packed product (JavaScript or Wasm), run in rounds through the thread runtime.
    const m = 64, n = 64, k = 64;
    const a = new Float64Array(m * k).fill(1);
    const b = new Float64Array(k * n).fill(1);
    const c = new Float64Array(m * n);
    const rt = loadRuntime();
    const finish = rt.finish;
    // The runtime reports that some unit threw (as a worker's kernel does when it traps): every unit still ran.
    rt.finish = (...args) => {
      finish.apply(rt, args);
      return false;
    };
    try {
      expect(() => runGemm(gemm(m, n, k), a, b, c)).toThrow('einjit gemm: a kernel failed in a worker thread');
    } finally {
      rt.finish = finish;
    }
    // With the runtime restored the same product runs: every element is the sum of k ones.
    runGemm(gemm(m, n, k), a, b, c);
    expect(c.every((v) => v === k)).toBe(true);
  });
});
