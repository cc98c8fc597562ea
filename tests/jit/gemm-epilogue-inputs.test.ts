/**
 * GemmSpec `epilogueInputs` at the kernel contract: C = epilogue(A·B, in1, in2, ...) where each extra operand is
 * read at C's element through its own strides over [batch..., m, n] — broadcast (stride 0), permuted, negative,
 * offset into a larger buffer. Random specs on every CPU route (direct loop, packed JS, packed Wasm, through
 * runGemm and through the CPU backend's run) and on WGSL tile shapes (basic and pipelined; a split-K shape sums
 * its splits, then runs the epilogue as a map), against a float64 loop written here; C's elements outside the product untouched. Then the refusals:
 * a wrong operand count, an operand over C's storage, more storage buffers than the device binds.
 */
import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { configureGemm, runGemm, shutdownGemmPool, type GemmOptions } from '../../kernels/cpu/gemm.js';
import { chooseGemmConfig, type GemmTileChoice } from '../../kernels/wgsl/gemm.js';
import type { GpuStorage, WebGPUBackend } from '../../kernels/wgsl/index.js';
import { ex, type Access, type Expr, type GemmSpec } from '../../src/lower/spec.js';
import { createCpuBackend } from '../../kernels/cpu/backend.js';
import { gpuAvailable, openBackend } from '../wgsl/setup.js';
import { cpuGemmRoutes } from '../helpers/gemm-routes.js';

/** How an extra operand walks one GEMM dimension: broadcast, forwards or backwards. */
type Walk = 0 | 1 | -1;

interface Operand {
  /** Per dimension [batch..., m, n]. */
  readonly walks: readonly Walk[];
  /** Order in which the non-broadcast dimensions are laid out, innermost first (a permutation of the dims). */
  readonly order: readonly number[];
  /** Elements before and after the operand's range in its buffer. */
  readonly pad: number;
}

type Combine = 'add' | 'sub' | 'mul' | 'max' | 'rsub';
type Finish = 'none' | 'relu' | 'tanh' | 'sigmoid';

interface Case {
  readonly batch: readonly number[];
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly operands: readonly Operand[];
  readonly combine: readonly Combine[];
  readonly scale: number;
  readonly finish: Finish;
  /** The epilogue also reads C's old value (`epilogueReadsC`): old + e or old - e. */
  readonly self?: 'add' | 'rsub';
  /** The CPU's `inPlaceElements` (the staging band's size) for a case that reads C's old value. */
  readonly band?: number;
}

function values(length: number, seed: number): number[] {
  return Array.from({ length }, (_, i) => Math.fround(((((i + 1) * 7919 + seed * 104729) % 2003) / 1001) - 1));
}

/** The access and buffer length of an operand over the GEMM dims `sizes`. */
function layout(op: Operand, sizes: readonly number[], dtype: GemmSpec['dtype']): { access: Access; length: number } {
  const strides = new Array<number>(sizes.length).fill(0);
  let step = 1;
  for (const d of op.order) {
    if (op.walks[d] === 0) continue;
    strides[d] = op.walks[d]! * step;
    step *= sizes[d]!;
  }
  const low = strides.reduce((s, st, d) => s + Math.min(0, st * (sizes[d]! - 1)), 0);
  const high = strides.reduce((s, st, d) => s + Math.max(0, st * (sizes[d]! - 1)), 0);
  const offset = op.pad - low;
  return { access: { dtype, offset, strides }, length: offset + high + op.pad + 1 };
}

/** The epilogue: scale · finish(((p ∘ in1) ∘ in2) ...), each ∘ one of the case's combinations. */
function epilogueOf(c: Case): Expr {
  let e: Expr = ex.input(0);
  c.combine.forEach((op, i) => {
    const x = ex.input(i + 1);
    e = op === 'rsub' ? ex.binary('sub', x, e) : ex.binary(op, e, x);
  });
  if (c.finish !== 'none') e = ex.unary(c.finish, e);
  e = ex.binary('mul', e, ex.const(c.scale));
  if (c.self === undefined) return e;
  const old = ex.input(c.operands.length + 1);
  return c.self === 'add' ? ex.binary('add', old, e) : ex.binary('sub', old, e);
}

function epilogueF64(c: Case, p: number, xs: readonly number[], old: number): number {
  let v = p;
  c.combine.forEach((op, i) => {
    const x = xs[i]!;
    switch (op) {
      case 'add': v = v + x; break;
      case 'sub': v = v - x; break;
      case 'mul': v = v * x; break;
      case 'max': v = Math.max(v, x); break;
      case 'rsub': v = x - v; break;
    }
  });
  switch (c.finish) {
    case 'relu': v = Math.max(0, v); break;
    case 'tanh': v = Math.tanh(v); break;
    case 'sigmoid': v = 1 / (1 + Math.exp(-v)); break;
    case 'none': break;
  }
  v *= c.scale;
  return c.self === undefined ? v : c.self === 'add' ? old + v : old - v;
}

interface Built {
  readonly spec: GemmSpec;
  readonly a: number[];
  readonly b: number[];
  readonly extras: number[][];
  readonly cLength: number;
  /** C's buffer before the launch: FILL, and old values where the product goes when the epilogue reads them. */
  readonly initial: number[];
  /** Expected C buffer (float64) and which elements the product writes. */
  readonly want: number[];
  readonly written: Set<number>;
}

const FILL = -7;
const C_OFFSET = 2;

/** A, B row-major per batch point; C row-major after an offset, with a gap at the end; the operands as drawn. */
function build(c: Case, dtype: GemmSpec['dtype']): Built {
  const { batch, m, n, k } = c;
  const count = batch.reduce((x, y) => x * y, 1);
  const sizes = [...batch, m, n];
  const rowMajor = (dims: readonly number[]): number[] => dims.map((_, i) => dims.slice(i + 1).reduce((x, y) => x * y, 1));
  const aStrides = rowMajor([...batch, m, k]);
  const bStrides = rowMajor([...batch, k, n]);
  const cStrides = rowMajor(sizes);
  const layouts = c.operands.map((op) => layout(op, sizes, dtype));
  const spec: GemmSpec = {
    kind: 'gemm', label: 'epilogue inputs test', dtype, batch, m, n, k,
    a: { offset: 0, batchStrides: aStrides.slice(0, batch.length), rowStride: k, colStride: 1 },
    b: { offset: 0, batchStrides: bStrides.slice(0, batch.length), rowStride: n, colStride: 1 },
    c: { offset: C_OFFSET, batchStrides: cStrides.slice(0, batch.length), rowStride: n, colStride: 1 },
    epilogue: epilogueOf(c),
    epilogueInputs: layouts.map((l) => l.access),
    ...(c.self === undefined ? {} : { epilogueReadsC: true }),
  };
  const a = values(count * m * k, 1);
  const b = values(count * k * n, 2);
  const extras = layouts.map((l, i) => values(l.length, 10 + i));
  const cLength = C_OFFSET + count * m * n + 3;
  const want = new Array<number>(cLength).fill(FILL);
  const old = values(cLength, 30);
  const initial = want.slice();
  const written = new Set<number>();
  for (let q = 0; q < count; q++) {
    const idx: number[] = [];
    let rest = q;
    for (let d = batch.length - 1; d >= 0; d--) { idx[d] = rest % batch[d]!; rest = Math.floor(rest / batch[d]!); }
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let p = 0; p < k; p++) acc += a[q * m * k + i * k + p]! * b[q * k * n + p * n + j]!;
      const point = [...idx, i, j];
      const xs = layouts.map((l, e) => extras[e]![l.access.offset + point.reduce((s, v, d) => s + v * l.access.strides[d]!, 0)]!);
      const at = C_OFFSET + q * m * n + i * n + j;
      if (c.self !== undefined) initial[at] = old[at]!;
      want[at] = epilogueF64(c, acc, xs, old[at]!);
      written.add(at);
    }
  }
  return { spec, a, b, extras, cLength, initial, want, written };
}

function compare(got: ArrayLike<number>, x: Built, tol: number, what: string): void {
  for (let i = 0; i < x.want.length; i++) {
    const g = Number(got[i]);
    const w = x.want[i]!;
    const ok = x.written.has(i) ? Math.abs(g - w) <= tol * (1 + Math.abs(w)) : g === w;
    if (!ok) throw new Error(`${what}: element ${i} is ${g}, expected ${w}${x.written.has(i) ? '' : ' (outside C)'}`);
  }
}

function caseArb(maxOperands: number, maxSize: number): fc.Arbitrary<Case> {
  return fc.integer({ min: 0, max: 2 }).chain((nb) => fc.record({
    batch: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: nb, maxLength: nb }),
    m: fc.integer({ min: 1, max: maxSize }),
    n: fc.integer({ min: 1, max: maxSize }),
    k: fc.integer({ min: 1, max: 2 * maxSize }),
    operands: fc.array(fc.record({
      walks: fc.array(fc.constantFrom<Walk>(0, 1, -1), { minLength: nb + 2, maxLength: nb + 2 }),
      order: fc.shuffledSubarray(Array.from({ length: nb + 2 }, (_, d) => d), { minLength: nb + 2, maxLength: nb + 2 }),
      pad: fc.integer({ min: 0, max: 3 }),
    }), { minLength: 1, maxLength: maxOperands }),
    combine: fc.array(fc.constantFrom<Combine>('add', 'sub', 'mul', 'max', 'rsub'), { minLength: maxOperands, maxLength: maxOperands }),
    scale: fc.double({ min: -2, max: 2, noNaN: true }),
    finish: fc.constantFrom<Finish>('none', 'relu', 'tanh', 'sigmoid'),
    self: fc.constantFrom<Case['self']>(undefined, 'add', 'rsub'),
    band: fc.integer({ min: 1, max: 40 }),
  })).map((c) => ({ ...c, combine: c.combine.slice(0, c.operands.length) }));
}

/** The common cases: a bias over n ([0..., 0, 1]) and a residual of C's shape, one reversed along m. */
function biasResidual(batch: number[], m: number, n: number, k: number): Case {
  const nb = batch.length;
  const dims = Array.from({ length: nb + 2 }, (_, d) => d).reverse();
  return {
    batch, m, n, k, scale: 1, finish: 'relu', combine: ['add', 'add'],
    operands: [
      { walks: [...new Array<Walk>(nb).fill(0), 0, 1], order: dims, pad: 0 },
      { walks: [...new Array<Walk>(nb).fill(1), -1, 1], order: dims, pad: 1 },
    ],
  };
}

const hooks = { allocated() {}, checkUsable() {}, async beforeRead() {} };

describe('GEMM epilogue inputs on the CPU', () => {
  let saved: GemmOptions | null = null;
  afterEach(() => { if (saved !== null) configureGemm(saved); saved = null; });
  afterAll(() => shutdownGemmPool());

  const routes = cpuGemmRoutes();
  const Arr = (dtype: GemmSpec['dtype']): Float32ArrayConstructor | Float64ArrayConstructor => (dtype === 'float32' ? Float32Array : Float64Array);

  it.each(routes.flatMap((r) => (['float32', 'float64'] as const).map((d) => [r.name, d, r.options] as const)))(
    'runGemm, %s, %s: random strides, broadcasts, negative and offset views', (_, dtype, options) => {
      saved = configureGemm(options);
      fc.assert(fc.property(caseArb(3, 12), (c) => {
        configureGemm({ ...options, inPlaceElements: c.band ?? 1 << 16 });
        const x = build(c, dtype);
        const out = Arr(dtype).from(x.initial);
        runGemm(x.spec, Arr(dtype).from(x.a), Arr(dtype).from(x.b), out, x.extras.map((e) => Arr(dtype).from(e)));
        compare(out, x, dtype === 'float32' ? 2e-6 * Math.sqrt(c.k) * 4 : 1e-12, JSON.stringify(c));
      }), { numRuns: 40 });
      const x = build(biasResidual([2], 37, 29, 50), dtype);
      const out = new (Arr(dtype))(x.cLength).fill(FILL);
      runGemm(x.spec, Arr(dtype).from(x.a), Arr(dtype).from(x.b), out, x.extras.map((e) => Arr(dtype).from(e)));
      compare(out, x, dtype === 'float32' ? 2e-5 : 1e-12, 'bias and residual');
      // An update in place over two batch points in bands of 3 rows (the last one short), and in one band.
      for (const band of [100, 1 << 16]) {
        configureGemm({ ...options, inPlaceElements: band });
        const y = build({ ...biasResidual([2], 37, 29, 50), self: 'rsub' }, dtype);
        const c = Arr(dtype).from(y.initial);
        runGemm(y.spec, Arr(dtype).from(y.a), Arr(dtype).from(y.b), c, y.extras.map((e) => Arr(dtype).from(e)));
        compare(c, y, dtype === 'float32' ? 2e-5 : 1e-12, `update in place, bands of ${band} elements`);
      }
    });

  it.each(routes.filter((r) => r.name !== 'direct loop').map((r) => [r.name, r.options] as const))(
    'runGemm, %s, rounds of many blocks on two threads: the epilogue applied as each block of C is stored', (_, options) => {
      // A small round budget cuts C into blocks of a few panels and the launch into several rounds; helper threads
      // compute later blocks while the main thread stores finished ones through the epilogue.
      saved = configureGemm({ ...options, roundElements: 3000, threads: 2, parallelMacs: 0 });
      for (const dtype of ['float32', 'float64'] as const) {
        fc.assert(fc.property(caseArb(3, 40).filter((c) => c.self === undefined && c.m * c.n >= 64), (c) => {
          const x = build(c, dtype);
          const out = Arr(dtype).from(x.initial);
          runGemm(x.spec, Arr(dtype).from(x.a), Arr(dtype).from(x.b), out, x.extras.map((e) => Arr(dtype).from(e)));
          compare(out, x, dtype === 'float32' ? 2e-6 * Math.sqrt(c.k) * 4 : 1e-12, JSON.stringify(c));
        }), { numRuns: 15 });
      }
    });

  it('the CPU backend passes the operands after A and B; five of them', () => {
    const cpu = createCpuBackend(hooks);
    fc.assert(fc.property(caseArb(5, 9), (c) => {
      const x = build(c, 'float32');
      const st = (v: readonly number[]) => cpu.fromArray('float32', Float32Array.from(v), false);
      const out = cpu.fromArray('float32', Float32Array.from(x.initial), false);
      cpu.run(x.spec, [st(x.a), st(x.b), ...x.extras.map(st)], out);
      compare(cpu.readSync(out, 'test') as Float32Array, x, 8e-6 * Math.sqrt(c.k), JSON.stringify(c));
    }), { numRuns: 30 });
    const five: Case = { ...biasResidual([], 6, 5, 4), combine: ['add', 'mul', 'sub', 'max', 'add'], finish: 'tanh' };
    const x = build({ ...five, operands: [...five.operands, ...five.operands, five.operands[0]!] }, 'float64');
    expect(x.spec.epilogueInputs).toHaveLength(5);
    const out = new Float64Array(x.cLength).fill(FILL);
    runGemm(x.spec, Float64Array.from(x.a), Float64Array.from(x.b), out, x.extras.map((e) => Float64Array.from(e)));
    compare(out, x, 1e-12, 'five operands');
  });

  it('refuses a wrong operand count and an operand over C', () => {
    const x = build(biasResidual([], 3, 4, 5), 'float32');
    const c = new Float32Array(x.cLength);
    const [e1, e2] = x.extras.map((e) => Float32Array.from(e));
    expect(() => runGemm(x.spec, Float32Array.from(x.a), Float32Array.from(x.b), c, [e1!])).toThrow(/reads 2 operand\(s\) beside the product, got 1/);
    expect(() => runGemm(x.spec, Float32Array.from(x.a), Float32Array.from(x.b), c, [e1!, c.subarray(1)])).toThrow(/shares storage with C/);
    expect(() => runGemm(x.spec, Float32Array.from(x.a), Float32Array.from(x.b), c, [e1!, e2!])).not.toThrow();
  });

  it('the spec key and the source name the operands', () => {
    const x = build(biasResidual([2], 3, 4, 5), 'float32');
    const cpu = createCpuBackend(hooks);
    expect(cpu.source(x.spec)).toMatch(/epilogue: applied as each packed block of C is stored/);
    const { epilogueInputs: _, ...without } = x.spec;
    expect(cpu.source(x.spec)).not.toBe(cpu.source(without));
  });
});

describe.skipIf(!gpuAvailable)('GEMM epilogue inputs in WGSL', () => {
  let backend: WebGPUBackend;
  afterAll(() => { backend?.destroy(); });

  const tiles: GemmTileChoice[] = [
    'small', 'large', 'auto',
    { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4, pipelined: true },
    { BM: 128, BN: 128, BK: 8, TM: 8, TN: 8, pipelined: true, splitK: 4 },
  ];

  const run = async (x: Built): Promise<Float32Array> => {
    const up = (v: readonly number[]): GpuStorage => backend.upload('float32', Float32Array.from(v));
    const ins = [up(x.a), up(x.b), ...x.extras.map(up)];
    const out = up(x.initial);
    try {
      backend.run(x.spec, ins, out);
      return await backend.read(out) as Float32Array;
    } finally {
      for (const s of [...ins, out]) backend.release(s);
    }
  };

  // Compiling a GEMM pipeline takes seconds on a software device: one epilogue, one batch dim and odd k and n
  // (scalar loads of A and B) keep the random cases on one pipeline per tile shape; strides, offsets and sizes
  // are launch parameters.
  const gpuCases = caseArb(2, 20).filter((c) => c.batch.length === 1 && c.operands.length === 2 && c.k % 2 === 1 && c.n % 2 === 1)
    .map((c): Case => ({ ...c, combine: ['add', 'mul'], finish: 'tanh', scale: 0.5, self: undefined }));

  it.each(tiles.map((t) => [JSON.stringify(t), t] as const))('%s: random strides, broadcasts, negative and offset views', { timeout: 300_000 }, async (_, t) => {
    backend ??= await openBackend();
    backend.tuning.gemmTiles = t;
    try {
      await fc.assert(fc.asyncProperty(gpuCases, async (c) => {
        const x = build(c, 'float32');
        expect(backend.kernelSource(x.spec).source).toContain('epilogue input 2, read at each element of C');
        const split = typeof t === 'object' && t.splitK !== undefined ? Math.min(t.splitK, Math.ceil(c.k / t.BK)) : null;
        if (split !== null) expect(chooseGemmConfig(x.spec, t, backend.limits).splitK).toBe(split);
        compare(await run(x), x, 8e-6 * Math.sqrt(c.k), JSON.stringify(c));
      }), { numRuns: 8 });
      const x = build({ ...biasResidual([2], 69, 67, 131), combine: ['add', 'mul'], finish: 'tanh', scale: 0.5 }, 'float32');
      compare(await run(x), x, 2e-5, 'bias and residual');
    } finally {
      backend.tuning.gemmTiles = 'auto';
    }
  });

  it.each(['small', { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4, pipelined: true }, { BM: 64, BN: 64, BK: 4, TM: 4, TN: 4, pipelined: true, splitK: 3 }] as GemmTileChoice[])(
    '%j: an epilogue that reads C\'s old value (in the GEMM\'s store, or in the map after a split\'s sum)', { timeout: 300_000 }, async (t) => {
      backend ??= await openBackend();
      backend.tuning.gemmTiles = t;
      try {
        await fc.assert(fc.asyncProperty(gpuCases, async (c) => {
          const x = build({ ...c, self: 'rsub' }, 'float32');
          compare(await run(x), x, 8e-6 * Math.sqrt(c.k), JSON.stringify(c));
        }), { numRuns: 6 });
      } finally {
        backend.tuning.gemmTiles = 'auto';
      }
    });

  it('five operands bind (8 storage buffers); six are refused under a limit of 8; the count and ranges are checked', { timeout: 300_000 }, async () => {
    backend ??= await openBackend();
    const base = biasResidual([], 6, 5, 4);
    const ops = (count: number): Case => ({
      ...base, finish: 'none', combine: new Array<Combine>(count).fill('add'),
      operands: Array.from({ length: count }, (_, i) => base.operands[i % 2]!),
    });
    const x = build(ops(5), 'float32');
    compare(await run(x), x, 1e-5, 'five operands');
    const limits = backend.limits as { maxStorageBuffersPerShaderStage: number };
    const saved = limits.maxStorageBuffersPerShaderStage;
    limits.maxStorageBuffersPerShaderStage = 8;
    try {
      await expect(run(build(ops(6), 'float32'))).rejects.toThrow(/9 storage buffers exceed this device's limit of 8/);
    } finally {
      limits.maxStorageBuffersPerShaderStage = saved;
    }
    const y = build(ops(2), 'float32');
    await expect(run({ ...y, extras: y.extras.slice(0, 1) })).rejects.toThrow(/a GEMM takes 4 inputs, got 3/);
    await expect(run({ ...y, extras: [y.extras[0]!, y.extras[1]!.slice(0, 3)] })).rejects.toThrow(/epilogue input 2 reads elements/);
  });
});
