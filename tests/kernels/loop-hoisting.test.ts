/**
 * Loop-invariant code motion in the CPU's generated loops (kernels/cpu/loop.ts, hoisting()): a subexpression that
 * reads only inputs broadcast over the inner loops (stride 0 from some loop on), row values and constants is
 * computed once where it stops varying. The arithmetic is unchanged, so on random nests with broadcast inputs,
 * reductions and row values the hoisting kernel must give the interpreter's and the plain kernel's results bit for
 * bit; a broadcast input that shares memory with the output must still be read where the plain kernel reads it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileLoop, loopParams, renderLoop, runLoop } from '../../kernels/cpu/loop.js';
import { interpretLoop } from '../../kernels/cpu/interpret.js';
import { scalarHelpers } from '../../kernels/cpu/ops.js';
import { ex, type Access, type Expr, type LoopSpec, type ReduceOp } from '../../src/lower/spec.js';

/** Row-major strides of `sizes`, zero from loop `from` on (a broadcast over the inner loops). */
function strides(sizes: readonly number[], from: number): number[] {
  const s: number[] = [];
  let acc = 1;
  for (let d = sizes.length - 1; d >= 0; d--) {
    s[d] = d >= from ? 0 : acc;
    if (d < from) acc *= sizes[d]!;
  }
  return s;
}

/** Expressions over a (dense), b and c (broadcast): the expensive parts read b and c only. */
const exprs: ((a: Expr, b: Expr, c: Expr) => Expr)[] = [
  (a, b) => ex.binary('mul', a, ex.binary('pow', b, ex.const(-1.5))),
  (a, b, c) => ex.binary('add', ex.binary('mul', a, ex.unary('exp', b)), ex.binary('div', c, ex.unary('sqrt', ex.unary('abs', b)))),
  (a, b, c) => ex.select(ex.binary('gt', b, c), ex.unary('gelu', ex.binary('mul', a, c)), ex.binary('sub', a, ex.unary('erf', c))),
  (a, b, c) => ex.binary('sub', a, ex.binary('mul', ex.binary('pow', ex.const(0.9), c), ex.cast('int32', ex.binary('mul', b, ex.const(3))))),
];

const arb = fc.record({
  sizes: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }),
  bFrom: fc.nat(), cFrom: fc.nat(), parallelCut: fc.nat(), outerCut: fc.nat(),
  mode: fc.constantFrom('map', 'reduce', 'rows'),
  reduceOp: fc.constantFrom<ReduceOp>('sum', 'max', 'prod'),
  expr: fc.integer({ min: 0, max: exprs.length - 1 }),
  seed: fc.integer({ min: 1, max: 1 << 30 }),
});

type Draw = typeof arb extends fc.Arbitrary<infer T> ? T : never;

function build(r: Draw): LoopSpec {
  const { sizes } = r;
  const n = sizes.length;
  const access = (s: number[], offset = 0): Access => ({ dtype: 'float64', offset, strides: s });
  const inputs = [access(strides(sizes, n)), access(strides(sizes, r.bFrom % (n + 1)), 1), access(strides(sizes, r.cFrom % (n + 1)), 2)];
  const base = exprs[r.expr]!(ex.input(0), ex.input(1), ex.input(2));
  if (r.mode === 'rows') {
    // A map over the whole nest whose rows (loops from `outer` on) first sum a·b; the value scales an invariant part.
    const outer = r.outerCut % n;
    const row = ex.input(3);
    return {
      kind: 'loop', label: 'hoisting with rows', sizes, parallel: n, reduceOp: null, inputs, output: access(strides(sizes, n)),
      expr: ex.binary('add', base, ex.binary('mul', row, ex.unary('exp', ex.input(2)))), computeType: 'float64',
      rows: { outer, values: [{ op: 'sum', expr: ex.binary('mul', ex.input(0), ex.unary('sqrt', ex.unary('abs', ex.input(1)))) }] },
    };
  }
  const parallel = r.mode === 'map' ? n : r.parallelCut % n;
  return {
    kind: 'loop', label: 'hoisting', sizes, parallel, reduceOp: r.mode === 'map' ? null : r.reduceOp, inputs,
    output: access(strides(sizes.slice(0, parallel), parallel)), expr: base, computeType: 'float64',
  };
}

function data(spec: LoopSpec, seed: number): Float64Array[] {
  let s = seed;
  const rand = (): number => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return (s / 2 ** 32 - 0.5) * 4; };
  const total = spec.sizes.reduce((a, b) => a * b, 1);
  return spec.inputs.map((a) => Float64Array.from({ length: a.offset + total }, rand));
}

describe('hoisted subexpressions', () => {
  it('give the interpreter\'s and the plain kernel\'s results bit for bit on random nests (property)', () => {
    let hoisted = 0;
    fc.assert(fc.property(arb, (r) => {
      const spec = build(r);
      const ins = data(spec, r.seed);
      const outLength = spec.sizes.slice(0, spec.parallel).reduce((a, b) => a * b, 1);
      const params = loopParams(spec);
      const [hoist, plain, interpreted] = [new Float64Array(outLength), new Float64Array(outLength), new Float64Array(outLength)];
      compileLoop(spec)(ins, hoist, params);
      compileLoop(spec, false)(ins, plain, params);
      interpretLoop(spec)(ins, interpreted, params);
      if (renderLoop(spec).includes('const h0 = ')) hoisted++;
      for (let i = 0; i < outLength; i++) {
        if (!Object.is(hoist[i], interpreted[i]) || !Object.is(plain[i], interpreted[i])) {
          throw new Error(`element ${i}: hoisting ${hoist[i]}, plain ${plain[i]}, interpreted ${interpreted[i]} (${JSON.stringify(spec)})`);
        }
      }
    }), { numRuns: 400, seed: 20261207 });
    // Most draws broadcast b or c over some inner loops: the property is about kernels that hoist.
    expect(hoisted).toBeGreaterThan(150);
  });

  it("an Adam-like update computes its step's bias corrections once, before the loop", () => {
    // out = a − lr · b / (1 − 0.9^t), t a one-element tensor broadcast over the whole loop.
    const spec: LoopSpec = {
      kind: 'loop', label: 'adam-like', sizes: [6], parallel: 1, reduceOp: null,
      inputs: [{ dtype: 'float64', offset: 0, strides: [1] }, { dtype: 'float64', offset: 0, strides: [1] }, { dtype: 'float64', offset: 0, strides: [0] }],
      output: { dtype: 'float64', offset: 0, strides: [1] },
      expr: ex.binary('sub', ex.input(0), ex.binary('div', ex.binary('mul', ex.const(0.1), ex.input(1)), ex.binary('sub', ex.const(1), ex.binary('pow', ex.const(0.9), ex.input(2))))),
      computeType: 'float64',
    };
    const lines = renderLoop(spec).split('\n');
    const def = lines.findIndex((l) => l.startsWith('const h0 = ') && l.includes('Math.pow(c2, x2[x2o])'));
    const loop = lines.findIndex((l) => l.startsWith('for ('));
    expect(def).toBeGreaterThan(0);
    expect(def).toBeLessThan(loop);
    expect(lines.filter((l) => l.includes('Math.pow'))).toHaveLength(1);
    const a = [1, 2, 3, 4, 5, 6];
    const b = [0.5, -1, 2, 0, 3, -2];
    const out = new Float64Array(6);
    runLoop(spec, [Float64Array.from(a), Float64Array.from(b), Float64Array.of(3)], out);
    // 1 − 0.9³ = 0.271.
    expect(Array.from(out)).toEqual(a.map((x, i) => x - (0.1 * b[i]!) / (1 - 0.9 ** 3)));
  });

  it('a broadcast input that is the output\'s own memory is read at every point, as without hoisting', () => {
    // out[i] = out[i] − exp(out[0]) in place: the element read as the broadcast input is rewritten at i = 0, so
    // every later point must see the new value (what the interpreter and the plain kernel do).
    const spec: LoopSpec = {
      kind: 'loop', label: 'in place', sizes: [5], parallel: 1, reduceOp: null,
      inputs: [{ dtype: 'float64', offset: 0, strides: [1] }, { dtype: 'float64', offset: 0, strides: [0] }],
      output: { dtype: 'float64', offset: 0, strides: [1] },
      expr: ex.binary('sub', ex.input(0), ex.unary('exp', ex.input(1))), computeType: 'float64',
    };
    expect(renderLoop(spec)).toContain('const h0 = exp(x1[x1o]);');
    const start = [0.5, 1, 2, 3, 4];
    const x = Float64Array.from(start);
    runLoop(spec, [x, x], x);
    const y = Float64Array.from(start);
    interpretLoop(spec)([y, y], y, loopParams(spec));
    expect(Array.from(x)).toEqual(Array.from(y));
    // At i = 0: 0.5 − e^0.5; after, every point subtracts e^(0.5 − e^0.5).
    expect(x[1]).toBe(1 - scalarHelpers.exp(0.5 - scalarHelpers.exp(0.5)));
  });
});
