/**
 * The vec4 copy kernel (kernels/wgsl/copy.ts): contiguous copies of every 4-byte dtype move bit-exactly, the 1-3
 * trailing elements are copied and nothing past the output's range is written; copies it cannot take (unaligned
 * offsets, strides, casts, float16) stay on the other kernels.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { WebGPUBackend } from '../../kernels/wgsl/index.js';
import { DEFAULT_LOOP_TUNING, loopVariant } from '../../kernels/wgsl/index.js';
import { buildLoop } from '../../src/lower/loops.js';
import { ex } from '../../src/lower/spec.js';
import type { DType, LoopSpec } from '../../src/lower/spec.js';
import { gpuAvailable, openBackend } from './setup.js';

const SEED = process.env['EINJIT_GPU_SEED'] === 'random' ? undefined : Number(process.env['EINJIT_GPU_SEED'] ?? 20261204);

function copySpec(dtype: DType, n: number, inOffset: number, outOffset: number, expr = ex.input(0), to: DType = dtype): LoopSpec {
  return buildLoop({
    label: 'copy', outShape: [n], inputs: [{ dtype, offset: inOffset, strides: [1] }],
    output: { dtype: to, offset: outOffset, strides: [1] }, expr, computeType: to,
  });
}

describe('vec4 copy: which copies take it', () => {
  it('aligned contiguous copies of 4-byte dtypes do; unaligned, strided, cast, float16 and short ones do not', () => {
    const v = (s: LoopSpec): string => loopVariant(s, DEFAULT_LOOP_TUNING);
    for (const d of ['float32', 'int32', 'bool'] as const) expect(v(copySpec(d, 1001, 4, 8))).toBe('copy4');
    expect(v(copySpec('float32', 1001, 3, 8))).not.toBe('copy4');
    expect(v(copySpec('float32', 1001, 4, 6))).not.toBe('copy4');
    expect(v(copySpec('float32', 3, 0, 0))).not.toBe('copy4');
    expect(v(copySpec('float16', 1001, 0, 0))).not.toBe('copy4');
    expect(v(copySpec('float32', 1001, 0, 0, ex.cast('int32', ex.input(0)), 'int32'))).not.toBe('copy4');
    const strided = buildLoop({
      label: 'strided', outShape: [100], inputs: [{ dtype: 'float32', offset: 0, strides: [2] }],
      output: { dtype: 'float32', offset: 0, strides: [1] }, expr: ex.input(0), computeType: 'float32',
    });
    expect(v(strided)).not.toBe('copy4');
    expect(loopVariant(copySpec('float32', 1001, 4, 8), { ...DEFAULT_LOOP_TUNING, vec4Copy: false })).toBe('thread');
  });
});

describe.skipIf(!gpuAvailable)('vec4 copy on the device', () => {
  let backend: WebGPUBackend;
  beforeAll(async () => { backend = await openBackend(); });
  afterAll(() => { backend?.destroy(); });

  it('random lengths, offsets and 4-byte dtypes copy bit-exactly and write nothing else', { timeout: 120_000 }, async () => {
    await fc.assert(fc.asyncProperty(
      fc.constantFrom('float32', 'int32', 'bool'), fc.integer({ min: 4, max: 3000 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }),
      fc.integer({ min: 0, max: 9 }), fc.integer(),
      async (dtype, n, inOff4, outOff4, tail, seed) => {
        const [inOffset, outOffset] = [inOff4 * 4, outOff4 * 4];
        const spec = copySpec(dtype, n, inOffset, outOffset);
        expect(backend.kernelSource(spec).name).toMatch(/^copy_/);
        let s = seed >>> 0 || 1;
        const next = (): number => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s; };
        const inLength = inOffset + n + tail;
        const outLength = outOffset + n + tail;
        let input: Float32Array | Int32Array | Uint8Array;
        let poison: Float32Array | Int32Array | Uint8Array;
        if (dtype === 'float32') {
          // Any bit pattern: NaN payloads, -0, infinities, subnormals.
          input = new Float32Array(Int32Array.from({ length: inLength }, next).buffer);
          poison = new Float32Array(outLength).fill(7.25);
        } else if (dtype === 'int32') {
          input = Int32Array.from({ length: inLength }, next);
          poison = new Int32Array(outLength).fill(-77);
        } else {
          input = Uint8Array.from({ length: inLength }, () => next() & 1);
          poison = new Uint8Array(outLength).fill(1);
        }
        const src = backend.upload(dtype, input);
        const dst = backend.upload(dtype, poison);
        try {
          backend.run(spec, [src], dst);
          const got = await backend.read(dst);
          const bits = (a: ArrayLike<number> & { buffer: ArrayBufferLike; byteOffset: number; length: number }, i: number): number =>
            dtype === 'float32' ? new Int32Array(a.buffer, a.byteOffset, a.length)[i]! : a[i]!;
          for (let i = 0; i < outLength; i++) {
            const want = i >= outOffset && i < outOffset + n ? bits(input, i - outOffset + inOffset) : bits(poison, i);
            if (bits(got, i) !== want) throw new Error(`${dtype} n=${n} offsets ${inOffset}/${outOffset}: element ${i} is ${bits(got, i)}, want ${want}`);
          }
        } finally {
          backend.release(src);
          backend.release(dst);
        }
      }), { seed: SEED, numRuns: 25 });
  });
});
