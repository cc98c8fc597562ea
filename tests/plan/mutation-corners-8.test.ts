/**
 * Planner corners found by mutation testing (seed 20261219's sample of src/plan):
 * - the exact search over more than 31 indices (its sets are bigints) prices each step as over 31 (numbers): a
 *   step that sums nothing costs once, one that sums costs twice;
 * - replayPath hands back its own copy of the path, not the caller's arrays;
 * - hyper spends about 30 % of its trials reconfiguring the best tree so far (the rest are random-greedy runs).
 */
import { describe, expect, it } from 'vitest';
import { randomRegular } from '../../bench/network-gen.js';
import { bitsOf } from '../../src/plan/bits.js';
import { solveExact } from '../../src/plan/exact.js';
import { planContraction, replayPath } from '../../src/plan/index.js';
import { ssaToLinear, treeToSsa } from '../../src/plan/network.js';

/**
 * A ring of `m` tensors whose neighbours share a bond of 8 values, written as `width` indices of size 8^(1/width)
 * (3 of size 2, or 1 of size 8: the same costs); every third tensor has an open index of size 3, kept. One more
 * tensor holds only tensor 0's open index: the step that takes it in sums nothing.
 */
function ring(m: number, width: number): { inputs: number[][]; output: number[]; sizes: number[] } {
  const sizes: number[] = [];
  const bonds: number[][] = [];
  for (let b = 0; b < m; b++) {
    bonds.push(Array.from({ length: width }, () => sizes.push(2 ** (3 / width)) - 1));
  }
  const inputs = Array.from({ length: m }, (_, t) => [...bonds[t]!, ...bonds[(t + 1) % m]!]);
  const output: number[] = [];
  for (let t = 0; t < m; t += 3) {
    output.push(sizes.length);
    inputs[t]!.push(sizes.length);
    sizes.push(3);
  }
  inputs.push([output[0]!]);
  return { inputs, output, sizes };
}

describe('plan corners (mutation sample 20261219)', () => {
  it('the exact search costs a network the same with its bonds split over 36 indices (bigint sets) or merged into 12', () => {
    const split = ring(12, 3);
    const merged = ring(12, 1);
    expect(split.sizes.length).toBe(40);
    const solve = (n: ReturnType<typeof ring>, memoryLimit: number) => {
      const words = Math.ceil(n.sizes.length / 32);
      return solveExact({
        leaves: n.inputs.map((t) => bitsOf(t, words)),
        keep: bitsOf(n.output, words),
        size: Float64Array.from(n.sizes),
        memoryLimit,
        deadline: Infinity,
        algorithm: 'optimal',
        finalStep: true,
      })!;
    };
    for (const limit of [Infinity, 200]) {
      const a = solve(split, limit);
      const b = solve(merged, limit);
      expect(a.cost, `limit ${limit}`).toBe(b.cost);
      // And the cost it reports is the cost of the tree it returns.
      const path = ssaToLinear(treeToSsa(a.tree, 13), 13);
      expect(replayPath(split.inputs, split.output, split.sizes, path).cost, `limit ${limit}`).toBe(a.cost);
    }
  });

  it("replayPath's path is its own copy", () => {
    const path = [[0, 1], [0, 1]];
    const replay = replayPath([[0, 1], [1, 2], [2, 3]], [0, 3], [2, 3, 4, 5], path);
    path[0]![0] = 1;
    path[1]!.push(7);
    expect(replay.path).toEqual([[0, 1], [0, 1]]);
  });

  it('hyper reconfigures the best tree in about 30 % of its trials', () => {
    const net = randomRegular(20, 3, 9, 2, 4);
    const plan = planContraction(net, { optimize: 'hyper', trials: 200, seed: 5, timeBudgetMs: Infinity });
    const trials = plan.trials!.filter((t) => t.method === 'reconfigure' || t.method === 'random-greedy');
    expect(trials).toHaveLength(200);
    const share = trials.filter((t) => t.method === 'reconfigure').length / trials.length;
    // 200 draws at 0.3: a standard deviation of 0.032.
    expect(share).toBeGreaterThan(0.2);
    expect(share).toBeLessThan(0.4);
  });
});
