/**
 * Scalar constants are params fields of a WGSL loop kernel, like shapes: `x.mul(c)` for any number of distinct c
 * uses one pipeline, the pipeline cache is a bounded LRU, and the values arrive exactly (f32 bits for float
 * compute, i32 for integer compute).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebGPUBackend } from '../../kernels/wgsl/index.js';
import { PIPELINE_CACHE_CAPACITY } from '../../kernels/wgsl/backend.js';
import { buildLoop } from '../../src/lower/loops.js';
import { ex } from '../../src/lower/spec.js';
import type { Expr, LoopSpec, UnaryOp } from '../../src/lower/spec.js';
import { tensor } from '../../src/index.js';
import { getBackend } from '../../src/runtime/backend.js';
import { webgpuDeviceOf } from '../../kernels/wgsl/webgpu.js';
import { DEVICES } from '../helpers/devices.js';
import { gpuAvailable, openBackend, readNumbers } from './setup.js';

function runtimeGpu(): WebGPUBackend {
  return webgpuDeviceOf(getBackend('webgpu', 'test'));
}

describe.skipIf(!DEVICES.includes('webgpu'))('scalar constants on webgpu tensors', () => {
  it('x.mul(1 + i·1e-7) for 1,000 distinct constants keeps the pipeline count constant', async () => {
    const values = Float32Array.from({ length: 64 }, (_, i) => i - 20.25);
    const x = tensor(values, { device: 'webgpu' });
    await x.mul(1).data();
    const gpu = runtimeGpu();
    const pipelines = gpu.pipelineCount();
    const checks: [number, Promise<ArrayLike<number>>][] = [];
    for (let i = 0; i < 1000; i++) {
      const c = 1 + i * 1e-7;
      const y = x.mul(c);
      if (i % 97 === 0) checks.push([c, y.data() as Promise<ArrayLike<number>>]);
    }
    for (const [c, pending] of checks) {
      const got = await pending;
      // WGSL's f32 multiply is correctly rounded: the product of the two float32 values, rounded once.
      values.forEach((v, k) => expect(got[k]).toBe(Math.fround(v * Math.fround(c))));
    }
    expect(gpu.pipelineCount()).toBe(pipelines);
  }, 120_000);

  it('keeps integer constants exact in int32 ops', async () => {
    const n = tensor(Int32Array.from([2_000_000_000, -5, 123_456_789]), { dtype: 'int32', device: 'webgpu' });
    expect(Array.from(await n.add(147_483_647).data())).toEqual([2_147_483_647, 147_483_642, 270_940_436]);
    expect(Array.from(await n.mul(3).data())).toEqual([Math.imul(2_000_000_000, 3), -15, Math.imul(123_456_789, 3)]);
    expect(Array.from(await n.sub(-16_777_217).data())).toEqual([2_000_000_000 + 16_777_217, 16_777_212, 123_456_789 + 16_777_217]);
  });
});

describe.skipIf(!gpuAvailable)('WGSL pipeline cache', () => {
  let backend: WebGPUBackend;
  beforeAll(async () => { backend = await openBackend(); });
  afterAll(() => { backend?.destroy(); });

  const OPS: readonly UnaryOp[] = ['neg', 'abs', 'square'];
  // Distinct structures: chains of unary ops spelling i in base 3.
  const chain = (i: number): Expr => {
    let e: Expr = ex.input(0);
    for (let d = 0; d < 7; d++, i = Math.floor(i / 3)) e = ex.unary(OPS[i % 3]!, e);
    return e;
  };
  const map = (expr: Expr): LoopSpec => buildLoop({
    label: 'chain', outShape: [4], inputs: [{ dtype: 'float32', offset: 0, strides: [1] }],
    output: { dtype: 'float32', offset: 0, strides: [1] }, expr, computeType: 'float32',
  });

  it('holds at most pipelineCapacity pipelines, evicting the least recently used', async () => {
    expect(backend.pipelineCapacity).toBe(PIPELINE_CACHE_CAPACITY);
    // A small capacity keeps the test short (each pipeline is a shader compile); the default is exercised the same way.
    const capacity = 24;
    backend.pipelineCapacity = capacity;
    const input = backend.upload('float32', Float32Array.from([-1.5, 0.5, 2, -3]));
    const out = backend.allocate('float32', 4);
    for (let i = 0; i < capacity + 20; i++) {
      backend.run(map(chain(i)), [input], out);
      expect(backend.pipelineCount()).toBeLessThanOrEqual(capacity);
    }
    expect(backend.pipelineCount()).toBe(capacity);
    // chain(0) was evicted; running it again compiles it anew and computes the right values.
    backend.run(map(chain(0)), [input], out);
    const e = (x: number): number => Math.fround(-Math.fround(-Math.fround(-Math.fround(-Math.fround(-Math.fround(-Math.fround(-x)))))));
    expect(await readNumbers(backend, out)).toEqual([-1.5, 0.5, 2, -3].map(e));
    await backend.flush();
    backend.release(input);
    backend.release(out);
    backend.pipelineCapacity = 8;
    expect(backend.pipelineCount()).toBe(8);
    expect(() => { backend.pipelineCapacity = 0; }).toThrow(/positive integer/);
    backend.pipelineCapacity = PIPELINE_CACHE_CAPACITY;
  }, 120_000);
});
