/**
 * Planner corners found by mutation testing (seed 20261218's sample of src/plan):
 * - dp under a memory limit keeps the groups of a component it solved pairwise, so that a final step over
 *   them and another component's operands can still be the cheapest plan;
 * - dp under a limit still lets the last pairwise step write an output over the limit, and sums an operand
 *   over its own indices before a last step over groups;
 * - tree dp takes a tree whose neighbours share two indices (one edge, not two);
 * - optimal stops on its time budget inside the exact search, and names the operand count it refuses;
 * - auto starts from a batch of plain random-greedy trials beyond 30 operands only (32 trials, auto-hq 128);
 * - auto-hq, like auto, spends at most its default effort when a caller's budget is longer;
 * - reconfiguration leaves alone, by default, regions costing under 1e-4 of the whole tree.
 */
import { describe, expect, it, vi } from 'vitest';
import { randomRegular } from '../../bench/network-gen.js';
import { EinjitError } from '../../src/errors.js';
import { dpTree } from '../../src/plan/dp.js';
import * as greedy from '../../src/plan/greedy.js';
import { clearPlanCache, planContraction } from '../../src/plan/index.js';
import { buildNetwork, leaf, node, objectiveValue, scoreSsa, type Tree, treeToSsa } from '../../src/plan/network.js';
import * as optimizers from '../../src/plan/optimizers.js';
import { reconfigure } from '../../src/plan/reconfigure.js';
import * as treedp from '../../src/plan/treedp.js';

vi.mock('../../src/plan/treedp.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/plan/treedp.js')>();
  return { ...real, treeDp: vi.fn(real.treeDp) };
});
vi.mock('../../src/plan/greedy.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/plan/greedy.js')>();
  return { ...real, randomGreedy: vi.fn(real.randomGreedy) };
});
vi.mock('../../src/plan/optimizers.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/plan/optimizers.js')>();
  return { ...real, getOptimizer: vi.fn(real.getOptimizer) };
});

const thrown = (f: () => unknown): Error => {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
};

describe('plan corners (mutation sample 20261218)', () => {
  it('dp under a limit ends with a step over groups of a component it solved pairwise, when that is cheaper', () => {
    // Summed indices split the operands into two components (index 7 is kept, so it joins nothing): {0, 4},
    // which dp solves pairwise (operand 4's own indices summed, then folded into operand 0), and {1, 2, 3},
    // which a limit of 4 elements leaves unsolved. The cheapest plan ends with one step over the first
    // component's group and the other three operands: 168 flops, against greedy's 288 (its last step takes
    // all but one pair). The exact search, which tries every partition into groups, finds the same.
    const n = { inputs: [[0, 7], [7, 4], [7, 2], [2, 4], [0, 6, 3]], output: [7], sizes: [3, 2, 2, 2, 3, 3, 4, 4] };
    expect(planContraction(n, { optimize: 'greedy', memoryLimit: 4 }).cost).toBe(288);
    const optimal = planContraction(n, { optimize: 'optimal', memoryLimit: 4 });
    const dp = planContraction(n, { optimize: 'dp', memoryLimit: 4 });
    expect(optimal.cost).toBe(168);
    expect(dp.cost).toBe(optimal.cost);
    expect(dp.path).toEqual([[4], [0, 4], [3, 0, 1, 2]]);
  });

  it("dp under a limit may end with a pairwise step whose result, the output, is over the limit", () => {
    // 'abe,bc,cd->ad' with e summed in its operand alone; a limit of 7 elements, the output holds 8. The best
    // plan sums e first and ends with a pair whose operand is that sum, writing the output (which no limit
    // covers). (A last step over two groups costs what that pair does, so this no longer tells the pairwise
    // search's exemption of the output from the last step over groups: both reach 128.)
    const n = { inputs: [[0, 1, 4], [1, 2], [2, 3]], output: [0, 3], sizes: [4, 2, 2, 2, 5] };
    const optimal = planContraction(n, { optimize: 'optimal', memoryLimit: 7 });
    const dp = planContraction(n, { optimize: 'dp', memoryLimit: 7 });
    expect(optimal.cost).toBe(128);
    expect(dp.cost).toBe(128);
    expect(dp.path).toEqual([[0], [0, 1], [0, 1]]);
  });

  it('dp under a limit sums an operand over its own indices before a last step over groups', () => {
    // 'ba,b,b,c->a', limit 2: no pair of the first three fits, so the plan ends with a step over all four;
    // summing c first (operand 3 is a component of its own) costs 8 and saves a factor of 4 in that step.
    const n = { inputs: [[1, 0], [1], [1], [2]], output: [0], sizes: [2, 3, 4] };
    expect(planContraction(n, { optimize: 'greedy', memoryLimit: 2 }).cost).toBe(96);
    const dp = planContraction(n, { optimize: 'dp', memoryLimit: 2 });
    expect(dp.cost).toBe(32);
    expect(dp.cost).toBe(planContraction(n, { optimize: 'optimal', memoryLimit: 2 }).cost);
    expect(dp.path).toEqual([[3], [0, 1, 2, 3]]);
  });

  it('tree dp takes a tree in which two neighbours share two summed indices', () => {
    // 0 -(a, b)- 1 -(c)- 2 -(d)- 3: four tensors, three edges, one of them a double bond.
    const spy = vi.mocked(treedp.treeDp);
    const t = { inputs: [[0, 1, 4], [0, 1, 2], [2, 3, 5], [3]], output: [4, 5], sizes: [2, 3, 4, 5, 6, 2] };
    const net = buildNetwork(t.inputs, t.output, t.sizes);
    spy.mockClear();
    const options = { objective: 'flops', memoryLimit: Infinity, deadline: Infinity, algorithm: 'dp' } as const;
    const tree = dpTree(net, options)!;
    expect(spy).toHaveBeenCalledTimes(1);
    expect(spy.mock.results[0]!.value).toBeDefined();
    const cost = (x: Tree): number => objectiveValue(scoreSsa(net, treeToSsa(x, net.n)), 'flops');
    expect(cost(tree)).toBe(cost(dpTree(net, { ...options, treeShortcut: false })!));
  });

  it('optimal stops on its time budget inside the exact search', () => {
    // 16 tensors: the unbounded search takes most of a second here; 5 ms stops it long before.
    const net = randomRegular(16, 3, 1, 2, 4);
    clearPlanCache();
    expect(thrown(() => planContraction(net, { optimize: 'optimal', timeBudgetMs: 5 })).message)
      .toMatch(/'optimal' path search did not finish within its time budget of 5 ms/);
  });

  it('optimal refuses more than 30 operands and says how many there are', () => {
    const net = randomRegular(32, 3, 2, 2, 3);
    const err = thrown(() => planContraction({ ...net, inputs: [...net.inputs.slice(0, 31)] }, { optimize: 'optimal' }));
    expect(err).toBeInstanceOf(EinjitError);
    expect(err.message).toContain('optimal searches at most 30 operands, this expression has 31');
  });

  it('auto starts from a batch of random-greedy trials beyond 30 operands only', () => {
    const spy = vi.mocked(greedy.randomGreedy);
    const batches = (): number[] => spy.mock.calls.filter(([, o]) => o.soft === true).map(([, o]) => o.trials);
    // Random 3-regular graphs have an even number of tensors; one more open tensor makes 31.
    const net30 = randomRegular(30, 3, 4, 2, 4);
    const net31 = { ...net30, inputs: [...net30.inputs, [net30.sizes.length]], output: [net30.sizes.length], sizes: [...net30.sizes, 3] };
    for (const [net, optimize, expected] of [[net30, 'auto', []], [net31, 'auto', [32]], [net31, 'auto-hq', [128]]] as const) {
      clearPlanCache();
      spy.mockClear();
      planContraction(net, { optimize, timeBudgetMs: Infinity, seed: 1 });
      expect(batches(), `${optimize}, ${net.inputs.length} tensors`).toEqual(expected);
    }
  });

  it('auto-hq spends at most its default effort when the caller allows more', () => {
    const spy = vi.mocked(optimizers.getOptimizer);
    const net = randomRegular(12, 3, 5, 2, 4);
    for (const optimize of ['auto', 'auto-hq'] as const) {
      clearPlanCache();
      spy.mockClear();
      const t0 = performance.now();
      // Only the deadline the search is handed matters here: greedy's path stands in for the search.
      let handed = NaN;
      spy.mockImplementationOnce(() => (n, o) => {
        handed = o.deadline - t0;
        return { ssa: greedy.greedyBest(n, Infinity), chosen: 'greedy' };
      });
      planContraction(net, { optimize, timeBudgetMs: 60_000 });
      expect(spy).toHaveBeenCalledTimes(1);
      const cap = optimize === 'auto' ? optimizers.AUTO_DEFAULT_BUDGET_MS : optimizers.AUTO_HQ_DEFAULT_BUDGET_MS;
      expect(handed, optimize).toBeLessThanOrEqual(cap + 5_000);
      expect(handed, optimize).toBeGreaterThan(0);
    }
  });

  it('reconfiguration leaves regions under 1e-4 of the tree alone unless told otherwise', () => {
    // A chain a-b-c contracted badly (a × c first: an outer product) next to a costly pair d, e. With regions
    // of at most three leaves, the chain's region is one of its own, worth about 10^-6 of the whole.
    const inputs = [[0, 1], [1, 2], [2, 3], [3, 4, 5], [4, 5, 6]];
    const sizes = [2, 2, 2, 2, 60, 60, 60];
    const net = buildNetwork(inputs, [0, 6], sizes);
    const bad = node(node(node(leaf(0), leaf(2)), leaf(1)), node(leaf(3), leaf(4)));
    const cost = (x: Tree): number => objectiveValue(scoreSsa(net, treeToSsa(x, net.n)), 'flops');
    const base = { maxLeaves: 3, memoryLimit: Infinity, deadline: Infinity };
    const untouched = reconfigure(net, bad, base);
    const fixed = reconfigure(net, bad, { ...base, minShare: 0 });
    expect(cost(fixed)).toBeLessThan(cost(bad));
    expect(cost(untouched)).toBe(cost(bad));
  });
});
