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
import { type Flops, ZERO, addFlops, log10Of, productOf as bigProductOf, scaleFlops, toNumber } from './flops.js';
import type { ContractionPlan, LinearPath, PairwiseStep } from './types.js';

const OP = 'einsumPath';

function distinct(ids: readonly number[]): number[] {
  return [...new Set(ids)];
}

function productOf(ids: Iterable<number>, sizes: readonly number[]): number {
  let p = 1;
  for (const i of ids) p *= sizes[i] ?? 1;
  return p;
}

/** Cost of evaluating the whole einsum as one loop nest (opt_einsum's 'naive' count, informative only). */
function naiveCost(inputs: readonly (readonly number[])[], sizes: readonly number[]): Flops {
  const all = new Set<number>();
  let total = 0;
  for (const term of inputs) {
    const set = new Set(term);
    total += set.size;
    for (const i of set) all.add(i);
  }
  return scaleFlops(bigProductOf(all, sizes), Math.max(1, inputs.length - 1) + (total > all.size ? 1 : 0));
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
  path.forEach((step, s) => {
    if (!Array.isArray(step) || step.length === 0) fail(`step ${s} of the path is empty`);
    const seen = new Set<number>();
    for (const p of step) {
      if (!Number.isInteger(p) || p < 0 || p >= alive) {
        fail(`step ${s} of the path names position ${String(p)}, but only ${alive} operands are left (positions 0..${alive - 1})`);
      }
      if (seen.has(p)) fail(`step ${s} of the path names position ${p} twice`);
      seen.add(p);
    }
    alive = alive - step.length + 1;
  });
  if (alive !== 1) {
    fail(`the path leaves ${alive} operands instead of one (${n} operands, ${path.length} steps)`);
  }
}

/** Everything a replay yields: the steps and the totals of a plan. */
export type Replay = Omit<ContractionPlan, 'optimizer'>;

/** Replays a (valid) linear path and records every step. */
export function replayPath(
  inputs: readonly (readonly number[])[],
  output: readonly number[],
  sizes: readonly number[],
  path: LinearPath,
): Replay {
  const terms: number[][] = inputs.map(distinct);
  // What each step reports as its operands' axes: an input as written (a repeated id is a diagonal), an
  // intermediate as laid out.
  const asWritten: (readonly number[])[] = inputs.map((t) => [...t]);
  // Per axis id (ids index `sizes`; typed arrays, as a 1,000-tensor network's steps touch hundreds of ids
  // each): in the output, how many operands still waiting hold it (so that a step's removed axes cost O(its
  // size), not O(every operand)), and a stamp that deduplicates a step's union.
  let top = 0;
  for (const t of inputs) for (const i of t) top = Math.max(top, i + 1);
  for (const i of output) top = Math.max(top, i + 1);
  const inOutput = new Uint8Array(top);
  for (const i of output) inOutput[i] = 1;
  const holding = new Int32Array(top);
  const mark = new Int32Array(top);
  const hold = (term: readonly number[], delta: number): void => {
    for (const i of term) holding[i]! += delta;
  };
  for (const t of terms) hold(t, 1);
  const steps: PairwiseStep[] = [];
  let cost: Flops = ZERO;
  let largest = 1;
  let written = 0;
  path.forEach((positions, s) => {
    const stepInputs = positions.map((p) => asWritten[p]!);
    const union: number[] = [];
    for (const t of stepInputs) {
      for (const i of t) {
        if (mark[i] === s + 1) continue;
        mark[i] = s + 1;
        union.push(i);
      }
    }
    const desc = [...positions].sort((a, b) => b - a);
    for (const p of desc) {
      hold(terms[p]!, -1);
      terms.splice(p, 1);
      asWritten.splice(p, 1);
    }
    const kept: number[] = [];
    const removed: number[] = [];
    for (const i of union) (inOutput[i] === 1 || holding[i]! > 0 ? kept : removed).push(i);
    const last = s === path.length - 1;
    const result = last ? distinct(output) : kept;
    // opt_einsum's flop_count: prod(union) × (max(1, k − 1) + [inner]).
    const multiplier = Math.max(1, positions.length - 1) + (removed.length > 0 ? 1 : 0);
    const big = scaleFlops(bigProductOf(union, sizes), multiplier);
    const flops = toNumber(big);
    const resultSize = productOf(result, sizes);
    terms.push(result);
    hold(result, 1);
    asWritten.push(result);
    steps.push({ operands: [...positions], inputs: stepInputs, result, removed, flops, resultSize });
    cost = addFlops(cost, big);
    largest = Math.max(largest, resultSize);
    written += resultSize;
  });
  const naive = naiveCost(inputs, sizes);
  return {
    steps,
    path: path.map((p) => [...p]),
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
