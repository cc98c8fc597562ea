/**
 * asStrided (src/runtime/strided.ts) and Tensor.asStrided: views of any geometry over a storage, checked
 * against a float64 index loop over the storage; the out-of-bounds refusal; the gradient, which adds up the
 * elements an overlapping view repeats, against the same loop and against finite differences.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EinjitError, asStrided as publicAsStrided, fromArray } from '../../src/index.js';
import { asStrided } from '../../src/runtime/strided.js';
import { gradcheck, gradgradcheck } from '../../src/testing/index.js';

interface Geometry {
  shape: number[];
  strides: number[];
  offset: number;
}

/** Every multi-index of `shape`, last dim fastest. */
function* indices(shape: readonly number[]): Generator<number[]> {
  if (shape.some((n) => n === 0)) return;
  const i = shape.map(() => 0);
  for (;;) {
    yield i.slice();
    let d = shape.length - 1;
    for (; d >= 0; d--) {
      if (++i[d]! < shape[d]!) break;
      i[d] = 0;
    }
    if (d < 0) return;
  }
}

/** The storage position of a multi-index. */
const position = (g: Geometry, i: readonly number[]): number => i.reduce((p, x, d) => p + x * g.strides[d]!, g.offset);

/** The view's elements read from the storage by index arithmetic, in float64. */
function oracleView(storage: Float64Array, g: Geometry): number[] {
  return [...indices(g.shape)].map((i) => storage[position(g, i)]!);
}

/** Storage [length] and a geometry inside it; strides may be negative when `negative` (the internal view allows it). */
const geometryArb = (negative: boolean) =>
  fc.integer({ min: 0, max: 4 }).chain((rank) =>
    fc.record({
      shape: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: rank, maxLength: rank }),
      strides: fc.array(fc.integer({ min: negative ? -5 : 0, max: 5 }), { minLength: rank, maxLength: rank }),
      before: fc.integer({ min: 0, max: 3 }),
      after: fc.integer({ min: 0, max: 3 }),
    })).map(({ shape, strides, before, after }) => {
    // The offset puts the lowest element `before` elements into the storage.
    const empty = shape.some((n) => n === 0);
    const low = empty ? 0 : shape.reduce((p, n, d) => p + Math.min(0, (n - 1) * strides[d]!), 0);
    const high = empty ? 0 : shape.reduce((p, n, d) => p + Math.max(0, (n - 1) * strides[d]!), 0);
    const offset = before - low;
    return { g: { shape, strides, offset }, length: offset + high + 1 + after };
  });

const storageOf = (length: number): Float64Array => Float64Array.from({ length }, (_, i) => Math.sin(1.3 * i + 0.2) * 10);

describe('asStrided views', () => {
  it('the internal view reads what index arithmetic over the storage reads (negative strides too)', () => {
    fc.assert(fc.property(geometryArb(true), ({ g, length }) => {
      const storage = storageOf(length);
      const base = fromArray(storage, [length]);
      const v = asStrided(base, g.shape, g.strides, g.offset);
      expect(v.storage).toBe(base.storage);
      expect(Array.from(v.contiguous().dataSync())).toEqual(oracleView(storage, g));
    }), { numRuns: 300 });
  });

  it("Tensor.asStrided counts from the storage's start, its offset defaulting to the tensor's", () => {
    fc.assert(fc.property(geometryArb(false), fc.integer({ min: 0, max: 2 }), ({ g, length }, skip) => {
      const storage = storageOf(length + skip);
      // A base that is itself a view starting `skip` elements in: the geometry still counts from the storage.
      const base = fromArray(storage, [length + skip]).narrow(0, skip, length);
      expect(Array.from(base.asStrided(g.shape, g.strides, g.offset + skip).contiguous().dataSync()))
        .toEqual(oracleView(storage, { ...g, offset: g.offset + skip }));
      expect(Array.from(base.asStrided(g.shape, g.strides).contiguous().dataSync()))
        .toEqual(oracleView(storage, { ...g, offset: skip }));
      expect(Array.from(publicAsStrided(base, g.shape, g.strides, g.offset).contiguous().dataSync()))
        .toEqual(oracleView(storage, g));
    }), { numRuns: 200 });
  });

  it('a view reaching outside the storage is an EinjitError with the shapes and a hint', () => {
    const x = fromArray(new Float32Array(6), [2, 3]);
    const cases: [number[], number[], number | undefined][] = [[[4, 2], [2, 1], undefined], [[3], [1], 4], [[2, 2], [3, 3], 0]];
    for (const [size, stride, offset] of cases) {
      let caught: unknown;
      try {
        x.asStrided(size, stride, offset);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(EinjitError);
      const e = caught as EinjitError;
      expect(e.message).toMatch(/outside the 6 elements of the storage \(0\.\.5\)/);
      expect(e.shapes).toEqual([[2, 3], size]);
      expect(e.hint).toMatch(/offset \+ Σ \(size - 1\) · stride/);
    }
    // Empty views reach nothing; the internal view checks negative strides on both sides.
    expect(x.asStrided([0, 9], [100, 100], 5).shape).toEqual([0, 9]);
    // The exported function is the method's twin and checks its input like every export.
    expect(() => publicAsStrided(x, [4, 2], [2, 1])).toThrow(/outside the 6 elements/);
    expect(() => publicAsStrided([1, 2] as never, [1], [1])).toThrow(EinjitError);
    expect(() => asStrided(x, [3], [-1], 1)).toThrow(/reaches storage elements -1\.\.1/);
    expect(() => x.asStrided([3], [-1], 2)).toThrow(/negative strides are not supported/);
    expect(() => x.asStrided([3, 1], [1], 0)).toThrow(/mismatch in length of strides and shape/);
    expect(() => x.asStrided([3], [1], -1)).toThrow(EinjitError);
  });
});

describe('asStrided gradients', () => {
  /** d/d(base) of Σ w · view: each base element gets the weights of the view elements at its position. */
  function oracleGrad(baseG: Geometry, g: Geometry, w: readonly number[]): number[] {
    const views = [...indices(g.shape)];
    return [...indices(baseG.shape)].map((j) => {
      const p = position(baseG, j);
      const sharing = [...indices(baseG.shape)].filter((k) => position(baseG, k) === p).length;
      return views.reduce((s, i, at) => s + (position(g, i) === p ? w[at]! : 0), 0) / sharing;
    });
  }

  it('overlapping, repeating and gapped views: the gradient adds each repeat, against index arithmetic', () => {
    fc.assert(fc.property(geometryArb(false), ({ g, length }) => {
      const x = fromArray(storageOf(length), [length]).requiresGrad_();
      const v = x.asStrided(g.shape, g.strides, g.offset);
      const w = Float64Array.from({ length: v.size }, (_, i) => 1 + 0.25 * i);
      v.mul(fromArray(w, g.shape)).sum().backward();
      const want = oracleGrad({ shape: [length], strides: [1], offset: 0 }, g, Array.from(w));
      expect(Array.from(x.grad!.dataSync())).toEqual(want);
    }), { numRuns: 200 });
  });

  it('a base that repeats elements itself (expand) passes its share once, as PyTorch divides', () => {
    const x = fromArray(Float64Array.from([1, 2, 3]), [3, 1]).requiresGrad_();
    const e = x.expand([3, 4]); // storage positions 0, 1, 2, each four times
    const v = e.asStrided([2, 2], [1, 1], 0); // positions [[0, 1], [1, 2]]
    const w = [1, 10, 100, 1000];
    v.mul(fromArray(Float64Array.from(w), [2, 2])).sum().backward();
    // Each element of e gets (Σ w at its position) / 4, and expand's gradient adds the four back up.
    expect(Array.from(x.grad!.dataSync())).toEqual([1, 110, 1000]);
  });

  it('gradcheck and gradgradcheck on sliding windows and a stride-0 broadcast', () => {
    const x = fromArray(Float64Array.from({ length: 7 }, (_, i) => Math.cos(i) + 2), [7]);
    const windows = (t: typeof x) => t.asStrided([4, 3], [1, 1], 1).mul(t.asStrided([4, 3], [1, 1], 1)).sum(1);
    const broadcast = (t: typeof x) => t.asStrided([3, 2], [0, 2], 1).pow(2);
    for (const fn of [windows, broadcast]) {
      // Each throws an AssertionError naming the input and element that disagree.
      expect(gradcheck(fn, [x]).analytic[0]!.length).toBe(7);
      expect(gradgradcheck(fn, [x]).analytic[0]!.length).toBe(7);
    }
  });
});
