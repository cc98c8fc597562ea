/**
 * replayPath, rewritten to run in time linear in what it reads (no per-step splices), gives the same plan as
 * the first replay (tests/plan/replay-reference.ts), bit for bit: every step's operands, inputs, result,
 * removed axes, flops and result size, and the totals.
 * - random linear paths (k-way steps included) over random small networks with diagonals and scalars;
 * - random paths over networks of a few hundred tensors whose costs pass 10^308 (the m · 2^e counts);
 * - the paths of greedy on the 1,000-tensor networks of the benchmark, and every path of the conformance corpus;
 * - validatePath still refuses what it refused.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { thrown } from '../helpers/thrown.js';
import { planContraction, replayPath, validatePath } from '../../src/plan/index.js';
import { lattice, randomRegular } from '../../bench/network-gen.js';
import { referenceReplay } from './replay-reference.js';
import { loadPathCases } from './cases.js';
import { netArb } from './networks.js';

/**
 * A random valid linear path for n operands: each step takes 2 to `maxK` distinct positions (one, up to three
 * times, and the last step of a single operand, which the format allows).
 */
function randomPath(n: number, draws: readonly number[], maxK: number): number[][] {
  const path: number[][] = [];
  let alive = n;
  let d = 0;
  let singles = 0;
  const next = (): number => draws[d++ % draws.length]!;
  while (alive > 1 || path.length === 0) {
    const single = alive === 1 || (singles < 3 && next() % 8 === 0);
    if (single) singles++;
    const k = single ? 1 : Math.min(alive, 2 + (next() % (maxK - 1)));
    const pool = Array.from({ length: alive }, (_, i) => i);
    const step: number[] = [];
    for (let j = 0; j < k; j++) step.push(pool.splice(next() % pool.length, 1)[0]!);
    path.push(step);
    alive = alive - k + 1;
  }
  return path;
}

const netArbSmall = netArb({ maxSize: 5, maxAxes: 9, minOps: 1, maxOps: 9, perOp: { base: 0, spread: 5 }, distinct: false, draws: 60 });

describe('replayPath against the first replay', () => {
  it('agrees on random paths over random small networks (diagonals, scalars, k-way steps)', () => {
    fc.assert(
      fc.property(netArbSmall, fc.array(fc.nat(), { minLength: 1, maxLength: 40 }), fc.integer({ min: 2, max: 4 }), (net, draws, maxK) => {
        const path = randomPath(net.inputs.length, draws, maxK);
        validatePath(path, net.inputs.length);
        expect(replayPath(net.inputs, net.output, net.sizes, path)).toEqual(referenceReplay(net.inputs, net.output, net.sizes, path));
      }),
      { numRuns: 400, seed: 20261206 },
    );
  });

  it('agrees on random paths over networks of hundreds of tensors, past 10^308', () => {
    let most = 0;
    for (const [n, d, seed] of [[300, 3, 1], [400, 4, 2], [500, 3, 3]] as const) {
      const net = randomRegular(n, d, seed);
      const rand = fc.sample(fc.nat(), { numRuns: 2000, seed });
      for (const maxK of [2, 3]) {
        const path = randomPath(net.inputs.length, rand, maxK);
        const got = replayPath(net.inputs, net.output, net.sizes, path);
        const want = referenceReplay(net.inputs, net.output, net.sizes, path);
        expect(got).toEqual(want);
        most = Math.max(most, got.log10Cost);
      }
    }
    expect(most).toBeGreaterThan(308);
  });

  it("agrees on greedy's paths of the 1,000-tensor benchmark networks and on every path of the corpus", () => {
    for (const net of [randomRegular(1000, 3, 1003), randomRegular(1000, 4, 1004), lattice(25, 40, 2)]) {
      const plan = planContraction(net, { optimize: 'greedy' });
      const want = referenceReplay(net.inputs, net.output, net.sizes, plan.path);
      expect(replayPath(net.inputs, net.output, net.sizes, plan.path)).toEqual(want);
      // The plan handed out is that replay, frozen.
      const { optimizer: _o, ...replay } = plan;
      expect(replay).toEqual(want);
      expect(Object.isFrozen(plan.steps[500]!.result) && Object.isFrozen(plan.steps[500]!.inputs[0])).toBe(true);
    }
    for (const c of loadPathCases()) {
      for (const optimize of ['greedy', 'branch-1']) {
        const plan = planContraction(c, { optimize });
        expect(replayPath(c.inputs, c.output, c.sizes, plan.path), `${c.id} ${optimize}`).toEqual(
          referenceReplay(c.inputs, c.output, c.sizes, plan.path),
        );
      }
    }
  });

  it('validatePath refuses a repeated position within a step and accepts it across steps', () => {
    const reason = (path: unknown, n: number): string => thrown(() => validatePath(path as never, n)).reason;
    expect(reason([[0, 0], [0, 1]], 3)).toBe('step 0 of the path names position 0 twice');
    expect(() => validatePath([[1, 0], [1, 0]], 3)).not.toThrow();
    // The positions a message offers are those of the operands left at that step.
    expect(reason([[0, 3]], 3)).toBe('step 0 of the path names position 3, but only 3 operands are left (positions 0..2)');
    expect(reason([[0, 1], [2]], 3)).toBe('step 1 of the path names position 2, but only 2 operands are left (positions 0..1)');
    expect(reason([[0, 1]], 3)).toBe('the path leaves 2 operands instead of one (3 operands, 1 step)');
    expect(reason([[0, 1], [0, 1]], 4)).toBe('the path leaves 2 operands instead of one (4 operands, 2 steps)');
    expect(reason([[0, 1], []], 3)).toBe('step 1 of the path is empty');
    expect(reason('01', 2)).toBe('the path must be an array of steps');
  });
});
