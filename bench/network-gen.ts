/**
 * Seeded tensor-network generators for the networks benchmark: random regular graphs, 2-D lattices (PEPS-like),
 * MPS overlaps and a Sycamore-like random circuit. Each returns the planner's input form: every operand's axis
 * ids, the output's axis ids and every axis's size.
 */

import { makeRng } from '../src/plan/heap.js';

export interface GenNetwork {
  readonly name: string;
  readonly inputs: number[][];
  readonly output: number[];
  readonly sizes: number[];
}

/**
 * A random d-regular graph on n vertices (configuration model, redrawn until it has no self-loop; a repeated
 * pair is kept as two indices), one tensor per vertex and one summed index per edge, sizes drawn from
 * [minSize, maxSize]. n·d must be even.
 */
export function randomRegular(n: number, d: number, seed: number, minSize = 2, maxSize = 8): GenNetwork {
  const rng = makeRng(seed);
  for (let attempt = 0; ; attempt++) {
    const stubs: number[] = [];
    for (let v = 0; v < n; v++) for (let k = 0; k < d; k++) stubs.push(v);
    for (let i = stubs.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [stubs[i], stubs[j]] = [stubs[j]!, stubs[i]!];
    }
    let ok = true;
    for (let e = 0; e + 1 < stubs.length; e += 2) if (stubs[e] === stubs[e + 1]) ok = false;
    if (!ok && attempt < 1000) continue;
    const inputs: number[][] = Array.from({ length: n }, () => []);
    const sizes: number[] = [];
    for (let e = 0; e + 1 < stubs.length; e += 2) {
      const id = sizes.length;
      sizes.push(minSize + Math.floor(rng() * (maxSize - minSize + 1)));
      inputs[stubs[e]!]!.push(id);
      inputs[stubs[e + 1]!]!.push(id);
    }
    return { name: `random ${d}-regular n=${n}`, inputs, output: [], sizes };
  }
}

/** A closed rows × cols lattice (PEPS norm-like): one tensor per site, one index of size `bond` per edge. */
export function lattice(rows: number, cols: number, bond: number): GenNetwork {
  const inputs: number[][] = Array.from({ length: rows * cols }, () => []);
  const sizes: number[] = [];
  const site = (r: number, c: number): number => r * cols + c;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      if (c + 1 < cols) {
        inputs[site(r, c)]!.push(sizes.length);
        inputs[site(r, c + 1)]!.push(sizes.length);
        sizes.push(bond);
      }
      if (r + 1 < rows) {
        inputs[site(r, c)]!.push(sizes.length);
        inputs[site(r + 1, c)]!.push(sizes.length);
        sizes.push(bond);
      }
    }
  }
  return { name: `lattice ${rows}x${cols} D=${bond}`, inputs, output: [], sizes };
}

/** ⟨ψ|ψ⟩ of an open MPS of `length` sites: 2·length tensors, bond dimension `bond`, physical dimension `phys`. */
export function mpsOverlap(length: number, bond: number, phys: number): GenNetwork {
  const inputs: number[][] = [];
  const sizes: number[] = [];
  const fresh = (s: number): number => {
    sizes.push(s);
    return sizes.length - 1;
  };
  const physical = Array.from({ length }, () => fresh(phys));
  for (const layer of [0, 1]) {
    void layer;
    const bonds = Array.from({ length: length - 1 }, () => fresh(bond));
    for (let s = 0; s < length; s++) {
      const t: number[] = [];
      if (s > 0) t.push(bonds[s - 1]!);
      t.push(physical[s]!);
      if (s + 1 < length) t.push(bonds[s]!);
      inputs.push(t);
    }
  }
  return { name: `MPS overlap L=${length} D=${bond}`, inputs, output: [], sizes };
}

/**
 * A Sycamore-like random circuit amplitude ⟨0|C|0⟩ on a rows × cols qubit grid: `cycles` cycles, each a layer
 * of random single-qubit gates (2×2 tensors) then two-qubit gates (2×2×2×2) on one of four grid-coupler
 * patterns (ABCD, as in Google's supremacy circuits); |0⟩ inputs and ⟨0| outputs are rank-1 tensors.
 */
export function randomCircuit(rows: number, cols: number, cycles: number, seed: number): GenNetwork {
  const rng = makeRng(seed);
  const inputs: number[][] = [];
  const sizes: number[] = [];
  const fresh = (): number => {
    sizes.push(2);
    return sizes.length - 1;
  };
  const q = rows * cols;
  const wire: number[] = [];
  for (let k = 0; k < q; k++) {
    wire.push(fresh());
    inputs.push([wire[k]!]);
  }
  const patterns: [number, number][][] = [[], [], [], []];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const k = r * cols + c;
      if (c + 1 < cols) patterns[(c % 2) + (r % 2 === 0 ? 0 : 0)]!.push([k, k + 1]);
      if (r + 1 < rows) patterns[2 + (r % 2)]!.push([k, k + cols]);
    }
  }
  const order = [0, 1, 2, 3, 2, 3, 0, 1];
  for (let cycle = 0; cycle < cycles; cycle++) {
    for (let k = 0; k < q; k++) {
      if (rng() < 0.5) continue; // not every single-qubit gate survives simplification
      const next = fresh();
      inputs.push([wire[k]!, next]);
      wire[k] = next;
    }
    // A qubit takes part in at most one gate per layer: greedily drop pairs that would overlap.
    const busy = new Uint8Array(q);
    for (const [a, b] of patterns[order[cycle % order.length]!]!) {
      if (busy[a] === 1 || busy[b] === 1) continue;
      busy[a] = 1;
      busy[b] = 1;
      const na = fresh();
      const nb = fresh();
      inputs.push([wire[a]!, wire[b]!, na, nb]);
      wire[a] = na;
      wire[b] = nb;
    }
  }
  for (let k = 0; k < q; k++) inputs.push([wire[k]!]);
  return { name: `random circuit ${rows}x${cols} m=${cycles}`, inputs, output: [], sizes };
}
