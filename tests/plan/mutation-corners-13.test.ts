/**
 * Planner corners found by mutation testing (seed 20261223's sample of src/plan, and the registry every algorithm
 * now runs through): a caller's budget is a hard limit for auto, auto-hq and (below its default) hyper, and
 * without one auto's fixed restarts run to the end even past its default effort, so that a seed's path does not
 * depend on the machine's speed.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { randomRegular } from '../../bench/network-gen.js';
import * as budget from '../../src/plan/budget.js';
import * as greedy from '../../src/plan/greedy.js';
import { clearPlanCache, planContraction } from '../../src/plan/index.js';

vi.mock('../../src/plan/budget.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/plan/budget.js')>();
  return { ...real, now: vi.fn(real.now) };
});
vi.mock('../../src/plan/greedy.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/plan/greedy.js')>();
  return { ...real, greedySsa: vi.fn(real.greedySsa) };
});

beforeEach(() => {
  clearPlanCache();
  vi.mocked(budget.now).mockReset().mockImplementation(() => performance.now());
  vi.mocked(greedy.greedySsa).mockReset().mockImplementation(greedy.greedySsa);
});

/** How many restarts (one greedySsa call each) a plan's search starts, on a clock where each takes 10 ms. */
function restarts(optimize: 'auto' | 'auto-hq' | 'hyper', timeBudgetMs: number | undefined): number {
  clearPlanCache();
  let clock = 0;
  vi.mocked(budget.now).mockImplementation(() => clock);
  let count = 0;
  vi.mocked(greedy.greedySsa).mockReset().mockImplementation((...args) => {
    count++;
    clock += 10;
    return greedy.greedyBest(args[0], args[1].memoryLimit);
  });
  const plan = planContraction(randomRegular(24, 3, 11), { optimize, timeBudgetMs });
  expect(plan.optimizer).toBe(optimize === 'hyper' ? 'hyper' : `${optimize}:anneal`);
  return count;
}

describe('plan corners (mutation sample 20261223)', () => {
  it("holds auto and auto-hq to a caller's budget, and without one runs the fixed restarts to the end", () => {
    // auto: 8 fixed restarts, the first from greedy's path (no call). A budget of 40 ms stops them at 70 % of
    // it (starts at 0, 10, 20 ms); its default budget is also 40 ms, but without a caller's budget all 7 run.
    expect(restarts('auto', undefined)).toBe(7);
    expect(restarts('auto', 40)).toBe(3);
    expect(restarts('auto', Infinity)).toBe(7);
    // auto-hq: 128 fixed restarts; a caller's 100 ms stops them at 80 ms (starts at 0 ... 70 ms).
    expect(restarts('auto-hq', undefined)).toBe(127);
    expect(restarts('auto-hq', 100)).toBe(8);
  });

  it("holds hyper to a caller's budget below its default (250 ms), not to one at or above it", () => {
    // hyper starts from auto's path: auto's restarts stop at 70 % of its share under a strict budget.
    expect(restarts('hyper', undefined)).toBe(7);
    expect(restarts('hyper', 100)).toBe(3);
    expect(restarts('hyper', 249)).toBe(3);
    expect(restarts('hyper', 250)).toBe(7);
  });
});
