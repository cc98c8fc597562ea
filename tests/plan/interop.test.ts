/**
 * Paths in and out: opt_einsum's recorded linear paths replay through `optimize`, and every plan exports as a
 * linear path, an SSA path and a JSON tree that import back to the same contraction.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EinjitError } from '../../src/errors.js';
import { compile, einsum, einsumPath, tensor } from '../../src/index.js';
import { linearToSsaPath, optimizerNames, pathToTree, planContraction, replayPath, treeToPath } from '../../src/plan/index.js';
import { loadPathCases, toBigInt } from './cases.js';
import { netArb as netArbOf } from './networks.js';

const cases = loadPathCases();

const netArb = netArbOf({ maxSize: 5, minAxes: 2, maxAxes: 9, minOps: 1, maxOps: 8, perOp: { base: 1, spread: 3 }, distinct: false, draws: 60 });

/** The multiset of step results of a plan, as sorted axis-id lists (independent of step order). */
function resultSets(plan: ReturnType<typeof planContraction>): string[] {
  return plan.steps.map((s) => JSON.stringify([...s.result].sort((a, b) => a - b))).sort();
}

describe('importing paths found elsewhere', () => {
  it("opt_einsum's recorded paths replay through optimize to opt_einsum's recorded cost", () => {
    let replayed = 0;
    for (const c of cases) {
      for (const [alg, run] of c.runs) {
        if (run.status !== 'ok' || run.path === undefined || run.opt_cost === undefined) continue;
        const plan = planContraction(c, { optimize: run.path });
        expect(plan.optimizer).toBe('explicit');
        expect(plan.path).toEqual(run.path);
        // Costs above 2^53 are compared through the exact replay.
        if (Number.isSafeInteger(plan.cost)) expect(BigInt(plan.cost), `${c.id} ${alg}`).toBe(toBigInt(run.opt_cost));
        replayed++;
      }
    }
    expect(replayed).toBeGreaterThan(100);
  });

  it("numpy's ['einsum_path', ...] form, { path }, { ssaPath } and { tree } name the same contraction", () => {
    const shapes = [[8, 16], [16, 32], [32, 4]];
    const want = einsumPath('ij,jk,kl->il', shapes, { optimize: [[1, 2], [0, 1]] });
    expect(want.ssaPath).toEqual([[1, 2], [0, 3]]);
    expect(want.tree).toEqual([0, [1, 2]]);
    for (const optimize of [['einsum_path', [1, 2], [0, 1]] as const, { path: [[1, 2], [0, 1]] }, { ssaPath: [[1, 2], [0, 3]] }, { tree: [0, [1, 2]] }]) {
      const got = einsumPath('ij,jk,kl->il', shapes, { optimize });
      expect(got.cost).toBe(want.cost);
      expect(resultSets(planContraction({ inputs: [[0, 1], [1, 2], [2, 3]], output: [0, 3], sizes: [8, 16, 32, 4] }, { optimize }))).toEqual(
        resultSets(planContraction({ inputs: [[0, 1], [1, 2], [2, 3]], output: [0, 3], sizes: [8, 16, 32, 4] }, { optimize: [[1, 2], [0, 1]] })),
      );
    }
    expect(treeToPath([[0, 2], 1], 3)).toEqual([[0, 2], [1, 0]]);
  });

  it('einsum and compile run a given tree', () => {
    const a = tensor([[1, 2], [3, 4]]);
    const b = tensor([[5, 6], [7, 8]]);
    const c = tensor([[1, 0], [0, 2]]);
    const free = einsum('ij,jk,kl->il', a, b, c).toArray();
    expect(einsum('ij,jk,kl->il', a, b, c, { optimize: { tree: [[0, 2], 1] } }).toArray()).toEqual(free);
    const expr = compile('ij,jk,kl->il', [[2, 2], [2, 2], [2, 2]], { optimize: { tree: [0, [1, 2]] } });
    expect(expr.plan.path).toEqual([[1, 2], [0, 1]]);
  });

  it('takes an SSA path as optimize: { ssaPath }', () => {
    // SSA ids: the inputs are 0..2, the first step's result 3.
    const plan = planContraction({ inputs: [[0, 1], [1, 2], [2, 3]], output: [0, 3], sizes: [2, 3, 4, 5] }, { optimize: { ssaPath: [[1, 2], [0, 3]] } });
    expect(plan.path).toEqual([[1, 2], [0, 1]]);
    // null is no path: the default optimizer plans, as with optimize left out.
    const net = { inputs: [[0, 1], [1, 2], [2, 3]], output: [0, 3], sizes: [2, 3, 4, 5] };
    expect(planContraction(net, { optimize: null as never }).path).toEqual(planContraction(net).path);
  });

  it('names a node that is not a non-empty array of subtrees (an empty array, a string, an object)', () => {
    for (const node of [[], 'x', { t: 1 }]) {
      const tree = [[0, 1], node, 2] as never;
      expect(() => treeToPath(tree, 3), JSON.stringify(node)).toThrow(EinjitError);
      expect(() => treeToPath(tree, 3), JSON.stringify(node)).toThrow('a node of the tree is not a non-empty array of subtrees');
    }
  });

  it('refuses malformed trees and SSA paths with an EinjitError', () => {
    const bad: unknown[] = [{ tree: [0, 0] }, { tree: [0, 3] }, { tree: [0] }, { tree: [] }, { tree: [[0, 1], 'x'] }, { ssaPath: [[0, 1], [0, 2]] }, { ssaPath: [[0, 5]] }, { nothing: 1 }, 5];
    for (const optimize of bad) {
      expect(() => planContraction({ inputs: [[0], [0], [0]], output: [], sizes: [2] }, { optimize: optimize as never }), JSON.stringify(optimize)).toThrow(EinjitError);
    }
  });
});

describe('exporting paths', () => {
  it('every plan exports as a tree and an SSA path that import back to the same steps and cost', () => {
    fc.assert(
      fc.property(netArb, fc.constantFrom(...optimizerNames()), (n, optimize) => {
        const plan = planContraction(n, { optimize });
        const tree = pathToTree(plan.path, n.inputs.length);
        const back = treeToPath(tree, n.inputs.length);
        expect(replayPath(n.inputs, n.output, n.sizes, back).cost).toBe(plan.cost);
        const viaTree = planContraction(n, { optimize: { tree } });
        expect(viaTree.cost).toBe(plan.cost);
        expect(resultSets(viaTree)).toEqual(resultSets(plan));
        const ssa = linearToSsaPath(plan.path, n.inputs.length);
        expect(planContraction(n, { optimize: { ssaPath: ssa } }).path).toEqual(plan.path);
        // The tree is plain JSON.
        expect(JSON.parse(JSON.stringify(tree))).toEqual(tree);
      }),
      { numRuns: 100 },
    );
  });
});

