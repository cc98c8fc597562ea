/**
 * Corners of src/plan that a fresh mutation sample (seed 20261212) found unpinned:
 * - which child of a node the rotation annealer moves: a node whose children are a leaf and an internal node can
 *   always be rotated, whichever child the coin picks, and the first internal node (id n) is internal;
 * - the annealer's running cost when a proposed inner step's product passes 2^512 (counted in chunks) and when
 *   the tree has more than 32 indices (several words per index set);
 * - subtree reconfiguration repeats its passes until one improves nothing, so its result is a fixed point;
 * - greedy's Hadamard phase under a memory limit (the size of a group's product: only indices that the output
 *   or a third operand holds survive);
 * - counts past 2^512 (flops.ts): their normal form and the key that orders them.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DOWN, TOP, flopsKey, flopsOf, scaleFlops, toNumber } from '../../src/plan/flops.js';
import { greedyRun } from '../../src/plan/greedy.js';
import { replayCostExact } from '../../src/plan/index.js';
import { buildNetwork, leaf, node, objectiveValue, scoreSsa, treeToSsa, type Tree } from '../../src/plan/network.js';
import { reconfigure } from '../../src/plan/reconfigure.js';
import { rotateAnneal } from '../../src/plan/rotate.js';
import { makeRng } from '../../src/plan/heap.js';
import { netArb } from './networks.js';

/** The annealer's random draws, in order: the node, the child, the grandchild; then 0.5 for any other draw. */
function scripted(...draws: number[]): () => number {
  let k = 0;
  return () => (k < draws.length ? draws[k++]! : 0.5);
}

/** The exact flop count of a binary tree (its steps in post-order, as a linear path). */
function exactCost(inputs: number[][], output: number[], sizes: number[], tree: Tree): number {
  const order: number[][] = [];
  let live = inputs.map((_, i) => i);
  const walk = (t: Tree): number => {
    if (t.kind === 'leaf') return t.input;
    const [a, b] = t.children.map(walk) as [number, number];
    const pa = live.indexOf(a);
    const pb = live.indexOf(b);
    order.push([Math.min(pa, pb), Math.max(pa, pb)]);
    live = live.filter((x) => x !== a && x !== b);
    const id = 1000 + order.length;
    live.push(id);
    return id;
  };
  walk(tree);
  return Number(replayCostExact(inputs, output, sizes, order));
}

describe('the rotation annealer: which child moves', () => {
  // Operands [i, j], [k, l], [i, j, k, l] → scalar. ((0, 1), 2) makes the outer product ijkl first; both
  // rotations, (0, (2, 1)) and (1, (2, 0)), contract 2 with one operand first and are cheaper.
  const inputs = [[0, 1], [2, 3], [0, 1, 2, 3]];
  const output: number[] = [];
  const sizes = [3, 4, 5, 6];
  const net = buildNetwork(inputs, output, sizes);
  const start = exactCost(inputs, output, sizes, node(node(leaf(0), leaf(1)), leaf(2)));
  const rotated = Math.min(
    exactCost(inputs, output, sizes, node(leaf(0), node(leaf(2), leaf(1)))),
    exactCost(inputs, output, sizes, node(leaf(1), node(leaf(2), leaf(0)))),
  );
  // Internal ids: the inner node (0, 1) is 3 = n, the root 4; a node draw of 0.9 picks the root.
  const cases: [string, Tree, number][] = [
    ['root = (inner, leaf), the coin picks the leaf: the other child, internal, is taken', node(node(leaf(0), leaf(1)), leaf(2)), 0.9],
    ['root = (inner, leaf), the coin picks the inner node (id n, the first internal id)', node(node(leaf(0), leaf(1)), leaf(2)), 0.1],
    ['root = (leaf, inner), the coin picks the leaf: the other child, internal, is taken', node(leaf(2), node(leaf(0), leaf(1))), 0.1],
  ];
  it.each(cases)('%s', (_, tree, childDraw) => {
    expect(rotated).toBeLessThan(start);
    const { tree: out, cost } = rotateAnneal(net, tree, { rng: scripted(0.9, childDraw, 0.2), moves: 1, temperature: 0 });
    expect(cost).toBe(exactCost(inputs, output, sizes, out));
    expect(cost).toBeLessThan(start);
  });
});

describe("the rotation annealer's running cost", () => {
  it('a proposed inner step past 2^512 is counted whole (its product taken in chunks)', () => {
    // X = [a], A = [b], B = [a, b] → scalar, |a| = 10^160 > 2^512 / 2. (X, (A, B)) costs 4·10^160 + 2·10^160;
    // the rotation (A, (X, B)) costs 4·10^160 + 4, its inner step's product 2·10^160 passing 2^512.
    const inputs = [[0], [1], [0, 1]];
    const sizes = [1e160, 2];
    const net = buildNetwork(inputs, [], sizes);
    const { tree, cost } = rotateAnneal(net, node(leaf(0), node(leaf(1), leaf(2))), { rng: scripted(0.9, 0.9, 0.2), moves: 1, temperature: 0 });
    const want = exactCost(inputs, [], sizes, tree);
    expect(want).toBeCloseTo(4e160 + 4, -150);
    expect(Math.abs(cost - want) / want).toBeLessThan(1e-12);
  });

  it('index sets of several words: steps past 2^960 scaled from the tree\'s largest step', () => {
    // Operands [[x], [z], [u, w0..w39], [v]] → all their indices, as ((0, 1), (2, 3)): three outer products
    // (nothing is summed, so no step doubles). The forty w's (size 1) make 44 indices, two words. The root
    // costs 6·10^300 ≈ 2^999.2, so every step is held × 2^-(1000 − 960).
    const ws = Array.from({ length: 40 }, (_, k) => 4 + k);
    const inputs = [[0], [1], [2, ...ws], [3]];
    const output = [0, 1, 2, 3, ...ws];
    const sizes = [1e150, 1e150, 2, 3, ...ws.map(() => 1)];
    const net = buildNetwork(inputs, output, sizes);
    expect(net.words).toBe(2);
    const tree = node(node(leaf(0), leaf(1)), node(leaf(2), leaf(3)));
    const { cost } = rotateAnneal(net, tree, { rng: makeRng(3), moves: 0, temperature: 0 });
    expect(Math.ceil(Math.log2(6e300))).toBe(1000);
    const steps = [1e300, 6, 6e300];
    const want = steps.reduce((s, x) => s + x * 2 ** -40, 0);
    expect(Math.abs(cost - want) / want).toBeLessThan(1e-12);
    expect(Math.abs(want * 2 ** 40 - exactCost(inputs, output, sizes, tree)) / (want * 2 ** 40)).toBeLessThan(1e-12);
  });

  it('on random networks, the reported cost is the returned tree\'s exact cost', () => {
    fc.assert(
      fc.property(netArb({ maxSize: 6, maxAxes: 12, minOps: 3, maxOps: 9, perOp: { base: 1, spread: 3 }, distinct: true, draws: 40 }), fc.nat(), (n, seed) => {
        const net = buildNetwork(n.inputs, n.output, n.sizes);
        let tree: Tree = leaf(0);
        for (let t = 1; t < n.inputs.length; t++) tree = node(tree, leaf(t));
        const out = rotateAnneal(net, tree, { rng: makeRng(seed), moves: 200, temperature: 1 });
        const want = exactCost(n.inputs, n.output, n.sizes, out.tree);
        expect(Math.abs(out.cost - want)).toBeLessThanOrEqual(want * 1e-9);
      }),
      { numRuns: 150, seed: 20261212 },
    );
  });
});

describe('subtree reconfiguration', () => {
  it('passes until a pass improves nothing: running it again on its result changes nothing', () => {
    let changedByFirstPassOnly = 0;
    fc.assert(
      fc.property(netArb({ maxSize: 5, maxAxes: 14, minOps: 6, maxOps: 14, perOp: { base: 1, spread: 4 }, distinct: true, draws: 60 }), (n) => {
        const net = buildNetwork(n.inputs, n.output, n.sizes);
        // A deliberately poor start: a left-deep chain in input order.
        let tree: Tree = leaf(0);
        for (let t = 1; t < n.inputs.length; t++) tree = node(tree, leaf(t));
        const o = { maxLeaves: 4, memoryLimit: Infinity, deadline: Infinity };
        const cost = (t: Tree): number => objectiveValue(scoreSsa(net, treeToSsa(t, net.n)), 'flops');
        const once = reconfigure(net, tree, o);
        const onePass = reconfigure(net, tree, { ...o, maxPasses: 1 });
        if (cost(onePass) > cost(once)) changedByFirstPassOnly++;
        expect(cost(reconfigure(net, once, o))).toBe(cost(once));
      }),
      { numRuns: 200, seed: 20261212 },
    );
    // The draws include networks where a second pass finds more than the first.
    expect(changedByFirstPassOnly).toBeGreaterThan(5);
  });
});

describe("greedy's Hadamard phase under a memory limit", () => {
  const run = (inputs: number[][], output: number[], sizes: number[], memoryLimit: number) =>
    greedyRun(buildNetwork(inputs, output, sizes), { alpha: 1, queue: 'best', temperature: 0, nbranch: 1, rng: makeRng(1), memoryLimit }).ssa;

  it('folds a pair of equal operands when only what a third operand or the output holds fits', () => {
    // [a, b] · [a, b] keeps b (held by [b, c]) and sums a: |b| = 2 elements, which fits a limit of 2, so the
    // Hadamard phase takes it first. Counted with a, it would not fit, and the pair phase would start with
    // [b, c] · [c, d] (summing the large c: the lowest score), not with the pair.
    const inputs = [[0, 1], [0, 1], [1, 2], [2, 3]];
    const sizes = [3, 2, 50, 1];
    expect(run(inputs, [3], sizes, 2)[0]).toEqual([0, 1]);
    expect(run(inputs, [3], sizes, 1e9)[0]).toEqual([0, 1]);
    // Under a limit of 1 nothing but the last step fits.
    expect(run(inputs, [3], sizes, 1)[0]).not.toEqual([0, 1]);
  });

  it('a group of three: the first product keeps every index (the third member holds it), the next keeps none', () => {
    const inputs = [[0, 1], [0, 1], [0, 1]];
    // |ab| = 12 fits a limit of 12: both folds happen, (0, 1) then (3, 2).
    expect(run(inputs, [], [3, 4], 12).slice(0, 2)).toEqual([[0, 1], [3, 2]]);
    // Under 11 the first fold's product does not fit.
    expect(run(inputs, [], [3, 4], 11)[0]).not.toEqual([0, 1]);
  });

  it('an index in the output is kept whoever else holds it', () => {
    // [a, b] · [a, b] → [a] (b is summed: nothing else holds it), then the outer product with [c].
    const inputs = [[0, 1], [0, 1], [2]];
    expect(run(inputs, [0, 2], [3, 4, 5], 3)[0]).toEqual([0, 1]);
    expect(run(inputs, [0, 2], [3, 4, 5], 2)[0]).not.toEqual([0, 1]);
  });
});

describe('counts past 2^512', () => {
  it('are normalised to m · 2^e with e a multiple of 512 and 1 ≤ m < 2^512, exactly', () => {
    expect(flopsOf(2 ** 600)).toEqual({ m: 2 ** 88, e: 512 });
    expect(flopsOf(2 ** 1023)).toEqual({ m: 2 ** 511, e: 512 });
    expect(scaleFlops({ m: 2 ** 511, e: 512 }, 4)).toEqual({ m: 2, e: 1024 });
    expect(scaleFlops(flopsOf(3 * 2 ** 510), 2)).toEqual({ m: 1.5, e: 512 });
    expect(toNumber(scaleFlops(flopsOf(3 * 2 ** 510), 2))).toBe(3 * 2 ** 511);
    expect(DOWN * TOP).toBe(1);
  });

  it('are ordered by a key that is the count below 2^512 and 2^512 · (1 + ln(count / 2^512)) above', () => {
    // ln(count / 2^512) for count = m · 2^e is ln m + (e − 512) ln 2; at count = 2^512 the two pieces meet.
    expect(flopsKey({ m: 1, e: 512 })).toBe(TOP);
    expect(flopsKey({ m: 2, e: 512 })).toBeCloseTo(TOP * (1 + Math.LN2), -140);
    expect(flopsKey({ m: 2, e: 1024 }) / TOP).toBeCloseTo(1 + 513 * Math.LN2, 9);
    expect(flopsKey({ m: 1.5, e: 2048 }) / TOP).toBeCloseTo(1 + Math.log(1.5) + 1536 * Math.LN2, 9);
    const counts = [{ m: 2 ** 511, e: 0 }, { m: TOP * (1 - 2 ** -53), e: 0 }, { m: 1, e: 512 }, { m: 1.5, e: 512 }, { m: 2 ** 511, e: 512 }, { m: 1, e: 1024 }, { m: 3, e: 1024 }];
    const keys = counts.map(flopsKey);
    for (let k = 1; k < keys.length; k++) expect(keys[k]!).toBeGreaterThan(keys[k - 1]!);
  });
});
