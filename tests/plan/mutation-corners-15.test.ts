/**
 * Planner corners found by mutation testing (seed 20261228's sample of src/plan): auto's anneal under a memory
 * limit. Its rotations ignore limits, so they must not run under one; on these random 3-regular networks of 36
 * tensors, rotating anyway returned plans whose largest intermediate passed the limit (found by a search over
 * seeds with the rotations let through). The largest intermediate is recomputed here by replaying the path on
 * index lists, not read from the plan. And dp's fallback, when its exact search gives up: greedy's tree under the
 * same limit, reconfigured within that limit, so cheaper than greedy's (the clock is set so that the exact search
 * has no time and the fallback all it needs, which makes the test independent of the machine's speed).
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { randomRegular } from '../../bench/network-gen.js';
import * as budget from '../../src/plan/budget.js';
import { clearPlanCache, planContraction } from '../../src/plan/index.js';
import * as reconfigure from '../../src/plan/reconfigure.js';

vi.mock('../../src/plan/budget.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/plan/budget.js')>();
  return { ...real, now: vi.fn(real.now) };
});
vi.mock('../../src/plan/reconfigure.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/plan/reconfigure.js')>();
  return { ...real, reconfigure: vi.fn(real.reconfigure) };
});

beforeEach(() => {
  clearPlanCache();
  vi.mocked(budget.now).mockReset().mockImplementation(() => performance.now());
  vi.mocked(reconfigure.reconfigure).mockClear();
});

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

describe("dp's fallback under a memory limit", () => {
  // Seeds where reconfiguring without the limit passes it (found by a seed search with the limit dropped).
  it.each([1, 2])("reconfigures greedy's tree within the limit when the exact search gives up (seed %i)", (seed) => {
    const g = randomRegular(30, 3, seed, 2, 9);
    const net = { inputs: g.inputs, output: g.output, sizes: g.sizes };
    const limit = Math.floor(planContraction(net, { optimize: 'greedy' }).largestIntermediate);
    const greedy = planContraction(net, { optimize: 'greedy', memoryLimit: limit });
    expect(greedy.path.every((step) => step.length === 2)).toBe(true);
    // The plan's deadline far ahead; dp's own start read so far back that half the time left is already past.
    const t = performance.now();
    const BUDGET = 1000;
    vi.mocked(budget.now).mockReturnValueOnce(t + 1e9).mockReturnValueOnce(t - 1e9 - BUDGET - 1000);
    const plan = planContraction(net, { optimize: 'dp', memoryLimit: limit, timeBudgetMs: BUDGET });
    expect(vi.mocked(reconfigure.reconfigure)).toHaveBeenCalled();
    expect(largestIntermediate(g.inputs, g.output, g.sizes, plan.path)).toBeLessThanOrEqual(limit);
    expect(plan.cost).toBeLessThan(greedy.cost);
  });
});
