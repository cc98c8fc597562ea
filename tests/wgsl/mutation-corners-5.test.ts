/**
 * Corners of the WGSL generator and backend that a fresh mutation sample (seed 20261212) found unobserved: which
 * copies the vec4 kernel refuses (a cast, a compute type other than the stored one, float16 and float64 storage),
 * the message that refuses float64 on the GPU, the check that an expression reads only inputs the spec has (at
 * the first index past them, and past the row values), and the pipeline cache's capacity of 1.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { isVec4Copy } from '../../kernels/wgsl/copy.js';
import { gpuDType } from '../../kernels/wgsl/dtypes.js';
import { DEFAULT_LOOP_TUNING, loopKernel, type WebGPUBackend } from '../../kernels/wgsl/index.js';
import { ex, type DType, type LoopSpec } from '../../src/lower/spec.js';
import { thrown } from '../helpers/thrown.js';
import { gpuAvailable, openBackend } from './setup.js';

/** A contiguous 1-D copy of 16 elements from `from` storage to `to` storage, computed in `compute`. */
function copy(from: DType, to: DType, compute: DType = to): LoopSpec {
  return {
    kind: 'loop', label: 'copy', sizes: [16], parallel: 1, reduceOp: null,
    inputs: [{ dtype: from, offset: 0, strides: [1] }], output: { dtype: to, offset: 0, strides: [1] },
    expr: ex.input(0), computeType: compute,
  } as LoopSpec;
}

describe('the vec4 copy kernel moves words unchanged, so it refuses', () => {
  it('takes a float32 and an int32 copy (the control)', () => {
    expect(isVec4Copy(copy('float32', 'float32'))).toBe(true);
    expect(isVec4Copy(copy('int32', 'int32'))).toBe(true);
  });

  it('a cast between storage types', () => {
    expect(isVec4Copy(copy('int32', 'float32'))).toBe(false);
    expect(isVec4Copy(copy('float32', 'int32'))).toBe(false);
  });

  it('a compute type other than the stored one (the copy converts each element twice)', () => {
    expect(isVec4Copy(copy('float32', 'float32', 'int32'))).toBe(false);
  });

  it('float16 storage (two elements per word) and float64', () => {
    expect(isVec4Copy(copy('float16', 'float16'))).toBe(false);
    expect(isVec4Copy(copy('float64', 'float64'))).toBe(false);
  });
});

describe('float64 on the GPU', () => {
  it('is refused with the reason and the fix', () => {
    const e = thrown(() => gpuDType('float64', 'upload'));
    expect(e.message).toMatch(/float64 tensors cannot live on the webgpu device: WGSL has no 64-bit floats/);
    expect(e.hint).toMatch(/cast\('float32'\)/);
    expect(gpuDType('float32', 'upload')).toBe('float32');
  });
});

describe('a loop spec whose expression reads past its inputs', () => {
  const spec = (reads: number, rows: boolean): LoopSpec => ({
    kind: 'loop', label: 'bad', sizes: [4, 3], parallel: rows ? 2 : 1, reduceOp: rows ? null : 'sum',
    inputs: [{ dtype: 'float32', offset: 0, strides: [3, 1] }], output: { dtype: 'float32', offset: 0, strides: rows ? [3, 1] : [1, 0] },
    expr: ex.binary('add', ex.input(0), ex.input(reads)), computeType: 'float32',
    ...(rows ? { rows: { outer: 1, values: [{ op: 'sum' as const, expr: ex.input(0) }] } } : {}),
  });

  it('reads input 1 of a spec with one input: refused, naming both', () => {
    const e = thrown(() => loopKernel(spec(1, false), DEFAULT_LOOP_TUNING, false).render());
    expect(e.message).toMatch(/: expression reads input 1 but the spec has 1$/);
  });

  it('with one row value, input 1 is that value and input 2 is past it', () => {
    expect(() => loopKernel(spec(1, true), DEFAULT_LOOP_TUNING, false).render()).not.toThrow();
    const e = thrown(() => loopKernel(spec(2, true), DEFAULT_LOOP_TUNING, false).render());
    expect(e.message).toMatch(/: expression reads input 2 but the spec has 1 and 1 row values$/);
  });
});

describe.skipIf(!gpuAvailable)('the pipeline cache', () => {
  let backend: WebGPUBackend;
  afterAll(() => { backend?.destroy(); });

  it('may hold a single pipeline; fewer, or a fraction, is refused naming the setting', async () => {
    backend ??= await openBackend();
    backend.pipelineCapacity = 1;
    expect(backend.pipelineCapacity).toBe(1);
    for (const bad of [0, 1.5, -1]) {
      const e = thrown(() => { backend.pipelineCapacity = bad; });
      expect(e.message).toBe(`pipelineCapacity: pipelineCapacity must be a positive integer, got ${bad}`);
      expect(e.op).toBe('pipelineCapacity');
    }
    expect(backend.pipelineCapacity).toBe(1);
  });
});
