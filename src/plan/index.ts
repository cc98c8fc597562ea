/**
 * The contraction planner: from a checked einsum (operands and output as axis ids, a size per axis id) to the
 * cheapest sequence of pairwise contractions, as named step records. Plans are cached by their arguments.
 */

import { LruCache } from '../util/lru.js';
import { EinjitError } from '../errors.js';
import { BudgetExceeded, now } from './budget.js';
import { replayPath, validatePath } from './cost.js';
import { explicitPath } from './interop.js';
import { chunkSlices, reoptimiseSliced, type SlicedPlan, sliceForLimit } from './slicing.js';
import { buildNetwork, ssaToLinear } from './network.js';
import { AUTO_DEFAULT_BUDGET_MS, AUTO_HQ_DEFAULT_BUDGET_MS, getOptimizer } from './optimizers.js';
import { HYPER_DEFAULT_BUDGET_MS } from './hyper.js';
import type { ContractionPlan, HyperTrial, LinearPath, OptimizerOptions, PlanOptions } from './types.js';

export type { ContractionPlan, PlanOptions } from './types.js';

/**
 * A contraction over numeric axis ids: what an einsum is once parsed, checked and its ellipses expanded. The one
 * record the API hands the planner, the report and the executor (the runtime's ContractionProgram is this type).
 */
export interface Contraction {
  /** One axis id per dimension of each operand (a repeated id is a diagonal). */
  readonly inputs: readonly (readonly number[])[];
  /** Distinct axis ids of the result, in order. */
  readonly output: readonly number[];
  /** Size of each axis id (size-1 broadcasts already resolved). */
  readonly sizes: readonly number[];
  /** Axis names, for the report and kernel labels; an unnamed id prints as its number. */
  readonly labels?: readonly string[];
}
export { replayCostExact, replayPath, validatePath } from './cost.js';
export { optimizerNames } from './optimizers.js';
export { formatReport } from './report.js';
export { chunkSlices, reoptimiseSliced, sliceForLimit, type SlicedPlan } from './slicing.js';
export { linearToSsaPath, pathToTree, treeToPath, type PathSpec, type PathTree } from './interop.js';

const OP = 'einsumPath';

/** Default search budgets (ms) when the caller sets none; past them a search stops with an EinjitError. */
const DEFAULT_BUDGET_MS: Readonly<Record<string, number>> = {
  auto: AUTO_DEFAULT_BUDGET_MS,
  'auto-hq': AUTO_HQ_DEFAULT_BUDGET_MS,
  optimal: 10_000,
  hyper: HYPER_DEFAULT_BUDGET_MS,
};
const FALLBACK_BUDGET_MS = 60_000;

/** Plans kept, least recently used evicted first. */
const CACHE_CAPACITY = 256;
const cache = new LruCache<string, ContractionPlan>(CACHE_CAPACITY);

/** Empties the plan cache. */
export function clearPlanCache(): void {
  cache.clear();
}

/** Index sizes the planner takes are below this (see computePlan). */
const MAX_INDEX_SIZE = 2 ** 512;

function resolveMemoryLimit(limit: PlanOptions['memoryLimit'], { inputs, output, sizes }: Contraction): number {
  if (limit === undefined) return Infinity;
  if (limit === 'max_input') {
    // opt_einsum's rule: the largest of the operands and the output, as stored (a repeated axis counts twice).
    const sizeOfTerm = (t: readonly number[]): number => t.reduce((p, i) => p * (sizes[i] ?? 1), 1);
    return Math.max(...inputs.map(sizeOfTerm), sizeOfTerm(output));
  }
  if (typeof limit !== 'number' || !(limit >= 0)) {
    throw new EinjitError(`memoryLimit must be 'max_input' or a number of elements, got ${String(limit)}`, {
      op: OP, hint: "pass a count of elements (e.g. 1e6), 'max_input' for opt_einsum's rule, or leave it unset for no limit",
    });
  }
  return limit;
}

/**
 * Plans `contraction`: its `inputs` into its `output`, `sizes[id]` the extent of axis `id` (labels play no part).
 * The path comes from `options.optimize` (an algorithm name, default 'auto', or an explicit linear path).
 */
export function planContraction(contraction: Contraction, options: PlanOptions = {}): ContractionPlan {
  const { inputs, output, sizes } = contraction;
  // (The budget as a string: JSON writes Infinity, the budget of a search that never stops on the clock, as null.)
  const key = JSON.stringify([inputs, output, sizes, options.optimize ?? 'auto', options.memoryLimit ?? null,
    options.timeBudgetMs === undefined ? null : String(options.timeBudgetMs), options.seed ?? 0, options.minimize ?? 'flops',
    options.trials ?? 32]);
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const plan = computePlan(contraction, options);
  cache.set(key, plan);
  return plan;
}

function computePlan(contraction: Contraction, options: PlanOptions): ContractionPlan {
  const { inputs, output, sizes } = contraction;
  const n = inputs.length;
  if (n === 0) throw new EinjitError('an einsum needs at least one operand', { op: OP });
  // Counts are carried as a mantissa below 2^512 times a power of two (flops.ts), each product taken one index
  // size at a time: a size of 2^512 or more could carry a mantissa past a double. (Tensors are far smaller: the
  // public API caps a dimension at 2^32 - 1; only planner-level callers reach this.)
  const huge = sizes.findIndex((s) => s !== undefined && !(s >= 0 && s < MAX_INDEX_SIZE));
  if (huge >= 0) {
    throw new EinjitError(`index ${huge} has size ${sizes[huge]}: the planner takes sizes from 0 up to below 2^512`, {
      op: OP, hint: 'split a larger index into several smaller ones',
    });
  }
  const optimize = options.optimize ?? 'auto';
  const memoryLimit = resolveMemoryLimit(options.memoryLimit, contraction);
  let path: LinearPath;
  let name: string;
  let trials: readonly HyperTrial[] | undefined;
  if (typeof optimize !== 'string') {
    path = explicitPath(optimize, n)!;
    name = 'explicit';
  } else {
    const fn = getOptimizer(optimize);
    name = optimize;
    if (n <= 2) {
      // Nothing to choose: one step over every operand (opt_einsum never runs an optimizer here).
      path = [Array.from({ length: n }, (_, i) => i)];
      if (optimize === 'auto' || optimize === 'auto-hq') name = `${optimize}:single-step`;
    } else {
      const isAuto = optimize === 'auto' || optimize === 'auto-hq';
      // auto spends at most its default effort; a caller's budget can only shorten it. An infinite budget is
      // the exception: no search then stops on the clock, only on its counts of restarts, trials and passes, so
      // that the same seed gives the same path on any machine under any load.
      const budget = isAuto && options.timeBudgetMs !== Infinity
        ? Math.min(options.timeBudgetMs ?? Infinity, DEFAULT_BUDGET_MS[optimize]!)
        : (options.timeBudgetMs ?? DEFAULT_BUDGET_MS[optimize] ?? FALLBACK_BUDGET_MS);
      const o: OptimizerOptions = {
        memoryLimit,
        deadline: now() + budget,
        seed: options.seed ?? 0,
        minimize: options.minimize ?? 'flops',
        trials: options.trials ?? 32,
        callerBudgetMs: options.timeBudgetMs ?? Infinity,
      };
      try {
        const found = fn(buildNetwork(inputs, output, sizes), o);
        path = ssaToLinear(found.ssa, n);
        if (found.chosen !== undefined) name = `${optimize}:${found.chosen}`;
        trials = found.trials;
      } catch (e) {
        if (e instanceof BudgetExceeded) {
          throw new EinjitError(`the '${optimize}' path search did not finish within its time budget of ${budget} ms`, {
            op: OP,
            hint: "raise timeBudgetMs, or use optimize: 'auto', which returns its best path so far",
          });
        }
        throw e;
      }
      validatePath(path, n);
    }
  }
  const replay = replayPath(inputs, output, sizes, path);
  return freezePlan(trials === undefined ? { ...replay, optimizer: name } : { ...replay, optimizer: name, trials });
}

/**
 * Flops above which a step of three or more operands is refused when a memory limit forced it: such a step runs
 * as one loop nest over the union of its operands' indices, synchronously, and past about 10^9 iterations that
 * is seconds to hours of a blocked event loop.
 */
const K_WAY_MAX_FLOPS = 2 ** 30;

/** Most slices a sliced execution may take (each is a few kernel launches; more would block as long). */
const MAX_SLICES = 4096;

/**
 * What one kernel launch costs beside its arithmetic, in flops: a run of a sliced plan launches a kernel per step
 * of its path, a few microseconds each on the CPU when replayed, about what 2^14 flops take there. Used only to
 * choose between slicing and a plan that fits the limit as it is.
 */
const LAUNCH_FLOPS = 2 ** 14;

/**
 * How a plan made under a memory limit runs. Undefined: as it is. When the limit left a step of three or more
 * operands too large to run as one loop nest, the plan found without the limit is sliced until its
 * intermediates fit (see slicing.ts) and that is returned; if no slicing fits, an EinjitError
 * names the smallest limit with which dp (minimising the largest intermediate) finds a pairwise plan. When the
 * limited plan can run but the unlimited one does not fit, the sliced plan is returned where it costs less, its
 * launches counted (a limit often forces a far costlier order than slicing the best one does). Called by what
 * executes plans (einsum, compile); einsumPath reports the sliced plan beside numpy's. Decided once per plan
 * object (plans are cached, so every call with the same pattern, shapes and options shares the decision).
 */
export function slicedExecution(plan: ContractionPlan, contraction: Contraction, options: PlanOptions): SlicedPlan | undefined {
  if (options.memoryLimit === undefined) return undefined;
  const known = slicedChoices.get(plan);
  if (known !== undefined) return known ?? undefined;
  const sliced = chooseSlicing(plan, contraction, options, resolveMemoryLimit(options.memoryLimit, contraction));
  slicedChoices.set(plan, sliced ?? null);
  return sliced;
}

/** Per plan object (one contraction and one limit: the plan cache's key holds both), what slicedExecution chose. */
const slicedChoices = new WeakMap<ContractionPlan, SlicedPlan | null>();

function chooseSlicing(plan: ContractionPlan, contraction: Contraction, options: PlanOptions, limitElements: number): SlicedPlan | undefined {
  const step = plan.steps.find((s) => s.operands.length >= 3 && s.flops > K_WAY_MAX_FLOPS);
  const { memoryLimit: _dropped, ...unlimited } = options;
  const base = planContraction(contraction, unlimited);
  if (step === undefined && Math.max(1, ...base.steps.slice(0, -1).map((s) => s.resultSize)) <= limitElements) return undefined;
  // Slicing must be cheaper than the loop nest it replaces, and not a loop of countless small launches.
  const fits = (s: SlicedPlan | undefined): s is SlicedPlan => s !== undefined && s.slices <= MAX_SLICES && s.cost <= K_WAY_MAX_FLOPS;
  // Summed indices first (each slice a whole contraction, added into one result); output indices only when those
  // cannot do it (each slice then fills a block of the output).
  // The path of one slice is then searched again over the sliced sizes (slicing.ts: reoptimiseSliced).
  const replan = (sizes: readonly number[]): ContractionPlan => planContraction({ ...contraction, sizes }, unlimited);
  // Then consecutive values of one sliced index run together where their intermediates fit (chunkSlices).
  const chunked = (sp: SlicedPlan): SlicedPlan =>
    chunkSlices(reoptimiseSliced(sp, contraction.sizes, base, limitElements, replan, fits), contraction.inputs, contraction.output, contraction.sizes, base, limitElements);
  const summed = sliceForLimit(contraction.inputs, contraction.output, contraction.sizes, base, limitElements);
  const any = fits(summed) ? undefined : sliceForLimit(contraction.inputs, contraction.output, contraction.sizes, base, limitElements, 'any');
  const found = fits(summed) ? chunked(summed) : fits(any) ? chunked(any) : undefined;
  if (step === undefined) {
    // The limited plan runs as it is: slicing only where it costs less, launches counted.
    if (found === undefined) return undefined;
    const launches = (found.chunk?.runs ?? found.slices) * found.plan.steps.length;
    return found.cost + launches * LAUNCH_FLOPS < plan.cost + plan.steps.length * LAUNCH_FLOPS ? found : undefined;
  }
  if (found !== undefined) return found;
  const smallest = smallestPairwiseLimit(contraction);
  const limit = options.memoryLimit === 'max_input' ? `'max_input' (${limitElements} elements)` : `${options.memoryLimit} elements`;
  throw new EinjitError(
    `memoryLimit ${limit} leaves a ${step.operands.length}-operand step of ${step.flops.toExponential(2)} flops, one loop nest too large to run, ` +
      `and slicing cannot bring the intermediates under it within ${MAX_SLICES} slices and 2^30 flops; the smallest limit with a pairwise plan is ${smallest} elements`,
    { hint: `raise memoryLimit to at least ${smallest}, or leave it unset` },
  );
}

/** The largest pairwise intermediate (the output aside) of dp's plan minimising the largest intermediate. */
function smallestPairwiseLimit(contraction: Contraction): number {
  let plan: ContractionPlan;
  try {
    plan = planContraction(contraction, { optimize: 'dp', minimize: 'size', timeBudgetMs: 2000 });
  } catch (e) {
    if (!(e instanceof EinjitError)) throw e;
    plan = planContraction(contraction, { optimize: 'greedy', minimize: 'size' });
  }
  return Math.max(1, ...plan.steps.slice(0, -1).map((s) => s.resultSize));
}

/**
 * Freezes a plan and everything in it (plans are cached and shared). Walked by its known shape rather than
 * generically: a 1,000-tensor plan holds a million axis ids in a few thousand arrays, and only the arrays need
 * freezing. An intermediate's axis list is both a step's result and a later step's input: frozen once.
 */
function freezePlan(plan: ContractionPlan): ContractionPlan {
  for (const step of plan.steps) {
    Object.freeze(step.operands);
    for (const t of step.inputs) if (!Object.isFrozen(t)) Object.freeze(t);
    Object.freeze(step.inputs);
    if (!Object.isFrozen(step.result)) Object.freeze(step.result);
    Object.freeze(step.removed);
    Object.freeze(step);
  }
  Object.freeze(plan.steps);
  for (const p of plan.path) Object.freeze(p);
  Object.freeze(plan.path);
  if (plan.trials !== undefined) {
    for (const t of plan.trials) {
      Object.freeze(t.params);
      Object.freeze(t);
    }
    Object.freeze(plan.trials);
  }
  return Object.freeze(plan);
}
