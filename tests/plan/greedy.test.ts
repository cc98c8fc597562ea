/**
 * greedy's runs reuse per-network state (index lists, bit sets, holder lists, the candidate heap) from one run
 * to the next and take over an operand's storage for its result: a run must not see what an earlier run, on
 * this network or another, left behind, and the totals it counts as it goes must be those of replaying its path.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { greedyRun, type GreedyParams } from '../../src/plan/greedy.js';
import { makeRng } from '../../src/plan/heap.js';
import { buildNetwork, scoreSsa, type Network } from '../../src/plan/network.js';
import { netArb } from './networks.js';

const VARIANTS: readonly Omit<GreedyParams, 'rng' | 'memoryLimit'>[] = [
  { alpha: 1, queue: 'best', temperature: 0, nbranch: 1 },
  { alpha: 0, queue: 'all', temperature: 0, nbranch: 1 },
  { alpha: 0.7, temperature: 0.3, nbranch: 8 },
  { alpha: 0.5, queue: 'best', temperature: 0.2, nbranch: 4 },
];

function run(net: Network, v: (typeof VARIANTS)[number], memoryLimit: number): ReturnType<typeof greedyRun> {
  return greedyRun(net, { ...v, rng: makeRng(9), memoryLimit });
}

/** A random regular multigraph (configuration model), one tensor per vertex, sizes 2–8. */
function regular(n: number, d: number, seed: number): Network {
  const rng = makeRng(seed);
  const stubs = Array.from({ length: n * d }, (_, k) => Math.floor(k / d));
  for (let i = stubs.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [stubs[i], stubs[j]] = [stubs[j]!, stubs[i]!];
  }
  const inputs: number[][] = Array.from({ length: n }, () => []);
  const sizes: number[] = [];
  for (let e = 0; e < stubs.length; e += 2) {
    inputs[stubs[e]!]!.push(sizes.length);
    inputs[stubs[e + 1]!]!.push(sizes.length);
    sizes.push(2 + Math.floor(rng() * 7));
  }
  return buildNetwork(inputs, [], sizes);
}

describe('greedy runs', () => {
  const shape = { maxSize: 6, maxAxes: 12, minOps: 3, maxOps: 14, perOp: { base: 0, spread: 5 }, distinct: false, draws: 48 };

  it('count the totals of their own path, and repeat it exactly after runs on other networks (property)', () => {
    fc.assert(
      fc.property(netArb(shape), netArb(shape), fc.constantFrom(Infinity, 16, 64), (x, y, memoryLimit) => {
        const a = buildNetwork(x.inputs, x.output, x.sizes);
        const b = buildNetwork(y.inputs, y.output, y.sizes);
        for (const v of VARIANTS) {
          const first = run(a, v, memoryLimit);
          expect(first.score).toEqual(scoreSsa(a, first.ssa));
          run(b, v, memoryLimit);
          for (const other of VARIANTS) run(a, other, memoryLimit);
          expect(run(a, v, memoryLimit)).toEqual(first);
        }
      }),
      { numRuns: 150, seed: 15 },
    );
  });

  it('on networks of hundreds of tensors, whose intermediates hold hundreds of indices', () => {
    const big = regular(400, 4, 3);
    const other = regular(300, 3, 4);
    for (const v of VARIANTS) {
      const first = run(big, v, Infinity);
      expect(first.ssa).toHaveLength(399);
      // Past 2^53 the step products round differently (the union in the step's order, not ascending).
      const replay = scoreSsa(big, first.ssa);
      expect(first.score.size).toEqual(replay.size);
      expect(first.score.write).toEqual(replay.write);
      expect(first.score.flops.e).toBe(replay.flops.e);
      expect(Math.abs(first.score.flops.m / replay.flops.m - 1)).toBeLessThan(1e-12);
      run(other, v, Infinity);
      expect(run(big, v, Infinity)).toEqual(first);
    }
  });

  it('count the totals of their own path when steps pass 2^512 and results pass a double (property)', () => {
    // Index sizes 2^100 to 2^500: a step's union passes 2^512 (greedy carries it as m · 2^e) and its scores
    // pass 2^1000 (computed from log2 sizes).
    const huge = fc
      .tuple(netArb({ ...shape, maxOps: 8 }), fc.array(fc.integer({ min: 100, max: 500 }), { minLength: 12, maxLength: 12 }))
      .map(([x, exponents]) => buildNetwork(x.inputs, x.output, x.sizes.map((_, i) => 2 ** exponents[i]!)));
    fc.assert(
      fc.property(huge, (net) => {
        for (const v of VARIANTS) {
          const { ssa, score } = run(net, v, Infinity);
          const replay = scoreSsa(net, ssa);
          for (const key of ['flops', 'size', 'write'] as const) {
            expect(score[key].e, key).toBe(replay[key].e);
            expect(Math.abs(score[key].m / replay[key].m - 1), key).toBeLessThan(1e-12);
          }
        }
      }),
      { numRuns: 150, seed: 16 },
    );
  });
});
