/**
 * The storage contract (src/runtime/backend.ts): `allocate` hands out storage with unspecified contents,
 * `allocateZeroed` storage of zeros. Every creation, op and gradient that promises zeros must use the latter.
 *
 * The backends' poison hook fills every storage `allocate` returns with NaN or 7, as a reused GPU buffer may be
 * filled, so any caller that relies on zeros from `allocate` reads poison here. Expected values are worked out
 * by hand from the definitions (counts of window overlaps, one-hot gradients), never from einjit.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { einsum, full, nn, ones, tensor, zeros, zerosLike, type Device, type Tensor } from '../../src/index.js';
import { getBackend } from '../../src/runtime/backend.js';
import { DEVICES } from '../helpers/devices.js';

const F = nn.functional;

function poison(device: Device, value: number | null): void {
  getBackend(device, 'test').setPoison?.(value);
}

async function values(t: Tensor): Promise<number[]> {
  return Array.from(await t.data(), Number);
}

afterEach(() => {
  for (const d of DEVICES) poison(d, null);
});

describe.each(DEVICES)('storage contract on %s', (device) => {
  it('the poison hook really poisons allocate (so the cases below can fail)', async () => {
    poison(device, 7);
    const b = getBackend(device, 'test');
    const s = b.allocate('float32', 4);
    const { Tensor } = await import('../../src/runtime/tensor.js');
    expect(await values(new Tensor(s, [4]))).toEqual([7, 7, 7, 7]);
    expect(await values(new Tensor(b.allocateZeroed('float32', 4), [4]))).toEqual([0, 0, 0, 0]);
  });

  it('a buffer filled with 7, released and reused, comes back as zeros from zeros()', async () => {
    // The repro, with the release forced instead of waiting for the garbage collector.
    const seven = full([1000], 7, { device });
    expect((await values(seven)).every((v) => v === 7)).toBe(true);
    seven.dispose();
    const z = zeros([1000], { device });
    expect((await values(z)).every((v) => v === 0)).toBe(true);
    const zi = zeros([1000], { device, dtype: 'int32' });
    expect((await values(zi)).every((v) => v === 0)).toBe(true);
  });

  for (const p of [Number.NaN, 7]) {
    describe(`with allocate poisoned by ${p}`, () => {
      it('zeros, zerosLike, full(0), empty give zeros in every dtype', async () => {
        poison(device, p);
        const dtypes = device === 'cpu' ? (['float32', 'float64', 'int32', 'bool', 'float16'] as const) : (['float32', 'int32', 'bool', 'float16'] as const);
        for (const dtype of dtypes) {
          expect(await values(zeros([5], { device, dtype }))).toEqual([0, 0, 0, 0, 0]);
          expect(await values(full([2, 2], 0, { device, dtype }))).toEqual([0, 0, 0, 0]);
          expect(await values(zerosLike(ones([3], { device, dtype })))).toEqual([0, 0, 0]);
        }
        expect(await values(full([3], -0, { device }))).toEqual([-0, -0, -0]);
      });

      it('pad fills its border with the value, and with 0 by default', async () => {
        poison(device, p);
        const x = ones([1, 2], { device });
        expect(await values(F.pad(x, [1, 2]))).toEqual([0, 1, 1, 0, 0]);
        expect(await values(F.pad(x, [0, 0, 1, 0]))).toEqual([0, 0, 1, 1]);
        expect(await values(F.pad(x, [1, 0], 3))).toEqual([3, 1, 1]);
      });

      it('empty reductions and empty contractions give the identity', async () => {
        poison(device, p);
        expect(await values(ones([3, 0], { device }).sum(1))).toEqual([0, 0, 0]);
        expect(await values(ones([3, 0], { device }).prod(1))).toEqual([1, 1, 1]);
        expect(await values(ones([2, 0], { device }).matmul(ones([0, 3], { device })))).toEqual([0, 0, 0, 0, 0, 0]);
        expect(await values(einsum('ij,jk->ik', ones([2, 0], { device }), ones([0, 2], { device })))).toEqual([0, 0, 0, 0]);
      });

      it('slice, select and index gradients are zero outside the part taken', async () => {
        poison(device, p);
        const x = ones([5], { device, requiresGrad: true });
        x.slice(0, 1, 3).sum().backward();
        expect(await values(x.grad!)).toEqual([0, 1, 1, 0, 0]);
        const y = ones([4], { device, requiresGrad: true });
        y.select(0, 2).backward();
        expect(await values(y.grad!)).toEqual([0, 0, 1, 0]);
        const z = ones([5], { device, requiresGrad: true });
        z.index('::2').sum().backward();
        expect(await values(z.grad!)).toEqual([1, 0, 1, 0, 1]);
      });

      it('einsum gradients through a repeated index are zero off the diagonal', async () => {
        poison(device, p);
        const a = ones([3, 3], { device, requiresGrad: true });
        einsum('ii->', a).backward();
        expect(await values(a.grad!)).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
        const b = ones([2, 2], { device, requiresGrad: true });
        einsum('ii->i', b).sum().backward();
        expect(await values(b.grad!)).toEqual([1, 0, 0, 1]);
      });

      it('conv2d with padding: forward and both gradients count window overlaps', async () => {
        poison(device, p);
        const x = ones([1, 1, 3, 3], { device, requiresGrad: true });
        const w = ones([1, 1, 3, 3], { device, requiresGrad: true });
        const y = F.conv2d(x, w, null, { padding: 1 });
        // Each output counts the in-bounds taps of its 3x3 window: 4 at corners, 6 at edges, 9 in the middle.
        const counts = [4, 6, 4, 6, 9, 6, 4, 6, 4];
        expect(await values(y)).toEqual(counts);
        y.sum().backward();
        expect(await values(x.grad!)).toEqual(counts);
        expect(await values(w.grad!)).toEqual(counts);
      });

      it('unfold/fold and pooling gradients add window overlaps into zeros', async () => {
        poison(device, p);
        // fold of ones: how many 2x2 windows (stride 1) cover each pixel of a 3x3 image.
        const folded = F.fold(ones([1, 4, 4], { device }), { outputSize: [3, 3], kernelSize: 2 });
        expect(await values(folded)).toEqual([1, 2, 1, 2, 4, 2, 1, 2, 1]);
        const u = ones([1, 1, 3, 3], { device, requiresGrad: true });
        F.unfold(u, { kernelSize: 2 }).sum().backward();
        expect(await values(u.grad!)).toEqual([1, 2, 1, 2, 4, 2, 1, 2, 1]);
        // Max pool 2x2 stride 2 of 0..15: the maximum of each window is its bottom-right element.
        const m = tensor(Array.from({ length: 16 }, (_, i) => i), { device, shape: [1, 1, 4, 4], requiresGrad: true });
        F.maxPool2d(m, { kernelSize: 2, stride: 2 }).sum().backward();
        expect(await values(m.grad!)).toEqual([0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1]);
        // Average pool 3x3 with padding 1 over a 2x2 input: every output averages 9 taps, 4 of them in bounds.
        const a = ones([1, 1, 2, 2], { device, requiresGrad: true });
        const pooled = F.avgPool2d(a, { kernelSize: 3, stride: 1, padding: 1 });
        expect(await values(pooled)).toEqual([4 / 9, 4 / 9, 4 / 9, 4 / 9].map(Math.fround));
        pooled.sum().backward();
        expect(await values(a.grad!)).toEqual([4 / 9, 4 / 9, 4 / 9, 4 / 9].map(Math.fround));
      });

      it('embedding and cross-entropy gradients are zero for rows and classes not picked', async () => {
        poison(device, p);
        const weight = ones([3, 2], { device, requiresGrad: true });
        F.embedding(tensor([0, 0, 2], { device, dtype: 'int32' }), weight).sum().backward();
        expect(await values(weight.grad!)).toEqual([2, 2, 0, 0, 1, 1]);
        // Uniform logits: d(mean CE)/d logits = (1/3 - onehot) / 2.
        const logits = zeros([2, 3], { device, requiresGrad: true });
        F.crossEntropy(logits, tensor([0, 2], { device, dtype: 'int32' })).backward();
        const expected = [1 / 3 - 1, 1 / 3, 1 / 3, 1 / 3, 1 / 3, 1 / 3 - 1].map((v) => v / 2);
        (await values(logits.grad!)).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 6));
      });

      it('layers start with zero biases and zero running means', async () => {
        poison(device, p);
        const bn = new nn.BatchNorm2d(3, { device });
        expect(await values(bn.runningMean)).toEqual([0, 0, 0]);
        expect(await values(bn.runningVar)).toEqual([1, 1, 1]);
        expect(await values(bn.numBatchesTracked)).toEqual([0]);
        expect(await values(bn.bias!)).toEqual([0, 0, 0]);
        const ln = new nn.LayerNorm([4], { device });
        expect(await values(ln.bias!)).toEqual([0, 0, 0, 0]);
      });
    });
  }

  it('property: the gradient of a random strided slice is 1 on the elements taken and 0 elsewhere', async () => {
    poison(device, Number.NaN);
    await fc.assert(fc.asyncProperty(
      fc.integer({ min: 1, max: 12 }).chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n }),
        fc.integer({ min: 0, max: n }), fc.integer({ min: 1, max: 4 }))),
      async ([n, start, end, step]) => {
        const x = ones([n], { device, requiresGrad: true });
        x.slice(0, start, end, step).sum().backward();
        const expected = Array.from({ length: n }, (_, i) => (i >= start && i < end && (i - start) % step === 0 ? 1 : 0));
        expect(await values(x.grad!)).toEqual(expected);
      },
    ), { numRuns: device === 'cpu' ? 60 : 15 });
  });

  it('property: conv2d forward and gradients do not depend on what allocate leaves in memory', async () => {
    // Metamorphic: the same computation under two different poisons must agree bit for bit and be finite.
    await fc.assert(fc.asyncProperty(
      fc.record({
        h: fc.integer({ min: 2, max: 6 }), w: fc.integer({ min: 2, max: 6 }), k: fc.integer({ min: 1, max: 3 }),
        stride: fc.integer({ min: 1, max: 2 }), padding: fc.integer({ min: 0, max: 2 }), seed: fc.integer({ min: 0, max: 1000 }),
      }).filter((c) => c.k <= c.h + 2 * c.padding && c.k <= c.w + 2 * c.padding),
      async (c) => {
        const run = async (value: number): Promise<number[][]> => {
          poison(device, value);
          const xs = Array.from({ length: 2 * c.h * c.w }, (_, i) => ((i * 7 + c.seed) % 11) - 5);
          const ws = Array.from({ length: 3 * 2 * c.k * c.k }, (_, i) => ((i * 5 + c.seed) % 7) - 3);
          const x = tensor(xs, { device, shape: [1, 2, c.h, c.w], requiresGrad: true });
          const w = tensor(ws, { device, shape: [3, 2, c.k, c.k], requiresGrad: true });
          const y = F.conv2d(x, w, null, { stride: c.stride, padding: c.padding });
          y.square().sum().backward();
          return [await values(y), await values(x.grad!), await values(w.grad!)];
        };
        const a = await run(Number.NaN);
        const b = await run(7);
        expect(a.flat().every(Number.isFinite)).toBe(true);
        expect(b).toEqual(a);
      },
    ), { numRuns: device === 'cpu' ? 40 : 10 });
  });

  it('property: pad of random shapes and pads is the input inside and the value outside', async () => {
    poison(device, 7);
    await fc.assert(fc.asyncProperty(
      fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }),
      fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 2, maxLength: 6 }),
      fc.constantFrom(0, -2.5),
      async (shape, rawPads, value) => {
        const pads = rawPads.slice(0, 2 * Math.min(shape.length, Math.floor(rawPads.length / 2)));
        const size = shape.reduce((a, b) => a * b, 1);
        const x = tensor(Array.from({ length: size }, (_, i) => i + 1), { device, shape });
        const out = await values(F.pad(x, pads, value));
        // Independent reference: walk the padded index space, map back to the input when inside.
        const before = shape.map(() => 0);
        const after = shape.map(() => 0);
        for (let i = 0; i < pads.length / 2; i++) {
          before[shape.length - 1 - i] = pads[2 * i]!;
          after[shape.length - 1 - i] = pads[2 * i + 1]!;
        }
        const padded = shape.map((n, d) => n + before[d]! + after[d]!);
        const expected: number[] = [];
        const idx = padded.map(() => 0);
        const total = padded.reduce((a, b) => a * b, 1);
        for (let k = 0; k < total; k++) {
          let rem = k;
          for (let d = padded.length - 1; d >= 0; d--) {
            idx[d] = rem % padded[d]!;
            rem = Math.floor(rem / padded[d]!);
          }
          const inside = idx.every((v, d) => v >= before[d]! && v < before[d]! + shape[d]!);
          let flat = 0;
          for (let d = 0; d < shape.length; d++) flat = flat * shape[d]! + (idx[d]! - before[d]!);
          expected.push(inside ? flat + 1 : value);
        }
        expect(out).toEqual(expected);
      },
    ), { numRuns: device === 'cpu' ? 60 : 15 });
  });
});
