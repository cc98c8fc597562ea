/** One generator of random small contraction networks for the planner's property tests. */

import fc from 'fast-check';

/** A network: each operand's axis ids, the output's, and every axis's size. */
export interface Net {
  inputs: number[][];
  output: number[];
  sizes: number[];
}

export interface NetShape {
  /** Largest axis size (sizes are drawn from 1 to this). */
  readonly maxSize: number;
  /** How many distinct axes at most (at least 1, or 2 where `minAxes` says). */
  readonly maxAxes: number;
  readonly minAxes?: number;
  readonly minOps: number;
  readonly maxOps: number;
  /** Axis count of an operand: `base + draw % spread` (1 + x % 3 gives 1–3; x % 4 gives 0–3, scalars included). */
  readonly perOp: { readonly base: number; readonly spread: number };
  /** Drop an axis repeated within one operand (no diagonals). */
  readonly distinct: boolean;
  /** How many random draws the network is built from. */
  readonly draws: number;
}

/** Random networks; about a third of the axes that appear go to the output. */
export function netArb(shape: NetShape): fc.Arbitrary<Net> {
  return fc
    .record({
      sizes: fc.array(fc.integer({ min: 1, max: shape.maxSize }), { minLength: shape.minAxes ?? 1, maxLength: shape.maxAxes }),
      nOps: fc.integer({ min: shape.minOps, max: shape.maxOps }),
      seed: fc.array(fc.nat(), { minLength: shape.draws, maxLength: shape.draws }),
    })
    .map(({ sizes, nOps, seed }) => {
      let k = 0;
      const next = (): number => seed[k++ % seed.length]!;
      const inputs = Array.from({ length: nOps }, () => {
        const axes = Array.from({ length: shape.perOp.base + (next() % shape.perOp.spread) }, () => next() % sizes.length);
        return shape.distinct ? [...new Set(axes)] : axes;
      });
      const used = [...new Set(inputs.flat())];
      return { inputs, output: used.filter(() => next() % 3 === 0), sizes };
    });
}
