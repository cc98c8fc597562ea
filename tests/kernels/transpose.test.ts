/**
 * The CPU blocked transpose (kernels/cpu/loop.ts): random permutations of random shapes (rank ≤ 5, ragged and
 * unit extents, offsets, padded layouts) in every dtype, each result exactly equal to the reference
 * interpreter, outputs poisoned so an element the kernel skips shows.
 */
import { describe, expect, it } from 'vitest';
import { Float16Array } from '@petamoriken/float16';
import { TRANSPOSE_BLOCK, cpuTransposeDims as transposeDims, renderLoop, runLoop } from '../../kernels/cpu/loop.js';
import { buildLoop } from '../../src/lower/loops.js';
import { ex } from '../../src/lower/spec.js';
import type { DType, Expr, LoopSpec } from '../../src/lower/spec.js';
import { referenceLoop } from '../wgsl/reference.js';

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
const choose = <T>(pick: Pick, xs: readonly T[]): T => xs[pick(0, xs.length - 1)]!;

type Arr = Float32Array | Float64Array | Int32Array | Uint8Array | Float16Array;
function array(dtype: DType, values: readonly number[]): Arr {
  switch (dtype) {
    case 'float32': return Float32Array.from(values);
    case 'float64': return Float64Array.from(values);
    case 'float16': return Float16Array.from(values);
    case 'int32': return Int32Array.from(values);
    case 'bool': return Uint8Array.from(values, (v) => (v !== 0 ? 1 : 0));
  }
}

interface Conversion { readonly from: DType; readonly to: DType; readonly expr: Expr; readonly computeType: DType }
const copy = (d: DType): Conversion => ({ from: d, to: d, expr: ex.input(0), computeType: d === 'float16' ? 'float32' : d });
const cast = (from: DType, to: DType): Conversion =>
  ({ from, to, expr: ex.cast(to, ex.input(0)), computeType: to === 'float16' ? 'float32' : to });

/**
 * Values of the dtype; `finite` keeps floats finite and within int32 (casts to int32 of NaN, infinities and
 * out-of-range values are the generic cast's business, the same in both kernels, and not what this tests).
 */
function values(pick: Pick, dtype: DType, n: number, finite = false): number[] {
  const special = finite ? [0, -0, 1, -1, 0.5, -2.75, 65504, 2 ** -24, 1e9, -1e9] : [0, -0, 1, -1, 0.5, -2.75, 65504, 2 ** -24, NaN, Infinity, -Infinity];
  return Array.from({ length: n }, () => {
    switch (dtype) {
      case 'bool': return pick(0, 1);
      case 'int32': return pick(0, 7) === 0 ? choose(pick, [2147483647, -2147483648, 0, -1]) : pick(-100000, 100000);
      case 'float16': return pick(0, 5) === 0 ? special[pick(0, special.length - 1)]! : pick(-2040, 2040) / 16;
      case 'float32': return pick(0, 5) === 0 ? special[pick(0, special.length - 1)]! : Math.fround(pick(-1e6, 1e6) / 7);
      case 'float64': return pick(0, 5) === 0 ? special[pick(0, special.length - 1)]! : pick(-1e6, 1e6) / 7;
    }
  });
}

interface Case { readonly spec: LoopSpec; readonly input: number[]; readonly outLength: number }

function randomCase(pick: Pick, conv: Conversion, rank: number, maxExtent: number): Case {
  const shape = Array.from({ length: rank }, () => (pick(0, 4) === 0 ? 1 : pick(2, maxExtent)));
  while (shape.reduce((a, b) => a * b, 1) > 60000) {
    const d = shape.indexOf(Math.max(...shape));
    shape[d] = Math.max(2, Math.floor(shape[d]! / 2) + 1);
  }
  const perm = Array.from({ length: rank }, (_, d) => d);
  for (let i = rank - 1; i > 0; i--) {
    const j = pick(0, i);
    [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  }
  const rowMajor = (extents: readonly number[]): number[] => {
    const st = new Array<number>(extents.length).fill(0);
    let acc = 1;
    for (let d = extents.length - 1; d >= 0; d--) { st[d] = acc; acc *= extents[d]!; }
    return st;
  };
  const inPadded = shape.map((n, d) => (d < rank - 1 && pick(0, 3) === 0 ? n + pick(1, 3) : n));
  const inStrides = rowMajor(inPadded);
  const inOffset = pick(0, 1) === 0 ? 0 : pick(1, 9);
  const outShape = perm.map((d) => shape[d]!);
  const outPadded = outShape.map((n, d) => (d < rank - 1 && pick(0, 4) === 0 ? n + pick(1, 2) : n));
  const outOffset = pick(0, 1) === 0 ? 0 : pick(1, 9);
  const spec = buildLoop({
    label: `permute [${shape.join(', ')}] by [${perm.join(', ')}]`, outShape,
    inputs: [{ dtype: conv.from, offset: inOffset, strides: perm.map((d) => inStrides[d]!) }],
    output: { dtype: conv.to, offset: outOffset, strides: rowMajor(outPadded) }, expr: conv.expr, computeType: conv.computeType,
  });
  const inLength = inOffset + inPadded.reduce((a, b) => a * b, 1);
  return { spec, input: values(pick, conv.from, inLength, conv.to === 'int32'), outLength: outOffset + outPadded.reduce((a, b) => a * b, 1) + pick(0, 5) };
}

function check(c: Case): void {
  const outDType = c.spec.output.dtype;
  const sentinel = outDType === 'bool' ? 1 : 42;
  const reference = referenceLoop(c.spec, [c.input], new Array<number>(c.outLength).fill(sentinel));
  const poison = reference.out.map((want, i) => {
    if (!reference.written.has(i)) return want;
    if (outDType === 'bool') return 1 - want;
    if (outDType === 'int32') return want === 77 ? 78 : 77;
    return Number.isNaN(want) ? 12345 : NaN;
  });
  const input = array(c.spec.inputs[0]!.dtype, c.input);
  const out = array(outDType, poison);
  runLoop(c.spec, [input], out);
  const bad: string[] = [];
  for (let i = 0; i < c.outLength; i++) {
    const g = out[i]!;
    const want = reference.out[i]!;
    const ok = Number.isNaN(want) ? Number.isNaN(g) : outDType === 'int32' || outDType === 'bool' ? g === want : Object.is(g, want);
    if (!ok && bad.length < 5) bad.push(`[${i}] got ${g}, want ${want}`);
  }
  if (bad.length > 0) throw new Error(`${bad.join('; ')}\n${JSON.stringify(c.spec)}\n${renderLoop(c.spec)}`);
}

describe('CPU blocked transpose', () => {
  it('is chosen only for transposing copies with long enough loops', () => {
    const permute = (c: number): LoopSpec => buildLoop({
      label: 'b c h w -> b h w c', outShape: [2, 9, 10, c],
      inputs: [{ dtype: 'float32', offset: 0, strides: [90 * c, 10, 1, 90] }],
      output: { dtype: 'float32', offset: 0, strides: [90 * c, 10 * c, c, 1] }, expr: ex.input(0), computeType: 'float32',
    });
    expect(transposeDims(permute(16))).toEqual({ a: 1, b: 2 });
    expect(renderLoop(permute(16))).toContain('blocked transpose');
    expect(transposeDims(permute(3))).toBeNull();
    expect(transposeDims({ ...permute(16), expr: ex.unary('neg', ex.input(0)) })).toBeNull();
  });

  const conversions: readonly Conversion[] = [
    copy('float32'), copy('float64'), copy('int32'), copy('bool'), copy('float16'),
    cast('float32', 'int32'), cast('int32', 'float32'), cast('float16', 'float32'), cast('float32', 'float16'),
    cast('float32', 'bool'), cast('float64', 'float32'),
  ];
  for (const conv of conversions) {
    it(`${conv.from} -> ${conv.to}: random permutations, ragged and unit extents, offsets`, () => {
      const pick = rng(0xc0ffee + conversions.indexOf(conv));
      let blocked = 0;
      for (let r = 0; r < 30; r++) {
        const c = randomCase(pick, conv, pick(2, 5), r % 3 === 0 ? 2 * TRANSPOSE_BLOCK + 7 : 20);
        if (transposeDims(c.spec) !== null) blocked++;
        check(c);
      }
      expect(blocked).toBeGreaterThan(3);
    });
  }
});
