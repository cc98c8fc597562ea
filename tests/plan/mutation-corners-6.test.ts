/**
 * Planner corners found by mutation testing (seed 20261217's sample of src/plan): tree-shaped components solved
 * by tree dp (treedp.ts) rather than left to dp's general search, which reaches the same optimum slower, so that
 * only the shortcut itself shows whether it ran; dp's final k-way step under a memory limit over groups holding
 * operands 26 and up (their membership lives in a second word); reconfiguration handed a tree with a step of
 * three operands.
 */
import { describe, expect, it, vi } from 'vitest';
import { dpTree } from '../../src/plan/dp.js';
import { planContraction, replayPath } from '../../src/plan/index.js';
import { randomRegular } from '../../bench/network-gen.js';
import { buildNetwork, leaf, node, objectiveValue, scoreSsa, treeToSsa } from '../../src/plan/network.js';
import { reconfigure } from '../../src/plan/reconfigure.js';
import * as treedp from '../../src/plan/treedp.js';

vi.mock('../../src/plan/treedp.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/plan/treedp.js')>();
  return { ...real, treeDp: vi.fn(real.treeDp) };
});

/** A random tree of `m` tensors: tensor k > 0 shares one index with a random earlier tensor; sizes 2-6. */
function randomTree(m: number, seed: number): { inputs: number[][]; output: number[]; sizes: number[] } {
  let s = seed;
  const rand = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  const inputs: number[][] = Array.from({ length: m }, () => []);
  const sizes: number[] = [];
  for (let k = 1; k < m; k++) {
    const parent = Math.floor(rand() * k);
    const id = sizes.length;
    sizes.push(2 + Math.floor(rand() * 5));
    inputs[parent]!.push(id);
    inputs[k]!.push(id);
  }
  // An open index on a few tensors, so that the result is not a scalar and leaves differ in size.
  for (let k = 0; k < m; k += 3) {
    inputs[k]!.push(sizes.length);
    sizes.push(2 + Math.floor(rand() * 3));
  }
  const output = sizes.map((_, i) => i).filter((i) => inputs.filter((t) => t.includes(i)).length === 1);
  return { inputs, output, sizes };
}

const costOf = (net: ReturnType<typeof buildNetwork>, tree: NonNullable<ReturnType<typeof dpTree>>): number =>
  objectiveValue(scoreSsa(net, treeToSsa(tree, net.n)), 'flops');

describe('plan corners (mutation sample 20261217)', () => {
  it('dp solves a tree-shaped network through tree dp, at the cost of its general search', () => {
    const spy = vi.mocked(treedp.treeDp);
    for (const [m, seed] of [[3, 2], [6, 3], [8, 4], [12, 5], [16, 6]] as const) {
      const t = randomTree(m, seed);
      const net = buildNetwork(t.inputs, t.output, t.sizes);
      spy.mockClear();
      const options = { objective: 'flops', memoryLimit: Infinity, deadline: Infinity, algorithm: 'dp' } as const;
      const shortcut = dpTree(net, options)!;
      // The shortcut ran and answered: one call, a tree over every tensor.
      expect(spy).toHaveBeenCalledTimes(1);
      const answered = spy.mock.results[0]!.value as ReturnType<typeof treedp.treeDp>;
      expect(answered?.tree).toEqual(shortcut);
      const general = dpTree(net, { ...options, treeShortcut: false })!;
      expect(costOf(net, shortcut)).toBe(costOf(net, general));
      // And planContraction's dp reports that cost.
      expect(planContraction(t, { optimize: 'dp' }).cost).toBe(costOf(net, general));
    }
    // Two tensors are one step: no search at all, the shortcut answers nothing.
    const two = randomTree(2, 1);
    spy.mockClear();
    dpTree(buildNetwork(two.inputs, two.output, two.sizes), { objective: 'flops', memoryLimit: Infinity, deadline: Infinity, algorithm: 'dp' });
    expect(spy.mock.results.every((r) => r.value === undefined)).toBe(true);
  });
});

describe('reconfiguration', () => {
  it('hands back a tree with a step of three operands as it is (it rewrites pairwise trees only)', () => {
    const net = buildNetwork([[0, 1], [1, 2], [2, 3], [3, 0]], [], [3, 4, 5, 6]);
    const tree = node(node(leaf(0), leaf(1), leaf(2)), leaf(3));
    const options = { maxLeaves: 8, memoryLimit: Infinity, deadline: Infinity };
    expect(reconfigure(net, tree, options)).toBe(tree);
    // A pairwise tree of the same network is rewritten where that pays: ((0·2)·1)·3 makes a 3×4×5×6 intermediate.
    const poor = node(node(node(leaf(0), leaf(2)), leaf(1)), leaf(3));
    const better = reconfigure(net, poor, options);
    expect(objectiveValue(scoreSsa(net, treeToSsa(better, 4)), 'flops')).toBeLessThan(objectiveValue(scoreSsa(net, treeToSsa(poor, 4)), 'flops'));
  });
});

describe('dp under a memory limit past 26 operands', () => {
  it('ends with a k-way step over groups that hold operands 26 and up, a valid plan costing no more than greedy\'s', () => {
    // Random 3-regular networks of 28-34 tensors (sizes 2-4) under limits of 5-50 % of greedy's unlimited peak:
    // dp's plan ends with one step over 4 to 26 groups, some of them built from operands 26 and above, whose
    // membership dp keeps in a second 26-bit word.
    let highGroups = 0;
    for (const [n, seed, fraction] of [[30, 1, 0.3], [34, 3, 0.3], [28, 5, 0.5], [30, 6, 0.05], [28, 7, 0.3], [32, 9, 0.3]] as const) {
      const g = randomRegular(n, 3, seed, 2, 4);
      const net = { inputs: g.inputs, output: [] as number[], sizes: g.sizes };
      const base = planContraction(net, { optimize: 'greedy' });
      const limit = Math.max(1, Math.floor(Math.max(...base.steps.slice(0, -1).map((st) => st.resultSize)) * fraction));
      const plan = planContraction(net, { optimize: 'dp', memoryLimit: limit, timeBudgetMs: 60_000 });
      const greedy = planContraction(net, { optimize: 'greedy', memoryLimit: limit });
      // Every operand is contracted exactly once, in steps whose intermediates fit, and the plan costs what it says.
      const replay = replayPath(net.inputs, net.output, net.sizes, plan.path);
      expect(replay.cost).toBe(plan.cost);
      for (const st of replay.steps.slice(0, -1)) expect(st.resultSize).toBeLessThanOrEqual(limit);
      expect(plan.cost).toBeLessThanOrEqual(greedy.cost);
      // dp is exact over its groups: no costlier than the limited plan random-greedy finds (4-8× cheaper on the
      // first two networks; a membership that loses track of operands 26 and up falls back to greedy's).
      expect(plan.cost).toBeLessThanOrEqual(planContraction(net, { optimize: 'random-greedy', memoryLimit: limit, seed: 1 }).cost);
      const last = plan.steps.at(-1)!;
      expect(last.operands.length).toBeGreaterThanOrEqual(4);
      // The tensors behind each group of the last step, found by walking the path.
      const groups: number[][] = net.inputs.map((_, t) => [t]);
      for (const step of plan.path.slice(0, -1)) {
        const merged = step.flatMap((p) => groups[p]!);
        for (const p of [...step].sort((a, b) => b - a)) groups.splice(p, 1);
        groups.push(merged);
      }
      // Two groups of several tensors, one of them reaching past operand 25: groups are told apart by their members.
      const several = groups.filter((members) => members.length > 1);
      if (several.length >= 2 && several.some((members) => members.some((t) => t >= 26))) highGroups++;
      expect(groups.flat().sort((a, b) => a - b)).toEqual(net.inputs.map((_, t) => t));
    }
    expect(highGroups).toBe(6);
  });
});

