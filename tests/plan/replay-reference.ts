/**
 * The replay as it was written first (cost.ts before its O(n) rewrite): positions looked up in operand lists
 * that are spliced at every step, sets for the union and the naive count. Kept only as the reference that
 * tests/plan/replay.test.ts compares `replayPath` with, step by step and bit for bit.
 */

import { type Flops, ZERO, addFlops, log10Of, productOf as bigProductOf, scaleFlops, toNumber } from '../../src/plan/flops.js';
import type { Replay } from '../../src/plan/cost.js';
import type { LinearPath, PairwiseStep } from '../../src/plan/types.js';

function distinct(ids: readonly number[]): number[] {
  return [...new Set(ids)];
}

function productOf(ids: Iterable<number>, sizes: readonly number[]): number {
  let p = 1;
  for (const i of ids) p *= sizes[i] ?? 1;
  return p;
}

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

export function referenceReplay(
  inputs: readonly (readonly number[])[],
  output: readonly number[],
  sizes: readonly number[],
  path: LinearPath,
): Replay {
  const terms: number[][] = inputs.map(distinct);
  const asWritten: (readonly number[])[] = inputs.map((t) => [...t]);
  const outSet = new Set(output);
  const holding = new Map<number, number>();
  const hold = (term: readonly number[], delta: number): void => {
    for (const i of term) holding.set(i, (holding.get(i) ?? 0) + delta);
  };
  for (const t of terms) hold(t, 1);
  const steps: PairwiseStep[] = [];
  let cost: Flops = ZERO;
  let largest = 1;
  let written = 0;
  path.forEach((positions, s) => {
    const stepInputs = positions.map((p) => asWritten[p]!);
    const union = distinct(stepInputs.flat());
    for (const p of [...positions].sort((a, b) => b - a)) {
      hold(terms[p]!, -1);
      terms.splice(p, 1);
      asWritten.splice(p, 1);
    }
    const kept = union.filter((i) => outSet.has(i) || (holding.get(i) ?? 0) > 0);
    const removed = union.filter((i) => !(outSet.has(i) || (holding.get(i) ?? 0) > 0));
    const result = s === path.length - 1 ? distinct(output) : kept;
    const multiplier = Math.max(1, positions.length - 1) + (removed.length > 0 ? 1 : 0);
    const big = scaleFlops(bigProductOf(union, sizes), multiplier);
    const resultSize = productOf(result, sizes);
    terms.push(result);
    hold(result, 1);
    asWritten.push(result);
    steps.push({ operands: [...positions], inputs: stepInputs, result, removed, flops: toNumber(big), resultSize });
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
