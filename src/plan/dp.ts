/**
 * Dynamic programming over connected subgraphs (Pfeifer, Haegeman & Verstraete 2014) with cost capping.
 *
 * Level m holds, for every connected group of m operands, the best way found to contract it. Level m is built
 * by joining two disjoint groups of levels j and m − j that share an index (no outer products inside a
 * component). A join whose objective exceeds the cap is skipped; when a pass ends without a solution for the
 * whole component the cap grows and the pass repeats. Each connected component is solved on its own, and the
 * components are then joined by an exact search over outer products. Leaves may be reduced on their own first
 * (their indices that no other operand or the output has), when that lowers the objective.
 */

import { type Bits, andNot, bitsOf, hasBit, idsOf, intersects, isSubset, keyOf, or, sizeOf } from './bits.js';
import { checkDeadline } from './budget.js';
import { solveExact } from './exact.js';
import { type Network, type Tree, leaf, node } from './network.js';
import type { Objective } from './types.js';

interface Entry {
  readonly mask: Bits;
  readonly legs: Bits;
  readonly flops: number;
  readonly size: number;
  readonly write: number;
  readonly value: number;
  readonly tree: Tree;
  /** The leaf index when this is a single operand. */
  readonly leafOf: number;
}

export interface DpOptions {
  readonly objective: Objective;
  readonly memoryLimit: number;
  readonly deadline: number;
  readonly algorithm: string;
}

function valueOf(o: Objective, flops: number, size: number, write: number): number {
  return o === 'flops' ? flops : o === 'size' ? size : o === 'write' ? write : flops + 64 * write;
}

export function dpTree(net: Network, o: DpOptions): Tree | undefined {
  const n = net.n;
  const opWords = Math.max(1, Math.ceil(n / 32));
  // Which operands hold each index, and each operand's legs (indices shared with the output or another operand).
  const holders: number[][] = Array.from({ length: net.nIdx }, () => []);
  net.inputs.forEach((s, t) => idsOf(s).forEach((i) => holders[i]!.push(t)));
  const legsOfLeaf = net.inputs.map((s) =>
    bitsOf(
      idsOf(s).filter((i) => hasBit(net.output, i) || holders[i]!.length > 1),
      net.words,
    ),
  );

  // Connected components over shared legs (union-find).
  const parent = Array.from({ length: n }, (_, i) => i);
  const find = (x: number): number => {
    while (parent[x] !== x) x = parent[x] = parent[parent[x]!]!;
    return x;
  };
  for (let i = 0; i < net.nIdx; i++) {
    const h = holders[i]!;
    for (let j = 1; j < h.length; j++) parent[find(h[j]!)] = find(h[0]!);
  }
  const groups = new Map<number, number[]>();
  for (let t = 0; t < n; t++) {
    const r = find(t);
    const g = groups.get(r) ?? [];
    g.push(t);
    groups.set(r, g);
  }

  let polls = 0;
  const solveComponent = (members: number[]): Entry | undefined => {
    const leaves: Entry[] = members.map((t) => {
      const raw = net.inputs[t]!;
      const legs = legsOfLeaf[t]!;
      const mask = bitsOf([t], opWords);
      const reduce = members.length === 1 && !isSubset(raw, legs);
      const flops = reduce ? 2 * sizeOf(raw, net.size) : 0;
      const size = reduce ? sizeOf(legs, net.size) : 0;
      return { mask, legs, flops, size, write: size, value: valueOf(o.objective, flops, size, size), tree: leaf(t, reduce), leafOf: t };
    });
    if (leaves.length === 1) return leaves[0];
    // Legs of the whole component: indices kept in the output.
    let compIdx = bitsOf([], net.words);
    for (const t of members) compIdx = or(compIdx, legsOfLeaf[t]!);
    const finalLegs = bitsOf(idsOf(compIdx).filter((i) => hasBit(net.output, i)), net.words);
    let cap = Math.max(1, sizeOf(finalLegs, net.size));
    let minSize = Infinity;
    for (const i of idsOf(compIdx)) minSize = Math.min(minSize, net.size[i]!);
    const increment = Math.max(2, Number.isFinite(minSize) ? minSize : 2);

    const m = members.length;
    const levels: Map<string, Entry>[] = Array.from({ length: m + 1 }, () => new Map());
    for (const e of leaves) levels[1]!.set(keyOf(e.mask), e);

    /** Options for one side of a join: its legs, or its raw set when it is a leaf left unreduced. */
    const sidesOf = (e: Entry): { set: Bits; flops: number; write: number; size: number; tree: Tree }[] => {
      const opts = [{ set: e.legs, flops: e.flops, write: e.write, size: e.size, tree: e.tree }];
      if (e.leafOf >= 0 && e.tree.kind === 'leaf' && !e.tree.reduce) {
        const raw = net.inputs[e.leafOf]!;
        if (!isSubset(raw, e.legs)) {
          const ls = sizeOf(e.legs, net.size);
          opts[0] = { set: e.legs, flops: 2 * sizeOf(raw, net.size), write: ls, size: ls, tree: leaf(e.leafOf, true) };
          opts.push({ set: raw, flops: 0, write: 0, size: 0, tree: e.tree });
        }
      }
      return opts;
    };

    const join = (a: Entry, b: Entry, level: Map<string, Entry>): void => {
      if ((++polls & 255) === 0) checkDeadline(o.deadline, o.algorithm);
      const mask = or(a.mask, b.mask);
      // Shared non-output legs are removed when no operand outside the group holds them.
      let legs = or(a.legs, b.legs);
      for (const i of idsOf(andNot(a.legs, net.output))) {
        if (!hasBit(b.legs, i)) continue;
        if (holders[i]!.every((t) => hasBit(mask, t))) legs[i >>> 5]! &= ~(1 << (i & 31));
      }
      const resultSize = sizeOf(legs, net.size);
      if (resultSize > o.memoryLimit) return;
      const key = keyOf(mask);
      let best = level.get(key);
      for (const x of sidesOf(a)) {
        for (const y of sidesOf(b)) {
          const union = or(x.set, y.set);
          const removed = !isSubset(union, legs);
          const stepFlops = sizeOf(union, net.size) * (removed ? 2 : 1);
          const f = x.flops + y.flops + stepFlops;
          const s = Math.max(x.size, y.size, resultSize);
          const w = x.write + y.write + resultSize;
          const value = valueOf(o.objective, f, s, w);
          if (value > cap) continue;
          if (best === undefined || value < best.value) {
            best = { mask, legs, flops: f, size: s, write: w, value, tree: node(x.tree, y.tree), leafOf: -1 };
            level.set(key, best);
          }
        }
      }
    };

    for (;;) {
      for (let size = 2; size <= m; size++) {
        const level = levels[size]!;
        for (let j = 1; j <= size >> 1; j++) {
          const small = levels[j]!;
          const large = levels[size - j]!;
          // Index the larger level by leg so that only groups sharing an index are paired.
          const byLeg = new Map<number, Entry[]>();
          for (const e of large.values()) {
            for (const i of idsOf(e.legs)) {
              let list = byLeg.get(i);
              if (list === undefined) byLeg.set(i, (list = []));
              list.push(e);
            }
          }
          for (const a of small.values()) {
            const seen = new Set<Entry>();
            for (const i of idsOf(a.legs)) {
              for (const b of byLeg.get(i) ?? []) {
                if (seen.has(b)) continue;
                seen.add(b);
                if (intersects(a.mask, b.mask)) continue;
                if (j === size - j && keyOf(a.mask) > keyOf(b.mask)) continue;
                join(a, b, level);
              }
            }
          }
        }
      }
      const done = levels[m]!.values().next();
      if (!done.done) return done.value;
      if (!Number.isFinite(cap)) return undefined;
      cap *= increment;
      if (cap > Number.MAX_VALUE / 4) cap = Infinity;
    }
  };

  const parts: Entry[] = [];
  for (const members of groups.values()) {
    const e = solveComponent(members);
    if (e === undefined) return undefined;
    parts.push(e);
  }
  if (parts.length === 1) return parts[0]!.tree;
  // Join the components (outer products) exactly when few, smallest first otherwise.
  if (parts.length <= 12) {
    const exact = solveExact({
      leaves: parts.map((e) => e.legs),
      keep: net.output,
      size: net.size,
      memoryLimit: o.memoryLimit,
      deadline: o.deadline,
      algorithm: o.algorithm,
    });
    if (exact === undefined) return undefined;
    return graft(exact.tree, parts.map((e) => e.tree));
  }
  const sorted = [...parts].sort((a, b) => sizeOf(a.legs, net.size) - sizeOf(b.legs, net.size));
  let tree = sorted[0]!.tree;
  for (const e of sorted.slice(1)) tree = node(tree, e.tree);
  return tree;
}

/** Replaces leaf i of `tree` by `subtrees[i]`. */
export function graft(tree: Tree, subtrees: readonly Tree[]): Tree {
  if (tree.kind === 'leaf') return subtrees[tree.input]!;
  return node(...tree.children.map((c) => graft(c, subtrees)));
}
