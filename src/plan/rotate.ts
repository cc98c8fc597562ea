/**
 * Simulated annealing over contraction trees by rotations.
 *
 * A rotation takes a node P = (X, Y) whose child Y = (A, B) is internal and makes it (A, (X, B)) or
 * (B, (X, A)). The operands under P do not change, so neither do P's result nor any node above it: the change
 * of cost is that of two steps, computed from a few bit-set operations (the new inner node keeps the indices of
 * X ∪ B that P's result or A still holds). That makes a move cost O(index words), so tens of thousands of moves
 * fit in a few milliseconds. Moves are accepted by the Metropolis rule on the change of log total cost, with a
 * temperature that falls linearly to zero, and the cheapest tree visited is returned.
 *
 * Rotations change the tree's global shape, which subtree reconfiguration (exact re-solves of small regions)
 * cannot: on small random networks the best trees are long chains with large side branches that greedy
 * starts rarely resemble.
 */

import { type Bits, hasBit } from './bits.js';
import { type Network, type Tree, leaf, node } from './network.js';

const CHUNK_LOG2 = 512;
const CHUNK = 2 ** CHUNK_LOG2;
/** A running total below this share of the steps a move subtracts is summed again (see the move loop). */
const CANCELLED = 2 ** -40;

export interface RotateParams {
  readonly rng: () => number;
  /** Proposed moves. */
  readonly moves: number;
  /** Starting temperature in units of natural-log cost; it falls linearly to 0. */
  readonly temperature: number;
}

/**
 * Anneals a binary tree over all the network's operands (leaves carry no pre-reduction). Returns the cheapest
 * tree visited and its cost (× 2^-scale on networks whose steps pass 2^960, see below), or the input tree when
 * it is not a binary tree over single operands.
 */
export function rotateAnneal(net: Network, tree: Tree, p: RotateParams): { tree: Tree; cost: number } {
  const n = net.n;
  const words = net.words;
  const total = 2 * n - 1;
  const left = new Int32Array(total).fill(-1);
  const right = new Int32Array(total).fill(-1);
  const parent = new Int32Array(total).fill(-1);
  // Legs of node v in words [v * words, (v + 1) * words); a leaf's entry is its raw index set.
  const legs = new Uint32Array(total * words);
  const cost = new Float64Array(total);
  const out = net.output;
  const holders = new Int32Array(net.nIdx);
  for (const s of net.inputs) for (let i = 0; i < net.nIdx; i++) if (hasBit(s, i)) holders[i]!++;
  for (let t = 0; t < n; t++) legs.set(net.inputs[t]!, t * words);

  // Build the arrays from the tree (iteratively: trees of thousands of operands are deep).
  let next = n;
  const failed = { value: false };
  const ids = new Map<Tree, number>();
  const stack: { t: Tree; expanded: boolean }[] = [{ t: tree, expanded: false }];
  while (stack.length > 0 && !failed.value) {
    const top = stack.pop()!;
    const t = top.t;
    if (t.kind === 'leaf') {
      if (t.reduce) failed.value = true;
      ids.set(t, t.input);
      continue;
    }
    // A step over one subtree, or three or more, leaves fewer than n - 1 joins: refused by the count below.
    if (t.children.length !== 2) break;
    if (!top.expanded) {
      stack.push({ t, expanded: true });
      stack.push({ t: t.children[1]!, expanded: false }, { t: t.children[0]!, expanded: false });
      continue;
    }
    const v = next++;
    const a = ids.get(t.children[0]!)!;
    const b = ids.get(t.children[1]!)!;
    left[v] = a;
    right[v] = b;
    parent[a] = v;
    parent[b] = v;
    ids.set(t, v);
  }
  if (failed.value || next !== total) return { tree, cost: Infinity };
  const root = total - 1;

  // Legs of each internal node, bottom-up (nodes are numbered in post-order), with how many operands below
  // hold each leg: a leg of both children goes away when together they hold all its holders.
  const scratch = new Uint32Array(words);
  const union = new Uint32Array(words);
  const below: Map<number, number>[] = new Array<Map<number, number>>(total);
  for (let t = 0; t < n; t++) {
    const m = new Map<number, number>();
    for (let i = 0; i < net.nIdx; i++) if (hasBit(net.inputs[t]!, i)) m.set(i, 1);
    below[t] = m;
  }
  for (let v = n; v < total; v++) {
    const m = new Map<number, number>();
    for (const c of [left[v]!, right[v]!]) for (const [i, k] of below[c]!) m.set(i, (m.get(i) ?? 0) + k);
    for (const [i, k] of m) {
      if (hasBit(out, i) || k < holders[i]!) legs[v * words + (i >>> 5)]! |= 1 << (i & 31);
      else m.delete(i);
    }
    below[v] = m;
  }
  below.length = 0;

  const size = net.size;
  // Costs are held as cost · 2^-scale, so that the steps of a huge network (10^300 and more) stay finite
  // doubles; scale is 0 unless the starting tree has a step past 2^960, and scaling by a power of two is exact.
  // Products are taken in chunks of 2^512 (`chunks`) so that they never overflow before the scale applies.
  let scale = 0;
  let chunks = 0;
  /** p · 2^(512 · chunks − scale): the scaled value of a product taken with `chunks` renormalisations. */
  const scaled = (p: number): number => p * 2 ** (CHUNK_LOG2 * chunks - scale);
  /** Cost of the step joining a and b into a result with legs `res` (at offset resAt in `legsArr`). */
  const stepCost = (a: number, b: number, res: Bits, resAt: number): number => {
    let p = 1;
    chunks = 0;
    let removed = false;
    for (let w = 0; w < words; w++) {
      const x = legs[a * words + w]! | legs[b * words + w]!;
      if ((x & ~res[resAt + w]!) !== 0) removed = true;
      let y = x;
      while (y !== 0) {
        const low = y & -y;
        p *= size[w * 32 + 31 - Math.clz32(low)]!;
        if (p >= CHUNK) {
          p *= 1 / CHUNK;
          chunks++;
        }
        y ^= low;
      }
    }
    return removed ? 2 * p : p;
  };
  let maxLog2 = 0;
  for (let v = n; v < total; v++) {
    const c = stepCost(left[v]!, right[v]!, legs, v * words);
    maxLog2 = Math.max(maxLog2, Math.log2(c) + CHUNK_LOG2 * chunks);
  }
  scale = Math.max(0, Math.ceil(maxLog2) - 960);
  let totalCost = 0;
  for (let v = n; v < total; v++) {
    cost[v] = scaled(stepCost(left[v]!, right[v]!, legs, v * words));
    totalCost += cost[v]!;
  }

  // The tree as it is when it is the best seen: a copy of the child arrays.
  let bestCost = totalCost;
  let bestLeft = left.slice();
  let bestRight = right.slice();
  const internal: number[] = [];
  for (let v = n; v < total; v++) internal.push(v);

  for (let m = 0; m < p.moves; m++) {
    const P = internal[Math.floor(p.rng() * internal.length)]!;
    // Y: an internal child of P, X the other child.
    let Y = p.rng() < 0.5 ? left[P]! : right[P]!;
    if (Y < n) Y = Y === left[P] ? right[P]! : left[P]!;
    if (Y < n) continue;
    const X = Y === left[P] ? right[P]! : left[P]!;
    // A: the grandchild that moves up, B: the one that joins X.
    const swap = p.rng() < 0.5;
    const A = swap ? left[Y]! : right[Y]!;
    const B = swap ? right[Y]! : left[Y]!;
    // New inner legs: (X ∪ B) ∩ (P's legs ∪ A's legs).
    for (let w = 0; w < words; w++) {
      union[w] = legs[X * words + w]! | legs[B * words + w]!;
      scratch[w] = union[w]! & (legs[P * words + w]! | legs[A * words + w]!);
    }
    // Cost of the new inner step (X, B) and of the new top step (A, inner).
    let pu = 1;
    let cu = 0;
    let removedInner = false;
    let pt = 1;
    let ct = 0;
    let removedTop = false;
    for (let w = 0; w < words; w++) {
      if ((union[w]! & ~scratch[w]!) !== 0) removedInner = true;
      let y = union[w]!;
      while (y !== 0) {
        const low = y & -y;
        pu *= size[w * 32 + 31 - Math.clz32(low)]!;
        if (pu >= CHUNK) {
          pu *= 1 / CHUNK;
          cu++;
        }
        y ^= low;
      }
      const top = legs[A * words + w]! | scratch[w]!;
      if ((top & ~legs[P * words + w]!) !== 0) removedTop = true;
      y = top;
      while (y !== 0) {
        const low = y & -y;
        pt *= size[w * 32 + 31 - Math.clz32(low)]!;
        if (pt >= CHUNK) {
          pt *= 1 / CHUNK;
          ct++;
        }
        y ^= low;
      }
    }
    // (A step past 2^1023 after scaling is Infinity: the move's cost is then Infinity or NaN and it is refused.)
    chunks = cu;
    const newInner = scaled(removedInner ? 2 * pu : pu);
    chunks = ct;
    const newTop = scaled(removedTop ? 2 * pt : pt);
    let nextCost = totalCost - cost[P]! - cost[Y]! + newInner + newTop;
    if (nextCost < (cost[P]! + cost[Y]!) * CANCELLED) {
      // The steps this move replaces dwarf what is left: the running sum has lost the other steps' digits (it
      // went negative on networks whose steps span 10^40 and more). Sum every step again.
      nextCost = newInner + newTop;
      for (let v = n; v < total; v++) if (v !== P && v !== Y) nextCost += cost[v]!;
    }
    const temp = p.temperature * (1 - m / p.moves);
    const accept =
      nextCost <= totalCost || (temp > 0 && Math.log(nextCost / totalCost) < -temp * Math.log(p.rng() + 1e-300));
    if (!accept) continue;
    // Y becomes (X, B); P becomes (A, Y).
    left[Y] = X;
    right[Y] = B;
    parent[X] = Y;
    parent[B] = Y;
    left[P] = A;
    right[P] = Y;
    parent[A] = P;
    for (let w = 0; w < words; w++) legs[Y * words + w] = scratch[w]!;
    cost[Y] = newInner;
    cost[P] = newTop;
    totalCost = nextCost;
    if (totalCost < bestCost * (1 - 1e-12)) {
      bestCost = totalCost;
      bestLeft = left.slice();
      bestRight = right.slice();
    }
  }
  // Recompute the total exactly (the running sum accumulates rounding) and rebuild the tree.
  const build = (v: number): Tree => {
    const made: Tree[] = new Array<Tree>(total);
    const order: number[] = [];
    const st = [v];
    while (st.length > 0) {
      const x = st.pop()!;
      order.push(x);
      if (x >= n) st.push(bestLeft[x]!, bestRight[x]!);
    }
    for (let k = order.length - 1; k >= 0; k--) {
      const x = order[k]!;
      made[x] = x < n ? leaf(x) : node(made[bestLeft[x]!]!, made[bestRight[x]!]!);
    }
    return made[v]!;
  };
  return { tree: build(root), cost: bestCost };
}
