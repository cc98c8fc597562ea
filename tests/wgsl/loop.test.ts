import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { WebGPUBackend, GpuDType } from '../../kernels/wgsl/index.js';
import { DEFAULT_LOOP_TUNING } from '../../kernels/wgsl/index.js';
import { ex } from '../../src/lower/spec.js';
import type { Access, BinaryOp, DType, Expr, LoopSpec, ReduceOp, UnaryOp } from '../../src/lower/spec.js';
import { referenceLoop } from './reference.js';
import { close, gpuAvailable, hostArray, openBackend, readNumbers } from './setup.js';

/** Property runs per random test; raise it (EINJIT_GPU_RUNS=500) for a longer soak. */
const RUNS = Number(process.env['EINJIT_GPU_RUNS'] ?? 40);
/** A fixed seed keeps the suite's time and kernels stable; EINJIT_GPU_SEED=random (or a number) explores. */
const SEED = process.env['EINJIT_GPU_SEED'] === 'random' ? undefined : Number(process.env['EINJIT_GPU_SEED'] ?? 20261123);

type Pick = (min: number, max: number) => number;
const choose = <T>(pick: Pick, xs: readonly T[]): T => xs[pick(0, xs.length - 1)]!;

// ---- random expressions ----
// 'exact' expressions over quarter values stay exact in float32, so discontinuous ops (floor, comparisons,
// casts to int) are safe on them; 'smooth' ones use transcendental ops whose last bits differ between
// implementations, and flow only into continuous ops.

const EXACT_UNARY: readonly UnaryOp[] = ['neg', 'abs', 'relu', 'floor', 'ceil', 'round', 'sign', 'not', 'isnan', 'square'];
const EXACT_BINARY: readonly BinaryOp[] = ['add', 'sub', 'mul', 'max', 'min', 'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'and', 'or', 'xor'];
const SMOOTH_UNARY: readonly UnaryOp[] = ['exp', 'log', 'sqrt', 'rsqrt', 'sigmoid', 'tanh', 'gelu', 'erf', 'sin', 'cos', 'reciprocal', 'neg', 'abs', 'relu', 'square'];
const SMOOTH_BINARY: readonly BinaryOp[] = ['add', 'sub', 'mul', 'div', 'max', 'min'];
const INT_UNARY: readonly UnaryOp[] = ['neg', 'abs', 'relu', 'sign', 'square', 'not', 'floor', 'round', 'isnan'];
const INT_BINARY: readonly BinaryOp[] = ['add', 'sub', 'mul', 'max', 'min', 'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'and', 'or', 'xor'];

function exactExpr(pick: Pick, depth: number, inputs: number): Expr {
  if (depth === 0 || pick(0, 3) === 0) {
    return pick(0, 4) === 0 ? ex.const(pick(-12, 12) / 4) : ex.input(pick(0, inputs - 1));
  }
  const sub = (): Expr => exactExpr(pick, depth - 1, inputs);
  switch (pick(0, 5)) {
    case 0: return ex.unary(choose(pick, EXACT_UNARY), sub());
    case 1: case 2: return ex.binary(choose(pick, EXACT_BINARY), sub(), sub());
    case 3: return ex.binary(choose(pick, ['mod', 'floordiv'] as const), sub(), ex.const(choose(pick, [0.5, 2, -2, 4])));
    case 4: return ex.select(sub(), sub(), sub());
    default: return ex.cast(choose(pick, ['int32', 'bool', 'float32'] as const), sub());
  }
}

function smoothExpr(pick: Pick, depth: number, inputs: number): Expr {
  if (depth === 0 || pick(0, 4) === 0) return exactExpr(pick, 1, inputs);
  const sub = (): Expr => smoothExpr(pick, depth - 1, inputs);
  switch (pick(0, 5)) {
    case 0: case 1: return ex.unary(choose(pick, SMOOTH_UNARY), sub());
    case 2: case 3: return ex.binary(choose(pick, SMOOTH_BINARY), sub(), pick(0, 1) === 0 ? sub() : exactExpr(pick, 1, inputs));
    case 4: return ex.binary('pow', sub(), ex.const(choose(pick, [2, 3, 0.5, -1])));
    default: return ex.select(exactExpr(pick, 1, inputs), sub(), sub());
  }
}

function intExpr(pick: Pick, depth: number, inputs: number): Expr {
  if (depth === 0 || pick(0, 3) === 0) return pick(0, 4) === 0 ? ex.const(pick(-4, 4)) : ex.input(pick(0, inputs - 1));
  const sub = (): Expr => intExpr(pick, depth - 1, inputs);
  switch (pick(0, 5)) {
    case 0: return ex.unary(choose(pick, INT_UNARY), sub());
    case 1: case 2: return ex.binary(choose(pick, INT_BINARY), sub(), sub());
    case 3: return ex.binary(choose(pick, ['mod', 'floordiv', 'div'] as const), sub(), ex.const(choose(pick, [-3, 2, 3, 5])));
    case 4: return ex.select(sub(), sub(), sub());
    default: return ex.cast('bool', sub());
  }
}

function usesOp(e: Expr, test: (e: Expr) => boolean): boolean {
  if (test(e)) return true;
  switch (e.kind) {
    case 'unary': case 'cast': return usesOp(e.arg, test);
    case 'binary': return usesOp(e.lhs, test) || usesOp(e.rhs, test);
    case 'select': return usesOp(e.cond, test) || usesOp(e.then, test) || usesOp(e.otherwise, test);
    default: return false;
  }
}

// ---- random layouts ----

function inputAccess(pick: Pick, dtype: DType, sizes: readonly number[]): { access: Access; length: number } {
  const dims = sizes.map((_, d) => d).filter(() => pick(0, 3) !== 0);
  for (let i = dims.length - 1; i > 0; i--) {
    const j = pick(0, i);
    [dims[i], dims[j]] = [dims[j]!, dims[i]!];
  }
  const strides = sizes.map(() => 0);
  let step = pick(1, 2);
  for (let i = dims.length - 1; i >= 0; i--) {
    strides[dims[i]!] = step;
    step *= sizes[dims[i]!]!;
  }
  const offset = pick(0, 5);
  const last = sizes.reduce((s, n, d) => s + (n - 1) * strides[d]!, offset);
  return { access: { dtype, offset, strides }, length: last + 1 + pick(0, 3) };
}

function outputAccess(pick: Pick, dtype: DType, sizes: readonly number[]): { access: Access; length: number } {
  const dims = sizes.map((_, d) => d);
  for (let i = dims.length - 1; i > 0; i--) {
    const j = pick(0, i);
    [dims[i], dims[j]] = [dims[j]!, dims[i]!];
  }
  const strides = sizes.map(() => 0);
  let step = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    strides[dims[i]!] = step;
    step *= sizes[dims[i]!]!;
  }
  const offset = pick(0, 3);
  return { access: { dtype, offset, strides }, length: offset + step + pick(0, 3) };
}

function values(pick: Pick, dtype: DType, length: number): number[] {
  return Array.from({ length }, () => {
    switch (dtype) {
      case 'bool': return pick(0, 1);
      case 'int32': return pick(-5, 5);
      default: return pick(-12, 12) / 4;
    }
  });
}

interface Case {
  readonly spec: LoopSpec;
  readonly inputs: number[][];
  readonly outLength: number;
  readonly rtol: number;
  readonly workgroup: boolean;
  /**
   * Random smooth expressions: WGSL promises neither signed zeros nor IEEE infinities and NaNs in arithmetic
   * (a compiler may fold 0 - x to -x or 0 · x to 0), so elements whose computation met a non-finite value are
   * only checked to be written. The op tables and NaN tests pin the cases einjit makes explicit.
   */
  readonly ieeeFree?: boolean;
}

function randomCase(pick: Pick, family: 'float' | 'int'): Case {
  const rank = pick(0, 5);
  const sizes = Array.from({ length: rank }, () => choose(pick, [1, 1, 2, 3, 4, 5, 7]));
  while (sizes.reduce((a, b) => a * b, 1) > 2000) sizes[sizes.indexOf(Math.max(...sizes))]! -= 1;
  const parallel = rank === 0 ? 0 : pick(0, rank);
  const reducing = parallel < rank;
  const nInputs = pick(1, 3);
  const smooth = family === 'float' && pick(0, 1) === 1;
  const inDTypes: DType[] = Array.from({ length: nInputs }, () =>
    family === 'float' ? choose(pick, ['float32', 'float32', 'float16', 'int32', 'bool'] as const) : choose(pick, ['int32', 'int32', 'bool'] as const));
  const expr = family === 'int' ? intExpr(pick, 3, nInputs) : smooth ? smoothExpr(pick, 3, nInputs) : exactExpr(pick, 3, nInputs);
  const computeType: DType = family === 'int' ? choose(pick, ['int32', 'int32', 'bool'] as const) : 'float32';
  let reduceOp: ReduceOp | null = null;
  if (reducing) reduceOp = smooth ? choose(pick, ['sum', 'prod', 'max', 'min'] as const) : choose(pick, ['sum', 'prod', 'max', 'min', 'argmax', 'argmin', 'any', 'all'] as const);
  if (reduceOp === 'prod') for (let d = parallel; d < rank; d++) sizes[d] = Math.min(sizes[d]!, 3);
  let outDType: DType = smooth ? choose(pick, ['float32', 'float32', 'float16'] as const)
    : family === 'float' ? choose(pick, ['float32', 'int32', 'bool', 'float16'] as const) : choose(pick, ['int32', 'bool', 'float32'] as const);
  if (reduceOp === 'argmax' || reduceOp === 'argmin') outDType = 'int32';
  const ins = inDTypes.map((dt) => inputAccess(pick, dt, sizes));
  const out = outputAccess(pick, outDType, sizes.slice(0, parallel));
  const spec: LoopSpec = {
    kind: 'loop', label: `random ${family} loop`, sizes, parallel, reduceOp, inputs: ins.map((i) => i.access), output: out.access, expr, computeType,
  };
  const f16 = outDType === 'float16' || usesOp(expr, (e) => e.kind === 'cast' && e.to === 'float16');
  const rtol = f16 ? 2e-3 : smooth ? 2e-4 : family === 'float' ? 1e-6 : 0;
  return {
    spec, inputs: ins.map((i, k) => values(pick, inDTypes[k]!, i.length)), outLength: out.length, rtol, workgroup: pick(0, 2) === 0,
    ieeeFree: smooth,
  };
}

async function runCase(backend: WebGPUBackend, c: Case): Promise<void> {
  backend.tuning.workgroupReduceMin = c.workgroup ? 1 : DEFAULT_LOOP_TUNING.workgroupReduceMin;
  const outDType = c.spec.output.dtype as GpuDType;
  const sentinel = outDType === 'bool' ? 1 : 4242;
  const reference = referenceLoop(c.spec, c.inputs, new Array<number>(c.outLength).fill(sentinel));
  // Poison: every element the kernel must write starts out different from the value it should get.
  const poison = reference.out.map((want, i) => {
    if (!reference.written.has(i)) return want;
    if (outDType === 'bool') return 1 - want;
    if (outDType === 'int32') return want + 77;
    return Number.isNaN(want) || (c.ieeeFree === true && reference.nonFinite.has(i)) ? 12345 : NaN;
  });
  const inputs = c.inputs.map((v, i) => backend.upload(c.spec.inputs[i]!.dtype as GpuDType, hostArray(c.spec.inputs[i]!.dtype as GpuDType, v)));
  const out = backend.upload(outDType, hostArray(outDType, poison));
  try {
    backend.run(c.spec, inputs, out);
    const got = await readNumbers(backend, out);
    const bad: string[] = [];
    got.forEach((g, i) => {
      const want = reference.out[i]!;
      const scale = reference.scale.get(i) ?? Math.abs(want);
      const ok = c.rtol === 0 ? g === want
        : c.ieeeFree === true && reference.nonFinite.has(i) ? g !== poison[i] : close(g, want, 1e-5, c.rtol, scale);
      if (!ok && bad.length < 5) bad.push(`[${i}] got ${g}, want ${want}`);
    });
    if (bad.length > 0) {
      throw new Error(`${bad.join('; ')}\n${JSON.stringify(c.spec)}\ninputs ${JSON.stringify(c.inputs)}\n${backend.kernelSource(c.spec).source}`);
    }
  } finally {
    for (const s of [...inputs, out]) backend.release(s);
  }
}

describe.skipIf(!gpuAvailable)('WGSL loop kernels', () => {
  let backend: WebGPUBackend;
  beforeAll(async () => { backend = await openBackend(); });
  afterAll(() => { backend?.destroy(); });

  it('random float loop specs match the reference', async () => {
    await fc.assert(
      fc.asyncProperty(fc.gen(), async (g) => {
        const pick: Pick = (min, max) => g(fc.integer, { min, max });
        await runCase(backend, randomCase(pick, 'float'));
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it('random integer and bool loop specs match the reference exactly', async () => {
    await fc.assert(
      fc.asyncProperty(fc.gen(), async (g) => {
        const pick: Pick = (min, max) => g(fc.integer, { min, max });
        await runCase(backend, randomCase(pick, 'int'));
      }),
      { numRuns: Math.ceil(RUNS * 0.75), seed: SEED },
    );
  });

  const grid = Array.from({ length: 33 }, (_, i) => (i - 16) / 4);
  const mapCase = (expr: Expr, inputs: number[][], rtol: number, computeType: DType = 'float32'): Case => ({
    spec: {
      kind: 'loop', label: 'op table', sizes: [inputs[0]!.length], parallel: 1, reduceOp: null,
      inputs: inputs.map(() => ({ dtype: computeType, offset: 0, strides: [1] })),
      output: { dtype: computeType, offset: 0, strides: [1] }, expr, computeType,
    },
    inputs, outLength: inputs[0]!.length, rtol, workgroup: false,
  });

  it.each(SMOOTH_UNARY.concat(EXACT_UNARY))('unary %s over [-4, 4]', async (op) => {
    await runCase(backend, mapCase(ex.unary(op, ex.input(0)), [grid], 2e-4));
  });

  const ALL_BINARY: readonly BinaryOp[] = ['add', 'sub', 'mul', 'div', 'pow', 'max', 'min', 'mod', 'floordiv', 'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'and', 'or', 'xor'];
  it.each(ALL_BINARY)('binary %s over a grid of pairs', async (op) => {
    const lhs: number[] = [];
    const rhs: number[] = [];
    for (const a of [-3, -2.5, -1, -0.5, 0, 0.5, 1, 2, 3]) for (const b of [-3, -2, -1, -0.5, 0.5, 1, 2, 3]) { lhs.push(a); rhs.push(b); }
    await runCase(backend, mapCase(ex.binary(op, ex.input(0), ex.input(1)), [lhs, rhs], 2e-4));
    const ints = (xs: number[]): number[] => xs.map((x) => Math.trunc(x * 2));
    if (op !== 'pow') await runCase(backend, mapCase(ex.binary(op, ex.input(0), ex.input(1)), [ints(lhs), ints(rhs)], 0, 'int32'));
  });

  it('select and casts to every dtype', async () => {
    await runCase(backend, mapCase(ex.select(ex.input(0), ex.input(1), ex.input(2)), [grid, grid.map((x) => x * 2), grid.map((x) => -x)], 0));
    for (const to of ['float32', 'int32', 'bool', 'float16'] as const) {
      await runCase(backend, mapCase(ex.cast(to, ex.binary('mul', ex.input(0), ex.const(1.37))), [grid], to === 'float16' ? 2e-3 : 1e-6));
    }
  });

  const reduceSpec = (op: ReduceOp, n: number, outDType: DType): LoopSpec => ({
    kind: 'loop', label: `${op} over j of ij->i`, sizes: [3, n], parallel: 1, reduceOp: op,
    inputs: [{ dtype: 'float32', offset: 0, strides: [n, 1] }], output: { dtype: outDType, offset: 0, strides: [1] },
    expr: ex.input(0), computeType: 'float32',
  });

  for (const workgroup of [false, true]) {
    it(`NaN and infinities in max/min/argmax/argmin (${workgroup ? 'workgroup' : 'thread'} reduction)`, async () => {
      const n = 600;
      const row0 = Array.from({ length: n }, (_, j) => (j === 400 ? NaN : j === 100 ? 7 : (j % 13) - 6));
      const row1 = Array.from({ length: n }, (_, j) => (j === 3 || j === 500 ? Infinity : j === 7 || j === 550 ? -Infinity : (j % 5) - 2));
      const row2 = Array.from({ length: n }, (_, j) => (j === 590 ? NaN : j === 20 ? NaN : 1));
      const inputs = [[...row0, ...row1, ...row2]];
      for (const op of ['max', 'min', 'argmax', 'argmin', 'sum'] as const) {
        await runCase(backend, { spec: reduceSpec(op, n, op.startsWith('arg') ? 'int32' : 'float32'), inputs, outLength: 3, rtol: 1e-6, workgroup });
      }
    });
  }

  it('long reductions use a workgroup per output and agree with the reference', async () => {
    const n = 5000;
    const data = Array.from({ length: 3 * n }, (_, i) => ((i * 7919) % 17) / 4 - 2);
    for (const op of ['sum', 'max', 'argmin', 'any', 'all'] as const) {
      const spec = reduceSpec(op, n, op.startsWith('arg') ? 'int32' : op === 'any' || op === 'all' ? 'bool' : 'float32');
      expect(backend.kernelSource(spec).source).toContain('tree reduction');
      await runCase(backend, { spec, inputs: [data], outLength: 3, rtol: 1e-5, workgroup: false });
    }
  });

  it('folds grids larger than 65,535 workgroups', async () => {
    backend.tuning.workgroupReduceMin = 1;
    backend.tuning.workgroupReduceMaxOutputs = Infinity;
    try {
      const rows = 70_000;
      const data = Array.from({ length: rows * 2 }, (_, i) => i % 11);
      const spec: LoopSpec = { ...reduceSpec('sum', 2, 'float32'), sizes: [rows, 2] };
      await runCase(backend, { spec, inputs: [data], outLength: rows, rtol: 0, workgroup: true });
    } finally {
      backend.tuning.workgroupReduceMaxOutputs = DEFAULT_LOOP_TUNING.workgroupReduceMaxOutputs;
    }
  });

  it('runs nothing for a 0-element output', async () => {
    const spec: LoopSpec = { ...reduceSpec('sum', 4, 'float32'), sizes: [0, 4] };
    const input = backend.upload('float32', new Float32Array(4));
    const out = backend.allocate('float32', 0);
    backend.run(spec, [input], out);
    await backend.flush();
    expect(await backend.read(out)).toEqual(new Float32Array(0));
    backend.release(input);
    backend.release(out);
  });

  it('empty sums and products give their identities', async () => {
    for (const [op, want] of [['sum', 0], ['prod', 1], ['any', 0], ['all', 1]] as const) {
      const spec = reduceSpec(op, 0, 'float32');
      const input = backend.allocate('float32', 0);
      const out = backend.upload('float32', new Float32Array([NaN, NaN, NaN]));
      backend.run(spec, [input], out);
      expect(Array.from(await backend.read(out))).toEqual([want, want, want]);
      backend.release(input);
      backend.release(out);
    }
  });
});
