/**
 * int32 max/min/argmax/argmin at the ends of the range, on every device: the reductions' identities must be
 * INT32_MIN and INT32_MAX themselves, so a tensor holding only INT32_MIN has max INT32_MIN and argmax 0.
 * Expected values are computed here with plain loops.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { tensor, reduce } from '../../src/index.js';
import { DEVICES } from '../helpers/devices.js';

const MIN = -2147483648;
const MAX = 2147483647;

/** Plain reference: reduce the last axis of a [rows, cols] array. */
function byRow(xs: number[], cols: number, pick: (a: number, b: number) => boolean): { value: number[]; index: number[] } {
  const value: number[] = [];
  const index: number[] = [];
  for (let r = 0; r * cols < xs.length; r++) {
    let best = xs[r * cols]!;
    let at = 0;
    for (let c = 1; c < cols; c++) if (pick(xs[r * cols + c]!, best)) { best = xs[r * cols + c]!; at = c; }
    value.push(best);
    index.push(at);
  }
  return { value, index };
}

describe.each(DEVICES)('int32 extremes on %s', (device) => {
  const int = (xs: number[], shape: number[]) => tensor(Int32Array.from(xs), { shape, dtype: 'int32', device });
  const read = async (t: { data(): Promise<ArrayLike<number>> }) => Array.from(await t.data(), Number);

  it('max and argmax of a tensor holding only INT32_MIN are INT32_MIN and 0', async () => {
    const x = int(new Array(12).fill(MIN), [3, 4]);
    expect(await read(x.max())).toEqual([MIN]);
    expect(await read(x.argmax())).toEqual([0]);
    expect(await read(x.max(1))).toEqual([MIN, MIN, MIN]);
    expect(await read(x.argmax(1))).toEqual([0, 0, 0]);
    expect(await read(reduce(x, 'a b -> a', 'max'))).toEqual([MIN, MIN, MIN]);
  });

  it('min and argmin of a tensor holding only INT32_MAX are INT32_MAX and 0', async () => {
    const x = int(new Array(12).fill(MAX), [4, 3]);
    expect(await read(x.min())).toEqual([MAX]);
    expect(await read(x.argmin())).toEqual([0]);
    expect(await read(x.min(0))).toEqual([MAX, MAX, MAX]);
    expect(await read(x.argmin(1))).toEqual([0, 0, 0, 0]);
  });

  it('max/argmax/min/argmin along the last axis of values near both ends (property)', async () => {
    const value = fc.oneof(fc.constantFrom(MIN, MIN + 1, MAX, MAX - 1, 0, -1), fc.integer({ min: MIN, max: MAX }));
    await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 6 }), fc.array(value, { minLength: 24, maxLength: 24 }), async (rows, cols, pool) => {
      const xs = pool.slice(0, rows * cols);
      const x = int(xs, [rows, cols]);
      const hi = byRow(xs, cols, (a, b) => a > b);
      const lo = byRow(xs, cols, (a, b) => a < b);
      expect(await read(x.max(1))).toEqual(hi.value);
      expect(await read(x.argmax(1))).toEqual(hi.index);
      expect(await read(x.min(1))).toEqual(lo.value);
      expect(await read(x.argmin(1))).toEqual(lo.index);
    }), { numRuns: device === 'webgpu' ? 20 : 60, seed: 20261204 });
  });
});
