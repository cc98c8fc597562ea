/**
 * The path algorithms behind one signature: (network, options) → SSA path, with what `auto` chose and `hyper`'s
 * trials where there are such.
 *
 * Each wraps a search from its own module; `auto` and `auto-hq` are tables choosing by operand count.
 */

import { EinjitError } from '../errors.js';
import { BudgetExceeded, now } from './budget.js';
import { branchSsa } from './branch.js';
import { dpTree } from './dp.js';
import { solveExact } from './exact.js';
import { greedyBest, greedySsa, randomGreedy } from './greedy.js';
import { makeRng } from './heap.js';
import { HYPER_DEFAULT_BUDGET_MS, hyperSearch } from './hyper.js';
import { type Network, type SsaPath, type Tree, leaf, node, objectiveValue, scoreSsa, ssaTree, treeToSsa } from './network.js';
import { reconfigure } from './reconfigure.js';
import { rotateAnneal } from './rotate.js';
import type { HyperTrial, OptimizerOptions } from './types.js';

/** All operands in one step: what every algorithm returns when the memory limit admits no pairwise plan. */
function allAtOnce(n: number): SsaPath {
  return [Array.from({ length: n }, (_, i) => i)];
}

/** The largest operand count `optimal` accepts (operand groups are 32-bit masks). */
const OPTIMAL_MAX_OPERANDS = 30;

function optimalSsa(net: Network, o: OptimizerOptions, algorithm = 'optimal'): SsaPath {
  if (net.n > OPTIMAL_MAX_OPERANDS) {
    throw new EinjitError(`optimal searches at most ${OPTIMAL_MAX_OPERANDS} operands, this expression has ${net.n}`, {
      op: 'einsumPath',
      hint: "use optimize: 'dp', 'random-greedy' or 'auto' for large networks",
    });
  }
  const solved = solveExact({
    leaves: net.inputs,
    keep: net.output,
    size: net.size,
    memoryLimit: o.memoryLimit,
    deadline: o.deadline,
    algorithm,
    finalStep: true,
  });
  return unlessOverflowed(net, solved === undefined ? allAtOnce(net.n) : treeToSsa(solved.tree, net.n), o);
}

/**
 * The branch-and-bound searches (optimal, branch-*) compare costs as doubles, so when every pairwise plan's cost
 * is past a double (about 10^308) they find none cheaper than their start and return one step over every operand.
 * greedy's path under the same limit, scored without overflow, is then returned where it is cheaper. (With finite
 * costs they return that one step only when no pairwise plan fits the limit, and greedy's is then no cheaper.)
 */
function unlessOverflowed(net: Network, ssa: SsaPath, o: OptimizerOptions): SsaPath {
  if (ssa.length !== 1 || net.n < 3) return ssa;
  const greedy = greedyBest(net, o.memoryLimit, o.minimize);
  return objectiveValue(scoreSsa(net, greedy), o.minimize) < objectiveValue(scoreSsa(net, ssa), o.minimize) ? greedy : ssa;
}

function dpSsa(net: Network, o: OptimizerOptions, algorithm = 'dp'): SsaPath {
  const tree = dpTree(net, { objective: o.minimize, memoryLimit: o.memoryLimit, deadline: o.deadline, algorithm });
  const ssa = tree === undefined ? allAtOnce(net.n) : treeToSsa(tree, net.n);
  if (o.memoryLimit === Infinity) return ssa;
  // dp never joins groups that share no summation index before its last step, and under a limit that can
  // leave it with a poor plan (or only the N-ary step) where an outer product would fit: it also runs greedy
  // under the same limit and returns the better of the two.
  const greedy = greedyBest(net, o.memoryLimit, o.minimize);
  const value = (path: SsaPath): number => objectiveValue(scoreSsa(net, path), o.minimize);
  return value(greedy) < value(ssa) ? greedy : ssa;
}

/** What a path algorithm found: its path, and for `auto` what it chose, for `hyper` its trials. */
export interface PathSearch {
  readonly ssa: SsaPath;
  readonly chosen?: string;
  readonly trials?: readonly HyperTrial[];
}

/** The one signature every path algorithm has. */
export type PathOptimizer = (net: Network, options: OptimizerOptions) => PathSearch;

function fromSsa(search: (net: Network, o: OptimizerOptions) => SsaPath): PathOptimizer {
  return (net, o) => ({ ssa: search(net, o) });
}

/** Picks the algorithm for `auto` (and, with more effort, `auto-hq`) from the operand count. */
interface AutoRow {
  /** Largest operand count this row covers. */
  readonly upTo: number;
  readonly use: 'optimal' | 'dp' | 'anneal';
}

/**
 * `anneal` = greedy and seeded random-greedy restarts, each polished by subtree reconfiguration (exact
 * re-solves of regions of up to 6 subtrees); the cheapest is then reconfigured with regions of 8 until nothing
 * improves or the budget is spent. See docs/planner.md.
 */
const AUTO_TABLE: readonly AutoRow[] = [
  { upTo: 10, use: 'optimal' },
  { upTo: Infinity, use: 'anneal' },
];

const AUTO_HQ_TABLE: readonly AutoRow[] = [
  { upTo: 12, use: 'optimal' },
  { upTo: 20, use: 'dp' },
  { upTo: Infinity, use: 'anneal' },
];

/** Default effort of auto and auto-hq in milliseconds when the caller sets no budget. */
export const AUTO_DEFAULT_BUDGET_MS = 40;
export const AUTO_HQ_DEFAULT_BUDGET_MS = 1000;
/** Randomised restarts of anneal (auto: a quarter for 31-60 operands, 2 above, where one takes several ms). */
const AUTO_RESTARTS = 8;
/** Up to this many operands, anneal keeps restarting while 70% of its budget is not spent. */
const AUTO_EXTRA_RESTARTS_UP_TO = 30;
const AUTO_HQ_RESTARTS = 128;
/** Rotation moves per restart (see rotate.ts) and their starting temperature (natural-log cost units). */
const ROTATION_MOVES = 5000;
const ROTATION_TEMPERATURE = 0.15;

function anneal(net: Network, o: OptimizerOptions, hq: boolean, strict: boolean): SsaPath {
  const start = now();
  const span = Math.max(0, o.deadline - start);
  const score = (ssa: SsaPath): number => objectiveValue(scoreSsa(net, ssa), 'flops');
  const greedy = greedyBest(net, o.memoryLimit);
  let best = greedy;
  let bestValue = score(best);
  // k-way steps (forced by a memory limit) are not reconfigured.
  const polish = (ssa: SsaPath, maxLeaves: number, maxPasses: number, deadline: number): SsaPath => {
    if (ssa.some((step) => step.length > 2)) return ssa;
    return treeToSsa(reconfigure(net, ssaTree(ssa, net.n), { maxLeaves, maxPasses, memoryLimit: o.memoryLimit, deadline }), net.n);
  };
  // Rotations ignore memory limits, so they run only without one.
  const rotate = (ssa: SsaPath, rng: () => number): SsaPath => {
    if (o.memoryLimit !== Infinity || ssa.some((step) => step.length !== 2)) return ssa;
    const rotated = rotateAnneal(net, ssaTree(ssa, net.n), { rng, moves: ROTATION_MOVES, temperature: ROTATION_TEMPERATURE });
    return treeToSsa(rotated.tree, net.n);
  };
  const consider = (ssa: SsaPath): void => {
    const value = score(ssa);
    if (value < bestValue) {
      best = ssa;
      bestValue = value;
    }
  };
  consider(polish(best, 6, 3, strict ? start + span * 0.3 : Infinity));
  // Restarts: the greedy path, then randomised greedy paths, each annealed by rotations and quickly
  // reconfigured. A fixed number first, so that the result does not depend on the machine's speed unless the
  // budget cuts them short; then more while time is left.
  const rng = makeRng(o.seed);
  const restartsUntil = start + span * (hq ? 0.8 : 0.7);
  // Beyond 30 operands only a few restarts fit, and a batch of plain random-greedy trials (no rotations, no
  // reconfiguration; a few milliseconds each) finds far better starts on large random networks: its best is
  // reconfigured too, and the restarts below begin from it.
  let batch: SsaPath | undefined;
  if (net.n > AUTO_EXTRA_RESTARTS_UP_TO) {
    const trials = hq ? 128 : 32;
    batch = randomGreedy(net, { trials, seed: o.seed, memoryLimit: o.memoryLimit, deadline: strict ? restartsUntil : Infinity, objective: 'flops', soft: true }).ssa;
    consider(polish(batch, 6, 3, strict ? restartsUntil : Infinity));
  }
  const restarts = hq ? AUTO_HQ_RESTARTS : net.n <= 30 ? AUTO_RESTARTS : net.n <= 60 ? AUTO_RESTARTS / 4 : 2;
  for (let trial = 0; ; trial++) {
    // Without a deadline (an infinite budget) only the fixed restarts run: the path depends on the seed alone.
    if (span === Infinity && trial >= restarts) break;
    const t = now();
    const inTime = t < restartsUntil;
    // Without a caller's budget the first `restarts` run even past the soft deadline, so that a loaded machine
    // slows auto rather than worsening it.
    if (trial < restarts ? strict && !inTime : !inTime || net.n > AUTO_EXTRA_RESTARTS_UP_TO) break;
    const params = { alpha: rng() * 1.5, temperature: 0.05 + rng() * 0.5, nbranch: 8, rng, memoryLimit: o.memoryLimit };
    const first = trial === 0 ? greedy : trial === 1 && batch !== undefined ? batch : greedySsa(net, params);
    consider(polish(rotate(first, rng), 6, 3, strict || trial >= restarts ? restartsUntil : Infinity));
  }
  // Then the best path, reconfigured with larger regions until nothing improves or time is up (without a
  // caller's budget, the first two passes run even past it, like the fixed restarts).
  if (!strict) consider(polish(best, hq ? 9 : 8, 2, Infinity));
  consider(polish(best, hq ? 9 : 8, 16, o.deadline));
  return best;
}

/** Runs the auto table; returns the path and the name of what it chose. */
export function autoSearch(
  net: Network,
  o: OptimizerOptions,
  hq: boolean,
  strict = true,
): { ssa: SsaPath; chosen: string } {
  const table = hq ? AUTO_HQ_TABLE : AUTO_TABLE;
  const row = table.find((r) => net.n <= r.upTo)!; // the last row reaches Infinity
  if (row.use !== 'anneal') {
    // The exact searches get three quarters of the budget; if they run out, anneal gets the rest.
    // (dp finishes most networks of up to 20 operands in a few milliseconds, but a few take 50 ms and more;
    // with auto's 40 ms that costs more than anneal gains, so only auto-hq uses it.)
    const start = now();
    const half: OptimizerOptions = { ...o, minimize: 'flops', deadline: start + (o.deadline - start) * 0.75 };
    try {
      if (row.use === 'optimal') return { ssa: optimalSsa(net, half), chosen: 'optimal' };
      return { ssa: dpSsa(net, half), chosen: 'dp' };
    } catch (e) {
      if (!(e instanceof BudgetExceeded)) throw e;
    }
  }
  return { ssa: anneal(net, o, hq, strict), chosen: 'anneal' };
}

const OPTIMIZERS = new Map<string, PathOptimizer>([
  ['optimal', fromSsa((net, o) => optimalSsa(net, o))],
  ['branch-all', fromSsa((net, o) => unlessOverflowed(net, branchSsa(net, { nbranch: Infinity, memoryLimit: o.memoryLimit, deadline: o.deadline, algorithm: 'branch-all' }), o))],
  ['branch-2', fromSsa((net, o) => unlessOverflowed(net, branchSsa(net, { nbranch: 2, memoryLimit: o.memoryLimit, deadline: o.deadline, algorithm: 'branch-2' }), o))],
  ['branch-1', fromSsa((net, o) => unlessOverflowed(net, branchSsa(net, { nbranch: 1, memoryLimit: o.memoryLimit, deadline: o.deadline, algorithm: 'branch-1' }), o))],
  ['greedy', fromSsa((net, o) => greedyBest(net, o.memoryLimit, o.minimize))],
  ['dp', fromSsa((net, o) => dpSsa(net, o))],
  [
    'random-greedy',
    fromSsa((net, o) =>
      randomGreedy(net, { trials: o.trials, seed: o.seed, memoryLimit: o.memoryLimit, deadline: o.deadline, objective: o.minimize }).ssa,
    ),
  ],
  // auto and auto-hq keep to a caller's budget as a hard limit, and without one run their fixed restarts even
  // past their default effort (see anneal's `strict`; an infinite budget sets no deadline to keep to). hyper
  // does so below its default budget.
  ['auto', (net, o) => autoSearch(net, o, false, o.callerBudgetMs < Infinity)],
  ['auto-hq', (net, o) => autoSearch(net, o, true, o.callerBudgetMs < Infinity)],
  ['hyper', (net, o) => hyperOf(net, o, o.callerBudgetMs < HYPER_DEFAULT_BUDGET_MS)],
]);

/**
 * hyper, starting from auto's path found with auto's default effort at most (with an infinite budget, auto's
 * path without a deadline), so that hyper spends its budget on its own trials. With `strict` false (no caller's budget, or one of at least hyper's default) auto's fixed
 * restarts run even past the deadline, as auto's own do: a loaded machine then slows the search rather than
 * changing its result, which keeps a seed's path reproducible.
 */
function hyperOf(net: Network, o: OptimizerOptions, strict = true): ReturnType<typeof hyperSearch> {
  return hyperSearch(net, o, (start) => {
    // Without a deadline, auto's start runs without one too (its fixed restarts and passes: see anneal).
    const deadline = start.deadline === Infinity ? Infinity : Math.min(start.deadline, now() + AUTO_DEFAULT_BUDGET_MS);
    return autoSearch(net, { ...start, deadline }, false, strict).ssa;
  });
}

/** Names of the registered algorithms. */
export function optimizerNames(): string[] {
  return [...OPTIMIZERS.keys()];
}

/** The algorithm registered under `name`; an EinjitError listing the valid names otherwise. */
export function getOptimizer(name: string): PathOptimizer {
  const fn = OPTIMIZERS.get(name);
  if (fn === undefined) {
    throw new EinjitError(`unknown path optimizer '${name}'`, {
      op: 'einsumPath',
      hint: `valid names: ${optimizerNames().map((n) => `'${n}'`).join(', ')}, or an explicit path such as [[0, 1], [0, 1]]`,
    });
  }
  return fn;
}

