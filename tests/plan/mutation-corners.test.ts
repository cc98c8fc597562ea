/**
 * Corners of src/plan the planner tests ran through without looking at: the report's remaining-operands column
 * when a step's operands are listed in ascending order, its largest intermediate past a double's range, the
 * largest intermediate a path score keeps, the cost of greedy's k-way step when a memory limit allows no pair,
 * the order dp joins more than twelve disconnected components in, a count that carries past 2^512, and a
 * reconfigured region whose best tree sums an operand's own index first. Every expected value is derived by hand
 * in the comments (step cost = prod(union) × (max(1, k − 1) + [an index is removed])).
 */
import { describe, expect, it } from 'vitest';

import { addFlops } from '../../src/plan/flops.js';
import { greedyRun } from '../../src/plan/greedy.js';
import { formatReport, planContraction } from '../../src/plan/index.js';
import { buildNetwork, leaf, node, scoreSsa, treeToSsa } from '../../src/plan/network.js';
import { reconfigure } from '../../src/plan/reconfigure.js';

// 'ij,jk,kl->il' with i=8, j=16, k=32, l=4
const chain = { inputs: [[0, 1], [1, 2], [2, 3]], output: [0, 3], sizes: [8, 16, 32, 4], labels: ['i', 'j', 'k', 'l'] };

describe('the report', () => {
  it('takes a step\'s operands out of the remaining list by position, ascending operands included', () => {
    // Step 1 joins operands 0 and 2 (ij, kl): jk is left, then their product ijkl. Step 2 joins those two.
    const report = formatReport(planContraction(chain, { optimize: [[0, 2], [0, 1]] }), chain).split('\n');
    const rows = report.slice(report.lastIndexOf('-'.repeat(74)) + 1);
    expect(rows).toEqual([
      '   4      ij,kl->ijkl  jk,ijkl->il',
      '   4      jk,ijkl->il  il->il',
    ]);
  });

  it('prints a largest intermediate past 10^308 from the sizes\' logarithms', () => {
    // ab,cd->abcd with every size 10^100: the product has 10^400 elements, Infinity as a double.
    const contraction = { inputs: [[0, 1], [2, 3]], output: [0, 1, 2, 3], sizes: [1e100, 1e100, 1e100, 1e100], labels: ['a', 'b', 'c', 'd'] };
    const report = formatReport(planContraction(contraction, { optimize: 'greedy' }), contraction);
    expect(report).toContain('Largest intermediate:  1.000e+400 elements');
  });
});

describe('path scores', () => {
  it('keep the largest intermediate of the path, not the last or the first', () => {
    // jk,kl->jl (16·4 = 64 elements), then ij,jl->il (8·4 = 32): flops 2·16·32·4 + 2·8·16·4 = 5120.
    const score = scoreSsa(buildNetwork(chain.inputs, chain.output, chain.sizes), [[1, 2], [0, 3]]);
    expect(score.size).toEqual({ m: 64, e: 0 });
    expect(score.flops).toEqual({ m: 5120, e: 0 });
  });
});

describe('greedy under a memory limit', () => {
  it('costs its final k-way step with the removed index counted once', () => {
    // 'ai,bi,ci->abc', a=2, b=3, c=4, i=5, limit 25: every pair's result (abi 30, aci 40, bci 60) is over it, so
    // one step over all three: union abci = 120, × (max(1, 3 − 1) + 1 for i removed) = 360.
    const net = buildNetwork([[0, 3], [1, 3], [2, 3]], [0, 1, 2], [2, 3, 4, 5]);
    const { ssa, score } = greedyRun(net, { alpha: 1, queue: 'best', temperature: 0, nbranch: 1, rng: () => 0.5, memoryLimit: 25 });
    expect(ssa).toEqual([[0, 1, 2]]);
    expect(score.flops).toEqual({ m: 360, e: 0 });
  });
});

describe('dp over many disconnected operands', () => {
  it('joins more than twelve components smallest first', () => {
    // Thirteen vectors of sizes 14, 13, ..., 2, every index kept: outer products only, each step costs its
    // union. Smallest first costs Σ_{t=2..13} Π_{j≤t} s_(j) over the sizes in ascending order.
    const sizes = Array.from({ length: 13 }, (_, i) => 14 - i);
    const inputs = sizes.map((_, i) => [i]);
    const ascending = [...sizes].sort((a, b) => a - b);
    let prefix = ascending[0]!;
    let want = 0;
    for (const s of ascending.slice(1)) {
      prefix *= s;
      want += prefix;
    }
    const plan = planContraction({ inputs, output: inputs.flat(), sizes }, { optimize: 'dp' });
    expect(plan.cost).toBe(want);
    // The first step joins the two smallest vectors: operands 12 (size 2) and 11 (size 3).
    expect([...plan.path[0]!].sort((a, b) => a - b)).toEqual([11, 12]);
  });
});

describe('counts past 2^512', () => {
  it('carry into the exponent when a sum reaches 2^512', () => {
    // 1.5·2^511 + 1.5·2^511 = 3·2^511 = 1.5·2^512: mantissa 1.5, exponent 512.
    expect(addFlops({ m: 1.5 * 2 ** 511, e: 0 }, { m: 1.5 * 2 ** 511, e: 0 })).toEqual({ m: 1.5, e: 512 });
  });
});

describe('reconfigure', () => {
  it("keeps the exact region's choice to sum an operand's own index first", () => {
    // A = [a, x], B = [a, b], C = [b, c] -> [c] with a=2, x=100, b=50, c=2. Starting from ((B, C), A):
    // B·C 2·(2·50·2) = 400, then ·A 2·(2·100·2) = 800: 1200. Best: sum x out of A first, 2·200 = 400, then
    // A'·B 2·(2·50) = 200, then ·C 2·(50·2) = 200: 800. Without that sum, joining A to anything costs more.
    const net = buildNetwork([[0, 1], [0, 2], [2, 3]], [3], [2, 100, 50, 2]);
    expect(scoreSsa(net, [[1, 2], [3, 0]]).flops).toEqual({ m: 1200, e: 0 });
    const tree = reconfigure(net, node(node(leaf(1), leaf(2)), leaf(0)), { maxLeaves: 8, memoryLimit: Infinity, deadline: Infinity });
    const ssa = treeToSsa(tree, 3);
    expect(ssa[0]).toEqual([0]);
    expect(scoreSsa(net, ssa).flops).toEqual({ m: 800, e: 0 });
  });
});
