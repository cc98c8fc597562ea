/**
 * optimize: 'hyper' — a seeded search over random-greedy (sampled α and temperature) and subtree
 * reconfiguration, starting from auto's and greedy's paths:
 * - on every network of tests/conformance/paths.json its cost is at most auto's and its path replays to it;
 * - the same seed gives the same path and trials, other seeds sample other parameters; with an infinite budget
 *   (no search stops on the clock: hyper runs by trial count) this holds whatever the machine's speed;
 * - a time budget is honoured (a generous bound, the machine may be loaded);
 * - the trials (method, parameters, cost, time) are in the plan and in the report.
 */

import { describe, expect, it, vi } from 'vitest';
import { clearPlanCache, formatReport, optimizerNames, planContraction, replayPath } from '../../src/plan/index.js';
import { loadPathCases } from './cases.js';
import { einsumPath } from '../../src/index.js';
import { EinjitError } from '../../src/errors.js';

const cases = loadPathCases();
const largest = (k: number) => [...cases].sort((a, b) => b.nOperands - a.nOperands || a.id.localeCompare(b.id))[k]!;
const mid = cases.find((c) => c.nOperands === 20)!;

describe("optimize: 'hyper'", () => {
  it('is registered', () => {
    expect(optimizerNames()).toContain('hyper');
  });

  // With an infinite budget no search stops on the clock (hyper runs its `trials`, auto its fixed restarts and
  // passes), so these claims hold however loaded the machine is.
  it("costs at most auto's on every network of paths.json, by trial count", () => {
    for (const c of cases) {
      const auto = planContraction(c, { optimize: 'auto', timeBudgetMs: Infinity });
      const hyper = planContraction(c, { optimize: 'hyper', timeBudgetMs: Infinity, trials: 12 });
      expect(replayPath(c.inputs, c.output, c.sizes, hyper.path).cost, c.id).toBe(hyper.cost);
      // It keeps the cheapest of its trials, the first of which are auto's path and greedy's (with two operands
      // or fewer there is nothing to search and no trials).
      if (c.nOperands <= 2) {
        expect(hyper.trials).toBeUndefined();
        continue;
      }
      expect(hyper.trials!.length, c.id).toBe(14);
      expect(hyper.cost, c.id).toBe(Math.min(...hyper.trials!.map((t) => t.cost)));
      expect(hyper.trials!.slice(0, 2).map((t) => t.method)).toEqual(['auto', 'greedy']);
      // Its first trial is auto's own path, found the same way: no margin.
      expect(hyper.trials![0]!.cost, c.id).toBe(auto.cost);
      expect(hyper.cost, `${c.id} ${c.name}`).toBeLessThanOrEqual(auto.cost);
    }
  }, 300_000);

  it('is reproducible with a seed, and other seeds sample other parameters', () => {
    const run = (seed: number) => {
      clearPlanCache();
      return planContraction(mid, { optimize: 'hyper', seed, trials: 16, timeBudgetMs: Infinity });
    };
    const a = run(5);
    const b = run(5);
    expect(b.path).toEqual(a.path);
    expect(b.trials!.map((t) => [t.method, t.params, t.cost])).toEqual(a.trials!.map((t) => [t.method, t.params, t.cost]));
    const c = run(6);
    expect(c.trials!.map((t) => t.params)).not.toEqual(a.trials!.map((t) => t.params));
  });

  it('with an infinite budget, gives the same paths on a machine a million times slower', () => {
    // A clock that jumps 10 s at every read: every deadline the searches poll has passed at once.
    const picks = [mid, largest(0), cases.find((c) => c.nOperands === 12)!];
    const plans = () =>
      picks.flatMap((c) => {
        clearPlanCache();
        return [
          planContraction(c, { optimize: 'auto', timeBudgetMs: Infinity, seed: 2 }),
          planContraction(c, { optimize: 'hyper', timeBudgetMs: Infinity, seed: 2, trials: 8 }),
        ].map((p) => [p.optimizer, p.path, p.cost, p.trials?.map((t) => [t.method, t.params, t.cost])]);
      });
    const real = plans();
    let t = performance.now();
    const slow = vi.spyOn(performance, 'now').mockImplementation(() => (t += 1e4));
    try {
      expect(plans()).toEqual(real);
      // (The clock is read: a finite budget is cut short by it.)
      clearPlanCache();
      expect(planContraction(mid, { optimize: 'hyper', timeBudgetMs: 1000, trials: 8 }).trials!.length).toBe(2);
    } finally {
      slow.mockRestore();
    }
  }, 120_000);

  it('honours its time budget', () => {
    for (const c of [largest(0), largest(1)]) {
      clearPlanCache();
      const t0 = performance.now();
      const plan = planContraction(c, { optimize: 'hyper', timeBudgetMs: 50, trials: 1_000_000 });
      expect(performance.now() - t0, `${c.nOperands} operands`).toBeLessThan(500);
      expect(plan.trials!.length).toBeGreaterThanOrEqual(2);
    }
  });

  it('reports its trials in the plan and the report', () => {
    // By count (an infinite budget): under load a 250 ms budget may stop before the twelfth trial.
    const plan = planContraction(mid, { optimize: 'hyper', trials: 12, timeBudgetMs: Infinity });
    const trials = plan.trials!;
    expect(trials.length).toBe(14);
    expect(trials.slice(0, 2).map((t) => t.method)).toEqual(['auto', 'greedy']);
    for (const t of trials) {
      expect(['auto', 'greedy', 'random-greedy', 'reconfigure']).toContain(t.method);
      expect(t.ms).toBeGreaterThanOrEqual(0);
    }
    expect(trials.some((t) => t.method === 'random-greedy' && t.params.alpha !== undefined && t.params.temperature! > 0)).toBe(true);
    // The plan is the cheapest trial.
    expect(plan.cost).toBe(Math.min(...trials.map((t) => t.cost)));
    const report = formatReport(plan, mid);
    expect(report).toContain('Hyper trials (14)');
    expect(report).toContain('random-greedy');
    // Other algorithms report none.
    expect(planContraction(mid, { optimize: 'greedy' }).trials).toBeUndefined();
  });
});

describe('hyper through einsumPath', () => {
  it('returns its trials as a field, and none for other optimizers', () => {
    const shapes = [[4, 5], [5, 6], [6, 7], [7, 3], [3, 8]];
    const hyper = einsumPath('ab,bc,cd,de,ef->af', shapes, { optimize: 'hyper', trials: 6, seed: 3 });
    expect(hyper.trials!.length).toBeGreaterThanOrEqual(2);
    expect(hyper.trials![0]!.method).toBe('auto');
    expect(hyper.cost).toBe(Math.min(...hyper.trials!.map((t) => t.cost)));
    expect(hyper.report).toContain(`Hyper trials (${hyper.trials!.length})`);
    expect(einsumPath('ab,bc,cd,de,ef->af', shapes, { optimize: 'greedy' }).trials).toBeUndefined();
  });

  it('refuses a memoryLimit that is not a count or max_input, with a hint', () => {
    let err: unknown;
    try {
      einsumPath('ab,bc->ac', [[2, 3], [3, 4]], { memoryLimit: -1 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EinjitError);
    expect((err as EinjitError).hint).toMatch(/max_input/);
  });
});
