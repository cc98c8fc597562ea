/**
 * Every case of tests/conformance/paths.json (opt_einsum 3.4 paths and costs):
 * - the cost model: replaying each recorded path gives exactly the recorded opt_cost and largest intermediate;
 * - every einjit algorithm returns a valid path whose reported cost equals its replayed cost;
 * - the quality rules: optimal (≤ 10 operands) reaches the best known cost, dp reaches opt_einsum's dp cost,
 *   auto is within 1.1× of the best known cost on every network (its time is benchmarked, not asserted), greedy beats opt_einsum's greedy on average.
 */

import { beforeAll, describe, expect, it } from 'vitest';
import { clearPlanCache, planContraction, replayCostExact, replayPath } from '../../src/plan/index.js';
import type { ContractionPlan } from '../../src/plan/index.js';
import { type PathCase, loadPathCases } from './cases.js';

const cases = loadPathCases();
const TWO_53 = 2 ** 53;


function expectCostMatches(actual: number, exact: bigint, expected: bigint): void {
  expect(exact).toBe(expected);
  if (expected <= BigInt(TWO_53)) expect(actual).toBe(Number(expected));
  else expect(Math.abs(actual - Number(expected)) / Number(expected)).toBeLessThan(1e-12);
}

/** The plan is valid, reports the cost its replay gives, and its steps add up. */
function checkPlan(c: PathCase, plan: ContractionPlan): void {
  const replay = replayPath(c.inputs, c.output, c.sizes, plan.path);
  expect(plan.cost).toBe(replay.cost);
  expect(plan.largestIntermediate).toBe(replay.largestIntermediate);
  expect(plan.steps.reduce((s, step) => s + step.flops, 0)).toBe(plan.cost);
  const exact = replayCostExact(c.inputs, c.output, c.sizes, plan.path);
  if (exact <= BigInt(TWO_53)) expect(plan.cost).toBe(Number(exact));
  else expect(Math.abs(plan.cost - Number(exact)) / Number(exact)).toBeLessThan(1e-12);
  const last = plan.steps[plan.steps.length - 1]!;
  expect(last.result).toEqual([...new Set(c.output)]);
  for (const step of plan.steps) expect(step.operands.length === 1 || step.operands.length === 2).toBe(true);
}

beforeAll(() => {
  // Warm the JIT so that the auto timing below measures the planner, not the first compilation.
  for (const c of cases.slice(-12)) planContraction(c, { optimize: 'auto', seed: 99 });
});

describe('cost model: recorded opt_einsum and numpy paths replay to their recorded costs', () => {
  for (const c of cases) {
    it(`${c.id} ${c.name}`, () => {
      let checked = 0;
      for (const [alg, run] of c.runs) {
        if (run.status !== 'ok' || run.path === undefined || run.opt_cost === undefined) continue;
        const replay = replayPath(c.inputs, c.output, c.sizes, run.path);
        const exact = replayCostExact(c.inputs, c.output, c.sizes, run.path);
        expectCostMatches(replay.cost, exact, BigInt(run.opt_cost));
        expect(BigInt(replay.largestIntermediate), alg).toBe(BigInt(run.largest_intermediate!));
        if (run.naive_cost !== undefined) {
          const expected = Number(run.naive_cost);
          expect(Math.abs(replay.naiveCost - expected) / expected, alg).toBeLessThan(1e-12);
        }
        // An explicit path goes through the planner unchanged.
        const plan = planContraction(c, { optimize: run.path });
        expect(plan.cost).toBe(replay.cost);
        checked++;
      }
      expect(checked).toBeGreaterThan(0);
    });
  }
});

describe('optimal: reaches the best known cost (≤ 10 operands)', () => {
  for (const c of cases.filter((x) => x.nOperands <= 10)) {
    it(`${c.id} ${c.name}`, () => {
      const plan = planContraction(c, { optimize: 'optimal' });
      checkPlan(c, plan);
      expect(BigInt(plan.cost) <= c.bestKnownExact || plan.cost <= c.bestKnown).toBe(true);
    });
  }
});

describe("dp: reaches opt_einsum's dp cost wherever opt_einsum's dp finished", () => {
  for (const c of cases) {
    const run = c.runs.get('dp');
    if (run?.status !== 'ok') continue;
    it(`${c.id} ${c.name}`, () => {
      const plan = planContraction(c, { optimize: 'dp', timeBudgetMs: 120_000 });
      checkPlan(c, plan);
      expect(plan.cost).toBeLessThanOrEqual(Number(run.opt_cost) * (1 + 1e-12));
    });
  }
});

// Cost only: auto's time (the goal is under 100 ms a case) is measured by bench/networks.bench.ts, never
// asserted here, where a loaded machine would make the test flaky. auto's restarts are a fixed count, so its
// path for a given seed does not depend on the machine's speed (only extra restarts, when time is left, can
// improve it).
describe('auto: within 1.1× of the best known cost on every network', () => {
  for (const c of cases) {
    it(`${c.id} ${c.name}`, () => {
      const plan = planContraction(c, { optimize: 'auto', seed: 1 });
      checkPlan(c, plan);
      expect(plan.optimizer.startsWith('auto:')).toBe(true);
      // The cost of the returned path, replayed exactly (BigInt), against the corpus's best known cost.
      const exact = replayCostExact(c.inputs, c.output, c.sizes, plan.path);
      expect(exact * 10n <= c.bestKnownExact * 11n, `${exact} vs best known ${c.bestKnownExact}`).toBe(true);
    });
  }
});

describe('greedy, random-greedy and branch: valid paths, no worse than opt_einsum on average', () => {
  // Each comparison plans every case itself rather than reading costs that other tests collected: a test that only
  // reads them runs no planner code, so a mutation tool that runs only the tests covering a mutant never runs it.
  /** Plans the cases `alg` is compared on, checks each plan, and returns its cost over opt_einsum's where that ran. */
  const ratiosOf = (alg: string, when: (c: PathCase) => boolean = () => true): number[] => {
    clearPlanCache();
    const list: number[] = [];
    for (const c of cases) {
      if (!when(c)) continue;
      const plan = planContraction(c, { optimize: alg });
      checkPlan(c, plan);
      const run = c.runs.get(alg);
      if (run?.status === 'ok') list.push(plan.cost / Number(run.opt_cost));
    }
    return list;
  };
  for (const c of cases) {
    it(`${c.id} ${c.name}: branch-1, and branch-all up to 6 operands`, () => {
      checkPlan(c, planContraction(c, { optimize: 'branch-1' }));
      if (c.nOperands <= 6) checkPlan(c, planContraction(c, { optimize: 'branch-all' }));
    });
  }
  it('random-greedy: the geometric mean of its cost ratios to opt_einsum is at most 1', () => {
    const list = ratiosOf('random-greedy');
    expect(list.length).toBeGreaterThan(150);
    const geo = Math.exp(list.reduce((s, r) => s + Math.log(r), 0) / list.length);
    expect(geo).toBeLessThanOrEqual(1);
  });
  it("greedy is never costlier than opt_einsum's greedy on any case (equal on two thirds, cheaper on the rest)", () => {
    // 122 of the 182 cases cost what opt_einsum's greedy found and 60 less (its Hadamard and outer-product
    // handling). A candidate list that kept contracted or self holders made 40 cases costlier, one by 1,992×.
    const list = ratiosOf('greedy');
    expect(list.length).toBeGreaterThan(150);
    expect(Math.max(...list)).toBeLessThanOrEqual(1 + 1e-9);
    expect(list.filter((r) => Math.abs(r - 1) < 1e-9).length).toBeGreaterThan(list.length / 2);
  });
  it("branch-2 is opt_einsum's algorithm (rank order, flops cut off at 4× the best at each depth): its cost on nearly every case", () => {
    // 144 of the 153 fast cases cost exactly what opt_einsum's branch-2 found, 8 less, one 3.8 % more (ties
    // broken differently). Without the cutoff, 124 would match and 19 cost more, up to 11 %.
    const fast = (c: PathCase): boolean => {
      const b2 = c.runs.get('branch-2');
      return b2?.status === 'ok' && (b2.time_s ?? 0) < 0.05;
    };
    const list = ratiosOf('branch-2', fast);
    expect(list.length).toBeGreaterThan(150);
    expect(list.filter((r) => Math.abs(r - 1) < 1e-9).length).toBeGreaterThanOrEqual(Math.floor(0.93 * list.length));
    expect(Math.max(...list)).toBeLessThan(1.04);
  });
});
