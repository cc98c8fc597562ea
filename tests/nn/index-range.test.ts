/**
 * Out-of-range indices are refused on every device: embedding, crossEntropy, nllLoss and oneHot raise an
 * EinjitError naming the op, the bad index and the valid range. On the CPU the check is synchronous; on a GPU the
 * indices stay on the device and the error comes at the next read, before any value is returned.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EinjitError, nn, ones, tensor, zeros, type Device, type Tensor } from '../../src/index.js';
import { DEVICES } from '../helpers/devices.js';

const F = nn.functional;

/** Runs `make` and reads its result: the error may come from the call (cpu) or from the read (webgpu). */
async function outcome(make: () => Tensor): Promise<{ values: number[] } | { error: unknown }> {
  try {
    const t = make();
    return { values: Array.from(await t.data(), Number) };
  } catch (error) {
    return { error };
  }
}

async function expectRefused(make: () => Tensor, op: string, bad: number, n: number): Promise<void> {
  const r = await outcome(make);
  expect('error' in r, `expected ${op} to refuse index ${bad}, got ${'values' in r ? JSON.stringify(r.values) : ''}`).toBe(true);
  const e = (r as { error: unknown }).error;
  expect(e).toBeInstanceOf(EinjitError);
  const message = (e as Error).message;
  expect(message).toContain(`${op}:`);
  expect(message).toContain(`index ${bad} is out of range`);
  expect(message).toContain(`0..${n - 1}`);
}

describe.each(DEVICES)('index ranges on %s', (device: Device) => {
  const int = (values: number[]): Tensor => tensor(values, { device, dtype: 'int32' });

  it('embedding refuses a negative and a too-large row', async () => {
    await expectRefused(() => F.embedding(int([5, -1]), ones([3, 2], { device })), 'embedding', -1, 3);
    await expectRefused(() => F.embedding(int([0, 3]), ones([3, 2], { device })), 'embedding', 3, 3);
  });

  it('crossEntropy and nllLoss refuse a class past the last, but skip ignoreIndex', async () => {
    await expectRefused(() => F.crossEntropy(zeros([2, 3], { device }), int([0, 7])), 'crossEntropy', 7, 3);
    await expectRefused(() => F.nllLoss(zeros([2, 3], { device }), int([-2, 1])), 'nllLoss', -2, 3);
    const ok = await outcome(() => F.crossEntropy(zeros([2, 3], { device }), int([1, -100])));
    expect('values' in ok && ok.values[0]).toBeCloseTo(Math.log(3), 5);
  });

  it('oneHot refuses a class past numClasses', async () => {
    await expectRefused(() => F.oneHot(int([0, 4]), 4), 'oneHot', 4, 4);
  });

  it('float indices that are not whole numbers are refused', async () => {
    const r = await outcome(() => F.embedding(tensor([0.5], { device }), ones([3, 2], { device })));
    expect('error' in r && (r.error as Error).message).toMatch(/embedding: .*not whole numbers/);
  });

  it('after a refused read the device works normally again', async () => {
    await expectRefused(() => F.embedding(int([9]), ones([3, 2], { device })), 'embedding', 9, 3);
    const r = await outcome(() => F.embedding(int([2, 0]), tensor([[1, 2], [3, 4], [5, 6]], { device })));
    expect(r).toEqual({ values: [5, 6, 1, 2] });
  });

  it('property: embedding gives the rows asked for, or refuses when any index is out of range', async () => {
    await fc.assert(fc.asyncProperty(
      fc.integer({ min: 1, max: 5 }),
      fc.array(fc.integer({ min: -3, max: 8 }), { minLength: 1, maxLength: 6 }),
      async (rows, indices) => {
        const table = Array.from({ length: rows }, (_, i) => [10 * i, 10 * i + 1]);
        const r = await outcome(() => F.embedding(int(indices), tensor(table, { device })));
        const outside = indices.filter((i) => i < 0 || i >= rows);
        if (outside.length === 0) {
          expect(r).toEqual({ values: indices.flatMap((i) => table[i]!) });
        } else {
          expect('error' in r).toBe(true);
          const message = ((r as { error: Error }).error).message;
          const bad = Math.min(...indices) < 0 ? Math.min(...indices) : Math.max(...indices);
          expect(message).toContain(`index ${bad} is out of range for ${rows} rows`);
        }
      },
    ), { numRuns: device === 'cpu' ? 100 : 25 });
  });
});
