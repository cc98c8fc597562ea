/**
 * Planner corners found by mutation testing (seed 20261228's sample of src/plan): auto's anneal under a memory
 * limit. Its rotations ignore limits, so they must not run under one; on these random 3-regular networks of 36
 * tensors, rotating anyway returned plans whose largest intermediate passed the limit (found by a search over
 * seeds with the rotations let through). The largest intermediate is recomputed here by replaying the path on
 * index lists, not read from the plan.
 */
import { describe, expect, it } from 'vitest';
import { randomRegular } from '../../bench/network-gen.js';
import { clearPlanCache, planContraction } from '../../src/plan/index.js';

/** The largest intermediate of every step but the last (the output), from the path alone. */
function largestIntermediate(inputs: readonly (readonly number[])[], output: readonly number[], sizes: readonly number[], path: readonly (readonly number[])[]): number {
  const terms = inputs.map((t) => [...new Set(t)]);
  let largest = 0;
  path.forEach((positions, s) => {
    const operands = positions.map((p) => terms[p]!);
    for (const p of [...positions].sort((a, b) => b - a)) terms.splice(p, 1);
    const waiting = new Set([...output, ...terms.flat()]);
    const result = [...new Set(operands.flat())].filter((i) => waiting.has(i));
    terms.push(result);
    if (s < path.length - 1) largest = Math.max(largest, result.reduce((p, i) => p * sizes[i]!, 1));
  });
  return largest;
}

describe("auto's anneal under a memory limit", () => {
  it.each([11, 18, 22])('keeps every intermediate within the limit (seed %i)', (seed) => {
    clearPlanCache();
    const g = randomRegular(36, 3, seed, 2, 9);
    const net = { inputs: g.inputs, output: g.output, sizes: g.sizes };
    const limit = Math.floor(planContraction(net, { optimize: 'greedy' }).largestIntermediate);
    const plan = planContraction(net, { optimize: 'auto', memoryLimit: limit, seed: 1 });
    expect(plan.path.every((step, s) => step.length === 2 || s === plan.path.length - 1)).toBe(true);
    expect(largestIntermediate(g.inputs, g.output, g.sizes, plan.path)).toBeLessThanOrEqual(limit);
  });
});
