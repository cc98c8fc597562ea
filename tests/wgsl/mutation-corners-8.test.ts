/**
 * Corners of the WGSL backend that a fresh mutation sample (seed 20261215) found unobserved: a runtime whose
 * `navigator.gpu` finds no adapter (or throws) is reported as such by `create` and `probe`, which ask for the
 * high-performance adapter; a GEMM operand outside its buffer is named; a select on a float32 condition, and a
 * float16 output stored without a cast on a device without 'shader-f16', give the right values.
 */
import { describe, expect, it } from 'vitest';
import { WebGPUBackend } from '../../kernels/wgsl/index.js';
import { ex, type GemmSpec, type LoopSpec } from '../../src/lower/spec.js';
import { rejection, thrown } from '../helpers/thrown.js';
import { gpuAvailable, halfBits, halfValue, openBackend } from './setup.js';

/** Runs `body` with `navigator.gpu` set to `gpu`, then puts `navigator` back as it was. */
async function withNavigatorGpu<T>(gpu: unknown, body: () => Promise<T>): Promise<T> {
  const g = globalThis as { navigator?: unknown };
  const had = Object.getOwnPropertyDescriptor(g, 'navigator');
  Object.defineProperty(g, 'navigator', { value: { gpu }, configurable: true, writable: true });
  try {
    return await body();
  } finally {
    if (had === undefined) delete g.navigator;
    else Object.defineProperty(g, 'navigator', had);
  }
}

describe('a runtime whose navigator.gpu has no adapter', () => {
  it('create refuses with an EinjitError and a hint, probe says so; both ask for the high-performance adapter', async () => {
    const asked: unknown[] = [];
    const gpu = { requestAdapter: async (options?: unknown) => { asked.push(options); return null; } };
    const e = await withNavigatorGpu(gpu, () => rejection(WebGPUBackend.create()));
    expect(e.message).toMatch(/^webgpu: no WebGPU adapter found\n/);
    expect(e.op).toBe('webgpu');
    expect(e.hint).toMatch(/lavapipe/);
    expect(await withNavigatorGpu(gpu, () => WebGPUBackend.probe())).toEqual({ available: false, reason: 'no WebGPU adapter found' });
    expect(asked).toEqual([{ powerPreference: 'high-performance' }, { powerPreference: 'high-performance' }]);
  });

  it('probe reports an adapter request that throws', async () => {
    const gpu = { requestAdapter: async () => { throw new Error('no Vulkan ICD'); } };
    expect(await withNavigatorGpu(gpu, () => WebGPUBackend.probe())).toEqual({ available: false, reason: 'WebGPU unavailable: no Vulkan ICD' });
  });
});

describe.skipIf(!gpuAvailable)('the device backend', () => {
  it('names the GEMM operand that reaches outside its buffer', async () => {
    const backend = await openBackend();
    try {
      const m = { offset: 0, batchStrides: [], rowStride: 4, colStride: 1 };
      const spec: GemmSpec = { kind: 'gemm', label: 'ik,kj->ij', dtype: 'float32', batch: [], m: 4, n: 4, k: 4, a: { ...m, offset: 4 }, b: m, c: m };
      const [a, b, c] = [backend.upload('float32', new Float32Array(16)), backend.upload('float32', new Float32Array(16)), backend.allocate('float32', 16)];
      const e = thrown(() => backend.run(spec, [a, b], c));
      expect(e.message).toMatch(/^gemm_\w+: A reads elements 4\.\.19 of a buffer of 16\n/);
    } finally {
      backend.destroy();
    }
  });

  it('selects on a float32 condition: nonzero (either sign, however small) picks the first branch, ±0 the second', async () => {
    const backend = await openBackend();
    try {
      const cond = [0, -0, 2.5, -1e-30, 1, -7];
      const spec: LoopSpec = {
        kind: 'loop', label: 'where', sizes: [6], parallel: 1, reduceOp: null,
        inputs: [0, 1, 2].map(() => ({ dtype: 'float32' as const, offset: 0, strides: [1] })),
        output: { dtype: 'float32', offset: 0, strides: [1] },
        expr: ex.select(ex.input(0), ex.input(1), ex.input(2)), computeType: 'float32',
      };
      const ins = [cond, [10, 11, 12, 13, 14, 15], [20, 21, 22, 23, 24, 25]].map((v) => backend.upload('float32', Float32Array.from(v)));
      const out = backend.allocate('float32', 6);
      backend.run(spec, ins, out);
      expect(Array.from(await backend.read(out) as Float32Array)).toEqual([20, 21, 12, 13, 14, 15]);
    } finally {
      backend.destroy();
    }
  });

  it("stores a float16 output without a cast in the expression, on a device without 'shader-f16', rounded to float16", async () => {
    const backend = await openBackend();
    try {
      Object.defineProperty(backend, 'f16', { value: false });
      const spec: LoopSpec = {
        kind: 'loop', label: 'add into float16', sizes: [5], parallel: 1, reduceOp: null,
        inputs: [{ dtype: 'float32', offset: 0, strides: [1] }], output: { dtype: 'float16', offset: 0, strides: [1] },
        expr: ex.binary('add', ex.input(0), ex.const(1)), computeType: 'float32',
      };
      const values = [1 / 3, -1000.7, 0.1, 2047.6, 3.14159];
      const x = backend.upload('float32', Float32Array.from(values));
      const out = backend.allocate('float16', 5);
      backend.run(spec, [x], out);
      const got = Array.from(await backend.read(out) as Uint16Array, halfValue);
      // halfBits (setup.ts) rounds to the nearest float16 by the binary16 formula, ties to even.
      expect(got).toEqual(Array.from(Float32Array.from(values.map((v) => v + 1)), (v) => halfValue(halfBits(v))));
    } finally {
      backend.destroy();
    }
  });
});
