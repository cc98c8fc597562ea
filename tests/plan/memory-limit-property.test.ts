/**
 * memoryLimit is honoured by every optimizer that accepts it, on random networks of 3 to 40 operands (so that
 * auto's anneal, dp, random-greedy and branch run, not only the exact search): every step but the last is
 * pairwise with a result within the limit (or sums one operand's own indices, which writes less than that
 * operand holds), the last step produces the output, and the plan replays to its reported cost. A limit that is
 * not a count of elements is refused with an EinjitError by every optimizer.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EinjitError } from '../../src/errors.js';
import { type ContractionPlan, planContraction, replayPath } from '../../src/plan/index.js';
import { type Net, netArb } from './networks.js';

/** Every optimizer that takes a memory limit, with the largest operand count it runs on here (time). */
const OPTIMIZERS: readonly (readonly [string, number])[] = [
  ['optimal', 12],
  ['branch-all', 7],
  ['branch-2', 12],
  ['branch-1', 40],
  ['greedy', 40],
  ['random-greedy', 40],
  // dp under a limit took 14 s to over 60 s on some random networks of 15-20 operands; greedy's cost under the
  // same limit now caps its search (and its final k-way step), and the worst seeded sample takes about 1.6 s.
  ['dp', 20],
  ['auto', 40],
  ['auto-hq', 10],
  ['hyper', 20],
];

const small = netArb({ maxSize: 4, minAxes: 2, maxAxes: 12, minOps: 3, maxOps: 10, perOp: { base: 1, spread: 3 }, distinct: true, draws: 80 });
const large = netArb({ maxSize: 4, minAxes: 8, maxAxes: 60, minOps: 11, maxOps: 40, perOp: { base: 1, spread: 4 }, distinct: true, draws: 200 });

const elements = (n: Net, ids: readonly number[]): number => ids.reduce((p, i) => p * n.sizes[i]!, 1);

/** The limit is honoured: returns a reason when it is not (computed from the steps, independently of the planner). */
function violation(n: Net, plan: ContractionPlan, limit: number): string | undefined {
  // Replay the path on plain index lists: which indices each operand holds, and what each step must produce.
  const terms = n.inputs.map((t) => [...new Set(t)]);
  for (let s = 0; s < plan.path.length; s++) {
    const positions = plan.path[s]!;
    const operands = positions.map((p) => terms[p]!);
    for (const p of [...positions].sort((a, b) => b - a)) terms.splice(p, 1);
    const last = s === plan.path.length - 1;
    const union = [...new Set(operands.flat())];
    const waiting = new Set([...n.output, ...terms.flat()]);
    const result = last ? [...new Set(n.output)] : union.filter((i) => waiting.has(i));
    terms.push(result);
    if (last) {
      if (terms.length !== 1) return `the path leaves ${terms.length} operands`;
      break;
    }
    if (positions.length === 1) {
      if (elements(n, result) > elements(n, operands[0]!)) return `step ${s} reduces one operand into a larger result`;
      continue;
    }
    if (positions.length !== 2) return `step ${s} before the last contracts ${positions.length} operands`;
    if (elements(n, result) > limit) return `step ${s} writes ${elements(n, result)} elements, over the limit ${limit}`;
  }
  return undefined;
}

function check(n: Net, where: number): void {
  // Limits from 0 (nothing pairwise fits) to 4× the largest operand or output.
  const terms = [...n.inputs, n.output].map((t) => elements(n, t));
  const limit = Math.round(where * where * Math.max(...terms) * 4);
  for (const [optimize, upTo] of OPTIMIZERS) {
    if (n.inputs.length > upTo) continue;
    const plan = planContraction(n, { optimize, memoryLimit: limit, seed: 3 });
    expect(violation(n, plan, limit), `${optimize}, limit ${limit}`).toBeUndefined();
    expect(replayPath(n.inputs, n.output, n.sizes, plan.path).cost, optimize).toBe(plan.cost);
    // The plan's own record agrees: no pairwise intermediate over the limit.
    for (const step of plan.steps.slice(0, -1)) {
      if (step.operands.length === 2) expect(step.resultSize, optimize).toBeLessThanOrEqual(limit);
    }
  }
}

describe('memoryLimit is honoured by every optimizer', () => {
  it('on random networks of 3-10 operands', () => {
    fc.assert(fc.property(small, fc.double({ min: 0, max: 1, noNaN: true }), check), { numRuns: 150 });
  });

  it('on random networks of 11-40 operands (anneal, dp, random-greedy, branch-1)', () => {
    fc.assert(fc.property(large, fc.double({ min: 0, max: 1, noNaN: true }), check), { numRuns: 40 });
  });

  it("under 'max_input' (opt_einsum's rule) on random networks", () => {
    fc.assert(
      fc.property(large, (n) => {
        const limit = Math.max(...[...n.inputs, n.output].map((t) => t.reduce((p, i) => p * n.sizes[i]!, 1)));
        for (const optimize of ['greedy', 'random-greedy', 'branch-1', 'auto']) {
          const plan = planContraction(n, { optimize, memoryLimit: 'max_input' });
          expect(violation(n, plan, limit), optimize).toBeUndefined();
        }
      }),
      { numRuns: 20 },
    );
  });

  it('a limit that is not a count of elements is an EinjitError for every optimizer', () => {
    const inputs = [[0, 1], [1, 2], [2, 3]];
    for (const [optimize] of OPTIMIZERS) {
      for (const memoryLimit of [-1, Number.NaN, 'all' as unknown as number]) {
        expect(() => planContraction({ inputs, output: [0, 3], sizes: [2, 3, 4, 5] }, { optimize, memoryLimit }), `${optimize} ${String(memoryLimit)}`).toThrow(EinjitError);
      }
    }
  });

  it('a limit below every pairwise intermediate leaves one step over every operand', () => {
    // 'ab,bc,cd->ad' with every index of size 3: each pairwise result holds 9 or more elements.
    for (const [optimize] of OPTIMIZERS) {
      const plan = planContraction({ inputs: [[0, 1], [1, 2], [2, 3]], output: [0, 3], sizes: [3, 3, 3, 3] }, { optimize, memoryLimit: 8 });
      expect(plan.path, optimize).toEqual([[0, 1, 2]]);
      // 3^4 index combinations × (3 − 1 operands + 1 for the summed indices) = 243 flops.
      expect(plan.cost, optimize).toBe(243);
    }
  });
});
