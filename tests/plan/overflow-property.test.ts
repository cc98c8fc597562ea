/**
 * Networks whose costs pass a double (about 10^308; index sizes up to 2^500, below the planner's 2^512 cap):
 * every optimizer still returns a pairwise plan where one fits, and the exact searches (optimal, and auto, which
 * runs it on small networks) are never costlier than greedy, whose scores do not overflow. Before this, dp,
 * optimal and branch-* compared such costs as doubles, found every one equal to Infinity, and fell back to one
 * step over every operand.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clearPlanCache, planContraction } from '../../src/plan/index.js';
import { netArb } from './networks.js';

const ALGORITHMS = ['optimal', 'branch-all', 'branch-2', 'branch-1', 'greedy', 'dp', 'random-greedy', 'auto', 'auto-hq', 'hyper'];
const EXACT = ['optimal', 'auto', 'auto-hq'];

// Connected enough to need several steps; each index 2^150 to 2^500, so most steps' costs are past a double.
const hugeArb = fc
  .tuple(
    netArb({ maxSize: 4, maxAxes: 7, minAxes: 3, minOps: 3, maxOps: 7, perOp: { base: 1, spread: 3 }, distinct: true, draws: 40 }),
    fc.array(fc.integer({ min: 150, max: 500 }), { minLength: 7, maxLength: 7 }),
    fc.constantFrom(undefined, 1e300, 1e200),
  )
  .map(([net, exponents, memoryLimit]) => ({ net: { ...net, sizes: net.sizes.map((_, i) => 2 ** exponents[i]!) }, memoryLimit }));

describe('plans of networks whose costs pass a double', () => {
  it('are pairwise where greedy finds a pairwise plan, and no costlier than greedy for the exact searches', () => {
    fc.assert(
      fc.property(hugeArb, fc.constantFrom(...ALGORITHMS), ({ net, memoryLimit }, optimize) => {
        clearPlanCache();
        const greedy = planContraction(net, { optimize: 'greedy', memoryLimit });
        const plan = planContraction(net, { optimize, memoryLimit, timeBudgetMs: optimize === 'hyper' ? 20 : undefined, seed: 1 });
        const pairwise = (p: typeof plan): boolean => p.path.every((step) => step.length <= 2);
        if (pairwise(greedy) && memoryLimit === undefined) expect(pairwise(plan), JSON.stringify(plan.path)).toBe(true);
        if (EXACT.includes(optimize)) expect(plan.log10Cost).toBeLessThanOrEqual(greedy.log10Cost + 1e-9);
      }),
      { numRuns: 150, seed: 20261207 },
    );
  });
});
