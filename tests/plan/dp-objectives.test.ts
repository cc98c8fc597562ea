/**
 * dp minimises each objective it is asked to (flops, the largest intermediate, bytes written, and the combination
 * flops + 64 · written), checked against every pairwise plan of small complete networks (every pair of tensors
 * shares an index, so dp's connected-group search space holds every plan).
 */
import { describe, expect, it } from 'vitest';
import { dpTree } from '../../src/plan/dp.js';
import { makeRng } from '../../src/plan/heap.js';
import { buildNetwork, objectiveValue, scoreSsa, type SsaPath, treeToSsa } from '../../src/plan/network.js';
import type { Objective } from '../../src/plan/types.js';

/** Every SSA path of pairwise steps over n operands. */
function allPaths(n: number): SsaPath[] {
  const out: SsaPath[] = [];
  const walk = (live: number[], next: number, path: number[][]): void => {
    if (live.length === 1) {
      out.push(path.map((s) => [...s]));
      return;
    }
    for (let x = 0; x < live.length; x++) {
      for (let y = x + 1; y < live.length; y++) {
        const rest = live.filter((_, k) => k !== x && k !== y);
        walk([...rest, next], next + 1, [...path, [live[x]!, live[y]!]]);
      }
    }
  };
  walk(Array.from({ length: n }, (_, i) => i), n, []);
  return out;
}

/** A complete network over n tensors: one index per pair (size 2-9), and one kept index on some tensors. */
function complete(n: number, seed: number): ReturnType<typeof buildNetwork> {
  const rng = makeRng(seed);
  const inputs: number[][] = Array.from({ length: n }, () => []);
  const sizes: number[] = [];
  for (let a = 0; a < n; a++) {
    for (let b = a + 1; b < n; b++) {
      inputs[a]!.push(sizes.length);
      inputs[b]!.push(sizes.length);
      sizes.push(2 + Math.floor(rng() * 8));
    }
  }
  const output: number[] = [];
  for (let a = 0; a < n; a++) {
    if (rng() < 0.4) {
      inputs[a]!.push(sizes.length);
      output.push(sizes.length);
      sizes.push(2 + Math.floor(rng() * 4));
    }
  }
  return buildNetwork(inputs, output, sizes);
}

describe('dp', () => {
  const objectives: Objective[] = ['flops', 'size', 'write', 'combo'];
  for (const objective of objectives) {
    it(`finds the plan of least ${objective} on complete networks of four and five tensors`, () => {
      for (const [n, seeds] of [[4, 12], [5, 6]] as const) {
        const paths = allPaths(n);
        for (let seed = 1; seed <= seeds; seed++) {
          const net = complete(n, seed * 31 + n);
          const best = Math.min(...paths.map((p) => objectiveValue(scoreSsa(net, p), objective)));
          const tree = dpTree(net, { objective, memoryLimit: Infinity, deadline: Infinity, algorithm: 'dp' })!;
          expect(objectiveValue(scoreSsa(net, treeToSsa(tree, n)), objective), `n ${n}, seed ${seed}`).toBe(best);
        }
      }
    });
  }
});
