/**
 * A bool made in one compute type and converted by the map that reads it (`eq` over int32 indices, then
 * `cast to float32`: a one-hot or a mask made float) is one kernel under jit (src/jit/fuse.ts, storedValue): the
 * fused kernel runs in the bool's compute type, where the comparison is exact, and converts the 0 or 1 it stores.
 * The bug class is a comparison moved into the reader's type (int32 indices past 2^24 compared as float32) or a
 * reader's arithmetic moved into the producer's (a `mul(0.5)` computed in int32). Values against the comparisons
 * done here on the integers, and launches counted.
 */
import { describe, expect, it } from 'vitest';
import { jit, tensor, type Device, type Tensor } from '../../src/index.js';
import { DEVICES } from '../helpers/devices.js';

// Past 2^24, where float32 no longer tells neighbouring integers apart: 16777217 rounds to 16777216.
const BIG = 16777216;
const ids = [BIG + 1, BIG, 3, BIG + 3, BIG + 1, 0, BIG + 2, 3];
const classes = [BIG, BIG + 1, BIG + 2, BIG + 3, 3, 7];

async function values(t: Tensor): Promise<number[]> {
  return Array.from(await t.data(), Number);
}

describe.each(DEVICES)('a bool converted by its reader under jit on %s', (device: Device) => {
  it('a one-hot made float (eq over [8, 6], cast over its 48 elements) is one kernel, compared in int32', async () => {
    const step = jit((x: Tensor, c: Tensor) => x.reshape([8, 1]).eq(c).reshape([48]).float());
    for (let call = 0; call < 3; call++) {
      const x = ids.map((i, n) => (n + call) % 3 === 0 ? i : ids[(n + call) % ids.length]!);
      const got = step(tensor(x, { device, dtype: 'int32' }), tensor(classes, { device, dtype: 'int32' }));
      expect(got.dtype).toBe('float32');
      expect(await values(got)).toEqual(x.flatMap((i) => classes.map((k) => (i === k ? 1 : 0))));
    }
    expect(step.stats()!.launches).toBe(1);
  });

  it('a reader that computes with the bool (cast, then mul) keeps its own type and its own kernel', async () => {
    const step = jit((x: Tensor, c: Tensor) => x.reshape([8, 1]).eq(c).float().mul(0.5).add(0.25));
    for (let call = 0; call < 2; call++) {
      const got = step(tensor(ids, { device, dtype: 'int32' }), tensor(classes, { device, dtype: 'int32' }));
      expect(await values(got)).toEqual(ids.flatMap((i) => classes.map((k) => (i === k ? 0.75 : 0.25))));
    }
    expect(step.stats()!.launches).toBe(2);
  });

  it('a mask that two float sums read through their casts stays one bool kernel, not recomputed in int32 by each', async () => {
    const step = jit((x: Tensor, y: Tensor) => {
      const m = x.ne(BIG + 1);
      return [m.float().mul(y).sum(), m.float().sum()];
    });
    const y = ids.map((_, n) => n - 2.5);
    for (let call = 0; call < 2; call++) {
      const [s, n] = step(tensor(ids, { device, dtype: 'int32' }), tensor(y, { device })) as Tensor[];
      expect(await values(s!)).toEqual([ids.reduce((acc, i, k) => acc + (i !== BIG + 1 ? y[k]! : 0), 0)]);
      expect(await values(n!)).toEqual([ids.filter((i) => i !== BIG + 1).length]);
    }
    // The comparison, and one kernel for both sums (the first a stored row value of the second; the cast is not
    // duplicated into them in the comparison's type).
    expect(step.stats()!.launches).toBe(2);
    if (device === 'cpu') expect(step.stats()!.intermediateBytesWithoutReuse).toBe(ids.length);
  });

  it('a mask that one float sum reads through its cast stays bools, the cast folded into the sum', async () => {
    const step = jit((x: Tensor, y: Tensor) => x.ne(BIG + 1).float().mul(y).sum());
    const y = ids.map((_, n) => n - 2.5);
    for (let call = 0; call < 2; call++) {
      const s = step(tensor(ids, { device, dtype: 'int32' }), tensor(y, { device }));
      expect(await values(s)).toEqual([ids.reduce((acc, i, k) => acc + (i !== BIG + 1 ? y[k]! : 0), 0)]);
    }
    expect(step.stats()!.launches).toBe(2);
    // One byte per bool between the two kernels, not a float32 mask.
    if (device === 'cpu') expect(step.stats()!.intermediateBytesWithoutReuse).toBe(ids.length);
  });
});
