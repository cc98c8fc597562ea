/**
 * WGSL corners a fresh mutation sample (seed 20261227) found unpinned:
 * - a reduction takes one workgroup per output from `workgroupReduceMin` reduced elements on, and only below
 *   `workgroupReduceMaxOutputs` outputs (the rule LoopTuning documents), at both edges;
 * - the GEMM kernel's header says "1 batch dim" and "2 batch dims";
 * - a tiled transpose computed in float16 says so in its header;
 * - the loop that adds a split GEMM's partial sums is labelled with the GEMM's own label and the split count, so
 *   a failure inside it names the product it belongs to;
 * - (seed 20261228) a read's staging buffer is labelled as einjit's readback (the name Dawn's own messages give
 *   it); a released buffer's use says the tensor was disposed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebGPUBackend } from '../../kernels/wgsl/index.js';
import { chooseGemmConfig, gemmKernel } from '../../kernels/wgsl/gemm.js';
import { DEFAULT_LOOP_TUNING, loopVariant } from '../../kernels/wgsl/loop.js';
import { renderTranspose } from '../../kernels/wgsl/transpose.js';
import { ex, type GemmSpec, type LoopSpec } from '../../src/lower/spec.js';
import { gpuAvailable, openBackend, readNumbers } from './setup.js';

/** sum over j of x[i, j]: `outputs` rows of `reduced` elements. */
function rowSums(outputs: number, reduced: number): LoopSpec {
  return {
    kind: 'loop', label: 'ij->i', sizes: [outputs, reduced], parallel: 1, reduceOp: 'sum',
    inputs: [{ dtype: 'float32', offset: 0, strides: [reduced, 1] }],
    output: { dtype: 'float32', offset: 0, strides: [1] }, expr: ex.input(0), computeType: 'float32',
  };
}

/** A contiguous batched GEMM [batch..., m, k] x [batch..., k, n]. */
function batched(batch: number[], m: number, n: number, k: number, label = 'bmk,bkn->bmn'): GemmSpec {
  const strides = (rows: number, cols: number): number[] => batch.map((_, d) => batch.slice(d + 1).reduce((p, q) => p * q, 1) * rows * cols);
  return {
    kind: 'gemm', label, dtype: 'float32', batch, m, n, k,
    a: { offset: 0, batchStrides: strides(m, k), rowStride: k, colStride: 1 },
    b: { offset: 0, batchStrides: strides(k, n), rowStride: n, colStride: 1 },
    c: { offset: 0, batchStrides: strides(m, n), rowStride: n, colStride: 1 },
  };
}

describe('kernel choices and headers', () => {
  it('takes a workgroup per output from workgroupReduceMin reduced elements, below workgroupReduceMaxOutputs outputs', () => {
    const { workgroupReduceMin: min, workgroupReduceMaxOutputs: max } = DEFAULT_LOOP_TUNING;
    const cases: [number, number, string][] = [
      [1, min, 'workgroup'], [1, min - 1, 'thread'], [max - 1, min, 'workgroup'], [max, min, 'thread'],
    ];
    expect(cases.map(([outputs, reduced]) => loopVariant(rowSums(outputs, reduced), DEFAULT_LOOP_TUNING))).toEqual(cases.map((c) => c[2]));
  });

  it('says how many batch dims a GEMM kernel has, in the singular for one', () => {
    const limits = { maxComputeWorkgroupStorageSize: 16384, maxComputeInvocationsPerWorkgroup: 256 };
    const header = (batch: number[], tiles: 'small' | 'pipelined'): string => {
      const spec = batched(batch, 16, 16, 16);
      const choice = tiles === 'small' ? 'small' : { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4, pipelined: true } as const;
      return gemmKernel(spec, chooseGemmConfig(spec, choice, limits)).render().source.split('\n')[1]!;
    };
    for (const tiles of ['small', 'pipelined'] as const) {
      expect(header([3], tiles), tiles).toContain('float32, 1 batch dim, all operands strided.');
      expect(header([2, 3], tiles), tiles).toContain('float32, 2 batch dims, all operands strided.');
    }
  });

  it('marks a tiled transpose computed in float16 in its header', () => {
    const spec = (dtype: 'float16' | 'float32'): LoopSpec => ({
      kind: 'loop', label: 'ij->ji', sizes: [64, 48], parallel: 2, reduceOp: null,
      inputs: [{ dtype, offset: 0, strides: [1, 64] }], output: { dtype, offset: 0, strides: [48, 1] },
      expr: ex.input(0), computeType: dtype,
    });
    const line = (dtype: 'float16' | 'float32'): string => renderTranspose(spec(dtype), 32, false, 't').source.split('\n')[1]!;
    expect(line('float16')).toMatch(/; float16 -> float16 \(float16\)\.$/);
    expect(line('float32')).toMatch(/; float32 -> float32\.$/);
  });
});

describe.skipIf(!gpuAvailable)('the webgpu backend', () => {
  let backend: WebGPUBackend;
  beforeAll(async () => { backend = await openBackend(); });
  afterAll(() => { backend?.destroy(); });

  it("labels a split GEMM's sum of partial products with the GEMM's label and the split count", async () => {
    const spec = batched([], 8, 8, 48, 'my product');
    const device = (backend as unknown as { dev: GPUDevice }).dev;
    const original = device.createShaderModule;
    const sources: string[] = [];
    device.createShaderModule = (d: GPUShaderModuleDescriptor) => {
      sources.push(d.code);
      return original.call(device, d);
    };
    const a = backend.upload('float32', new Float32Array(8 * 48).fill(1));
    const b = backend.upload('float32', new Float32Array(48 * 8).fill(0.25));
    const c = backend.allocate('float32', 64);
    try {
      backend.tuning.gemmTiles = { BM: 64, BN: 64, BK: 4, TM: 4, TN: 4, pipelined: true, splitK: 3 };
      backend.run(spec, [a, b], c);
    } finally {
      device.createShaderModule = original;
      backend.tuning.gemmTiles = 'auto';
    }
    expect(await readNumbers(backend, c)).toEqual(new Array(64).fill(48 * 0.25));
    const headers = sources.map((s) => s.split('\n')[0]!);
    expect(headers.filter((h) => h.endsWith(': my product (sum of 3 K splits)'))).toHaveLength(1);
    for (const s of [a, b, c]) backend.release(s);
  });

  it("labels a read's staging buffer as einjit's readback, and says a released buffer's tensor was disposed", async () => {
    const device = (backend as unknown as { dev: GPUDevice }).dev;
    const original = device.createBuffer;
    const labels: (string | undefined)[] = [];
    device.createBuffer = (d: GPUBufferDescriptor) => {
      labels.push(d.label);
      return original.call(device, d);
    };
    const x = backend.upload('float32', new Float32Array([1, 2]));
    try {
      expect(Array.from(await backend.read(x))).toEqual([1, 2]);
    } finally {
      device.createBuffer = original;
    }
    expect(labels).toContain('einjit readback');
    backend.release(x);
    const e = await backend.read(x).then(() => null, (err: unknown) => err as { reason: string; hint?: string });
    expect([e?.reason, e?.hint]).toEqual(['use of a released buffer', 'the tensor was already disposed']);
  });
});

