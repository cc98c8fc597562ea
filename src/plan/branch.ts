/**
 * Branch and bound over contraction sequences (opt_einsum's `branch-*`).
 *
 * At each point the candidate pairs (those sharing an index; all pairs when none does) are ranked by
 * size(result) − size(a) − size(b), and the search descends into the best `nbranch` of them (all of them for
 * branch-all). A branch stops when its cost reaches the best complete path found, or when it exceeds 4× the
 * cheapest cost seen so far with the same number of operands left. When the memory limit admits no pair, the
 * operands left are contracted in one step.
 */

import { type Bits, hasBit, idsOf, intersects, sizeOf } from './bits.js';
import { checkDeadline } from './budget.js';
import type { Network, SsaPath } from './network.js';

export interface BranchOptions {
  readonly nbranch: number;
  readonly memoryLimit: number;
  readonly deadline: number;
  readonly algorithm: string;
  readonly cutoffFactor?: number;
}

interface Candidate {
  readonly a: number;
  readonly b: number;
  readonly result: Bits;
  readonly flops: number;
  readonly rank: number;
}

export function branchSsa(net: Network, o: BranchOptions): SsaPath {
  const cutoff = o.cutoffFactor ?? 4;
  let bestFlops = Infinity;
  let bestPath: SsaPath | undefined;
  const bestProgress = new Map<number, number>();
  const count = new Int32Array(net.nIdx);
  for (const s of net.inputs) for (const i of idsOf(s)) count[i]!++;
  let polls = 0;

  const contractOf = (sets: Map<number, Bits>, ids: readonly number[]): { result: Bits; flops: number } => {
    const union = new Uint32Array(net.words);
    for (const id of ids) {
      const s = sets.get(id)!;
      for (let w = 0; w < union.length; w++) union[w]! |= s[w]!;
    }
    const result = new Uint32Array(net.words);
    let removed = false;
    for (const i of idsOf(union)) {
      let occ = 0;
      for (const id of ids) if (hasBit(sets.get(id)!, i)) occ++;
      if (hasBit(net.output, i) || count[i]! > occ) result[i >>> 5]! |= 1 << (i & 31);
      else removed = true;
    }
    return { result, flops: sizeOf(union, net.size) * (Math.max(1, ids.length - 1) + (removed ? 1 : 0)) };
  };
  const apply = (sets: Map<number, Bits>, ids: readonly number[], result: Bits, id: number): void => {
    for (const x of ids) {
      for (const i of idsOf(sets.get(x)!)) count[i]!--;
      sets.delete(x);
    }
    for (const i of idsOf(result)) count[i]!++;
    sets.set(id, result);
  };
  const undo = (sets: Map<number, Bits>, ids: readonly number[], olds: readonly Bits[], id: number): void => {
    for (const i of idsOf(sets.get(id)!)) count[i]!--;
    sets.delete(id);
    ids.forEach((x, k) => {
      sets.set(x, olds[k]!);
      for (const i of idsOf(olds[k]!)) count[i]!++;
    });
  };

  const iterate = (sets: Map<number, Bits>, path: SsaPath, flops: number, nextId: number): void => {
    if ((++polls & 63) === 0) checkDeadline(o.deadline, o.algorithm);
    if (sets.size <= 1) {
      if (flops < bestFlops) {
        bestFlops = flops;
        bestPath = path.map((s) => [...s]);
      }
      return;
    }
    const ids = [...sets.keys()];
    const gather = (outer: boolean): Candidate[] => {
      const list: Candidate[] = [];
      for (let x = 0; x < ids.length; x++) {
        for (let y = x + 1; y < ids.length; y++) {
          const a = ids[x]!;
          const b = ids[y]!;
          const sa = sets.get(a)!;
          const sb = sets.get(b)!;
          if (!outer && !intersects(sa, sb)) continue;
          const { result, flops: f } = contractOf(sets, [a, b]);
          const size = sizeOf(result, net.size);
          if (size > o.memoryLimit) continue;
          const total = flops + f;
          if (total >= bestFlops) continue;
          const left = sets.size - 1;
          const progress = bestProgress.get(left);
          if (progress === undefined || total < progress) bestProgress.set(left, total);
          else if (total > cutoff * progress) continue;
          list.push({ a, b, result, flops: f, rank: size - sizeOf(sa, net.size) - sizeOf(sb, net.size) });
        }
      }
      return list;
    };
    let candidates = gather(false);
    if (candidates.length === 0) candidates = gather(true);
    if (candidates.length === 0) {
      // Every pair is already too expensive, or none fits the memory limit: then one step for the rest.
      if (o.memoryLimit === Infinity) return;
      const { flops: f } = contractOf(sets, ids);
      if (flops + f < bestFlops || bestPath === undefined) {
        bestFlops = flops + f;
        bestPath = [...path.map((s) => [...s]), ids];
      }
      return;
    }
    candidates.sort((p, q) => p.rank - q.rank || p.flops - q.flops);
    const limit = Math.min(candidates.length, o.nbranch);
    for (let c = 0; c < limit; c++) {
      const cand = candidates[c]!;
      if (flops + cand.flops >= bestFlops) continue;
      const olds = [sets.get(cand.a)!, sets.get(cand.b)!];
      apply(sets, [cand.a, cand.b], cand.result, nextId);
      path.push([cand.a, cand.b]);
      iterate(sets, path, flops + cand.flops, nextId + 1);
      path.pop();
      undo(sets, [cand.a, cand.b], olds, nextId);
    }
  };

  const sets = new Map<number, Bits>();
  net.inputs.forEach((s, i) => sets.set(i, s));
  iterate(sets, [], 0, net.n);
  return bestPath ?? [Array.from({ length: net.n }, (_, i) => i)];
}
