/**
 * Loop kernels with row values (LoopSpec.rows, what jit's fused softmax and layer norm run): per point of the
 * outer loops, each value is folded over the row's loops from the inputs and the values before it, rounded to
 * float32, and the map (or reduction) then reads them as extra inputs. Checked on random shapes, layouts (dense in
 * any loop order, broadcast, strided), ops and expressions on the generated CPU kernel, the CPU interpreter and the
 * WGSL kernel, against a float64 evaluation written here.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { interpretLoop } from '../../kernels/cpu/interpret.js';
import { loopParams, renderLoop, runLoop } from '../../kernels/cpu/loop.js';
import type { WebGPUBackend } from '../../kernels/wgsl/index.js';
import { ex, specKey, type Access, type Expr, type LoopSpec, type RowOp } from '../../src/lower/spec.js';
import { gpuAvailable, openBackend } from '../wgsl/setup.js';

interface Case {
  readonly spec: LoopSpec;
  readonly data: readonly Float32Array[];
  readonly outLength: number;
}

function denseStrides(sizes: readonly number[], perm: readonly number[]): number[] {
  const strides = new Array<number>(sizes.length).fill(0);
  let step = 1;
  for (let k = perm.length - 1; k >= 0; k--) {
    strides[perm[k]!] = step;
    step *= sizes[perm[k]!]!;
  }
  return strides;
}

const U = 2 ** -24;

/**
 * An expression's value in float64 and a first-order bound on how far a float32 evaluation of it can be (each
 * operation rounded; WGSL's exp within 3 + 2|x| ULP, as the WGSL spec allows), given bounds `err` on its operands.
 */
function bounded(e: Expr, v: readonly number[], err: readonly number[]): [number, number] {
  switch (e.kind) {
    case 'input': return [v[e.index]!, err[e.index]!];
    case 'const': return [e.value, 0];
    case 'unary': {
      const [a, ea] = bounded(e.arg, v, err);
      if (e.op === 'neg') return [-a, ea];
      if (e.op === 'exp') { const r = Math.exp(a); return [r, r * (Math.expm1(ea) + 2 * U * (3 + 2 * Math.abs(a)))]; }
      throw new Error(`not generated here: ${e.op}`);
    }
    case 'binary': {
      const [l, el] = bounded(e.lhs, v, err);
      const [r, er] = bounded(e.rhs, v, err);
      const x = e.op === 'add' ? l + r : e.op === 'sub' ? l - r : l * r;
      return [x, (e.op === 'mul' ? Math.abs(l) * er + Math.abs(r) * el + el * er : el + er) + Math.abs(x) * U];
    }
    default: throw new Error(`not generated here: ${e.kind}`);
  }
}

/** A fold of terms (values and bounds) and its bound: each step rounded, sums over at most n partial sums. */
function foldBounded(op: RowOp, terms: readonly [number, number][]): [number, number] {
  const vs = terms.map((t) => t[0]);
  const es = terms.map((t) => t[1]);
  const n = terms.length;
  if (op === 'max' || op === 'min') return [op === 'max' ? Math.max(...vs) : Math.min(...vs), Math.max(0, ...es)];
  if (op === 'sum') return [vs.reduce((a, b) => a + b, 0), es.reduce((a, b) => a + b, 0) + n * U * vs.reduce((a, b) => a + Math.abs(b), 0)];
  const r = vs.reduce((a, b) => a * b, 1);
  const spread = es.reduce((acc, e, t) => acc + e * vs.reduce((p, x, s) => (s === t ? p : p * Math.abs(x)), 1), 0);
  return [r, spread + n * U * Math.abs(r)];
}

/** Expressions over inputs 0..inputs-1: sums, differences, products, negations and an exp of a difference. */
const exprArb = (inputs: number): fc.Arbitrary<Expr> => fc.letrec<{ e: Expr }>((tie) => ({
  e: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.integer({ min: 0, max: inputs - 1 }).map((i) => ex.input(i)),
    fc.constantFrom(0.5, -2, 3).map((x) => ex.const(x)),
    fc.tuple(fc.constantFrom('add', 'sub', 'mul') as fc.Arbitrary<'add' | 'sub' | 'mul'>, tie('e'), tie('e'))
      .map(([op, l, r]) => ex.binary(op, l, r)),
    tie('e').map((a) => ex.unary('neg', a)),
    fc.tuple(fc.integer({ min: 0, max: inputs - 1 }), fc.integer({ min: 0, max: inputs - 1 }))
      .map(([a, b]) => ex.unary('exp', ex.binary('sub', ex.input(a), ex.input(b)))),
  ),
})).e;

/**
 * Two inputs over the loops (input 0 dense in any loop order, input 1 with any strides), one or two row values,
 * and either a map over all loops (outer < rank) or a reduction whose reduce loops are the row (outer = parallel).
 * Input 2 is what a row value may store into (RowValue.store): dense over the outer loops in any order, broadcast
 * over the row, read by no expression; `stored` says which value stores there (or none).
 */
const caseArb: fc.Arbitrary<Case> = fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 3 }).chain((sizes) => {
  const rank = sizes.length;
  const perm = fc.shuffledSubarray([...sizes.keys()], { minLength: rank, maxLength: rank });
  return fc.record({
    // outer = rank: every row is one point (a reduction over loops of extent 1, fused, reads as that).
    outer: fc.integer({ min: 0, max: rank }),
    reduce: fc.boolean(),
    reduceOp: fc.constantFrom('sum', 'max') as fc.Arbitrary<'sum' | 'max'>,
    permA: perm, permOut: perm,
    strides1: fc.array(fc.constantFrom(0, 1, 3), { minLength: rank, maxLength: rank }),
    offsets: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 3, maxLength: 3 }),
    ops: fc.array(fc.constantFrom<RowOp>('sum', 'prod', 'max', 'min'), { minLength: 1, maxLength: 2 }),
    row0: exprArb(2), row1: exprArb(3), main: exprArb(4),
    stored: fc.integer({ min: -1, max: 1 }), permStore: perm,
    seed: fc.integer({ min: 1, max: 1 << 30 }),
  }).map((r) => {
    const access = (strides: number[], offset: number): Access => ({ dtype: 'float32', offset, strides });
    // Input 2, the store target: dense over the outer loops (in the order permStore gives them), 0 over the row.
    const storeStrides = denseStrides(sizes.map((n, d) => (d < r.outer ? n : 1)), r.permStore).map((st, d) => (d < r.outer ? st : 0));
    const inputs = [access(denseStrides(sizes, r.permA), r.offsets[0]!), access(r.strides1, r.offsets[1]!), access(storeStrides, r.offsets[2]!)];
    // Generated expressions read inputs 0 and 1 as 0 and 1 and the values from 2 on; input 2 sits between them.
    const skipStore = (e: Expr): Expr => mapInputs(e, (i) => (i < 2 ? i : i + 1));
    const values = r.ops.map((op, j) => ({
      op, expr: skipStore(j === 0 ? r.row0 : r.row1), ...(r.stored === j ? { store: 2 } : {}),
    }));
    // The main expression reads inputs 0 and 1 and the values there are (from input 3 on).
    const main = skipStore(clampInputs(r.main, 2 + values.length));
    const reduce = r.reduce && r.outer < rank;
    const parallel = reduce ? r.outer : rank;
    const outSizes = sizes.slice(0, parallel);
    const spec: LoopSpec = {
      kind: 'loop', label: 'loop with row values', sizes, parallel, reduceOp: reduce ? r.reduceOp : null, inputs,
      output: access(denseStrides(outSizes, r.permOut.filter((d) => d < parallel)), r.offsets[2]!), expr: main,
      computeType: 'float32', rows: { outer: r.outer, values },
    };
    let s = r.seed;
    // Values in [-1, 1] on a grid of 1/8: products of a row stay small and the sums are exact in float32.
    const rand = (): number => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return Math.round((s / 2 ** 32 - 0.5) * 16) / 8; };
    const span = (a: Access, n: readonly number[]): number => a.offset + 1 + a.strides.reduce((t, st, d) => t + st * (n[d]! - 1), 0);
    const data = inputs.map((a) => Float32Array.from({ length: span(a, sizes) + 2 }, rand));
    return { spec, data, outLength: span(spec.output, outSizes) + 2 } satisfies Case;
  });
});

/** `e` with every input index taken modulo `n` (so a generated expression reads only what exists). */
function clampInputs(e: Expr, n: number): Expr {
  return mapInputs(e, (i) => i % n);
}

function mapInputs(e: Expr, f: (i: number) => number): Expr {
  switch (e.kind) {
    case 'input': return ex.input(f(e.index));
    case 'const': return e;
    case 'unary': return ex.unary(e.op, mapInputs(e.arg, f));
    case 'binary': return ex.binary(e.op, mapInputs(e.lhs, f), mapInputs(e.rhs, f));
    default: throw new Error('not generated here');
  }
}

function points(sizes: readonly number[]): number[][] {
  const out: number[][] = [[]];
  for (const n of sizes) {
    const next: number[][] = [];
    for (const p of out) for (let i = 0; i < n; i++) next.push([...p, i]);
    out.splice(0, out.length, ...next);
  }
  return out;
}

/**
 * The expected output, and input 2 after the kernel (the stored values where a value stores, as it was elsewhere):
 * rows in float64, each rounded to float32 once; the map or reduction in float64.
 */
function expected(c: Case): { out: Float32Array; stored: Float32Array; outBound: Float64Array; storedBound: Float64Array } {
  const { spec } = c;
  const rows = spec.rows!;
  const out = new Float32Array(c.outLength).fill(NaN);
  const stored = Float32Array.from(c.data[2]!);
  // How far a float32 evaluation (WebGPU's) may be from these values; the CPU kernels compute in float64.
  const outBound = new Float64Array(c.outLength);
  const storedBound = new Float64Array(stored.length);
  const at = (a: Access, idx: readonly number[]): number => a.offset + a.strides.reduce((sum, st, d) => sum + st * (idx[d] ?? 0), 0);
  const zeros = spec.inputs.map(() => 0);
  for (const head of points(spec.sizes.slice(0, rows.outer))) {
    const row = points(spec.sizes.slice(rows.outer)).map((tail) => [...head, ...tail]);
    const values: number[] = [];
    const valueBounds: number[] = [];
    const termAt = (e: Expr, idx: readonly number[]): [number, number] =>
      bounded(e, [...spec.inputs.map((a, i) => c.data[i]![at(a, idx)]!), ...values], [...zeros, ...valueBounds]);
    for (const value of rows.values) {
      const [folded, bound] = foldBounded(value.op, row.map((idx) => termAt(value.expr, idx)));
      values.push(Math.fround(folded));
      valueBounds.push(bound + Math.abs(folded) * U);
      if (value.store !== undefined) {
        stored[at(spec.inputs[value.store]!, head)] = Math.fround(folded);
        storedBound[at(spec.inputs[value.store]!, head)] = valueBounds[valueBounds.length - 1]!;
      }
    }
    if (spec.reduceOp === null) {
      for (const idx of row) {
        const [x, bound] = termAt(spec.expr, idx);
        out[at(spec.output, idx)] = Math.fround(x);
        outBound[at(spec.output, idx)] = bound;
      }
    } else {
      const [x, bound] = foldBounded(spec.reduceOp === 'sum' ? 'sum' : 'max', row.map((idx) => termAt(spec.expr, idx)));
      out[at(spec.output, head)] = Math.fround(x);
      outBound[at(spec.output, head)] = bound;
    }
  }
  return { out, stored, outBound, storedBound };
}

/** Element by element within tol·(1 + |want|), plus twice a float32 evaluation's bound where one is given. */
function close(got: ArrayLike<number>, want: ArrayLike<number>, what: string, spec: LoopSpec, tol: number, bound?: ArrayLike<number>): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    if (Number.isNaN(w) ? !Number.isNaN(g) : !(g === w || Math.abs(g - w) <= tol * (1 + Math.abs(w)) + 2 * (bound?.[i] ?? 0))) {
      expect.fail(`${what}[${i}]: got ${g}, want ${w}\n${renderLoop(spec)}`);
    }
  }
}

describe('loop kernels with row values (CPU)', () => {
  it('the generated kernel and the interpreter fold every row value before the values that read it', () => {
    fc.assert(fc.property(caseArb, (c) => {
      const want = expected(c);
      for (const run of ['generated', 'interpreted'] as const) {
        const out = new Float32Array(c.outLength).fill(NaN);
        const data = c.data.map((d) => d.slice());
        if (run === 'generated') runLoop(c.spec, data, out);
        else interpretLoop(c.spec)(data, out, loopParams(c.spec));
        close(out, want.out, `${run} output`, c.spec, 1e-5);
        close(data[2]!, want.stored, `${run} stored input`, c.spec, 1e-5);
      }
    }), { numRuns: 300 });
  });

  it('a softmax row: max, then the sum of exponentials, then each exponential over the sum', () => {
    // Rows of 3 over 2 outer points; the second row is shifted by 1000 (only the max keeps its exp finite).
    const x = Float32Array.from([1, 2, 3, 1001, 1002, 1003]);
    const row: Access = { dtype: 'float32', offset: 0, strides: [3, 1] };
    const shifted = ex.unary('exp', ex.binary('sub', ex.input(0), ex.input(1)));
    const spec: LoopSpec = {
      kind: 'loop', label: 'softmax', sizes: [2, 3], parallel: 2, reduceOp: null, inputs: [row],
      output: { dtype: 'float32', offset: 0, strides: [3, 1] },
      expr: ex.binary('div', ex.unary('exp', ex.binary('sub', ex.input(0), ex.input(1))), ex.input(2)),
      computeType: 'float32', rows: { outer: 1, values: [{ op: 'max', expr: ex.input(0) }, { op: 'sum', expr: shifted }] },
    };
    const z = Math.exp(-2) + Math.exp(-1) + 1;
    const want = [Math.exp(-2) / z, Math.exp(-1) / z, 1 / z];
    for (const run of ['generated', 'interpreted'] as const) {
      const out = new Float32Array(6);
      if (run === 'generated') runLoop(spec, [x], out);
      else interpretLoop(spec)([x], out, loopParams(spec));
      for (let i = 0; i < 6; i++) expect(out[i]).toBeCloseTo(want[i % 3]!, 6);
    }
  });

  it('the key names the rows, and the source declares each value before the loops that read it', () => {
    const base: LoopSpec = {
      kind: 'loop', label: 'rows', sizes: [2, 3], parallel: 2, reduceOp: null,
      inputs: [{ dtype: 'float32', offset: 0, strides: [3, 1] }], output: { dtype: 'float32', offset: 0, strides: [3, 1] },
      expr: ex.binary('sub', ex.input(0), ex.input(1)), computeType: 'float32', rows: { outer: 1, values: [{ op: 'max', expr: ex.input(0) }] },
    };
    const min: LoopSpec = { ...base, rows: { outer: 1, values: [{ op: 'min', expr: ex.input(0) }] } };
    expect(specKey(base)).not.toBe(specKey(min));
    expect(specKey(base)).not.toBe(specKey({ ...base, rows: { outer: 0, values: base.rows!.values } }));
    const src = renderLoop(base);
    expect(src.indexOf('let v1;')).toBeGreaterThan(-1);
    expect(src.indexOf('let v1;')).toBeLessThan(src.lastIndexOf('const v = (v0 - v1)'));
  });
});

/** A spec whose access lacks a stride or has a fractional one or a fractional offset (what a caller's bug makes). */
const broken: readonly [string, LoopSpec][] = (() => {
  const base: LoopSpec = {
    kind: 'loop', label: 'broken', sizes: [2, 3], parallel: 2, reduceOp: null,
    inputs: [{ dtype: 'float32', offset: 0, strides: [3, 1] }], output: { dtype: 'float32', offset: 0, strides: [3, 1] },
    expr: ex.input(0), computeType: 'float32',
  };
  const input = (a: Partial<Access>): LoopSpec => ({ ...base, inputs: [{ ...base.inputs[0]!, ...a }] });
  return [
    ['a missing input stride', input({ strides: [3] })],
    ['an undefined input stride', input({ strides: [3, undefined as unknown as number] })],
    ['a fractional input stride', input({ strides: [3, 0.5] })],
    ['a fractional offset', input({ offset: 1.5 })],
    ['a missing output stride', { ...base, output: { ...base.output, strides: [3] } }],
  ];
})();

describe('loop specs with broken accesses', () => {
  it.each(broken)('%s is refused by the CPU backend, not run with shifted addresses', (_, spec) => {
    expect(() => runLoop(spec, [new Float32Array(6)], new Float32Array(6))).toThrow(/strides .* for 2 loops/);
  });
});

describe.skipIf(!gpuAvailable)('loop kernels with row values (WebGPU)', () => {
  let backend: WebGPUBackend;
  beforeAll(async () => { backend = await openBackend(); });
  afterAll(() => { backend?.destroy(); });

  it.each(broken)('%s is refused by the WebGPU backend', (_, spec) => {
    const x = backend.upload('float32', new Float32Array(6));
    const out = backend.upload('float32', new Float32Array(6));
    expect(() => backend.run(spec, [x], out)).toThrow(/strides/);
    backend.release(x);
    backend.release(out);
  });

  it('the WGSL kernel computes the same values, one invocation per row', { timeout: 120_000 }, async () => {
    await fc.assert(fc.asyncProperty(caseArb, async (c) => {
      const want = expected(c);
      const ins = c.data.map((d) => backend.upload('float32', d));
      const out = backend.upload('float32', new Float32Array(c.outLength).fill(NaN));
      backend.run(c.spec, ins, out);
      close(await backend.read(out), want.out, 'webgpu output', c.spec, 1e-5, want.outBound);
      close(await backend.read(ins[2]!), want.stored, 'webgpu stored input', c.spec, 1e-5, want.storedBound);
      for (const s of [...ins, out]) backend.release(s);
    }), { numRuns: 60 });
  });
});
