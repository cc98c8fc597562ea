/** Property tests over random small einsums: costs add up, plans compute the einsum, optimal is optimal. */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planContraction } from '../../src/plan/index.js';
import { type Dense, denseEinsum, randomDense } from './dense.js';
import { type Net, netArb } from './networks.js';

type Expr = Net;
const exprArb = netArb({ maxSize: 3, maxAxes: 6, minOps: 1, maxOps: 6, perOp: { base: 0, spread: 4 }, distinct: false, draws: 40 });

const ALGORITHMS = ['optimal', 'branch-all', 'branch-2', 'branch-1', 'greedy', 'dp', 'random-greedy', 'auto', 'auto-hq'];

function execute(e: Expr, path: readonly (readonly number[])[], steps: ReturnType<typeof planContraction>['steps'], tensors: Dense[]): Dense {
  const current = [...tensors];
  steps.forEach((step, s) => {
    const operands = path[s]!.map((p) => current[p]!);
    for (const p of [...path[s]!].sort((a, b) => b - a)) current.splice(p, 1);
    current.push(denseEinsum(operands, step.result, e.sizes));
  });
  return current[0]!;
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
}

describe('plans of random small einsums', () => {
  it('report a cost equal to the sum of their steps, and compute the einsum', () => {
    fc.assert(
      fc.property(exprArb, fc.constantFrom(...ALGORITHMS), (e, alg) => {
        const plan = planContraction(e, { optimize: alg, seed: 3 });
        expect(plan.cost).toBe(plan.steps.reduce((s, step) => s + step.flops, 0));
        expect(plan.path.length).toBe(plan.steps.length);
        const rand = lcg(e.inputs.length * 7 + e.sizes.length);
        const tensors = e.inputs.map((ids) => randomDense(ids, e.sizes, rand));
        const direct = denseEinsum(tensors, e.output, e.sizes);
        const planned = execute(e, plan.path, plan.steps, tensors);
        expect(planned.ids).toEqual(e.output);
        direct.data.forEach((v, k) => expect(Math.abs(planned.data[k]! - v)).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(v))));
      }),
      { numRuns: 300 },
    );
  });

  it('optimal costs no more than any other algorithm', () => {
    fc.assert(
      fc.property(exprArb, (e) => {
        const best = planContraction(e, { optimize: 'optimal' }).cost;
        for (const alg of ALGORITHMS) {
          const cost = planContraction(e, { optimize: alg }).cost;
          expect(best).toBeLessThanOrEqual(cost);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('honour a memory limit: no pairwise step creates a larger intermediate', () => {
    fc.assert(
      fc.property(exprArb, fc.constantFrom(...ALGORITHMS), (e, alg) => {
        const sizeOf = (t: readonly number[]): number => t.reduce((p, i) => p * e.sizes[i]!, 1);
        const limit = Math.max(...e.inputs.map(sizeOf), sizeOf(e.output));
        const plan = planContraction(e, { optimize: alg, memoryLimit: 'max_input' });
        for (const step of plan.steps) {
          if (step.operands.length <= 2 && plan.steps.length > 1) expect(step.resultSize).toBeLessThanOrEqual(limit);
        }
        const rand = lcg(11);
        const tensors = e.inputs.map((ids) => randomDense(ids, e.sizes, rand));
        const direct = denseEinsum(tensors, e.output, e.sizes);
        const planned = execute(e, plan.path, plan.steps, tensors);
        direct.data.forEach((v, k) => expect(Math.abs(planned.data[k]! - v)).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(v))));
      }),
      { numRuns: 200 },
    );
  });
});
