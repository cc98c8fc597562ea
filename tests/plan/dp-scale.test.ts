/**
 * dp at scale: tree-shaped networks (chains, stars, random trees) solved exactly by splitting subtrees at one
 * edge, large networks within the time budget (never costlier than greedy), and dp under a memory limit.
 *
 * dp searches plans without outer products inside a connected component (as opt_einsum's dp does), so its
 * optimum is compared here with independent searches over that same space: a brute force over bipartitions of
 * operand sets (small networks), the matrix-chain recurrence (chains) and the sorted absorption order (stars).
 * `optimal`, which also tries outer products, can be cheaper on trees (two leaf vectors' outer product first).
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planContraction, replayPath } from '../../src/plan/index.js';
import { dpTree } from '../../src/plan/dp.js';
import { buildNetwork, objectiveValue, scoreSsa, treeToSsa } from '../../src/plan/network.js';
import type { Net } from './networks.js';

/** A seeded generator (LCG), independent of src/plan. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** A random tree: operand t > 0 shares one index (size lo..hi) with a random earlier operand; `open` output legs. */
function randomTree(n: number, seed: number, lo = 2, hi = 8, open = 0): Net {
  const r = rng(seed);
  const inputs: number[][] = Array.from({ length: n }, () => []);
  const sizes: number[] = [];
  const output: number[] = [];
  for (let t = 1; t < n; t++) {
    const p = Math.floor(r() * t);
    inputs[t]!.push(sizes.length);
    inputs[p]!.push(sizes.length);
    sizes.push(lo + Math.floor(r() * (hi - lo + 1)));
    // Now and then a second index between the same pair (still a tree of operands).
    if (r() < 0.1) {
      inputs[t]!.push(sizes.length);
      inputs[p]!.push(sizes.length);
      sizes.push(2);
    }
  }
  for (let k = 0; k < open; k++) {
    const t = Math.floor(r() * n);
    inputs[t]!.push(sizes.length);
    output.push(sizes.length);
    sizes.push(2 + Math.floor(r() * 3));
  }
  return { inputs, output, sizes };
}

/** A chain (MPS-like) of n operands with bonds d[1..n−1]; d[0] and d[n], when above 1, are open end legs. */
function chainOf(d: readonly number[]): Net {
  const n = d.length - 1;
  const inputs: number[][] = Array.from({ length: n }, () => []);
  const sizes: number[] = [];
  const output: number[] = [];
  for (let k = 0; k <= n; k++) {
    if ((k === 0 || k === n) && d[k] === 1) continue;
    const id = sizes.length;
    sizes.push(d[k]!);
    if (k > 0) inputs[k - 1]!.push(id);
    if (k < n) inputs[k]!.push(id);
    if (k === 0 || k === n) output.push(id);
  }
  return { inputs, output, sizes };
}

/** The matrix-chain recurrence: every split of [i, j] at k costs 2·d[i]·d[k+1]·d[j+1] (a summed index goes). */
function matrixChain(d: readonly number[]): number {
  const n = d.length - 1;
  const best: number[][] = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let len = 2; len <= n; len++) {
    for (let i = 0; i + len - 1 < n; i++) {
      const j = i + len - 1;
      let b = Infinity;
      for (let k = i; k < j; k++) b = Math.min(b, best[i]![k]! + best[k + 1]![j]! + 2 * d[i]! * d[k + 1]! * d[j + 1]!);
      best[i]![j] = b;
    }
  }
  return best[0]![n - 1]!;
}

/**
 * The cheapest plan without outer products, by brute force over bipartitions: a set of operands is built from
 * two built halves that share an index the output does not keep (opt_einsum's cost of each join).
 */
function bruteNoOuter(net: Net): number {
  const n = net.inputs.length;
  const out = new Set(net.output);
  const sets = net.inputs.map((t) => new Set(t));
  const legs = (mask: number): Set<number> => {
    const inside = new Set<number>();
    const outside = new Set<number>();
    for (let t = 0; t < n; t++) for (const i of sets[t]!) ((mask >> t) & 1 ? inside : outside).add(i);
    return new Set([...inside].filter((i) => out.has(i) || outside.has(i)));
  };
  const memo = new Map<number, number>();
  const best = (mask: number): number => {
    if ((mask & (mask - 1)) === 0) return 0;
    const hit = memo.get(mask);
    if (hit !== undefined) return hit;
    let b = Infinity;
    const result = legs(mask);
    for (let a = (mask - 1) & mask; a > 0; a = (a - 1) & mask) {
      const c = mask ^ a;
      if (a < c) continue;
      const la = legs(a);
      const lc = legs(c);
      if (![...la].some((i) => lc.has(i) && !out.has(i))) continue;
      const union = new Set([...la, ...lc]);
      const removed = [...union].some((i) => !result.has(i));
      const step = [...union].reduce((p, i) => p * net.sizes[i]!, 1) * (removed ? 2 : 1);
      b = Math.min(b, best(a) + best(c) + step);
    }
    memo.set(mask, b);
    return b;
  };
  return best((1 << n) - 1);
}

const costOf = (net: Net, optimize: string, timeBudgetMs?: number): number => planContraction(net, { optimize, timeBudgetMs }).cost;

describe('dp on tree-shaped networks is exact', () => {
  it('equals the brute force over plans without outer products on random trees of 3-12 operands', () => {
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 12 }), fc.nat(), fc.integer({ min: 0, max: 3 }), (n, seed, open) => {
        const net = randomTree(n, seed, 2, 8, open);
        const plan = planContraction(net, { optimize: 'dp' });
        expect(replayPath(net.inputs, net.output, net.sizes, plan.path).cost).toBe(plan.cost);
        expect(plan.cost).toBe(bruteNoOuter(net));
        // optimal also tries outer products: never costlier.
        expect(costOf(net, 'optimal')).toBeLessThanOrEqual(plan.cost);
      }),
      { numRuns: 40 },
    );
  });

  it('equals the general connected-subgraph search on random trees of 13-16 operands', () => {
    for (let seed = 1; seed <= 12; seed++) {
      const net = randomTree(13 + (seed % 4), seed, 2, 8, seed % 3);
      const n = buildNetwork(net.inputs, net.output, net.sizes);
      const base = { objective: 'flops' as const, memoryLimit: Infinity, deadline: Infinity, algorithm: 'dp' };
      const cost = (treeShortcut: boolean): number => objectiveValue(scoreSsa(n, treeToSsa(dpTree(n, { ...base, treeShortcut })!, n.n)), 'flops');
      expect(cost(true), `seed ${seed}`).toBe(cost(false));
    }
  });

  it('reaches the matrix-chain optimum on chains of 150 operands, closed and with open ends, within a second', () => {
    for (const [seed, ends] of [[1, false], [2, true], [3, true]] as const) {
      const r = rng(seed);
      const d = Array.from({ length: 151 }, (_, k) => ((k === 0 || k === 150) && !ends ? 1 : 2 + Math.floor(r() * 7)));
      const net = chainOf(d);
      const t0 = performance.now();
      const cost = costOf(net, 'dp');
      const ms = performance.now() - t0;
      expect(cost).toBe(matrixChain(d));
      // Under a second on a quiet machine (about 0.3 s); the general search took 2 s and more.
      expect(ms).toBeLessThan(3000);
    }
  });

  it('absorbs the leaves of a star largest bond first (the closed form)', () => {
    const bonds = [2, 7, 3, 5, 8, 2, 4, 6, 3, 5, 2, 7, 4];
    const inputs = [bonds.map((_, k) => k), ...bonds.map((_, k) => [k])];
    let size = bonds.reduce((p, d) => p * d, 1);
    let expected = 0;
    for (const d of [...bonds].sort((a, b) => b - a)) {
      expected += 2 * size;
      size /= d;
    }
    expect(costOf({ inputs, output: [], sizes: bonds }, 'dp')).toBe(expected);
  });
});

describe('dp on large networks returns within its budget, never costlier than greedy', () => {
  const lattice = (rows: number, cols: number, bond: number): Net => {
    const inputs: number[][] = Array.from({ length: rows * cols }, () => []);
    const sizes: number[] = [];
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const link = (other: number): void => {
          inputs[r * cols + c]!.push(sizes.length);
          inputs[other]!.push(sizes.length);
          sizes.push(bond);
        };
        if (c + 1 < cols) link(r * cols + c + 1);
        if (r + 1 < rows) link((r + 1) * cols + c);
      }
    }
    return { inputs, output: [], sizes };
  };

  it('a 10×10 lattice (bond 2) and random trees of 100 and 300 operands, with a 1 s budget', () => {
    for (const net of [lattice(10, 10, 2), randomTree(100, 7), randomTree(300, 8)]) {
      const t0 = performance.now();
      // Before, dp threw an EinjitError here ("did not finish within its time budget").
      const plan = planContraction(net, { optimize: 'dp', timeBudgetMs: 1000 });
      expect(performance.now() - t0).toBeLessThan(2500);
      expect(plan.steps.length).toBe(net.inputs.length - 1);
      expect(plan.cost).toBeLessThanOrEqual(costOf(net, 'greedy'));
    }
  });
});
