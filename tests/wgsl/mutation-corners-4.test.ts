/**
 * Corners of the WGSL backend that a second fresh mutation sample (seed 20261211) found unobserved: a constant 0
 * under bool compute (it travels as a parameter and must stay 0), row values of single points folded by a
 * blocked sum, the op named when a buffer is read after release or a GEMM gets the wrong operands, and an index
 * check on the device that must fail the next read (not pass it with garbage). Expected values are worked out
 * from the arguments.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { WebGPUBackend } from '../../kernels/wgsl/index.js';
import { ex, type GemmSpec, type LoopSpec } from '../../src/lower/spec.js';
import { tensor } from '../../src/index.js';
import { DEVICES } from '../helpers/devices.js';
import { thrown } from '../helpers/thrown.js';
import { gpuAvailable, openBackend } from './setup.js';

describe.skipIf(!gpuAvailable)('WebGPU corners', () => {
  let backend: WebGPUBackend;
  afterAll(() => { backend?.destroy(); });

  it('a constant 0 under bool compute stays 0: x or 0 is x, x and 1 is x', async () => {
    backend ??= await openBackend();
    const x = [1, 0, 1, 1, 0];
    for (const [op, c] of [['or', 0], ['and', 1], ['xor', 0]] as const) {
      const map: LoopSpec = {
        kind: 'loop', label: op, sizes: [x.length], parallel: 1, reduceOp: null,
        inputs: [{ dtype: 'bool', offset: 0, strides: [1] }], output: { dtype: 'bool', offset: 0, strides: [1] },
        expr: ex.binary(op, ex.input(0), ex.const(c)), computeType: 'bool',
      };
      const sx = backend.upload('bool', Uint8Array.from(x));
      const out = backend.allocate('bool', x.length);
      backend.run(map, [sx], out);
      expect(Array.from((await backend.read(out)) as Uint8Array), `${op} ${c}`).toEqual(x);
      backend.release(sx);
      backend.release(out);
    }
  });

  it('row values over rows of one point, folded by a float32 sum in blocks, are the points', async () => {
    backend ??= await openBackend();
    // out[i] = x[i] + (sum over the row of one point: x[i]) = 2·x[i].
    const x = [0.5, -1.25, 3, 8];
    const spec: LoopSpec = {
      kind: 'loop', label: 'rows of one point', sizes: [x.length], parallel: 1, reduceOp: null,
      inputs: [{ dtype: 'float32', offset: 0, strides: [1] }], output: { dtype: 'float32', offset: 0, strides: [1] },
      expr: ex.binary('add', ex.input(0), ex.input(1)), computeType: 'float32',
      rows: { outer: 1, values: [{ op: 'sum', expr: ex.input(0) }] },
    };
    const sx = backend.upload('float32', Float32Array.from(x));
    const out = backend.allocate('float32', x.length);
    backend.run(spec, [sx], out);
    expect(Array.from((await backend.read(out)) as Float32Array)).toEqual(x.map((v) => 2 * v));
    backend.release(sx);
    backend.release(out);
  });

  it('reading a released buffer names read; a GEMM given one operand names its kernel', async () => {
    backend ??= await openBackend();
    const s = backend.upload('float32', Float32Array.of(1, 2));
    backend.release(s);
    const err = await backend.read(s).then(() => null, (e: unknown) => e);
    expect(err).toMatchObject({ op: 'read', reason: 'use of a released buffer' });
    const access = { offset: 0, batchStrides: [], rowStride: 2, colStride: 1 };
    const gemm: GemmSpec = { kind: 'gemm', label: 'ik,kj->ij', dtype: 'float32', batch: [], m: 2, n: 2, k: 2, a: access, b: access, c: access };
    const a = backend.upload('float32', Float32Array.of(1, 2, 3, 4));
    const c = backend.allocate('float32', 4);
    const refused = thrown(() => backend.run(gemm, [a], c));
    expect(refused.reason).toBe('a GEMM takes 2 inputs, got 1');
    expect(refused.op).toBe(backend.kernelName(gemm));
    backend.release(a);
    backend.release(c);
  });
});

describe.skipIf(!DEVICES.includes('webgpu'))('index checks on the device', () => {
  it('a gather index out of range fails the next read of the result', async () => {
    const x = tensor([1, 2, 3], { device: 'webgpu' });
    const y = x.gather(0, tensor([0, 7], { dtype: 'int32', device: 'webgpu' }));
    await expect(y.data()).rejects.toThrow(/index 7 is out of range|out of range/);
  });
});
