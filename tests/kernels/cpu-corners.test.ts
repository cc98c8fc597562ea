/**
 * Corners of kernels/cpu that the kernel tests pass through without looking at: what runs, and what source() and
 * kernelName() say, where a Content-Security-Policy refuses generated code; the scalar helpers and op rows on
 * their edge cases (ties of round, signs of mod, erf against tabulated values, int32 products); and the layout of
 * the generated source a reader sees. Every expected value is written out by hand or computed by a plain loop.
 *
 * The platform's policy probes are replaced by switches (`policy`), so one process sees both answers; a refused
 * `new Function` is simulated by replacing the global Function with one that throws, as a browser does.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createCpuBackend } from '../../kernels/cpu/backend.js';
import { gemmCapabilities, gemmKernelName, gemmRoute, gemmSource, runGemm, wasmKernel } from '../../kernels/cpu/gemm.js';
import { batchOffsets } from '../../kernels/cpu/gemm-js.js';
import { compileLoop, loopParams, renderLoop } from '../../kernels/cpu/loop.js';
import { interpretLoop } from '../../kernels/cpu/interpret.js';
import { CAST, UNARY, binaryIn, scalarHelpers } from '../../kernels/cpu/ops.js';
import { ex, type GemmSpec, type LoopSpec } from '../../src/lower/spec.js';
import { buildLoop } from '../../src/lower/loops.js';

const policy = vi.hoisted(() => ({ codegen: true, wasm: true }));
vi.mock('../../src/platform/index.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/platform/index.js')>();
  return {
    ...real,
    codegenAllowed: () => policy.codegen && real.codegenAllowed(),
    wasmAllowed: () => policy.wasm && real.wasmAllowed(),
  };
});

const RealFunction = globalThis.Function;

/** Runs `fn` as under a policy that refuses what `refuse` names; `new Function` throws while code is refused. */
function underPolicy<T>(refuse: { codegen?: boolean; wasm?: boolean }, fn: () => T): T {
  policy.codegen = refuse.codegen !== true;
  policy.wasm = refuse.wasm !== true;
  if (refuse.codegen === true) {
    globalThis.Function = function refused(): never {
      throw new EvalError("Refused to evaluate a string as JavaScript because 'unsafe-eval' is not an allowed source of script");
    } as unknown as FunctionConstructor;
  }
  try {
    return fn();
  } finally {
    globalThis.Function = RealFunction;
    policy.codegen = true;
    policy.wasm = true;
  }
}

afterEach(() => {
  globalThis.Function = RealFunction;
  policy.codegen = true;
  policy.wasm = true;
});

/** A row-major float64 product [m, k]·[k, n], large enough to take a packed kernel when one is allowed. */
function bigGemm(m: number, n: number, k: number): GemmSpec {
  return {
    kind: 'gemm', label: 'ik,kj->ij', dtype: 'float64', batch: [], m, n, k,
    a: { offset: 0, batchStrides: [], rowStride: k, colStride: 1 },
    b: { offset: 0, batchStrides: [], rowStride: n, colStride: 1 },
    c: { offset: 0, batchStrides: [], rowStride: n, colStride: 1 },
  };
}

/** C = A·B by the textbook triple loop, summing p in order (the direct loop's order, so float64 results agree exactly). */
function textbook(m: number, n: number, k: number, a: Float64Array, b: Float64Array): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[i * k + p]! * b[p * n + j]!;
      c[i * n + j] = s;
    }
  }
  return c;
}

const hooks = { allocated() {}, checkUsable() {}, async beforeRead() {} };

/** out[i] = x[i] * 3 - 1 over a contiguous float64 [n] (an expression with constants, one loop). */
function affine(n: number): LoopSpec {
  const c = { dtype: 'float64' as const, offset: 0, strides: [1] };
  const expr = ex.binary('sub', ex.binary('mul', ex.input(0), ex.const(3)), ex.const(1));
  return buildLoop({ label: 'affine', outShape: [n], inputs: [c], output: c, expr, computeType: 'float64' });
}

/** A [64, 32] float64 transpose: the CPU copies it in blocks. */
function transpose(): LoopSpec {
  return buildLoop({
    label: 'ij->ji', outShape: [32, 64], inputs: [{ dtype: 'float64', offset: 0, strides: [1, 32] }],
    output: { dtype: 'float64', offset: 0, strides: [64, 1] }, expr: ex.input(0), computeType: 'float64',
  });
}

describe('under a Content-Security-Policy', () => {
  it('a large product takes the direct loop when either generated JavaScript or WebAssembly is refused', () => {
    gemmCapabilities(); // the GEMM state is built once, while everything is allowed
    const spec = bigGemm(48, 40, 36);
    expect(gemmRoute(spec)).not.toBe('direct');
    expect(underPolicy({ codegen: true }, () => gemmRoute(spec))).toBe('direct');
    expect(underPolicy({ wasm: true }, () => gemmRoute(spec))).toBe('direct');
    expect(underPolicy({ codegen: true, wasm: true }, () => gemmRoute(spec))).toBe('direct');
    expect(underPolicy({ wasm: true }, () => gemmKernelName(spec))).toBe('direct strided loop (a small product, or no generated code allowed)');
    expect(underPolicy({ codegen: true }, () => wasmKernel())).toBe('simd');
  });

  it('the direct loop computes a large product without generated code', () => {
    const [m, n, k] = [48, 40, 36];
    const a = Float64Array.from({ length: m * k }, (_, i) => Math.sin(i + 1));
    const b = Float64Array.from({ length: k * n }, (_, i) => Math.cos(i * 0.5));
    const c = new Float64Array(m * n).fill(NaN);
    underPolicy({ codegen: true, wasm: true }, () => runGemm(bigGemm(m, n, k), a, b, c));
    expect(c).toEqual(textbook(m, n, k, a, b));
  });

  it('a loop nest is interpreted where new Function is refused, and gives 3x - 1', () => {
    // Kernels are cached by spec key, so the expression is one no other case here compiles.
    const c = { dtype: 'float64' as const, offset: 0, strides: [1] };
    const expr = ex.binary('sub', ex.binary('mul', ex.input(0), ex.const(3)), ex.unary('floor', ex.const(1.5)));
    const spec = buildLoop({ label: 'policy', outShape: [5], inputs: [c], output: c, expr, computeType: 'float64' });
    const out = new Float64Array(5).fill(NaN);
    underPolicy({ codegen: true }, () => compileLoop(spec)([Float64Array.of(0, 1, 2, -1, 0.5)], out, loopParams(spec)));
    expect([...out]).toEqual([-1, 2, 5, -4, 0.5]);
  });

  it("kernelName says a loop nest is generated or interpreted, and names a blocked transpose", () => {
    const backend = createCpuBackend(hooks);
    expect(backend.kernelName(affine(8))).toBe('generated JavaScript loop nest');
    expect(backend.kernelName(transpose())).toBe('generated JavaScript loop nest, cache-blocked transpose');
    expect(underPolicy({ codegen: true }, () => backend.kernelName(affine(8))))
      .toBe('interpreted loop nest (no generated code allowed here)');
    expect(underPolicy({ codegen: true }, () => backend.kernelName(transpose())))
      .toBe('interpreted loop nest, cache-blocked transpose (no generated code allowed here)');
  });

  it('source() is the generated source where allowed, and says what runs instead where refused', () => {
    const backend = createCpuBackend(hooks);
    const loop = affine(8);
    const gemm = bigGemm(48, 40, 36);
    expect(backend.source(loop)).toBe(renderLoop(loop));
    expect(backend.source(gemm)).toBe(gemmSource(gemm));

    const noEval = underPolicy({ codegen: true }, () => backend.source(loop)).split('\n');
    expect(noEval[0]).toBe("// einjit runs this kernel without generated code: this page's Content-Security-Policy refuses 'unsafe-eval',");
    expect(noEval[1]).toBe('// so the interpreter (kernels/cpu/interpret.ts) evaluates this loop nest with the same arithmetic; the generated source would be:');
    expect(noEval.slice(2).join('\n')).toBe(renderLoop(loop));

    const noWasm = underPolicy({ wasm: true }, () => backend.source(gemm)).split('\n');
    expect(noWasm[0]).toBe("// einjit runs this kernel without generated code: this page's Content-Security-Policy refuses WebAssembly compilation ('wasm-unsafe-eval'),");
    expect(noWasm[1]).toBe('// so the direct strided loop computes this product; the generated source would be:');
  });
});

describe('batchOffsets', () => {
  it('lists every batch point in row-major order, a missing stride reading as 0', () => {
    expect(batchOffsets([], [], 7)).toEqual([7]);
    expect(batchOffsets([2, 3], [100, 10], 1)).toEqual([1, 11, 21, 101, 111, 121]);
    expect(batchOffsets([2, 2], [5], 0)).toEqual([0, 0, 5, 5]);
  });
});

/** Checks that every line closing a block is indented as the line that opened it, and that all blocks close. */
function expectNestedLayout(source: string): void {
  const open: number[] = [];
  for (const line of source.split('\n')) {
    const indent = line.length - line.trimStart().length;
    const text = line.trim();
    if (text.startsWith('}')) expect(indent, `closing line "${line}"`).toBe(open.pop());
    if (text.endsWith('{')) open.push(indent);
  }
  expect(open).toEqual([]);
}

describe('the generated source a reader sees', () => {
  it('a pairwise sum over two reduce loops closes each block at its own indentation', () => {
    const spec = buildLoop({
      label: 'sum', outShape: [3], reduceShape: [5, 40], reduceOp: 'sum',
      inputs: [{ dtype: 'float64', offset: 0, strides: [1, 3, 15] }],
      output: { dtype: 'float64', offset: 0, strides: [1] }, expr: ex.input(0), computeType: 'float64',
    });
    expect(spec.sizes.length).toBe(3);
    expectNestedLayout(renderLoop(spec));
    const max = buildLoop({
      label: 'max', outShape: [3], reduceShape: [5, 40], reduceOp: 'argmax',
      inputs: [{ dtype: 'float64', offset: 0, strides: [1, 3, 15] }],
      output: { dtype: 'int32', offset: 0, strides: [1] }, expr: ex.input(0), computeType: 'float64',
    });
    expectNestedLayout(renderLoop(max));
    expectNestedLayout(renderLoop(transpose()));
  });

  it("the GEMM's JavaScript macro-kernel is one statement per line", () => {
    const lines = gemmSource(bigGemm(48, 40, 36)).split('\n');
    expect(lines).toContain('function macro(M, a, b, c, mp, np, kc, ldc, aps, bps, ldb, first) {');
    expect(lines).toContain('  for (let j = 0; j < np; j++) {');
    expect(lines).toContain('      if (first) {');
    expect(lines).toContain('      } else {');
  });
});

describe('scalar helpers', () => {
  const { roundHalfEven, remainder, sign, relu, erf, exp, gelu } = scalarHelpers;

  it('round goes half to even and keeps the sign of zero', () => {
    const cases: [number, number][] = [
      [0.5, 0], [1.5, 2], [2.5, 2], [3.5, 4], [-0.5, -0], [-1.5, -2], [-2.5, -2], [0.4, 0], [0.6, 1], [-0.6, -1],
      [2.4999, 2], [2.5001, 3], [7, 7], [-7, -7], [-0.4, -0],
    ];
    for (const [x, want] of cases) expect(Object.is(roundHalfEven(x), want), `round(${x})`).toBe(true);
  });

  it("mod takes the divisor's sign, as Python's %", () => {
    expect(remainder(7, 3)).toBe(1);
    expect(remainder(-7, 3)).toBe(2);
    expect(remainder(7, -3)).toBe(-2);
    expect(remainder(-7, -3)).toBe(-1);
    // Exact multiples give a zero (JavaScript's % keeps the dividend's sign of zero, where Python gives +0).
    expect(remainder(6, -3) === 0 && remainder(-6, 3) === 0).toBe(true);
  });

  it('sign and relu keep zeros and NaN', () => {
    expect([sign(3), sign(-0.1), sign(0)]).toEqual([1, -1, 0]);
    expect(Object.is(sign(-0), -0)).toBe(true);
    expect(sign(NaN)).toBeNaN();
    expect([relu(2), relu(-2), relu(0)]).toEqual([2, 0, 0]);
    expect(relu(NaN)).toBeNaN();
  });

  it('exp matches C\'s libm within 1 ulp, and is Math.exp outside (−708, 709)', () => {
    // Python's math.exp (C's libm) at these points, printed with repr().
    const table: [number, number][] = [
      [1e-300, 1.0], [-1e-08, 0.9999999900000001], [0.5, 1.6487212707001282], [1, 2.718281828459045],
      [-1, 0.36787944117144233], [2.5, 12.182493960703473], [-3.75, 0.023517745856009107], [10, 22026.465794806718],
      [-20.125, 1.8189616875530459e-09], [88.7, 3.325986980250579e+38], [-87.3, 1.2192470959520051e-38],
      [300.5, 3.202519714603633e+130], [-366.8495220713521, 4.77833809746771e-160], [700, 1.0142320547350045e+304],
      [708.5, 4.984716099444166e+307], [-707.5, 5.453232991066742e-308],
    ];
    const ulp = (v: number): number => 2 ** (Math.floor(Math.log2(v)) - 52);
    for (const [x, want] of table) expect(Math.abs(exp(x) - want), `exp(${x})`).toBeLessThanOrEqual(ulp(want));
    expect([exp(0), exp(-0)]).toEqual([1, 1]);
    for (const x of [709, 710, -708, -740, -746, Infinity, -Infinity]) expect(exp(x), `exp(${x})`).toBe(Math.exp(x));
    expect(exp(NaN)).toBeNaN();
  });

  it('erf matches C\'s libm within 2 ulp, at centres of its series and half-way between them', () => {
    // Python's math.erf (C's libm) at these points, printed with repr(): multiples of 1/4 are centres of erf's
    // series, odd multiples of 1/8 lie where one centre hands over to the next.
    const table: [number, number][] = [
      [1e-300, 1.1283791670955126e-300], [1e-08, 1.1283791670955126e-08], [0.1, 0.1124629160182849],
      [0.125, 0.1403162048013338], [0.37, 0.39920598404299923], [0.5, 0.5204998778130465],
      [0.875, 0.7840750610598597], [1, 0.8427007929497149], [1.125, 0.8883882317017078], [1.5, 0.9661051464753108],
      [1.625, 0.9784437332399837], [2, 0.9953222650189527], [2.4, 0.999311486103355], [2.6, 0.9997639655834707],
      [3, 0.9999779095030014], [3.375, 0.9999981847185726], [4, 0.9999999845827421], [4.875, 0.9999999999945866],
      [5.5, 0.9999999999999927], [5.875, 0.9999999999999999], [5.999, 1.0], [6, 1.0],
      // Just below a centre, where a series about the centre below would need |h| up to 1/4.
      [0.2499, 0.2762203861055732], [0.7499, 0.7110913357245858], [2.2499, 0.9985365690206928], [3.7499, 0.9999998861845671],
    ];
    for (const [x, want] of table) {
      expect(Math.abs(erf(x) - want), `erf(${x})`).toBeLessThanOrEqual(4.5e-16 * want);
      expect(erf(-x), `erf(-${x})`).toBe(-erf(x));
    }
    expect(Object.is(erf(0), 0) && Object.is(erf(-0), -0)).toBe(true);
    expect(erf(NaN)).toBeNaN();
    expect(erf(Infinity)).toBe(1);
    expect(erf(-Infinity)).toBe(-1);
    // gelu(1) = 0.5 · (1 + erf(1/√2)); erf(0.7071067811865476) = 0.6826894921370859.
    expect(Math.abs(gelu(1) - 0.8413447460685429)).toBeLessThan(1e-15);
  });
});

describe('op rows', () => {
  /** The generated source of a unary row, compiled with the helpers it may call, applied to x. */
  function runJs(src: string, x: number, y = 0): number {
    const names = Object.keys(scalarHelpers);
    const f = new Function(...names, 'x', 'y', `return ${src};`) as (...a: unknown[]) => number;
    return f(...names.map((n) => scalarHelpers[n as keyof typeof scalarHelpers]), x, y);
  }

  it('each unary row computes the same value in its source and its function', () => {
    const want: Record<string, (x: number) => number> = {
      neg: (x) => -x, abs: (x) => (x < 0 ? -x : x), reciprocal: (x) => 1 / x, square: (x) => x * x,
      not: (x) => (x === 0 ? 1 : 0), isnan: (x) => (Number.isNaN(x) ? 1 : 0), rsqrt: (x) => 1 / Math.sqrt(x),
      // sigmoid through the kernels' own exp (checked against C's libm above).
      sigmoid: (x) => 1 / (1 + scalarHelpers.exp(-x)), floor: Math.floor, ceil: Math.ceil,
    };
    for (const [op, f] of Object.entries(want)) {
      const row = UNARY[op as keyof typeof UNARY];
      for (const x of [2.25, -3.5, 0]) {
        expect(Object.is(row.fn(x), f(x)), `${op}.fn(${x})`).toBe(true);
        expect(Object.is(runJs(row.js('x'), x), f(x)), `${op}.js(${x})`).toBe(true);
      }
    }
    expect(runJs(UNARY.round.js('x'), 2.5)).toBe(2);
    expect(runJs(UNARY.isnan.js('x'), NaN)).toBe(1);
  });

  it('each binary row computes the same value in its source and its function', () => {
    const want: Record<string, (l: number, r: number) => number> = {
      add: (l, r) => l + r, sub: (l, r) => l - r, mul: (l, r) => l * r, div: (l, r) => l / r,
      max: (l, r) => (l > r ? l : r), min: (l, r) => (l < r ? l : r), floordiv: (l, r) => Math.floor(l / r),
      eq: (l, r) => (l === r ? 1 : 0), ne: (l, r) => (l !== r ? 1 : 0), lt: (l, r) => (l < r ? 1 : 0),
      le: (l, r) => (l <= r ? 1 : 0), gt: (l, r) => (l > r ? 1 : 0), ge: (l, r) => (l >= r ? 1 : 0),
      and: (l, r) => (l !== 0 && r !== 0 ? 1 : 0), or: (l, r) => (l !== 0 || r !== 0 ? 1 : 0),
      xor: (l, r) => ((l !== 0) !== (r !== 0) ? 1 : 0),
    };
    const pairs: [number, number][] = [[7, 2], [2, 7], [-3, 2], [0, 5], [4, 4], [0, 0]];
    for (const [op, f] of Object.entries(want)) {
      const row = binaryIn(op as Parameters<typeof binaryIn>[0], 'float64');
      for (const [l, r] of pairs) {
        expect(row.fn(l, r), `${op}.fn(${l}, ${r})`).toBe(f(l, r));
        expect(runJs(row.js('x', 'y'), l, r), `${op}.js(${l}, ${r})`).toBe(f(l, r));
      }
    }
    expect(runJs(binaryIn('mod', 'float64').js('x', 'y'), -7, 3)).toBe(2);
    expect(runJs(binaryIn('pow', 'float64').js('x', 'y'), 2, 10)).toBe(1024);
  });

  it('int32 products wrap as int32 arithmetic does; other ops and other compute types keep the plain row', () => {
    // 65536 · 65536 = 2^32, which wraps to 0; 46341² = 2147488281 wraps to -2147479015.
    expect(binaryIn('mul', 'int32').fn(65536, 65536)).toBe(0);
    expect(runJs(binaryIn('mul', 'int32').js('x', 'y'), 46341, 46341)).toBe(-2147479015);
    expect(binaryIn('mul', 'float64').fn(65536, 65536)).toBe(4294967296);
    expect(binaryIn('mul', undefined).fn(65536, 65536)).toBe(4294967296);
    expect(runJs(binaryIn('mul', 'float32').js('x', 'y'), 65536, 65536)).toBe(4294967296);
    expect(binaryIn('add', 'int32').fn(2147483647, 1)).toBe(2147483648);
  });

  it('casts truncate toward zero for int32, test != 0 for bool, and round for float32 and float16', () => {
    const cases: [keyof typeof CAST, number, number][] = [
      ['int32', 2.9, 2], ['int32', -2.9, -2], ['int32', 2147483648, -2147483648], ['bool', -0.5, 1], ['bool', 0, 0],
      ['bool', NaN, 1], ['float32', 0.1, 0.10000000149011612], ['float16', 0.1, 0.0999755859375], ['float64', 0.1, 0.1],
    ];
    for (const [to, x, want] of cases) {
      expect(CAST[to].fn(x), `${to}.fn(${x})`).toBe(want);
      expect(runJs(CAST[to].js('x'), x), `${to}.js(${x})`).toBe(want);
    }
  });
});

describe('EINJIT_CPU_GEMM', () => {
  /** The GEMM module as imported with the variable set (it is read once, at import). */
  async function gemmWith(value: string): Promise<typeof import('../../kernels/cpu/gemm.js')> {
    vi.stubEnv('EINJIT_CPU_GEMM', value);
    vi.resetModules();
    try {
      return await import('../../kernels/cpu/gemm.js');
    } finally {
      vi.unstubAllEnvs();
    }
  }

  /** The error `fn` throws (a fresh module graph has its own EinjitError class, so no instanceof here). */
  function caught(fn: () => unknown): { name: string; reason: string; op?: string; hint?: string } {
    try {
      fn();
    } catch (e) {
      return e as { name: string; reason: string; op?: string; hint?: string };
    }
    throw new Error('expected an error, but nothing was thrown');
  }

  it('an unknown value is reported by the first product, naming the choices', async () => {
    const g = await gemmWith('fast');
    const err = caught(() => g.gemmRoute(bigGemm(48, 40, 36)));
    expect(err.name).toBe('EinjitError');
    expect(err.reason).toBe("EINJIT_CPU_GEMM='fast' names no GEMM kernel");
    expect(err.op).toBe('gemm');
    expect(err.hint).toBe('set it to one of auto, js, simd, relaxed, direct, or unset it');
    expect(g.gemmKernelName(bigGemm(48, 40, 36))).toMatch(/^none: .*EINJIT_CPU_GEMM='fast' names no GEMM kernel/);
    expect(g.gemmMinWork()).toBeUndefined();
  });

  it("'direct' and 'js' force their kernel for every contraction, however small; 'auto' and '' choose by shape", async () => {
    const direct = await gemmWith('direct');
    expect(direct.gemmMinWork()).toBe(1);
    expect(direct.gemmRoute(bigGemm(48, 40, 36))).toBe('direct');
    const js = await gemmWith('js');
    expect(js.gemmMinWork()).toBe(1);
    expect(js.gemmRoute(bigGemm(2, 2, 2))).toBe('js');
    for (const value of ['auto', '']) {
      const auto = await gemmWith(value);
      expect(auto.gemmMinWork()).toBeUndefined();
      expect(auto.gemmRoute(bigGemm(2, 2, 2))).toBe('direct');
    }
    // A name of Object.prototype is not a kernel.
    const proto = await gemmWith('toString');
    expect(caught(() => proto.gemmRoute(bigGemm(2, 2, 2))).reason).toBe("EINJIT_CPU_GEMM='toString' names no GEMM kernel");
  });
});

describe('the CPU backend', () => {
  it('counts live bytes from the first liveBytes() call: an allocation adds its bytes, a release takes them back', () => {
    const backend = createCpuBackend(hooks);
    const before = backend.liveBytes();
    const s = backend.allocate('float64', 100);
    expect(backend.liveBytes() - before).toBe(800);
    const z = backend.allocateZeroed('int32', 10);
    expect(backend.liveBytes() - before).toBe(840);
    backend.release(s);
    backend.release(z);
    expect(backend.liveBytes()).toBe(before);
  });

  it("the GEMM source states the small-product threshold", () => {
    expect(gemmSource(bigGemm(48, 40, 36)).split('\n'))
      .toContain('// small products (m*n*k < 32768) run a direct strided loop; larger ones pack A/B panels.');
  });
});

describe('max and min keep the first of equal values', () => {
  it('so the sign of a zero tie is the first one, generated and interpreted alike', () => {
    for (const op of ['max', 'min'] as const) {
      const spec = buildLoop({
        label: op, outShape: [2], reduceShape: [2], reduceOp: op,
        inputs: [{ dtype: 'float64', offset: 0, strides: [2, 1] }],
        output: { dtype: 'float64', offset: 0, strides: [1] }, expr: ex.input(0), computeType: 'float64',
      });
      const rows = Float64Array.of(0, -0, -0, 0);
      for (const kernel of [compileLoop(spec), interpretLoop(spec)]) {
        const out = new Float64Array(2).fill(NaN);
        kernel([rows], out, loopParams(spec));
        expect(Object.is(out[0], 0) && Object.is(out[1], -0), `${op}: ${out[0]}, ${out[1]}`).toBe(true);
      }
    }
  });
});
