/**
 * The network every path algorithm searches: operands as bit sets over compact index ids, the output set, and
 * the size of each index. Paths are built in SSA form (operand ids never reused: inputs are 0..n-1 and each
 * step's result takes the next id) and converted to opt_einsum's linear format at the end.
 */

import { type Bits, bitsOf, hasBit, idsOf } from './bits.js';
import { type Flops, ZERO, addFlops, flopsKey, productOf, scaleFlops } from './flops.js';
import type { LinearPath, Objective } from './types.js';

export interface Network {
  /** Number of operands. */
  readonly n: number;
  /** Number of distinct indices (compact ids 0..nIdx-1). */
  readonly nIdx: number;
  /** Words per bit set. */
  readonly words: number;
  /** Each operand's index set (repeated axis ids count once). */
  readonly inputs: readonly Bits[];
  readonly output: Bits;
  /** Size of each compact index. */
  readonly size: Float64Array;
  /** The axis id of each compact index. */
  readonly axisOf: readonly number[];
  /**
   * Each operand's distinct compact indices, ascending: `ids[start[k] .. start[k + 1])`. What the bit sets hold,
   * listed, so that a search need not scan `words` words per operand (O(n²) over a network of n tensors).
   */
  readonly lists: { readonly start: Int32Array; readonly ids: Int32Array };
}

export function buildNetwork(
  inputs: readonly (readonly number[])[],
  output: readonly number[],
  sizes: readonly number[],
): Network {
  const compact = new Map<number, number>();
  const axisOf: number[] = [];
  const idOf = (axis: number): number => {
    let c = compact.get(axis);
    if (c === undefined) {
      c = axisOf.length;
      compact.set(axis, c);
      axisOf.push(axis);
    }
    return c;
  };
  const inputIds = inputs.map((term) => term.map(idOf));
  const outputIds = output.map(idOf);
  const words = Math.max(1, Math.ceil(axisOf.length / 32));
  const size = new Float64Array(axisOf.length);
  axisOf.forEach((axis, c) => (size[c] = sizes[axis] ?? 1));
  return {
    n: inputs.length,
    nIdx: axisOf.length,
    words,
    inputs: bitsOfAll(inputIds, words),
    output: bitsOf(outputIds, words),
    size,
    axisOf,
    lists: distinctLists(inputIds, axisOf.length),
  };
}

/** Each term's distinct ids, ascending, in one buffer (see Network.lists). */
function distinctLists(terms: readonly (readonly number[])[], nIdx: number): { start: Int32Array; ids: Int32Array } {
  const n = terms.length;
  const start = new Int32Array(n + 1);
  // Term k marks its ids with k + 1 while counting them, with -(k + 1) while listing them.
  const mark = new Int32Array(nIdx);
  for (let k = 0; k < n; k++) {
    let c = 0;
    for (const i of terms[k]!) {
      if (mark[i] === k + 1) continue;
      mark[i] = k + 1;
      c++;
    }
    start[k + 1] = start[k]! + c;
  }
  const ids = new Int32Array(start[n]!);
  for (let k = 0; k < n; k++) {
    let at = start[k]!;
    for (const i of terms[k]!) {
      if (mark[i] === -(k + 1)) continue;
      mark[i] = -(k + 1);
      ids[at++] = i;
    }
    ids.subarray(start[k]!, at).sort();
  }
  return { start, ids };
}

/** Each term's bit set, as views into one buffer (a 1,000-tensor network would otherwise allocate 1,000 buffers). */
function bitsOfAll(terms: readonly (readonly number[])[], words: number): Bits[] {
  const all = new Uint32Array(terms.length * words);
  return terms.map((ids, k) => {
    const b = all.subarray(k * words, (k + 1) * words);
    for (const i of ids) b[i >>> 5]! |= 1 << (i & 31);
    return b;
  });
}

/** A path in SSA form: each step lists operand ids; step t's result has id n + t. */
export type SsaPath = number[][];

/** A contraction tree: leaves are inputs (optionally reduced on their own first), nodes contract children. */
export type Tree =
  | { readonly kind: 'leaf'; readonly input: number; readonly reduce: boolean }
  | { readonly kind: 'node'; readonly children: readonly Tree[] };

export function leaf(input: number, reduce = false): Tree {
  return { kind: 'leaf', input, reduce };
}

export function node(...children: Tree[]): Tree {
  return { kind: 'node', children };
}

/** SSA path of a tree, children before parents (an iterative post-order; no recursion). */
export function treeToSsa(tree: Tree, n: number): SsaPath {
  const ssa: SsaPath = [];
  const idOf = new Map<Tree, number>();
  const stack: { t: Tree; expanded: boolean }[] = [{ t: tree, expanded: false }];
  let next = n;
  while (stack.length > 0) {
    const top = stack.pop()!;
    const t = top.t;
    if (t.kind === 'leaf') {
      if (t.reduce) {
        ssa.push([t.input]);
        idOf.set(t, next++);
      } else idOf.set(t, t.input);
      continue;
    }
    if (!top.expanded) {
      stack.push({ t, expanded: true });
      for (let c = t.children.length - 1; c >= 0; c--) stack.push({ t: t.children[c]!, expanded: false });
      continue;
    }
    ssa.push(t.children.map((c) => idOf.get(c)!));
    idOf.set(t, next++);
  }
  return ssa;
}

/**
 * Converts SSA ids to positions in the current operand list (the result appended at the end). The list stays
 * sorted by id (results take increasing ids and go to the end), so an operand's position is the number of live
 * ids below its own: a Fenwick tree over the ids counts them in O(log n), where searching and splicing the list
 * cost O(n) per step, O(n²) on a 1,000-tensor path.
 */
export function ssaToLinear(ssa: SsaPath, n: number): number[][] {
  const slots = n + ssa.length;
  const tree = new Int32Array(slots + 1);
  const add = (id: number, delta: number): void => {
    for (let i = id + 1; i <= slots; i += i & -i) tree[i]! += delta;
  };
  /** Live ids below `id`. */
  const below = (id: number): number => {
    let c = 0;
    for (let i = id; i > 0; i -= i & -i) c += tree[i]!;
    return c;
  };
  for (let id = 0; id < n; id++) add(id, 1);
  let next = n;
  return ssa.map((step) => {
    const positions = step.map(below);
    for (const id of step) add(id, -1);
    add(next++, 1);
    return positions;
  });
}

/** Converts a linear path to SSA form (the path is assumed valid). */
export function linearToSsa(path: LinearPath, n: number): SsaPath {
  const alive: number[] = Array.from({ length: n }, (_, i) => i);
  let next = n;
  return path.map((step) => {
    const ids = step.map((p) => alive[p]!);
    for (const p of [...step].sort((a, b) => b - a)) alive.splice(p, 1);
    alive.push(next++);
    return ids;
  });
}

/**
 * Totals of a path under the flop convention, in a form that cannot overflow (flops.ts; see cost.ts for the
 * exact replay).
 */
export interface PathScore {
  readonly flops: Flops;
  readonly size: Flops;
  readonly write: Flops;
}

/** The objective's value as a count. */
export function objectiveFlops(score: PathScore, objective: Objective): Flops {
  switch (objective) {
    case 'flops':
      return score.flops;
    case 'size':
      return score.size;
    case 'write':
      return score.write;
    case 'combo':
      return addFlops(score.flops, scaleFlops(score.write, 64));
  }
}

/**
 * The objective's value as a double that compares as the counts do: the value itself below 2^512, a
 * log-compressed key above (flops.ts), so that paths of huge networks, whose costs pass 10^308, still compare.
 */
export function objectiveValue(score: PathScore, objective: Objective): number {
  return flopsKey(objectiveFlops(score, objective));
}

/**
 * Replays an SSA path on the network: the cost of each step is prod(union) × (max(1, k−1) + [something removed]),
 * where an index is removed when neither the output nor any operand still waiting has it.
 */
export function scoreSsa(net: Network, ssa: SsaPath): PathScore {
  const sets: Bits[] = [...net.inputs];
  const count = new Int32Array(net.nIdx);
  for (const s of net.inputs) for (const i of idsOf(s)) count[i]!++;
  let flops: Flops = ZERO;
  let size: Flops = { m: 1, e: 0 };
  let write: Flops = ZERO;
  for (const step of ssa) {
    const union = new Uint32Array(net.words);
    for (const id of step) {
      const s = sets[id]!;
      for (let w = 0; w < union.length; w++) union[w]! |= s[w]!;
    }
    const result = new Uint32Array(net.words);
    let removed = false;
    for (const i of idsOf(union)) {
      let occ = 0;
      for (const id of step) if (hasBit(sets[id]!, i)) occ++;
      if (hasBit(net.output, i) || count[i]! - occ > 0) result[i >>> 5]! |= 1 << (i & 31);
      else removed = true;
    }
    for (const id of step) for (const i of idsOf(sets[id]!)) count[i]!--;
    for (const i of idsOf(result)) count[i]!++;
    sets.push(result);
    flops = addFlops(flops, scaleFlops(productOf(idsOf(union), net.size), Math.max(1, step.length - 1) + (removed ? 1 : 0)));
    const rs = productOf(idsOf(result), net.size);
    if (flopsKey(rs) > flopsKey(size)) size = rs;
    write = addFlops(write, rs);
  }
  return { flops, size, write };
}

/** The tree of an SSA path (a single-operand step marks its input as reduced first). */
export function ssaTree(ssa: SsaPath, n: number): Tree {
  const trees: Tree[] = Array.from({ length: n }, (_, i) => leaf(i));
  for (const step of ssa) {
    if (step.length === 1) {
      const t = trees[step[0]!]!;
      trees.push(t.kind === 'leaf' ? leaf(t.input, true) : t);
    } else trees.push(node(...step.map((id) => trees[id]!)));
  }
  return trees[trees.length - 1]!;
}
