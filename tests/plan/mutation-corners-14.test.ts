/**
 * Planner corners found by mutation testing (seed 20261226's sample of src/plan):
 * - tree dp's subtree keys keep enough bits that a tree of more than 21 operands (whose per-operand random keys
 *   are no longer independent in any 21 bits) is solved, not given up on a key collision;
 * - greedy's 'all' queue takes tied pairs in the order found, at its start as for later pairs.
 */
import { describe, expect, it } from 'vitest';
import { greedyRun } from '../../src/plan/greedy.js';
import { makeRng } from '../../src/plan/heap.js';
import { buildNetwork } from '../../src/plan/network.js';
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
