/**
 * greedy's choices where its scores pass 2^1000 (it then computes them from log2 sizes) against opt_einsum's
 * rule evaluated exactly, in integers: random 3-regular networks of six tensors, index sizes 2^300 to 2^499.
 * Where two candidate pairs' scores are within a relative 10^-9, floating point cannot tell them apart, so such
 * networks are left out (the test asserts that enough remain).
 */
import { describe, expect, it } from 'vitest';
import { randomRegular } from '../../bench/network-gen.js';
import { greedyRun } from '../../src/plan/greedy.js';
import { makeRng } from '../../src/plan/heap.js';
import { buildNetwork } from '../../src/plan/network.js';

/**
 * opt_einsum's greedy with its default cost, size(result) − size(a) − size(b), over pairs sharing an index, in
 * exact integers (index i has size 2^exps[i]); undefined when some step's best score is not clearly the best.
 */
function referenceGreedy(inputs: number[][], output: number[], exps: number[]): number[][] | undefined {
  const size = (s: Set<number>): bigint => [...s].reduce((p, i) => p << BigInt(exps[i]!), 1n);
  const abs = (x: bigint): bigint => (x < 0n ? -x : x);
  const live = new Map<number, Set<number>>(inputs.map((t, k) => [k, new Set(t)]));
  const out = new Set(output);
  const path: number[][] = [];
  let next = inputs.length;
  while (live.size > 1) {
    const ids = [...live.keys()];
    const candidates: { a: number; b: number; score: bigint; result: Set<number> }[] = [];
    for (let x = 0; x < ids.length; x++) {
      for (let y = x + 1; y < ids.length; y++) {
        const [a, b] = [ids[x]!, ids[y]!];
        const [sa, sb] = [live.get(a)!, live.get(b)!];
        if (![...sa].some((i) => sb.has(i))) continue;
        const kept = (i: number): boolean => out.has(i) || ids.some((o) => o !== a && o !== b && live.get(o)!.has(i));
        const result = new Set([...sa, ...sb].filter(kept));
        candidates.push({ a, b, score: size(result) - size(sa) - size(sb), result });
      }
    }
    if (candidates.length === 0) return undefined;
    const best = candidates.reduce((p, q) => (q.score < p.score ? q : p));
    if (candidates.filter((c) => abs(c.score - best.score) * 1_000_000_000n <= abs(best.score)).length > 1) return undefined;
    live.delete(best.a);
    live.delete(best.b);
    live.set(next++, best.result);
    path.push([best.a, best.b]);
  }
  return path;
}

/**
 * Compares greedy with the reference on 100 random 3-regular networks of six tensors whose index sizes are
 * 2^lo to 2^(lo + span - 1); returns how many were compared (networks with near-tied pairs are left out).
 */
function compareWithReference(lo: number, span: number): number {
  let compared = 0;
  for (let seed = 1; seed <= 100; seed++) {
    const g = randomRegular(6, 3, seed, 2, 9);
    const rng = makeRng(seed);
    const exps = g.sizes.map(() => lo + Math.floor(rng() * span));
    const want = referenceGreedy(g.inputs, g.output, exps);
    if (want === undefined) continue;
    compared++;
    const net = buildNetwork(g.inputs, g.output, exps.map((e) => 2 ** e));
    const { ssa } = greedyRun(net, { alpha: 1, queue: 'best', temperature: 0, nbranch: 1, rng: makeRng(1), memoryLimit: Infinity });
    expect(ssa.map((step) => [...step].sort((p, q) => p - q)), `seed ${seed}, sizes 2^${lo}+`).toEqual(want);
  }
  return compared;
}

describe('greedy past 2^1000', () => {
  it("picks opt_einsum's pairs, size(result) - size(a) - size(b) evaluated exactly", () => {
    expect(compareWithReference(300, 200)).toBeGreaterThanOrEqual(10);
  });
});

describe('greedy between 2^512 and 2^1000', () => {
  // Operands of 2^390 to 2^747 and pair results below 2^1000: scores are doubles, from sizes held as m · 2^e.
  it("picks opt_einsum's pairs where operand sizes pass the planner's 2^512 chunk", () => {
    expect(compareWithReference(130, 120)).toBeGreaterThanOrEqual(10);
  });
});
