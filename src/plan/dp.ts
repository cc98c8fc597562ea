/**
 * Dynamic programming over connected subgraphs (Pfeifer, Haegeman & Verstraete 2014) with cost capping.
 *
 * Level m holds, for every connected group of m operands (connected through indices summed away, not through
 * output indices), the best way found to contract it. Level m is built
 * by joining two disjoint groups of levels j and m − j that share a summation index (no outer products
 * inside a component). A join whose objective exceeds the cap is skipped; when a pass ends without a solution for the
 * whole component the cap grows and the pass repeats. Each connected component is solved on its own, and the
 * components are then joined by an exact search over outer products. Leaves may be reduced on their own first
 * (their indices that no other operand or the output has), when that lowers the objective.
 */

import { type Bits, bitsOf, hasBit, idsOf, intersects, isSubset, keyOf, or, sizeOf } from './bits.js';
import { checkDeadline } from './budget.js';
import { solveExact } from './exact.js';
import { type Network, type Tree, leaf, node } from './network.js';
import type { Objective } from './types.js';

/** One way to present a group to a join: its legs, or a leaf's raw set when the leaf is not reduced first. */
interface Side {
  readonly set: Bits;
  readonly flops: number;
  readonly size: number;
  readonly write: number;
  readonly tree: Tree;
}

interface Entry {
  /** Serial number (for de-duplication while pairing). */
  readonly id: number;
  /** Members 0..25 and 26..51 as bit masks (when the network has at most 52 operands). */
  readonly lo: number;
  readonly hi: number;
  readonly key: number | string;
  readonly mask: Bits;
  readonly legs: Bits;
  readonly flops: number;
  readonly size: number;
  readonly write: number;
  readonly value: number;
  /** The smallest objective over `sides`. */
  readonly minValue: number;
  readonly tree: Tree;
  readonly sides: readonly Side[];
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

  // Connected components over shared summation indices (union-find); sharing only output indices (a batch
  // axis) does not connect two operands, as in opt_einsum.
  const parent = Array.from({ length: n }, (_, i) => i);
  const find = (x: number): number => {
    while (parent[x] !== x) x = parent[x] = parent[parent[x]!]!;
    return x;
  };
  for (let i = 0; i < net.nIdx; i++) {
    if (hasBit(net.output, i)) continue;
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
  // Operand groups are keyed by the sum of 2^t over their members when that is exact (n ≤ 52), else by string.
  const numericKeys = n <= 52;
  const keyOfMask = (mask: Bits): number | string => {
    if (!numericKeys) return keyOf(mask);
    let k = 0;
    for (const t of idsOf(mask)) k += 2 ** t;
    return k;
  };
  let serial = 0;
  /** With numeric keys the members live in lo/hi and groups carry no bit set. */
  const emptyMask = new Uint32Array(opWords);
  const halves = (mask: Bits): { lo: number; hi: number } => {
    let lo = 0;
    let hi = 0;
    if (numericKeys) for (const t of idsOf(mask)) t < 26 ? (lo |= 1 << t) : (hi |= 1 << (t - 26));
    return { lo, hi };
  };
  const sizeOfUnion = (a: Bits, b: Bits): number => {
    let p = 1;
    for (let w = 0; w < a.length; w++) {
      let x = a[w]! | b[w]!;
      while (x !== 0) {
        const low = x & -x;
        p *= net.size[w * 32 + 31 - Math.clz32(low)]!;
        x ^= low;
      }
    }
    return p;
  };

  const solveComponent = (members: number[]): Entry | undefined => {
    const leaves: Entry[] = members.map((t) => {
      const raw = net.inputs[t]!;
      const legs = legsOfLeaf[t]!;
      const mask = bitsOf([t], opWords);
      const reducible = !isSubset(raw, legs);
      const reduce = members.length === 1 && reducible;
      const flops = reduce ? 2 * sizeOf(raw, net.size) : 0;
      const size = reduce ? sizeOf(legs, net.size) : 0;
      const tree = leaf(t, reduce);
      const sides: Side[] = [{ set: legs, flops, size, write: size, tree }];
      if (reducible && !reduce) {
        const ls = sizeOf(legs, net.size);
        sides[0] = { set: legs, flops: 2 * sizeOf(raw, net.size), size: ls, write: ls, tree: leaf(t, true) };
        sides.push({ set: raw, flops: 0, size: 0, write: 0, tree });
      }
      const value = valueOf(o.objective, flops, size, size);
      const minValue = Math.min(...sides.map((x) => valueOf(o.objective, x.flops, x.size, x.write)));
      return { id: serial++, ...halves(mask), key: keyOfMask(mask), mask, legs, flops, size, write: size, value, minValue, tree, sides };
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
    const levels: Map<number | string, Entry>[] = Array.from({ length: m + 1 }, () => new Map());
    for (const e of leaves) levels[1]!.set(e.key, e);
    const flopsObjective = o.objective === 'flops';
    let seenAt = new Int32Array(0);
    let stamp = 0;

    const join = (a: Entry, b: Entry, level: Map<number | string, Entry>): void => {
      if ((++polls & 1023) === 0) checkDeadline(o.deadline, o.algorithm);
      // The cheapest this join can be (legs only, no factor 2): skip it early when over the cap or when the
      // group already has an entry at least that cheap.
      const key = numericKeys ? (a.key as number) + (b.key as number) : undefined;
      if (flopsObjective) {
        const bound = a.minValue + b.minValue + sizeOfUnion(a.legs, b.legs);
        if (bound > cap) return;
        if (key !== undefined) {
          const existing = level.get(key);
          if (existing !== undefined && existing.value <= bound) return;
        }
      }
      const lo = a.lo | b.lo;
      const hi = a.hi | b.hi;
      const mask = numericKeys ? a.mask : or(a.mask, b.mask);
      // Shared non-output legs are removed when no operand outside the group holds them.
      const legs = or(a.legs, b.legs);
      for (let w = 0; w < legs.length; w++) {
        let x = a.legs[w]! & b.legs[w]! & ~net.output[w]!;
        while (x !== 0) {
          const low = x & -x;
          const i = w * 32 + 31 - Math.clz32(low);
          let inside = true;
          for (const t of holders[i]!) {
            const member = numericKeys ? (t < 26 ? (lo >>> t) & 1 : (hi >>> (t - 26)) & 1) === 1 : hasBit(mask, t);
            if (!member) {
              inside = false;
              break;
            }
          }
          if (inside) legs[w]! &= ~low;
          x ^= low;
        }
      }
      const resultSize = sizeOf(legs, net.size);
      if (resultSize > o.memoryLimit) return;
      const groupKey = key ?? keyOf(mask);
      let best = level.get(groupKey);
      for (const x of a.sides) {
        for (const y of b.sides) {
          const union = or(x.set, y.set);
          const removed = !isSubset(union, legs);
          const f = x.flops + y.flops + sizeOf(union, net.size) * (removed ? 2 : 1);
          const sz = Math.max(x.size, y.size, resultSize);
          const w = x.write + y.write + resultSize;
          const value = valueOf(o.objective, f, sz, w);
          if (value > cap) continue;
          if (best === undefined || value < best.value) {
            const tree = node(x.tree, y.tree);
            best = { id: serial++, lo, hi, key: groupKey, mask: numericKeys ? emptyMask : mask, legs, flops: f, size: sz, write: w, value, minValue: value, tree, sides: [{ set: legs, flops: f, size: sz, write: w, tree }] };
            level.set(groupKey, best);
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
          if (small.size === 0 || large.size === 0) continue;
          // Index the larger level by summation leg so that only groups sharing one are paired.
          const byLeg = new Map<number, Entry[]>();
          for (const e of large.values()) {
            for (const i of idsOf(e.legs)) {
              if (hasBit(net.output, i)) continue;
              let list = byLeg.get(i);
              if (list === undefined) byLeg.set(i, (list = []));
              list.push(e);
            }
          }
          const same = j === size - j;
          if (seenAt.length < serial) seenAt = new Int32Array(2 * serial + 64).fill(-1);
          for (const a of small.values()) {
            stamp++;
            for (const i of idsOf(a.legs)) {
              if (hasBit(net.output, i)) continue;
              for (const b of byLeg.get(i) ?? []) {
                if (seenAt[b.id] === stamp) continue;
                seenAt[b.id] = stamp;
                if (numericKeys ? (a.lo & b.lo) !== 0 || (a.hi & b.hi) !== 0 : intersects(a.mask, b.mask)) continue;
                if (same && !(a.key < b.key)) continue;
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
