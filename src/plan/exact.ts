/**
 * Exact search over contraction trees: the `optimal` algorithm and the engine of subtree reconfiguration.
 *
 * The cost of a tree does not depend on the order its steps run in: contracting the operand groups S1 and S2
 * removes exactly the indices of S1 ∪ S2 that neither the output nor any operand outside S1 ∪ S2 has. So the
 * best plan for a group S is the best split of S into two groups, each contracted optimally; the search is a
 * depth-first recursion over splits, memoised per group, that skips a split as soon as its own step (or its step
 * plus one side) already costs as much as the best split found for S. Leaves may first be reduced on their own
 * (summing away indices no other operand or the output has, cost 2·size) when that makes the tree cheaper.
 * Outer products are considered, so the result is optimal over all pairwise trees under the reported cost.
 */

import { EinjitError } from '../errors.js';
import { type Bits, idsOf } from './bits.js';
import { checkDeadline } from './budget.js';
import { type Tree, leaf, node } from './network.js';

/** Set operations on one representation of index sets. */
interface SetAlgebra<S> {
  readonly zero: S;
  or(a: S, b: S): S;
  and(a: S, b: S): S;
  andNot(a: S, b: S): S;
  isZero(a: S): boolean;
  equal(a: S, b: S): boolean;
  size(a: S): number;
}

function numberAlgebra(size: Float64Array): SetAlgebra<number> {
  return {
    zero: 0,
    or: (a, b) => (a | b) >>> 0,
    and: (a, b) => (a & b) >>> 0,
    andNot: (a, b) => (a & ~b) >>> 0,
    isZero: (a) => a === 0,
    equal: (a, b) => a === b,
    size: (a) => {
      let p = 1;
      while (a !== 0) {
        const low = a & -a;
        p *= size[31 - Math.clz32(low)]!;
        a = (a ^ low) >>> 0;
      }
      return p;
    },
  };
}

function bigintAlgebra(size: Float64Array): SetAlgebra<bigint> {
  return {
    zero: 0n,
    or: (a, b) => a | b,
    and: (a, b) => a & b,
    andNot: (a, b) => a & ~b,
    isZero: (a) => a === 0n,
    equal: (a, b) => a === b,
    size: (a) => {
      let p = 1;
      let i = 0;
      while (a !== 0n) {
        const word = Number(a & 0xffffffffn);
        let x = word;
        while (x !== 0) {
          const low = x & -x;
          p *= size[i + 31 - Math.clz32(low)]!;
          x = (x ^ low) >>> 0;
        }
        a >>= 32n;
        i += 32;
      }
      return p;
    },
  };
}

export interface ExactProblem {
  /** Each leaf's index set as it arrives (an input, or an intermediate of a larger tree). */
  readonly leaves: readonly Bits[];
  /** The indices the final result must keep (the output, or what the rest of a larger network needs). */
  readonly keep: Bits;
  /** Size of each index (the indices of the bit sets above). */
  readonly size: Float64Array;
  readonly memoryLimit: number;
  readonly deadline: number;
  /** Name used in the budget error. */
  readonly algorithm: string;
  /** Only splits cheaper than this are of interest (pruning bound); Infinity when unknown. */
  readonly upperBound?: number;
  /**
   * The problem is a whole einsum (its result is the output): the result is exempt from the memory limit, and
   * under a finite limit the last step may contract any number of pairwise-built groups at once (opt_einsum's
   * "contract everything left" step), so the search covers every plan of pairwise steps that fit plus one final
   * k-way step.
   */
  readonly finalStep?: boolean;
}

export interface ExactResult {
  readonly tree: Tree;
  readonly cost: number;
}

/**
 * The cheapest pairwise tree over the leaves, or undefined when the memory limit admits none (or none cheaper
 * than `upperBound`). Leaf `i` of the tree is `leaves[i]`.
 */
export function solveExact(p: ExactProblem): ExactResult | undefined {
  // An index held by one leaf only and kept in the result is never summed inside this problem: it only scales
  // every step that leaf takes part in. Such indices become a per-leaf weight instead of set members, and the
  // rest are renumbered, so that most problems fit 32-bit numbers as sets.
  const holders = new Map<number, number>();
  for (const s of p.leaves) for (const i of idsOf(s)) holders.set(i, (holders.get(i) ?? 0) + 1);
  const keepIds = new Set(idsOf(p.keep));
  const weight = p.leaves.map(() => 1);
  const used = new Map<number, number>();
  const local: number[][] = p.leaves.map((s, leafIndex) => {
    const ids: number[] = [];
    for (const i of idsOf(s)) {
      if (holders.get(i) === 1 && keepIds.has(i)) {
        weight[leafIndex]! *= p.size[i]!;
        continue;
      }
      let c = used.get(i);
      if (c === undefined) {
        c = used.size;
        used.set(i, c);
      }
      ids.push(c);
    }
    return ids;
  });
  const keepLocal = [...keepIds].map((i) => used.get(i)).filter((c): c is number => c !== undefined);
  const size = new Float64Array(used.size);
  for (const [i, c] of used) size[c] = p.size[i]!;
  if (used.size <= 31) {
    const toSet = (ids: number[]): number => ids.reduce((s, c) => (s | (1 << c)) >>> 0, 0);
    return search(numberAlgebra(size), local.map(toSet), weight, toSet(keepLocal), p);
  }
  const toSet = (ids: number[]): bigint => ids.reduce((s, c) => s | (1n << BigInt(c)), 0n);
  return search(bigintAlgebra(size), local.map(toSet), weight, toSet(keepLocal), p);
}

interface Entry {
  cost: number;
  left: number;
  /** Bit 0: reduce the left leaf first; bit 1: reduce the right leaf first. */
  reduce: number;
}

function search<S>(alg: SetAlgebra<S>, raw: S[], weight: number[], keep: S, p: ExactProblem): ExactResult | undefined {
  const k = raw.length;
  if (k === 0) return undefined;
  if (k === 1) return { tree: leaf(0), cost: 0 };
  if (k > 30) throw new EinjitError(`${p.algorithm}: an exact search covers at most 30 operands, got ${k}`, { op: 'einsumPath' });
  // k ≤ 30 (above), so the set of every leaf is a positive 31-bit number.
  const full = (1 << k) - 1;
  const idxCache = new Map<number, S>();
  const legsCache = new Map<number, S>();
  const memo = new Map<number, Entry>();
  const rawSize = raw.map((s, i) => alg.size(s) * weight[i]!);
  /** Product of the leaves' weights over a group. */
  const weightOf = (mask: number): number => {
    let w = 1;
    while (mask !== 0) {
      const low = mask & -mask;
      w *= weight[31 - Math.clz32(low)]!;
      mask ^= low;
    }
    return w;
  };
  let calls = 0;

  const idx = (mask: number): S => {
    let s = idxCache.get(mask);
    if (s !== undefined) return s;
    const low = mask & -mask;
    const rest = mask ^ low;
    s = alg.or(rest === 0 ? alg.zero : idx(rest), raw[31 - Math.clz32(low)]!);
    idxCache.set(mask, s);
    return s;
  };
  const legs = (mask: number): S => {
    let s = legsCache.get(mask);
    if (s !== undefined) return s;
    const comp = full ^ mask;
    s = alg.and(idx(mask), comp === 0 ? keep : alg.or(keep, idx(comp)));
    legsCache.set(mask, s);
    return s;
  };
  const isLeaf = (mask: number): boolean => (mask & (mask - 1)) === 0;
  const leafOf = (mask: number): number => 31 - Math.clz32(mask);

  /** Leaves that have indices of their own (summable before any contraction). */
  const reducible = raw.map((r, i) => !alg.equal(r, legs(1 << i)));
  /** Pre-reduction flags of the last `stepCost` call (bit 0: left leaf, bit 1: right leaf). */
  let lastReduce = 0;
  /** Cheapest way to contract the groups `a` and `b` into `result`, choosing leaf pre-reductions. */
  const stepCost = (a: number, b: number, result: S): number => {
    const la = legs(a);
    const lb = legs(b);
    const va = isLeaf(a) && reducible[leafOf(a)]!;
    const vb = isLeaf(b) && reducible[leafOf(b)]!;
    lastReduce = 0;
    const w = weightOf(a | b);
    if (!va && !vb) {
      const union = alg.or(la, lb);
      return alg.size(union) * w * (alg.isZero(alg.andNot(union, result)) ? 1 : 2);
    }
    let best = Infinity;
    for (let fa = va ? 0 : 1; fa < 2; fa++) {
      // fa = 0: leaf a as it is (raw); fa = 1: reduced first (or not a reducible leaf).
      const sa = fa === 0 ? raw[leafOf(a)]! : la;
      const ea = fa === 1 && va ? 2 * rawSize[leafOf(a)]! : 0;
      for (let fb = vb ? 0 : 1; fb < 2; fb++) {
        const sb = fb === 0 ? raw[leafOf(b)]! : lb;
        const eb = fb === 1 && vb ? 2 * rawSize[leafOf(b)]! : 0;
        const union = alg.or(sa, sb);
        const c = alg.size(union) * w * (alg.isZero(alg.andNot(union, result)) ? 1 : 2) + ea + eb;
        if (c < best) {
          best = c;
          lastReduce = (fa === 1 && va ? 1 : 0) | (fb === 1 && vb ? 2 : 0);
        }
      }
    }
    return best;
  };

  const solve = (mask: number): number => {
    if (isLeaf(mask)) return 0;
    const hit = memo.get(mask);
    if (hit !== undefined) return hit.cost;
    if ((++calls & 1023) === 0) checkDeadline(p.deadline, p.algorithm);
    const result = legs(mask);
    const entry: Entry = { cost: Infinity, left: 0, reduce: 0 };
    memo.set(mask, entry);
    if (p.memoryLimit < Infinity && alg.size(result) * weightOf(mask) > p.memoryLimit && !(mask === full && p.finalStep === true)) {
      return Infinity;
    }
    const low = mask & -mask;
    const rest = mask ^ low;
    let best = mask === full && p.upperBound !== undefined ? p.upperBound : Infinity;
    for (let sub = rest; ; sub = (sub - 1) & rest) {
      const left = low | sub;
      const right = mask ^ left;
      if (right !== 0) {
        const step = stepCost(left, right, result);
        if (step < best) {
          const reduce = lastReduce;
          const cl = solve(left);
          if (cl + step < best) {
            const total = cl + step + solve(right);
            if (total < best) {
              best = total;
              entry.cost = total;
              entry.left = left;
              entry.reduce = reduce;
            }
          }
        }
      }
      if (sub === 0) break;
    }
    return entry.cost;
  };

  let cost = solve(full);
  const build = (mask: number, reduce: boolean): Tree => {
    if (isLeaf(mask)) return leaf(leafOf(mask), reduce);
    const e = memo.get(mask)!;
    return node(build(e.left, (e.reduce & 1) !== 0), build(mask ^ e.left, (e.reduce & 2) !== 0));
  };
  /** The groups of the cheapest final step, each with whether it is a leaf whose own indices are summed first. */
  let finalGroups: { readonly mask: number; readonly reduced: boolean }[] | undefined;
  if (p.finalStep === true && p.memoryLimit < Infinity && k >= 3) {
    // Partitions of the leaves into groups, each contracted pairwise within the limit, then one k-way step. A
    // depth-first search: the group of the lowest unassigned leaf first, pruned by the best total so far and by
    // a lower bound of the final step (it writes at least the output, and k ≥ 2 groups cost at least once).
    // A leaf with indices of its own may enter the step as it is or summed over them first (a one-operand
    // step, which no limit stops: it writes less than the leaf holds).
    const total = full;
    const resultAll = legs(total);
    const wAll = weightOf(total);
    const lowerFinal = alg.size(resultAll) * wAll;
    let bestTotal = Number.isFinite(cost) ? cost : p.upperBound ?? Infinity;
    // The groups so far, and for each whether it is a leaf summed over its own indices first.
    const chosen: number[] = [];
    const reducedFirst: boolean[] = [];
    const finalCost = (): number => {
      let union = alg.zero;
      for (let at = 0; at < chosen.length; at++) {
        const g = chosen[at]!;
        union = alg.or(union, isLeaf(g) && !reducedFirst[at] ? raw[leafOf(g)]! : legs(g));
      }
      const removed = !alg.isZero(alg.andNot(union, resultAll));
      return alg.size(union) * wAll * (chosen.length - 1 + (removed ? 1 : 0));
    };
    const feasible = (g: number): number => {
      if (isLeaf(g)) return 0;
      if (alg.size(legs(g)) * weightOf(g) > p.memoryLimit) return Infinity;
      return solve(g);
    };
    const partition = (remaining: number, sum: number): void => {
      if ((++calls & 1023) === 0) checkDeadline(p.deadline, p.algorithm);
      if (remaining === 0) {
        if (chosen.length < 2) return;
        const c = sum + finalCost();
        if (c < bestTotal) {
          bestTotal = c;
          finalGroups = chosen.map((mask, at) => ({ mask, reduced: reducedFirst[at]! }));
        }
        return;
      }
      const low = remaining & -remaining;
      const rest = remaining ^ low;
      for (let sub = rest; ; sub = (sub - 1) & rest) {
        const g = low | sub;
        if (g !== total) {
          const c = feasible(g);
          const ways = isLeaf(g) && reducible[leafOf(g)]! ? 2 : 1;
          for (let way = 0; way < ways; way++) {
            const own = way === 1 ? 2 * rawSize[leafOf(g)]! : 0;
            if (sum + c + own + lowerFinal < bestTotal) {
              chosen.push(g);
              reducedFirst.push(way === 1);
              partition(remaining ^ g, sum + c + own);
              chosen.pop();
              reducedFirst.pop();
            }
          }
        }
        if (sub === 0) break;
      }
    };
    partition(total, 0);
    if (finalGroups !== undefined) cost = bestTotal;
  }
  if (!Number.isFinite(cost)) return undefined;
  if (finalGroups !== undefined) return { tree: node(...finalGroups.map((g) => build(g.mask, g.reduced))), cost };
  return { tree: build(full, false), cost };
}
