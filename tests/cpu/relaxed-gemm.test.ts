/**
 * The relaxed-SIMD (fused multiply-add) GEMM micro-kernel beside the mul+add one: feature detection, the opt-in
 * that sets V8's flag, the kernel a product shows it runs, the EINJIT_CPU_GEMM override, and both kernels against a
 * float64 loop on random shapes with ragged edge tiles.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

import {
  configureGemm, gemmCapabilities, runGemm, shutdownGemmPool, wasmKernel, type GemmOptions, type GemmPath,
} from '../../kernels/cpu/gemm.js';
import { wasmApi } from '../../kernels/cpu/wasm/api.js';
import { generateGemmWasm } from '../../kernels/cpu/wasm/gemm-kernel.js';
import { capabilities, compile } from '../../src/index.js';
import type { GemmSpec } from '../../src/lower/spec.js';
import { enableRelaxedSimd, relaxedSimdAvailable } from '../../src/platform/index.js';

// Whether the engine had relaxed SIMD before this file asked for it (Node 20: no; Node ≥ 22, browsers: yes).
const builtIn = relaxedSimdAvailable();
const enabled = enableRelaxedSimd();
const relaxed = gemmCapabilities().relaxedSimd;

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

// ---------------------------------------------------------------------------------------------------------------
// A product through arbitrary layouts, and its float64 oracle

interface Layout {
  readonly aT: boolean;
  readonly bT: boolean;
  readonly cPad: number;
}

interface Case {
  readonly spec: GemmSpec;
  readonly a: Float32Array | Float64Array;
  readonly b: Float32Array | Float64Array;
  readonly c: Float32Array | Float64Array;
}

/** Values whose products do not cancel to zero, from a small deterministic generator. */
function values(n: number, seed: number, dtype: 'float32' | 'float64'): Float32Array | Float64Array {
  const out = dtype === 'float32' ? new Float32Array(n) : new Float64Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

function makeCase(dtype: 'float32' | 'float64', batch: number, m: number, n: number, k: number, l: Layout, seed: number): Case {
  const ldc = n + l.cPad;
  const spec: GemmSpec = {
    kind: 'gemm', label: 'test', dtype, batch: batch === 1 ? [] : [batch], m, n, k,
    a: { offset: 0, batchStrides: batch === 1 ? [] : [m * k], rowStride: l.aT ? 1 : k, colStride: l.aT ? m : 1 },
    b: { offset: 0, batchStrides: batch === 1 ? [] : [k * n], rowStride: l.bT ? 1 : n, colStride: l.bT ? k : 1 },
    c: { offset: 0, batchStrides: batch === 1 ? [] : [m * ldc], rowStride: ldc, colStride: 1 },
  };
  const c = dtype === 'float32' ? new Float32Array(batch * m * ldc) : new Float64Array(batch * m * ldc);
  return { spec, a: values(batch * m * k, seed, dtype), b: values(batch * k * n, seed + 1, dtype), c: c.fill(NaN) };
}

/**
 * Checks C against a float64 loop: |C − Σ a·b| ≤ (k + 2)·u·Σ|a·b| per element, the bound of a length-k dot product
 * (mul then add rounds twice per term, a fused multiply-add once, so both kernels fit it). Padding stays NaN.
 */
function checkAgainstOracle(x: Case): number {
  const { spec, a, b, c } = x;
  const u = spec.dtype === 'float32' ? 2 ** -24 : 2 ** -53;
  const batch = spec.batch[0] ?? 1;
  let worst = 0;
  for (let t = 0; t < batch; t++) {
    const ao = t * (spec.a.batchStrides[0] ?? 0);
    const bo = t * (spec.b.batchStrides[0] ?? 0);
    const co = t * (spec.c.batchStrides[0] ?? 0);
    for (let i = 0; i < spec.m; i++) {
      for (let j = 0; j < spec.n; j++) {
        let sum = 0;
        let scale = 0;
        for (let p = 0; p < spec.k; p++) {
          const prod = a[ao + i * spec.a.rowStride + p * spec.a.colStride]! * b[bo + p * spec.b.rowStride + j * spec.b.colStride]!;
          sum += prod;
          scale += Math.abs(prod);
        }
        const got = c[co + i * spec.c.rowStride + j]!;
        const err = Math.abs(got - sum);
        const bound = (spec.k + 2) * u * scale + Number.MIN_VALUE;
        if (!(err <= bound)) throw new Error(`C[${t}, ${i}, ${j}] = ${got}, want ${sum} ± ${bound} (m=${spec.m} n=${spec.n} k=${spec.k})`);
        worst = Math.max(worst, err / (u * scale || 1));
      }
      for (let j = spec.n; j < spec.c.rowStride; j++) expect(c[co + i * spec.c.rowStride + j]).toBeNaN();
    }
  }
  return worst;
}

// ---------------------------------------------------------------------------------------------------------------

describe('relaxed SIMD: detection and opt-in', () => {
  it('detects relaxed SIMD with WebAssembly.validate and reports the same answer everywhere', () => {
    // An independent probe: einjit's own generated FMA kernel validates exactly when the platform probe says so.
    const fma = generateGemmWasm({ dtype: 'float32', mr: 4, nr: 16, unroll: 2, fma: true },
      { minPages: 1, maxPages: 16, shared: false });
    expect(wasmApi?.validate(fma.bytes)).toBe(relaxedSimdAvailable());
    expect(capabilities().relaxedSimd).toBe(relaxedSimdAvailable());
    expect(relaxed).toBe(relaxedSimdAvailable());
    expect(enabled.relaxedSimd).toBe(relaxedSimdAvailable());
  });

  it('says what the opt-in did', () => {
    if (builtIn) expect(enabled.message).toContain('nothing to set');
    else expect(enabled.message).toContain('--experimental-wasm-relaxed-simd');
    // Node 20 has the flag: setting it at run time makes relaxed SIMD validate.
    if (typeof process.versions.node === 'string') expect(enabled.relaxedSimd).toBe(true);
    expect(enableRelaxedSimd().message).toContain('nothing to set');
  });

  it('emits relaxed_madd (0xfd 0x85 0x02) in place of mul and add', () => {
    const { bytes, text } = generateGemmWasm({ dtype: 'float64', mr: 4, nr: 8, unroll: 2, fma: true },
      { minPages: 1, maxPages: 16, shared: false });
    expect(text).toContain('f64x2.relaxed_madd');
    expect(text).not.toContain('f64x2.mul');
    const hex = [...bytes].map((x) => x.toString(16).padStart(2, '0')).join(' ');
    expect(hex).toContain('fd 87 02'); // f64x2.relaxed_madd = 0x107
    const f32 = generateGemmWasm({ dtype: 'float32', mr: 4, nr: 16, unroll: 2, fma: true },
      { minPages: 1, maxPages: 16, shared: false });
    expect([...f32.bytes].map((x) => x.toString(16).padStart(2, '0')).join(' ')).toContain('fd 85 02');
  });
});

describe.runIf(relaxed)('relaxed SIMD: the kernel that runs', () => {
  it('is chosen automatically and named in source()', () => {
    expect(wasmKernel()).toBe('relaxed');
    const src = compile('ij,jk->ik', [[64, 64], [64, 64]]).source();
    expect(src).toContain('kernel: packed WebAssembly relaxed-SIMD FMA 4x8 micro-kernel (f32x4.relaxed_madd)');
    expect(src).toContain('f32x4.relaxed_madd');
    use({ path: 'wasm' });
    expect(wasmKernel()).toBe('simd');
    const plain = compile('ij,jk->ik', [[64, 64], [64, 64]]).source();
    expect(plain).toContain('kernel: packed WebAssembly SIMD mul+add 4x8 micro-kernel');
    expect(plain).not.toContain('relaxed_madd');
  });

  it('rounds a·b + c once where the engine fuses it, and twice otherwise (relaxed semantics allow either)', () => {
    use({ smallMacs: 0, threads: 1 });
    // k = 0 puts c = −(1 + 2^-11) in the accumulator; k = 1 adds f·f = 1 + 2^-11 + 2^-24 to it.
    const f = 1 + 2 ** -12;
    const x = makeCase('float32', 1, 4, 16, 2, { aT: false, bT: false, cPad: 0 }, 1);
    for (let i = 0; i < 4; i++) x.a.set([1, f], i * 2);
    x.b.fill(-(1 + 2 ** -11), 0, 16).fill(f, 16, 32);
    use({ path: 'relaxed' });
    runGemm(x.spec, x.a, x.b, x.c);
    const fused = x.c[0];
    expect([0, 2 ** -24]).toContain(fused);
    // On x86-64 with FMA3 and on ARM64, V8 emits a fused instruction.
    console.log(`[relaxed SIMD] relaxed_madd is ${fused === 2 ** -24 ? 'fused' : 'not fused'} on this engine`);
    use({ path: 'wasm' });
    runGemm(x.spec, x.a, x.b, x.c);
    expect(x.c[0]).toBe(0);
  });
});

describe('GEMM kernels against float64 on random shapes with edge tiles', () => {
  const kernels: GemmPath[] = relaxed ? ['wasm', 'relaxed'] : ['wasm'];
  for (const path of kernels) {
    for (const threads of [1, 2]) {
      it(`${path === 'wasm' ? 'mul+add' : 'relaxed FMA'} kernel, ${threads} thread(s)`, () => {
        use({ path, threads, smallMacs: 0, parallelMacs: 0 });
        fc.assert(fc.property(
          fc.constantFrom<'float32' | 'float64'>('float32', 'float64'),
          fc.integer({ min: 1, max: 2 }),
          // Around the 4-row and 16-column (8 for float64) tiles and the K unroll of 2: ragged edges everywhere.
          fc.integer({ min: 1, max: 37 }), fc.integer({ min: 1, max: 41 }), fc.integer({ min: 1, max: 35 }),
          fc.record({ aT: fc.boolean(), bT: fc.boolean(), cPad: fc.integer({ min: 0, max: 3 }) }),
          fc.integer({ min: 1, max: 1 << 30 }),
          (dtype, batch, m, n, k, layout, seed) => {
            const x = makeCase(dtype, batch, m, n, k, layout, seed);
            runGemm(x.spec, x.a, x.b, x.c);
            checkAgainstOracle(x);
          },
        ), { numRuns: 40, seed: 20261205 });
      });
    }
  }

  it.runIf(relaxed)('both kernels stay within the float32 bound across K slices and row blocks (300 × 70 × 517)', () => {
    use({ threads: 2, parallelMacs: 0 });
    const worst: number[] = [];
    for (const path of ['wasm', 'relaxed'] as const) {
      use({ path });
      const x = makeCase('float32', 1, 300, 70, 517, { aT: false, bT: true, cPad: 1 }, 5);
      runGemm(x.spec, x.a, x.b, x.c);
      worst.push(checkAgainstOracle(x));
    }
    // Errors in units of u·Σ|a·b|: far inside the (k + 2) bound for both.
    expect(Math.max(...worst)).toBeLessThan(519);
  });
});

describe('EINJIT_CPU_GEMM forces a kernel', () => {
  const run = (value: string): { stdout: string; stderr: string } => {
    const gemm = resolve('kernels/cpu/gemm.ts').replaceAll('\\', '/');
    const script = [
      `import { gemmRoute, wasmKernel, runGemm } from '${gemm}';`,
      `const acc = { offset: 0, batchStrides: [], rowStride: 2, colStride: 1 };`,
      `const spec = { kind: 'gemm', label: 'x', dtype: 'float32', batch: [], m: 2, n: 2, k: 2, a: acc, b: acc, c: acc };`,
      `try { const c = new Float32Array(4); runGemm(spec, new Float32Array([1, 2, 3, 4]), new Float32Array([5, 6, 7, 8]), c);`,
      `  console.log(gemmRoute(spec), wasmKernel(), c.join(' ')); } catch (e) { console.log(e.name, e.message.split('\\n')[0]); }`,
    ].join('\n');
    const res = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8', timeout: 30_000, env: { ...process.env, EINJIT_CPU_GEMM: value },
    });
    return { stdout: res.stdout.trim(), stderr: res.stderr };
  };

  it('sends even a 2×2 product through the forced kernel, and names an unknown value', () => {
    // Without the override, the Wasm kernel is the FMA one only where relaxed SIMD is built in.
    const auto = builtIn ? 'relaxed' : 'simd';
    expect(run('js').stdout).toBe(`js ${auto} 19 22 43 50`);
    expect(run('simd').stdout).toBe('wasm simd 19 22 43 50');
    expect(run('direct').stdout).toBe(`direct ${auto} 19 22 43 50`);
    // 'relaxed' sets the V8 flag itself where the engine needs one.
    expect(run('relaxed').stdout).toEqual(relaxed ? 'wasm relaxed 19 22 43 50' : expect.stringContaining('EinjitError'));
    expect(run('fast').stdout).toContain("EinjitError gemm: EINJIT_CPU_GEMM='fast' names no GEMM kernel");
  });
});
