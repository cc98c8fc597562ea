/**
 * Greedy and random-greedy path search (opt_einsum's heuristic).
 *
 * 1. Operands with identical index sets are multiplied first (Hadamard products).
 * 2. Among pairs that share an index, contract the one with the lowest score
 *    size(result) − α·(size(a) + size(b)); α = 1 is opt_einsum's 'memory-removed'. Which pairs wait in the
 *    queue is a parameter: all of them, or opt_einsum's best offer per operand.
 * 3. What is left has no shared index: outer products, smallest operands first.
 *
 * Path totals are counted without overflow (flops.ts) and scores beyond 2^1000 are log-compressed, so that on
 * networks whose costs pass 10^308 paths still compare.
 *
 * `greedy` runs a few values of α and keeps the cheapest path under the reported cost; `random-greedy` samples
 * among the best few candidates with Boltzmann weights, for a seeded number of trials.
 */

import { type Bits, idsOf, keyOf, sizeOf } from './bits.js';
import { checkDeadline } from './budget.js';
import { type Flops, ZERO, addFlops, flopsKey, productOf, scaleFlops, toNumber } from './flops.js';
import { MinHeap, makeRng } from './heap.js';
import { type Network, type PathScore, type SsaPath, objectiveValue } from './network.js';
import type { Objective } from './types.js';

export interface GreedyParams {
  /** Weight of the operand sizes in the score. */
  readonly alpha: number;
  /** 0 for a deterministic run; otherwise the Boltzmann temperature of the choice. */
  readonly temperature: number;
  /** How many of the best candidates a random choice considers. */
  readonly nbranch: number;
  readonly rng: () => number;
  readonly memoryLimit: number;
  /**
   * Which pairs wait in the queue. 'all' (the default): every pair sharing an index, ties taken in the order
   * found. 'best': opt_einsum's queue: each operand offers only its best pair through a summed index (per summed
   * index at the start, over all of them for a new intermediate), and ties go to the pair whose larger SSA id is
   * smallest. An operand whose offer went stale waits until a new neighbour offers it a pair, so the search grows
   * a few clusters instead of many; neither queue is better on every network.
   */
  readonly queue?: 'all' | 'best';
}

interface Candidate {
  readonly a: number;
  readonly b: number;
  readonly score: number;
}

/** Scores up to this magnitude are used as they are; larger ones are log-compressed (see `hugeScore`). */
const LOG2_SCORE_LIMIT = 1000;
const SCORE_LIMIT = 2 ** LOG2_SCORE_LIMIT;

/**
 * The score r − α(a + b) of sizes whose log2 are lr, la, lb, when it does not fit a double (the sizes of a
 * 1,000-tensor network's intermediates can pass 10^308): computed relative to the largest term, then mapped to
 * ±2^1000 · (1 + ln(|score| / 2^1000)), which keeps the order and stays finite.
 */
function hugeScore(lr: number, la: number, lb: number, alpha: number): number {
  const top = Math.max(lr, la, lb);
  const x = 2 ** (lr - top) - alpha * (2 ** (la - top) + 2 ** (lb - top));
  if (x === 0) return 0;
  const log2 = Math.log2(Math.abs(x)) + top;
  const magnitude = log2 <= LOG2_SCORE_LIMIT ? 2 ** log2 : SCORE_LIMIT * (1 + (log2 - LOG2_SCORE_LIMIT) * Math.LN2);
  return Math.sign(x) * magnitude;
}

/** bits.ts's hasBit, local to this module's hot loops. */
function has(a: Bits, i: number): boolean {
  return ((a[i >>> 5]! >>> (i & 31)) & 1) === 1;
}

/** One greedy run; returns an SSA path. */
export function greedySsa(net: Network, p: GreedyParams): SsaPath {
  return greedyRun(net, p).ssa;
}

/** One greedy run: the SSA path and its totals (what `scoreSsa` would compute, counted as the path is built). */
export function greedyRun(net: Network, p: GreedyParams): { ssa: SsaPath; score: PathScore } {
  const ssa: SsaPath = [];
  let flops: Flops = ZERO;
  let largest: Flops = { m: 1, e: 0 };
  let write: Flops = ZERO;
  const sets: (Bits | undefined)[] = [];
  const sizeById: number[] = [];
  const bigSizeById: Flops[] = [];
  let alive = 0;
  let nextId = net.n;
  const count = new Int32Array(net.nIdx);
  // The operands holding each index, in id order; dead ones are dropped lazily, when a walk meets them (a Set
  // per index costs a hash update per index of every operand contracted, most of a large network's run).
  const holders: number[][] = Array.from({ length: net.nIdx }, () => []);
  const out = net.output;
  const sz = net.size;
  const best = p.queue === 'best';

  // Each live operand's indices also as a list: large networks have thousands of indices but a handful per
  // operand, so the hot paths walk these lists instead of every word of the bit sets.
  const idsById: number[][] = [];
  const add = (id: number, s: Bits, ids: number[]): void => {
    sets[id] = s;
    const big = productOf(ids, sz);
    bigSizeById[id] = big;
    sizeById[id] = toNumber(big);
    log2Size[id] = Math.log2(big.m) + big.e;
    privSize[id] = 1;
    privLog2[id] = 0;
    idsById[id] = ids;
    alive++;
    for (const i of ids) {
      count[i]!++;
      holders[i]!.push(id);
    }
  };
  const drop = (id: number): void => {
    for (const i of idsById[id]!) count[i]!--;
    sets[id] = undefined;
    alive--;
  };
  // What a pair's result keeps: every index but those the two share with no other operand (and not the
  // output), and each input's private indices (held by it alone, not the output: an intermediate has none).
  // Scoring walks the smaller operand only (an intermediate of a large network holds hundreds of indices, its
  // neighbours a handful): size(result) = size(s) / (shared · private(s)) × shared / removed ×
  // size(l) / (shared · private(l)), three exact integers while the sizes stay below 2^53.
  const privSize: number[] = [];
  const privLog2: number[] = [];
  const log2Size: number[] = [];
  const lsz = log2Sizes(net);
  let shared = 1;
  let removedShared = 1;
  let sharedLog2 = 0;
  let removedLog2 = 0;
  let small = 0;
  let large = 0;
  /** Walks the smaller of a and b (`small`) over the larger's set (`large`); sets the four above. */
  const overlap = (a: number, b: number): void => {
    const swap = idsById[a]!.length > idsById[b]!.length;
    small = swap ? b : a;
    large = swap ? a : b;
    const sl = sets[large]!;
    shared = 1;
    removedShared = 1;
    sharedLog2 = 0;
    removedLog2 = 0;
    for (const i of idsById[small]!) {
      if (!has(sl, i)) continue;
      shared *= sz[i]!;
      sharedLog2 += lsz[i]!;
      if (count[i] === 2 && !has(out, i)) {
        removedShared *= sz[i]!;
        removedLog2 += lsz[i]!;
      }
    }
  };
  /** Size of the result of contracting a and b now, without building it (the hot path of the search). */
  const pairResultSize = (a: number, b: number): number => {
    overlap(a, b);
    const r = (sizeById[small]! / (shared * privSize[small]!)) * (shared / removedShared) *
      (sizeById[large]! / (shared * privSize[large]!));
    // A size-0 index makes the quotients 0/0; an overflowed operand, Infinity/Infinity.
    return Number.isNaN(r) ? pairResultWalk(a, b) : r;
  };
  /** The same by walking both operands (for size-0 indices). */
  const pairResultWalk = (a: number, b: number): number => {
    const sa = sets[a]!;
    const sb = sets[b]!;
    let r = 1;
    for (const i of idsById[a]!) if (has(out, i) || count[i]! > (has(sb, i) ? 2 : 1)) r *= sz[i]!;
    for (const i of idsById[b]!) if (!has(sa, i) && (has(out, i) || count[i]! > 1)) r *= sz[i]!;
    return r;
  };
  /** log2 of that size, for sizes past a double. */
  const pairResultLog2 = (a: number, b: number): number => {
    overlap(a, b);
    return log2Size[small]! - privLog2[small]! - sharedLog2 - removedLog2 + log2Size[large]! - privLog2[large]!;
  };
  // Scratch for resultOf: a stamp per index (seen in this step) and its occurrences among the step's operands.
  const mark = new Int32Array(net.nIdx);
  const occ = new Int32Array(net.nIdx);
  let stamp = 0;
  const seen: number[] = [];
  let lastUnion: Flops = ZERO;
  let lastRemoved = false;
  let lastIds: number[] = [];
  /**
   * The result of contracting the operands now: indices still needed by the output or another operand. Sets
   * `lastUnion` (size of the union of the operands), `lastRemoved` (whether an index is summed away) and
   * `lastIds` (the result's indices).
   */
  const resultOf = (ids: readonly number[]): Bits => {
    stamp++;
    seen.length = 0;
    for (const id of ids) {
      for (const i of idsById[id]!) {
        if (mark[i] !== stamp) {
          mark[i] = stamp;
          occ[i] = 0;
          seen.push(i);
        }
        occ[i]!++;
      }
    }
    const r = new Uint32Array(net.words);
    let kept = 0;
    for (const i of seen) {
      if (has(out, i) || count[i]! > occ[i]!) {
        r[i >>> 5]! |= 1 << (i & 31);
        kept++;
      }
    }
    // Ascending (idsOf): the size is then the same product, in the same order, as scoreSsa's.
    lastIds = idsOf(r);
    lastUnion = productOf(seen, sz);
    lastRemoved = kept < seen.length;
    return r;
  };
  const contract = (ids: number[]): number => {
    const r = resultOf(ids);
    flops = addFlops(flops, scaleFlops(lastUnion, Math.max(1, ids.length - 1) + (lastRemoved ? 1 : 0)));
    for (const id of ids) drop(id);
    const id = nextId++;
    add(id, r, lastIds);
    const rs = bigSizeById[id]!;
    if (flopsKey(rs) > flopsKey(largest)) largest = rs;
    write = addFlops(write, rs);
    ssa.push(ids);
    return id;
  };

  // 1. Hadamard products of identical operands.
  const byKey = new Map<string, number>();
  for (let i = 0; i < net.n; i++) add(i, net.inputs[i]!, idsOf(net.inputs[i]!));
  for (let id = 0; id < net.n; id++) {
    for (const i of idsById[id]!) {
      if (count[i] === 1 && !has(out, i)) {
        privSize[id]! *= sz[i]!;
        privLog2[id]! += lsz[i]!;
      }
    }
  }
  const keys = inputKeys(net);
  for (let i = 0; i < net.n; i++) {
    const key = keys[i]!;
    const prev = byKey.get(key);
    if (prev === undefined) byKey.set(key, i);
    else if (sizeOf(resultOf([prev, i]), sz) <= p.memoryLimit) byKey.set(key, contract([prev, i]));
  }

  // 2. Pairs sharing an index. The result of a pair, and so its score, stays the same while both operands
  // live (an index another operand holds stays held: merging two holders keeps it), so a queued score is
  // never stale; a candidate is dropped when one of its operands is gone.
  const heap = new MinHeap<Candidate>();
  const scoreOf = (a: number, b: number): number | undefined => {
    const r = pairResultSize(a, b);
    if (r > p.memoryLimit) return undefined;
    const score = r - p.alpha * (sizeById[a]! + sizeById[b]!);
    if (Math.abs(score) <= SCORE_LIMIT) return score;
    return hugeScore(pairResultLog2(a, b), log2Size[a]!, log2Size[b]!, p.alpha);
  };
  // opt_einsum's tie-break: the pair whose larger id is smallest, then the smaller id.
  const span = 2 * net.n + 1;
  const tieOf = (a: number, b: number): number => Math.max(a, b) * span + Math.min(a, b);
  /** In 'best' mode: offers `id`'s best pair among `others` (ids sharing a summed index with it). */
  const offerBest = (id: number, others: Iterable<number>): void => {
    let pick: Candidate | undefined;
    let pickTie = 0;
    for (const other of others) {
      const score = scoreOf(id, other);
      if (score === undefined) continue;
      const tie = tieOf(id, other);
      if (pick === undefined || score < pick.score || (score === pick.score && tie < pickTie)) {
        pick = { a: Math.min(id, other), b: Math.max(id, other), score };
        pickTie = tie;
      }
    }
    if (pick !== undefined) heap.push(pick.score, pick, pickTie);
  };
  // A stamp per operand id: paired with the current operand already.
  const pairedAt = new Int32Array(2 * net.n);
  let pairStamp = 0;
  /** Operands sharing an index with `id` (a summed one only, in 'best' mode), each once. */
  const neighbours = (id: number, after = -1): number[] => {
    pairStamp++;
    const found: number[] = [];
    for (const i of idsById[id]!) {
      if (best && has(out, i)) continue;
      const hs = holders[i]!;
      let live = 0;
      for (const other of hs) {
        if (sets[other] === undefined) continue;
        hs[live++] = other;
        if (other === id || other <= after || pairedAt[other] === pairStamp) continue;
        pairedAt[other] = pairStamp;
        found.push(other);
      }
      if (live < hs.length) hs.length = live;
    }
    return found;
  };
  const pushPairsOf = (id: number, after = -1): void => {
    const found = neighbours(id, after);
    if (best) {
      offerBest(id, found);
      return;
    }
    for (const other of found) {
      const score = scoreOf(id, other);
      if (score !== undefined) heap.push(score, { a: Math.min(id, other), b: Math.max(id, other), score });
    }
  };
  const initial: number[] = [];
  sets.forEach((set, id) => {
    if (set !== undefined) initial.push(id);
  });
  if (best) {
    // opt_einsum's start: per summed index, each holder offers its best pair among the later holders.
    for (let i = 0; i < net.nIdx; i++) {
      if (has(out, i)) continue;
      const hs = holders[i]!.filter((id) => sets[id] !== undefined);
      for (let j = 0; j + 1 < hs.length; j++) offerBest(hs[j]!, hs.slice(j + 1));
    }
  } else {
    for (const id of initial) pushPairsOf(id, id);
  }
  const valid = (c: Candidate): boolean => sets[c.a] !== undefined && sets[c.b] !== undefined;
  /** Pops the next candidate whose operands both live. */
  const popLive = (): Candidate | undefined => {
    for (;;) {
      const c = heap.pop();
      if (c === undefined || valid(c)) return c;
    }
  };
  while (alive > 1) {
    let chosen = popLive();
    if (chosen === undefined) break;
    if (p.temperature > 0 && p.nbranch > 1) {
      const pool: Candidate[] = [chosen];
      while (pool.length < p.nbranch) {
        const c = popLive();
        if (c === undefined) break;
        pool.push(c);
      }
      const top = pool[0]!.score;
      const scale = p.temperature * Math.max(Math.abs(top), 1);
      const weights = pool.map((c) => Math.exp(-(c.score - top) / scale));
      let pick = p.rng() * weights.reduce((s, w) => s + w, 0);
      let k = 0;
      while (k < pool.length - 1 && pick >= weights[k]!) pick -= weights[k++]!;
      chosen = pool[k]!;
      pool.forEach((c, j) => {
        if (j !== k) heap.push(c.score, c, best ? tieOf(c.a, c.b) : undefined);
      });
    }
    const id = contract([chosen.a, chosen.b]);
    pushPairsOf(id);
  }

  // 3. Outer products, smallest first; one k-way step if the memory limit allows none.
  if (alive > 1) {
    const bySize = new MinHeap<number>();
    sets.forEach((set, id) => {
      if (set !== undefined) bySize.push(flopsKey(bigSizeById[id]!), id);
    });
    while (bySize.size > 1) {
      const a = bySize.pop()!;
      const b = bySize.pop()!;
      const r = pairResultSize(a, b);
      if (r > p.memoryLimit) {
        const rest = [a, b];
        while (bySize.size > 0) rest.push(bySize.pop()!);
        contract(rest.sort((x, y) => x - y));
        break;
      }
      const id = contract([a, b]);
      bySize.push(flopsKey(bigSizeById[id]!), id);
    }
  }
  return { ssa, score: { flops, size: largest, write } };
}

/** log2 of each index size, computed once per network (every greedy trial reads it). */
const log2Cache = new WeakMap<Network, Float64Array>();
function log2Sizes(net: Network): Float64Array {
  let l = log2Cache.get(net);
  if (l === undefined) {
    l = Float64Array.from(net.size, (x) => Math.log2(x));
    log2Cache.set(net, l);
  }
  return l;
}

/** Each input's index set as a string key, computed once per network (every greedy trial groups by it). */
const keyCache = new WeakMap<Network, readonly string[]>();
function inputKeys(net: Network): readonly string[] {
  let keys = keyCache.get(net);
  if (keys === undefined) {
    keys = net.inputs.map((s) => keyOf(s));
    keyCache.set(net, keys);
  }
  return keys;
}

/**
 * What `greedy` runs. opt_einsum's own (α = 1, its queue) first: alone it is never costlier than opt_einsum's
 * greedy on the 158 conformance networks of 3+ operands. The other three each win on some random regular
 * graphs, lattices or circuits of bench/networks.bench.ts (where the old set — α = 1, 0.5, 0 with every pair
 * queued — cost 10^59 times opt_einsum's greedy on a 1,000-tensor 4-regular graph).
 */
const GREEDY_VARIANTS: readonly { readonly alpha: number; readonly queue: 'all' | 'best' }[] = [
  { alpha: 1, queue: 'best' },
  { alpha: 0.5, queue: 'best' },
  { alpha: 0, queue: 'best' },
  { alpha: 0, queue: 'all' },
];

/** Deterministic greedy: the best of a few variants under the objective. */
export function greedyBest(net: Network, memoryLimit: number, objective: Objective = 'flops'): SsaPath {
  let best: SsaPath | undefined;
  let bestValue = Infinity;
  for (const { alpha, queue } of GREEDY_VARIANTS) {
    const { ssa, score } = greedyRun(net, { alpha, queue, temperature: 0, nbranch: 1, rng: Math.random, memoryLimit });
    const value = objectiveValue(score, objective);
    if (best === undefined || value < bestValue) {
      best = ssa;
      bestValue = value;
    }
  }
  return best!;
}

export interface RandomGreedyOptions {
  readonly trials: number;
  readonly seed: number;
  readonly memoryLimit: number;
  readonly deadline: number;
  readonly objective: Objective;
  /** Return the best so far when the deadline passes instead of throwing. */
  readonly soft?: boolean;
}

/** Seeded random-greedy: trial 0 is opt_einsum's greedy, later trials sample α and the choices. */
export function randomGreedy(net: Network, o: RandomGreedyOptions): { ssa: SsaPath; value: number } {
  const rng = makeRng(o.seed);
  let best: SsaPath | undefined;
  let bestValue = Infinity;
  for (let t = 0; t < Math.max(1, o.trials); t++) {
    if (t > 0) {
      if (o.soft === true) {
        if (performance.now() > o.deadline) break;
      } else checkDeadline(o.deadline, 'random-greedy');
    }
    const params: GreedyParams =
      t === 0
        ? { alpha: 1, queue: 'best', temperature: 0, nbranch: 1, rng, memoryLimit: o.memoryLimit }
        : { alpha: rng() * 1.5, temperature: 0.05 + rng() * 0.5, nbranch: 8, rng, memoryLimit: o.memoryLimit };
    const { ssa, score } = greedyRun(net, params);
    const value = objectiveValue(score, o.objective);
    if (best === undefined || value < bestValue) {
      best = ssa;
      bestValue = value;
    }
  }
  return { ssa: best!, value: bestValue };
}
