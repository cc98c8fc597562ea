/**
 * Corners of src/plan that a fresh mutation sample (seed 20261210) found unpinned:
 * - opt_einsum's own greedy variant (α = 1, each operand offering its best pair) alone, not the best of the
 *   variants `greedy` runs, which hides one variant's wrong choice behind another's: on the conformance corpus it
 *   reproduces opt_einsum's recorded greedy costs;
 * - the rotation annealer's costs on networks whose steps pass 2^512 (products taken in chunks) and 2^960 (costs
 *   held scaled by a power of two), against an exact replay;
 * - `optimal` on a component of more than 31 indices (its bigint index sets), against dp and greedy.
 */
import { describe, expect, it } from 'vitest';
import { greedyRun } from '../../src/plan/greedy.js';
import { planContraction, replayCostExact } from '../../src/plan/index.js';
import { buildNetwork, leaf, node, objectiveValue, scoreSsa, type Tree } from '../../src/plan/network.js';
import { rotateAnneal } from '../../src/plan/rotate.js';
import { makeRng } from '../../src/plan/heap.js';
import { loadPathCases } from './cases.js';

describe("opt_einsum's greedy variant alone", () => {
  it('costs what opt_einsum\'s greedy recorded on every corpus network of three or more operands', () => {
    let equal = 0;
    let cheaper = 0;
    let networks = 0;
    for (const c of loadPathCases()) {
      const recorded = c.runs.get('greedy');
      if (recorded?.status !== 'ok' || recorded.opt_cost === undefined || c.inputs.length < 3) continue;
      networks++;
      const { score } = greedyRun(buildNetwork(c.inputs, c.output, c.sizes), {
        alpha: 1, queue: 'best', temperature: 0, nbranch: 1, rng: makeRng(1), memoryLimit: Infinity,
      });
      const cost = objectiveValue(score, 'flops');
      const want = Number(recorded.opt_cost);
      expect(cost, `${c.id} ${c.name}`).toBeLessThanOrEqual(want * (1 + 1e-12));
      if (Math.abs(cost - want) <= want * 1e-12) equal++;
      else cheaper++;
    }
    expect(networks).toBe(158);
    // One network has tied pairs that opt_einsum's heap breaks the other way, to a costlier path.
    expect([equal, cheaper]).toEqual([157, 1]);
  });
});

describe('the rotation annealer on huge networks', () => {
  /** Operands [[x, y], [y, z], [u], [v]] → [x, z, u, v], contracted as ((0, 1), (2, 3)). */
  function fourOperands(big: number): { tree: Tree; inputs: number[][]; output: number[]; sizes: number[] } {
    return {
      tree: node(node(leaf(0), leaf(1)), node(leaf(2), leaf(3))),
      inputs: [[0, 1], [1, 2], [3], [4]], output: [0, 2, 3, 4], sizes: [big, big, big, 2, 3],
    };
  }
  const exact = (n: ReturnType<typeof fourOperands>): number =>
    Number(replayCostExact(n.inputs, n.output, n.sizes, [[0, 1], [0, 1], [0, 1]]));

  it('steps past 2^512 but not 2^960: the cost is unscaled', () => {
    // (0, 1) costs 2·(10^60)³ = 2·10^180 ≈ 2^599: its product is renormalised once by 2^512.
    const n = fourOperands(1e60);
    const { cost } = rotateAnneal(buildNetwork(n.inputs, n.output, n.sizes), n.tree, { rng: makeRng(3), moves: 0, temperature: 0 });
    expect(Math.abs(cost - exact(n)) / exact(n)).toBeLessThan(1e-12);
  });

  it('steps past 2^960: every step, the small ones too, is held × 2^-(⌈log2 of the largest step⌉ − 960)', () => {
    // (0, 1) costs 2·10^300 ≈ 2^997.9, so scale = 998 − 960 = 38; (2, 3) costs 6, held as 6·2^-38.
    const n = fourOperands(1e100);
    const { cost } = rotateAnneal(buildNetwork(n.inputs, n.output, n.sizes), n.tree, { rng: makeRng(3), moves: 0, temperature: 0 });
    const steps = [2e300, 6, 1e200 * 6];
    const want = steps.reduce((s, x) => s + x * 2 ** -38, 0);
    expect(Math.ceil(Math.log2(2e300))).toBe(998);
    expect(Math.abs(cost - want) / want).toBeLessThan(1e-12);
    expect(Math.abs(want * 2 ** 38 - exact(n)) / exact(n)).toBeLessThan(1e-12);
  });
});

describe('optimal over more than 31 indices in one component', () => {
  it('a ring of four operands joined by ten indices per edge: optimal finds dp\'s cost, never above greedy\'s', () => {
    const inputs: number[][] = [[], [], [], []];
    const sizes: number[] = [];
    for (let e = 0; e < 4; e++) {
      for (let j = 0; j < 10; j++) {
        inputs[e]!.push(sizes.length);
        inputs[(e + 1) % 4]!.push(sizes.length);
        sizes.push(2 + ((3 * e + j) % 4));
      }
    }
    const net = { inputs, output: [0, 10], sizes, labels: sizes.map((_, i) => `i${i}`) };
    const optimal = planContraction(net, { optimize: 'optimal' });
    const dp = planContraction(net, { optimize: 'dp' });
    const greedy = planContraction(net, { optimize: 'greedy' });
    expect(optimal.cost).toBe(dp.cost);
    expect(optimal.cost).toBeLessThanOrEqual(greedy.cost);
    expect(optimal.cost).toBe(Number(replayCostExact(inputs, [0, 10], sizes, optimal.path)));
  });
});

describe('objectives as counts', () => {
  it("'size' is the largest intermediate, 'write' the elements written, 'combo' flops + 64·write", () => {
    // 'ij,jk,kl->il' with i=8, j=16, k=32, l=4 along ((0, 1), 2): ik (8·32 = 256 elements, 2·8·16·32 = 8,192
    // flops), then il (32, 2·8·32·4 = 2,048 flops).
    const net = buildNetwork([[0, 1], [1, 2], [2, 3]], [0, 3], [8, 16, 32, 4]);
    const score = scoreSsa(net, [[0, 1], [3, 2]]);
    expect(objectiveValue(score, 'flops')).toBe(8192 + 2048);
    expect(objectiveValue(score, 'size')).toBe(256);
    expect(objectiveValue(score, 'write')).toBe(256 + 32);
    expect(objectiveValue(score, 'combo')).toBe(8192 + 2048 + 64 * (256 + 32));
  });
});

// Seed 20261211.
describe('two operands', () => {
  it("are one step, which auto and auto-hq report as their single step", () => {
    const net = { inputs: [[0, 1], [1, 2]], output: [0, 2], sizes: [2, 3, 4], labels: ['i', 'j', 'k'] };
    for (const optimize of ['auto', 'auto-hq'] as const) {
      const plan = planContraction(net, { optimize });
      expect(plan.path).toEqual([[0, 1]]);
      expect(plan.optimizer).toBe(`${optimize}:single-step`);
    }
    expect(planContraction(net, { optimize: 'greedy' }).optimizer).toBe('greedy');
  });
});
