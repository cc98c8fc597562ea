/**
 * The cost model: replaying a linear path step by step under opt_einsum's flop convention.
 *
 * A step contracting k operands costs prod(sizes of the distinct indices in the union of its operands) ×
 * (max(1, k − 1) + 1 if the step removes an index). An index is removed when neither the output nor any
 * operand still waiting has it. Repeated axis ids within one operand (a diagonal) count once.
 *
 * Costs are IEEE doubles: every step's product is exact while it stays below 2^53 and so is every sum; beyond,
 * each operation rounds once (relative error ≤ 2^-53 per step). The total is summed without overflow
 * (flops.ts): past 1.8·10^308 `cost` is Infinity and `log10Cost` still tells plans apart. `replayCostExact`
 * gives the exact integer.
 */

import { EinjitError } from '../errors.js';
import { DOWN, type Flops, SHIFT, TOP, addParts, log10Of, partsSum, scaleFlops, toNumber } from './flops.js';
import type { ContractionPlan, LinearPath, PairwiseStep } from './types.js';

const OP = 'einsumPath';

function distinct(ids: readonly number[]): number[] {
  return [...new Set(ids)];
}

/** Checks that `path` is a linear path that contracts `n` operands down to one; throws EinjitError if not. */
export function validatePath(path: LinearPath, n: number): void {
  const fail = (reason: string): never => {
    throw new EinjitError(reason, {
      op: OP,
      hint: 'a path lists, for each step, positions into the current operand list (the result goes to the end), e.g. [[0, 1], [0, 1]]',
    });
  };
  if (!Array.isArray(path)) fail('the path must be an array of steps');
  let alive = n;
  // Positions named by step s hold s + 1 (a stamp, not a set per step: a 1,000-tensor path has 1,000 steps).
  const seen = new Int32Array(Math.max(0, n));
  path.forEach((step, s) => {
    if (!Array.isArray(step) || step.length === 0) fail(`step ${s} of the path is empty`);
    for (const p of step) {
      if (!Number.isInteger(p) || p < 0 || p >= alive) {
        fail(`step ${s} of the path names position ${String(p)}, but only ${alive} operands are left (positions 0..${alive - 1})`);
      }
      if (seen[p] === s + 1) fail(`step ${s} of the path names position ${p} twice`);
      seen[p] = s + 1;
    }
    alive = alive - step.length + 1;
  });
  if (alive !== 1) {
    fail(`the path leaves ${alive} operands instead of one (${n} operands, ${path.length} step${path.length === 1 ? '' : 's'})`);
  }
}

/** Everything a replay yields: the steps and the totals of a plan. */
export type Replay = Omit<ContractionPlan, 'optimizer'>;

/**
 * Replays a (valid) linear path and records every step, in time linear in the axis ids it reads and writes
 * (plus a logarithm per operand): a 1,000-tensor plan has a thousand steps over a thousand operands.
 *
 * Operands are held by SSA id (inputs 0..n-1, each step's result the next id) rather than in a list spliced at
 * every step; as the list stays sorted by id, position p of a step is the (p+1)-th live id, which a Fenwick tree
 * over the ids finds in O(log n). A step's union is never collected: its ids are classified (kept or summed
 * away) and multiplied into the step's count in the order the union would list them.
 */
export function replayPath(
  inputs: readonly (readonly number[])[],
  output: readonly number[],
  sizes: readonly number[],
  path: LinearPath,
): Replay {
  const n = inputs.length;
  const slots = n + path.length;
  // Per axis id (ids index `sizes`): in the output; how many operands still waiting hold it (so that a step's
  // removed axes cost O(its size), not O(every operand)); a stamp that deduplicates a union or a term.
  let top = 0;
  for (const t of inputs) for (const i of t) top = Math.max(top, i + 1);
  for (const i of output) top = Math.max(top, i + 1);
  const inOutput = new Uint8Array(top);
  for (const i of output) inOutput[i] = 1;
  const holding = new Int32Array(top);
  const mark = new Int32Array(top);
  let stamp = 0;
  // Per SSA id: the axes as a step reports them (an input as written, a repeated id being a diagonal; an
  // intermediate as laid out) and the distinct axes, which are what the holding counts.
  const asWritten: (readonly number[])[] = new Array<readonly number[]>(slots);
  const terms: (readonly number[])[] = new Array<readonly number[]>(slots);
  // The naive count reads the inputs as they come: the distinct ids of all (in order of first occurrence) and
  // the sum of each input's distinct count.
  const seenAll = new Uint8Array(top);
  let naiveM = 1;
  let naiveE = 0;
  let distinctTotal = 0;
  let distinctAll = 0;
  for (let k = 0; k < n; k++) {
    const t = inputs[k]!;
    // (A typed array is copied to a plain one, as `[...t]` did.)
    const copy = Array.isArray(t) ? t.slice() : Array.from(t);
    asWritten[k] = copy;
    stamp++;
    let repeated = false;
    for (const i of t) {
      if (mark[i] === stamp) {
        repeated = true;
        continue;
      }
      mark[i] = stamp;
      holding[i]!++;
      distinctTotal++;
      if (seenAll[i] === 0) {
        seenAll[i] = 1;
        distinctAll++;
        naiveM *= sizes[i] ?? 1;
        if (naiveM >= TOP) {
          naiveM *= DOWN;
          naiveE += SHIFT;
        }
      }
    }
    terms[k] = repeated ? distinct(t) : copy;
  }
  // Fenwick tree over the SSA ids, 1 where the operand is waiting.
  const tree = new Int32Array(slots + 1);
  for (let i = 1; i <= n; i++) tree[i] = 1;
  for (let i = 1; i <= slots; i++) {
    const j = i + (i & -i);
    if (j <= slots) tree[j]! += tree[i]!;
  }
  const add = (id: number, delta: number): void => {
    for (let i = id + 1; i <= slots; i += i & -i) tree[i]! += delta;
  };
  let high = 1;
  while (high * 2 <= slots) high *= 2;
  /** The id of the waiting operand at position p (the (p+1)-th waiting id). */
  const idAt = (p: number): number => {
    let at = 0;
    let rest = p + 1;
    for (let step = high; step > 0; step >>= 1) {
      if (at + step <= slots && tree[at + step]! < rest) {
        at += step;
        rest -= tree[at]!;
      }
    }
    return at;
  };
  const steps: PairwiseStep[] = new Array<PairwiseStep>(path.length);
  let costM = 0;
  let costE = 0;
  let largest = 1;
  let written = 0;
  const ids: number[] = [];
  for (let s = 0; s < path.length; s++) {
    const positions = path[s]!;
    const k = positions.length;
    ids.length = k;
    for (let j = 0; j < k; j++) ids[j] = idAt(positions[j]!);
    const stepInputs = new Array<readonly number[]>(k);
    for (let j = 0; j < k; j++) {
      const id = ids[j]!;
      stepInputs[j] = asWritten[id]!;
      for (const i of terms[id]!) holding[i]!--;
      add(id, -1);
    }
    // The union in order of first occurrence over the operands as written, split by whether an operand still
    // waiting or the output holds the id, and its sizes' product (flops.ts's productOf, in the same order).
    stamp++;
    const kept: number[] = [];
    const removed: number[] = [];
    let m = 1;
    let e = 0;
    for (let j = 0; j < k; j++) {
      for (const i of stepInputs[j]!) {
        if (mark[i] === stamp) continue;
        mark[i] = stamp;
        if (inOutput[i] === 1 || holding[i]! > 0) kept.push(i);
        else removed.push(i);
        m *= sizes[i] ?? 1;
        if (m >= TOP) {
          m *= DOWN;
          e += SHIFT;
        }
      }
    }
    const result = s === path.length - 1 ? distinct(output) : kept;
    // opt_einsum's flop_count: prod(union) × (max(1, k − 1) + [inner]).
    const big = scaleFlops({ m, e }, Math.max(1, k - 1) + (removed.length > 0 ? 1 : 0));
    let resultSize = 1;
    for (const i of result) resultSize *= sizes[i] ?? 1;
    const next = n + s;
    terms[next] = result;
    asWritten[next] = result;
    for (const i of result) holding[i]!++;
    add(next, 1);
    steps[s] = { operands: positions.slice(), inputs: stepInputs, result, removed, flops: toNumber(big), resultSize };
    addParts(costM, costE, big.m, big.e);
    costM = partsSum.m;
    costE = partsSum.e;
    largest = Math.max(largest, resultSize);
    written += resultSize;
  }
  const cost: Flops = { m: costM, e: costE };
  const naive = scaleFlops({ m: naiveM, e: naiveE }, Math.max(1, n - 1) + (distinctTotal > distinctAll ? 1 : 0));
  return {
    steps,
    path: path.map((p) => p.slice()),
    cost: toNumber(cost),
    log10Cost: log10Of(cost),
    naiveCost: toNumber(naive),
    log10NaiveCost: log10Of(naive),
    largestIntermediate: largest,
    memoryWritten: written,
  };
}

/** The exact cost of a (valid) linear path as a BigInt (for checks beyond 2^53). */
export function replayCostExact(
  inputs: readonly (readonly number[])[],
  output: readonly number[],
  sizes: readonly number[],
  path: LinearPath,
): bigint {
  const terms: number[][] = inputs.map(distinct);
  const outSet = new Set(output);
  const holding = new Map<number, number>();
  const hold = (term: readonly number[], delta: number): void => {
    for (const i of term) holding.set(i, (holding.get(i) ?? 0) + delta);
  };
  for (const t of terms) hold(t, 1);
  let cost = 0n;
  for (const positions of path) {
    const union = distinct(positions.flatMap((p) => terms[p]!));
    for (const p of [...positions].sort((a, b) => b - a)) {
      hold(terms[p]!, -1);
      terms.splice(p, 1);
    }
    const kept = union.filter((i) => outSet.has(i) || (holding.get(i) ?? 0) > 0);
    let prod = 1n;
    for (const i of union) prod *= BigInt(sizes[i] ?? 1);
    cost += prod * BigInt(Math.max(1, positions.length - 1) + (kept.length < union.length ? 1 : 0));
    terms.push(kept);
    hold(kept, 1);
  }
  return cost;
}
