/**
 * fast-check arbitraries for property tests: valid einsum and einops calls with matching shapes, and tensors for
 * them in every dtype and in contiguous and non-contiguous layouts.
 *
 * Pattern cases are built from one integer seed with a small deterministic generator, so they are cheap and
 * reproducible (the seed is what fast-check reports on failure); they do not shrink. Tensor values are drawn by
 * fast-check and shrink toward zero. Each case carries what a call needs but never the expected result: compare
 * with an oracle such as referenceEinsum.
 */
import fc from 'fast-check';
import { Tensor } from '../runtime/tensor.js';
import { tensor, zeros } from '../runtime/creation.js';
import { noGrad } from '../autograd/record.js';
import { einsum } from '../api/einsum.js';
import type { DType } from '../runtime/dtype.js';
import type { Device } from '../runtime/backend.js';
import { prng } from './random.js';

type Rand = () => number;
const int = (r: Rand, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
function shuffle<T>(r: Rand, xs: readonly T[]): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

// ─── einsum ─────────────────────────────────────────────────────────────────────────────────────────────

/** A valid einsum: the pattern, the syntax it is written in, and one shape per operand. */
export interface EinsumCase {
  /** 'numpy' patterns go first (`einsum(pattern, ...ops)`), 'einops' patterns last (`einsum(...ops, pattern)`). */
  readonly syntax: 'numpy' | 'einops';
  readonly pattern: string;
  readonly shapes: number[][];
}

const NUMPY_LABELS = ['a', 'b', 'c', 'd', 'i', 'j', 'k', 'A', 'B', 'Z'];
const EINOPS_LABELS = ['a', 'b', 'batch', 'head', 'w2', 'x_1', 'T', 'chan', 'é', '_'];

function makeEinsumCase(seed: number, syntax: 'numpy' | 'einops'): EinsumCase {
  const r = prng(seed);
  const pool = shuffle(r, syntax === 'numpy' ? NUMPY_LABELS : EINOPS_LABELS).slice(0, int(r, 1, 6));
  const size = new Map(pool.map((l) => [l, int(r, 0, 4) === 0 ? int(r, 0, 1) : int(r, 1, 4)]));
  const ellSizes = Array.from({ length: int(r, 0, 2) }, () => int(r, 1, 3));
  const nOps = int(r, 1, 4);
  const useEllipsis = r() < 0.35;
  const terms: string[][] = [];
  const shapes: number[][] = [];
  for (let k = 0; k < nOps; k++) {
    const labels = Array.from({ length: int(r, 0, 4) }, () => pick(r, pool));
    const items: string[] = [...labels];
    const shape = labels.map((l) => size.get(l)!);
    // Broadcast: a label used once in this operand may be given size 1.
    labels.forEach((l, d) => {
      if (labels.indexOf(l) === labels.lastIndexOf(l) && r() < 0.1) shape[d] = 1;
    });
    if (useEllipsis && r() < 0.7) {
      const at = int(r, 0, items.length);
      const ellRank = int(r, 0, ellSizes.length);
      const dims = ellSizes.slice(ellSizes.length - ellRank).map((s) => (r() < 0.2 ? 1 : s));
      items.splice(at, 0, '...');
      shape.splice(at, 0, ...dims);
    }
    terms.push(items);
    shapes.push(shape);
  }
  const used = [...new Set(terms.flat().filter((x) => x !== '...'))];
  const anyEllipsis = terms.some((t) => t.includes('...'));
  const explicit = syntax === 'einops' || r() < 0.6;
  let output: string[] | null = null;
  if (explicit) {
    output = shuffle(r, used).slice(0, int(r, 0, used.length));
    if (anyEllipsis) output.splice(int(r, 0, output.length), 0, '...');
  }
  const sep = syntax === 'numpy' ? '' : ' ';
  const join = (t: string[]): string => t.join(sep);
  const pattern =
    syntax === 'numpy'
      ? terms.map(join).join(',') + (output === null ? '' : '->' + join(output))
      : terms.map(join).join(', ') + ' -> ' + join(output!);
  return { syntax, pattern, shapes };
}

/**
 * Valid numpy-syntax einsums: 1-4 operands, letters, repeated labels (diagonals), '...' with broadcasting, size-0
 * and size-1 axes, implicit output.
 */
export const numpyEinsumCase = (): fc.Arbitrary<EinsumCase> => fc.noShrink(fc.integer()).map((s) => makeEinsumCase(s, 'numpy'));

/** Valid einops-syntax einsums: named axes (`'batch i, i j -> batch j'`), commas, an explicit output. */
export const einopsEinsumCase = (): fc.Arbitrary<EinsumCase> => fc.noShrink(fc.integer()).map((s) => makeEinsumCase(s, 'einops'));

/** Either syntax. */
export const einsumCase = (): fc.Arbitrary<EinsumCase> => fc.oneof(numpyEinsumCase(), einopsEinsumCase());

/** Calls einjit's einsum the way the case's syntax is written: pattern first (numpy) or last (einops). */
export function applyEinsum(c: Pick<EinsumCase, 'syntax' | 'pattern'>, operands: readonly Tensor[]): Tensor {
  return c.syntax === 'numpy' ? einsum(c.pattern, ...operands) : einsum(...operands, c.pattern);
}

// ─── rearrange / reduce / repeat ────────────────────────────────────────────────────────────────────────

/** A valid rearrange, reduce or repeat call: the pattern, the input shape and the axis lengths it needs. */
export interface EinopsCase {
  readonly op: 'rearrange' | 'reduce' | 'repeat';
  readonly pattern: string;
  readonly shape: number[];
  readonly axesLengths: Record<string, number>;
  /** For reduce: 'sum', 'mean', 'max', 'min', 'prod', 'any' or 'all'. */
  readonly reduction?: string;
}

const AXIS_NAMES = ['b', 'c', 'h', 'w', 'h2', 'w2', 'time', 'x_1', 'α', 'K'];

function einopsCase(seed: number): EinopsCase {
  const r = prng(seed);
  const op = pick(r, ['rearrange', 'reduce', 'repeat'] as const);
  const names = shuffle(r, AXIS_NAMES);
  const nLeft = int(r, 0, 5);
  const leftAxes = names.slice(0, nLeft);
  const extra = names.slice(nLeft, nLeft + int(r, 0, 2));
  const size = new Map(names.map((n) => [n, int(r, 1, 4)]));
  const axesLengths: Record<string, number> = {};
  const ellipsis = r() < 0.3;
  const ellDims = ellipsis ? Array.from({ length: int(r, 0, 2) }, () => int(r, 1, 3)) : [];

  // Left: axes in groups (a group of several gets all but one length given); units; maybe '...'.
  const left: string[] = [];
  const shape: number[] = [];
  let rest = shuffle(r, leftAxes);
  while (rest.length > 0) {
    const n = Math.min(rest.length, r() < 0.3 ? int(r, 2, 3) : 1);
    const group = rest.slice(0, n);
    rest = rest.slice(n);
    if (n > 1) {
      for (const a of group.slice(1)) axesLengths[a] = size.get(a)!;
      left.push(`(${group.join(' ')})`);
    } else left.push(group[0]!);
    shape.push(group.reduce((p, a) => p * size.get(a)!, 1));
  }
  if (r() < 0.2) {
    const at = int(r, 0, left.length);
    left.splice(at, 0, pick(r, ['1', '()']));
    shape.splice(at, 0, 1);
  }
  let ellAt = -1;
  if (ellipsis) {
    ellAt = int(r, 0, left.length);
    left.splice(ellAt, 0, '...');
    shape.splice(ellAt, 0, ...ellDims);
  }

  // Right: the kept axes (all for rearrange/repeat, a subset for reduce), plus new ones for repeat.
  const kept = op === 'reduce' ? shuffle(r, leftAxes).slice(0, int(r, 0, leftAxes.length)) : shuffle(r, leftAxes);
  const added = op === 'repeat' ? extra : [];
  for (const a of added) axesLengths[a] = size.get(a)!;
  let units: string[] = [];
  if (op === 'repeat' && r() < 0.3) units = [String(int(r, 2, 3))];
  if (r() < 0.2) units.push('1');
  let items = shuffle(r, [...kept, ...added, ...units]);
  const keepEllipsis = ellipsis && (op !== 'reduce' || r() < 0.5);
  if (keepEllipsis) items.splice(int(r, 0, items.length), 0, '...');
  const right: string[] = [];
  while (items.length > 0) {
    const n = Math.min(items.length, r() < 0.3 ? int(r, 2, 3) : 1);
    const group = items.slice(0, n);
    items = items.slice(n);
    right.push(n > 1 || (r() < 0.1 && group[0] !== '1') ? `(${group.join(' ')})` : group[0]!);
  }
  const pattern = `${left.join(' ')} -> ${right.join(' ')}`;
  return { op, pattern, shape, axesLengths, ...(op === 'reduce' ? { reduction: pick(r, ['sum', 'mean', 'max', 'min', 'prod', 'any', 'all']) } : {}) };
}

/** Valid rearrange/reduce/repeat calls: composite groups, units ('1', '()'), '...', axis lengths where needed. */
export const einopsTransformCase = (): fc.Arbitrary<EinopsCase> => fc.noShrink(fc.integer()).map(einopsCase);

// ─── pack ───────────────────────────────────────────────────────────────────────────────────────────────

export interface PackCase {
  readonly pattern: string;
  readonly shapes: number[][];
}

/** Valid pack calls: names before and after '*', each tensor with its own packed dims (size 0 included). */
export const packCase = (): fc.Arbitrary<PackCase> =>
  fc.noShrink(fc.integer()).map((seed) => {
    const r = prng(seed);
    const names = shuffle(r, AXIS_NAMES).slice(0, int(r, 0, 3));
    const star = int(r, 0, names.length);
    const dims = names.map(() => int(r, 1, 3));
    const shapes = Array.from({ length: int(r, 1, 4) }, () => {
      const packed = Array.from({ length: int(r, 0, 2) }, () => int(r, 0, 3));
      return [...dims.slice(0, star), ...packed, ...dims.slice(star)];
    });
    const items = [...names];
    items.splice(star, 0, '*');
    return { pattern: items.join(' '), shapes };
  });

// ─── tensors ────────────────────────────────────────────────────────────────────────────────────────────

/**
 * How a generated tensor's elements sit in memory:
 * - 'contiguous': row-major, offset 0;
 * - 'transposed': column-major (the axes' strides reversed), for shapes with two axes longer than 1;
 * - 'strided': every other element of a wider last axis, for two elements or more;
 * - 'reversed': the last axis read backwards (a negative stride and a non-zero offset), for two elements or more;
 * - 'offset': row-major but starting one element into its buffer, for one element or more.
 * A layout a shape cannot have (a scalar cannot be transposed) falls back to 'contiguous'; `layout` on the
 * case says which one was made.
 */
export type Layout = 'contiguous' | 'transposed' | 'strided' | 'reversed' | 'offset';

export const LAYOUTS: readonly Layout[] = Object.freeze(['contiguous', 'transposed', 'strided', 'reversed', 'offset']);

export interface TensorOptions {
  /** The dtypes to draw from (default float32 and float64). */
  readonly dtypes?: readonly DType[];
  /** The layouts to draw from (default all of LAYOUTS). */
  readonly layouts?: readonly Layout[];
  /** Where the tensors are made (default 'cpu'). */
  readonly device?: Device;
}

/** A generated tensor with the values it holds, kept apart so an oracle never reads them back through einjit. */
export interface TensorCase {
  readonly tensor: Tensor;
  readonly shape: number[];
  readonly dtype: DType;
  readonly layout: Layout;
  /** The elements in row-major order, exactly as the tensor holds them. */
  readonly data: Float64Array;
}

/**
 * Element values exact in every dtype: multiples of 1/8 in [-2, 2] for floating dtypes (float16 included),
 * integers in [-4, 4] for int32, 0 and 1 for bool. Sums and products of a few of them are exact in float32.
 */
function valueArbitrary(dtype: DType): fc.Arbitrary<number> {
  if (dtype === 'bool') return fc.integer({ min: 0, max: 1 });
  if (dtype === 'int32') return fc.integer({ min: -4, max: 4 });
  return fc.integer({ min: -16, max: 16 }).map((k) => k / 8);
}

/** The layout a shape can have: one that would still be contiguous (too few elements) falls back. */
function layoutOf(layout: Layout, shape: readonly number[]): Layout {
  const size = shape.reduce((a, b) => a * b, 1);
  if (layout === 'transposed') return shape.filter((n) => n > 1).length >= 2 ? 'transposed' : 'contiguous';
  if (layout === 'strided' || layout === 'reversed') return size >= 2 ? layout : 'contiguous';
  if (layout === 'offset') return size >= 1 ? layout : 'contiguous';
  return layout;
}

/** Lays `base` (contiguous) out as `layout` asks, with the same values. */
export function withLayout(base: Tensor, layout: Layout): Tensor {
  const shape = base.shape.slice();
  return noGrad(() => {
    switch (layoutOf(layout, shape)) {
      case 'contiguous':
        return base;
      case 'transposed': {
        const rev = shape.map((_, i) => shape.length - 1 - i);
        return base.permute(rev).contiguous().permute(rev);
      }
      case 'strided':
      case 'reversed': {
        const last = shape[shape.length - 1]!;
        const wideShape = [...shape.slice(0, -1), last * 2 + 1];
        const wide = zeros(wideShape, { dtype: base.dtype, device: base.device });
        const out = layout === 'reversed' ? wide.slice(-1, 2 * last - 1, undefined, -2) : wide.slice(-1, 1, undefined, 2);
        return out.copy_(base);
      }
      case 'offset': {
        const n = base.size;
        const buffer = zeros([n + 1], { dtype: base.dtype, device: base.device });
        return buffer.slice(0, 1).reshape(shape).copy_(base);
      }
    }
  });
}

/** Tensors of exactly `shape`, in a dtype and layout drawn from the options. */
export function tensorOf(shape: readonly number[], options: TensorOptions = {}): fc.Arbitrary<TensorCase> {
  const dtypes = options.dtypes ?? ['float32', 'float64'];
  return fc.constantFrom(...dtypes).chain((dtype) => tensorOfDtype(shape, dtype, options));
}

function tensorOfDtype(shape: readonly number[], dtype: DType, options: TensorOptions): fc.Arbitrary<TensorCase> {
  const n = shape.reduce((a, b) => a * b, 1);
  const layouts = options.layouts ?? LAYOUTS;
  return fc.record({
    values: fc.array(valueArbitrary(dtype), { minLength: n, maxLength: n }),
    layout: fc.constantFrom(...layouts),
  }).map(({ values, layout }) => {
    const data = Float64Array.from(values);
    const s = shape.slice();
    const base = tensor(data, { shape: s, dtype, ...(options.device !== undefined ? { device: options.device } : {}) });
    return { tensor: withLayout(base, layout), shape: s, dtype, layout: layoutOf(layout, s), data };
  });
}

/** An einsum case with one tensor per operand, all of one dtype, each in its own layout. */
export interface EinsumCall extends EinsumCase {
  readonly operands: TensorCase[];
}

/** Valid einsum calls with tensors: see einsumCase for the patterns and tensorOf for the tensors. */
export function einsumCall(options: TensorOptions & { readonly syntax?: 'numpy' | 'einops' } = {}): fc.Arbitrary<EinsumCall> {
  const cases = options.syntax === 'numpy' ? numpyEinsumCase() : options.syntax === 'einops' ? einopsEinsumCase() : einsumCase();
  const dtypes = options.dtypes ?? ['float32', 'float64'];
  return fc.tuple(cases, fc.constantFrom(...dtypes)).chain(([c, dtype]) =>
    fc.tuple(...c.shapes.map((s) => tensorOfDtype(s, dtype, options))).map((operands) => ({ ...c, operands })));
}

/** An einops case with its input tensor. */
export interface EinopsCall extends EinopsCase {
  readonly input: TensorCase;
}

/**
 * Valid rearrange/reduce/repeat calls with an input tensor. Reductions other than 'sum', 'mean', 'max', 'min'
 * and 'prod' ('any', 'all') are left out unless asked for, since they give bool results.
 */
export function einopsCall(options: TensorOptions & { readonly ops?: readonly EinopsCase['op'][]; readonly reductions?: readonly string[] } = {}): fc.Arbitrary<EinopsCall> {
  const ops = options.ops ?? ['rearrange', 'reduce', 'repeat'];
  const reductions = options.reductions ?? ['sum', 'mean', 'max', 'min', 'prod'];
  const cases = einopsTransformCase().filter((c) => ops.includes(c.op) && (c.op !== 'reduce' || reductions.includes(c.reduction!)));
  return cases.chain((c) => tensorOf(c.shape, options).map((input) => ({ ...c, input })));
}
