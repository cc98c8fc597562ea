/**
 * CPU corners found by mutation testing (seed 20261224's sample of kernels/cpu): the blocked transpose's header
 * names its blocks and dtypes; the GEMM's listing states its small-product threshold and its JavaScript tile and
 * sets each macro-kernel's source apart. (The same sample's storage-pool corner is in tests/cpu/storage-pool.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { gemmSource } from '../../kernels/cpu/gemm.js';
import { renderLoop } from '../../kernels/cpu/loop.js';
import { ex, type GemmSpec, type LoopSpec } from '../../src/lower/spec.js';

describe('kernel listings', () => {
  it("the blocked transpose's header gives its label, its blocks and its dtypes", () => {
    const spec: LoopSpec = {
      kind: 'loop', label: 'ij -> ji, as a test', sizes: [64, 48], parallel: 2, reduceOp: null,
      inputs: [{ dtype: 'float32', offset: 0, strides: [1, 64] }], output: { dtype: 'float32', offset: 0, strides: [48, 1] },
      expr: ex.input(0), computeType: 'float32',
    };
    const lines = renderLoop(spec).split('\n');
    expect(lines[0]).toBe('// einjit CPU kernel: ij -> ji, as a test');
    expect(lines[1]).toMatch(/^\/\/ blocked transpose, 2 loops: loop 0 contiguous in the input, loop 1 in the output, \d+x\d+ blocks; x0: float32 -> out: float32 \(computed in float32\)$/);
  });

  it("the GEMM's listing states the small-product threshold and the JavaScript tile, and sets its macro-kernels apart", () => {
    const spec: GemmSpec = {
      kind: 'gemm', label: 'ij,jk->ik', dtype: 'float32', batch: [], m: 40, n: 40, k: 40,
      a: { offset: 0, batchStrides: [], rowStride: 40, colStride: 1 },
      b: { offset: 0, batchStrides: [], rowStride: 40, colStride: 1 },
      c: { offset: 0, batchStrides: [], rowStride: 40, colStride: 1 },
    };
    const lines = gemmSource(spec).split('\n');
    expect(lines).toContainEqual(expect.stringMatching(/^\/\/ small products \(m\*n\*k < \d+\) run a direct strided loop; larger ones pack A\/B panels\.$/));
    expect(lines).toContainEqual(expect.stringMatching(/^\/\/ JavaScript tile: {7}MR=\d+ NR=\d+ K unroll=\d+ KC=\d+ MC<=\d+ NC<=\d+$/));
    // A blank line before each macro-kernel's source.
    const js = lines.indexOf('// JavaScript macro-kernel (fallback and reference)');
    const wasm = lines.findIndex((l) => l.startsWith('/* WebAssembly'));
    expect([js > 0, wasm > js, lines[js - 1], lines[wasm - 1]]).toEqual([true, true, '', '']);
  });
});
