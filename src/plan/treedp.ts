/**
 * dp on tree-shaped components: exact, by dynamic programming over connected subtrees split at one edge.
 *
 * When every summed index of a component is held by exactly two of its operands and the operands and the
 * pairs that share an index form a tree, a connected group of operands is a subtree, and the two groups a step
 * joins (no outer products, as in dp) are the two sides of one edge of it. So the best plan of a subtree S is
 * its cheapest split at one of its |S| − 1 edges, each side planned optimally: the same search as dp's, but
 * every join is found directly (the subtrees on each side of each edge, listed by size) instead of by pairing
 * whole levels. A chain of n operands has n(n + 1)/2 subtrees and about n³/6 splits; a tree whose subtree count
 * (computed first, in closed form) passes `TREE_DP_MAX_SUBTREES` is left to the general search.
 */

import { type Bits, bitsOf, hasBit, idsOf, or, sizeOf } from './bits.js';
import { checkDeadline } from './budget.js';
import { type Network, type Tree, leaf, node } from './network.js';
import type { Objective } from './types.js';

/** The most subtrees a tree-shaped component may have for this search (a 300-operand chain has 45,150); beyond it the general search, whose cost cap prunes, is faster. */
const TREE_DP_MAX_SUBTREES = 100_000;

export interface TreeDpResult {
  readonly tree: Tree;
  /** Indices of the component's result. */
  readonly legs: Bits;
}

interface Sub {
  /** Zobrist hashes of the members: 21 + 32 bits make the map key, a third word checks it. */
  readonly hi: number;
  readonly lo: number;
  readonly check: number;
  readonly count: number;
  readonly legs: Bits;
  /** Elements of this group's result. */
  readonly width: number;
  /** Directed boundary edges (inside → outside), as indices into the arc arrays. */
  readonly out: readonly number[];
  flops: number;
  size: number;
  write: number;
  value: number;
  /** The best split found: its two sides (none for a single operand). */
  left: Sub | undefined;
  right: Sub | undefined;
  readonly input: number;
}

function valueOf(o: Objective, flops: number, size: number, write: number): number {
  return o === 'flops' ? flops : o === 'size' ? size : o === 'write' ? write : flops + 64 * write;
}

/**
 * The optimal tree (dp's search space: connected groups only) of a tree-shaped component, or undefined when the
 * component is not tree-shaped, has an operand with indices of its own to sum, or has too many subtrees.
 */
export function treeDp(net: Network, members: readonly number[], holders: readonly (readonly number[])[], legsOfLeaf: readonly Bits[], objective: Objective, deadline: number, algorithm: string): TreeDpResult | undefined {
  const m = members.length;
  if (m < 3) return undefined;
  const local = new Map<number, number>();
  members.forEach((t, k) => local.set(t, k));
  // Adjacency: one edge per pair of operands sharing summed indices (several indices between a pair are one edge).
  const neighbours: Map<number, number>[] = Array.from({ length: m }, () => new Map());
  let edges = 0;
  for (const t of members) {
    for (const i of idsOf(net.inputs[t]!)) {
      if (hasBit(net.output, i)) continue;
      // A summed index held by one operand only (its own, summed before any join) or by three or more: refused.
      const h = holders[i]!;
      if (h.length !== 2) return undefined;
      const a = local.get(h[0]!)!;
      const b = local.get(h[1]!)!;
      if (a === b) return undefined;
      if (!neighbours[a]!.has(b)) {
        neighbours[a]!.set(b, 0);
        neighbours[b]!.set(a, 0);
        edges++;
      }
    }
  }
  if (edges !== m - 1) return undefined;
  // Count the subtrees: rooted at 0, f(v) = Π over children (1 + f(child)); their sum over v is the count.
  const order: number[] = [0];
  const parentOf = new Int32Array(m).fill(-1);
  parentOf[0] = 0;
  for (let k = 0; k < order.length; k++) {
    for (const w of neighbours[order[k]!]!.keys()) {
      if (parentOf[w] !== -1) continue;
      parentOf[w] = order[k]!;
      order.push(w);
    }
  }
  if (order.length !== m) return undefined;
  const f = new Float64Array(m).fill(1);
  let count = 0;
  for (let k = m - 1; k >= 0; k--) {
    const v = order[k]!;
    count += f[v]!;
    const p = parentOf[v]!;
    if (k > 0) f[p] = f[p]! * (1 + f[v]!);
  }
  if (count > TREE_DP_MAX_SUBTREES) return undefined;

  // Directed edges (arcs) a → b; arcs 2k and 2k + 1 are the two directions of edge k.
  const arcFrom: number[] = [];
  const arcTo: number[] = [];
  const arcOf: Map<number, number>[] = Array.from({ length: m }, () => new Map());
  for (let a = 0; a < m; a++) {
    for (const b of neighbours[a]!.keys()) {
      if (b < a) continue;
      arcOf[a]!.set(b, arcFrom.length);
      arcFrom.push(a, b);
      arcTo.push(b, a);
      arcOf[b]!.set(a, arcFrom.length - 1);
    }
  }
  // The summed indices each edge carries (those a join across it removes).
  const between: Bits[] = Array.from({ length: arcFrom.length >> 1 }, () => bitsOf([], net.words));
  for (const t of members) {
    for (const i of idsOf(net.inputs[t]!)) {
      if (hasBit(net.output, i)) continue;
      const [p, q] = holders[i]!;
      const arc = arcOf[local.get(p!)!]!.get(local.get(q!)!)!;
      between[arc >> 1]![i >>> 5]! |= 1 << (i & 31);
    }
  }
  // Zobrist keys per operand (a fixed generator: the search does not depend on a seed).
  let s = 0x9e3779b9;
  const rand = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s;
  };
  const zHi = Array.from({ length: m }, () => rand() >>> 11);
  const zLo = Array.from({ length: m }, () => rand());
  const zCheck = Array.from({ length: m }, () => rand());
  // The elements of the indices each edge carries: a join across edge k costs 2 × width(result) × carried[k].
  const carried = between.map((b) => sizeOf(b, net.size));

  // side[arc][size]: the subtrees holding arc's tail but not its head, by member count.
  const side: Sub[][][] = Array.from({ length: arcFrom.length }, () => []);
  const register = (e: Sub): void => {
    for (const a of e.out) {
      const lists = side[a]!;
      while (lists.length <= e.count) lists.push([]);
      lists[e.count]!.push(e);
    }
  };
  for (let k = 0; k < m; k++) {
    const t = members[k]!;
    const out = [...neighbours[k]!.keys()].map((b) => arcOf[k]!.get(b)!);
    const legs = legsOfLeaf[t]!;
    register({ hi: zHi[k]!, lo: zLo[k]!, check: zCheck[k]!, count: 1, legs, width: sizeOf(legs, net.size), out, flops: 0, size: 0, write: 0, value: 0, left: undefined, right: undefined, input: t });
  }
  let polls = 0;
  let last: Sub | undefined;
  for (let size = 2; size <= m; size++) {
    const level = new Map<number, Sub>();
    for (let a = 0; a < arcFrom.length; a += 2) {
      const left = side[a]!;
      const right = side[a + 1]!;
      const gone = between[a >> 1]!;
      const factor = 2 * carried[a >> 1]!;
      for (let j = Math.max(1, size - right.length + 1); j < size && j < left.length; j++) {
        const ls = left[j]!;
        const rs = right[size - j]!;
        if (ls.length === 0 || rs.length === 0) continue;
        for (const x of ls) {
          for (const y of rs) {
            if ((++polls & 4095) === 0) checkDeadline(deadline, algorithm);
            const hi = (x.hi ^ y.hi) >>> 0;
            const lo = (x.lo ^ y.lo) >>> 0;
            const check = (x.check ^ y.check) >>> 0;
            const key = hi * 2 ** 21 + (lo >>> 11);
            let e = level.get(key);
            if (e === undefined) {
              // The group's result: both sides' legs but the indices the edge carries (the union is their sum).
              const legs = or(x.legs, y.legs);
              for (let k = 0; k < legs.length; k++) legs[k]! &= ~gone[k]!;
              const out = [...x.out.filter((b) => b !== a), ...y.out.filter((b) => b !== a + 1)];
              e = { hi, lo, check, count: size, legs, width: sizeOf(legs, net.size), out, flops: 0, size: 0, write: 0, value: Infinity, left: undefined, right: undefined, input: -1 };
              level.set(key, e);
            } else if (e.check !== check) {
              return undefined;
            }
            const fl = x.flops + y.flops + factor * e.width;
            const sz = Math.max(x.size, y.size, e.width);
            const w = x.write + y.write + e.width;
            const value = valueOf(objective, fl, sz, w);
            if (value < e.value) {
              e.flops = fl;
              e.size = sz;
              e.write = w;
              e.value = value;
              e.left = x;
              e.right = y;
            }
          }
        }
      }
    }
    for (const e of level.values()) {
      register(e);
      last = e;
    }
  }
  const build = (e: Sub): Tree => (e.input >= 0 ? leaf(e.input) : node(build(e.left!), build(e.right!)));
  return last === undefined || last.count !== m ? undefined : { tree: build(last), legs: last.legs };
}
