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

import { idsOf } from './bits.js';
import { checkDeadline } from './budget.js';
import { DOWN, SHIFT, TOP, addParts, flopsKeyOf, partsSum, productOf, toNumber } from './flops.js';
import { MinHeap, PairHeap, makeRng } from './heap.js';
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

/**
 * What every run on a network reads: computed once per network (greedy runs four variants, random-greedy 32
 * trials, auto more). Flat typed arrays: a 1,000-tensor network is planned anew by every call, and an array
 * per input or per index costs more to collect than the runs take.
 */
interface Prep {
  /** log2 of each index size. */
  readonly lsz: Float64Array;
  /** 1 where the index is in the output. */
  readonly inOut: Uint8Array;
  /** Input k's indices, ascending: `inputIds[inputStart[k] .. inputStart[k + 1])`. */
  readonly inputStart: Int32Array;
  readonly inputIds: Int32Array;
  /** How many inputs hold each index. */
  readonly count: Int32Array;
  /** The inputs holding index i, ascending: `holderIds[holderStart[i] .. holderStart[i + 1])`. */
  readonly holderStart: Int32Array;
  readonly holderIds: Int32Array;
  /** Each input's size (m · 2^e, as flops.ts counts) and as a double. */
  readonly sizeM: Float64Array;
  readonly sizeE: Int32Array;
  readonly size: Float64Array;
  /** The inputs' bit sets, one after the other (`words` each). */
  readonly inputBits: Uint32Array;
  /** Product (and log2) of each input's private indices: held by it alone, not in the output. */
  readonly privSize: Float64Array;
  readonly privLog2: Float64Array;
  /** For each input, the first input with the same index set (itself if none): the Hadamard groups. */
  readonly group: Int32Array;
}

const prepCache = new WeakMap<Network, Prep>();
function prepOf(net: Network): Prep {
  let p = prepCache.get(net);
  if (p !== undefined) return p;
  const { n, nIdx, words, size: sz } = net;
  const lsz = new Float64Array(nIdx);
  for (let i = 0; i < nIdx; i++) lsz[i] = Math.log2(sz[i]!);
  const inOut = new Uint8Array(nIdx);
  for (const i of idsOf(net.output)) inOut[i] = 1;
  // Inputs' indices, ascending, as the network lists them.
  const inputStart = net.lists.start;
  const inputIds = net.lists.ids;
  const count = new Int32Array(nIdx);
  for (const i of inputIds) count[i]!++;
  const inputBits = new Uint32Array(n * words);
  for (let k = 0; k < n; k++) inputBits.set(net.inputs[k]!, k * words);
  const holderStart = new Int32Array(nIdx + 1);
  for (let i = 0; i < nIdx; i++) holderStart[i + 1] = holderStart[i]! + count[i]!;
  const holderIds = new Int32Array(holderStart[nIdx]!);
  const fill = holderStart.slice(0, nIdx);
  const sizeM = new Float64Array(n);
  const sizeE = new Int32Array(n);
  const size = new Float64Array(n);
  const privSize = new Float64Array(n).fill(1);
  const privLog2 = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const ids = inputIds.subarray(inputStart[k]!, inputStart[k + 1]!);
    for (const i of ids) {
      holderIds[fill[i]!++] = k;
      if (count[i] === 1 && inOut[i] === 0) {
        privSize[k]! *= sz[i]!;
        privLog2[k]! += lsz[i]!;
      }
    }
    const big = productOf(ids, sz);
    sizeM[k] = big.m;
    sizeE[k] = big.e;
    size[k] = toNumber(big);
  }
  p = { lsz, inOut, inputStart, inputIds, count, holderStart, holderIds, sizeM, sizeE, size, inputBits, privSize, privLog2,
    group: hadamardGroups(net, inputStart, inputIds) };
  prepCache.set(net, p);
  return p;
}

/** For each input, the first input with the same index set, or itself (hashing the sorted index lists). */
function hadamardGroups(net: Network, start: Int32Array, ids: Int32Array): Int32Array {
  const group = new Int32Array(net.n);
  // The first and the last input of each hash, and after each input the next one with its hash.
  const firstOf = new Map<number, number>();
  const lastOf = new Map<number, number>();
  const nextOf = new Int32Array(net.n).fill(-1);
  const same = (a: number, b: number): boolean => {
    const len = start[a + 1]! - start[a]!;
    if (start[b + 1]! - start[b]! !== len) return false;
    for (let k = 0; k < len; k++) if (ids[start[a]! + k] !== ids[start[b]! + k]) return false;
    return true;
  };
  for (let k = 0; k < net.n; k++) {
    let h = start[k + 1]! - start[k]!;
    for (let j = start[k]!; j < start[k + 1]!; j++) h = (Math.imul(h, 0x01000193) ^ ids[j]!) | 0;
    group[k] = k;
    const first = firstOf.get(h);
    if (first === undefined) {
      firstOf.set(h, k);
      lastOf.set(h, k);
      continue;
    }
    let f = first;
    while (f >= 0 && !same(f, k)) f = nextOf[f]!;
    if (f >= 0) group[k] = f;
    else {
      nextOf[lastOf.get(h)!] = k;
      lastOf.set(h, k);
    }
  }
  return group;
}

/**
 * A run's working state, shared by every run (runs are synchronous and never nested) and grown to the largest
 * network met, so that neither a run nor a new network allocates it again; each run resets what it uses. Per
 * operand id (inputs 0..n-1, then one per step, fewer than 2n in all): whether it lives, its indices (ascending)
 * and their count, the offset of its bit set in `bits` (one slot per input: a result takes over the slot and
 * the list of one of its operands), its size.
 */
class Workspace {
  readonly live: Uint8Array;
  readonly ids: number[][];
  readonly len: Int32Array;
  /** One index list per input slot, refilled by each run (a result takes over its longer operand's). */
  readonly lists: number[][];
  readonly off: Int32Array;
  readonly bits: Uint32Array;
  readonly sizeM: Float64Array;
  readonly sizeE: Int32Array;
  readonly size: Float64Array;
  readonly privSize: Float64Array;
  readonly privLog2: Float64Array;
  /** Per index: how many live operands hold it; the operands that held it (dead ones dropped lazily), and how many. */
  readonly count: Int32Array;
  readonly holders: number[][];
  readonly hlen: Int32Array;
  /** Scratch: a step's new indices; stamps per operand (met already, found already); the neighbours found. */
  readonly extra: Int32Array;
  readonly metAt: Int32Array;
  readonly foundAt: Int32Array;
  readonly found: Int32Array;
  /**
   * Per neighbour of the operand `attach` last walked: the products (and log2 sums) of the sizes of the
   * indices they share, and of those among them that only the two hold (see Run.overlap).
   */
  readonly shared: Float64Array;
  readonly removed: Float64Array;
  readonly sharedLog2: Float64Array;
  readonly removedLog2: Float64Array;
  /** Scratch of the k-way step: a stamp per index, the union. */
  readonly mark: Int32Array;
  readonly seen: Int32Array;
  /** The Hadamard phase's current product per group. */
  readonly rep: Int32Array;
  readonly heap = new PairHeap();
  /** The last stamp given (metAt, foundAt and mark hold older ones, so a run need not clear them). */
  stamp = 0;

  constructor(
    readonly maxN: number,
    readonly maxIdx: number,
    readonly maxWords: number,
  ) {
    const ids = 2 * maxN;
    this.live = new Uint8Array(ids);
    this.ids = new Array<number[]>(ids).fill([]);
    this.len = new Int32Array(ids);
    this.lists = Array.from({ length: maxN }, () => []);
    this.off = new Int32Array(ids);
    this.bits = new Uint32Array(maxN * maxWords);
    this.sizeM = new Float64Array(ids);
    this.sizeE = new Int32Array(ids);
    this.size = new Float64Array(ids);
    this.privSize = new Float64Array(ids);
    this.privLog2 = new Float64Array(ids);
    this.count = new Int32Array(maxIdx);
    this.holders = Array.from({ length: maxIdx }, () => []);
    this.hlen = new Int32Array(maxIdx);
    this.extra = new Int32Array(maxIdx);
    this.metAt = new Int32Array(ids);
    this.foundAt = new Int32Array(ids);
    this.found = new Int32Array(ids);
    this.shared = new Float64Array(ids);
    this.removed = new Float64Array(ids);
    this.sharedLog2 = new Float64Array(ids);
    this.removedLog2 = new Float64Array(ids);
    this.mark = new Int32Array(maxIdx);
    this.seen = new Int32Array(maxIdx);
    this.rep = new Int32Array(maxN);
  }

  fits(net: Network): boolean {
    return net.n <= this.maxN && net.nIdx <= this.maxIdx && net.words <= this.maxWords;
  }

  /** A fresh stamp. */
  next(): number {
    if (this.stamp === 2 ** 30) {
      this.stamp = 0;
      this.metAt.fill(0);
      this.foundAt.fill(0);
      this.mark.fill(0);
    }
    return ++this.stamp;
  }

  /** Back to the network's inputs. */
  reset(net: Network, p: Prep): void {
    const { n, words } = net;
    this.live.fill(1, 0, n);
    this.live.fill(0, n, 2 * n);
    for (let id = 0; id < n; id++) {
      const list = this.lists[id]!;
      const from = p.inputStart[id]!;
      const len = p.inputStart[id + 1]! - from;
      for (let k = 0; k < len; k++) {
        if (k < list.length) list[k] = p.inputIds[from + k]!;
        else list.push(p.inputIds[from + k]!);
      }
      this.ids[id] = list;
      this.len[id] = len;
      this.off[id] = id * words;
    }
    this.bits.set(p.inputBits);
    this.sizeM.set(p.sizeM);
    this.sizeE.set(p.sizeE);
    this.size.set(p.size);
    this.privSize.set(p.privSize);
    this.privLog2.set(p.privLog2);
    this.count.set(p.count);
    for (let i = 0; i < net.nIdx; i++) {
      const to = this.holders[i]!;
      const from = p.holderStart[i]!;
      const len = p.holderStart[i + 1]! - from;
      for (let k = 0; k < len; k++) {
        if (k < to.length) to[k] = p.holderIds[from + k]!;
        else to.push(p.holderIds[from + k]!);
      }
      this.hlen[i] = len;
    }
    this.heap.clear();
  }
}

let workspace: Workspace | undefined;

/** One greedy run; returns an SSA path. */
export function greedySsa(net: Network, p: GreedyParams): SsaPath {
  return greedyRun(net, p).ssa;
}

/** One greedy run: the SSA path and its totals (what `scoreSsa` would compute, counted as the path is built). */
export function greedyRun(net: Network, p: GreedyParams): { ssa: SsaPath; score: PathScore } {
  const prep = prepOf(net);
  let w = workspace;
  if (w === undefined || !w.fits(net)) {
    w = new Workspace(Math.max(net.n, w?.maxN ?? 0), Math.max(net.nIdx, w?.maxIdx ?? 0), Math.max(net.words, w?.maxWords ?? 0));
    workspace = w;
  }
  w.reset(net, prep);
  return new Run(net, prep, w, p).search();
}

/**
 * One run's search. The hot paths (scoring a pair, contracting one) walk typed arrays and the operands' index
 * lists, and allocate nothing but the step's SSA entry: a 1,000-tensor network takes a thousand steps per run,
 * and greedy makes four runs.
 */
class Run {
  private readonly ssa: SsaPath = [];
  // The path's totals so far (flops.ts counts, m · 2^e): its cost, its largest intermediate, the sizes written.
  private flopsM = 0;
  private flopsE = 0;
  private largestM = 1;
  private largestE = 0;
  private writeM = 0;
  private writeE = 0;
  private alive: number;
  private nextId: number;
  private readonly sz: Float64Array;
  private readonly lsz: Float64Array;
  private readonly inOut: Uint8Array;
  private readonly best: boolean;
  /** opt_einsum's tie-break (see tieOf). */
  private readonly span: number;
  /** 'all' queue: insertion order breaks ties. */
  private order = 0;
  // Set by overlap(): the smaller and the larger operand, and products over their shared indices.
  private small = 0;
  private large = 0;
  private shared = 1;
  private removedShared = 1;
  private sharedLog2 = 0;
  private removedLog2 = 0;

  constructor(
    private readonly net: Network,
    private readonly prep: Prep,
    private readonly w: Workspace,
    private readonly p: GreedyParams,
  ) {
    this.alive = net.n;
    this.nextId = net.n;
    this.sz = net.size;
    this.lsz = prep.lsz;
    this.inOut = prep.inOut;
    this.best = p.queue === 'best';
    this.span = 2 * net.n + 1;
  }

  private has(id: number, i: number): boolean {
    return ((this.w.bits[this.w.off[id]! + (i >>> 5)]! >>> (i & 31)) & 1) === 1;
  }

  /**
   * What a pair's result keeps: every index but those the two share with no other operand (and not the
   * output), and each input's private indices (held by it alone, not the output: an intermediate has none).
   * Walks the smaller of a and b over the larger's set: size(result) = size(s) / (shared · private(s)) ×
   * shared / removed × size(l) / (shared · private(l)), three exact integers while the sizes stay below 2^53.
   */
  private overlap(a: number, b: number): void {
    const w = this.w;
    const swap = w.len[a]! > w.len[b]!;
    const small = swap ? b : a;
    const large = swap ? a : b;
    this.small = small;
    this.large = large;
    const bits = w.bits;
    const lo = w.off[large]!;
    const count = w.count;
    const inOut = this.inOut;
    const sz = this.sz;
    const lsz = this.lsz;
    const list = w.ids[small]!;
    const n = w.len[small]!;
    let shared = 1;
    let removedShared = 1;
    let sharedLog2 = 0;
    let removedLog2 = 0;
    for (let k = 0; k < n; k++) {
      const i = list[k]!;
      if (((bits[lo + (i >>> 5)]! >>> (i & 31)) & 1) === 0) continue;
      shared *= sz[i]!;
      sharedLog2 += lsz[i]!;
      if (count[i] === 2 && inOut[i] === 0) {
        removedShared *= sz[i]!;
        removedLog2 += lsz[i]!;
      }
    }
    this.shared = shared;
    this.removedShared = removedShared;
    this.sharedLog2 = sharedLog2;
    this.removedLog2 = removedLog2;
  }

  /** Size of the result of contracting a and b now, without building it. */
  private pairResultSize(a: number, b: number): number {
    this.overlap(a, b);
    return this.resultSize(a, b);
  }

  /** That size from what overlap (or overlapFound) set. */
  private resultSize(a: number, b: number): number {
    const w = this.w;
    const s = this.small;
    const l = this.large;
    const shared = this.shared;
    const r = (w.size[s]! / (shared * w.privSize[s]!)) * (shared / this.removedShared) * (w.size[l]! / (shared * w.privSize[l]!));
    // A size-0 index makes the quotients 0/0; an overflowed operand, Infinity/Infinity.
    return Number.isNaN(r) ? this.pairResultWalk(a, b) : r;
  }

  /** The same by walking both operands (for size-0 indices). */
  private pairResultWalk(a: number, b: number): number {
    const w = this.w;
    let r = 1;
    for (let k = 0; k < w.len[a]!; k++) {
      const i = w.ids[a]![k]!;
      if (this.inOut[i] === 1 || w.count[i]! > (this.has(b, i) ? 2 : 1)) r *= this.sz[i]!;
    }
    for (let k = 0; k < w.len[b]!; k++) {
      const i = w.ids[b]![k]!;
      if (!this.has(a, i) && (this.inOut[i] === 1 || w.count[i]! > 1)) r *= this.sz[i]!;
    }
    return r;
  }

  /** log2 of an operand's size (read only for sizes past a double). */
  private log2Of(id: number): number {
    return Math.log2(this.w.sizeM[id]!) + this.w.sizeE[id]!;
  }

  /** log2 of that size, for sizes past a double, from what overlap set. */
  private resultLog2(): number {
    const w = this.w;
    const s = this.small;
    const l = this.large;
    return this.log2Of(s) - w.privLog2[s]! - this.sharedLog2 - this.removedLog2 + this.log2Of(l) - w.privLog2[l]!;
  }

  /**
   * The pair's score, or NaN when its result passes the memory limit. With `found`, b is a neighbour that
   * `attach(a, true)` just gathered, and its overlap with a is known.
   */
  private scoreOf(a: number, b: number, found: boolean): number {
    if (found) this.overlapFound(a, b);
    else this.overlap(a, b);
    const r = this.resultSize(a, b);
    if (r > this.p.memoryLimit) return NaN;
    const alpha = this.p.alpha;
    const w = this.w;
    const score = r - alpha * (w.size[a]! + w.size[b]!);
    if (Math.abs(score) <= SCORE_LIMIT) return score;
    return hugeScore(this.resultLog2(), this.log2Of(a), this.log2Of(b), alpha);
  }

  /** opt_einsum's tie-break: the pair whose larger id is smallest, then the smaller id. */
  private tieOf(a: number, b: number): number {
    return a > b ? a * this.span + b : b * this.span + a;
  }

  /** Queues a candidate pair (in either order). */
  private push(score: number, a: number, b: number, tie: number): void {
    this.w.heap.push(score, tie, Math.min(a, b), Math.max(a, b));
  }

  /** In 'best' mode: offers `id`'s best pair among `others[from..to)` (ids sharing a summed index with it). */
  private offerBest(id: number, others: ArrayLike<number>, from: number, to: number, found: boolean): void {
    let pickScore = NaN;
    let pickTie = 0;
    let pick = -1;
    for (let k = from; k < to; k++) {
      const other = others[k]!;
      const score = this.scoreOf(id, other, found);
      if (Number.isNaN(score)) continue;
      const tie = this.tieOf(id, other);
      if (pick < 0 || score < pickScore || (score === pickScore && tie < pickTie)) {
        pick = other;
        pickScore = score;
        pickTie = tie;
      }
    }
    if (pick >= 0) this.push(pickScore, id, pick, pickTie);
  }

  /**
   * Adds `id` to the holders of each of its indices. With `collect`, also gathers into `found` the live
   * operands sharing an index with it (a summed one only, in 'best' mode), each once, in the order of its
   * indices and of their holders, and returns how many; and for every live operand sharing an index with it,
   * what `overlap` would compute for the pair, so that scoring them walks nothing. (The shared indices are
   * met in ascending order, as overlap's walk over either sorted list meets them: the products are the same.)
   */
  private attach(id: number, collect: boolean): number {
    const w = this.w;
    const list = w.ids[id]!;
    const n = w.len[id]!;
    const { live, metAt, foundAt, found, count, shared, removed, sharedLog2, removedLog2 } = w;
    const sz = this.sz;
    const lsz = this.lsz;
    const inOut = this.inOut;
    const best = this.best;
    const stamp = w.next();
    let nFound = 0;
    for (let k = 0; k < n; k++) {
      const i = list[k]!;
      const hs = w.holders[i]!;
      const len = w.hlen[i]!;
      let kept = 0;
      const look = collect && !(best && inOut[i] === 1);
      const gone = count[i] === 2 && inOut[i] === 0;
      for (let h = 0; h < len; h++) {
        const other = hs[h]!;
        if (live[other] === 0 || other === id) continue;
        hs[kept++] = other;
        if (!collect) continue;
        if (metAt[other] !== stamp) {
          metAt[other] = stamp;
          shared[other] = sz[i]!;
          sharedLog2[other] = lsz[i]!;
          removed[other] = 1;
          removedLog2[other] = 0;
        } else {
          shared[other]! *= sz[i]!;
          sharedLog2[other]! += lsz[i]!;
        }
        if (gone) {
          removed[other]! *= sz[i]!;
          removedLog2[other]! += lsz[i]!;
        }
        if (look && foundAt[other] !== stamp) {
          foundAt[other] = stamp;
          found[nFound++] = other;
        }
      }
      if (kept < hs.length) hs[kept] = id;
      else hs.push(id);
      w.hlen[i] = kept + 1;
    }
    return nFound;
  }

  /** overlap(id, other) from what `attach(id, true)` gathered. */
  private overlapFound(id: number, other: number): void {
    const w = this.w;
    const swap = w.len[id]! > w.len[other]!;
    this.small = swap ? other : id;
    this.large = swap ? id : other;
    this.shared = w.shared[other]!;
    this.removedShared = w.removed[other]!;
    this.sharedLog2 = w.sharedLog2[other]!;
    this.removedLog2 = w.removedLog2[other]!;
  }

  /** Queues the pairs of a new operand (its best one, in 'best' mode). */
  private pushPairsOf(id: number): void {
    const found = this.w.found;
    const n = this.attach(id, true);
    if (this.best) {
      this.offerBest(id, found, 0, n, true);
      return;
    }
    for (let k = 0; k < n; k++) {
      const other = found[k]!;
      const score = this.scoreOf(id, other, true);
      if (!Number.isNaN(score)) this.push(score, id, other, this.order++);
    }
  }

  /** Records a step (the size of its operands' union is um · 2^ue): its cost, its result's size, the SSA entry. */
  private record(step: number[], um: number, ue: number, removed: boolean, id: number): void {
    const w = this.w;
    um *= Math.max(1, step.length - 1) + (removed ? 1 : 0);
    while (um >= TOP) {
      um *= DOWN;
      ue += SHIFT;
    }
    addParts(this.flopsM, this.flopsE, um, ue);
    this.flopsM = partsSum.m;
    this.flopsE = partsSum.e;
    const list = w.ids[id]!;
    const sz = this.sz;
    // Ascending, as productOf over the result's set (scoreSsa's order).
    let m = 1;
    let e = 0;
    for (let k = 0; k < w.len[id]!; k++) {
      m *= sz[list[k]!]!;
      if (m >= TOP) {
        m *= DOWN;
        e += SHIFT;
      }
    }
    w.sizeM[id] = m;
    w.sizeE[id] = e;
    w.size[id] = m * 2 ** e;
    w.privSize[id] = 1;
    w.privLog2[id] = 0;
    w.live[id] = 1;
    this.alive++;
    if (flopsKeyOf(m, e) > flopsKeyOf(this.largestM, this.largestE)) {
      this.largestM = m;
      this.largestE = e;
    }
    addParts(this.writeM, this.writeE, m, e);
    this.writeM = partsSum.m;
    this.writeE = partsSum.e;
    this.ssa.push(step);
  }

  /**
   * Contracts live operands a and b (the step lists a first) into a new operand and returns its id. The
   * result takes over the longer operand's index list (sorted, merged in place) and bit set.
   */
  private contractPair(a: number, b: number): number {
    const w = this.w;
    const sz = this.sz;
    const inOut = this.inOut;
    const count = w.count;
    const bits = w.bits;
    // The union's size, in the order the step's operands list it (a's indices, then b's new ones).
    const la = w.len[a]!;
    const lb = w.len[b]!;
    const A = w.ids[a]!;
    const B = w.ids[b]!;
    const offA = w.off[a]!;
    let m = 1;
    let e = 0;
    for (let k = 0; k < la; k++) {
      m *= sz[A[k]!]!;
      if (m >= TOP) {
        m *= DOWN;
        e += SHIFT;
      }
    }
    for (let k = 0; k < lb; k++) {
      const i = B[k]!;
      if (((bits[offA + (i >>> 5)]! >>> (i & 31)) & 1) === 1) continue;
      m *= sz[i]!;
      if (m >= TOP) {
        m *= DOWN;
        e += SHIFT;
      }
    }
    const swap = la < lb;
    const l = swap ? b : a;
    const s = swap ? a : b;
    const offL = w.off[l]!;
    const offS = w.off[s]!;
    const S = w.ids[s]!;
    const ls = w.len[s]!;
    let removed = false;
    // The smaller operand's indices the larger lacks: kept ones go to `extra` (ascending), count unchanged.
    const extra = w.extra;
    let nExtra = 0;
    for (let k = 0; k < ls; k++) {
      const i = S[k]!;
      if (((bits[offL + (i >>> 5)]! >>> (i & 31)) & 1) === 1) continue;
      if (inOut[i] === 1 || count[i]! > 1) extra[nExtra++] = i;
      else {
        removed = true;
        count[i] = 0;
      }
    }
    // The larger one's, compacted in place: an index is kept if the output or another operand holds it.
    const L = w.ids[l]!;
    const ll = w.len[l]!;
    let kept = 0;
    for (let k = 0; k < ll; k++) {
      const i = L[k]!;
      const both = ((bits[offS + (i >>> 5)]! >>> (i & 31)) & 1) === 1 ? 1 : 0;
      if (inOut[i] === 1 || count[i]! > 1 + both) {
        L[kept++] = i;
        count[i]! -= both;
      } else {
        removed = true;
        count[i] = 0;
        bits[offL + (i >>> 5)]! &= ~(1 << (i & 31));
      }
    }
    // Merge the new ones in from the back.
    const total = kept + nExtra;
    while (L.length < total) L.push(0);
    let from = kept - 1;
    for (let q = nExtra - 1, to = total - 1; q >= 0; to--) {
      const x = extra[q]!;
      if (from >= 0 && L[from]! > x) L[to] = L[from--]!;
      else {
        L[to] = x;
        q--;
        bits[offL + (x >>> 5)]! |= 1 << (x & 31);
      }
    }
    w.live[a] = 0;
    w.live[b] = 0;
    this.alive -= 2;
    const id = this.nextId++;
    w.ids[id] = L;
    w.len[id] = total;
    w.off[id] = offL;
    this.record([a, b], m, e, removed, id);
    return id;
  }

  /** Contracts every operand left in one step (what a memory limit leaves at the end), as listed. */
  private contractMany(step: number[]): number {
    const w = this.w;
    const stamp = w.next();
    const { mark, seen, count } = w;
    let nSeen = 0;
    for (const id of step) {
      const list = w.ids[id]!;
      for (let k = 0; k < w.len[id]!; k++) {
        const i = list[k]!;
        if (mark[i] !== stamp) {
          mark[i] = stamp;
          seen[nSeen++] = i;
        }
      }
    }
    const union = productOf(seen.subarray(0, nSeen), this.sz);
    // The step takes every operand left, so an index it holds survives only in the output.
    const result: number[] = [];
    for (let k = 0; k < nSeen; k++) {
      const i = seen[k]!;
      if (this.inOut[i] === 1) result.push(i);
    }
    const removed = result.length < nSeen;
    for (const id of step) {
      const list = w.ids[id]!;
      for (let k = 0; k < w.len[id]!; k++) count[list[k]!]!--;
      w.live[id] = 0;
    }
    this.alive -= step.length;
    result.sort((x, y) => x - y);
    const off = w.off[step[0]!]!;
    w.bits.fill(0, off, off + this.net.words);
    for (const i of result) {
      count[i]!++;
      w.bits[off + (i >>> 5)]! |= 1 << (i & 31);
    }
    const id = this.nextId++;
    w.ids[id] = result;
    w.len[id] = result.length;
    w.off[id] = off;
    this.record(step, union.m, union.e, removed, id);
    return id;
  }

  search(): { ssa: SsaPath; score: PathScore } {
    const { net, prep, w, p } = this;
    // 1. Hadamard products of identical operands (each group folded into its first member, in input order).
    const rep = w.rep;
    for (let i = 0; i < net.n; i++) {
      const g = prep.group[i]!;
      if (g === i) {
        rep[g] = i;
        continue;
      }
      const prev = rep[g]!;
      if (this.keptSize(prev) <= p.memoryLimit) {
        const id = this.contractPair(prev, i);
        this.attach(id, false);
        rep[g] = id;
      }
    }

    // 2. Pairs sharing an index. The result of a pair, and so its score, stays the same while both operands
    // live (an index another operand holds stays held: merging two holders keeps it), so a queued score is
    // never stale; a candidate is dropped when one of its operands is gone.
    const heap = w.heap;
    const live = w.live;
    if (this.best) {
      // opt_einsum's start: per summed index, each holder offers its best pair among the later holders.
      const hs = w.found;
      for (let i = 0; i < net.nIdx; i++) {
        if (this.inOut[i] === 1) continue;
        const all = w.holders[i]!;
        let nh = 0;
        for (let h = 0; h < w.hlen[i]!; h++) if (live[all[h]!] === 1) hs[nh++] = all[h]!;
        for (let j = 0; j + 1 < nh; j++) this.offerBest(hs[j]!, hs, j + 1, nh, false);
      }
    } else {
      for (let id = 0; id < this.nextId; id++) {
        if (live[id] === 0) continue;
        const found = w.found;
        const n = this.attachless(id);
        for (let k = 0; k < n; k++) {
          const other = found[k]!;
          const score = this.scoreOf(id, other, false);
          if (!Number.isNaN(score)) this.push(score, id, other, this.order++);
        }
      }
    }
    const random = p.temperature > 0 && p.nbranch > 1;
    const poolA = new Int32Array(random ? p.nbranch : 0);
    const poolB = new Int32Array(poolA.length);
    const poolS = new Float64Array(poolA.length);
    const weights = new Float64Array(poolA.length);
    /** Pops the next candidate whose operands both live into heap.a, heap.b, heap.key. */
    const popLive = (): boolean => {
      while (heap.pop()) if (live[heap.a] === 1 && live[heap.b] === 1) return true;
      return false;
    };
    while (this.alive > 1) {
      if (!popLive()) break;
      let a = heap.a;
      let b = heap.b;
      if (random) {
        poolA[0] = a;
        poolB[0] = b;
        poolS[0] = heap.key;
        let size = 1;
        while (size < p.nbranch && popLive()) {
          poolA[size] = heap.a;
          poolB[size] = heap.b;
          poolS[size++] = heap.key;
        }
        const top = poolS[0]!;
        const scale = p.temperature * Math.max(Math.abs(top), 1);
        let sum = 0;
        for (let j = 0; j < size; j++) {
          weights[j] = Math.exp(-(poolS[j]! - top) / scale);
          sum += weights[j]!;
        }
        let pick = p.rng() * sum;
        let k = 0;
        while (k < size - 1 && pick >= weights[k]!) pick -= weights[k++]!;
        a = poolA[k]!;
        b = poolB[k]!;
        for (let j = 0; j < size; j++) {
          if (j !== k) heap.push(poolS[j]!, this.best ? this.tieOf(poolA[j]!, poolB[j]!) : this.order++, poolA[j]!, poolB[j]!);
        }
      }
      this.pushPairsOf(this.contractPair(a, b));
    }

    // 3. Outer products, smallest first; one k-way step if the memory limit allows none.
    if (this.alive > 1) {
      const bySize = new MinHeap<number>();
      for (let id = 0; id < this.nextId; id++) {
        if (live[id] === 1) bySize.push(flopsKeyOf(w.sizeM[id]!, w.sizeE[id]!), id);
      }
      while (bySize.size > 1) {
        const a = bySize.pop()!;
        const b = bySize.pop()!;
        const r = this.pairResultSize(a, b);
        if (r > p.memoryLimit) {
          const rest = [a, b];
          while (bySize.size > 0) rest.push(bySize.pop()!);
          this.contractMany(rest.sort((x, y) => x - y));
          break;
        }
        const id = this.contractPair(a, b);
        this.attach(id, false);
        bySize.push(flopsKeyOf(w.sizeM[id]!, w.sizeE[id]!), id);
      }
    }
    const score = { flops: { m: this.flopsM, e: this.flopsE }, size: { m: this.largestM, e: this.largestE }, write: { m: this.writeM, e: this.writeE } };
    return { ssa: this.ssa, score };
  }

  /** 'all' queue's start: the live operands above `id` sharing an index with it, into `found`; returns how many. */
  private attachless(id: number): number {
    const w = this.w;
    const list = w.ids[id]!;
    const stamp = w.next();
    let nFound = 0;
    for (let k = 0; k < w.len[id]!; k++) {
      const i = list[k]!;
      const hs = w.holders[i]!;
      for (let h = 0; h < w.hlen[i]!; h++) {
        const other = hs[h]!;
        if (w.live[other] === 0 || other <= id || w.metAt[other] === stamp) continue;
        w.metAt[other] = stamp;
        w.found[nFound++] = other;
      }
    }
    return nFound;
  }

  /**
   * Size of the product of a and the next member of its Hadamard group, for the phase's memory check. Their
   * index lists are equal (a group's running product keeps every index: the next member holds it), and
   * the product keeps the indices that the output or a third operand holds.
   */
  private keptSize(a: number): number {
    const w = this.w;
    const A = w.ids[a]!;
    const la = w.len[a]!;
    let r = 1;
    for (let k = 0; k < la; k++) {
      const x = A[k]!;
      if (this.inOut[x] === 1 || w.count[x]! > 2) r *= this.sz[x]!;
    }
    return r;
  }
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
