/**
 * The GemmSpec epilogue at the kernel contract: C = epilogue(A·B) on every CPU route (direct loop, packed JS,
 * packed Wasm) and on every WGSL tile shape of the sweep (basic and pipelined, the split-K ones included, which
 * run unsplit when the spec has an epilogue), against a float64 loop; C's elements outside the product untouched.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { configureGemm, runGemm, shutdownGemmPool, type GemmOptions } from '../../kernels/cpu/gemm.js';
import type { GemmTileShape } from '../../kernels/wgsl/gemm.js';
import { GEMM_SWEEP_SHAPES } from '../../kernels/wgsl/gemm.js';
import type { WebGPUBackend } from '../../kernels/wgsl/index.js';
import { ex, type Expr, type GemmSpec } from '../../src/lower/spec.js';
import { gpuAvailable, openBackend } from '../wgsl/setup.js';
import { cpuGemmRoutes } from '../helpers/gemm-routes.js';

/** 1 + tanh(0.5·x) − 0.25·relu(x), with a constant read twice, a unary op and a select-free chain. */
const EPILOGUE: Expr = ex.binary('sub',
  ex.binary('add', ex.const(1), ex.unary('tanh', ex.binary('mul', ex.input(0), ex.const(0.5)))),
  ex.binary('mul', ex.const(0.25), ex.unary('relu', ex.input(0))));

function epilogueF64(x: number): number {
  return 1 + Math.tanh(0.5 * x) - 0.25 * Math.max(0, x);
}

function data(length: number, seed: number): number[] {
  return Array.from({ length }, (_, i) => (((i + 1) * 7919 + seed * 104729) % 2003) / 1001 - 1);
}

/** C transposed inside a larger buffer ([batch, n, m] plus an offset and a gap), A and B row-major. */
function spec(batch: number, m: number, n: number, k: number, dtype: GemmSpec['dtype']): { spec: GemmSpec; cLength: number } {
  const offset = 3;
  const rowStride = 1;
  const colStride = m + 2;
  const batchStride = n * colStride;
  return {
    spec: {
      kind: 'gemm', label: 'epilogue test', dtype, batch: [batch], m, n, k,
      a: { offset: 0, batchStrides: [m * k], rowStride: k, colStride: 1 },
      b: { offset: 0, batchStrides: [k * n], rowStride: n, colStride: 1 },
      c: { offset, batchStrides: [batchStride], rowStride, colStride },
      epilogue: EPILOGUE,
    },
    cLength: offset + batch * batchStride + 5,
  };
}

/** The expected C buffer (float64): `fill` outside the product, the epilogue of each product inside. */
function expected(s: GemmSpec, a: readonly number[], b: readonly number[], cLength: number, fill: number): { out: number[]; written: Set<number> } {
  const out = new Array<number>(cLength).fill(fill);
  const written = new Set<number>();
  for (let q = 0; q < s.batch[0]!; q++) for (let i = 0; i < s.m; i++) for (let j = 0; j < s.n; j++) {
    let acc = 0;
    for (let p = 0; p < s.k; p++) acc += a[q * s.a.batchStrides[0]! + i * s.a.rowStride + p]! * b[q * s.b.batchStrides[0]! + p * s.b.rowStride + j]!;
    const at = s.c.offset + q * s.c.batchStrides[0]! + i * s.c.rowStride + j * s.c.colStride;
    out[at] = epilogueF64(acc);
    written.add(at);
  }
  return { out, written };
}

function compare(got: ArrayLike<number>, want: { out: number[]; written: Set<number> }, tol: number, what: string): void {
  for (let i = 0; i < want.out.length; i++) {
    const g = Number(got[i]);
    const w = want.out[i]!;
    const ok = want.written.has(i) ? Math.abs(g - w) <= tol * (1 + Math.abs(w)) : g === w;
    if (!ok) throw new Error(`${what}: element ${i} is ${g}, expected ${w}${want.written.has(i) ? '' : ' (outside C)'}`);
  }
}

const SHAPES = [[2, 3, 5, 4], [2, 37, 29, 50], [1, 70, 66, 130]] as const;

describe('GEMM epilogues on the CPU', () => {
  let saved: GemmOptions | null = null;
  afterEach(() => { if (saved !== null) configureGemm(saved); saved = null; });
  afterAll(() => shutdownGemmPool());

  const routes = cpuGemmRoutes();
  it.each(routes.flatMap((r) => (['float32', 'float64'] as const).map((d) => [r.name, d, r.options] as const)))(
    '%s, %s', (_, dtype, options) => {
      saved = configureGemm(options);
      for (const [batch, m, n, k] of SHAPES) {
        const { spec: s, cLength } = spec(batch, m, n, k, dtype);
        const a = data(batch * m * k, 1);
        const b = data(batch * k * n, 2);
        const Arr = dtype === 'float32' ? Float32Array : Float64Array;
        const [fa, fb] = dtype === 'float32' ? [a.map(Math.fround), b.map(Math.fround)] : [a, b];
        const c = new Arr(cLength).fill(-7);
        runGemm(s, Arr.from(fa), Arr.from(fb), c);
        compare(c, expected(s, fa, fb, cLength, -7), dtype === 'float32' ? 2e-6 * Math.sqrt(k) : 1e-12, `${m}x${n}x${k}`);
      }
    });
});

describe.skipIf(!gpuAvailable)('GEMM epilogues in WGSL', () => {
  let backend: WebGPUBackend;
  afterAll(() => { backend?.destroy(); });

  it.each(GEMM_SWEEP_SHAPES.map((t) => [JSON.stringify(t), t] as const))('%s', { timeout: 120_000 }, async (_, tiles: GemmTileShape) => {
    backend ??= await openBackend();
    for (const [batch, m, n, k] of SHAPES) {
      const { spec: s, cLength } = spec(batch, m, n, k, 'float32');
      const a = data(batch * m * k, 1).map(Math.fround);
      const b = data(batch * k * n, 2).map(Math.fround);
      const sa = backend.upload('float32', Float32Array.from(a));
      const sb = backend.upload('float32', Float32Array.from(b));
      const sc = backend.upload('float32', new Float32Array(cLength).fill(-7));
      backend.tuning.gemmTiles = tiles;
      try {
        expect(backend.kernelSource(s).source).toContain('epilogue constant 2');
        backend.run(s, [sa, sb], sc);
        compare(await backend.read(sc) as Float32Array, expected(s, a, b, cLength, -7), 2e-6 * Math.sqrt(k), `${m}x${n}x${k}`);
      } finally {
        backend.tuning.gemmTiles = 'auto';
        for (const x of [sa, sb, sc]) backend.release(x);
      }
    }
  });
});
