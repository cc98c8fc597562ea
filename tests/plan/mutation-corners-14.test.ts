/**
 * Planner corners found by mutation testing (seed 20261226's sample of src/plan):
 * - tree dp's subtree keys keep enough bits that a tree of more than 21 operands (whose per-operand random keys
 *   are no longer independent in any 21 bits) is solved, not given up on a key collision;
 * - greedy's 'all' queue takes tied pairs in the order found, at its start as for later pairs;
 * - (seed 20261227) branch-and-bound weighs a closing step over k operands at k − 1 products per element, as the
 *   final score does, so that it keeps the cheaper of two such ends;
 * - auto's table takes a row up to and including its operand count (auto: optimal to 10; auto-hq: optimal to 12,
 *   dp to 20), then anneal.
 */
import { describe, expect, it } from 'vitest';
import { branchSsa } from '../../src/plan/branch.js';
import { greedyRun } from '../../src/plan/greedy.js';
import { autoSearch } from '../../src/plan/optimizers.js';
import { makeRng } from '../../src/plan/heap.js';
import { buildNetwork, objectiveValue, scoreSsa } from '../../src/plan/network.js';
import { treeDp } from '../../src/plan/treedp.js';

/** Per index of `net`, the operands holding it (what dp hands tree dp). */
function holdersOf(net: ReturnType<typeof buildNetwork>): number[][] {
  const holders: number[][] = Array.from({ length: net.nIdx }, () => []);
  net.inputs.forEach((_, t) => net.lists.ids.subarray(net.lists.start[t], net.lists.start[t + 1]).forEach((i) => holders[i]!.push(t)));
  return holders;
}

describe('tree dp', () => {
  it('solves a spider of 41 operands (59,049 subtrees with its centre), its keys not colliding', () => {
    // A centre with five legs of eight operands each; each leg's last operand keeps an output index. Subtrees of
    // one size number up to a few thousand: keys of 21 bits would collide there (and tree dp would give up).
    const legs = 5;
    const length = 8;
    const inputs: number[][] = [Array.from({ length: legs }, (_, j) => j)];
    const output: number[] = [];
    let next = legs;
    for (let j = 0; j < legs; j++) {
      let up = j;
      for (let t = 0; t < length; t++) {
        const down = next++;
        inputs.push([up, down]);
        up = down;
      }
      output.push(up);
    }
    const net = buildNetwork(inputs, output, Array.from({ length: next }, (_, i) => 2 + (i % 3)));
    const members = Array.from({ length: net.n }, (_, t) => t);
    const solved = treeDp(net, members, holdersOf(net), net.inputs, 'flops', Infinity, 'dp');
    expect(solved).toBeDefined();
  });
});

describe("greedy's 'all' queue", () => {
  it('takes tied pairs in the order found: the start queues them by ascending operand', () => {
    // ab, bc, cd, de -> ae, every size 2: each neighbouring pair's result has 4 elements (α = 0 scores that
    // alone), so all three tie and the first found, (0, 1), goes first; then (2, 3) (which ties with the pair of
    // the new intermediate, queued later) and last the two intermediates.
    const net = buildNetwork([[0, 1], [1, 2], [2, 3], [3, 4]], [0, 4], [2, 2, 2, 2, 2]);
    const { ssa } = greedyRun(net, { alpha: 0, queue: 'all', temperature: 0, nbranch: 1, rng: makeRng(1), memoryLimit: Infinity });
    expect(ssa).toEqual([[0, 1], [2, 3], [4, 5]]);
  });
});

describe('branch-and-bound', () => {
  it('weighs a closing step over several operands at k − 1 products per element', () => {
    // Under a limit of 6 elements each of the two branches joins one pair, (1, 2) or (2, 3), finds no further
    // pair within the limit and closes with one step over the four operands left. Counted at one product per
    // element the second end looks the cheaper; counted as scored, the first is: 112 against 140.
    const net = buildNetwork([[3, 0, 5], [2, 0], [4], [3], [0, 3]], [0], [4, 2, 2, 2, 3, 2, 3]);
    const path = branchSsa(net, { nbranch: 2, memoryLimit: 6, deadline: Infinity, algorithm: 'branch-2' });
    expect(path).toEqual([[1, 2], [0, 3, 4, 5]]);
    expect(objectiveValue(scoreSsa(net, path), 'flops')).toBe(112);
    expect(objectiveValue(scoreSsa(net, [[2, 3], [0, 4, 1, 5]]), 'flops')).toBe(140);
  });
});

describe("auto's table", () => {
  it('takes each row up to and including its operand count', () => {
    // A chain of n matrices: every exact search finishes it quickly, so what runs is the row's choice.
    const chain = (n: number) => buildNetwork(Array.from({ length: n }, (_, t) => [t, t + 1]), [0, n], Array.from({ length: n + 1 }, (_, i) => 2 + (i % 3)));
    const o = { memoryLimit: Infinity, deadline: Infinity, seed: 1, minimize: 'flops' as const, trials: 1, callerBudgetMs: Infinity };
    const chosen = (n: number, hq: boolean): string => autoSearch(chain(n), o, hq).chosen;
    expect([chosen(10, false), chosen(11, false)]).toEqual(['optimal', 'anneal']);
    expect([chosen(12, true), chosen(13, true), chosen(20, true), chosen(21, true)]).toEqual(['optimal', 'dp', 'dp', 'anneal']);
  });
});
