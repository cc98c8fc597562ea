/**
 * Planner corners found by mutation testing (seed 20261220's sample of src/plan): the refusal of an `optimize`
 * that is neither a name nor a path names what it got; the annealer's costs on networks whose steps pass 2^1024
 * (taken in chunks of 2^512, then scaled) and span hundreds of orders of magnitude (the running total, which
 * lost the small steps' digits when a move removed the large ones, and went negative).
 */
import { describe, expect, it } from 'vitest';
import { randomRegular } from '../../bench/network-gen.js';
import { einsumPath } from '../../src/index.js';
import { greedyBest } from '../../src/plan/greedy.js';
import { makeRng } from '../../src/plan/heap.js';
import { explicitPath } from '../../src/plan/interop.js';
import { buildNetwork, scoreSsa, ssaTree, treeToSsa } from '../../src/plan/network.js';
import { rotateAnneal } from '../../src/plan/rotate.js';
import { thrown } from '../helpers/thrown.js';

describe('plan corners (mutation sample 20261220)', () => {
  it('an optimize that is neither a name nor a path is refused, naming its type', () => {
    const shapes = [[2, 3], [3, 4], [4, 5]];
    for (const [optimize, got] of [[5, 'number'], [{}, 'object'], [true, 'boolean']] as const) {
      const e = thrown(() => einsumPath('ab,bc,cd->ad', shapes, { optimize: optimize as never }));
      expect(e.op).toBe('einsumPath');
      expect(e.reason).toBe(`optimize must be an algorithm name or a path, got ${got}`);
    }
    // null never reaches it through the API (it means the default there); called directly, it is named too.
    expect(thrown(() => explicitPath(null, 3)).reason).toBe('optimize must be an algorithm name or a path, got null');
  });

  it("the annealer's cost is its tree's cost on networks whose steps pass 2^1024, and it still finds cheaper trees", () => {
    let improved = 0;
    for (const [n, seed] of [[10, 1], [12, 2], [16, 3], [20, 4], [30, 5]] as const) {
      // Index sizes 2^210 to 2^270: one step of three indices already passes 2^512, one of six 2^1024.
      const g = randomRegular(n, 3, seed, 2, 8);
      const net = buildNetwork(g.inputs, g.output, g.sizes.map((s) => 2 ** (190 + 10 * s)));
      const start = greedyBest(net, Infinity);
      const r = rotateAnneal(net, ssaTree(start, n), { rng: makeRng(7), moves: 3000, temperature: 0.15 });
      const log2 = (f: { m: number; e: number }): number => Math.log2(f.m) + f.e;
      const mine = log2(scoreSsa(net, treeToSsa(r.tree, n)).flops);
      // The reported cost is the tree's × 2^-scale for a whole scale (up to the running sum's rounding).
      expect(r.cost, `${n} tensors`).toBeGreaterThan(0);
      const scale = mine - Math.log2(r.cost);
      expect(Math.abs(scale - Math.round(scale)), `${n} tensors`).toBeLessThan(0.01);
      const before = log2(scoreSsa(net, start).flops);
      expect(mine, `${n} tensors`).toBeLessThanOrEqual(before);
      if (mine < before - 1) improved++;
    }
    expect(improved).toBeGreaterThanOrEqual(3);
  });
});
