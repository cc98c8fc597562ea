/**
 * Planner corners found by mutation testing (seed 20261222's sample of src/plan): the tree of an SSA path keeps
 * a one-operand step as a leaf summed over its own indices first (and drops one over an intermediate, which has
 * none of its own), so that the path comes back from the tree; greedy's scores past a double take the larger
 * operand's own indices out of the result's size; and the planner refuses index sizes of 2^512 and more (its
 * counts' mantissas would pass a double, and normalising Infinity never ended).
 */
import { describe, expect, it } from 'vitest';
import { planContraction } from '../../src/plan/index.js';
import { leaf, node, ssaTree, treeToSsa } from '../../src/plan/network.js';
import { thrown } from '../helpers/thrown.js';

describe('the tree of an SSA path', () => {
  it('marks a leaf summed over its own indices by a one-operand step, and round-trips', () => {
    // Inputs 0..2; [0] sums input 0 first (id 3), then [1, 2] (id 4), then [3, 4].
    const ssa = [[0], [1, 2], [3, 4]];
    expect(ssaTree(ssa, 3)).toEqual(node(leaf(0, true), node(leaf(1), leaf(2))));
    expect(treeToSsa(ssaTree(ssa, 3), 3)).toEqual(ssa);
    // Leaves not so summed stay plain, and a one-operand step over an intermediate leaves it as it is.
    expect(ssaTree([[0, 1], [2], [3, 4]], 3)).toEqual(node(node(leaf(0), leaf(1)), leaf(2, true)));
    expect(ssaTree([[0, 1], [2]], 2)).toEqual(node(leaf(0), leaf(1)));
  });
});

describe('greedy past a double', () => {
  it("takes the larger operand's own indices out of the size of a pair's result", () => {
    // A = [p, b], B = [b, c], C = [c, d] → [d], |p| = 2^1000 (A's own), |b| = 2^600, |c| = 2^10, |d| = 2^700, each
    // of p, b and d written as two indices of half its log2 size (the planner takes index sizes below 2^512).
    // (A, B) leaves [c] (2^10) from 2^1600 + 2^610; (B, C) leaves [b, d] (2^1300). Greedy takes (A, B) first
    // (about 2^1610 flops in all). Counting p into the result of (A, B) instead of out of it (2^2010) would take
    // (B, C) first and then contract A with [b, d]: about 2^2300 flops.
    const [p1, p2, b1, b2, c, d1, d2] = [0, 1, 2, 3, 4, 5, 6];
    const plan = planContraction({ inputs: [[p1, p2, b1, b2], [b1, b2, c], [c, d1, d2]], output: [d1, d2], sizes: [2 ** 500, 2 ** 500, 2 ** 300, 2 ** 300, 2 ** 10, 2 ** 350, 2 ** 350] }, { optimize: 'greedy' });
    expect(plan.path).toEqual([[0, 1], [0, 1]]);
    expect(plan.log10Cost).toBeLessThan(1611 * Math.log10(2));
  });

  it('index sizes of 2^512 and more are refused (a product of them could pass a double), not looped over', () => {
    const net = (size: number) => ({ inputs: [[0, 1], [1, 2], [2, 3]], output: [3], sizes: [size, 2 ** 500, 2 ** 10, 2 ** 500] });
    const e = thrown(() => planContraction(net(2 ** 512), { optimize: 'greedy' }));
    expect(e.reason).toBe(`index 0 has size ${2 ** 512}: the planner takes sizes from 0 up to below 2^512`);
    expect(e.hint).toBe('split a larger index into several smaller ones');
    for (const bad of [2 ** 1000, Infinity, NaN, -1]) expect(() => planContraction(net(bad)), String(bad)).toThrow('the planner takes sizes');
    expect(planContraction(net(2 ** 511), { optimize: 'greedy' }).path).toHaveLength(2);
  });
});
