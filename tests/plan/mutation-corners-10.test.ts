/**
 * Planner corners found by mutation testing (seed 20261221's sample of src/plan):
 * - an SSA path that names an id which does not exist yet is refused with that reason (not a later, vaguer one);
 * - greedy's outer-product phase contracts a pair whose result is exactly at the memory limit;
 * - auto falls back to annealing when its exact search runs out of time, and lets any other failure through;
 * - auto's restarts stop at 70 % of a caller's budget (auto-hq: 80 %), and go on until then;
 * - the report carries a count whose mantissa rounds up to 10 into the exponent.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { randomRegular } from '../../bench/network-gen.js';
import * as budget from '../../src/plan/budget.js';
import * as exact from '../../src/plan/exact.js';
import * as greedy from '../../src/plan/greedy.js';
import { clearPlanCache, planContraction } from '../../src/plan/index.js';
import { buildNetwork, scoreSsa } from '../../src/plan/network.js';
import { autoSearch } from '../../src/plan/optimizers.js';
import { formatReport } from '../../src/plan/report.js';
import type { ContractionPlan } from '../../src/plan/types.js';
import { thrown } from '../helpers/thrown.js';

vi.mock('../../src/plan/budget.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/plan/budget.js')>();
  return { ...real, now: vi.fn(real.now) };
});
vi.mock('../../src/plan/exact.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/plan/exact.js')>();
  return { ...real, solveExact: vi.fn(real.solveExact) };
});
vi.mock('../../src/plan/greedy.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/plan/greedy.js')>();
  return { ...real, greedySsa: vi.fn(real.greedySsa) };
});

beforeEach(() => {
  clearPlanCache();
  vi.mocked(budget.now).mockReset().mockImplementation(() => performance.now());
  vi.mocked(exact.solveExact).mockClear();
  vi.mocked(greedy.greedySsa).mockClear();
});

const chain = { inputs: [[0, 1], [1, 2], [2, 3]], output: [0, 3], sizes: [2, 3, 4, 5] };

describe('plan corners (mutation sample 20261221)', () => {
  it('an SSA path naming an id that does not exist yet is refused with that reason', () => {
    // Three inputs: ids 0..2, and step t's result is 3 + t. Step 0 may name 0..2 only; step 1 also 3.
    const cases: [number[][], string][] = [
      [[[0, 5]], 'step 0 of the SSA path names 5, which does not exist yet'],
      [[[0, 3]], 'step 0 of the SSA path names 3, which does not exist yet'], // its own result
      [[[1, 2], [0, 4]], 'step 1 of the SSA path names 4, which does not exist yet'],
      [[[0, -1]], 'step 0 of the SSA path names -1, which does not exist yet'],
      [[[0, 1.5]], 'step 0 of the SSA path names 1.5, which does not exist yet'],
      [[[0, '1' as never]], 'step 0 of the SSA path names 1, which does not exist yet'],
    ];
    for (const [ssaPath, reason] of cases) {
      const e = thrown(() => planContraction(chain, { optimize: { ssaPath } }));
      expect(e.reason, JSON.stringify(ssaPath)).toBe(reason);
      expect(e.hint).toBe('an SSA path names inputs 0..n-1 and the result of step t as n + t, each once');
    }
    // The largest id each step may name is accepted.
    expect(planContraction(chain, { optimize: { ssaPath: [[1, 2], [0, 3]] } }).path).toEqual([[1, 2], [0, 1]]);
  });

  it("greedy's outer products contract a pair whose result is exactly at the limit, and no pair past it", () => {
    // Three operands with nothing in common: the two smallest (2 and 3 elements) make 6, then 6 × 5 = 30.
    const net = { inputs: [[0], [1], [2]], output: [0, 1, 2], sizes: [2, 3, 5] };
    for (const optimize of ['greedy', 'random-greedy'] as const) {
      expect(planContraction(net, { optimize, memoryLimit: 6 }).path, optimize).toEqual([[0, 1], [0, 1]]);
      expect(planContraction(net, { optimize, memoryLimit: 5 }).path, optimize).toEqual([[0, 1, 2]]);
      // The last step writes the output, which no limit refuses.
      expect(planContraction(net, { optimize, memoryLimit: 30 }).path, optimize).toEqual([[0, 1], [0, 1]]);
    }
  });

  it("auto anneals when its exact search runs out of time, and lets any other failure through", () => {
    const { inputs, output, sizes } = randomRegular(8, 3, 5);
    const net = buildNetwork(inputs, output, sizes);
    // A generous budget where optimal must finish (it takes milliseconds; a loaded machine must not make it run out),
    // a short one for the annealing that follows a failure (it restarts until 70 % of its budget).
    const options = (ms: number) => ({ memoryLimit: Infinity, deadline: performance.now() + ms, seed: 0, minimize: 'flops' as const, trials: 32, callerBudgetMs: ms });
    expect(autoSearch(net, options(60_000), false).chosen).toBe('optimal');
    const o = options(300);
    vi.mocked(exact.solveExact).mockImplementationOnce(() => {
      throw new budget.BudgetExceeded('optimal');
    });
    const annealed = autoSearch(net, o, false);
    expect(annealed.chosen).toBe('anneal');
    expect(Number.isFinite(objective(net, annealed.ssa))).toBe(true);
    vi.mocked(exact.solveExact).mockImplementationOnce(() => {
      throw new TypeError('not a budget');
    });
    expect(() => autoSearch(net, o, false)).toThrow('not a budget');
  });

  it("auto's restarts run until 70 % of a caller's budget (auto-hq: 80 %) and no later", () => {
    // A clock that stands still except that each restart (one greedySsa call each) takes 10 ms of it. With a
    // budget of 100 ms from 0, auto's restarts start at 0, 10, ... 60 ms, auto-hq's up to 70 ms.
    const { inputs, output, sizes } = randomRegular(24, 3, 11);
    const net = buildNetwork(inputs, output, sizes);
    for (const [hq, share] of [[false, 0.7], [true, 0.8]] as const) {
      let clock = 0;
      vi.mocked(budget.now).mockImplementation(() => clock);
      const started: number[] = [];
      vi.mocked(greedy.greedySsa).mockClear().mockImplementation((...args) => {
        started.push(clock);
        clock += 10;
        return greedy.greedyBest(args[0], args[1].memoryLimit);
      });
      const o = { memoryLimit: Infinity, deadline: 100, seed: 3, minimize: 'flops' as const, trials: 32, callerBudgetMs: 100 };
      expect(autoSearch(net, o, hq, true).chosen).toBe('anneal');
      expect(started.length, `hq ${hq}`).toBeGreaterThan(0);
      expect(Math.max(...started), `hq ${hq}`).toBeLessThan(100 * share);
      expect(Math.max(...started), `hq ${hq}`).toBeGreaterThanOrEqual(100 * share - 10);
      vi.mocked(greedy.greedySsa).mockReset();
    }
  });

  it('a count past a double whose mantissa rounds to 10 moves into the exponent', () => {
    const plan = {
      steps: [], path: [], cost: Infinity, log10Cost: 400.99999, naiveCost: Infinity, log10NaiveCost: 409.3, largestIntermediate: 6,
      memoryWritten: 6, optimizer: 'greedy',
    } as unknown as ContractionPlan;
    const report = formatReport(plan, { inputs: [[0], [1]], output: [0, 1], sizes: [2, 3], labels: ['a', 'b'] } as never);
    expect(report).toContain('Optimized FLOP count:  1.000e+401');
    expect(report).toContain('Naive FLOP count:  1.995e+409');
    // The speed-up overflows too: 10^(409.3 - 400.99999).
    expect(report).toContain('Theoretical speedup:  1.995e+08');
  });
});

function objective(net: ReturnType<typeof buildNetwork>, ssa: ReturnType<typeof greedy.greedyBest>): number {
  const s = scoreSsa(net, ssa);
  return s.flops.m * 2 ** s.flops.e;
}
