/**
 * Corners of the WGSL generator and backend that a fresh mutation sample (seed 20261214) found unobserved: an
 * explicit GEMM tile shape with more threads than a workgroup may hold is refused; a batched GEMM's epilogue
 * inputs are addressed per batch; row values are refused for kernels the renderer cannot give them to; a
 * destroyed backend, and float64 uploaded, are refused naming the op.
 */
import { describe, expect, it } from 'vitest';
import { chooseGemmConfig, gemmKernel } from '../../kernels/wgsl/gemm.js';
import { DEFAULT_LOOP_TUNING, loopKernel } from '../../kernels/wgsl/index.js';
import { ex, type GemmSpec, type LoopSpec } from '../../src/lower/spec.js';
import { thrown } from '../helpers/thrown.js';
import { gpuAvailable, openBackend } from './setup.js';

const LIMITS = { maxComputeWorkgroupStorageSize: 16384, maxComputeInvocationsPerWorkgroup: 256 };

/** C[b, e] = A[b, e]·B[b, e] + in1[b, e], 8×8 by 8×8 in 2 × 3 batches. */
function batchedWithInput(): GemmSpec {
  const m = { offset: 0, batchStrides: [192, 64], rowStride: 8, colStride: 1 };
  return {
    kind: 'gemm', label: 'beik,bekj->beij', dtype: 'float32', batch: [2, 3], m: 8, n: 8, k: 8, a: m, b: m, c: m,
    epilogue: ex.binary('add', ex.input(0), ex.input(1)),
    epilogueInputs: [{ dtype: 'float32', offset: 0, strides: [192, 64, 8, 1] }],
  };
}

describe('GEMM tiles and epilogue inputs', () => {
  it('refuses a tile of (128/4)·(128/4) = 1,024 threads where a workgroup holds 256', () => {
    const e = thrown(() => chooseGemmConfig(batchedWithInput(), { BM: 128, BN: 128, BK: 8, TM: 4, TN: 4 }, LIMITS));
    expect(e.message).toMatch(/1024 invocations exceed 256/);
  });

  it('addresses each epilogue input from its offset plus each batch index times its batch stride', () => {
    const spec = batchedWithInput();
    const source = gemmKernel(spec, chooseGemmConfig(spec, 'small', LIMITS)).render().source;
    expect(source).toContain('let in1_base = params.in1_offset + b0 * params.in1_batch_stride0 + b1 * params.in1_batch_stride1;');
  });
});

describe('row values', () => {
  it('are refused where a kernel also stores into an input, naming the kernel', () => {
    const spec: LoopSpec = {
      kind: 'loop', label: 'rows', sizes: [4, 3], parallel: 2, reduceOp: null,
      inputs: [{ dtype: 'float32', offset: 0, strides: [3, 1] }, { dtype: 'float32', offset: 0, strides: [3, 1] }],
      output: { dtype: 'float32', offset: 0, strides: [3, 1] }, expr: ex.binary('div', ex.input(0), ex.input(2)), computeType: 'float32',
      rows: { outer: 1, values: [{ op: 'sum', expr: ex.input(0) }] }, also: [{ input: 1, expr: ex.input(0) }],
    };
    const e = thrown(() => loopKernel(spec, DEFAULT_LOOP_TUNING, false).render());
    expect(e.message).toMatch(/^map_[0-9a-f]{8}: row values are rendered for float32 and int32 kernels without further stores/);
  });
});

describe.skipIf(!gpuAvailable)('the device backend refuses', () => {
  it('float64 uploaded, naming upload', async () => {
    const backend = await openBackend();
    try {
      const e = thrown(() => backend.upload('float64' as never, new Float32Array(4)));
      expect(e.op).toBe('upload');
    } finally {
      backend.destroy();
    }
  });

  it('any work once destroyed, naming the op', async () => {
    const backend = await openBackend();
    backend.destroy();
    const e = thrown(() => backend.allocate('float32', 4));
    expect(e.message).toBe('allocate: the webgpu backend has been destroyed');
  });
});
