/**
 * WGSL corners a fresh mutation sample (seed 20261223) found unpinned: a loop with further stores (`also`) or
 * row values (`rows`) always takes the thread nest, the only variant that renders them, even where its main
 * expression is a plain copy; a kernel's cache key says how float16 is stored; the backend refuses a storage
 * that is not one of its buffers as such, names the host array float16 uploads take, and poisons a float32
 * allocation with the value asked for.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebGPUBackend } from '../../kernels/wgsl/index.js';
import { DEFAULT_LOOP_TUNING, loopKernel, loopVariant } from '../../kernels/wgsl/loop.js';
import { ex, type LoopSpec } from '../../src/lower/spec.js';
import { thrown } from '../helpers/thrown.js';
import { gpuAvailable, openBackend, readNumbers } from './setup.js';

// A contiguous copy of 64 elements: the vec4 copy's case, unless something else must be rendered.
const copy: LoopSpec = {
  kind: 'loop', label: 'copy', sizes: [64], parallel: 1, reduceOp: null,
  inputs: [{ dtype: 'float32', offset: 0, strides: [1] }],
  output: { dtype: 'float32', offset: 0, strides: [1] }, expr: ex.input(0), computeType: 'float32',
};

describe('WGSL loop variants and keys', () => {
  it('take the thread nest for a loop with further stores or row values', () => {
    expect(loopVariant(copy, DEFAULT_LOOP_TUNING)).toBe('copy4');
    expect(loopVariant({ ...copy, also: [{ input: 0, expr: ex.binary('add', ex.input(0), ex.const(1)) }] }, DEFAULT_LOOP_TUNING)).toBe('thread');
    expect(loopVariant({ ...copy, rows: { outer: 1, values: [{ op: 'max', expr: ex.input(0) }] } }, DEFAULT_LOOP_TUNING)).toBe('thread');
  });

  it('key a kernel that touches float16 by how float16 is stored, and no other', () => {
    const half: LoopSpec = { ...copy, inputs: [{ dtype: 'float16', offset: 0, strides: [1] }], output: { dtype: 'float16', offset: 0, strides: [1] }, computeType: 'float16' };
    expect(loopKernel(half, DEFAULT_LOOP_TUNING, true).key).toMatch(/\|f16$/);
    expect(loopKernel(half, DEFAULT_LOOP_TUNING, false).key).toMatch(/\|f16-as-f32$/);
    // Touching float16 in one place is enough: an input, the output, or the compute type.
    const inOnly: LoopSpec = { ...copy, inputs: [{ dtype: 'float16', offset: 0, strides: [1] }] };
    const outOnly: LoopSpec = { ...copy, output: { dtype: 'float16', offset: 0, strides: [1] } };
    const computeOnly: LoopSpec = { ...copy, computeType: 'float16' };
    for (const spec of [inOnly, outOnly, computeOnly]) expect(loopKernel(spec, DEFAULT_LOOP_TUNING, true).key).toMatch(/\|f16$/);
    expect(loopKernel(copy, DEFAULT_LOOP_TUNING, true).key).not.toContain('f16');
  });
});

describe.skipIf(!gpuAvailable)('the webgpu backend', () => {
  let backend: WebGPUBackend;
  beforeAll(async () => { backend = await openBackend(); });
  afterAll(() => { backend?.destroy(); });

  it('refuses a storage that is not one of its buffers, and names the host array float16 takes', () => {
    const out = backend.allocate('float32', 4);
    const notOurs = { dtype: 'float32', length: 4 } as never;
    const e = thrown(() => backend.run({ ...copy, sizes: [4] }, [notOurs], out));
    expect(e.reason).toBe('not a buffer of this backend');
    const upload = thrown(() => backend.upload('float16', new Float32Array(2) as never));
    expect(upload.reason).toBe('upload of float16 expects a Uint16Array, got Float32Array');
    backend.release(out);
  });

  it('poisons a float32 allocation with the value asked for', async () => {
    backend.setPoison(-7.5);
    try {
      const x = backend.allocate('float32', 5);
      expect(await readNumbers(backend, x)).toEqual([-7.5, -7.5, -7.5, -7.5, -7.5]);
      backend.release(x);
    } finally {
      backend.setPoison(null);
    }
  });
});
