/**
 * The tiled transpose kernel (kernels/wgsl/transpose.ts): random permutations of random shapes (rank ≤ 5,
 * ragged and unit extents, offsets, padded layouts) in every dtype, each result exactly equal to the
 * reference interpreter, output buffers poisoned so an element the kernel skips shows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GpuDType, WebGPUBackend } from '../../kernels/wgsl/index.js';
import { DEFAULT_LOOP_TUNING, loopVariant } from '../../kernels/wgsl/index.js';
import { transposeDims } from '../../kernels/wgsl/transpose.js';
import { buildLoop } from '../../src/lower/loops.js';
import { ex } from '../../src/lower/spec.js';
import type { LoopSpec } from '../../src/lower/spec.js';
import { cast, copy, randomPermuteCase, rng, poisoned, values, type Conversion, type PermuteCase, type Pick } from '../helpers/permute-cases.js';
import { referenceLoop } from './reference.js';
import { gpuAvailable, hostArray, openBackend, readNumbers } from './setup.js';

type Case = PermuteCase;
// Casts to int32 and bool see finite values only: how NaN, infinities and out-of-range values convert is the
// shared expression code's business (WGSL leaves them to the implementation), not the transpose's.
const randomCase = (pick: Pick, conv: Conversion, rank: number, maxExtent: number): Case =>
  randomPermuteCase(pick, conv, rank, maxExtent, 40000, conv.to === 'int32' || conv.to === 'bool');

async function check(backend: WebGPUBackend, c: Case): Promise<void> {
  const outDType = c.spec.output.dtype as GpuDType;
  const inDType = c.spec.inputs[0]!.dtype as GpuDType;
  const sentinel = outDType === 'bool' ? 1 : 42;
  const reference = referenceLoop(c.spec, [c.input], new Array<number>(c.outLength).fill(sentinel));
  const poison = poisoned(reference.out, reference.written, outDType);
  const input = backend.upload(inDType, hostArray(inDType, c.input));
  const out = backend.upload(outDType, hostArray(outDType, poison));
  try {
    backend.run(c.spec, [input], out);
    const got = await readNumbers(backend, out);
    const bad: string[] = [];
    got.forEach((g, i) => {
      const want = reference.out[i]!;
      // Floats compare by value and sign of zero; int32 and bool outputs have no -0.
      const ok = Number.isNaN(want) ? Number.isNaN(g) : outDType === 'float32' || outDType === 'float16' ? Object.is(g, want) : g === want;
      if (!ok && bad.length < 5) bad.push(`[${i}] got ${g}, want ${want}`);
    });
    if (bad.length > 0) throw new Error(`${bad.join('; ')}\n${JSON.stringify(c.spec)}\n${backend.kernelSource(c.spec).source}`);
  } finally {
    backend.release(input);
    backend.release(out);
  }
}

describe.skipIf(!gpuAvailable)('WGSL tiled transpose', () => {
  let backend: WebGPUBackend;
  beforeAll(async () => {
    backend = await openBackend();
    backend.tuning.transposeMinExtent = 1;
  });
  afterAll(() => backend?.destroy());

  it('picks the transpose kernel only for transposing copies', () => {
    const t = { ...DEFAULT_LOOP_TUNING, transposeMinExtent: 1 };
    const permute = buildLoop({
      label: 'b c h w -> b h w c', outShape: [2, 5, 6, 3],
      inputs: [{ dtype: 'float32', offset: 0, strides: [90, 6, 1, 30] }],
      output: { dtype: 'float32', offset: 0, strides: [90, 18, 3, 1] }, expr: ex.input(0), computeType: 'float32',
    });
    expect(transposeDims(permute)).toEqual({ a: 1, b: 2 });
    expect(loopVariant(permute, t)).toBe('transpose32');
    expect(loopVariant(permute, { ...t, transposeTile: 0 })).toBe('thread');
    expect(loopVariant(permute, DEFAULT_LOOP_TUNING)).toBe('thread'); // c = 3 is too short to tile by default
    const contiguous = buildLoop({
      label: 'copy', outShape: [4, 5], inputs: [{ dtype: 'float32', offset: 0, strides: [5, 1] }],
      output: { dtype: 'float32', offset: 0, strides: [5, 1] }, expr: ex.input(0), computeType: 'float32',
    });
    // A contiguous copy is not a transpose: the vec4 copy takes it, or the thread kernel without it.
    expect(loopVariant(contiguous, t)).toBe('copy4');
    expect(loopVariant(contiguous, { ...t, vec4Copy: false })).toBe('thread');
    const scaled = { ...permute, expr: ex.binary('mul', ex.input(0), ex.const(2)) };
    expect(loopVariant(scaled, t)).toBe('thread');
  });

  // Few ranks and dtypes on purpose: each (rank, tiled loops, dtype) is a pipeline lavapipe compiles.
  const conversions: readonly Conversion[] = [
    copy('float32'), copy('int32'), copy('bool'), copy('float16'),
    cast('float32', 'int32'), cast('int32', 'float32'), cast('float16', 'float32'), cast('float32', 'float16'), cast('float32', 'bool'),
  ];
  for (const conv of conversions) {
    it(`${conv.from} -> ${conv.to}: random permutations, ragged and unit extents, offsets`, async () => {
      const pick = rng(0x5eed + conversions.indexOf(conv));
      let tiled = 0;
      const runs = conv.from === 'float32' && conv.to === 'float32' ? 24 : 5;
      for (let r = 0; r < runs; r++) {
        const c = randomCase(pick, conv, pick(2, 5), r % 3 === 0 ? 70 : 9);
        if (loopVariant(c.spec, backend.tuning).startsWith('transpose')) tiled++;
        await check(backend, c);
      }
      expect(tiled).toBeGreaterThan(0);
    }, 120_000);
  }

  it('64x64 tiles, and a permute larger than one grid row of tiles', async () => {
    backend.tuning.transposeTile = 64;
    try {
      const pick = rng(77);
      await check(backend, randomCase(pick, copy('float32'), 3, 150));
      // 2 × 300 × 3 × 70: tiles plus folded loops, ragged on both tiled loops.
      const shape = [2, 300, 3, 70];
      const spec = buildLoop({
        label: 'b c h w -> b h w c', outShape: [2, 3, 70, 300],
        inputs: [{ dtype: 'float32', offset: 3, strides: [300 * 210, 70, 1, 210] }],
        output: { dtype: 'float32', offset: 1, strides: [63000, 21000, 300, 1] }, expr: ex.input(0), computeType: 'float32',
      });
      expect(loopVariant(spec, backend.tuning)).toBe('transpose64');
      await check(backend, { spec, input: values(pick, 'float32', 3 + shape.reduce((a, b) => a * b, 1)), outLength: 1 + 126000 });
    } finally {
      backend.tuning.transposeTile = DEFAULT_LOOP_TUNING.transposeTile;
    }
  }, 120_000);

  it('a capped grid: each workgroup moves every cap-th tile, all tiles moved once', async () => {
    for (const cap of [1, 3, 7]) {
      backend.tuning.transposeGridCap = cap;
      try {
        const pick = rng(900 + cap);
        let tiled = 0;
        for (let r = 0; r < 4; r++) {
          const c = randomCase(pick, copy('float32'), pick(2, 4), 70);
          if (loopVariant(c.spec, backend.tuning).startsWith('transpose')) tiled++;
          await check(backend, c);
        }
        expect(tiled).toBeGreaterThan(0);
      } finally {
        backend.tuning.transposeGridCap = 0;
      }
    }
  }, 120_000);
});
