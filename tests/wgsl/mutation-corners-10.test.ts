/**
 * WGSL corners that a fresh mutation sample (seed 20261220) found unobserved:
 * - a kernel with a row maximum (softmax's first pass) loops over the row plainly: only a float32 sum is
 *   blocked (blocks of SUM_BLOCK points with their own accumulator), and the values are right on a device;
 * - an explicit GEMM tile shape whose BM/TM or BN/TN is not an integer is refused for that reason, and every
 *   shape the device benchmark sweeps is a whole shape that fits the device it was chosen for;
 * - the params uniform is padded to 16 bytes, no more;
 * - the webgpu backend names its device (jit's tracing stands in for each backend under that name), and refuses a
 *   float64 allocation naming `allocate`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebGPUBackend } from '../../kernels/wgsl/index.js';
import { GEMM_SWEEP_SHAPES, chooseGemmConfig } from '../../kernels/wgsl/gemm.js';
import { DEFAULT_LOOP_TUNING, loopKernel } from '../../kernels/wgsl/loop.js';
import { ParamsLayout } from '../../kernels/wgsl/params.js';
import { ex, type GemmSpec, type LoopSpec } from '../../src/lower/spec.js';
import { tensor } from '../../src/index.js';
import { getBackend } from '../../src/runtime/backend.js';
import { DEVICES } from '../helpers/devices.js';
import { thrown } from '../helpers/thrown.js';
import { gpuAvailable, openBackend, readNumbers } from './setup.js';

const H200 = { maxComputeWorkgroupStorageSize: 49152, maxComputeInvocationsPerWorkgroup: 1024 };

/** x - max_j x over rows of `width` (a row value folded by max, then read point for point). */
function minusRowMax(rows: number, width: number): LoopSpec {
  return {
    kind: 'loop', label: 'x - max_j x', sizes: [rows, width], parallel: 2, reduceOp: null,
    inputs: [{ dtype: 'float32', offset: 0, strides: [width, 1] }],
    output: { dtype: 'float32', offset: 0, strides: [width, 1] }, computeType: 'float32',
    expr: ex.binary('sub', ex.input(0), ex.input(1)),
    rows: { outer: 1, values: [{ op: 'max', expr: ex.input(0) }] },
  };
}

describe('a row maximum in WGSL', () => {
  it('loops over the row without blocks (only a float32 sum is blocked)', () => {
    const source = loopKernel(minusRowMax(3, 300), DEFAULT_LOOP_TUNING, false).render().source;
    expect(source).toContain('max over loops 1..1');
    expect(source).not.toContain('_block');
    const sum: LoopSpec = { ...minusRowMax(3, 300), rows: { outer: 1, values: [{ op: 'sum', expr: ex.input(0) }] } };
    expect(loopKernel(sum, DEFAULT_LOOP_TUNING, false).render().source).toContain('_block');
  });

  describe.skipIf(!gpuAvailable)('on a device', () => {
    let backend: WebGPUBackend;
    beforeAll(async () => { backend = await openBackend(); });
    afterAll(() => { backend?.destroy(); });

    it('gives x - max over rows of 1, 7 and 300 points', async () => {
      for (const width of [1, 7, 300]) {
        const rows = 5;
        const x = Float32Array.from({ length: rows * width }, (_, i) => Math.fround(Math.sin(i * 1.7) * 40 - (i % 11)));
        const input = backend.upload('float32', x);
        const out = backend.upload('float32', new Float32Array(rows * width).fill(-9));
        backend.run(minusRowMax(rows, width), [input], out);
        const got = await readNumbers(backend, out);
        for (let r = 0; r < rows; r++) {
          const row = Array.from(x.subarray(r * width, (r + 1) * width));
          const max = Math.max(...row);
          row.forEach((v, j) => expect(got[r * width + j], `width ${width}, row ${r}`).toBe(Math.fround(v - max)));
        }
      }
    });
  });
});

describe('GEMM tile shapes', () => {
  const spec: GemmSpec = {
    kind: 'gemm', label: 'tiles', dtype: 'float32', batch: [], m: 64, n: 64, k: 64,
    a: { offset: 0, batchStrides: [], rowStride: 64, colStride: 1 },
    b: { offset: 0, batchStrides: [], rowStride: 64, colStride: 1 },
    c: { offset: 0, batchStrides: [], rowStride: 64, colStride: 1 },
  };

  it('refuses a shape whose BM/TM or BN/TN is not an integer, saying so', () => {
    for (const shape of [{ BM: 64, BN: 64, BK: 16, TM: 3, TN: 4 }, { BM: 64, BN: 64, BK: 16, TM: 4, TN: 3 }]) {
      const e = thrown(() => chooseGemmConfig(spec, shape, H200));
      expect(e.reason, JSON.stringify(shape)).toContain('BM/TM and BN/TN must be integers');
      expect(e.op).toBe('gemm');
    }
    // Whole ratios pass.
    expect(chooseGemmConfig(spec, { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4 }, H200)).toMatchObject({ BM: 64, BN: 64, TM: 4, TN: 4 });
  });

  it('that the device benchmark sweeps are whole, distinct and fit an H200', () => {
    const keys = new Set<string>();
    for (const shape of GEMM_SWEEP_SHAPES) {
      for (const f of ['BM', 'BN', 'BK', 'TM', 'TN'] as const) expect(Number.isInteger(shape[f]), `${JSON.stringify(shape)}.${f}`).toBe(true);
      const { BM, BN, BK, TM, TN } = shape;
      expect(chooseGemmConfig(spec, shape, H200)).toMatchObject({ BM, BN, BK, TM, TN });
      keys.add(JSON.stringify(shape));
    }
    expect(keys.size).toBe(GEMM_SWEEP_SHAPES.length);
  });
});

describe('the params uniform', () => {
  it('is padded to a multiple of 16 bytes (at least 16), no more', () => {
    for (const [fields, words] of [[0, 4], [1, 4], [4, 4], [5, 8], [8, 8], [9, 12], [17, 20]] as const) {
      const layout = new ParamsLayout();
      const values = new Map<string, number>();
      for (let i = 0; i < fields; i++) {
        layout.field(`f${i}`);
        values.set(`f${i}`, i + 1);
      }
      const packed = layout.pack(values);
      expect(packed.length, `${fields} fields`).toBe(words);
      expect(Array.from(packed)).toEqual([...Array.from({ length: fields }, (_, i) => i + 1), ...new Array(words - fields).fill(0)]);
    }
  });
});

describe.skipIf(!DEVICES.includes('webgpu'))('the webgpu backend', () => {
  it('names its device, and refuses a float64 allocation naming allocate', async () => {
    await tensor([1], { device: 'webgpu' }).data();
    const backend = getBackend('webgpu', 'test');
    expect(backend.device).toBe('webgpu');
    for (const allocate of [() => backend.allocate('float64', 4), () => backend.allocateZeroed('float64', 4)]) {
      const e = thrown(allocate);
      expect(e.op).toBe('allocate');
      expect(e.reason).toContain('float64 tensors cannot live on the webgpu device');
    }
  });
});
