import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

import {
  configureGemm, gemmCapabilities, gemmRoute, gemmSource, runGemm, shutdownGemmPool, type FloatArray, type GemmOptions,
} from '../../kernels/cpu/gemm.js';
import { wasmApi } from '../../kernels/cpu/wasm/api.js';
import { signedLeb, unsignedLeb } from '../../kernels/cpu/wasm/emit.js';
import { generateGemmWasm } from '../../kernels/cpu/wasm/gemm-kernel.js';
import type { GemmSpec, MatrixAccess } from '../../src/lower/spec.js';

// ---------------------------------------------------------------------------------------------------------------
// Oracle and case builder

/** C = A·B over the batch, in float64, plus Σ|a·b| per element for the tolerance. */
interface Oracle {
  readonly value: Map<number, number>;
  readonly scale: Map<number, number>;
}

function naive(spec: GemmSpec, a: FloatArray, b: FloatArray): Oracle {
  const value = new Map<number, number>();
  const scale = new Map<number, number>();
  const count = spec.batch.reduce((x, y) => x * y, 1);
  for (let t = 0; t < count; t++) {
    let rest = t, ao = spec.a.offset, bo = spec.b.offset, co = spec.c.offset;
    for (let d = spec.batch.length - 1; d >= 0; d--) {
      const size = spec.batch[d] ?? 1;
      const i = rest % size;
      rest = Math.floor(rest / size);
      ao += i * (spec.a.batchStrides[d] ?? 0);
      bo += i * (spec.b.batchStrides[d] ?? 0);
      co += i * (spec.c.batchStrides[d] ?? 0);
    }
    for (let i = 0; i < spec.m; i++) {
      for (let j = 0; j < spec.n; j++) {
        let s = 0, abs = 0;
        for (let p = 0; p < spec.k; p++) {
          const x = (a[ao + i * spec.a.rowStride + p * spec.a.colStride] ?? NaN) *
            (b[bo + p * spec.b.rowStride + j * spec.b.colStride] ?? NaN);
          s += x;
          abs += Math.abs(x);
        }
        const at = co + i * spec.c.rowStride + j * spec.c.colStride;
        value.set(at, s);
        scale.set(at, abs);
      }
    }
  }
  return { value, scale };
}

interface Layout {
  /** Row-major (true) or column-major (false) storage of the matrix. */
  readonly rowMajor: boolean;
  /** Extra elements on the leading dimension. */
  readonly pad: number;
  readonly offset: number;
  /** Stride 0 across the batch (A and B only). */
  readonly broadcast: boolean;
}

interface Case {
  readonly dtype: 'float32' | 'float64';
  readonly batch: readonly number[];
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly a: Layout;
  readonly b: Layout;
  readonly c: Layout;
  readonly seed: number;
}

/** Access for a rows×cols matrix stored with `layout`, batches stacked; returns the access and the element span. */
function access(batch: readonly number[], rows: number, cols: number, layout: Layout):
  { acc: MatrixAccess; span: number } {
  const ld = (layout.rowMajor ? cols : rows) + layout.pad;
  const matrix = layout.rowMajor ? rows * ld : cols * ld;
  const strides: number[] = [];
  let step = matrix + 1;
  for (let d = batch.length - 1; d >= 0; d--) {
    strides.unshift(layout.broadcast ? 0 : step);
    step *= batch[d] ?? 1;
  }
  const count = layout.broadcast ? 1 : batch.reduce((x, y) => x * y, 1);
  const acc = {
    offset: layout.offset,
    batchStrides: strides,
    rowStride: layout.rowMajor ? ld : 1,
    colStride: layout.rowMajor ? 1 : ld,
  };
  return { acc, span: layout.offset + count * (matrix + 1) + 1 };
}

function random(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) / 4294967296) * 2 - 1;
  };
}

function build(c: Case): { spec: GemmSpec; a: FloatArray; b: FloatArray; out: FloatArray } {
  const A = access(c.batch, c.m, c.k, c.a);
  const B = access(c.batch, c.k, c.n, c.b);
  const C = access(c.batch, c.m, c.n, { ...c.c, broadcast: false });
  const Arr = c.dtype === 'float32' ? Float32Array : Float64Array;
  const rnd = random(c.seed);
  const a = new Arr(A.span).map(() => rnd());
  const b = new Arr(B.span).map(() => rnd());
  const out = new Arr(C.span).fill(NaN);
  const spec: GemmSpec = {
    kind: 'gemm', label: `test ${c.m}x${c.n}x${c.k}`, dtype: c.dtype, batch: c.batch, m: c.m, n: c.n, k: c.k,
    a: A.acc, b: B.acc, c: C.acc,
  };
  return { spec, a, b, out };
}

/** Runs the case and checks every element of C against the oracle, and that nothing else was written. */
function check(spec: GemmSpec, a: FloatArray, b: FloatArray, out: FloatArray): void {
  const { value, scale } = naive(spec, a, b);
  runGemm(spec, a, b, out);
  const tol = (spec.dtype === 'float32' ? 1e-5 : 1e-12) * Math.sqrt(Math.max(1, spec.k));
  for (let i = 0; i < out.length; i++) {
    const want = value.get(i);
    const got = out[i] as number;
    if (want === undefined) {
      if (!Number.isNaN(got)) expect.fail(`element ${i} outside C was written (${got})`);
      continue;
    }
    const bound = tol * Math.max(scale.get(i) ?? 0, 1e-3);
    if (!(Math.abs(got - want) <= bound)) {
      expect.fail(`C element ${i}: got ${got}, want ${want} (bound ${bound}) for ${JSON.stringify(spec)}`);
    }
  }
}

const layoutArb = fc.record({
  rowMajor: fc.boolean(),
  pad: fc.constantFrom(0, 0, 1, 3),
  offset: fc.constantFrom(0, 0, 2, 7),
  broadcast: fc.boolean(),
});

/** Sizes: edges (0, 1), primes, sizes that are no multiple of any tile, and a few tile multiples. */
const dimArb = fc.oneof(
  fc.constantFrom(0, 1, 2, 3, 5, 7, 13, 17, 31, 37),
  fc.integer({ min: 1, max: 70 }),
  fc.constantFrom(16, 48, 64),
);

function caseArb(dtype: fc.Arbitrary<'float32' | 'float64'>, dim = dimArb): fc.Arbitrary<Case> {
  return fc.record({
    dtype,
    batch: fc.oneof(fc.constant([]), fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 2 })),
    m: dim,
    n: dim,
    k: dim,
    a: layoutArb,
    b: layoutArb,
    c: layoutArb,
    seed: fc.integer({ min: 1, max: 1 << 30 }),
  });
}

const dtypeArb = fc.constantFrom<'float32' | 'float64'>('float32', 'float64');

let saved: GemmOptions | null = null;
function use(change: Partial<GemmOptions>): void {
  const old = configureGemm(change);
  saved ??= old;
}
afterEach(() => {
  if (saved !== null) configureGemm(saved);
  saved = null;
});
afterAll(() => shutdownGemmPool());

const wasmSimd = gemmCapabilities().wasmSimd;
const shared = gemmCapabilities().sharedMemory;

// ---------------------------------------------------------------------------------------------------------------

describe('gemm: binary emitter', () => {
  it('encodes LEB128 like the spec examples', () => {
    expect(unsignedLeb(0)).toEqual([0]);
    expect(unsignedLeb(127)).toEqual([127]);
    expect(unsignedLeb(128)).toEqual([0x80, 0x01]);
    expect(unsignedLeb(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(signedLeb(-1)).toEqual([0x7f]);
    expect(signedLeb(63)).toEqual([0x3f]);
    expect(signedLeb(64)).toEqual([0xc0, 0x00]);
    expect(signedLeb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
  });

  it.runIf(wasmSimd)('emits valid SIMD modules for several tile shapes', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      for (const [mr, nr, unroll] of [[1, 4, 1], [4, 16, 2], [3, 8, 3], [6, 12, 4]] as const) {
        const { bytes, text } = generateGemmWasm({ dtype, mr, nr: dtype === 'float32' ? nr : nr / 2, unroll },
          { minPages: 1, maxPages: 16, shared: false });
        expect(wasmApi?.validate(bytes)).toBe(true);
        expect(text).toContain(dtype === 'float32' ? 'f32x4.mul' : 'f64x2.mul');
      }
    }
  });
});

describe('gemm: routing and edge sizes', () => {
  const base = (m: number, n: number, k: number, batch: number[] = []): Case => ({
    dtype: 'float32', batch, m, n, k, seed: 7,
    a: { rowMajor: true, pad: 0, offset: 0, broadcast: false },
    b: { rowMajor: true, pad: 0, offset: 0, broadcast: false },
    c: { rowMajor: true, pad: 0, offset: 0, broadcast: false },
  });

  it('leaves an empty C alone and writes zeros for k = 0', () => {
    const empty = build(base(0, 5, 3));
    expect(gemmRoute(empty.spec)).toBe('empty');
    check(empty.spec, empty.a, empty.b, empty.out);
    const noBatch = build(base(4, 5, 3, [2, 0]));
    expect(gemmRoute(noBatch.spec)).toBe('empty');
    runGemm(noBatch.spec, noBatch.a, noBatch.b, noBatch.out);
    const zero = build(base(4, 5, 0, [2]));
    expect(gemmRoute(zero.spec)).toBe('zero');
    check(zero.spec, zero.a, zero.b, zero.out);
  });

  it('routes small products to the direct loop and large ones to a packed kernel', () => {
    expect(gemmRoute(build(base(8, 8, 8)).spec)).toBe('direct');
    expect(gemmRoute(build(base(2, 100, 100)).spec)).toBe('direct');
    expect(gemmRoute(build(base(1, 500, 500)).spec)).toBe(wasmSimd ? 'wasm' : 'js');
    const big = build(base(40, 40, 40)).spec;
    expect(gemmRoute(big)).toBe(wasmSimd ? 'wasm' : 'js');
    use({ path: 'js' });
    expect(gemmRoute(big)).toBe('js');
  });

  it('accepts A and B aliasing one array, and operands over a SharedArrayBuffer', () => {
    use({ smallMacs: 0 });
    const n = 37;
    const data = new Float64Array(new SharedArrayBuffer(8 * n * n)).map((_, i) => Math.sin(i));
    const spec: GemmSpec = {
      kind: 'gemm', label: 'x·xᵀ', dtype: 'float64', batch: [], m: n, n, k: n,
      a: { offset: 0, batchStrides: [], rowStride: n, colStride: 1 },
      b: { offset: 0, batchStrides: [], rowStride: 1, colStride: n },
      c: { offset: 0, batchStrides: [], rowStride: n, colStride: 1 },
    };
    check(spec, data, data, new Float64Array(new SharedArrayBuffer(8 * n * n)).fill(NaN));
  });

  it('names the label and the tile configuration in the source', () => {
    const src = gemmSource({ ...build(base(64, 64, 64)).spec, label: 'bij,bjk->bik step 1' });
    expect(src.split('\n')[0]).toBe('// bij,bjk->bik step 1');
    expect(src).toMatch(/MR=\d+ NR=\d+/);
    expect(src).toContain('function macro(');
    expect(src).toContain('f32x4.add');
  });
});

describe('gemm: random shapes and strides against a float64 oracle', () => {
  const runs = (path: 'js' | 'wasm' | 'auto', extra: Partial<GemmOptions>, numRuns: number, dim = dimArb): void => {
    use({ path, ...extra });
    // Shallow K slices (kc) make even small products run several slices that accumulate into C staging.
    fc.assert(fc.property(caseArb(dtypeArb, dim), fc.constantFrom(0, 2, 4, 6, 16), (c, kc) => {
      configureGemm({ kc });
      const { spec, a, b, out } = build(c);
      check(spec, a, b, out);
    }), { numRuns });
  };

  it('direct loop (default routing for small products)', () => runs('auto', {}, 120));
  it('JS packed kernel', () => runs('js', { smallMacs: 0, threads: 1 }, 150));
  it.runIf(wasmSimd)('Wasm SIMD packed kernel', () => runs('wasm', { smallMacs: 0, threads: 1 }, 150));
  it('JS packed kernel with rounds, chunks and panel packing of B', () => {
    runs('js', { smallMacs: 0, threads: 1, roundElements: 6000, stageRows: false }, 60);
  });
  it.runIf(wasmSimd)('Wasm kernel with small rounds (several rounds and sub-products per product)', () => {
    runs('wasm', { smallMacs: 0, threads: 1, roundElements: 6000 }, 60);
  });
  it.runIf(shared)('worker pool, both kernels', () => {
    runs('js', { smallMacs: 0, threads: 2, parallelMacs: 0 }, 40);
    if (wasmSimd) runs('wasm', { smallMacs: 0, threads: 2, parallelMacs: 0, roundElements: 20000 }, 60);
  });
});

describe.runIf(wasmSimd)('gemm: float32 panels packed by the Wasm copy kernels', () => {
  // The Wasm packers take float32 panels whose K is contiguous (A row-major, B column-major) and B rows whose
  // columns are contiguous; rows up to 2·K apart are copied in as one span, rows farther apart one by one (when
  // long), and the last K mod 4 depths, the ragged panel, the padding columns and the K tail are filled apart.
  // Each case runs with them and with the JavaScript packers, on both macro-kernels, against the float64 oracle.
  const far = fc.constantFrom(0, 1, 3, 150, 301);
  const layout = fc.record({ rowMajor: fc.boolean(), pad: far, offset: fc.constantFrom(0, 5), broadcast: fc.boolean() });
  const depth = fc.oneof(fc.constantFrom(4, 5, 7, 63, 64, 65), fc.integer({ min: 60, max: 140 }));
  const dim = fc.oneof(fc.constantFrom(1, 4, 15, 16, 17, 64, 65), fc.integer({ min: 1, max: 90 }));
  const caseOf = fc.record({
    dtype: fc.constant<'float32'>('float32'),
    batch: fc.oneof(fc.constant([]), fc.constant([2])),
    m: dim, n: dim, k: depth, a: layout, b: layout, c: layout,
    seed: fc.integer({ min: 1, max: 1 << 30 }),
  });

  it('writes the same panels as the JavaScript packers (random layouts, rows near and far apart)', () => {
    for (const path of ['wasm', 'js'] as const) {
      use({ path, smallMacs: 0, threads: 1 });
      fc.assert(fc.property(caseOf, fc.boolean(), (c, wasmPack) => {
        configureGemm({ wasmPack });
        const { spec, a, b, out } = build(c);
        check(spec, a, b, out);
      }), { numRuns: 60 });
    }
  });

  it('copies in several strips when a block exceeds the scratch region', () => {
    use({ path: 'wasm', smallMacs: 0, threads: 1 });
    const wide = (rowMajor: boolean, pad: number): Layout => ({ rowMajor, pad, offset: 3, broadcast: false });
    const cases: Case[] = [
      // A rows 350 apart (one copy per row), B columns 350 apart: more rows than one strip holds.
      { dtype: 'float32', batch: [], m: 700, n: 40, k: 100, a: wide(true, 250), b: wide(false, 250), c: wide(true, 0), seed: 3 },
      // B rows 270 apart with 70 columns (one copy per row), K deeper than one strip.
      { dtype: 'float32', batch: [], m: 20, n: 70, k: 1000, a: wide(true, 1), b: wide(true, 200), c: wide(true, 0), seed: 4 },
      // Spans: A and B rows adjacent, K and N large enough for several strips.
      { dtype: 'float32', batch: [], m: 300, n: 600, k: 259, a: wide(true, 0), b: wide(true, 0), c: wide(true, 0), seed: 5 },
    ];
    for (const c of cases) {
      const { spec, a, b, out } = build(c);
      check(spec, a, b, out);
    }
  });
});

describe('gemm: large products', () => {
  const big = (dtype: 'float32' | 'float64', m: number, n: number, k: number, transB: boolean,
    batch: number[] = []): Case => ({
    dtype, batch, m, n, k, seed: m * 31 + n,
    a: { rowMajor: true, pad: 1, offset: 3, broadcast: false },
    b: { rowMajor: !transB, pad: 2, offset: 1, broadcast: batch.length > 0 },
    c: { rowMajor: true, pad: 0, offset: 5, broadcast: false },
  });
  const cases: Case[] = [
    big('float32', 600, 300, 259, false),
    big('float32', 130, 530, 300, true),
    big('float64', 300, 97, 513, false),
    big('float64', 67, 130, 200, true, [3]),
    big('float32', 64, 200, 129, false, [2, 3]),
  ];
  const paths: ('js' | 'wasm')[] = wasmSimd ? ['js', 'wasm'] : ['js'];
  for (const path of paths) {
    for (const threads of [1, 2]) {
      it(`${path} kernel, ${threads} thread(s)`, () => {
        use({ path, threads, parallelMacs: 1 << 18 });
        for (const c of cases) {
          const { spec, a, b, out } = build(c);
          check(spec, a, b, out);
        }
        if (threads > 1 && shared) expect(gemmCapabilities().workers).toBe(1);
      });
    }
  }
});

describe('gemm: worker pool lifetime', () => {
  it('does not keep the process alive, and shuts down on request', () => {
    const dir = mkdtempSync(join(tmpdir(), 'einjit-gemm-'));
    try {
      const script = join(dir, 'pool.ts');
      const gemm = resolve('kernels/cpu/gemm.ts').replaceAll('\\', '/');
      writeFileSync(script, [
        `import { configureGemm, runGemm, gemmCapabilities } from '${gemm}';`,
        `configureGemm({ threads: 2, parallelMacs: 0 });`,
        `const n = 256; const a = new Float32Array(n * n).fill(1); const c = new Float32Array(n * n);`,
        `const acc = { offset: 0, batchStrides: [], rowStride: n, colStride: 1 };`,
        `const spec = { kind: 'gemm', label: 'x', dtype: 'float32', batch: [], m: n, n, k: n,`,
        `  a: acc, b: acc, c: acc };`,
        `for (let i = 0; i < 5; i++) runGemm(spec, a, a, c);`,
        `console.log(c[0], c[n * n - 1], gemmCapabilities().workers);`,
      ].join('\n'));
      const started = Date.now();
      const res = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', timeout: 30_000 });
      expect(res.stderr).toBe('');
      expect(res.stdout.trim()).toBe(shared ? '256 256 1' : '256 256 0');
      expect(Date.now() - started).toBeLessThan(30_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.runIf(shared)('restarts after shutdownGemmPool and follows the thread count', () => {
    use({ threads: 2, parallelMacs: 0, smallMacs: 0 });
    const c = build({
      dtype: 'float32', batch: [], m: 50, n: 60, k: 70, seed: 3,
      a: { rowMajor: true, pad: 0, offset: 0, broadcast: false },
      b: { rowMajor: false, pad: 0, offset: 0, broadcast: false },
      c: { rowMajor: false, pad: 1, offset: 0, broadcast: false },
    });
    check(c.spec, c.a, c.b, c.out);
    shutdownGemmPool();
    expect(gemmCapabilities().workers).toBe(0);
    c.out.fill(NaN);
    check(c.spec, c.a, c.b, c.out);
    expect(gemmCapabilities().workers).toBe(1);
    configureGemm({ threads: 3 });
    c.out.fill(NaN);
    check(c.spec, c.a, c.b, c.out);
    expect(gemmCapabilities().workers).toBe(2);
  });
});
