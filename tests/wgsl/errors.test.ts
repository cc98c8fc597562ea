import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EinjitError } from '../../src/errors.js';
import { WebGPUBackend } from '../../kernels/wgsl/index.js';
import { ex } from '../../src/lower/spec.js';
import type { GemmSpec, LoopSpec } from '../../src/lower/spec.js';
import { gpuAvailable, openBackend } from './setup.js';
import { rejection, thrown } from '../helpers/thrown.js';

const copy = (n: number, dtype: 'float32' | 'float64' = 'float32'): LoopSpec => ({
  kind: 'loop', label: 'copy i->i', sizes: [n], parallel: 1, reduceOp: null,
  inputs: [{ dtype, offset: 0, strides: [1] }], output: { dtype: 'float32', offset: 0, strides: [1] },
  expr: ex.input(0), computeType: 'float32',
});

describe.skipIf(!gpuAvailable)('WebGPU backend errors and buffer lifetime', () => {
  let backend: WebGPUBackend;
  beforeAll(async () => { backend = await openBackend(); });
  afterAll(() => { backend?.destroy(); });

  it('a Dawn validation error surfaces at flush as an EinjitError naming the kernel', async () => {
    const input = backend.upload('float32', new Float32Array([1, 2, 3, 4]));
    const out = backend.allocate('float32', 4);
    const name = backend.kernelSource(copy(4)).name;
    input.buffer.destroy(); // behind the backend's back: Dawn refuses the submit
    backend.run(copy(4), [input], out);
    const err = await rejection(backend.flush());
    expect(err.op).toBe(name);
    expect(err.message).toContain(name);
    expect(err.message).toMatch(/validation error/);
    // Reported once: the next flush is clean, and a good launch works again.
    await backend.flush();
    const good = backend.upload('float32', new Float32Array([5, 6, 7, 8]));
    backend.run(copy(4), [good], out);
    expect(Array.from(await backend.read(out))).toEqual([5, 6, 7, 8]);
    for (const s of [good, out]) backend.release(s);
  });

  it('the same error surfaces at the next read', async () => {
    const input = backend.upload('float32', new Float32Array(4));
    const out = backend.allocate('float32', 4);
    input.buffer.destroy();
    backend.run(copy(4), [input], out);
    const err = await rejection(backend.read(out));
    expect(err.message).toContain(backend.kernelSource(copy(4)).name);
    backend.release(out);
  });

  it('a buffer over maxStorageBufferBindingSize is refused with the limit in the message', () => {
    const elements = backend.limits.maxStorageBufferBindingSize / 4 + 1;
    const err = thrown(() => backend.allocate('float32', elements));
    expect(err.message).toContain('maxStorageBufferBindingSize');
    expect(err.hint).toBeDefined();
  });

  it('float64 is refused with a hint to cast', () => {
    const input = backend.upload('float32', new Float32Array(4));
    const out = backend.allocate('float32', 4);
    const err = thrown(() => backend.run(copy(4, 'float64'), [input], out));
    expect(err.message).toMatch(/float64/);
    expect(err.hint).toMatch(/float32/);
    const gemm: GemmSpec = {
      kind: 'gemm', label: 'ij,jk->ik', dtype: 'float64', batch: [], m: 2, n: 2, k: 1,
      a: { offset: 0, batchStrides: [], rowStride: 1, colStride: 1 }, b: { offset: 0, batchStrides: [], rowStride: 2, colStride: 1 },
      c: { offset: 0, batchStrides: [], rowStride: 2, colStride: 1 },
    };
    expect(thrown(() => backend.run(gemm, [input, input], out)).hint).toMatch(/float32/);
    expect(() => backend.allocate('float64' as never, 4)).toThrow(EinjitError);
    backend.release(input);
    backend.release(out);
  });

  it('launches that would read or write outside their buffers are refused before reaching the GPU', () => {
    const input = backend.upload('float32', new Float32Array(4));
    const out = backend.allocate('float32', 8);
    expect(thrown(() => backend.run(copy(8), [input], out)).message).toMatch(/input 0 reads elements 0\.\.7 of a buffer of 4/);
    // An input that is the output is read only where it is written (an in-place map); reversed, it is refused.
    const reversed: LoopSpec = { ...copy(4), inputs: [{ dtype: 'float32', offset: 3, strides: [-1] }] };
    expect(thrown(() => backend.run(reversed, [input], input)).message).toMatch(/output buffer is also an input/);
    const ints = backend.allocate('int32', 4);
    expect(thrown(() => backend.run(copy(4), [ints], out)).message).toMatch(/int32/);
    for (const s of [input, out, ints]) backend.release(s);
  });

  it('released buffers cannot be used, read or released again', async () => {
    const s = backend.upload('float32', new Float32Array(4));
    backend.release(s);
    expect(() => backend.release(s)).toThrow(EinjitError);
    await rejection(backend.read(s));
  });

  it('liveBytes returns to its start after 10,000 allocate/release operations', async () => {
    const start = backend.liveBytes();
    const held: ReturnType<WebGPUBackend['allocate']>[] = [];
    for (let i = 0; i < 10_000; i++) {
      const n = 1 + ((i * 37) % 500);
      if (i % 3 === 2 && held.length > 0) backend.release(held.pop()!);
      else held.push(i % 2 === 0 ? backend.allocate('float32', n) : backend.upload('int32', new Int32Array(n)));
      if (held.length > 100) backend.release(held.shift()!);
    }
    expect(backend.liveBytes()).toBeGreaterThan(start);
    for (const s of held) backend.release(s);
    expect(backend.liveBytes()).toBe(start);
    await backend.flush();
  });

  it('upload checks the host array type', () => {
    expect(thrown(() => backend.upload('int32', new Float32Array(2))).message).toMatch(/Int32Array/);
  });

  it('uploads and reads every dtype exactly', async () => {
    const cases = [
      ['float32', new Float32Array([1.5, -0, NaN, Infinity, 3e-40])],
      ['int32', new Int32Array([-2147483648, 2147483647, 0, 7])],
      ['bool', new Uint8Array([1, 0, 1])],
      ['float16', new Uint16Array([0x3c00, 0xc000, 0x7c00, 0x0001, 0x7bff])],
    ] as const;
    for (const [dtype, data] of cases) {
      const s = backend.upload(dtype, data);
      expect(await backend.read(s)).toEqual(data);
      backend.release(s);
    }
  });

  it('reports what Dawn says about WGSL that does not compile', async () => {
    const messages = await backend.compileMessages('fn main( {');
    expect(messages.some((m) => m.type === 'error')).toBe(true);
  });

  it('a destroyed backend refuses further work', async () => {
    const other = await WebGPUBackend.create();
    const s = other.allocate('float32', 4);
    other.destroy();
    expect(() => other.allocate('float32', 4)).toThrow(/destroyed/);
    await expect(other.read(s)).rejects.toThrow(EinjitError);
    other.destroy();
  });

  it('a buffer outliving its destroyed backend does not crash the process at GC or exit', async () => {
    const script = fileURLToPath(new URL('./fixtures/outlive.ts', import.meta.url));
    // Asynchronously: a test that blocks its thread while this file's device still has callbacks due was followed
    // by Dawn aborting the test process ("Promise not resolved or rejected: popErrorScope()") under Stryker.
    const run = await new Promise<{ status: number | null; signal: string | null; stdout: string }>((resolve) => {
      const child = execFile(process.execPath, ['--expose-gc', '--import', 'tsx', script], { encoding: 'utf8', timeout: 60_000 },
        (_error, stdout) => resolve({ status: child.exitCode, signal: child.signalCode, stdout }));
    });
    expect(run.signal).toBeNull();
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('outlived: 4');
  });
});
