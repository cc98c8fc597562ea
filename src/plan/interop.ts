/**
 * Paths in and out: opt_einsum's linear format (what `einsumPath` returns and numpy/opt_einsum/cotengra accept),
 * its SSA format, and a JSON contraction tree. Each converts to the others, so a plan found here can be replayed
 * by opt_einsum or cotengra and the other way round.
 *
 * The JSON tree: a leaf is an operand's position in the einsum (a number), a node is an array of the subtrees it
 * contracts in one step (two for a pairwise step). `[[0, 2], 1]` contracts operands 0 and 2, then the result
 * with operand 1; the linear path of that tree is `[[0, 2], [1, 0]]`. A one-operand einsum is the tree `0`.
 */

import { EinjitError } from '../errors.js';
import { validatePath } from './cost.js';
import { linearToSsa, ssaToLinear } from './network.js';
import type { LinearPath } from './types.js';

/** A contraction tree as JSON: an operand position, or the subtrees one step contracts. */
export type PathTree = number | readonly PathTree[];

/** What `optimize` accepts besides an algorithm name and a linear path. */
export type PathSpec =
  | { readonly tree: PathTree }
  | { readonly ssaPath: readonly (readonly number[])[] }
  | { readonly path: LinearPath };

const OP = 'einsumPath';

function fail(reason: string, hint: string): never {
  throw new EinjitError(reason, { op: OP, hint });
}

/** The SSA form of a linear path (opt_einsum's `linear_to_ssa`): inputs are 0..n-1, step t's result is n + t. */
export function linearToSsaPath(path: LinearPath, n: number): number[][] {
  validatePath(path, n);
  return linearToSsa(path, n);
}

/** The linear form of an SSA path (opt_einsum's `ssa_to_linear`). */
function ssaToLinearPath(ssa: readonly (readonly number[])[], n: number): number[][] {
  const hint = 'an SSA path names inputs 0..n-1 and the result of step t as n + t, each once';
  if (!Array.isArray(ssa)) fail('the SSA path must be an array of steps', hint);
  const used = new Set<number>();
  ssa.forEach((step, t) => {
    if (!Array.isArray(step) || step.length === 0) fail(`step ${t} of the SSA path is empty`, hint);
    for (const id of step) {
      if (!Number.isInteger(id) || id < 0 || id >= n + t) fail(`step ${t} of the SSA path names ${String(id)}, which does not exist yet`, hint);
      if (used.has(id)) fail(`step ${t} of the SSA path uses ${id} a second time`, hint);
      used.add(id);
    }
  });
  const linear = ssaToLinear(ssa.map((s) => [...s]), n);
  validatePath(linear, n);
  return linear;
}

/** The JSON tree of a linear path (a path that leaves several operands ends with one step over all of them). */
export function pathToTree(path: LinearPath, n: number): PathTree {
  validatePath(path, n);
  const alive: PathTree[] = Array.from({ length: n }, (_, i) => i);
  for (const step of path) {
    const children = step.map((p) => alive[p]!);
    for (const p of [...step].sort((a, b) => b - a)) alive.splice(p, 1);
    // A one-operand step (summing an operand's own indices) is kept as a node with one child.
    alive.push(children);
  }
  if (alive.length === 1) return alive[0]!;
  return alive;
}

/** The linear path of a JSON tree over `n` operands (children before parents, left to right). */
export function treeToPath(tree: PathTree, n: number): number[][] {
  const hint = 'a tree is an operand position or an array of subtrees, e.g. [[0, 2], 1]; every operand appears once';
  const seen = new Set<number>();
  const ssa: number[][] = [];
  // Iterative post-order, so deep trees (long chains) do not overflow the stack.
  const stack: { t: PathTree; expanded: boolean; depth: number }[] = [{ t: tree, expanded: false, depth: 0 }];
  const ids: number[] = [];
  let next = n;
  while (stack.length > 0) {
    const top = stack.pop()!;
    if (typeof top.t === 'number') {
      if (!Number.isInteger(top.t) || top.t < 0 || top.t >= n) fail(`the tree names operand ${String(top.t)}, but the einsum has ${n}`, hint);
      if (seen.has(top.t)) fail(`the tree names operand ${top.t} twice`, hint);
      seen.add(top.t);
      ids.push(top.t);
      continue;
    }
    if (!Array.isArray(top.t) || top.t.length === 0) fail('a node of the tree is not a non-empty array of subtrees', hint);
    if (top.depth > n) fail('the tree nests deeper than it has operands', hint);
    if (!top.expanded) {
      stack.push({ t: top.t, expanded: true, depth: top.depth });
      for (let c = top.t.length - 1; c >= 0; c--) stack.push({ t: top.t[c]!, expanded: false, depth: top.depth + 1 });
      continue;
    }
    const k = top.t.length;
    ssa.push(ids.splice(ids.length - k, k));
    ids.push(next++);
  }
  if (seen.size !== n) {
    const missing = Array.from({ length: n }, (_, i) => i).filter((i) => !seen.has(i));
    fail(`the tree leaves out operand${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`, hint);
  }
  // A bare leaf (one operand) still needs its one step.
  if (ssa.length === 0) ssa.push([0]);
  return ssaToLinear(ssa, n);
}

/**
 * The linear path an `optimize` value names when it is not an algorithm: a linear path, numpy's
 * `['einsum_path', [0, 1], ...]`, or `{ tree }`, `{ ssaPath }`, `{ path }`. Undefined for an algorithm name.
 */
export function explicitPath(optimize: unknown, n: number): LinearPath | undefined {
  if (typeof optimize === 'string') return undefined;
  if (Array.isArray(optimize)) {
    // numpy's einsum_path returns ['einsum_path', (0, 1), ...] and accepts it back as `optimize`.
    const steps = optimize[0] === 'einsum_path' ? optimize.slice(1) : optimize;
    validatePath(steps as LinearPath, n);
    return steps as LinearPath;
  }
  if (optimize !== null && typeof optimize === 'object') {
    const o = optimize as Record<string, unknown>;
    if ('tree' in o) return treeToPath(o['tree'] as PathTree, n);
    if ('ssaPath' in o) return ssaToLinearPath(o['ssaPath'] as number[][], n);
    if ('path' in o) return explicitPath(o['path'], n);
  }
  return fail(
    `optimize must be an algorithm name or a path, got ${optimize === null ? 'null' : typeof optimize}`,
    "pass a name such as 'auto', a linear path [[0, 1], [0, 1]], or { tree: [[0, 1], 2] }",
  );
}
