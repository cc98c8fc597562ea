/**
 * Corners of src/lower that a fresh mutation sample (seed 20261210) found unpinned: a GEMM epilogue's part of
 * the kernel's identity (specKey: the epilogue, its operand count and whether it reads C), a loop's `also`
 * stores in its key, and gemmEpilogueLoop, the in-place map over C a GEMM's epilogue is equivalent to; then
 * (seed 20261211) specInputCount and a transpose whose output is contiguous along the first loop. Each expected
 * value is written out by hand from the spec's documentation.
 */
import { describe, expect, it } from 'vitest';
import { buildLoop, transposeDims } from '../../src/lower/loops.js';
import { ex, gemmEpilogueLoop, specInputCount, specKey } from '../../src/lower/spec.js';
import type { Access, GemmSpec, LoopSpec } from '../../src/lower/spec.js';

/** A batched [3] GEMM of 2×5 by 5×4, C at offset 7 with its rows 6 apart and its batch 20 apart. */
function gemm(extra: Partial<GemmSpec> = {}): GemmSpec {
  const access = { offset: 0, batchStrides: [10], rowStride: 5, colStride: 1 };
  return {
    kind: 'gemm', label: 'bij,bjk->bik', dtype: 'float32', batch: [3], m: 2, n: 4, k: 5, a: access, b: access,
    c: { offset: 7, batchStrides: [20], rowStride: 6, colStride: 1 }, ...extra,
  };
}

const bias: Access = { dtype: 'float32', offset: 0, strides: [0, 0, 1] };
const scaled = ex.binary('mul', ex.input(0), ex.const(2));
const biased = ex.binary('add', ex.input(0), ex.input(1));

describe("a GEMM epilogue in the kernel's identity", () => {
  it('the epilogue, the count of its other operands and a read of C each make a different kernel', () => {
    const keys = [
      specKey(gemm()),
      specKey(gemm({ epilogue: scaled })),
      specKey(gemm({ epilogue: biased, epilogueInputs: [bias] })),
      specKey(gemm({ epilogue: biased, epilogueInputs: [bias, bias] })),
      specKey(gemm({ epilogue: biased, epilogueInputs: [bias], epilogueReadsC: true })),
      specKey(gemm({ epilogue: ex.binary('sub', ex.input(1), ex.input(0)), epilogueInputs: [bias] })),
    ];
    expect(new Set(keys).size).toBe(keys.length);
    // The epilogue's constants travel as data: another scale is the same kernel.
    expect(specKey(gemm({ epilogue: ex.binary('mul', ex.input(0), ex.const(3)) }))).toBe(keys[1]);
    expect(specKey(gemm({ epilogue: scaled, epilogueReadsC: false }))).toBe(keys[1]);
  });
});

describe("a loop's also-stores in its key", () => {
  const operand = { dtype: 'float32' as const, offset: 0, strides: [1] };
  const base: LoopSpec = buildLoop({ label: 'map', outShape: [4], inputs: [operand, operand], output: operand, expr: ex.input(0), computeType: 'float32' });

  it('which input a store writes, and what, are part of the key', () => {
    const keys = [
      specKey(base),
      specKey({ ...base, also: [{ input: 1, expr: ex.unary('exp', ex.input(0)) }] }),
      specKey({ ...base, also: [{ input: 1, expr: ex.unary('neg', ex.input(0)) }] }),
      specKey({ ...base, also: [{ input: 0, expr: ex.unary('exp', ex.input(1)) }] }),
    ];
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe('gemmEpilogueLoop', () => {
  it('is the map over C (batch, m, n) reading C and then the epilogue operands, writing C', () => {
    const spec = gemm({ epilogue: biased, epilogueInputs: [bias] });
    const c: Access = { dtype: 'float32', offset: 7, strides: [20, 6, 1] };
    expect(gemmEpilogueLoop(spec)).toEqual({
      kind: 'loop', label: 'epilogue of bij,bjk->bik', sizes: [3, 2, 4], parallel: 3, reduceOp: null,
      inputs: [c, bias], output: c, expr: biased, computeType: 'float32',
    });
  });

  it('without epilogue operands the map reads C alone', () => {
    expect(gemmEpilogueLoop(gemm({ epilogue: scaled }))!.inputs).toEqual([{ dtype: 'float32', offset: 7, strides: [20, 6, 1] }]);
  });

  it('is null without an epilogue, and for one that reads C as it was (the product would have overwritten it)', () => {
    expect(gemmEpilogueLoop(gemm())).toBeNull();
    expect(gemmEpilogueLoop(gemm({ epilogue: biased, epilogueInputs: [bias], epilogueReadsC: true }))).toBeNull();
  });
});

describe('specInputCount', () => {
  it("is a loop's inputs, and a GEMM's A and B with its epilogue's operands", () => {
    const operand = { dtype: 'float32' as const, offset: 0, strides: [1] };
    expect(specInputCount(buildLoop({ label: 'map', outShape: [4], inputs: [operand, operand, operand], output: operand, expr: ex.input(0), computeType: 'float32' }))).toBe(3);
    expect(specInputCount(gemm())).toBe(2);
    expect(specInputCount(gemm({ epilogue: biased, epilogueInputs: [bias, bias] }))).toBe(4);
  });
});

describe('transposeDims', () => {
  it("finds the output's unit-stride loop when it is the first", () => {
    // out[i, j] column-major (strides [1, 4]) from a row-major input (strides [8, 1]) over [4, 8].
    const spec = buildLoop({
      label: 'permute', outShape: [4, 8], inputs: [{ dtype: 'float32', offset: 0, strides: [8, 1] }],
      output: { dtype: 'float32', offset: 0, strides: [1, 4] }, expr: ex.input(0), computeType: 'float32',
    });
    expect(transposeDims(spec)).toEqual({ a: 1, b: 0 });
  });
});
