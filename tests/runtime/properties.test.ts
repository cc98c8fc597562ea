/**
 * Property tests of the tensor runtime against naive references written here: views, broadcasting, reductions
 * over contiguous and non-contiguous inputs, elementwise ops, slicing, and PyTorch's type promotion.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EinjitError, Tensor, tensor, type DType } from '../../src/index.js';
import { multiIndices } from '../helpers/random.js';

// ---------------------------------------------------------------------------------------------------------------
// A naive n-d array: row-major data and a shape, every operation an explicit loop over indices.

interface Nd {
  readonly shape: number[];
  readonly data: number[];
}

const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Every multi-index of `shape` in row-major order. */
const indices = multiIndices;

function flatIndex(shape: readonly number[], idx: readonly number[]): number {
  let f = 0;
  for (let d = 0; d < shape.length; d++) f = f * shape[d]! + idx[d]!;
  return f;
}

const at = (a: Nd, idx: readonly number[]): number => a.data[flatIndex(a.shape, idx)]!;

function naivePermute(a: Nd, perm: readonly number[]): Nd {
  const shape = perm.map((p) => a.shape[p]!);
  return { shape, data: indices(shape).map((idx) => {
    const src = new Array<number>(a.shape.length);
    perm.forEach((p, i) => { src[p] = idx[i]!; });
    return at(a, src);
  }) };
}

/** Python's slice semantics, written out the way the language reference states them. */
function pySliceIndices(n: number, start: number | undefined, stop: number | undefined, step: number): number[] {
  const out: number[] = [];
  if (step > 0) {
    let s = start === undefined ? 0 : start < 0 ? Math.max(0, start + n) : Math.min(start, n);
    const e = stop === undefined ? n : stop < 0 ? Math.max(0, stop + n) : Math.min(stop, n);
    for (; s < e; s += step) out.push(s);
  } else {
    let s = start === undefined ? n - 1 : start < 0 ? Math.max(-1, start + n) : Math.min(start, n - 1);
    const e = stop === undefined ? -1 : stop < 0 ? Math.max(-1, stop + n) : Math.min(stop, n - 1);
    for (; s > e; s += step) out.push(s);
  }
  return out;
}

function naiveSlice(a: Nd, dim: number, picks: readonly number[]): Nd {
  const shape = a.shape.slice();
  shape[dim] = picks.length;
  return { shape, data: indices(shape).map((idx) => {
    const src = idx.slice();
    src[dim] = picks[idx[dim]!]!;
    return at(a, src);
  }) };
}

function flatten(x: unknown): number[] {
  if (!Array.isArray(x)) return [typeof x === 'boolean' ? Number(x) : (x as number)];
  return x.flatMap(flatten);
}

const values = (t: Tensor): number[] => Array.from(t.dataSync(), Number);

// ---------------------------------------------------------------------------------------------------------------
// Generators: a shape, and a tensor of that shape that is a non-contiguous view (sliced with steps, including
// negative ones, then permuted) of a larger base, together with its naive twin.

const shapeArb = (maxRank = 4, maxDim = 4): fc.Arbitrary<number[]> =>
  fc.array(fc.integer({ min: 1, max: maxDim }), { minLength: 0, maxLength: maxRank });

interface Case {
  readonly t: Tensor;
  readonly ref: Nd;
  readonly dtype: DType;
}

interface Layout {
  readonly steps: number[];
  readonly extra: number[];
  readonly perm: number[];
  readonly seedValues: number[];
}

function layoutArb(rank: number, dtypes: readonly DType[]): fc.Arbitrary<Layout & { dtype: DType }> {
  return fc.record({
    steps: fc.array(fc.constantFrom(1, 1, 2, -1, -2, 3), { minLength: rank, maxLength: rank }),
    extra: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: rank, maxLength: rank }),
    perm: fc.shuffledSubarray(Array.from({ length: rank }, (_, i) => i), { minLength: rank, maxLength: rank }),
    seedValues: fc.array(fc.integer({ min: -9, max: 9 }), { minLength: 1, maxLength: 16 }),
    dtype: fc.constantFrom(...dtypes),
  });
}

/** Builds a view with the requested final shape; `halves` makes values non-integral. */
function buildCase(shape: readonly number[], layout: Layout & { dtype: DType }, halves = true): Case {
  const rank = shape.length;
  // The permuted view has shape[i] = sliced[perm[i]], so the sliced tensor has shape sliced[perm[i]] = shape[i].
  const sliced = new Array<number>(rank);
  layout.perm.forEach((p, i) => { sliced[p] = shape[i]!; });
  const baseShape = sliced.map((n, d) => n * Math.abs(layout.steps[d]!) + layout.extra[d]!);
  const count = numel(baseShape);
  const isInt = layout.dtype === 'int32';
  const data = Array.from({ length: count }, (_, i) => {
    const v = layout.seedValues[i % layout.seedValues.length]! + Math.floor(i / layout.seedValues.length);
    return halves && !isInt ? v / 2 : v;
  });
  let ref: Nd = { shape: baseShape, data };
  let t = tensor(data, { shape: baseShape, dtype: layout.dtype });
  for (let d = 0; d < rank; d++) {
    const step = layout.steps[d]!;
    const n = baseShape[d]!;
    // Start somewhere that still leaves exactly sliced[d] elements.
    const start = step > 0 ? layout.extra[d]! : n - 1 - layout.extra[d]!;
    const stop = start + step * sliced[d]!;
    const picks = pySliceIndices(n, start, stop < 0 ? undefined : stop, step).slice(0, sliced[d]);
    ref = naiveSlice(ref, d, picks);
    t = t.slice(d, start, stop < 0 ? undefined : stop, step).narrow(d, 0, sliced[d]!);
  }
  ref = naivePermute(ref, layout.perm);
  t = t.permute(layout.perm);
  return { t, ref, dtype: layout.dtype };
}

const caseArb = (dtypes: readonly DType[] = ['float32', 'float64', 'int32'], maxRank = 4, halves = true): fc.Arbitrary<Case> =>
  shapeArb(maxRank).chain((shape) => layoutArb(shape.length, dtypes).map((l) => buildCase(shape, l, halves)));

const RUNS = { numRuns: 60 };

// ---------------------------------------------------------------------------------------------------------------

describe('views', () => {
  it('builds non-contiguous views that read the same elements as the naive reference', () => {
    fc.assert(fc.property(caseArb(), ({ t, ref }) => {
      expect(t.shape).toEqual(ref.shape);
      expect(values(t)).toEqual(ref.data);
      expect(flatten(t.toArray())).toEqual(ref.data);
    }), RUNS);
  });

  it('undoes a permutation with its inverse, as a view of the same storage', () => {
    const arb = caseArb(['float32']).chain((c) => fc.tuple(fc.constant(c),
      fc.shuffledSubarray(c.ref.shape.map((_, i) => i), { minLength: c.ref.shape.length, maxLength: c.ref.shape.length })));
    fc.assert(fc.property(arb, ([{ t, ref }, perm]) => {
      const inverse = perm.map((_, i) => perm.indexOf(i));
      const permuted = t.permute(perm);
      expect(values(permuted)).toEqual(naivePermute(ref, perm).data);
      const back = permuted.permute(inverse);
      expect(back.storage).toBe(t.storage);
      expect(back.shape).toEqual(t.shape);
      expect(back.strides).toEqual(t.strides);
      expect(values(back)).toEqual(values(t));
    }), RUNS);
  });

  it('round-trips reshape to a random factorisation and back', () => {
    fc.assert(fc.property(caseArb(['float32']), fc.integer({ min: 0, max: 1000 }), ({ t, ref }, seed) => {
      const target = randomFactorisation(t.size, seed);
      const r = t.reshape(target);
      expect(r.shape).toEqual(target);
      expect(values(r)).toEqual(ref.data);
      expect(values(r.reshape(t.shape.slice()))).toEqual(ref.data);
      expect(values(t.flatten())).toEqual(ref.data);
    }), RUNS);
  });

  it('makes view() a view exactly when strides exist for the new shape, and reshape() copies otherwise', () => {
    fc.assert(fc.property(caseArb(['float32']), fc.integer({ min: 0, max: 1000 }), ({ t, ref }, seed) => {
      const target = randomFactorisation(t.size, seed);
      const possible = viewPossible(t, target);
      const r = t.reshape(target);
      if (possible) {
        const v = t.view(target);
        expect(v.storage).toBe(t.storage);
        expect(r.storage).toBe(t.storage);
        expect(values(v)).toEqual(ref.data);
        // A write through the view is seen by the original.
        v.index(...target.map(() => 0)).fill_(1234);
        expect(values(t)[0]).toBe(1234);
      } else {
        expect(() => t.view(target)).toThrow(EinjitError);
        expect(r.storage).not.toBe(t.storage);
        expect(values(r)).toEqual(ref.data);
      }
    }), { numRuns: 150 });
  });

  it('applies the same view rule to expanded (stride 0) tensors, and reshape copies them when it must', () => {
    const arb = caseArb(['float32'], 3).chain((c) => fc.tuple(fc.constant(c), fc.nat({ max: c.t.ndim }),
      fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 1000 })));
    fc.assert(fc.property(arb, ([{ t, ref }, d, k, seed]) => {
      const shape = [...t.shape.slice(0, d), k, ...t.shape.slice(d)];
      const e = t.unsqueeze(d).expand(shape);
      expect(e.storage).toBe(t.storage);
      const expected = indices(shape).map((idx) => at(ref, idx.filter((_, j) => j !== d)));
      expect(values(e)).toEqual(expected);
      const target = randomFactorisation(e.size, seed);
      if (viewPossible(e, target)) {
        expect(e.view(target).storage).toBe(t.storage);
      } else {
        expect(() => e.view(target)).toThrow(EinjitError);
        expect(e.reshape(target).storage).not.toBe(t.storage);
      }
      expect(values(e.reshape(target))).toEqual(expected);
    }), { numRuns: 150 });
  });
});

/** A deterministic pseudo-random factorisation of n into up to 4 factors. */
function randomFactorisation(n: number, seed: number): number[] {
  const out: number[] = [];
  let rest = n;
  let s = seed;
  while (out.length < 3 && rest > 1) {
    const divisors = Array.from({ length: rest }, (_, i) => i + 1).filter((d) => rest % d === 0);
    const d = divisors[s % divisors.length]!;
    s = Math.floor(s / 3) + 7;
    out.push(d);
    rest /= d;
  }
  out.push(rest);
  if (seed % 5 === 0) out.splice(seed % (out.length + 1), 0, 1);
  return out;
}

/**
 * Whether `target` can view t's elements without copying, by brute force: the memory offset of element k (in
 * row-major order) must be an affine function of k's multi-index in `target`.
 */
function viewPossible(t: Tensor, target: readonly number[]): boolean {
  const offsets = indices(t.shape).map((idx) => idx.reduce((o, i, d) => o + i * t.strides[d]!, t.offset));
  const all = indices(target);
  for (let d = 0; d < target.length; d++) {
    if (target[d]! <= 1) continue;
    let stride: number | null = null;
    for (const idx of all) {
      if (idx[d]! + 1 >= target[d]!) continue;
      const next = idx.slice();
      next[d]!++;
      const diff = offsets[flatIndex(target, next)]! - offsets[flatIndex(target, idx)]!;
      if (stride === null) stride = diff;
      else if (diff !== stride) return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------------------

describe('slicing', () => {
  const specArb = fc.record({
    start: fc.option(fc.integer({ min: -6, max: 6 }), { nil: undefined }),
    stop: fc.option(fc.integer({ min: -6, max: 6 }), { nil: undefined }),
    step: fc.constantFrom(1, 2, 3, -1, -2, -3),
  });

  it('agrees with a naive index computation for every start, stop and step (Python semantics)', () => {
    fc.assert(fc.property(caseArb(['float32'], 3), fc.array(specArb, { minLength: 3, maxLength: 3 }), ({ t, ref }, specs) => {
      let cur = t;
      let expected = ref;
      for (let d = 0; d < t.ndim; d++) {
        const { start, stop, step } = specs[d]!;
        cur = cur.slice(d, start, stop, step);
        expected = naiveSlice(expected, d, pySliceIndices(expected.shape[d]!, start, stop, step));
      }
      expect(cur.shape).toEqual(expected.shape);
      expect(values(cur)).toEqual(expected.data);
    }), RUNS);
  });

  it('reads the same through index() strings as through slice()', () => {
    fc.assert(fc.property(caseArb(['float32'], 3), fc.array(specArb, { minLength: 3, maxLength: 3 }), ({ t, ref }, specs) => {
      const strs = specs.slice(0, t.ndim).map(({ start, stop, step }) => `${start ?? ''}:${stop ?? ''}:${step}`);
      let expected = ref;
      specs.slice(0, t.ndim).forEach(({ start, stop, step }, d) => {
        expected = naiveSlice(expected, d, pySliceIndices(expected.shape[d]!, start, stop, step));
      });
      const got = t.index(...strs);
      expect(got.shape).toEqual(expected.shape);
      expect(values(got)).toEqual(expected.data);
    }), RUNS);
  });

  it('selects with negative indices and drops the dimension', () => {
    fc.assert(fc.property(caseArb(['float64'], 3).filter((c) => c.t.ndim > 0), fc.integer({ min: 0, max: 100 }), ({ t, ref }, k) => {
      const d = k % t.ndim;
      const n = t.shape[d]!;
      const i = (k % (2 * n)) - n; // -n .. n-1
      const got = t.select(d, i);
      const expected = naiveSlice(ref, d, [i < 0 ? i + n : i]);
      expect(got.shape).toEqual(expected.shape.filter((_, j) => j !== d));
      expect(values(got)).toEqual(expected.data);
    }), RUNS);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('broadcasting', () => {
  /** Two shapes that broadcast: some dims of each are 1 or missing. */
  const pairArb = shapeArb(4, 3).chain((out) => fc.tuple(
    fc.constant(out),
    fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }),
    fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }),
    fc.integer({ min: 0, max: out.length }),
    fc.integer({ min: 0, max: out.length }),
  )).map(([out, ones1, ones2, drop1, drop2]) => ({
    out,
    a: out.map((n, i) => (ones1[i] ? 1 : n)).slice(drop1),
    b: out.map((n, i) => (ones2[i] ? 1 : n)).slice(drop2),
  }));

  it('agrees with an explicit expand of both operands', () => {
    fc.assert(fc.property(pairArb, fc.constantFrom('add', 'sub', 'mul', 'div', 'maximum') as fc.Arbitrary<'add'>, ({ a, b }, op) => {
      const x = tensor(Array.from({ length: numel(a) }, (_, i) => i + 1), { shape: a });
      const y = tensor(Array.from({ length: numel(b) }, (_, i) => 2 * i - 3), { shape: b });
      const z = x[op](y);
      const shape = z.shape.slice();
      const expected = x.expand(shape)[op](y.expand(shape));
      expect(values(z)).toEqual(values(expected));
      // And with a naive broadcast read.
      const xs = values(x);
      const ys = values(y);
      const read = (arr: number[], s: readonly number[], idx: readonly number[]): number =>
        arr[flatIndex(s, idx.slice(idx.length - s.length).map((i, k) => (s[k] === 1 ? 0 : i)))]!;
      const f = { add: (p: number, q: number) => p + q, sub: (p: number, q: number) => p - q, mul: (p: number, q: number) => p * q,
        div: (p: number, q: number) => p / q, maximum: (p: number, q: number) => Math.max(p, q) }[op as string]!;
      expect(values(z)).toEqual(indices(shape).map((idx) => Math.fround(f(read(xs, a, idx), read(ys, b, idx)))));
    }), RUNS);
  });

  it('throws EinjitError naming both shapes when sizes differ and neither is 1', () => {
    expect(() => tensor([1, 2, 3]).add(tensor([1, 2]))).toThrow(EinjitError);
    let caught: unknown;
    try {
      tensor([[1, 2, 3]]).mul(tensor([[1, 2], [3, 4]]));
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(EinjitError);
    expect((caught as EinjitError).message).toContain('[1, 3]');
    expect((caught as EinjitError).message).toContain('[2, 2]');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Reductions against a naive fold over every index.

type RedOp = 'sum' | 'prod' | 'max' | 'min' | 'mean';

function naiveReduce(a: Nd, op: RedOp | 'argmax' | 'argmin', dims: readonly number[], keepdim: boolean): Nd {
  const outFull = a.shape.map((n, i) => (dims.includes(i) ? 1 : n));
  const acc = new Map<number, number[]>();
  for (const idx of indices(a.shape)) {
    const o = flatIndex(outFull, idx.map((v, i) => (dims.includes(i) ? 0 : v)));
    const list = acc.get(o) ?? [];
    list.push(at(a, idx));
    acc.set(o, list);
  }
  const fold = (xs: number[]): number => {
    switch (op) {
      case 'sum': return xs.reduce((p, q) => p + q, 0);
      case 'mean': return xs.reduce((p, q) => p + q, 0) / xs.length;
      case 'prod': return xs.reduce((p, q) => p * q, 1);
      case 'max': return Math.max(...xs);
      case 'min': return Math.min(...xs);
      case 'argmax': return xs.indexOf(Math.max(...xs));
      case 'argmin': return xs.indexOf(Math.min(...xs));
    }
  };
  const data = Array.from({ length: numel(outFull) }, (_, o) => fold(acc.get(o)!));
  return { shape: keepdim ? outFull : a.shape.filter((_, i) => !dims.includes(i)), data };
}

const close = (got: number[], want: number[], rel: number): void => {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => {
    const w = want[i]!;
    if (Math.abs(g - w) > rel * Math.max(1, Math.abs(w))) expect(g).toBe(w);
  });
};

describe('reductions', () => {
  const dimsArb = (rank: number): fc.Arbitrary<number[] | undefined> => fc.option(
    fc.subarray(Array.from({ length: rank }, (_, i) => i), { minLength: Math.min(1, rank) }).chain((ds) =>
      fc.array(fc.boolean(), { minLength: ds.length, maxLength: ds.length }).map((neg) => ds.map((d, i) => (neg[i] ? d - rank : d)))),
    { nil: undefined });

  for (const op of ['sum', 'prod', 'max', 'min', 'mean'] as const) {
    it(`${op} over all dims or any subset (keepdim or not) agrees with a naive fold on non-contiguous inputs`, () => {
      const dtypes: DType[] = op === 'mean' ? ['float32', 'float64'] : op === 'prod' ? ['float64'] : ['float32', 'float64', 'int32'];
      const arb = caseArb(dtypes, 4, op !== 'prod').chain((c) => fc.tuple(fc.constant(c), dimsArb(c.t.ndim), fc.boolean()));
      fc.assert(fc.property(arb, ([{ t, ref, dtype }, dims, keepdim]) => {
        const norm = dims === undefined ? ref.shape.map((_, i) => i) : dims.map((d) => (d < 0 ? d + ref.shape.length : d));
        const got = t[op](dims, keepdim);
        const want = naiveReduce(op === 'prod' ? { shape: ref.shape, data: ref.data.map((v) => 1 + v / 64) } : ref, op, norm, keepdim);
        if (op === 'prod') {
          const got2 = tensor(ref.data.map((v) => 1 + v / 64), { shape: ref.shape, dtype }).permute(ref.shape.map((_, i) => i))[op](dims, keepdim);
          expect(got2.shape).toEqual(want.shape);
          close(values(got2), want.data, 1e-12);
          // And through the non-contiguous view itself.
          const viewed = t.mul(1 / 64).add(1);
          close(values(viewed.prod(dims, keepdim)), want.data, 1e-12);
          return;
        }
        expect(got.shape).toEqual(want.shape);
        expect(got.dtype).toBe(dtype);
        close(values(got), want.data, dtype === 'float32' ? 1e-6 : 0);
      }), RUNS);
    });
  }

  it('argmax and argmin over one dim (or flattened) agree with a naive search, first index on ties', () => {
    const arb = caseArb(['float32', 'int32'], 4, false).chain((c) => fc.tuple(
      fc.constant(c),
      c.t.ndim === 0 ? fc.constant(undefined) : fc.option(fc.integer({ min: -c.t.ndim, max: c.t.ndim - 1 }), { nil: undefined }),
      fc.boolean(),
      fc.constantFrom('argmax', 'argmin') as fc.Arbitrary<'argmax' | 'argmin'>,
    ));
    fc.assert(fc.property(arb, ([{ t, ref }, dim, keepdim, op]) => {
      // Few distinct values, so ties are common.
      const small = t.remainder(3);
      const refSmall: Nd = { shape: ref.shape, data: ref.data.map((v) => ((v % 3) + 3) % 3) };
      const got = small[op](dim, keepdim);
      expect(got.dtype).toBe('int32');
      if (dim === undefined) {
        const want = naiveReduce({ shape: [refSmall.data.length], data: refSmall.data }, op, [0], false);
        expect(values(got)).toEqual(want.data);
        expect(got.shape).toEqual(keepdim ? ref.shape.map(() => 1) : []);
      } else {
        const d = dim < 0 ? dim + ref.shape.length : dim;
        const want = naiveReduce(refSmall, op, [d], keepdim);
        expect(got.shape).toEqual(want.shape);
        expect(values(got)).toEqual(want.data);
      }
    }), RUNS);
  });

  it('refuses max, min and argmax over an empty dimension with EinjitError', () => {
    const e = tensor(new Float32Array(0), { shape: [2, 0] });
    expect(() => e.max(1)).toThrow(EinjitError);
    expect(() => e.argmax()).toThrow(EinjitError);
    expect(values(e.sum(1))).toEqual([0, 0]);
    expect(values(e.prod(1))).toEqual([1, 1]);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('elementwise ops', () => {
  const floatArb = fc.double({ min: -30, max: 30, noNaN: true });
  const unaries: readonly [keyof Tensor & string, (x: number) => number, (x: number) => boolean][] = [
    ['neg', (x) => -x, () => true],
    ['abs', Math.abs, () => true],
    ['exp', Math.exp, () => true],
    ['log', Math.log, (x) => x > 0],
    ['sqrt', Math.sqrt, (x) => x >= 0],
    ['sin', Math.sin, () => true],
    ['cos', Math.cos, () => true],
    ['tanh', Math.tanh, () => true],
    ['floor', Math.floor, () => true],
    ['ceil', Math.ceil, () => true],
    ['sign', Math.sign, () => true],
    ['reciprocal', (x) => 1 / x, (x) => x !== 0],
    ['relu', (x) => Math.max(0, x), () => true],
    ['sigmoid', (x) => 1 / (1 + Math.exp(-x)), () => true],
    ['square', (x) => x * x, () => true],
  ];
  for (const [name, f, domain] of unaries) {
    it(`${name} agrees with Math on random float64 and float32 values`, () => {
      fc.assert(fc.property(fc.array(floatArb.filter(domain), { minLength: 1, maxLength: 20 }), (xs) => {
        const t64 = tensor(xs, { dtype: 'float64' });
        const call = (t: Tensor): Tensor => (t[name] as () => Tensor).call(t);
        close(values(call(t64)), xs.map(f), 1e-14);
        const x32 = xs.map(Math.fround);
        expect(values(call(tensor(xs)))).toEqual(x32.map((x) => Math.fround(f(x))));
      }), { numRuns: 25 });
    });
  }

  it('rounds half to even, as torch.round does', () => {
    expect(values(tensor([0.5, 1.5, 2.5, -0.5, -1.5, 2.4, -2.6]).round())).toEqual([0, 2, 2, -0, -2, 2, -3]);
  });

  it('computes remainder with the divisor\'s sign and floor division like Python', () => {
    fc.assert(fc.property(fc.integer({ min: -50, max: 50 }), fc.integer({ min: -9, max: 9 }).filter((b) => b !== 0), (a, b) => {
      const ta = tensor([a], { dtype: 'int32' });
      expect(values(ta.remainder(b))).toEqual([a - b * Math.floor(a / b) + 0]);
      expect(values(ta.floorDivide(b))).toEqual([Math.floor(a / b) + 0]);
    }), { numRuns: 50 });
  });

  it('binary ops on random values agree with JS arithmetic in float64', () => {
    fc.assert(fc.property(fc.array(fc.tuple(floatArb, floatArb.filter((v) => v !== 0)), { minLength: 1, maxLength: 12 }), (pairs) => {
      const a = tensor(pairs.map((p) => p[0]), { dtype: 'float64' });
      const b = tensor(pairs.map((p) => p[1]), { dtype: 'float64' });
      expect(values(a.add(b))).toEqual(pairs.map(([x, y]) => x + y));
      expect(values(a.sub(b))).toEqual(pairs.map(([x, y]) => x - y));
      expect(values(a.mul(b))).toEqual(pairs.map(([x, y]) => x * y));
      expect(values(a.div(b))).toEqual(pairs.map(([x, y]) => x / y));
      expect(values(a.maximum(b))).toEqual(pairs.map(([x, y]) => Math.max(x, y)));
      expect(values(a.lt(b))).toEqual(pairs.map(([x, y]) => Number(x < y)));
      expect(values(a.abs().pow(b))).toEqual(pairs.map(([x, y]) => Math.pow(Math.abs(x), y)));
    }), { numRuns: 50 });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Type promotion: PyTorch's documented rules (torch.result_type) restricted to einjit's dtypes.
// Categories bool < integral < floating. Among dimensioned tensors the result is the wider type of the highest
// category. A zero-dim tensor takes part only when its category is higher than every dimensioned operand's; a
// JS number (a Python scalar) only when its category is higher than every tensor's, and then it contributes the
// default dtype of its category (int32 here for PyTorch's int64, float32 for floats).

const D = ['bool', 'int32', 'float16', 'float32', 'float64'] as const;

/** result_type(dimensioned row, dimensioned column), written out cell by cell. */
const TENSOR_TABLE: Record<(typeof D)[number], Record<(typeof D)[number], DType>> = {
  bool: { bool: 'bool', int32: 'int32', float16: 'float16', float32: 'float32', float64: 'float64' },
  int32: { bool: 'int32', int32: 'int32', float16: 'float16', float32: 'float32', float64: 'float64' },
  float16: { bool: 'float16', int32: 'float16', float16: 'float16', float32: 'float32', float64: 'float64' },
  float32: { bool: 'float32', int32: 'float32', float16: 'float32', float32: 'float32', float64: 'float64' },
  float64: { bool: 'float64', int32: 'float64', float16: 'float64', float32: 'float64', float64: 'float64' },
};

/** result_type(dimensioned row, zero-dim column). */
const ZERO_DIM_TABLE: Record<(typeof D)[number], Record<(typeof D)[number], DType>> = {
  bool: { bool: 'bool', int32: 'int32', float16: 'float16', float32: 'float32', float64: 'float64' },
  int32: { bool: 'int32', int32: 'int32', float16: 'float16', float32: 'float32', float64: 'float64' },
  float16: { bool: 'float16', int32: 'float16', float16: 'float16', float32: 'float16', float64: 'float16' },
  float32: { bool: 'float32', int32: 'float32', float16: 'float32', float32: 'float32', float64: 'float32' },
  float64: { bool: 'float64', int32: 'float64', float16: 'float64', float32: 'float64', float64: 'float64' },
};

/** result_type(tensor row, scalar): an integer, a fractional number, a boolean. */
const SCALAR_TABLE: Record<(typeof D)[number], { int: DType; float: DType; bool: DType }> = {
  bool: { int: 'int32', float: 'float32', bool: 'bool' },
  int32: { int: 'int32', float: 'float32', bool: 'int32' },
  float16: { int: 'float16', float: 'float16', bool: 'float16' },
  float32: { int: 'float32', float: 'float32', bool: 'float32' },
  float64: { int: 'float64', float: 'float64', bool: 'float64' },
};

const ones = (dtype: DType, shape: number[]): Tensor => tensor(new Array(numel(shape)).fill(1), { shape, dtype });

describe('type promotion', () => {
  for (const a of D) {
    for (const b of D) {
      it(`${a} tensor with ${b} tensor gives ${TENSOR_TABLE[a][b]}; with a zero-dim ${b} gives ${ZERO_DIM_TABLE[a][b]}`, () => {
        expect(ones(a, [2]).add(ones(b, [2])).dtype).toBe(TENSOR_TABLE[a][b]);
        expect(ones(a, [2]).mul(ones(b, [])).dtype).toBe(ZERO_DIM_TABLE[a][b]);
        expect(ones(b, []).mul(ones(a, [2])).dtype).toBe(ZERO_DIM_TABLE[a][b]);
        // Two zero-dim tensors promote like dimensioned ones.
        expect(ones(a, []).add(ones(b, [])).dtype).toBe(TENSOR_TABLE[a][b]);
        // Comparisons are bool; true division of integral operands is float32.
        expect(ones(a, [2]).lt(ones(b, [2])).dtype).toBe('bool');
        const div = TENSOR_TABLE[a][b] === 'bool' || TENSOR_TABLE[a][b] === 'int32' ? 'float32' : TENSOR_TABLE[a][b];
        expect(ones(a, [2]).div(ones(b, [2])).dtype).toBe(div);
      });
    }
    it(`${a} tensor with a JS integer, fraction and boolean gives ${Object.values(SCALAR_TABLE[a]).join(', ')}`, () => {
      expect(ones(a, [2]).add(3).dtype).toBe(SCALAR_TABLE[a].int);
      expect(ones(a, [2]).mul(2.5).dtype).toBe(SCALAR_TABLE[a].float);
      expect(ones(a, [2]).add(true as unknown as number).dtype).toBe(SCALAR_TABLE[a].bool);
      expect(ones(a, []).add(3).dtype).toBe(SCALAR_TABLE[a].int);
    });
  }

  it('computes float16 in float32 and rounds the stored result to float16', () => {
    const h = tensor([1, 2, 3]).half();
    expect(h.mul(tensor([1, 2, 3])).dtype).toBe('float32');
    expect(values(h.add(0.0001))).toEqual([1, 2, 3]);
    expect(values(h.div(3))).toEqual([0.333251953125, 0.66650390625, 1]);
  });
});
