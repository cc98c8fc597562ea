/**
 * Corners of src/lower that the kernel tests pass through without looking at: a kernel's identity (specKey) for
 * GEMMs and for operand order, the loop merge into the outermost loop, and host storage for bool and for sizes
 * that cannot be allocated. Each expected value is written out by hand.
 */
import { describe, expect, it } from 'vitest';
import { EinjitError } from '../../src/errors.js';
import { allocateArray, bytesPerElement } from '../../src/lower/backend.js';
import { buildLoop } from '../../src/lower/loops.js';
import { ex, specKey } from '../../src/lower/spec.js';
import type { Expr, GemmSpec, LoopSpec } from '../../src/lower/spec.js';

function gemm(dtype: 'float32' | 'float64', batch: number[]): GemmSpec {
  const access = { offset: 0, batchStrides: batch.map(() => 4), rowStride: 2, colStride: 1 };
  return { kind: 'gemm', label: 'ij,jk->ik', dtype, batch, m: 2, n: 2, k: 2, a: access, b: access, c: access };
}

/** An elementwise map of two float32 inputs over a contiguous [n] (no loop of extent 1, so nothing is dropped). */
function map2(expr: Expr, n = 4): LoopSpec {
  const operand = { dtype: 'float32' as const, offset: 0, strides: [1] };
  return buildLoop({ label: 'map', outShape: [n], inputs: [operand, operand], output: operand, expr, computeType: 'float32' });
}

describe('specKey', () => {
  it("a GEMM's key names its dtype and batch rank, and nothing a launch carries", () => {
    expect(specKey(gemm('float32', []))).toBe('gemm:float32:b0');
    expect(specKey(gemm('float64', [3, 5]))).toBe('gemm:float64:b2');
    expect(specKey({ ...gemm('float32', [3]), m: 7, n: 9, k: 11 })).toBe('gemm:float32:b1');
  });

  it('operand order is part of the key: a - b and b - a are different kernels', () => {
    const ab = specKey(map2(ex.binary('sub', ex.input(0), ex.input(1))));
    const ba = specKey(map2(ex.binary('sub', ex.input(1), ex.input(0))));
    expect(ab).not.toBe(ba);
    expect(ab.endsWith(':sub($0,$1)')).toBe(true);
  });

  it('a reduceOp left on a spec with no reduce loop is ignored, as LoopSpec documents', () => {
    const spec = map2(ex.binary('add', ex.input(0), ex.input(1)));
    expect(spec.parallel).toBe(spec.sizes.length);
    expect(specKey({ ...spec, reduceOp: 'sum' })).toBe(specKey({ ...spec, reduceOp: null }));
    expect(specKey({ ...spec, reduceOp: 'max' })).toBe(specKey(spec));
  });
});

describe('buildLoop merges into the outermost loop', () => {
  it('a contiguous [2, 3, 4] copy is one loop of 24', () => {
    const c = { dtype: 'float32' as const, offset: 0, strides: [12, 4, 1] };
    const spec = buildLoop({ label: 'copy', outShape: [2, 3, 4], inputs: [c], output: c, expr: ex.input(0), computeType: 'float32' });
    expect(spec.sizes).toEqual([24]);
    expect(spec.parallel).toBe(1);
    expect(spec.inputs[0]!.strides).toEqual([1]);
    expect(spec.output.strides).toEqual([1]);
  });

  it('a sum over the contiguous trailing [3, 4] of a [2, 3, 4] tensor reduces one loop of 12', () => {
    const spec = buildLoop({
      label: 'sum', outShape: [2], reduceShape: [3, 4], reduceOp: 'sum',
      inputs: [{ dtype: 'float32', offset: 0, strides: [12, 4, 1] }],
      output: { dtype: 'float32', offset: 0, strides: [1] },
      expr: ex.input(0), computeType: 'float32',
    });
    expect(spec.sizes).toEqual([2, 12]);
    expect(spec.parallel).toBe(1);
    expect(spec.inputs[0]!.strides).toEqual([12, 1]);
  });
});

describe('host storage', () => {
  it('bool is one byte an element, held in a Uint8Array', () => {
    expect(bytesPerElement('bool')).toBe(1);
    const a = allocateArray('bool', 3);
    expect(a).toBeInstanceOf(Uint8Array);
    expect(a.length).toBe(3);
    expect(a.byteLength).toBe(3);
  });

  it('a size no memory holds is an EinjitError naming the elements and their bytes', () => {
    let caught: unknown = null;
    try {
      allocateArray('float64', 2 ** 47);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(EinjitError);
    const err = caught as EinjitError;
    // 2^47 float64 elements are 2^50 = 1125899906842624 bytes.
    expect(err.reason).toMatch(/^cannot allocate 140737488355328 float64 elements \(1125899906842624 bytes\): /);
    expect(err.op).toBe('allocate');
    expect(err.hint).toMatch(/too large/);
  });
});
