/**
 * A compiled expression replays the plan it stored: the kernels run() launches are the kernels kernels() and
 * explain() show, for every optimizer and every planner option.
 */

import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { compile, tensor } from '../../src/index.js';
import * as planner from '../../src/plan/index.js';
import { optimizerNames, planContraction } from '../../src/plan/index.js';
import { getBackend } from '../../src/runtime/backend.js';
import { captureKernels } from '../../src/runtime/recording.js';
import type { PlanOptions } from '../../src/plan/index.js';

// Every call into the planner from outside it (the API's einsum, einsumPath, compile) goes through these spies,
// so a test can tell a replayed plan from a re-planned one (a re-plan that hits the plan cache included).
vi.mock('../../src/plan/index.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/plan/index.js')>();
  return { ...real, planContraction: vi.fn(real.planContraction), slicedExecution: vi.fn(real.slicedExecution) };
});

function plannerCalls(): number {
  return vi.mocked(planner.planContraction).mock.calls.length + vi.mocked(planner.slicedExecution).mock.calls.length;
}

function launched(pattern: string, shapes: number[][], options: PlanOptions): { shown: string[]; ran: string[] } {
  const expr = compile(pattern, shapes, { ...options, device: 'cpu' });
  const operands = shapes.map((s) => tensor(new Float32Array(s.reduce((p, n) => p * n, 1)).fill(0.5)).reshape(s));
  const backend = getBackend('cpu', 'test');
  const { specs } = captureKernels('cpu', () => expr.runSync(...operands));
  return { shown: expr.kernels().map((k) => k.source), ran: specs.map((s) => backend.source(s)) };
}

describe('compile(...).run() replays the stored plan', () => {
  it("the issue's example: dp minimising size runs the size-optimal path it shows", () => {
    const shapes = [[2, 2], [2, 8], [2, 64], [2, 2]];
    const options: PlanOptions = { optimize: 'dp', minimize: 'size' };
    // The case only tests replay if the size-optimal path differs from the flops-optimal one.
    const bySize = planContraction({ inputs: [[0, 1], [1, 2], [1, 3], [1, 0]], output: [2, 3], sizes: [2, 2, 8, 64] }, options);
    const byFlops = planContraction({ inputs: [[0, 1], [1, 2], [1, 3], [1, 0]], output: [2, 3], sizes: [2, 2, 8, 64] }, { optimize: 'dp' });
    expect(bySize.path).not.toEqual(byFlops.path);
    const expr = compile('de,ea,ec,ed->ac', shapes, { ...options, device: 'cpu' });
    expect(expr.plan.path).toEqual(bySize.path);
    const { shown, ran } = launched('de,ea,ec,ed->ac', shapes, options);
    expect(ran).toEqual(shown);
  });

  it('for every optimizer and every option, the kernels run() launches equal kernels()', () => {
    const patterns: { pattern: string; shapes: number[][] }[] = [
      { pattern: 'de,ea,ec,ed->ac', shapes: [[2, 2], [2, 8], [2, 64], [2, 2]] },
      { pattern: 'ab,bc,cd,de,ef->af', shapes: [[3, 5], [5, 7], [7, 2], [2, 9], [9, 4]] },
      { pattern: 'efc,dbc,acf,fd->abe', shapes: [[4, 3, 4], [5, 3, 4], [2, 4, 3], [3, 5]] },
    ];
    const optionArb = fc.record(
      {
        optimize: fc.constantFrom(...optimizerNames()),
        minimize: fc.constantFrom('flops' as const, 'size' as const, 'write' as const, 'combo' as const),
        seed: fc.integer({ min: 0, max: 1000 }),
        trials: fc.integer({ min: 1, max: 8 }),
        timeBudgetMs: fc.constantFrom(5_000, 20_000),
        memoryLimit: fc.constantFrom<PlanOptions['memoryLimit']>('max_input', 64, 1e9),
      },
      { requiredKeys: ['optimize'] },
    );
    fc.assert(
      fc.property(fc.constantFrom(...patterns), optionArb, ({ pattern, shapes }, options) => {
        const { shown, ran } = launched(pattern, shapes, options);
        expect(ran.length).toBeGreaterThan(0);
        expect(ran).toEqual(shown);
      }),
      { numRuns: 120 },
    );
  });

  it('run() neither plans nor decides slicing again: compile does both once', () => {
    const cases: { pattern: string; shapes: number[][]; options: PlanOptions; slices?: number }[] = [
      { pattern: 'ab,bc,cd,de->ae', shapes: [[3, 5], [5, 7], [7, 2], [2, 9]], options: { optimize: 'dp' } },
      { pattern: 'ij,jk->ik', shapes: [[4, 6], [6, 3]], options: {} },
      // A limit met by slicing (see tests/plan/memory-limit.test.ts): the sliced plan is stored too.
      { pattern: 'ab,bc,cd->ad', shapes: [[1024, 24], [24, 24], [24, 1024]], options: { memoryLimit: 2000 }, slices: 24 },
    ];
    for (const { pattern, shapes, options, slices } of cases) {
      const before = plannerCalls();
      const expr = compile(pattern, shapes, { ...options, device: 'cpu' });
      expect(plannerCalls()).toBeGreaterThan(before);
      expect(expr.sliced?.slices).toBe(slices);
      const operands = shapes.map((s) => tensor(new Float32Array(s[0]! * s[1]!).fill(0.25)).reshape(s));
      const compiled = plannerCalls();
      for (let i = 0; i < 3; i++) expr.runSync(...operands);
      expr.kernels();
      expr.explain();
      expect(plannerCalls(), pattern).toBe(compiled);
    }
  });
});
