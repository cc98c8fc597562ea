/**
 * fast-check generators of valid patterns with matching shapes, for property tests here and, later, for
 * random-expression tests of the planner and the backends. Each case carries everything a caller needs to
 * make the call (pattern, shapes, axis lengths) but not the expected result: tests compute that themselves.
 *
 * Cases are built from a seed with a small deterministic PRNG, so they are cheap and reproducible (the seed
 * is what fast-check reports on failure).
 */
import fc from 'fast-check';
import { prng } from '../helpers/random.js';

export { prng };


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

export interface EinsumCase {
  readonly syntax: 'numpy' | 'einops';
  readonly pattern: string;
  readonly shapes: number[][];
}

const NUMPY_LABELS = ['a', 'b', 'c', 'd', 'i', 'j', 'k', 'A', 'B', 'Z'];
const EINOPS_LABELS = ['a', 'b', 'batch', 'head', 'w2', 'x_1', 'T', 'chan', 'é', '_'];

function einsumCase(seed: number, syntax: 'numpy' | 'einops'): EinsumCase {
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

/** Valid numpy-syntax einsum calls: letters, repeated labels, '...' with broadcasting, implicit output. */
export const numpyEinsumCase = (): fc.Arbitrary<EinsumCase> => fc.noShrink(fc.integer()).map((s) => einsumCase(s, 'numpy'));

/** Valid einops-syntax einsum calls: named axes, commas, an explicit output. */
export const einopsEinsumCase = (): fc.Arbitrary<EinsumCase> => fc.noShrink(fc.integer()).map((s) => einsumCase(s, 'einops'));

// ─── rearrange / reduce / repeat ────────────────────────────────────────────────────────────────────────

export interface EinopsCase {
  readonly op: 'rearrange' | 'reduce' | 'repeat';
  readonly pattern: string;
  readonly shape: number[];
  readonly axesLengths: Record<string, number>;
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

/** Valid rearrange/reduce/repeat calls: composite groups, units, '...', axis lengths where needed. */
export const einopsTransformCase = (): fc.Arbitrary<EinopsCase> => fc.noShrink(fc.integer()).map(einopsCase);

// ─── pack ───────────────────────────────────────────────────────────────────────────────────────────────

export interface PackCase {
  readonly pattern: string;
  readonly shapes: number[][];
}

/** Valid pack calls: names before and after '*', each tensor with its own packed dims. */
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
