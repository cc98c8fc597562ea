/**
 * Slicing (cotengra's approach): when a plan's intermediates exceed the memory limit, fix some summed indices to
 * one value at a time. Each sliced index multiplies the number of independent sub-contractions by its size and
 * divides every intermediate that carries it by the same; the slices' results are summed. Indices are chosen on
 * the path found without a limit, only the sizes changing, so each candidate index is scored by replaying that
 * path; then (`reoptimiseSliced`) the path of one slice is searched again over the sliced sizes, as cotengra does
 * between rounds, since an index at size 1 can make another order cheaper, and indices the new path no longer
 * needs sliced are given back. Last (`chunkSlices`), consecutive values of one sliced index are run together
 * where their intermediates still fit: slicing takes whole indices, and the last one chosen usually divides the
 * peak by more than the limit asks.
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
  /**
   * Set when slices run `size` at a time (chunkSlices): each run contracts `size` consecutive values of sliced
   * axis `axis` (the last run of each sweep the rest) by the path of one slice. Then `cost` is the flops of all
   * `runs` and `peak` the largest intermediate of one run (or the block of the output it returns, when `axis` is
   * an output axis); absent, every slice is a run of its own.
   */
  readonly chunk?: { readonly axis: number; readonly size: number; readonly runs: number; readonly peak: number };
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

/**
 * `sp` with `size` consecutive values of one sliced axis contracted in each run, by the same path, where the
 * intermediates of such a run still fit `limit` (the axis is then an index of size `size` in that run, summed or
 * kept where the path sums or keeps it; over an output axis, the block of the output a run returns must fit too). The work that does not carry the axis is done once per run instead of
 * once per value, so a run of `size` slices costs less than `size` runs of one, and its products are `size` times
 * larger (on the CPU, large enough to be shared by the GEMM's worker pool). The axis and size are chosen for the
 * fewest flops in all, then the fewest runs; `sp` as it is when no run of two slices fits.
 */
export function chunkSlices(
  sp: SlicedPlan,
  inputs: readonly (readonly number[])[],
  output: readonly number[],
  sizes: readonly number[],
  base: ContractionPlan,
  limit: number,
): SlicedPlan {
  let best: { axis: number; size: number; runs: number; peak: number; cost: number } | undefined;
  for (const axis of sp.sliced) {
    const extent = sizes[axis]!;
    const at = (size: number): ReturnType<typeof replayPath> => {
      const trial = [...sp.sizes];
      trial[axis] = size;
      return replayPath(inputs, output, trial, sp.plan.path);
    };
    // A run over an output axis returns a block of the output, a temporary beside it like any intermediate.
    const kept = output.includes(axis);
    const peak = (plan: ReturnType<typeof replayPath>): number => Math.max(peakOf(plan), kept ? plan.steps.at(-1)!.resultSize : 0);
    // The largest run that fits: intermediates only grow with it (each is a product of sizes).
    let lo = 1;
    let hi = extent;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (peak(at(mid)) <= limit) lo = mid;
      else hi = mid - 1;
    }
    if (lo < 2) continue;
    // As many runs with the values spread evenly over them may cost less than full runs and a short last one.
    const perSweep = Math.ceil(extent / lo);
    for (const size of new Set([lo, Math.ceil(extent / perSweep)])) {
      const full = Math.floor(extent / size);
      const rest = extent - full * size;
      const sweeps = sp.slices / extent;
      const plan = at(size);
      const cost = sweeps * (full * plan.cost + (rest > 0 ? at(rest).cost : 0));
      const runs = sweeps * (full + (rest > 0 ? 1 : 0));
      if (best === undefined || cost < best.cost || (cost === best.cost && runs < best.runs)) {
        best = { axis, size, runs, peak: peak(plan), cost };
      }
    }
  }
  if (best === undefined || best.cost > sp.cost) return sp;
  const { cost, ...chunk } = best;
  return Object.freeze({ ...sp, cost, overhead: base.cost > 0 ? cost / base.cost : 1, chunk: Object.freeze(chunk) });
}
