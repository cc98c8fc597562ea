/**
 * The interpreter that stands in for generated loop kernels under a Content-Security-Policy without
 * 'unsafe-eval': on random loop nests (maps, every reduction, sums longer than a pairwise block, int32 and bool
 * and float16 outputs, NaN inputs) it must give the generated kernel's results.
 */
import fc from 'fast-check';
import { Float16Array } from '@petamoriken/float16';
import { describe, expect, it } from 'vitest';
import { ex, type DType, type Expr, type LoopSpec, type ReduceOp } from '../../src/lower/spec.js';
import { compileLoop, loopParams } from '../../kernels/cpu/loop.js';
import { interpretLoop } from '../../kernels/cpu/interpret.js';

function array(dtype: DType, n: number): Float64Array | Float32Array | Int32Array | Uint8Array | Float16Array {
  switch (dtype) {
    case 'float64': return new Float64Array(n);
    case 'float32': return new Float32Array(n);
    case 'int32': return new Int32Array(n);
    case 'bool': return new Uint8Array(n);
    case 'float16': return new Float16Array(n);
  }
}

const exprs: ((a: Expr, b: Expr) => Expr)[] = [
  (a) => a,
  (a, b) => ex.binary('mul', a, b),
  (a, b) => ex.binary('add', ex.unary('exp', ex.binary('mul', a, ex.const(0.25))), b),
  (a, b) => ex.select(ex.binary('gt', a, b), ex.unary('gelu', a), ex.unary('round', b)),
  (a, b) => ex.binary('mod', ex.cast('int32', ex.binary('mul', a, ex.const(3))), ex.const(-4)),
  (a) => ex.unary('isnan', a),
  (a, b) => ex.binary('max', ex.unary('erf', a), ex.binary('pow', b, ex.const(2))),
];

const arbSpec = fc.record({
  sizes: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 3 }),
  long: fc.integer({ min: 0, max: 300 }),
  parallelCut: fc.nat(),
  reduceOp: fc.constantFrom<ReduceOp>('sum', 'prod', 'max', 'min', 'argmax', 'argmin', 'any', 'all'),
  computeType: fc.constantFrom<DType>('float64', 'float32', 'int32'),
  outDtype: fc.constantFrom<DType>('float64', 'float32', 'int32', 'bool', 'float16'),
  expr: fc.integer({ min: 0, max: exprs.length - 1 }),
  seed: fc.integer({ min: 0, max: 1000 }),
  nan: fc.boolean(),
});

describe('interpretLoop', () => {
  it('sums in the generated kernel\'s order, bit for bit, on values that round (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 2000 }), fc.integer({ min: 0, max: 1000 }), (n, seed) => {
      const spec: LoopSpec = {
        kind: 'loop', label: 'sum', sizes: [3, n], parallel: 1, reduceOp: 'sum',
        inputs: [{ dtype: 'float64', offset: 0, strides: [n, 1] }],
        output: { dtype: 'float64', offset: 0, strides: [1] }, expr: ex.input(0), computeType: 'float64',
      };
      const a = Float64Array.from({ length: 3 * n }, (_, i) => Math.sin(i * 1.7 + seed) * 10 ** ((i % 7) - 3));
      const want = new Float64Array(3);
      const got = new Float64Array(3);
      compileLoop(spec)([a], want, loopParams(spec));
      interpretLoop(spec)([a], got, loopParams(spec));
      for (let r = 0; r < 3; r++) expect(Object.is(got[r], want[r]), `row ${r}: ${got[r]} vs ${want[r]}`).toBe(true);
    }), { numRuns: 100 });
  });

  // Inputs are small dyadic fractions, so sums are exact in any order: this property checks the expression, the
  // folds, the casts and the stores; the one above checks the order of the sums.
  it('matches the generated kernel bit for bit on random loop nests (property)', () => {
    fc.assert(fc.property(arbSpec, (r) => {
      // A long innermost reduce loop sometimes, so sums cross several pairwise blocks.
      const sizes = r.long > 150 ? [...r.sizes, r.long] : r.sizes;
      const parallel = r.parallelCut % (sizes.length + 1);
      const total = sizes.reduce((a, b) => a * b, 1);
      const strides = (dims: readonly number[]): number[] => {
        const s: number[] = [];
        let acc = 1;
        for (let d = dims.length - 1; d >= 0; d--) {
          s[d] = acc;
          acc *= dims[d]!;
        }
        return s;
      };
      const inStrides = strides(sizes);
      // The second input broadcasts along the first loop (stride 0).
      const bStrides = [0, ...strides(sizes.slice(1))];
      const outSizes = sizes.slice(0, parallel);
      const spec: LoopSpec = {
        kind: 'loop', label: 'property', sizes, parallel, reduceOp: r.reduceOp,
        inputs: [{ dtype: 'float64', offset: 0, strides: inStrides }, { dtype: 'float32', offset: 1, strides: bStrides }],
        output: { dtype: r.outDtype, offset: 0, strides: strides(outSizes) },
        expr: exprs[r.expr]!(ex.input(0), ex.input(1)), computeType: r.computeType,
      };
      const a = new Float64Array(total);
      const b = new Float32Array(total + 1);
      for (let i = 0; i < total; i++) a[i] = (((i * 37 + r.seed) % 19) - 9) / 4;
      for (let i = 0; i <= total; i++) b[i] = (((i * 11 + r.seed) % 13) - 6) / 8;
      if (r.nan) a[r.seed % total] = NaN;
      const outLength = outSizes.reduce((x, y) => x * y, 1);
      const want = array(r.outDtype, outLength);
      const got = array(r.outDtype, outLength);
      const params = loopParams(spec);
      compileLoop(spec)([a, b], want, params);
      interpretLoop(spec)([a, b], got, params);
      for (let i = 0; i < outLength; i++) {
        if (!Object.is(got[i], want[i])) throw new Error(`element ${i}: interpreted ${got[i]}, generated ${want[i]} (${JSON.stringify(spec)})`);
      }
    }), { numRuns: 400 });
  });
});
