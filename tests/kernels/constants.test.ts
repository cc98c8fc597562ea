/**
 * Scalar constants are parameters of a CPU loop kernel, like shapes: a kernel's identity (specKey) holds where
 * constants are, never their values, so `x.mul(c)` for any number of distinct c compiles one kernel; the kernel
 * cache is a bounded LRU; and the values still arrive exactly (float64 constants as float64).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LOOP_KERNEL_CACHE_CAPACITY, compileLoop, loopKernelCacheSize, runLoop } from '../../kernels/cpu/loop.js';
import { buildLoop } from '../../src/lower/loops.js';
import { ex, exprConstants, specKey } from '../../src/lower/spec.js';
import type { BinaryOp, Expr, LoopSpec, UnaryOp } from '../../src/lower/spec.js';
import { tensor } from '../../src/index.js';
import { evalExpr } from '../wgsl/reference.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 5));
  }
}

const UNARY: readonly UnaryOp[] = ['neg', 'abs', 'square'];
const BINARY: readonly BinaryOp[] = ['add', 'sub', 'mul', 'div', 'max', 'min'];

/** Random expression trees over input 0 whose leaves are the input or a constant (exact double semantics). */
const exprArb: fc.Arbitrary<Expr> = fc.letrec<{ e: Expr }>((tie) => ({
  e: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(ex.input(0)),
    fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }).map((v) => ex.const(v)),
    fc.tuple(fc.constantFrom(...UNARY), tie('e')).map(([op, a]) => ex.unary(op, a)),
    fc.tuple(fc.constantFrom(...BINARY), tie('e'), tie('e')).map(([op, a, b]) => ex.binary(op, a, b)),
  ),
})).e;

/** The same tree with every constant replaced by a fresh value. */
function withConstants(e: Expr, next: () => number): Expr {
  switch (e.kind) {
    case 'input': return e;
    case 'const': return ex.const(next());
    case 'unary': return ex.unary(e.op, withConstants(e.arg, next));
    case 'cast': return ex.cast(e.to, withConstants(e.arg, next));
    case 'binary': return ex.binary(e.op, withConstants(e.lhs, next), withConstants(e.rhs, next));
    case 'select': return ex.select(withConstants(e.cond, next), withConstants(e.then, next), withConstants(e.otherwise, next));
  }
}

function mapSpec(expr: Expr, n: number): LoopSpec {
  return buildLoop({
    label: 'map', outShape: [n], inputs: [{ dtype: 'float64', offset: 0, strides: [1] }],
    output: { dtype: 'float64', offset: 0, strides: [1] }, expr, computeType: 'float64',
  });
}

describe('scalar constants are CPU kernel parameters', () => {
  it('x.mul(1 + i·1e-7) for 100,000 distinct constants compiles one kernel and leaves the heap flat', async () => {
    const x = tensor(Float32Array.from({ length: 64 }, (_, i) => i));
    x.mul(1).dataSync();
    await settle();
    const kernels = loopKernelCacheSize();
    const heap = process.memoryUsage().heapUsed;
    for (let i = 0; i < 100_000; i++) x.mul(1 + i * 1e-7);
    const last = x.mul(1 + 99_999 * 1e-7).dataSync();
    await settle();
    expect(loopKernelCacheSize()).toBe(kernels);
    // One compiled kernel and its source per constant cost about 2.7 KB each (270 MB for 100,000) before.
    expect(process.memoryUsage().heapUsed - heap).toBeLessThan(16 << 20);
    expect(last[63]).toBe(Math.fround(63 * (1 + 99_999 * 1e-7)));
  }, 120_000);

  it('one kernel serves every value of its constants, and computes with the values it is given (property)', () => {
    const inputs = Float64Array.from({ length: 16 }, (_, i) => (i - 7.5) * 0.37);
    fc.assert(fc.property(exprArb, fc.integer({ min: 1, max: 2 ** 31 }), (expr, seed) => {
      let s = seed;
      const fresh = (): number => ((s = (s * 48271) % 2147483647) / 2147483647 - 0.5) * 1e3;
      const other = withConstants(expr, fresh);
      const a = mapSpec(expr, inputs.length);
      const b = mapSpec(other, inputs.length);
      expect(specKey(a)).toBe(specKey(b));
      expect(compileLoop(a)).toBe(compileLoop(b));
      for (const spec of [a, b]) {
        const out = new Float64Array(inputs.length);
        runLoop(spec, [inputs], out);
        inputs.forEach((v, i) => expect(out[i]).toBe(evalExpr(spec.expr, 'float64', [v])));
      }
    }), { numRuns: 200, seed: 20261204 });
  });

  it('keeps float64 constants exact for float64 tensors and integer constants exact in int32 ops', () => {
    const c = 1 + 2 ** -40;
    expect(Math.fround(c)).toBe(1); // the constant would be lost in float32
    const x = tensor(Float64Array.from([1, 3, -7]), { dtype: 'float64' });
    expect(Array.from(x.mul(c).dataSync())).toEqual([c, 3 * c, -7 * c]);
    expect(Array.from(x.add(1e-300).sub(1).dataSync())).toEqual([1 + 1e-300 - 1, 3 + 1e-300 - 1, -7 + 1e-300 - 1]);
    const n = tensor(Int32Array.from([2_000_000_000, -5, 123_456_789]), { dtype: 'int32' });
    expect(Array.from(n.add(147_483_647).dataSync())).toEqual([2_147_483_647, 147_483_642, 270_940_436]);
    expect(Array.from(n.mul(3).dataSync())).toEqual([Math.imul(2_000_000_000, 3), -15, Math.imul(123_456_789, 3)]);
  });

  it('lists constants in the order renderers number them', () => {
    const e = ex.select(ex.binary('gt', ex.input(0), ex.const(1)), ex.unary('neg', ex.const(2)), ex.binary('add', ex.const(3), ex.const(4)));
    expect(exprConstants(e)).toEqual([1, 2, 3, 4]);
    expect(specKey(mapSpec(e, 2))).toBe(specKey(mapSpec(withConstants(e, () => 9), 2)));
    const out = new Float64Array(2);
    runLoop(mapSpec(e, 2), [Float64Array.from([0, 5])], out);
    expect(Array.from(out)).toEqual([7, -2]);
  });

  it('evicts the least recently used kernel past LOOP_KERNEL_CACHE_CAPACITY', () => {
    // Distinct structures: chains of unary ops spelling i in base 3.
    const chain = (i: number): Expr => {
      let e: Expr = ex.input(0);
      for (let d = 0; d < 8; d++, i = Math.floor(i / 3)) e = ex.unary(UNARY[i % 3]!, e);
      return e;
    };
    const total = LOOP_KERNEL_CACHE_CAPACITY + 100;
    const first = compileLoop(mapSpec(chain(0), 4));
    for (let i = 1; i < total; i++) {
      compileLoop(mapSpec(chain(i), 4));
      expect(loopKernelCacheSize()).toBeLessThanOrEqual(LOOP_KERNEL_CACHE_CAPACITY);
    }
    expect(loopKernelCacheSize()).toBe(LOOP_KERNEL_CACHE_CAPACITY);
    // The first kernel was evicted: asking again compiles (and caches) a new function that still computes.
    const again = compileLoop(mapSpec(chain(0), 4));
    expect(again).not.toBe(first);
    expect(compileLoop(mapSpec(chain(0), 4))).toBe(again);
    const out = new Float64Array(1);
    runLoop(mapSpec(chain(0), 1), [Float64Array.from([-2])], out);
    expect(out[0]).toBe(evalExpr(chain(0), 'float64', [-2]));
  });
});
