/**
 * Row fusion (src/jit/rows.ts): a reduction read broadcast by later loops becomes a row value of each of them, and
 * a map with row values folds into the one loop that reads it. The bug classes: a reduction matched to its reader
 * through the wrong loops or strides (a permuted input, a reduction over other dims than the reader's row), row
 * values folded in the wrong order or read through the wrong index, a reduction recomputed in a reader after
 * something overwrote what it reads, and a returned reduction that disappears.
 *
 * Random row programs — softmax-like shifts and normalisations, standardisation over any subset of dims,
 * reductions of every kind read back by maps, a permuted input and a broadcast one — run jitted (the trace call and
 * two replays) against a float64 evaluation written here, with an error bound carried through each operation.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jit, nn, noGrad, tensor, type Device, type Tensor } from '../../src/index.js';
import { DEVICES } from '../helpers/devices.js';
import { prng } from '../helpers/random.js';

type Step =
  | { readonly k: 'map1'; readonly op: 'neg' | 'tanh'; readonly a: number }
  | { readonly k: 'map2'; readonly op: 'add' | 'sub' | 'mul'; readonly a: number; readonly b: number }
  | { readonly k: 'reduce'; readonly op: 'sum' | 'mean' | 'max' | 'min'; readonly dims: readonly number[]; readonly a: number }
  /** exp(a - max(a over dims)): softmax's numerator. */
  | { readonly k: 'shift'; readonly dims: readonly number[]; readonly a: number }
  /** a / sum(a over dims), for a positive a. */
  | { readonly k: 'normalise'; readonly dims: readonly number[]; readonly a: number }
  /** (a - mean) * rsqrt(mean((a - mean)²) + 0.1): layer or batch norm, over dims. */
  | { readonly k: 'standardise'; readonly dims: readonly number[]; readonly a: number }
  /** a.transpose(i, j), for dims of the same extent: a reduction or a row map read through other strides. */
  | { readonly k: 'swap'; readonly i: number; readonly j: number; readonly a: number };

interface Program {
  readonly shape: readonly number[];
  /** x is stored in this order of the logical dims and permuted back inside the function. */
  readonly storage: readonly number[];
  /** The dims along which w broadcasts (extent 1). */
  readonly wOnes: readonly number[];
  /** Nodes 0 (x) and 1 (w), then one per step. */
  readonly steps: readonly Step[];
  /** Also return this node (a reduction that must survive, being returned), or -1. */
  readonly alsoReturn: number;
  /**
   * Reductions returned after those (of nodes over dims, keepdim): siblings of the row kernels over the same
   * rows, which the pass moves into them as stored row values.
   */
  readonly extra: readonly { readonly op: 'sum' | 'max' | 'min'; readonly dims: readonly number[]; readonly a: number }[];
}

/**
 * A node's values in float64 over the full shape (broadcast along the dims where the node has extent 1), their error
 * bound, and the node's own shape (a reduction keeps its dims with extent 1; reducing such a dim again is a no-op).
 */
interface Field { readonly v: Float64Array; readonly e: Float64Array; readonly shape: readonly number[] }

function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let d = shape.length - 2; d >= 0; d--) s[d] = s[d + 1]! * shape[d + 1]!;
  return s;
}

/** For each flat index of `shape`, the flat indices of the points that share its coordinates outside `dims`. */
function groups(shape: readonly number[], dims: readonly number[]): number[][] {
  const st = strides(shape);
  const n = shape.reduce((a, b) => a * b, 1);
  const byKey = new Map<string, number[]>();
  const keyOf: string[] = [];
  for (let i = 0; i < n; i++) {
    const key = shape.map((_, d) => (dims.includes(d) ? 0 : Math.floor(i / st[d]!) % shape[d]!)).join(',');
    keyOf.push(key);
    const g = byKey.get(key) ?? [];
    g.push(i);
    byKey.set(key, g);
  }
  return keyOf.map((k) => byKey.get(k)!);
}

const EPS = 0.1;

/** A reduction of a field over dims (keepdim), with its error bound. */
function reduceField(p: Program, a: Field, op: 'sum' | 'mean' | 'max' | 'min', dims: readonly number[]): Field {
  const g = groups(p.shape, dims.filter((d) => a.shape[d]! > 1));
  const v = new Float64Array(a.v.length);
  const e = new Float64Array(a.v.length);
  for (let i = 0; i < a.v.length; i++) {
    const members = g[i]!;
    const vs = members.map((j) => a.v[j]!);
    const es = members.map((j) => a.e[j]!);
    if (op === 'max' || op === 'min') {
      const m = op === 'max' ? Math.max(...vs) : Math.min(...vs);
      [v[i], e[i]] = [m, Math.max(...es) + Math.abs(m)];
      continue;
    }
    const s = vs.reduce((t, y) => t + y, 0);
    const abs = vs.reduce((t, y) => t + Math.abs(y), 0);
    const bound = es.reduce((t, y) => t + y, 0) + members.length * abs;
    [v[i], e[i]] = op === 'sum' ? [s, bound] : [s / members.length, bound / members.length + Math.abs(s / members.length)];
  }
  return { v, e, shape: a.shape.map((s, d) => (dims.includes(d) ? 1 : s)) };
}

/** The float64 evaluation of a program; `e` bounds each value's float32 error in units of about 2⁻²⁴. */
function evaluate(p: Program, x: readonly number[], w: readonly number[]): Field[] {
  const n = x.length;
  const st = strides(p.shape);
  const wShape = p.shape.map((s, d) => (p.wOnes.includes(d) ? 1 : s));
  const wSt = strides(wShape);
  const wAt = (i: number): number => w[p.shape.reduce((at, _, d) => at + (p.wOnes.includes(d) ? 0 : (Math.floor(i / st[d]!) % p.shape[d]!) * wSt[d]!), 0)]!;
  const map = (shape: readonly number[], f: (i: number) => [number, number]): Field => {
    const v = new Float64Array(n);
    const e = new Float64Array(n);
    for (let i = 0; i < n; i++) [v[i], e[i]] = f(i);
    return { v, e, shape };
  };
  const reduce = (a: Field, op: 'sum' | 'mean' | 'max' | 'min', dims: readonly number[]): Field => reduceField(p, a, op, dims);
  const fields: Field[] = [
    map(p.shape, (i) => [x[i]!, Math.abs(x[i]!)]),
    map(wShape, (i) => [wAt(i), Math.abs(wAt(i))]),
  ];
  for (const s of p.steps) {
    const a = fields[s.a]!;
    switch (s.k) {
      case 'map1':
        fields.push(s.op === 'neg' ? map(a.shape, (i) => [-a.v[i]!, a.e[i]!]) : map(a.shape, (i) => [Math.tanh(a.v[i]!), a.e[i]! + 1]));
        break;
      case 'map2': {
        const b = fields[s.b]!;
        fields.push(map(a.shape.map((s, d) => Math.max(s, b.shape[d]!)), (i) => {
          const [va, vb, ea, eb] = [a.v[i]!, b.v[i]!, a.e[i]!, b.e[i]!];
          const r = s.op === 'add' ? va + vb : s.op === 'sub' ? va - vb : va * vb;
          return [r, (s.op === 'mul' ? Math.abs(vb) * ea + Math.abs(va) * eb : ea + eb) + Math.abs(r)];
        }));
        break;
      }
      case 'reduce':
        fields.push(reduce(a, s.op, s.dims));
        break;
      case 'shift': {
        const m = reduce(a, 'max', s.dims);
        fields.push(map(a.shape, (i) => { const r = Math.exp(a.v[i]! - m.v[i]!); return [r, r * (a.e[i]! + m.e[i]! + 1) + r]; }));
        break;
      }
      case 'normalise': {
        const t = reduce(a, 'sum', s.dims);
        fields.push(map(a.shape, (i) => { const r = a.v[i]! / t.v[i]!; return [r, (a.e[i]! + Math.abs(r) * t.e[i]!) / t.v[i]! + Math.abs(r)]; }));
        break;
      }
      case 'swap': {
        const swapped = (i: number): number => i + (Math.floor(i / st[s.j]!) % p.shape[s.j]! - Math.floor(i / st[s.i]!) % p.shape[s.i]!) * (st[s.i]! - st[s.j]!);
        const shape = a.shape.map((e, d) => (d === s.i ? a.shape[s.j]! : d === s.j ? a.shape[s.i]! : e));
        fields.push(map(shape, (i) => [a.v[swapped(i)]!, a.e[swapped(i)]!]));
        break;
      }
      case 'standardise': {
        const mean = reduce(a, 'mean', s.dims);
        const c = map(a.shape, (i) => [a.v[i]! - mean.v[i]!, a.e[i]! + mean.e[i]! + Math.abs(a.v[i]! - mean.v[i]!)]);
        const sq = map(a.shape, (i) => [c.v[i]! ** 2, 2 * Math.abs(c.v[i]!) * c.e[i]! + c.v[i]! ** 2]);
        const vr = reduce(sq, 'mean', s.dims);
        fields.push(map(a.shape, (i) => {
          const r = 1 / Math.sqrt(vr.v[i]! + EPS);
          // d rsqrt(u) = -½ u^(-3/2) du
          const er = 0.5 * r ** 3 * vr.e[i]! + r;
          return [c.v[i]! * r, Math.abs(r) * c.e[i]! + Math.abs(c.v[i]!) * er + Math.abs(c.v[i]! * r)];
        }));
        break;
      }
    }
  }
  return fields;
}

/** The program in einjit's tensor ops (reductions keep their dims). */
function build(p: Program, x: Tensor, w: Tensor): Tensor[] {
  const inverse = p.storage.map((_, d) => p.storage.indexOf(d));
  const nodes: Tensor[] = [x.permute(inverse), w];
  for (const s of p.steps) {
    const a = nodes[s.a]!;
    switch (s.k) {
      case 'map1': nodes.push(s.op === 'neg' ? a.neg() : a.tanh()); break;
      case 'map2': nodes.push(a[s.op](nodes[s.b]!)); break;
      case 'reduce': nodes.push(a[s.op]([...s.dims], true)); break;
      case 'shift': nodes.push(a.sub(a.max([...s.dims], true)).exp()); break;
      case 'normalise': nodes.push(a.div(a.sum([...s.dims], true))); break;
      case 'swap': nodes.push(a.transpose(s.i, s.j)); break;
      case 'standardise': {
        const c = a.sub(a.mean([...s.dims], true));
        nodes.push(c.mul(c.mul(c).mean([...s.dims], true).add(EPS).rsqrt()));
        break;
      }
    }
  }
  const out = [nodes[nodes.length - 1]!];
  if (p.alsoReturn >= 0) out.push(nodes[p.alsoReturn]!);
  for (const r of p.extra) out.push(nodes[r.a]![r.op]([...r.dims], true));
  return out;
}

/** Shapes of rank 2 or 3, often with two dims of one extent (so transposes and mismatched strides come up). */
const shapeArb: fc.Arbitrary<number[]> = fc.oneof(
  fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 2, maxLength: 3 }),
  fc.tuple(fc.integer({ min: 2, max: 4 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 3 }))
    .map(([n, m, k]) => (k === 0 ? [n, n] : k === 1 ? [n, n, m] : k === 2 ? [n, m, n] : [m, n, n])),
);

const programArb: fc.Arbitrary<Program> = shapeArb.chain((shape) => {
  const rank = shape.length;
  const all = [...shape.keys()];
  const dims = fc.subarray(all, { minLength: 1 });
  // Mostly the last dim or the last two (softmax, layer norm), sometimes any subset (batch norm's [0, 2]).
  const rowDims = fc.oneof(fc.constant([rank - 1]), fc.constant([rank - 2, rank - 1]), dims);
  const step = (nodes: number): fc.Arbitrary<Step> => {
    const node = fc.integer({ min: 0, max: nodes - 1 });
    // Mostly the latest node, so the steps chain.
    const recent = fc.oneof({ weight: 3, arbitrary: fc.constant(nodes - 1) }, { weight: 1, arbitrary: node });
    return fc.oneof(
      fc.record({ k: fc.constant('map1' as const), op: fc.constantFrom('neg' as const, 'tanh' as const), a: recent }),
      fc.record({ k: fc.constant('map2' as const), op: fc.constantFrom('add' as const, 'sub' as const, 'mul' as const), a: recent, b: node }),
      fc.record({ k: fc.constant('reduce' as const), op: fc.constantFrom('sum' as const, 'mean' as const, 'max' as const, 'min' as const), dims: rowDims, a: recent }),
      fc.record({ k: fc.constant('shift' as const), dims: rowDims, a: recent }),
      fc.record({ k: fc.constant('normalise' as const), dims: rowDims, a: recent }),
      fc.record({ k: fc.constant('standardise' as const), dims: rowDims, a: recent }),
      fc.record({ k: fc.constant('swap' as const), i: fc.integer({ min: 0, max: rank - 1 }), j: fc.integer({ min: 0, max: rank - 1 }), a: recent }),
    );
  };
  const steps = (count: number): fc.Arbitrary<Step[]> => {
    let arb: fc.Arbitrary<Step[]> = fc.constant([]);
    for (let j = 0; j < count; j++) arb = arb.chain((done) => step(2 + done.length).map((s) => [...done, s]));
    return arb;
  };
  return fc.record({
    shape: fc.constant(shape),
    storage: fc.shuffledSubarray(all, { minLength: rank, maxLength: rank }),
    wOnes: fc.subarray(all),
    steps: fc.integer({ min: 1, max: 6 }).chain(steps),
    alsoReturn: fc.integer({ min: -3, max: 6 }),
    extra: fc.array(fc.record({ op: fc.constantFrom('sum' as const, 'max' as const, 'min' as const), dims: rowDims, a: fc.nat() }), { minLength: 1, maxLength: 2 }),
  }).map((p) => {
    // normalise divides by a sum: only of a node known to be positive; otherwise it shifts first.
    const fields: boolean[] = [false, false];
    const fixed = p.steps.map((s): Step => {
      // A transpose of dims whose extents differ would not broadcast against the rest: negate instead.
      const t: Step = s.k === 'normalise' && !fields[s.a]! ? { k: 'shift', dims: s.dims, a: s.a }
        : s.k === 'swap' && (s.i === s.j || shape[s.i] !== shape[s.j]) ? { k: 'map1', op: 'neg', a: s.a } : s;
      fields.push(t.k === 'shift' || t.k === 'normalise' || (t.k === 'swap' && fields[t.a]!) ||
        (t.k === 'map2' && t.op !== 'sub' && fields[t.a]! && fields[t.b]!) || (t.k === 'reduce' && t.op !== 'min' && fields[t.a]!));
      return t;
    });
    const nodes = 2 + fixed.length;
    const also = p.alsoReturn >= 2 && p.alsoReturn < nodes - 1 ? p.alsoReturn : -1;
    return { ...p, steps: fixed, alsoReturn: also, extra: p.extra.map((r) => ({ ...r, a: r.a % nodes })) };
  });
});

function inputs(p: Program, seed: number): { x: number[]; w: number[] } {
  const r = prng(seed);
  const n = p.shape.reduce((a, b) => a * b, 1);
  const nw = p.shape.reduce((a, b, d) => a * (p.wOnes.includes(d) ? 1 : b), 1);
  return { x: Array.from({ length: n }, () => Math.fround(r() * 4 - 2)), w: Array.from({ length: nw }, () => Math.fround(r() * 4 - 2)) };
}

/** x in its storage order: element at logical index i goes where the permuted layout puts it. */
function stored(p: Program, x: readonly number[]): number[] {
  const sShape = p.storage.map((d) => p.shape[d]!);
  const sSt = strides(sShape);
  const st = strides(p.shape);
  const out = new Array<number>(x.length);
  for (let i = 0; i < x.length; i++) {
    out[p.storage.reduce((at, d, k) => at + (Math.floor(i / st[d]!) % p.shape[d]!) * sSt[k]!, 0)] = x[i]!;
  }
  return out;
}

/** Compares an output (keepdim shape) with a full-shape field: each output element against its first point. */
async function expectField(got: Tensor, f: Field, p: Program, what: string): Promise<void> {
  const g = await got.data();
  const shape = got.shape;
  const st = strides(p.shape);
  const gSt = strides(shape);
  const n = f.v.length;
  expect(shape.every((s, d) => s === p.shape[d] || s === 1), what).toBe(true);
  for (let i = 0; i < n; i++) {
    const at = p.shape.reduce((a, _, d) => a + (shape[d] === 1 ? 0 : (Math.floor(i / st[d]!) % p.shape[d]!) * gSt[d]!), 0);
    const want = f.v[i]!;
    const tol = 4e-6 * f.e[i]! + 1e-6;
    if (!(Math.abs(Number(g[at]) - want) <= tol)) expect.fail(`${what}: [${i}] got ${g[at]}, want ${want} (±${tol.toExponential(1)})`);
  }
}

describe.each(DEVICES)('row fusion on %s', (device: Device) => {
  it('random row programs match a float64 evaluation on the trace call and on replays, with no more launches than eager', { timeout: 300_000 }, async () => {
    const numRuns = device === 'cpu' ? 200 : 40;
    // Programs whose schedule has a kernel with row values: the property must exercise the pass, not only pass.
    let withRows = 0;
    let withStores = 0;
    await fc.assert(fc.asyncProperty(programArb, fc.integer({ min: 1, max: 1 << 30 }), async (p, seed) => {
      const f = jit((x: Tensor, w: Tensor) => build(p, x, w));
      for (let call = 0; call < 3; call++) {
        const { x, w } = inputs(p, seed + call);
        const xt = tensor(stored(p, x), { shape: p.storage.map((d) => p.shape[d]!), device });
        const wt = tensor(w, { shape: p.shape.map((s, d) => (p.wOnes.includes(d) ? 1 : s)), device });
        const out = noGrad(() => f(xt, wt)) as unknown as Tensor[];
        const fields = evaluate(p, x, w);
        const what = `${JSON.stringify(p)} call ${call}\n${call > 0 ? f.explain() : ''}`;
        await expectField(out[0]!, fields[fields.length - 1]!, p, what);
        if (p.alsoReturn >= 0) await expectField(out[1]!, fields[p.alsoReturn]!, p, `${what} (returned node ${p.alsoReturn})`);
        const first = p.alsoReturn >= 0 ? 2 : 1;
        for (const [k, r] of p.extra.entries()) {
          await expectField(out[first + k]!, reduceField(p, fields[r.a]!, r.op, r.dims), p, `${what} (extra reduction ${k})`);
        }
      }
      const s = f.stats()!;
      expect(s.traces).toBe(1);
      expect(s.launches).toBeLessThanOrEqual(s.eagerLaunches);
      if (/per row over loops/.test(f.explain())) withRows++;
      if (/\(stored\)/.test(f.explain())) withStores++;
    }), { numRuns });
    expect(withRows).toBeGreaterThan(numRuns / 3);
    // Reductions kept written and computed as row values (RowValue.store): their own reader's or a sibling's.
    expect(withStores).toBeGreaterThan(numRuns / 10);
  });

  const input = (shape: number[], seed: number): { t: Tensor; v: number[] } => {
    const r = prng(seed);
    const v = Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => Math.fround(r() * 4 - 2));
    return { t: tensor(v, { shape, device }), v };
  };

  it('batch norm statistics over [0, 2] of [N, C, L], read back by the normalisation: one kernel', async () => {
    const [N, C, L] = [3, 4, 5];
    const f = jit((x: Tensor) => {
      const mean = x.mean([0, 2], true);
      const c = x.sub(mean);
      return c.mul(c.mul(c).mean([0, 2], true).add(1e-5).rsqrt());
    });
    for (const seed of [1, 2]) {
      const { t, v } = input([N, C, L], seed);
      const out = await (noGrad(() => f(t)) as Tensor).data();
      for (let c = 0; c < C; c++) {
        const idx = Array.from({ length: N * L }, (_, k) => Math.floor(k / L) * C * L + c * L + (k % L));
        const mean = idx.reduce((a, i) => a + v[i]!, 0) / idx.length;
        const vr = idx.reduce((a, i) => a + (v[i]! - mean) ** 2, 0) / idx.length;
        for (const i of idx) expect(out[i]).toBeCloseTo((v[i]! - mean) / Math.sqrt(vr + 1e-5), 5);
      }
    }
    // Eager: mean (sum, scale), sub, mul, mean, add, rsqrt, mul.
    expect(f.stats()!.launches).toBe(1);
  });

  it('log softmax over a permuted input\'s first dim: the max and the log-sum as row values', async () => {
    const [R, K] = [5, 7];
    const f = jit((x: Tensor) => x.permute(1, 0).logSoftmax(0));
    for (const seed of [3, 4]) {
      const { t, v } = input([K, R], seed);
      const out = await (noGrad(() => f(t)) as Tensor).data();
      // x is [K, R]; its permute is [R, K], normalised over dim 0: column k of the output is row k of x.
      for (let k = 0; k < K; k++) {
        const col = Array.from({ length: R }, (_, r) => v[k * R + r]!);
        const m = Math.max(...col);
        const lse = m + Math.log(col.reduce((a, y) => a + Math.exp(y - m), 0));
        for (let r = 0; r < R; r++) expect(out[r * K + k]).toBeCloseTo(col[r]! - lse, 5);
      }
    }
    // exp is read once (by the sum), so even the CPU takes the whole log softmax in one kernel.
    expect(f.stats()!.launches).toBe(1);
  });

  it('a reduction over a permuted input read back through a transpose of its two equal dims: matched by strides, not extents', async () => {
    // x is stored [4, 3, 3] and read as [3, 3, 4]: the reduction's two parallel loops (both of extent 3) do not
    // merge, and the reader indexes them swapped.
    const f = jit((x: Tensor) => {
      const t = x.permute(2, 1, 0);
      return t.sub(t.max(2, true).transpose(0, 1)).exp();
    });
    for (const seed of [11, 12]) {
      const { t, v } = input([4, 3, 3], seed);
      const out = await (noGrad(() => f(t)) as Tensor).data();
      const at = (i: number, j: number, k: number): number => v[k * 9 + j * 3 + i]!;
      for (let i = 0; i < 3; i++) {
        for (let j = 0; j < 3; j++) {
          const m = Math.max(...[0, 1, 2, 3].map((k) => at(j, i, k)));
          for (let k = 0; k < 4; k++) expect(out[i * 12 + j * 4 + k]).toBeCloseTo(Math.exp(at(i, j, k) - m), 5);
        }
      }
    }
    expect(f.explain()).toMatch(/per row over loops 2\.\.2: max/);
  });

  it('a reduction read broadcast over a loop of another extent than the one it reduced stays a kernel of its own', async () => {
    // s = sum of w's 3 rows (one number), read by a [1, 4] map: its broadcast loop has extent 4, its row extent 3.
    const f = jit((x: Tensor, w: Tensor) => x.sum(0, true).add(w.sum(0, true)));
    for (const seed of [13, 14]) {
      const x = input([3, 4], seed);
      const w = input([3, 1], seed + 100);
      const out = await (noGrad(() => f(x.t, w.t)) as Tensor).data();
      const s = w.v.reduce((a, b) => a + b, 0);
      for (let j = 0; j < 4; j++) expect(out[j]).toBeCloseTo(x.v[j]! + x.v[4 + j]! + x.v[8 + j]! + s, 5);
    }
  });

  it('a reduction whose input is overwritten before its reader runs is not moved into the reader', async () => {
    const f = jit((x: Tensor) => {
      const t = x.mul(2);
      const m = t.max(-1, true);
      t.add_(1);
      return t.sub(m);
    });
    for (const seed of [5, 6]) {
      const { t, v } = input([4, 6], seed);
      const out = await (noGrad(() => f(t)) as Tensor).data();
      for (let i = 0; i < 4; i++) {
        const m = Math.max(...v.slice(i * 6, i * 6 + 6).map((y) => 2 * y));
        for (let j = 0; j < 6; j++) expect(out[i * 6 + j]).toBeCloseTo(2 * v[i * 6 + j]! + 1 - m, 5);
      }
    }
  });

  it('a reduction whose reader writes its input through another view is not moved into the reader', async () => {
    // m[i] = max of row i of t; the copy writes column i of t at row i of its loops, so a max folded per row of
    // the copy would read columns the copy has already overwritten.
    const f = jit((x: Tensor, y: Tensor) => {
      const t = x.mul(1);
      const m = t.max(-1, true);
      t.transpose(0, 1).copy_(y.sub(m));
      return t;
    });
    for (const seed of [15, 16]) {
      const x = input([5, 5], seed);
      const y = input([5, 5], seed + 50);
      const out = await (noGrad(() => f(x.t, y.t)) as Tensor).data();
      for (let i = 0; i < 5; i++) {
        const m = Math.max(...x.v.slice(i * 5, i * 5 + 5));
        for (let j = 0; j < 5; j++) expect(out[j * 5 + i]).toBeCloseTo(y.v[i * 5 + j]! - m, 5);
      }
    }
  });

  it('a reduction whose result is overwritten before it is read is not recomputed by its reader', async () => {
    // The update reads z, not m: only the check on m's other writers keeps the max out of the subtraction.
    const f = jit((x: Tensor, z: Tensor) => {
      const m = x.max(-1, true);
      m.copy_(z.mul(2));
      return x.sub(m);
    });
    for (const seed of [17, 18]) {
      const { t, v } = input([4, 6], seed);
      const z = input([4, 1], seed + 50);
      const out = await (noGrad(() => f(t, z.t)) as Tensor).data();
      for (let i = 0; i < 4; i++) {
        for (let j = 0; j < 6; j++) expect(out[i * 6 + j]).toBeCloseTo(v[i * 6 + j]! - 2 * z.v[i]!, 5);
      }
    }
  });

  const rowMax = (v: readonly number[], i: number, n: number): number => Math.max(...v.slice(i * n, (i + 1) * n));

  it('a returned max read back by its softmax shift: folded in the shift\'s rows and stored there, one kernel', async () => {
    const f = jit((x: Tensor) => {
      const m = x.max(-1, true);
      return [x.sub(m).exp(), m];
    });
    for (const seed of [21, 22]) {
      const { t, v } = input([4, 6], seed);
      const [e, m] = noGrad(() => f(t)) as Tensor[];
      const [ev, mv] = [await e!.data(), await m!.data()];
      for (let i = 0; i < 4; i++) {
        expect(mv[i]).toBe(rowMax(v, i, 6));
        for (let j = 0; j < 6; j++) expect(ev[i * 6 + j]).toBeCloseTo(Math.exp(v[i * 6 + j]! - rowMax(v, i, 6)), 6);
      }
    }
    expect(f.stats()!.launches).toBe(1);
    expect(f.explain()).toMatch(/max \(stored\)/);
  });

  it('a returned sum that its reader reads at one row of each outer point only is not stored there (it would be partial)', async () => {
    // r is [3, 4, 1]; the product reads r[:, 0:1, :] broadcast over 5: a row value stored by it would fill r[:, 0].
    // (x is transposed so the sum keeps its loops over 3 and 4 apart: over one loop of 12 nothing would match.)
    const f = jit((x: Tensor, z: Tensor) => {
      const r = x.transpose(0, 1).sum(2, true);
      return [z.mul(r.narrow(1, 0, 1)), r];
    });
    for (const seed of [23, 24]) {
      const x = input([4, 3, 5], seed);
      const z = input([3, 1, 5], seed + 50);
      const [p, r] = noGrad(() => f(x.t, z.t)) as Tensor[];
      const [pv, rv] = [await p!.data(), await r!.data()];
      // r[i, j] sums x[j, i, :].
      const want = Array.from({ length: 12 }, (_, k) => {
        const [i, j] = [Math.floor(k / 4), k % 4];
        return x.v.slice((j * 3 + i) * 5, (j * 3 + i) * 5 + 5).reduce((a, b) => a + b, 0);
      });
      for (let k = 0; k < 12; k++) expect(rv[k]).toBeCloseTo(want[k]!, 5);
      for (let i = 0; i < 3; i++) for (let j = 0; j < 5; j++) expect(pv[i * 5 + j]).toBeCloseTo(z.v[i * 5 + j]! * want[i * 4]!, 5);
    }
  });

  it('a reduction read by a matmul is not moved into a sibling row kernel after that matmul', async () => {
    const q = input([4, 2], 25);
    const f = jit((x: Tensor) => {
      const s = x.sum(-1, true);
      const y = s.reshape(1, 4).matmul(q.t);
      return [y, x.sub(x.max(-1, true)).exp()];
    });
    for (const seed of [26, 27]) {
      const { t, v } = input([4, 6], seed);
      const [y, e] = noGrad(() => f(t)) as Tensor[];
      const [yv, ev] = [await y!.data(), await e!.data()];
      const sums = [0, 1, 2, 3].map((i) => v.slice(i * 6, i * 6 + 6).reduce((a, b) => a + b, 0));
      for (let c = 0; c < 2; c++) expect(yv[c]).toBeCloseTo(sums.reduce((a, sv, i) => a + sv * q.v[i * 2 + c]!, 0), 4);
      for (let k = 0; k < 24; k++) expect(ev[k]).toBeCloseTo(Math.exp(v[k]! - rowMax(v, Math.floor(k / 6), 6)), 6);
    }
  });

  it('a returned reduction whose input is overwritten before a sibling row kernel is not moved into it', async () => {
    const eye = tensor([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1], { shape: [4, 4], device });
    const f = jit((x: Tensor, z: Tensor) => {
      const t = eye.matmul(x);
      const s = t.sum(-1, true);
      t.copy_(z);
      return [s, t.sub(t.max(-1, true)).exp()];
    });
    for (const seed of [28, 29]) {
      const x = input([4, 6], seed);
      const z = input([4, 6], seed + 50);
      const [sm, e] = noGrad(() => f(x.t, z.t)) as Tensor[];
      const [sv, ev] = [await sm!.data(), await e!.data()];
      for (let i = 0; i < 4; i++) expect(sv[i]).toBeCloseTo(x.v.slice(i * 6, i * 6 + 6).reduce((a, b) => a + b, 0), 5);
      for (let k = 0; k < 24; k++) expect(ev[k]).toBeCloseTo(Math.exp(z.v[k]! - rowMax(z.v, Math.floor(k / 6), 6)), 6);
    }
  });

  it('the same max returned twice, one read by a shift: each result written (one row value cannot store both)', async () => {
    const f = jit((x: Tensor) => {
      const a = x.max(-1, true);
      const b = x.max(-1, true);
      return [x.sub(a).exp(), a, b];
    });
    for (const seed of [32, 33]) {
      const { t, v } = input([4, 6], seed);
      const [e, a, b] = noGrad(() => f(t)) as Tensor[];
      const [ev, av, bv] = [await e!.data(), await a!.data(), await b!.data()];
      for (let i = 0; i < 4; i++) {
        expect([av[i], bv[i]]).toEqual([rowMax(v, i, 6), rowMax(v, i, 6)]);
        for (let j = 0; j < 6; j++) expect(ev[i * 6 + j]).toBeCloseTo(Math.exp(v[i * 6 + j]! - rowMax(v, i, 6)), 6);
      }
    }
  });

  it('two returned sums over the same rows, neither read again: one kernel, both stored', async () => {
    const f = jit((x: Tensor, w: Tensor) => [x.sum(0, true), x.mul(w).sum(0, true)]);
    for (const seed of [30, 31]) {
      const x = input([5, 3], seed);
      const w = input([5, 3], seed + 50);
      const [a, b] = noGrad(() => f(x.t, w.t)) as Tensor[];
      const [av, bv] = [await a!.data(), await b!.data()];
      for (let j = 0; j < 3; j++) {
        expect(av[j]).toBeCloseTo([0, 1, 2, 3, 4].reduce((acc, i) => acc + x.v[i * 3 + j]!, 0), 5);
        expect(bv[j]).toBeCloseTo([0, 1, 2, 3, 4].reduce((acc, i) => acc + x.v[i * 3 + j]! * w.v[i * 3 + j]!, 0), 5);
      }
    }
    expect(f.stats()!.launches).toBe(1);
  });

  it('layer norm with an affine over the last two dims of [B, T, D]: one kernel', async () => {
    const [B, T, D] = [2, 3, 4];
    const weight = input([T, D], 7);
    const bias = input([T, D], 8);
    const f = jit((x: Tensor) => nn.functional.layerNorm(x, [T, D], weight.t, bias.t));
    for (const seed of [9, 10]) {
      const { t, v } = input([B, T, D], seed);
      const out = await (noGrad(() => f(t)) as Tensor).data();
      for (let b = 0; b < B; b++) {
        const row = v.slice(b * T * D, (b + 1) * T * D);
        const mean = row.reduce((a, y) => a + y, 0) / row.length;
        const vr = row.reduce((a, y) => a + (y - mean) ** 2, 0) / row.length;
        row.forEach((y, k) => expect(out[b * T * D + k]).toBeCloseTo((y - mean) / Math.sqrt(vr + 1e-5) * weight.v[k]! + bias.v[k]!, 5));
      }
    }
    expect(f.stats()!.launches).toBe(1);
  });
});
