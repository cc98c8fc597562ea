/**
 * Corners of the WGSL generator and backend that a fresh mutation sample (seed 20261213) found unobserved: the
 * vec4 copy needs a contiguous output and takes exactly four elements; a pipelined GEMM stores C four columns
 * at a time only when every batch stride keeps the rows aligned; a GEMM whose B does not fit its buffer is
 * refused naming B, with the hint; float64 storage asked of the webgpu backend names the op.
 */
import { describe, expect, it } from 'vitest';
import { isVec4Copy } from '../../kernels/wgsl/copy.js';
import { chooseGemmConfig } from '../../kernels/wgsl/gemm.js';
import { webgpuDeviceOf } from '../../kernels/wgsl/webgpu.js';
import { ex, type GemmSpec, type LoopSpec } from '../../src/lower/spec.js';
import { getBackend } from '../../src/runtime/backend.js';
import { DEVICES } from '../helpers/devices.js';
import { thrown } from '../helpers/thrown.js';

const f32 = (strides: number[], offset = 0) => ({ dtype: 'float32' as const, offset, strides });
const copy = (n: number, outStride = 1): LoopSpec => ({
  kind: 'loop', label: 'copy', sizes: [n], parallel: 1, reduceOp: null,
  inputs: [f32([1])], output: f32([outStride]), expr: ex.input(0), computeType: 'float32',
});

describe('the vec4 copy', () => {
  it('takes a contiguous copy of exactly four elements, not one whose output is strided', () => {
    expect(isVec4Copy(copy(4))).toBe(true);
    expect(isVec4Copy(copy(3))).toBe(false);
    expect(isVec4Copy(copy(16, 2))).toBe(false);
  });
});

/** C[b] = A[b]·B[b], 8×8 by 8×8, C's batch stride given. */
function batched(cBatchStride: number): GemmSpec {
  return {
    kind: 'gemm', label: 'bik,bkj->bij', dtype: 'float32', batch: [2], m: 8, n: 8, k: 8,
    a: { offset: 0, batchStrides: [64], rowStride: 8, colStride: 1 },
    b: { offset: 0, batchStrides: [64], rowStride: 8, colStride: 1 },
    c: { offset: 0, batchStrides: [cBatchStride], rowStride: 8, colStride: 1 },
  };
}

describe("a pipelined GEMM's stores of C", () => {
  const tiles = { BM: 64, BN: 64, BK: 8, TM: 4, TN: 4, pipelined: true };
  const limits = { maxComputeWorkgroupStorageSize: 16384, maxComputeInvocationsPerWorkgroup: 256 };
  it('are four columns at a time when every batch stride is a multiple of 4, element by element otherwise', () => {
    expect(chooseGemmConfig(batched(64), tiles, limits).cVec4).toBe(true);
    expect(chooseGemmConfig(batched(0), tiles, limits).cVec4).toBe(true);
    expect(chooseGemmConfig(batched(66), tiles, limits).cVec4).toBe(false);
  });
});

describe.skipIf(!DEVICES.includes('webgpu'))('the webgpu backend refuses', () => {
  it('a GEMM whose B reads past its buffer, naming B and saying what is wrong', () => {
    const gpu = webgpuDeviceOf(getBackend('webgpu', 'test'));
    const a = gpu.upload('float32', new Float32Array(128));
    const b = gpu.upload('float32', new Float32Array(100));
    const c = gpu.allocate('float32', 128);
    const e = thrown(() => gpu.run(batched(64), [a, b], c));
    expect(e.message).toMatch(/: B reads elements 0\.\.127 of a buffer of 100/);
    expect(e.hint).toMatch(/the offset and strides do not fit the buffer/);
    for (const s of [a, b, c]) gpu.release(s);
  });

  it('float64 storage, naming the allocation', () => {
    const e = thrown(() => getBackend('webgpu', 'test').allocate('float64', 4));
    expect(e.op).toBe('allocate');
    expect(e.message).toMatch(/WGSL has no 64-bit floats/);
  });
});
