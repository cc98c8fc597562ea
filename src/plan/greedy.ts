/**
 * Greedy and random-greedy path search (opt_einsum's heuristic, with lazy cost refresh).
 *
 * 1. Operands with identical index sets are multiplied first (Hadamard products).
 * 2. Among pairs that share an index, contract the one with the lowest score
 *    size(result) − α·(size(a) + size(b)); α = 1 is opt_einsum's 'memory-removed'. A popped candidate whose
 *    score changed since it was queued (another step made more indices removable) is queued again.
 * 3. What is left has no shared index: outer products, smallest operands first.
 *
 * `greedy` runs a few values of α and keeps the cheapest path under the reported cost; `random-greedy` samples
 * among the best few candidates with Boltzmann weights, for a seeded number of trials.
 */

import { type Bits, hasBit, idsOf, keyOf, sizeOf } from './bits.js';
import { checkDeadline } from './budget.js';
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
}

interface Candidate {
  readonly a: number;
  readonly b: number;
  readonly score: number;
}

/** One greedy run; returns an SSA path. */
export function greedySsa(net: Network, p: GreedyParams): SsaPath {
  return greedyRun(net, p).ssa;
}

/** One greedy run: the SSA path and its totals (what `scoreSsa` would compute, counted as the path is built). */
export function greedyRun(net: Network, p: GreedyParams): { ssa: SsaPath; score: PathScore } {
  const ssa: SsaPath = [];
  let flops = 0;
  let largest = 1;
  let write = 0;
  const sets: (Bits | undefined)[] = [];
  const sizeById: number[] = [];
  let alive = 0;
  let nextId = net.n;
  const count = new Int32Array(net.nIdx);
  const holders: Set<number>[] = Array.from({ length: net.nIdx }, () => new Set<number>());
  const out = net.output;
  const sz = net.size;

  // Each live operand's indices also as a list: large networks have thousands of indices but a handful per
  // operand, so the hot paths walk these lists instead of every word of the bit sets.
  const idsById: number[][] = [];
  const add = (id: number, s: Bits): void => {
    sets[id] = s;
    sizeById[id] = sizeOf(s, sz);
    const ids = idsOf(s);
    idsById[id] = ids;
    alive++;
    for (const i of ids) {
      count[i]!++;
      holders[i]!.add(id);
    }
  };
  const drop = (id: number): void => {
    for (const i of idsById[id]!) {
      count[i]!--;
      holders[i]!.delete(id);
    }
    sets[id] = undefined;
    alive--;
  };
  /** Size of the result of contracting a and b now, without building it (the hot path of the search). */
  const pairResultSize = (a: number, b: number): number => {
    const sa = sets[a]!;
    const sb = sets[b]!;
    let p = 1;
    for (const i of idsById[a]!) {
      if (hasBit(out, i) || count[i]! > (hasBit(sb, i) ? 2 : 1)) p *= sz[i]!;
    }
    for (const i of idsById[b]!) {
      if (hasBit(sa, i)) continue;
      if (hasBit(out, i) || count[i]! > 1) p *= sz[i]!;
    }
    return p;
  };
  // Scratch for resultOf: a stamp per index (seen in this step) and its occurrences among the step's operands.
  const mark = new Int32Array(net.nIdx);
  const occ = new Int32Array(net.nIdx);
  let stamp = 0;
  let lastUnion = 1;
  let lastRemoved = false;
  /**
   * The result of contracting the operands now: indices still needed by the output or another operand. Sets
   * `lastUnion` (size of the union of the operands) and `lastRemoved` (whether an index is summed away).
   */
  const resultOf = (ids: readonly number[]): Bits => {
    stamp++;
    const seen: number[] = [];
    let union = 1;
    for (const id of ids) {
      for (const i of idsById[id]!) {
        if (mark[i] !== stamp) {
          mark[i] = stamp;
          occ[i] = 0;
          seen.push(i);
          union *= sz[i]!;
        }
        occ[i]!++;
      }
    }
    const r = new Uint32Array(net.words);
    let removed = false;
    for (const i of seen) {
      if (hasBit(out, i) || count[i]! > occ[i]!) r[i >>> 5]! |= 1 << (i & 31);
      else removed = true;
    }
    lastUnion = union;
    lastRemoved = removed;
    return r;
  };
  const contract = (ids: number[]): number => {
    const r = resultOf(ids);
    flops += lastUnion * (Math.max(1, ids.length - 1) + (lastRemoved ? 1 : 0));
    for (const id of ids) drop(id);
    const id = nextId++;
    add(id, r);
    const rs = sizeById[id]!;
    if (rs > largest) largest = rs;
    write += rs;
    ssa.push(ids);
    return id;
  };

  // 1. Hadamard products of identical operands.
  const byKey = new Map<string, number>();
  for (let i = 0; i < net.n; i++) add(i, net.inputs[i]!);
  const keys = inputKeys(net);
  for (let i = 0; i < net.n; i++) {
    const key = keys[i]!;
    const prev = byKey.get(key);
    if (prev === undefined) byKey.set(key, i);
    else if (sizeOf(resultOf([prev, i]), sz) <= p.memoryLimit) byKey.set(key, contract([prev, i]));
  }

  // 2. Pairs sharing an index.
  const heap = new MinHeap<Candidate>();
  const scoreOf = (a: number, b: number): number | undefined => {
    const r = pairResultSize(a, b);
    if (r > p.memoryLimit) return undefined;
    return r - p.alpha * (sizeById[a]! + sizeById[b]!);
  };
  // A stamp per operand id: paired with the current operand already.
  const pairedAt = new Int32Array(2 * net.n);
  let pairStamp = 0;
  const pushPairsOf = (id: number): void => {
    pairStamp++;
    for (const i of idsById[id]!) {
      for (const other of holders[i]!) {
        if (other === id || pairedAt[other] === pairStamp) continue;
        pairedAt[other] = pairStamp;
        const score = scoreOf(id, other);
        if (score !== undefined) heap.push(score, { a: Math.min(id, other), b: Math.max(id, other), score });
      }
    }
  };
  const initial: number[] = [];
  sets.forEach((set, id) => {
    if (set !== undefined) initial.push(id);
  });
  for (const id of initial) {
    pairStamp++;
    for (const i of idsById[id]!) {
      for (const other of holders[i]!) {
        if (other <= id || pairedAt[other] === pairStamp) continue;
        pairedAt[other] = pairStamp;
        const score = scoreOf(id, other);
        if (score !== undefined) heap.push(score, { a: id, b: other, score });
      }
    }
  }
  const valid = (c: Candidate): boolean => sets[c.a] !== undefined && sets[c.b] !== undefined;
  /** Pops the next live candidate whose score is current; re-queues stale ones. */
  const popFresh = (): Candidate | undefined => {
    for (;;) {
      const c = heap.pop();
      if (c === undefined) return undefined;
      if (!valid(c)) continue;
      const score = scoreOf(c.a, c.b);
      if (score === undefined) continue;
      if (score !== c.score) {
        heap.push(score, { a: c.a, b: c.b, score });
        continue;
      }
      return c;
    }
  };
  while (alive > 1) {
    let chosen = popFresh();
    if (chosen === undefined) break;
    if (p.temperature > 0 && p.nbranch > 1) {
      const pool: Candidate[] = [chosen];
      while (pool.length < p.nbranch) {
        const c = popFresh();
        if (c === undefined) break;
        pool.push(c);
      }
      const best = pool[0]!.score;
      const scale = p.temperature * Math.max(Math.abs(best), 1);
      const weights = pool.map((c) => Math.exp(-(c.score - best) / scale));
      let pick = p.rng() * weights.reduce((s, w) => s + w, 0);
      let k = 0;
      while (k < pool.length - 1 && pick >= weights[k]!) pick -= weights[k++]!;
      chosen = pool[k]!;
      pool.forEach((c, j) => {
        if (j !== k) heap.push(c.score, c);
      });
    }
    const id = contract([chosen.a, chosen.b]);
    pushPairsOf(id);
  }

  // 3. Outer products, smallest first; one k-way step if the memory limit allows none.
  if (alive > 1) {
    const bySize = new MinHeap<number>();
    sets.forEach((set, id) => {
      if (set !== undefined) bySize.push(sizeById[id]!, id);
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
      bySize.push(sizeById[id]!, id);
    }
  }
  return { ssa, score: { flops, size: largest, write } };
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

const GREEDY_ALPHAS = [1, 0.5, 0];

/** Deterministic greedy: the best of a few α values under the objective. */
export function greedyBest(net: Network, memoryLimit: number, objective: Objective = 'flops'): SsaPath {
  let best: SsaPath | undefined;
  let bestValue = Infinity;
  for (const alpha of GREEDY_ALPHAS) {
    const { ssa, score } = greedyRun(net, { alpha, temperature: 0, nbranch: 1, rng: Math.random, memoryLimit });
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

/** Seeded random-greedy: trial 0 is plain greedy, later trials sample α and the choices. */
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
        ? { alpha: 1, temperature: 0, nbranch: 1, rng, memoryLimit: o.memoryLimit }
        : { alpha: rng() * 1.5, temperature: 0.05 + rng() * 0.5, nbranch: 8, rng, memoryLimit: o.memoryLimit };
    const { ssa, score } = greedyRun(net, params);
    const value = objectiveValue(score, o.objective);
    // (On huge networks every cost can overflow to Infinity; the first trial is kept then.)
    if (best === undefined || value < bestValue) {
      best = ssa;
      bestValue = value;
    }
  }
  return { ssa: best!, value: bestValue };
}
