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
import type { DType, Expr, LoopSpec } from '../../src/lower/spec.js';
import { referenceLoop } from './reference.js';
import { gpuAvailable, hostArray, openBackend, readNumbers } from './setup.js';

/** A small seeded generator (mulberry32): the cases, and so the compiled kernels, are the same every run. */
function rng(seed: number): (min: number, max: number) => number {
  let s = seed >>> 0;
  return (min, max) => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
    return min + Math.floor(u * (max - min + 1));
  };
}
type Pick = ReturnType<typeof rng>;

interface Conversion {
  readonly from: GpuDType;
  readonly to: GpuDType;
  readonly expr: Expr;
  readonly computeType: DType;
}

const copy = (d: GpuDType): Conversion => ({ from: d, to: d, expr: ex.input(0), computeType: d === 'float16' ? 'float32' : d });
const cast = (from: GpuDType, to: GpuDType): Conversion =>
  ({ from, to, expr: ex.cast(to, ex.input(0)), computeType: to === 'float16' ? 'float32' : to });

/** Values of the dtype; `finite` keeps floats finite and within int32 (for casts to int32). */
function values(pick: Pick, dtype: GpuDType, n: number, finite = false): number[] {
  const special = finite ? [0, -0, 1, -1, 0.5, -2.75, 65504, 2 ** -24, 1e9, -1e9] : [0, -0, 1, -1, 0.5, -2.75, 65504, 2 ** -24, NaN, Infinity, -Infinity];
  return Array.from({ length: n }, () => {
    switch (dtype) {
      case 'bool': return pick(0, 1);
      case 'int32': return pick(0, 7) === 0 ? choose(pick, [2147483647, -2147483648, 0, -1]) : pick(-100000, 100000);
      // Multiples of 1/16 below 128 are exact in float16.
      case 'float16': return pick(0, 5) === 0 ? special[pick(0, special.length - 1)]! : pick(-2040, 2040) / 16;
      case 'float32': return pick(0, 5) === 0 ? special[pick(0, special.length - 1)]! : Math.fround(pick(-1e6, 1e6) / 7);
    }
  });
}
const choose = <T>(pick: Pick, xs: readonly T[]): T => xs[pick(0, xs.length - 1)]!;

interface Case {
  readonly spec: LoopSpec;
  readonly input: number[];
  readonly outLength: number;
}

/** A rearrange `x -> x.permute(perm)` of a random shape into a (possibly padded) row-major output. */
function randomCase(pick: Pick, conv: Conversion, rank: number, maxExtent: number): Case {
  const shape = Array.from({ length: rank }, () => (pick(0, 4) === 0 ? 1 : pick(2, maxExtent)));
  // At most ~40k elements: shrink the largest extent until the tensor fits.
  while (shape.reduce((a, b) => a * b, 1) > 40000) {
    const d = shape.indexOf(Math.max(...shape));
    shape[d] = Math.max(2, Math.floor(shape[d]! / 2) + 1);
  }
  const perm = Array.from({ length: rank }, (_, d) => d);
  for (let i = rank - 1; i > 0; i--) {
    const j = pick(0, i);
    [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  }
  // Input: row-major with some dims padded (a strided view), last dim contiguous.
  const rowMajor = (extents: readonly number[]): number[] => {
    const st = new Array<number>(extents.length).fill(0);
    let acc = 1;
    for (let d = extents.length - 1; d >= 0; d--) { st[d] = acc; acc *= extents[d]!; }
    return st;
  };
  const inPadded = shape.map((n, d) => (d < rank - 1 && pick(0, 3) === 0 ? n + pick(1, 3) : n));
  const inStrides = rowMajor(inPadded);
  const inOffset = pick(0, 1) === 0 ? 0 : pick(1, 9);
  const inLength = inOffset + inPadded.reduce((a, b) => a * b, 1);
  const outShape = perm.map((d) => shape[d]!);
  const outPadded = outShape.map((n, d) => (d < rank - 1 && pick(0, 4) === 0 ? n + pick(1, 2) : n));
  const outStrides = rowMajor(outPadded);
  const outOffset = pick(0, 1) === 0 ? 0 : pick(1, 9);
  const outLength = outOffset + outPadded.reduce((a, b) => a * b, 1) + pick(0, 5);
  const spec = buildLoop({
    label: `permute [${shape.join(', ')}] by [${perm.join(', ')}]`,
    outShape,
    inputs: [{ dtype: conv.from, offset: inOffset, strides: perm.map((d) => inStrides[d]!) }],
    output: { dtype: conv.to, offset: outOffset, strides: outStrides },
    expr: conv.expr,
    computeType: conv.computeType,
  });
  // Casts to int32 and bool see finite values only: how NaN, infinities and out-of-range values convert is the
  // shared expression code's business (WGSL leaves them to the implementation), not the transpose's.
  return { spec, input: values(pick, conv.from, inLength, conv.to === 'int32' || conv.to === 'bool'), outLength };
}

async function check(backend: WebGPUBackend, c: Case): Promise<void> {
  const outDType = c.spec.output.dtype as GpuDType;
  const inDType = c.spec.inputs[0]!.dtype as GpuDType;
  const sentinel = outDType === 'bool' ? 1 : 42;
  const reference = referenceLoop(c.spec, [c.input], new Array<number>(c.outLength).fill(sentinel));
  // Poison: every element the kernel must write starts out different from the value it should get.
  const poison = reference.out.map((want, i) => {
    if (!reference.written.has(i)) return want;
    if (outDType === 'bool') return 1 - want;
    if (outDType === 'int32') return want === 77 ? 78 : 77;
    return Number.isNaN(want) ? 12345 : NaN;
  });
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
    expect(loopVariant(contiguous, t)).toBe('thread');
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
});
