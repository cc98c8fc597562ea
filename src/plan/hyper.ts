/**
 * `hyper`: a seeded search over methods and their parameters within a time budget, in the spirit of cotengra's
 * HyperOptimizer. It starts from auto's path and greedy's, so it never returns a costlier plan than either;
 * then each trial samples a method — random-greedy with a sampled cost weight (α, cotengra's `costmod`) and
 * Boltzmann temperature (log-uniform), or subtree reconfiguration of the best tree so far with a sampled region
 * size — and keeps the cheapest path under the objective. Every trial is recorded (method, parameters, cost,
 * time) for the plan's report.
 *
 * Reproducible: with the same seed and a budget that admits every trial (`trials`, default 32), the same path.
 */

import { now } from './budget.js';
import { greedyBest, greedyRun } from './greedy.js';
import { makeRng } from './heap.js';
import { flopsKey, log10Of, toNumber } from './flops.js';
import { type Network, type SsaPath, type Tree, leaf, node, objectiveFlops, scoreSsa, ssaTree, treeToSsa } from './network.js';
import { reconfigure } from './reconfigure.js';
import type { HyperTrial, OptimizerOptions } from './types.js';

/** Default budget of hyper in milliseconds when the caller sets none. */
export const HYPER_DEFAULT_BUDGET_MS = 250;
/** Share of the budget auto's starting path may take. */
const AUTO_SHARE = 0.4;
/** Sampling ranges: α (costmod) uniform, temperature log-uniform, region size of reconfiguration uniform. */
const ALPHA_RANGE = [0, 2] as const;
const TEMPERATURE_RANGE = [0.01, 1] as const;
const REGION_RANGE = [5, 9] as const;
/** Chance a trial reconfigures the best tree instead of drawing a fresh random-greedy path. */
const RECONFIGURE_SHARE = 0.3;

export interface HyperResult {
  readonly ssa: SsaPath;
  readonly trials: readonly HyperTrial[];
}

/**
 * Runs hyper. `auto` computes auto's path under the deadline it is given (passed in to avoid an import cycle
 * with optimizers.ts).
 */
export function hyperSearch(net: Network, o: OptimizerOptions, auto: (o: OptimizerOptions) => SsaPath): HyperResult {
  const start = now();
  const trials: HyperTrial[] = [];
  let best: SsaPath | undefined;
  let bestValue = Infinity;
  const record = (method: string, params: Readonly<Record<string, number>>, ssa: SsaPath, t0: number): void => {
    const value = objectiveFlops(scoreSsa(net, ssa), o.minimize);
    trials.push({ method, params, cost: toNumber(value), log10Cost: log10Of(value), ms: now() - t0 });
    // Compared by key: past 10^308 every cost is Infinity as a double.
    const key = flopsKey(value);
    if (best === undefined || key < bestValue) {
      best = ssa;
      bestValue = key;
    }
  };
  let t0 = now();
  record('auto', {}, auto({ ...o, deadline: start + (o.deadline - start) * AUTO_SHARE }), t0);
  t0 = now();
  record('greedy', {}, greedyBest(net, o.memoryLimit, o.minimize), t0);
  const rng = makeRng(o.seed);
  const uniform = (lo: number, hi: number): number => lo + rng() * (hi - lo);
  // The fixed trials count keeps the result independent of the machine's speed unless the budget cuts it short.
  for (let t = 0; t < o.trials && now() < o.deadline; t++) {
    t0 = now();
    const pairwise = best!.every((step) => step.length <= 2);
    if (pairwise && rng() < RECONFIGURE_SHARE) {
      const maxLeaves = Math.floor(uniform(REGION_RANGE[0], REGION_RANGE[1] + 1));
      const tree = reconfigure(net, ssaTree(best!, net.n), { maxLeaves, maxPasses: 2, memoryLimit: o.memoryLimit, deadline: o.deadline });
      record('reconfigure', { maxLeaves }, treeToSsa(tree, net.n), t0);
    } else {
      const alpha = uniform(ALPHA_RANGE[0], ALPHA_RANGE[1]);
      const temperature = Math.exp(uniform(Math.log(TEMPERATURE_RANGE[0]), Math.log(TEMPERATURE_RANGE[1])));
      const nbranch = rng() < 0.5 ? 4 : 8;
      const { ssa } = greedyRun(net, { alpha, temperature, nbranch, rng, memoryLimit: o.memoryLimit });
      record('random-greedy', { alpha, temperature, nbranch }, ssa, t0);
    }
  }
  return { ssa: best!, trials };
}

