/**
 * Planner corners found by mutation testing (seed 20261223's sample of src/plan): every array of a plan is frozen,
 * a step's result list among them (a cached plan is shared by every caller); the report's optimized scaling is
 * the most distinct indices any one step touches.
 */
import { describe, expect, it } from 'vitest';
import { planContraction } from '../../src/plan/index.js';
import { formatReport } from '../../src/plan/report.js';

describe('a plan', () => {
  it("is frozen down to each step's result list", () => {
    const net = { inputs: [[0, 1], [1, 2], [2, 3], [3, 4]], output: [0, 4], sizes: [2, 3, 4, 5, 6] };
    const plan = planContraction(net, { optimize: 'greedy' });
    expect(plan.steps.length).toBe(3);
    for (const step of plan.steps) {
      expect(Object.isFrozen(step.result)).toBe(true);
      expect(() => (step.result as number[]).push(9)).toThrow(TypeError);
    }
  });

  it("reports as optimized scaling the most distinct indices one step touches", () => {
    // ab,bc,cd->ad as ((ab, bc), cd): the steps touch {a, b, c} and {a, c, d}: 3. Naive: all four.
    const contraction = { inputs: [[0, 1], [1, 2], [2, 3]], output: [0, 3], sizes: [2, 3, 4, 5], labels: ['a', 'b', 'c', 'd'] };
    const report = formatReport(planContraction(contraction, { optimize: [[0, 1], [0, 1]] }), contraction);
    expect(report).toContain('         Naive scaling:  4\n');
    expect(report).toContain('     Optimized scaling:  3\n');
  });
});
