/**
 * The path algorithms behind one signature: (inputs, output, sizes, options) → linear path.
 *
 * Each wraps a search from its own module; `auto` and `auto-hq` are tables choosing by operand count.
 */

import { EinjitError } from '../errors.js';
import { BudgetExceeded, now } from './budget.js';
import { branchSsa } from './branch.js';
import { dpTree } from './dp.js';
import { solveExact } from './exact.js';
import { greedyBest, randomGreedy } from './greedy.js';
import { type Network, type SsaPath, buildNetwork, objectiveValue, scoreSsa, ssaToLinear, treeToSsa } from './network.js';
import { reconfigure } from './reconfigure.js';
import type { LinearPath, OptimizerOptions, PathOptimizer } from './types.js';

/** All operands in one step: what every algorithm returns when the memory limit admits no pairwise plan. */
function allAtOnce(n: number): SsaPath {
  return [Array.from({ length: n }, (_, i) => i)];
}

/** The largest operand count `optimal` accepts (operand groups are 32-bit masks). */
export const OPTIMAL_MAX_OPERANDS = 30;

export function optimalSsa(net: Network, o: OptimizerOptions, algorithm = 'optimal'): SsaPath {
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
  });
  return solved === undefined ? allAtOnce(net.n) : treeToSsa(solved.tree, net.n);
}

export function dpSsa(net: Network, o: OptimizerOptions, algorithm = 'dp'): SsaPath {
  const tree = dpTree(net, { objective: o.minimize, memoryLimit: o.memoryLimit, deadline: o.deadline, algorithm });
  return tree === undefined ? allAtOnce(net.n) : treeToSsa(tree, net.n);
}

function fromSsa(search: (net: Network, o: OptimizerOptions) => SsaPath): PathOptimizer {
  return (inputs, output, sizes, o) => {
    const net = buildNetwork(inputs, output, sizes);
    return ssaToLinear(search(net, o), net.n);
  };
}

/** Picks the algorithm for `auto` (and, with more effort, `auto-hq`) from the operand count. */
interface AutoRow {
  /** Largest operand count this row covers. */
  readonly upTo: number;
  readonly use: 'optimal' | 'dp' | 'anneal';
}

/**
 * `anneal` = the cheapest of greedy and seeded random-greedy restarts, then subtree reconfiguration
 * (exact re-solves of regions of up to 8 subtrees) until nothing improves or the budget is spent.
 */
export const AUTO_TABLE: readonly AutoRow[] = [
  { upTo: 10, use: 'optimal' },
  { upTo: Infinity, use: 'anneal' },
];

export const AUTO_HQ_TABLE: readonly AutoRow[] = [
  { upTo: 12, use: 'optimal' },
  { upTo: 20, use: 'dp' },
  { upTo: Infinity, use: 'anneal' },
];

/** Default effort of auto and auto-hq in milliseconds when the caller sets no budget. */
export const AUTO_DEFAULT_BUDGET_MS = 60;
export const AUTO_HQ_DEFAULT_BUDGET_MS = 1000;

function anneal(net: Network, o: OptimizerOptions, hq: boolean): SsaPath {
  const start = now();
  const span = Math.max(0, o.deadline - start);
  const greedy = greedyBest(net, o.memoryLimit);
  let best = greedy;
  let bestValue = objectiveValue(scoreSsa(net, greedy), 'flops');
  const restarts = randomGreedy(net, {
    trials: hq ? 1024 : 64,
    seed: o.seed,
    memoryLimit: o.memoryLimit,
    deadline: start + span * 0.4,
    objective: 'flops',
    soft: true,
  });
  if (restarts.value < bestValue) {
    best = restarts.ssa;
    bestValue = restarts.value;
  }
  if (best.some((step) => step.length > 2)) return best;
  const tree = reconfigure(net, ssaTree(best, net.n), {
    maxLeaves: hq ? 9 : 8,
    memoryLimit: o.memoryLimit,
    deadline: o.deadline,
  });
  const improved = treeToSsa(tree, net.n);
  return objectiveValue(scoreSsa(net, improved), 'flops') < bestValue ? improved : best;
}

/** The tree of an SSA path. */
function ssaTree(ssa: SsaPath, n: number): import('./network.js').Tree {
  const trees: import('./network.js').Tree[] = Array.from({ length: n }, (_, i) => ({ kind: 'leaf', input: i, reduce: false }) as const);
  for (const step of ssa) {
    if (step.length === 1) {
      const t = trees[step[0]!]!;
      trees.push(t.kind === 'leaf' ? { kind: 'leaf', input: t.input, reduce: true } : t);
    } else trees.push({ kind: 'node', children: step.map((id) => trees[id]!) });
  }
  return trees[trees.length - 1]!;
}

/** Runs the auto table; returns the path and the name of what it chose. */
export function autoSearch(net: Network, o: OptimizerOptions, hq: boolean): { ssa: SsaPath; chosen: string } {
  const table = hq ? AUTO_HQ_TABLE : AUTO_TABLE;
  const row = table.find((r) => net.n <= r.upTo) ?? table[table.length - 1]!;
  try {
    if (row.use === 'optimal') return { ssa: optimalSsa(net, o), chosen: 'optimal' };
    if (row.use === 'dp') return { ssa: dpSsa(net, { ...o, minimize: 'flops' }), chosen: 'dp' };
  } catch (e) {
    if (!(e instanceof BudgetExceeded)) throw e;
    // Out of time: the best cheap answer instead.
    return { ssa: greedyBest(net, o.memoryLimit), chosen: 'greedy' };
  }
  return { ssa: anneal(net, o, hq), chosen: 'anneal' };
}

const OPTIMIZERS = new Map<string, PathOptimizer>([
  ['optimal', fromSsa((net, o) => optimalSsa(net, o))],
  ['branch-all', fromSsa((net, o) => branchSsa(net, { nbranch: Infinity, memoryLimit: o.memoryLimit, deadline: o.deadline, algorithm: 'branch-all' }))],
  ['branch-2', fromSsa((net, o) => branchSsa(net, { nbranch: 2, memoryLimit: o.memoryLimit, deadline: o.deadline, algorithm: 'branch-2' }))],
  ['branch-1', fromSsa((net, o) => branchSsa(net, { nbranch: 1, memoryLimit: o.memoryLimit, deadline: o.deadline, algorithm: 'branch-1' }))],
  ['greedy', fromSsa((net, o) => greedyBest(net, o.memoryLimit, o.minimize))],
  ['dp', fromSsa((net, o) => dpSsa(net, o))],
  [
    'random-greedy',
    fromSsa((net, o) =>
      randomGreedy(net, { trials: o.trials, seed: o.seed, memoryLimit: o.memoryLimit, deadline: o.deadline, objective: o.minimize }).ssa,
    ),
  ],
  ['auto', fromSsa((net, o) => autoSearch(net, o, false).ssa)],
  ['auto-hq', fromSsa((net, o) => autoSearch(net, o, true).ssa)],
]);

/** Names of the registered algorithms. */
export function optimizerNames(): string[] {
  return [...OPTIMIZERS.keys()];
}

/** Adds (or replaces) an algorithm under a name. */
export function registerOptimizer(name: string, fn: PathOptimizer): void {
  OPTIMIZERS.set(name, fn);
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

export type { LinearPath };
