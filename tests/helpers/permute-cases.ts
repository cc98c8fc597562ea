/**
 * Random permute copies for the transpose kernels of both backends: a seeded picker, dtype conversions, values
 * with the awkward ones (±0, NaN, infinities, extremes), random permutations of random shapes into padded
 * layouts with offsets, and the poisoned output a kernel must overwrite.
 */
import { buildLoop } from '../../src/lower/loops.js';
import { ex } from '../../src/lower/spec.js';
import type { DType, Expr, LoopSpec } from '../../src/lower/spec.js';
import { prng } from './random.js';

/** An integer in [min, max], from a seeded generator: the cases, and so the kernels, are the same every run. */
export type Pick = (min: number, max: number) => number;

export function rng(seed: number): Pick {
  const next = prng(seed);
  return (min, max) => min + Math.floor(next() * (max - min + 1));
}

export const choose = <T>(pick: Pick, xs: readonly T[]): T => xs[pick(0, xs.length - 1)]!;

export interface Conversion { readonly from: DType; readonly to: DType; readonly expr: Expr; readonly computeType: DType }
export const copy = (d: DType): Conversion => ({ from: d, to: d, expr: ex.input(0), computeType: d === 'float16' ? 'float32' : d });
export const cast = (from: DType, to: DType): Conversion =>
  ({ from, to, expr: ex.cast(to, ex.input(0)), computeType: to === 'float16' ? 'float32' : to });

/**
 * Values of the dtype; `finite` keeps floats finite and within int32 (how NaN, infinities and out-of-range
 * values convert is the shared cast code's business, not a transpose's).
 */
export function values(pick: Pick, dtype: DType, n: number, finite = false): number[] {
  const special = finite ? [0, -0, 1, -1, 0.5, -2.75, 65504, 2 ** -24, 1e9, -1e9] : [0, -0, 1, -1, 0.5, -2.75, 65504, 2 ** -24, NaN, Infinity, -Infinity];
  return Array.from({ length: n }, () => {
    switch (dtype) {
      case 'bool': return pick(0, 1);
      case 'int32': return pick(0, 7) === 0 ? choose(pick, [2147483647, -2147483648, 0, -1]) : pick(-100000, 100000);
      // Multiples of 1/16 below 128 are exact in float16.
      case 'float16': return pick(0, 5) === 0 ? special[pick(0, special.length - 1)]! : pick(-2040, 2040) / 16;
      case 'float32': return pick(0, 5) === 0 ? special[pick(0, special.length - 1)]! : Math.fround(pick(-1e6, 1e6) / 7);
      case 'float64': return pick(0, 5) === 0 ? special[pick(0, special.length - 1)]! : pick(-1e6, 1e6) / 7;
    }
  });
}

export interface PermuteCase { readonly spec: LoopSpec; readonly input: number[]; readonly outLength: number }

function rowMajor(extents: readonly number[]): number[] {
  const st = new Array<number>(extents.length).fill(0);
  let acc = 1;
  for (let d = extents.length - 1; d >= 0; d--) { st[d] = acc; acc *= extents[d]!; }
  return st;
}

/**
 * `x -> x.permute(perm)` of a random shape (unit extents included, at most `maxElements`) read from a padded
 * row-major layout at an offset and written into a (possibly padded) row-major output at an offset.
 */
export function randomPermuteCase(pick: Pick, conv: Conversion, rank: number, maxExtent: number, maxElements: number,
  finite: boolean): PermuteCase {
  const shape = Array.from({ length: rank }, () => (pick(0, 4) === 0 ? 1 : pick(2, maxExtent)));
  while (shape.reduce((a, b) => a * b, 1) > maxElements) {
    const d = shape.indexOf(Math.max(...shape));
    shape[d] = Math.max(2, Math.floor(shape[d]! / 2) + 1);
  }
  const perm = Array.from({ length: rank }, (_, d) => d);
  for (let i = rank - 1; i > 0; i--) {
    const j = pick(0, i);
    [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  }
  const inPadded = shape.map((n, d) => (d < rank - 1 && pick(0, 3) === 0 ? n + pick(1, 3) : n));
  const inStrides = rowMajor(inPadded);
  const inOffset = pick(0, 1) === 0 ? 0 : pick(1, 9);
  const inLength = inOffset + inPadded.reduce((a, b) => a * b, 1);
  const outShape = perm.map((d) => shape[d]!);
  const outPadded = outShape.map((n, d) => (d < rank - 1 && pick(0, 4) === 0 ? n + pick(1, 2) : n));
  const outOffset = pick(0, 1) === 0 ? 0 : pick(1, 9);
  const outLength = outOffset + outPadded.reduce((a, b) => a * b, 1) + pick(0, 5);
  const spec = buildLoop({
    label: `permute [${shape.join(', ')}] by [${perm.join(', ')}]`,
    outShape,
    inputs: [{ dtype: conv.from, offset: inOffset, strides: perm.map((d) => inStrides[d]!) }],
    output: { dtype: conv.to, offset: outOffset, strides: rowMajor(outPadded) },
    expr: conv.expr,
    computeType: conv.computeType,
  });
  return { spec, input: values(pick, conv.from, inLength, finite), outLength };
}

/** The output's starting contents: every element the kernel must write differs from the value it should get. */
export function poisoned(want: readonly number[], written: ReadonlySet<number>, dtype: DType): number[] {
  return want.map((w, i) => {
    if (!written.has(i)) return w;
    if (dtype === 'bool') return 1 - w;
    if (dtype === 'int32') return w === 77 ? 78 : 77;
    return Number.isNaN(w) ? 12345 : NaN;
  });
}
