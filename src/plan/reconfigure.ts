/**
 * Subtree reconfiguration (the local search cotengra uses): take a node of a contraction tree, cut out the
 * region below it down to a frontier of at most `maxLeaves` subtrees (always expanding the most expensive
 * one), and re-solve the contraction of that frontier exactly. When the exact answer is cheaper, the region is
 * replaced. Passes over all nodes, most expensive first, repeat until nothing improves or the deadline passes.
 */

import { type Bits, bitsOf, hasBit, idsOf, isSubset, or, sizeOf } from './bits.js';
import { solveExact } from './exact.js';
import { ZERO, addFlops, flopsKey, flopsOf, scaleFlops } from './flops.js';
import { type Network, type Tree, leaf, node } from './network.js';

interface MNode {
  left: MNode | undefined;
  right: MNode | undefined;
  /** The input index for a leaf; -1 for an internal node. */
  input: number;
  reduce: boolean;
  /** Operands under this node. */
  mask: Bits;
  /** Indices of this node's result. */
  legs: Bits;
  /** Cost of this node's step, including the pre-reduction of leaf children. */
  cost: number;
}

export interface ReconfigureOptions {
  readonly maxLeaves: number;
  readonly memoryLimit: number;
  readonly deadline: number;
  /** At most this many passes over the tree (default 16). */
  readonly maxPasses?: number;
  /** Regions costing less than this fraction of the whole tree are left alone (default 1e-4). */
  readonly minShare?: number;
}

export function reconfigure(net: Network, tree: Tree, o: ReconfigureOptions): Tree {
  const opWords = Math.max(1, Math.ceil(net.n / 32));
  const holders: number[][] = Array.from({ length: net.nIdx }, () => []);
  net.inputs.forEach((s, t) => idsOf(s).forEach((i) => holders[i]!.push(t)));
  const legsFor = (mask: Bits, idx: Bits): Bits =>
    bitsOf(
      idsOf(idx).filter((i) => hasBit(net.output, i) || holders[i]!.some((t) => !hasBit(mask, t))),
      net.words,
    );
  /** The set a child contributes to its parent's step. */
  const setOf = (c: MNode): Bits => (c.input >= 0 && !c.reduce ? net.inputs[c.input]! : c.legs);
  const stepCost = (v: MNode): number => {
    const a = v.left!;
    const b = v.right!;
    const union = or(setOf(a), setOf(b));
    const removed = !isSubset(union, v.legs);
    let c = sizeOf(union, net.size) * (removed ? 2 : 1);
    for (const x of [a, b]) if (x.input >= 0 && x.reduce) c += 2 * sizeOf(net.inputs[x.input]!, net.size);
    return c;
  };
  const makeLeaf = (input: number, reduce: boolean): MNode => {
    const mask = bitsOf([input], opWords);
    return { left: undefined, right: undefined, input, reduce, mask, legs: legsFor(mask, net.inputs[input]!), cost: 0 };
  };
  const makeNode = (a: MNode, b: MNode): MNode => {
    const mask = or(a.mask, b.mask);
    const v: MNode = { left: a, right: b, input: -1, reduce: false, mask, legs: legsFor(mask, or(a.legs, b.legs)), cost: 0 };
    v.cost = stepCost(v);
    return v;
  };
  const fromTree = (t: Tree): MNode | undefined => {
    if (t.kind === 'leaf') return makeLeaf(t.input, t.reduce);
    if (t.children.length !== 2) return undefined;
    const a = fromTree(t.children[0]!);
    const b = fromTree(t.children[1]!);
    return a === undefined || b === undefined ? undefined : makeNode(a, b);
  };
  const toTree = (v: MNode): Tree => (v.input >= 0 ? leaf(v.input, v.reduce) : node(toTree(v.left!), toTree(v.right!)));
  const internals = (root: MNode): MNode[] => {
    const out: MNode[] = [];
    const stack = [root];
    while (stack.length > 0) {
      const v = stack.pop()!;
      if (v.input >= 0) continue;
      out.push(v);
      stack.push(v.left!, v.right!);
    }
    return out;
  };

  const root = fromTree(tree);
  if (root === undefined) return tree;
  const maxPasses = o.maxPasses ?? 16;
  for (let pass = 0; pass < maxPasses; pass++) {
    let improved = false;
    const nodes = internals(root).sort((a, b) => b.cost - a.cost);
    // The total in a form that does not overflow (a step of a huge network can be Infinity as a double: then
    // only regions that cost Infinity pass the floor, and the exact search may find them a finite cost).
    let total = ZERO;
    for (const v of nodes) total = addFlops(total, Number.isFinite(v.cost) ? flopsOf(v.cost) : { m: 1, e: 1024 });
    const floor = flopsKey(scaleFlops(total, o.minShare ?? 1e-4));
    for (const v of nodes) {
      if (performance.now() > o.deadline) return toTree(root);
      // Expand the region under v.
      const frontier: MNode[] = [v.left!, v.right!];
      let regionCost = v.cost;
      while (frontier.length < o.maxLeaves) {
        let pick = -1;
        for (let f = 0; f < frontier.length; f++) {
          const x = frontier[f]!;
          if (x.input < 0 && (pick < 0 || x.cost > frontier[pick]!.cost)) pick = f;
        }
        if (pick < 0) break;
        const x = frontier[pick]!;
        regionCost += x.cost;
        frontier.splice(pick, 1, x.left!, x.right!);
      }
      if (frontier.length < 3 || (Number.isFinite(regionCost) && flopsKey(flopsOf(regionCost)) < floor)) continue;
      const solved = solveExact({
        leaves: frontier.map((x) => (x.input >= 0 ? net.inputs[x.input]! : x.legs)),
        keep: v.legs,
        size: net.size,
        memoryLimit: o.memoryLimit,
        deadline: Infinity,
        algorithm: 'reconfigure',
        upperBound: regionCost * (1 - 1e-9),
      });
      if (solved === undefined || !(solved.cost < regionCost * (1 - 1e-9))) continue;
      const rebuild = (t: Tree): MNode => {
        if (t.kind === 'leaf') {
          const x = frontier[t.input]!;
          return x.input >= 0 ? makeLeaf(x.input, t.reduce) : x;
        }
        return makeNode(rebuild(t.children[0]!), rebuild(t.children[1]!));
      };
      const fresh = rebuild(solved.tree);
      v.left = fresh.left;
      v.right = fresh.right;
      v.cost = stepCost(v);
      improved = true;
    }
    if (!improved) break;
  }
  return toTree(root);
}
