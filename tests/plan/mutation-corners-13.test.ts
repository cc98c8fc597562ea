/**
 * Planner corners found by mutation testing (seed 20261223's sample of src/plan, and the registry every algorithm
 * now runs through):
 * - a caller's budget is a hard limit for auto, auto-hq and (below its default) hyper, and without one auto's
 *   fixed restarts run to the end even past its default effort, so that a seed's path does not depend on the
 *   machine's speed;
 * - dp falls back to greedy and reconfiguration only when its exact search runs out of time;
 * - tree dp refuses an operand with an index of its own to sum, and a tree of more than 100,000 subtrees
 *   (seed 20261226);
 * - greedy's Hadamard groups are found past a hash collision (and a collision does not hang the grouping), and
 *   the first operand is not grouped with a later one that only shares its hash (seed 20261225);
 * - random-greedy returns its cheapest trial, the first of equally cheap ones (seed 20261225);
 * - reconfiguration grows a region by its costliest frontier node, and leaves a tree with a k-way step alone;
 * - rotations leave alone a tree with an operand summed over its own indices first (they cost no
 *   pre-reduction) or with a step over three operands or one.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { randomRegular } from '../../bench/network-gen.js';
import * as budget from '../../src/plan/budget.js';
import { BudgetExceeded } from '../../src/plan/budget.js';
import * as greedy from '../../src/plan/greedy.js';
import { dpTree } from '../../src/plan/dp.js';
import { clearPlanCache, planContraction } from '../../src/plan/index.js';
import { buildNetwork, leaf, node, objectiveValue, scoreSsa, treeToSsa } from '../../src/plan/network.js';
import { reconfigure } from '../../src/plan/reconfigure.js';
import { rotateAnneal } from '../../src/plan/rotate.js';
import { makeRng } from '../../src/plan/heap.js';
import * as treedp from '../../src/plan/treedp.js';

vi.mock('../../src/plan/budget.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/plan/budget.js')>();
  return { ...real, now: vi.fn(real.now) };
});
vi.mock('../../src/plan/treedp.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/plan/treedp.js')>();
  return { ...real, treeDp: vi.fn(real.treeDp) };
});
vi.mock('../../src/plan/greedy.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/plan/greedy.js')>();
  return { ...real, greedySsa: vi.fn(real.greedySsa) };
});

beforeEach(() => {
  clearPlanCache();
  vi.mocked(budget.now).mockReset().mockImplementation(() => performance.now());
  vi.mocked(greedy.greedySsa).mockReset().mockImplementation(greedy.greedySsa);
  vi.mocked(treedp.treeDp).mockClear();
});

/** Per index of `net`, the operands holding it (what dp hands tree dp). */
function holdersOf(net: ReturnType<typeof buildNetwork>): number[][] {
  const holders: number[][] = Array.from({ length: net.nIdx }, () => []);
  net.inputs.forEach((_, t) => net.lists.ids.subarray(net.lists.start[t], net.lists.start[t + 1]).forEach((i) => holders[i]!.push(t)));
  return holders;
}

/** How many restarts (one greedySsa call each) a plan's search starts, on a clock where each takes 10 ms. */
function restarts(optimize: 'auto' | 'auto-hq' | 'hyper', timeBudgetMs: number | undefined): number {
  clearPlanCache();
  let clock = 0;
  vi.mocked(budget.now).mockImplementation(() => clock);
  let count = 0;
  vi.mocked(greedy.greedySsa).mockReset().mockImplementation((...args) => {
    count++;
    clock += 10;
    return greedy.greedyBest(args[0], args[1].memoryLimit);
  });
  const plan = planContraction(randomRegular(24, 3, 11), { optimize, timeBudgetMs });
  expect(plan.optimizer).toBe(optimize === 'hyper' ? 'hyper' : `${optimize}:anneal`);
  return count;
}

describe('plan corners (mutation sample 20261223)', () => {
  it("holds auto and auto-hq to a caller's budget, and without one runs the fixed restarts to the end", () => {
    // auto: 8 fixed restarts, the first from greedy's path (no call). A budget of 40 ms stops them at 70 % of
    // it (starts at 0, 10, 20 ms); its default budget is also 40 ms, but without a caller's budget all 7 run.
    expect(restarts('auto', undefined)).toBe(7);
    expect(restarts('auto', 40)).toBe(3);
    expect(restarts('auto', Infinity)).toBe(7);
    // auto-hq: 128 fixed restarts; a caller's 100 ms stops them at 80 ms (starts at 0 ... 70 ms).
    expect(restarts('auto-hq', undefined)).toBe(127);
    expect(restarts('auto-hq', 100)).toBe(8);
  });

  it("holds hyper to a caller's budget below its default (250 ms), not to one at or above it", () => {
    // hyper starts from auto's path: auto's restarts stop at 70 % of its share under a strict budget.
    expect(restarts('hyper', undefined)).toBe(7);
    expect(restarts('hyper', 100)).toBe(3);
    expect(restarts('hyper', 249)).toBe(3);
    expect(restarts('hyper', 250)).toBe(7);
  });

  it('dp falls back to greedy and reconfiguration when its exact search runs out of time, and only then', () => {
    // A chain of five: tree-shaped, so the exact search hands it to tree dp, which the mocks make fail.
    const chain = buildNetwork([[0, 1], [1, 2], [2, 3], [3, 4], [4, 5]], [0, 5], [2, 3, 4, 5, 6, 7]);
    const o = { objective: 'flops' as const, memoryLimit: Infinity, deadline: Infinity, algorithm: 'dp' };
    vi.mocked(treedp.treeDp).mockImplementationOnce(() => {
      throw new TypeError('not a budget');
    });
    expect(() => dpTree(chain, o)).toThrow('not a budget');
    vi.mocked(treedp.treeDp).mockImplementationOnce(() => {
      throw new BudgetExceeded('dp');
    });
    const fallback = dpTree(chain, o)!;
    expect(vi.mocked(treedp.treeDp)).toHaveBeenCalledTimes(2);
    // The fallback's tree is as cheap as the exact one here (a chain's best tree is greedy's, reconfigured).
    const exact = dpTree(chain, o)!;
    const value = (t: typeof exact): number => objectiveValue(scoreSsa(chain, treeToSsa(t, 5)), 'flops');
    expect(value(fallback)).toBe(value(exact));
  });

  it('tree dp refuses a tree with more than 100,000 subtrees (a star of 17 leaves has 2^17 + 17)', () => {
    // A star: operand 0 shares index i with leaf i. Its subtrees: every set of leaves with the centre, and each
    // leaf alone: 2^16 + 16 = 65,552 for 16 leaves (solved), 131,089 for 17 (refused, before any is built).
    const star = (leaves: number) => {
      const inputs = [Array.from({ length: leaves }, (_, i) => i), ...Array.from({ length: leaves }, (_, i) => [i, leaves + i])];
      const net = buildNetwork(inputs, inputs.slice(1).map((t) => t[1]!), inputs.flat().map(() => 2));
      const members = Array.from({ length: net.n }, (_, t) => t);
      return treedp.treeDp(net, members, holdersOf(net), net.inputs, 'flops', performance.now() + 20_000, 'dp');
    };
    expect(star(17)).toBeUndefined();
    expect(star(16)).toBeDefined();
  });

  it('tree dp refuses a tree-shaped component in which an operand has an index of its own to sum', () => {
    // ab x, bc, cd -> ad: x is operand 0's own (one holder), summed before any join; without x the chain is solved.
    const own = buildNetwork([[0, 1, 9], [1, 2], [2, 3]], [0, 3], [2, 3, 4, 5, 0, 0, 0, 0, 0, 6]);
    const plain = buildNetwork([[0, 1], [1, 2], [2, 3]], [0, 3], [2, 3, 4, 5]);
    const legs = plain.inputs;
    expect(treedp.treeDp(plain, [0, 1, 2], holdersOf(plain), legs, 'flops', Infinity, 'dp')).toBeDefined();
    expect(treedp.treeDp(own, [0, 1, 2], holdersOf(own), [legs[0]!, ...own.inputs.slice(1)], 'flops', Infinity, 'dp')).toBeUndefined();
  });
});

describe('greedy', () => {
  it("finds a Hadamard group past another index list with the same 32-bit hash", () => {
    // Index lists {3, 6, 12, 25, 26, 30} and {1, 17, 22, 23, 24, 29} hash alike (greedy's FNV-style hash of the
    // sorted compact ids; two fillers introduce ids 0..30 in order). Operands 4 and 5 hold the second list: their
    // Hadamard product comes first, and operand 2, earlier on the same hash chain, is not part of it.
    const fill = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, k) => from + k);
    const a = [3, 6, 12, 25, 26, 30];
    const b = [1, 17, 22, 23, 24, 29];
    const net = { inputs: [fill(0, 16), fill(16, 31), a, [0, 2], b, b], output: [0], sizes: fill(0, 31).map(() => 2) };
    const plan = planContraction(net, { optimize: 'greedy' });
    expect(plan.path[0]).toEqual([4, 5]);
    expect(plan.steps[0]!.result).toEqual(b);
  });

  it('does not group the first operand with a later one whose different index list has its hash', () => {
    // {0, 1, 2, 3} (operand 0's, so its ids are the first four) and {10, 47, 53, 99, 102, 121} hash alike (found
    // by a meet-in-the-middle search); fillers introduce ids 4..121 in order. Operands 7 and 8 hold the second
    // list: their Hadamard product comes first, and operand 0 is not part of it.
    const fill = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, k) => from + k);
    const b = [10, 47, 53, 99, 102, 121];
    const fillers = [fill(4, 24), fill(24, 44), fill(44, 64), fill(64, 84), fill(84, 104), fill(104, 122)];
    const net = { inputs: [[0, 1, 2, 3], ...fillers, b, b], output: [0], sizes: fill(0, 122).map(() => 2) };
    const plan = planContraction(net, { optimize: 'greedy' });
    expect(plan.path[0]).toEqual([7, 8]);
    expect(plan.steps[0]!.result).toEqual(b);
  });
});

describe('reconfiguration', () => {
  // A random 3-regular network of seven tensors and a random tree over it.
  const net = buildNetwork(
    [[5, 6, 9], [2, 4, 7], [0, 8], [6, 7, 9], [1, 2, 3], [1, 3, 8], [0, 4, 5]],
    [],
    [6, 6, 2, 5, 5, 5, 9, 7, 5, 8],
  );
  const value = (t: ReturnType<typeof leaf>): number => objectiveValue(scoreSsa(net, treeToSsa(t, 7)), 'flops');

  it('grows each region by its costliest frontier node', () => {
    // ((2, 1), ((5, 0), (4, (6, 3)))): one pass with regions of up to five subtrees reaches the optimum (found
    // by optimal's exhaustive search). Growing regions by the first, the last or the cheapest frontier node
    // instead, or by the later of two equally costly ones, leaves it 23 % to 99 % costlier.
    const tree = node(node(leaf(2), leaf(1)), node(node(leaf(5), leaf(0)), node(leaf(4), node(leaf(6), leaf(3)))));
    const optimum = planContraction({ inputs: [[5, 6, 9], [2, 4, 7], [0, 8], [6, 7, 9], [1, 2, 3], [1, 3, 8], [0, 4, 5]], output: [], sizes: [6, 6, 2, 5, 5, 5, 9, 7, 5, 8] }, { optimize: 'optimal' }).cost;
    expect(value(tree)).toBeGreaterThan(optimum);
    const solved = reconfigure(net, tree, { maxLeaves: 5, memoryLimit: Infinity, deadline: Infinity, maxPasses: 1, minShare: 0 });
    expect(value(solved)).toBe(optimum);
  });

  it('leaves a tree with a step over three subtrees as it is, wherever that step is', () => {
    const o = { maxLeaves: 5, memoryLimit: Infinity, deadline: Infinity };
    const right = node(node(leaf(2), leaf(1)), node(leaf(5), leaf(0), node(leaf(4), node(leaf(6), leaf(3)))));
    const left = node(node(leaf(5), leaf(0), node(leaf(4), node(leaf(6), leaf(3)))), node(leaf(2), leaf(1)));
    expect(reconfigure(net, right, o)).toBe(right);
    expect(reconfigure(net, left, o)).toBe(left);
  });
});

describe('rotations', () => {
  it('leave a tree with a pre-reduced operand or a k-way step as it is', () => {
    // ab x, bc, cd -> ad with x summed out of operand 0 first: a leaf rotations cannot cost.
    const net = buildNetwork([[0, 1, 4], [1, 2], [2, 3]], [0, 3], [2, 3, 4, 5, 6]);
    const params = { rng: makeRng(1), moves: 50, temperature: 0.15 };
    const reduced = node(node(leaf(0, true), leaf(1)), leaf(2));
    expect(rotateAnneal(net, reduced, params)).toEqual({ tree: reduced, cost: Infinity });
    expect(rotateAnneal(net, reduced, params).tree).toBe(reduced);
    // The same tree without the pre-reduction is annealed (a finite cost).
    expect(rotateAnneal(net, node(node(leaf(0), leaf(1)), leaf(2)), params).cost).toBeLessThan(Infinity);
    // So is a tree with a step over three operands, or over one.
    for (const odd of [node(leaf(0), leaf(1), leaf(2)), node(node(node(leaf(0)), leaf(1)), leaf(2))]) {
      expect(rotateAnneal(net, odd, params)).toEqual({ tree: odd, cost: Infinity });
    }
  });
});

describe('random-greedy', () => {
  const plain = { alpha: 1, queue: 'best' as const, temperature: 0, nbranch: 1, memoryLimit: Infinity };

  it('returns its cheapest trial, the first of equally cheap ones', () => {
    // A random 3-regular network of 24 tensors: some randomised trial beats plain greedy (trial 0).
    const g = randomRegular(24, 3, 5);
    const net = buildNetwork(g.inputs, g.output, g.sizes);
    const greedyValue = objectiveValue(greedy.greedyRun(net, { ...plain, rng: makeRng(1) }).score, 'flops');
    const found = greedy.randomGreedy(net, { trials: 32, seed: 4, memoryLimit: Infinity, deadline: Infinity, objective: 'flops' });
    expect(found.value).toBe(objectiveValue(scoreSsa(net, found.ssa), 'flops'));
    expect(found.value).toBeLessThan(greedyValue);
    // A triangle of equal sizes: every plan costs the same, so trial 0's (plain greedy's) path is kept.
    const triangle = buildNetwork([[0, 1], [1, 2], [2, 0]], [], [5, 5, 5]);
    const tied = greedy.randomGreedy(triangle, { trials: 32, seed: 4, memoryLimit: Infinity, deadline: Infinity, objective: 'flops' });
    expect(tied.ssa).toEqual(greedy.greedyRun(triangle, { ...plain, rng: makeRng(1) }).ssa);
  });
});
