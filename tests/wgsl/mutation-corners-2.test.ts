/**
 * Corners of the WGSL generator that a fresh mutation sample (seed 20261209) found unobserved: the 'large' tile
 * choice (128×128 where the device's workgroup storage holds it, 64×64 where it does not), the vec4 copy kernel's
 * header, min over float32 with NaN (PyTorch's rule: NaN wins, which WGSL's own `min` does not promise), and a
 * buffer released after its backend is destroyed (destroyed at once, never pooled).
 */
import { afterAll, describe, expect, it, vi } from 'vitest';
import { chooseGemmConfig } from '../../kernels/wgsl/gemm.js';
import { renderCopy4 } from '../../kernels/wgsl/copy.js';
import type { WebGPUBackend } from '../../kernels/wgsl/index.js';
import { ex, type GemmSpec, type LoopSpec } from '../../src/lower/spec.js';
import { gpuAvailable, openBackend } from './setup.js';

const spec: GemmSpec = {
  kind: 'gemm', label: 'ik,kj->ij', dtype: 'float32', batch: [], m: 256, n: 256, k: 256,
  a: { offset: 0, batchStrides: [], rowStride: 256, colStride: 1 },
  b: { offset: 0, batchStrides: [], rowStride: 256, colStride: 1 },
  c: { offset: 0, batchStrides: [], rowStride: 256, colStride: 1 },
};

describe("the 'large' GEMM tiles", () => {
  // 128×128 tiles with BK 16 keep (128 + 128)·16 floats, 16 KiB, in workgroup storage; WebGPU guarantees 16 KiB.
  it('are 128×128 where the workgroup storage holds them, else the 64×64 ones', () => {
    expect(chooseGemmConfig(spec, 'large', { maxComputeWorkgroupStorageSize: 16384 } as never)).toMatchObject({ BM: 128, BN: 128, TM: 8, TN: 8 });
    expect(chooseGemmConfig(spec, 'large', { maxComputeWorkgroupStorageSize: 16383 } as never)).toMatchObject({ BM: 64, BN: 64, TM: 4, TN: 4 });
    expect(chooseGemmConfig(spec, 'small', { maxComputeWorkgroupStorageSize: 65536 } as never)).toMatchObject({ BM: 64, BN: 64 });
  });
});

describe('the vec4 copy kernel', () => {
  it('says in its header how it copies', () => {
    const copy: LoopSpec = {
      kind: 'loop', label: 'copy', sizes: [64], parallel: 1, reduceOp: null,
      inputs: [{ dtype: 'float32', offset: 0, strides: [1] }], output: { dtype: 'float32', offset: 0, strides: [1] },
      expr: ex.input(0), computeType: 'float32',
    };
    const lines = renderCopy4(copy, 'copy4').source.split('\n');
    expect(lines[0]).toBe('// einjit copy kernel copy4: copy');
    expect(lines[1]).toBe('// float32 copied as raw 32-bit words, one vec4 (16 bytes) per invocation; the invocation after the');
    expect(lines[2]).toBe('// last whole vec4 copies the trailing 1-3 elements one component at a time.');
  });
});

describe.skipIf(!gpuAvailable)('min and max over float32 on WebGPU', () => {
  let backend: WebGPUBackend;
  afterAll(() => { backend?.destroy(); });

  it('propagate NaN from either side', async () => {
    backend ??= await openBackend();
    const a = [Number.NaN, 1, 2, Number.NaN, -0.5];
    const b = [0, Number.NaN, 3, Number.NaN, -1];
    for (const op of ['min', 'max'] as const) {
      const map: LoopSpec = {
        kind: 'loop', label: op, sizes: [5], parallel: 1, reduceOp: null,
        inputs: [{ dtype: 'float32', offset: 0, strides: [1] }, { dtype: 'float32', offset: 0, strides: [1] }],
        output: { dtype: 'float32', offset: 0, strides: [1] },
        expr: ex.binary(op, ex.input(0), ex.input(1)), computeType: 'float32',
      };
      const ins = [backend.upload('float32', Float32Array.from(a)), backend.upload('float32', Float32Array.from(b))];
      const out = backend.allocate('float32', 5);
      backend.run(map, ins, out);
      const got = Array.from(await backend.read(out) as Float32Array);
      expect(got).toEqual(op === 'min' ? [Number.NaN, Number.NaN, 2, Number.NaN, -1] : [Number.NaN, Number.NaN, 3, Number.NaN, -0.5]);
      for (const s of [...ins, out]) backend.release(s);
    }
  });
});

describe.skipIf(!gpuAvailable)('a destroyed backend', () => {
  it('destroys a buffer released after destroy() instead of pooling it', async () => {
    const own = await openBackend();
    const s = own.upload('float32', Float32Array.from([1, 2, 3, 4]));
    own.destroy();
    const destroyBuffer = vi.spyOn(s.buffer, 'destroy');
    own.release(s);
    expect(destroyBuffer).toHaveBeenCalledTimes(1);
  });
});
