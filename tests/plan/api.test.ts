/** The planner's API: registry errors, explicit paths, budgets, memory limits, the cache and the report. */

import { describe, expect, it } from 'vitest';
import { EinjitError } from '../../src/errors.js';
import { formatReport, optimizerNames, planContraction, validatePath } from '../../src/plan/index.js';
import { loadPathCases } from './cases.js';

const cases = loadPathCases();
const big = cases.find((c) => c.id === 'random_regular-040')!;

// 'ij,jk,kl->il' with i=8, j=16, k=32, l=4
const chain = { inputs: [[0, 1], [1, 2], [2, 3]], output: [0, 3], sizes: [8, 16, 32, 4] };

describe('registry', () => {
  it('lists every algorithm', () => {
    expect(optimizerNames()).toEqual(
      expect.arrayContaining(['optimal', 'branch-all', 'branch-2', 'branch-1', 'greedy', 'dp', 'random-greedy', 'auto', 'auto-hq']),
    );
  });

  it('rejects an unknown name with an EinjitError that lists the valid names', () => {
    let err: unknown;
    try {
      planContraction(chain, { optimize: 'fastest' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EinjitError);
    const e = err as EinjitError;
    expect(e.op).toBe('einsumPath');
    expect(e.message).toContain("'fastest'");
    for (const name of ['optimal', 'greedy', 'dp', 'random-greedy', 'auto-hq']) expect(e.hint).toContain(`'${name}'`);
  });
});

describe('explicit paths', () => {
  it('accepts a valid path and replays it', () => {
    const plan = planContraction(chain, { optimize: [[1, 2], [0, 1]] });
    expect(plan.optimizer).toBe('explicit');
    expect(plan.steps[0]!.inputs).toEqual([[1, 2], [2, 3]]);
    expect(plan.steps[0]!.result).toEqual([1, 3]);
    expect(plan.steps[0]!.removed).toEqual([2]);
    expect(plan.steps[0]!.flops).toBe(2 * 16 * 32 * 4);
    expect(plan.steps[1]!.result).toEqual([0, 3]);
    expect(plan.cost).toBe(2 * 16 * 32 * 4 + 2 * 8 * 16 * 4);
  });

  it('rejects malformed paths', () => {
    for (const bad of [[[0, 3]], [[0, 0], [0, 1]], [[0, 1]], [[]], [[0, 1], [0, 1], [1]]]) {
      expect(() => validatePath(bad, 3)).toThrow(EinjitError);
      expect(() => planContraction(chain, { optimize: bad })).toThrow(EinjitError);
    }
  });
});

describe('small expressions', () => {
  it('a single operand is one step with path [[0]]', () => {
    const plan = planContraction({ inputs: [[0, 1]], output: [0], sizes: [3, 4] });
    expect(plan.path).toEqual([[0]]);
    expect(plan.cost).toBe(2 * 3 * 4);
    const t = planContraction({ inputs: [[0, 1]], output: [1, 0], sizes: [3, 4] });
    expect(t.cost).toBe(12);
    expect(t.steps[0]!.result).toEqual([1, 0]);
  });

  it('two operands are one step whatever the algorithm', () => {
    for (const optimize of ['optimal', 'greedy', 'auto']) {
      expect(planContraction({ inputs: [[0, 1], [1, 2]], output: [0, 2], sizes: [2, 3, 4] }, { optimize }).path).toEqual([[0, 1]]);
    }
  });

  it('an operand with a repeated axis keeps it in the step record (a diagonal)', () => {
    const plan = planContraction({ inputs: [[0, 0, 1], [1, 2], [2]], output: [0], sizes: [3, 4, 5] }, { optimize: 'optimal' });
    expect(plan.steps.flatMap((s) => s.inputs)).toContainEqual([0, 0, 1]);
  });
});

describe('time budgets', () => {
  it('optimal on a 50-tensor network stops quickly with an EinjitError', () => {
    const t0 = performance.now();
    expect(() => planContraction(big, { optimize: 'optimal', timeBudgetMs: 50 })).toThrow(EinjitError);
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('branch-2 on a 50-tensor network stops at its budget with an EinjitError', () => {
    const t0 = performance.now();
    let err: unknown;
    try {
      planContraction(big, { optimize: 'branch-2', timeBudgetMs: 50 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EinjitError);
    expect((err as EinjitError).message).toContain('time budget');
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('dp on a 50-tensor network returns at its budget a plan no costlier than greedy', () => {
    // The exact search does not finish in 50 ms; dp then reconfigures greedy's tree for the rest of the budget.
    const t0 = performance.now();
    const plan = planContraction(big, { optimize: 'dp', timeBudgetMs: 50 });
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(plan.steps.length).toBe(big.inputs.length - 1);
    expect(plan.cost).toBeLessThanOrEqual(planContraction(big, { optimize: 'greedy' }).cost);
  });

  it('auto with a tight budget returns a valid path', () => {
    for (const optimize of ['auto', 'auto-hq']) {
      const plan = planContraction(big, { optimize, timeBudgetMs: 1, seed: 5 });
      expect(plan.steps.length).toBe(big.inputs.length - 1);
      expect(plan.cost).toBeGreaterThan(0);
    }
  });
});

describe('memory limits', () => {
  it("contracts everything left in one step when no pair fits (opt_einsum's behaviour)", () => {
    // 'a,b,c->abc' with at most 10 elements per intermediate: every pairwise result is larger.
    for (const optimize of ['optimal', 'greedy', 'dp', 'branch-2', 'random-greedy', 'auto']) {
      const plan = planContraction({ inputs: [[0], [1], [2]], output: [0, 1, 2], sizes: [5, 6, 7] }, { optimize, memoryLimit: 10 });
      expect(plan.path).toEqual([[0, 1, 2]]);
      expect(plan.cost).toBe(2 * 5 * 6 * 7);
    }
  });

  it('keeps every pairwise intermediate within a numeric limit', () => {
    const c = cases.find((x) => x.id === 'random_regular-021')!;
    const limit = 5000;
    for (const optimize of ['greedy', 'branch-1', 'random-greedy', 'auto', 'dp']) {
      const plan = planContraction(c, { optimize, memoryLimit: limit });
      for (const step of plan.steps) if (step.operands.length === 2) expect(step.resultSize).toBeLessThanOrEqual(limit);
    }
  });
});

describe('cache and report', () => {
  it('returns the same frozen plan for the same arguments', () => {
    const a = planContraction(chain, { optimize: 'greedy' });
    const b = planContraction(chain, { optimize: 'greedy' });
    expect(b).toBe(a);
    expect(Object.isFrozen(a.steps[0])).toBe(true);
  });

  it('prints like numpy.einsum_path', () => {
    const plan = planContraction(chain, { optimize: 'optimal' });
    const report = formatReport(plan, { ...chain, labels: ['i', 'j', 'k', 'l'] });
    expect(report).toContain('Complete contraction:  ij,jk,kl->il');
    expect(report).toContain('Naive scaling:  4');
    expect(report).toContain('Optimized FLOP count:  5.120e+03');
    expect(report).toContain('Largest intermediate:  6.400e+01 elements');
    expect(report).toContain('jk,kl->jl');
    expect(report).toContain('ij,jl->il');
  });
});
