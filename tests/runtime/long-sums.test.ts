/**
 * Long reductions keep their error bounded by log n (CPU, pairwise) or by a few blocks (WGSL, blocked), not by n:
 * sums, means and loop-nest einsum reductions of up to 300,000 terms on every device, against the exactly
 * rounded sum (Shewchuk's algorithm in tests/helpers/fsum.ts). (Contractions that lower to a GEMM, such as a
 * long 'i,i->', accumulate in the GEMM's K loop and are not covered here.) The bounds are the ones docs/backends.md and
 * docs/wgsl.md state; a sequential loop misses them on long runs of equal values, whose low bits it drops once
 * the running sum is large.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { einsum, tensor, type Tensor } from '../../src/index.js';
import { DEVICES } from '../helpers/devices.js';
import { absSum, fsum } from '../helpers/fsum.js';
import { prng } from '../helpers/random.js';

const U64 = 2 ** -53;
const U32 = 2 ** -24;

/**
 * CPU: 8 accumulators of at most 16 terms per 128-point block (15 + 3 roundings), block sums combined by a
 * binary counter (at most 2·log2(blocks) + 1), as a multiple of u·Σ|x|.
 */
const cpuBound = (n: number): number => (15 + 3 + 2 * Math.ceil(Math.log2(Math.max(2, n))) + 2) * U64;
/**
 * WGSL: three levels of at most 32 terms (3 · 31), a top level of ceil(blocks / 1024) terms (an invocation sums
 * at most n blocks), 3 final additions, a 256-way tree (8), and one rounding of a product when the expression
 * multiplies.
 */
const gpuBound = (n: number): number => (3 * 31 + Math.ceil(n / 1024) + 3 + 8 + 1) * U32;

type Family = 'equal' | 'uniform' | 'signed';

/** n values of the family, representable in the dtype. */
function values(family: Family, n: number, seed: number, dtype: 'float32' | 'float64'): Float64Array {
  const rand = prng(seed);
  const round = dtype === 'float32' ? Math.fround : (x: number): number => x;
  const mantissa = dtype === 'float32' ? 23 : 52;
  // Equal values with set low bits: the case where a sequential sum loses the most.
  const equal = 1 + Math.floor(1 + rand() * 4095) * 2 ** -mantissa;
  return Float64Array.from({ length: n }, () =>
    family === 'equal' ? equal : family === 'uniform' ? round(0.5 + 1.5 * rand()) : round(2 * rand() - 1));
}

const arbCase = fc.record({
  family: fc.constantFrom<Family>('equal', 'uniform', 'signed'),
  // n = a · 3 · c, so the same values also reduce as [a, 3, c] over a and c.
  a: fc.integer({ min: 1, max: 400 }),
  c: fc.integer({ min: 1, max: 250 }),
  seed: fc.integer({ min: 1, max: 2 ** 30 }),
});

interface Check {
  readonly got: number;
  readonly terms: readonly number[];
  /** The result is the sum divided by this (a mean). */
  readonly divide?: number;
  /** Additional relative slack on the result (a mean's division). */
  readonly extra?: number;
}

function within(check: Check, bound: (n: number) => number): boolean {
  const d = check.divide ?? 1;
  const exact = fsum(check.terms) / d;
  const scale = absSum(check.terms) / d;
  const allowed = bound(check.terms.length) * scale + (check.extra ?? 0) * Math.abs(exact);
  return Math.abs(check.got - exact) <= allowed;
}

async function read(t: Tensor): Promise<number[]> {
  return Array.from(await t.data() as ArrayLike<number>);
}

const cases = [
  ...DEVICES.map((device) => ({ device, dtype: 'float32' as const })),
  { device: 'cpu' as const, dtype: 'float64' as const },
];

describe.each(cases)('long reductions on $device in $dtype', ({ device, dtype }) => {
  // The CPU computes float32 in float64 and rounds the result once (and the oracle's float32 products once).
  const bound = dtype === 'float64' ? cpuBound : device === 'cpu' ? (n: number) => cpuBound(n) + 2 * U32 : gpuBound;
  const unit = dtype === 'float64' ? U64 : U32;
  const make = (xs: Float64Array, shape: number[]): Tensor =>
    tensor(dtype === 'float64' ? xs : Float32Array.from(xs), { shape, dtype, device });

  it('sum, mean, sum over two axes and einsum reductions stay within the bound (property)', async () => {
    await fc.assert(fc.asyncProperty(arbCase, async ({ family, a, c, seed }) => {
      const n = a * 3 * c;
      const xs = values(family, n, seed, dtype);
      const x = make(xs, [n]);
      const checks: Check[] = [];
      checks.push({ got: (await read(x.sum()))[0]!, terms: Array.from(xs) });
      checks.push({ got: (await read(x.mean()))[0]!, terms: Array.from(xs), divide: n, extra: 3 * unit });
      // [a, 3, c] summed over a and c: three outputs, each folding a rows of c points.
      const cols = (j: number): number[] => Array.from({ length: a * c }, (_, k) => xs[Math.floor(k / c) * 3 * c + j * c + (k % c)]!);
      const x3 = make(xs, [a, 3, c]);
      const two = await read(x3.sum([0, 2]));
      const viaEinsum = await read(einsum('ijk->j', x3));
      for (let j = 0; j < 3; j++) checks.push({ got: two[j]!, terms: cols(j) }, { got: viaEinsum[j]!, terms: cols(j) });
      checks.push({ got: (await read(einsum('ijk->', x3)))[0]!, terms: Array.from(xs) });
      return checks.every((check) => within(check, bound));
    }), { numRuns: device === 'webgpu' ? 12 : 25, seed: 20261204 });
  }, 300_000);
});

describe('the issue\'s CPU repro', () => {
  it('a float64 sum of 10^6 copies of 1 + 8196·eps has relative error below 1e-15 (sequential: 1.7e-12)', () => {
    const v = 1 + 8196 * 2 ** -52;
    const got = tensor(new Float64Array(1e6).fill(v), { dtype: 'float64' }).sum().item();
    const exact = fsum(new Float64Array(1e6).fill(v));
    expect(Math.abs(got - exact) / exact).toBeLessThan(1e-15);
  });
});
