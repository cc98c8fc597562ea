/**
 * Corners of src/plan that a fresh mutation sample (seed 20261213) found unpinned:
 * - the plan cache's key holds the seed, the objective and the time budget (a plan found under one is not
 *   returned for another);
 * - dp under a memory limit ends with a step over groups it built pairwise (the groups' operands decoded from
 *   its numeric keys), so on these networks its cost is optimal's, the exact search over the same space;
 * - greedy's pair sizes past 2^512 (a pair whose product passes it is not taken for a small one, and a step's
 *   union that passes it only with its second operand's indices is counted whole);
 * - a JSON tree that leaves operands out is refused naming them;
 * - (seed 20261214) auto names the method it chose on a ring past optimal's and dp's sizes: anneal.
 */
import { describe, expect, it } from 'vitest';
import { greedyRun } from '../../src/plan/greedy.js';
import { makeRng } from '../../src/plan/heap.js';
import { clearPlanCache, planContraction, replayCostExact, treeToPath } from '../../src/plan/index.js';
import { toNumber } from '../../src/plan/flops.js';
import { buildNetwork, ssaToLinear } from '../../src/plan/network.js';
import { thrown } from '../helpers/thrown.js';

describe("the plan cache's key", () => {
  it('holds the seed: random-greedy with seed 2 after seed 1 is seed 2\'s plan', () => {
    const c = {
      inputs: [[0, 5], [4, 2, 0], [8, 11], [2, 9], [10, 2], [10, 13], [10, 2], [5, 3], [10, 8], [3, 0], [12, 3, 13], [5, 4, 9], [12, 9], [13, 1, 0], [4, 12, 7]],
      output: [4, 11, 10, 3], sizes: [5, 7, 7, 3, 5, 6, 4, 7, 4, 4, 2, 4, 3, 2],
    };
    clearPlanCache();
    const alone = planContraction(c, { optimize: 'random-greedy', seed: 2, trials: 4 }).cost;
    clearPlanCache();
    const one = planContraction(c, { optimize: 'random-greedy', seed: 1, trials: 4 }).cost;
    expect(one).not.toBe(alone);
    expect(planContraction(c, { optimize: 'random-greedy', seed: 2, trials: 4 }).cost).toBe(alone);
  });

  it("holds the objective: minimize 'size' after 'flops' is the size-minimising plan", () => {
    const c = { inputs: [[3, 1], [1], [0, 3], [2, 1, 0], [4, 6], [1, 5], [6, 1, 5], [6, 7]], output: [3, 0, 6, 5], sizes: [5, 7, 7, 3, 5, 6, 4, 7] };
    clearPlanCache();
    const size = planContraction(c, { optimize: 'dp', minimize: 'size' });
    clearPlanCache();
    const flops = planContraction(c, { optimize: 'dp', minimize: 'flops' });
    expect(flops.cost).toBeLessThan(size.cost);
    expect(planContraction(c, { optimize: 'dp', minimize: 'size' }).path).toEqual(size.path);
    expect(planContraction(c, { optimize: 'dp' }).path).toEqual(flops.path);
  });

  it('holds the time budget: a budget too short to finish still fails after an unbounded search was cached', () => {
    const c = { inputs: [[0, 1], [1, 2], [2, 3], [3, 0], [0, 2]], output: [], sizes: [3, 4, 5, 6] };
    clearPlanCache();
    planContraction(c, { optimize: 'random-greedy', seed: 3, timeBudgetMs: Infinity });
    expect(thrown(() => planContraction(c, { optimize: 'random-greedy', seed: 3, timeBudgetMs: 1e-9 })).message)
      .toMatch(/did not finish within its time budget of 1e-9 ms/);
  });
});

describe('dp under a memory limit, ending with a step over groups built pairwise', () => {
  const cases: [string, { inputs: number[][]; output: number[]; sizes: number[] }, number][] = [
    ['six operands', { inputs: [[4, 3], [4, 0], [0], [2, 0], [0, 4], [1, 4]], output: [2], sizes: [2, 3, 3, 2, 2] }, 3],
    ['seven operands', { inputs: [[5, 4, 2], [4, 6, 3], [1], [2], [5, 8, 3], [4, 5], [7, 6]], output: [4, 1], sizes: [6, 3, 5, 2, 3, 3, 6, 3, 2] }, 7],
    ['eight operands', { inputs: [[5, 4], [0], [5, 3, 4], [5], [4, 6], [3], [1, 6], [3]], output: [5, 0], sizes: [5, 6, 4, 6, 6, 4, 6] }, 19],
    ['nine operands', { inputs: [[3], [0, 6, 4], [6, 3], [7, 5], [5, 2, 0], [6], [1, 4], [3, 7], [1, 3]], output: [], sizes: [2, 2, 3, 5, 2, 4, 6, 6] }, 19],
  ];
  it.each(cases)('%s: the cost optimal finds', (_, c, memoryLimit) => {
    clearPlanCache();
    const dp = planContraction(c, { optimize: 'dp', memoryLimit });
    const optimal = planContraction(c, { optimize: 'optimal', memoryLimit });
    expect(dp.cost).toBe(optimal.cost);
    // The plan ends with one step over three or more operands: the case the groups are for.
    expect(dp.path.at(-1)!.length).toBeGreaterThanOrEqual(3);
  });
});

describe("greedy's pair sizes past 2^512", () => {
  it('the huge pair is not taken first, and a step\'s union past 2^512 is counted whole', () => {
    // [x, s] · [y, s] keeps x, y and s (held by [s]): 2^600 · 3 elements; [x, s] · [s] keeps [x, s]: 2^300 · 3.
    const net = buildNetwork([[0, 2], [1, 2], [2]], [0, 1], [2 ** 300, 2 ** 300, 3]);
    const { ssa, score } = greedyRun(net, { alpha: 1, queue: 'best', temperature: 0, nbranch: 1, rng: makeRng(1), memoryLimit: Infinity });
    expect(ssa[0]).not.toEqual([0, 1]);
    expect(ssa[0]!.includes(2)).toBe(true);
    // Its cost counts the last step's union (x, y, s: 3·2^600, past 2^512 once y is multiplied in) whole.
    const exact = Number(replayCostExact([[0, 2], [1, 2], [2]], [0, 1], [2 ** 300, 2 ** 300, 3], ssaToLinear(ssa, 3)));
    expect(exact).toBeGreaterThan(2 ** 600);
    expect(Math.abs(toNumber(score.flops) - exact) / exact).toBeLessThan(1e-12);
  });
});

describe('a JSON tree that leaves operands out', () => {
  it('is refused naming them', () => {
    expect(thrown(() => treeToPath([0, 2], 4)).message).toMatch(/the tree leaves out operands 1, 3\n/);
    expect(thrown(() => treeToPath([[0, 2], 3], 4)).message).toMatch(/the tree leaves out operand 1\n/);
  });
});

describe('auto names the method it chose', () => {
  it("a ring of 20 operands with shared side indices: 'auto:anneal'", () => {
    const n = 20;
    const inputs = Array.from({ length: n }, (_, i) => [i, (i + 1) % n, n + (i % 5)]);
    const sizes = Array.from({ length: n + 5 }, (_, i) => 2 + (i % 3));
    clearPlanCache();
    expect(planContraction({ inputs, output: [], sizes }, { optimize: 'auto' }).optimizer).toBe('auto:anneal');
  });
});
