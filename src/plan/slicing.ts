/**
 * Slicing (cotengra's approach): when a plan's intermediates exceed the memory limit, fix some summed indices to
 * one value at a time. Each sliced index multiplies the number of independent sub-contractions by its size and
 * divides every intermediate that carries it by the same; the slices' results are summed. Indices are chosen on
 * the path found without a limit, only the sizes changing, so each candidate index is scored by replaying that
 * path; then (`reoptimiseSliced`) the path of one slice is searched again over the sliced sizes, as cotengra does
 * between rounds, since an index at size 1 can make another order cheaper, and indices the new path no longer
 * needs sliced are given back.
 */

import { replayPath } from './cost.js';
import type { ContractionPlan } from './types.js';

export interface SlicedPlan {
  /** The sliced axis ids, in the order they were chosen. */
  readonly sliced: readonly number[];
  /** Number of sub-contractions: the product of the sliced axes' sizes. */
  readonly slices: number;
  /** The axis sizes of one slice (sliced axes have size 1). */
  readonly sizes: readonly number[];
  /** The plan of one slice: the unlimited plan's path over the sliced sizes. */
  readonly plan: ContractionPlan;
  /** Flops over all slices (slices × the plan's cost). */
  readonly cost: number;
  /** `cost` over the unsliced plan's cost (≥ 1: slicing repeats the work that does not carry a sliced index). */
  readonly overhead: number;
  /** Largest intermediate of one slice, the output aside (elements). */
  readonly peakPerSlice: number;
}

/** The largest step result before the last (the output is exempt from memory limits). */
function peakOf(plan: Pick<ContractionPlan, 'steps'>): number {
  return Math.max(1, ...plan.steps.slice(0, -1).map((s) => s.resultSize));
}

/** Elements above the limit, summed over the intermediates (the output aside). */
function excessOf(plan: Pick<ContractionPlan, 'steps'>, limit: number): number {
  return plan.steps.slice(0, -1).reduce((sum, s) => sum + Math.max(0, s.resultSize - limit), 0);
}

/**
 * Chooses indices to slice until every intermediate of `base` (a plan found without a limit) fits `limit`: each
 * round slices the index whose slicing leaves the smallest peak, then the least excess over the limit (several
 * intermediates may share the peak), then the fewest total flops. `which` says whether output indices may be
 * sliced too ('summed': only summed ones). Undefined when slicing those indices cannot bring the peak under the
 * limit.
 */
export function sliceForLimit(
  inputs: readonly (readonly number[])[],
  output: readonly number[],
  sizes: readonly number[],
  base: ContractionPlan,
  limit: number,
  which: 'summed' | 'any' = 'summed',
): SlicedPlan | undefined {
  const inOutput = new Set(output);
  const candidates = [...new Set(inputs.flat())].filter((id) => (which === 'any' || !inOutput.has(id)) && sizes[id]! > 1);
  const current = [...sizes];
  const sliced: number[] = [];
  let slices = 1;
  let plan = replayPath(inputs, output, current, base.path);
  while (peakOf(plan) > limit) {
    let best: { id: number; peak: number; excess: number; total: number; plan: typeof plan } | undefined;
    for (const id of candidates) {
      if (sliced.includes(id)) continue;
      const trial = [...current];
      trial[id] = 1;
      const r = replayPath(inputs, output, trial, base.path);
      const peak = peakOf(r);
      const excess = excessOf(r, limit);
      const total = r.cost * slices * sizes[id]!;
      const better = best === undefined || peak < best.peak || (peak === best.peak &&
        (excess < best.excess || (excess === best.excess && total < best.total)));
      if (better) best = { id, peak, excess, total, plan: r };
    }
    if (best === undefined || (best.peak >= peakOf(plan) && best.excess >= excessOf(plan, limit))) return undefined;
    sliced.push(best.id);
    slices *= sizes[best.id]!;
    current[best.id] = 1;
    plan = best.plan;
  }
  const cost = plan.cost * slices;
  return Object.freeze({
    sliced: Object.freeze(sliced),
    slices,
    sizes: Object.freeze(current),
    plan: Object.freeze({ ...plan, optimizer: `${base.optimizer}+sliced` }),
    cost,
    overhead: base.cost > 0 ? cost / base.cost : 1,
    peakPerSlice: peakOf(plan),
  });
}

/**
 * `sp` with the path of one slice searched again by `replan` (the optimizer that found the unlimited path, given
 * the sliced sizes), kept where it is cheaper over all slices and its intermediates still fit `limit`; then each
 * sliced index, last chosen first, is given back (its full size restored, the path searched again) while the
 * result still fits and costs no more. `accept` says whether a candidate may run (the executor's caps on slices
 * and flops). Never costlier than `sp`, which is returned as it is when nothing improves on it.
 */
export function reoptimiseSliced(
  sp: SlicedPlan,
  sizes: readonly number[],
  base: ContractionPlan,
  limit: number,
  replan: (sizes: readonly number[]) => ContractionPlan,
  accept: (candidate: SlicedPlan) => boolean = () => true,
): SlicedPlan {
  const candidate = (sliced: readonly number[]): SlicedPlan | undefined => {
    const current = [...sizes];
    let slices = 1;
    for (const id of sliced) {
      slices *= sizes[id]!;
      current[id] = 1;
    }
    const plan = replan(current);
    if (peakOf(plan) > limit) return undefined;
    const cost = plan.cost * slices;
    const c: SlicedPlan = {
      sliced: Object.freeze([...sliced]), slices, sizes: Object.freeze(current),
      plan: Object.freeze({ ...plan, optimizer: `${base.optimizer}+sliced` }),
      cost, overhead: base.cost > 0 ? cost / base.cost : 1, peakPerSlice: peakOf(plan),
    };
    return accept(c) ? Object.freeze(c) : undefined;
  };
  let best = sp;
  const again = candidate(sp.sliced);
  if (again !== undefined && again.cost < best.cost) best = again;
  for (let i = best.sliced.length - 1; i >= 0 && best.sliced.length > 1; i--) {
    const fewer = candidate(best.sliced.filter((_, j) => j !== i));
    if (fewer !== undefined && fewer.cost <= best.cost) best = fewer;
  }
  return best;
}
