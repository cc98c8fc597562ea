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
import { BudgetExceeded, checkDeadline, now } from './budget.js';
import { solveExact } from './exact.js';
import { treeDp } from './treedp.js';
import { toNumber } from './flops.js';
import { greedyBest } from './greedy.js';
import { type Network, type Tree, leaf, node, objectiveFlops, objectiveValue, scoreSsa, ssaTree, treeToSsa } from './network.js';
import { reconfigure } from './reconfigure.js';
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
  /** Solve tree-shaped components by their subtrees (treedp.ts; default true). Tests turn it off to compare. */
  readonly treeShortcut?: boolean;
}

function valueOf(o: Objective, flops: number, size: number, write: number): number {
  return o === 'flops' ? flops : o === 'size' ? size : o === 'write' ? write : flops + 64 * write;
}

/** Share of the time left that the exact search gets before dp falls back to reconfiguring greedy's tree. */
const EXACT_SHARE = 0.5;
/** The exact search also gives up once it holds this many groups (about 200 bytes each). */
const MAX_GROUPS = 2_000_000;

/**
 * dp's tree: the exact search while it fits half the time left (and `MAX_GROUPS`), otherwise greedy's tree
 * (under the same limit) improved by subtree reconfiguration until the deadline: never costlier than greedy's.
 */
export function dpTree(net: Network, o: DpOptions): Tree | undefined {
  const start = now();
  const exactDeadline = o.deadline === Infinity ? Infinity : start + (o.deadline - start) * EXACT_SHARE;
  try {
    return dpExact(net, { ...o, deadline: exactDeadline });
  } catch (e) {
    if (!(e instanceof BudgetExceeded)) throw e;
  }
  return dpFallback(net, o);
}

/** Greedy's tree, its regions of up to 8 subtrees re-solved exactly while time is left (see reconfigure.ts). */
function dpFallback(net: Network, o: DpOptions): Tree {
  const greedy = greedyBest(net, o.memoryLimit, o.objective);
  const first = ssaTree(greedy, net.n);
  // A k-way last step (no pairwise plan fits the limit) is not reconfigured.
  if (greedy.some((step) => step.length > 2)) return first;
  const improved = reconfigure(net, first, { maxLeaves: 8, memoryLimit: o.memoryLimit, deadline: o.deadline });
  const value = (t: Tree): number => objectiveValue(scoreSsa(net, treeToSsa(t, net.n)), o.objective);
  return value(improved) < value(first) ? improved : first;
}

function dpExact(net: Network, o: DpOptions): Tree | undefined {
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

  // Under a memory limit dp's plan is compared with greedy's under the same limit (see optimizers.ts), so a group
  // costing more than greedy's whole plan is of no use: greedy's value caps the search. (Without a limit every
  // component must be solved, so there is no such ceiling.)
  const ceiling = o.memoryLimit === Infinity ? Infinity : objectiveValue(scoreSsa(net, greedyBest(net, o.memoryLimit, o.objective)), o.objective);
  // With one component its result is the output, which the memory limit does not cover.
  const singleComponent = groups.size === 1;
  /** Every group each component's search kept (the candidates of a final k-way step under a memory limit). */
  const kept: Entry[] = [];
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
    if (o.memoryLimit === Infinity && o.treeShortcut !== false) {
      // A tree-shaped component is solved by splitting subtrees at one edge (treedp.ts): the same optimum.
      const solved = treeDp(net, members, holders, legsOfLeaf, o.objective, o.deadline, o.algorithm);
      if (solved !== undefined) {
        const mask = bitsOf(members, opWords);
        return { id: serial++, ...halves(mask), key: keyOfMask(mask), mask, legs: solved.legs, flops: 0, size: 0, write: 0, value: 0, minValue: 0, tree: solved.tree, sides: [] };
      }
    }
    let rootLevel = false;
    // Legs of the whole component: indices kept in the output.
    let compIdx = bitsOf([], net.words);
    for (const t of members) compIdx = or(compIdx, legsOfLeaf[t]!);
    const finalLegs = bitsOf(idsOf(compIdx).filter((i) => hasBit(net.output, i)), net.words);
    let cap = Math.min(Math.max(1, sizeOf(finalLegs, net.size)), ceiling);
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
      if ((++polls & 1023) === 0) {
        checkDeadline(o.deadline, o.algorithm);
        if (((polls >>> 10) & 63) === 0 && levels.reduce((k, l) => k + l.size, 0) > MAX_GROUPS) throw new BudgetExceeded(o.algorithm);
      }
      // The cheapest this join can be (legs only, no factor 2): skip it early when over the cap or when the
      // group already has an entry at least that cheap.
      const key = numericKeys ? (a.key as number) + (b.key as number) : undefined;
      if (flopsObjective) {
        const bound = a.minValue + b.minValue + sizeOfUnion(a.legs, b.legs);
        if (bound > cap) {
          skipped = true;
          if (bound < nextCap) nextCap = bound;
          return;
        }
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
      if (resultSize > o.memoryLimit && !rootLevel) return;
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
          if (value > cap) {
            skipped = true;
            if (value < nextCap) nextCap = value;
            continue;
          }
          if (best === undefined || value < best.value) {
            const tree = node(x.tree, y.tree);
            best = { id: serial++, lo, hi, key: groupKey, mask: numericKeys ? emptyMask : mask, legs, flops: f, size: sz, write: w, value, minValue: value, tree, sides: [{ set: legs, flops: f, size: sz, write: w, tree }] };
            level.set(groupKey, best);
          }
        }
      }
    };

    // The cheapest join the last pass skipped for its cost (Infinity when none was, or each cost Infinity).
    let nextCap = Infinity;
    // Whether the last pass skipped any join for its cost: one whose value is Infinity (a cost past a double)
    // leaves nextCap at Infinity, yet a cap of Infinity admits it.
    let skipped = false;
    for (;;) {
      nextCap = Infinity;
      skipped = false;
      for (let size = 2; size <= m; size++) {
        const level = levels[size]!;
        rootLevel = singleComponent && size === m;
        for (let j = 1; j <= size >> 1; j++) {
          const small = levels[j]!;
          const large = levels[size - j]!;
          if (small.size === 0 || large.size === 0) continue;
          // Index the larger level by summation leg so that only groups sharing one are paired.
          const byLeg = new Map<number, Entry[]>();
          for (const e of large.values()) {
            if ((++polls & 1023) === 0) checkDeadline(o.deadline, o.algorithm);
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
            if ((++polls & 1023) === 0) checkDeadline(o.deadline, o.algorithm);
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
      const finished = !done.done || !Number.isFinite(cap) || !skipped || cap >= ceiling || nextCap > ceiling;
      if (finished && o.memoryLimit < Infinity) {
        for (let j = 2; j <= (singleComponent ? m - 1 : m); j++) kept.push(...levels[j]!.values());
      }
      if (!done.done) return done.value;
      if (finished) return undefined;
      // The cap grows at least to the cheapest skipped join (a pass with nothing new to admit is wasted: under a
      // memory limit that leaves the component unsolved, growing by ×increment alone took a thousand passes to
      // reach Infinity).
      cap = Math.min(Math.max(cap * increment, nextCap), ceiling);
      if (cap > Number.MAX_VALUE / 4) cap = Infinity;
    }
  };

  const parts: Entry[] = [];
  let failed = false;
  for (const members of groups.values()) {
    const e = solveComponent(members);
    if (e === undefined) failed = true;
    else parts.push(e);
  }
  const pairwise = failed ? undefined : joinComponents(net, parts, o);
  if (o.memoryLimit === Infinity) return pairwise;
  // Under a memory limit, a plan may also end with one step over several groups built pairwise (all that
  // opt_einsum's "contract everything left" step does): the cheapest such plan, if it beats the pairwise one.
  // (dp's own values are doubles, so the bound is one too: Infinity, no pruning, past 10^308.)
  const bound = Math.min(ceiling, pairwise === undefined ? Infinity : toNumber(objectiveFlops(scoreSsa(net, treeToSsa(pairwise, n)), o.objective)));
  const members = (e: Entry): number[] => {
    if (!numericKeys) return idsOf(e.mask);
    const out: number[] = [];
    for (let t = 0; t < 26; t++) if ((e.lo >>> t) & 1) out.push(t);
    for (let t = 0; t < 26; t++) if ((e.hi >>> t) & 1) out.push(t + 26);
    return out;
  };
  const candidates: FinalCandidate[] = [];
  for (let t = 0; t < n; t++) {
    candidates.push({ members: [t], set: net.inputs[t]!, flops: 0, size: 0, write: 0, tree: leaf(t) });
    // An operand with indices of its own may also enter summed over them first (a one-operand step, which no
    // limit stops: it writes less than the operand holds).
    const legs = legsOfLeaf[t]!;
    if (!isSubset(net.inputs[t]!, legs)) {
      const size = sizeOf(legs, net.size);
      candidates.push({ members: [t], set: legs, flops: 2 * sizeOf(net.inputs[t]!, net.size), size, write: size, tree: leaf(t, true) });
    }
  }
  for (const e of kept) candidates.push({ members: members(e), set: e.legs, flops: e.flops, size: e.size, write: e.write, tree: e.tree });
  return cheapestFinalStep(net, candidates, o, bound) ?? pairwise;
}

/** A group a final k-way step may take: its operands, its index set as it arrives, its cost and its tree. */
interface FinalCandidate {
  readonly members: readonly number[];
  readonly set: Bits;
  readonly flops: number;
  readonly size: number;
  readonly write: number;
  readonly tree: Tree;
}

/**
 * The cheapest partition of the operands into candidate groups followed by one step over all of them (at least
 * two), if any is cheaper than `bound`. A depth-first search: the group of the lowest unassigned operand first,
 * pruned by lower bounds of the final step (it writes the output and costs at least the output's size).
 */
function cheapestFinalStep(net: Network, candidates: readonly FinalCandidate[], o: DpOptions, bound: number): Tree | undefined {
  const byLow: FinalCandidate[][] = Array.from({ length: net.n }, () => []);
  for (const c of candidates) byLow[Math.min(...c.members)]!.push(c);
  const outSize = sizeOf(net.output, net.size);
  const taken = new Uint8Array(net.n);
  const chosen: FinalCandidate[] = [];
  let best = bound;
  let bestGroups: FinalCandidate[] | undefined;
  let polls = 0;
  let takenCount = 0;
  const visit = (low: number, flops: number, size: number, write: number, union: Bits): void => {
    if ((++polls & 1023) === 0) checkDeadline(o.deadline, o.algorithm);
    while (low < net.n && taken[low] === 1) low++;
    if (low === net.n) {
      if (chosen.length < 2) return;
      const removed = !isSubset(union, net.output);
      const f = flops + sizeOf(union, net.size) * (chosen.length - 1 + (removed ? 1 : 0));
      const value = valueOf(o.objective, f, Math.max(size, outSize), write + outSize);
      if (value < best) {
        best = value;
        bestGroups = chosen.slice();
      }
      return;
    }
    for (const c of byLow[low]!) {
      if (c.members.some((t) => taken[t] === 1)) continue;
      const f = flops + c.flops;
      const sz = Math.max(size, c.size);
      const w = write + c.write;
      // The last step runs over at least the union so far and one more group unless c completes the partition.
      const u = or(union, c.set);
      const last = takenCount + c.members.length === net.n;
      const lastFlops = sizeOf(u, net.size) * Math.max(1, last ? chosen.length : chosen.length + 1);
      if (valueOf(o.objective, f + lastFlops, Math.max(sz, outSize), w + outSize) >= best) continue;
      for (const t of c.members) taken[t] = 1;
      takenCount += c.members.length;
      chosen.push(c);
      visit(low + 1, f, sz, w, u);
      chosen.pop();
      takenCount -= c.members.length;
      for (const t of c.members) taken[t] = 0;
    }
  };
  visit(0, 0, 0, 0, net.output);
  return bestGroups === undefined ? undefined : node(...bestGroups.map((c) => c.tree));
}

/** Joins the components' trees (outer products): exactly when few, smallest first otherwise. */
function joinComponents(net: Network, parts: readonly Entry[], o: DpOptions): Tree | undefined {
  if (parts.length === 1) return parts[0]!.tree;
  // Join the components (outer products) exactly when few, smallest first otherwise.
  if (parts.length <= 12) {
    // A component of one operand enters as it is: the exact search decides whether to sum its own indices
    // first or inside the join.
    const single = (e: Entry): boolean => e.tree.kind === 'leaf';
    const exact = solveExact({
      leaves: parts.map((e) => (single(e) ? net.inputs[(e.tree as { input: number }).input]! : e.legs)),
      keep: net.output,
      size: net.size,
      memoryLimit: o.memoryLimit,
      deadline: o.deadline,
      algorithm: o.algorithm,
      finalStep: true,
    });
    if (exact === undefined) return undefined;
    return graft(exact.tree, parts.map((e) => (single(e) ? leaf((e.tree as { input: number }).input) : e.tree)));
  }
  const sorted = [...parts].sort((a, b) => sizeOf(a.legs, net.size) - sizeOf(b.legs, net.size));
  let tree = sorted[0]!.tree;
  for (const e of sorted.slice(1)) tree = node(tree, e.tree);
  return tree;
}

/** Replaces leaf i of `tree` by `subtrees[i]`. */
function graft(tree: Tree, subtrees: readonly Tree[]): Tree {
  if (tree.kind === 'leaf') {
    const sub = subtrees[tree.input]!;
    // A leaf the exact search reduces first stays reduced (subtrees are leaves only for one-operand parts).
    return tree.reduce && sub.kind === 'leaf' ? leaf(sub.input, true) : sub;
  }
  return node(...tree.children.map((c) => graft(c, subtrees)));
}
