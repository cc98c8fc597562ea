/**
 * Copies whose rows are contiguous on both sides run as one TypedArray.set per row (kernels/cpu/loop.ts). The bug
 * class is an odometer that walks the outer loops wrongly (a row skipped, repeated or shifted), so random strided
 * views of every dtype are made contiguous and concatenated, and every element is checked against the source read
 * through its strides by plain index arithmetic.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { asStrided, cat, tensor, type Tensor } from '../../src/index.js';

type DT = 'float32' | 'float64' | 'int32' | 'bool' | 'float16';

/** A view of `base` with unit innermost stride, outer strides of either sign, and an offset that keeps it inside. */
const viewArb = fc.record({
  dtype: fc.constantFrom<DT>('float32', 'float64', 'int32', 'bool', 'float16'),
  outer: fc.array(fc.record({ size: fc.integer({ min: 1, max: 4 }), gap: fc.integer({ min: 0, max: 5 }), flip: fc.boolean() }), { maxLength: 3 }),
  row: fc.integer({ min: 1, max: 80 }),
  lead: fc.integer({ min: 0, max: 7 }),
  seed: fc.integer({ min: 1, max: 1000 }),
});

interface ViewCase {
  readonly dtype: DT;
  readonly outer: readonly { readonly size: number; readonly gap: number; readonly flip: boolean }[];
  readonly row: number;
  readonly lead: number;
  readonly seed: number;
}

function build(v: ViewCase): { view: Tensor; expected: number[]; shape: number[] } {
  // Strides from the inside out: each outer loop steps over the block below it plus a gap; flipped loops are
  // reversed with flip(), which makes their strides negative.
  const shape = [...v.outer.map((o) => o.size), v.row];
  const strides = new Array<number>(shape.length).fill(1);
  let span = v.row;
  for (let d = v.outer.length - 1; d >= 0; d--) {
    strides[d] = span + v.outer[d]!.gap;
    span = strides[d]! * (v.outer[d]!.size - 1) + span;
  }
  const offset = v.lead;
  const length = offset + span + 3;
  let x = v.seed;
  const values = Array.from({ length }, () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    const r = (x / 2147483648) * 200 - 100;
    // int32 has no −0: `| 0` keeps the expected values to what an int32 array can hold (Math.trunc(−0.0004) is −0).
    return v.dtype === 'bool' ? (r > 0 ? 1 : 0) : v.dtype === 'int32' ? Math.trunc(r * 1000) | 0 : v.dtype === 'float16' ? Math.round(r * 8) / 8 : r;
  });
  const base = tensor(v.dtype === 'bool' ? values.map((b) => b === 1) : values, { dtype: v.dtype });
  const flipped = v.outer.flatMap((o, d) => (o.flip ? [d] : []));
  const strided = asStrided(base, shape, strides, offset);
  const view = flipped.length > 0 ? strided.flip(flipped) : strided;
  const expected: number[] = [];
  const walk = (d: number, at: number): void => {
    if (d === shape.length) {
      expected.push(v.dtype === 'float32' ? Math.fround(values[at]!) : values[at]!);
      return;
    }
    for (let i = 0; i < shape[d]!; i++) walk(d + 1, at + (flipped.includes(d) ? shape[d]! - 1 - i : i) * strides[d]!);
  };
  walk(0, offset);
  return { view, expected, shape };
}

const numbers = (t: Tensor): number[] => Array.from(t.dataSync() as ArrayLike<number | boolean>, Number);

describe('row copies', () => {
  it('contiguous() of a strided view equals the source read through its strides, for every dtype', () => {
    fc.assert(fc.property(viewArb, (v) => {
      const { view, expected, shape } = build(v);
      const c = view.contiguous();
      expect(c.shape).toEqual(shape);
      expect(numbers(c)).toEqual(expected);
    }), { numRuns: 300 });
  });

  it('cat of strided views along the last axis and the first equals the pieces side by side', () => {
    fc.assert(fc.property(viewArb, fc.integer({ min: 1, max: 40 }), (v, extra) => {
      const a = build(v);
      const b = build({ ...v, row: extra, seed: v.seed + 1 });
      const rank = a.shape.length;
      const joined = cat([a.view, b.view], rank - 1);
      const rows = a.expected.length / v.row;
      const want: number[] = [];
      for (let r = 0; r < rows; r++) want.push(...a.expected.slice(r * v.row, (r + 1) * v.row), ...b.expected.slice(r * extra, (r + 1) * extra));
      expect(numbers(joined)).toEqual(want);
      const stacked = cat([a.view, a.view], 0);
      expect(numbers(stacked)).toEqual([...a.expected, ...a.expected]);
    }), { numRuns: 150 });
  });
});
