/**
 * The CPU GEMM's two Wasm micro-kernels side by side (mul+add SIMD and relaxed SIMD's fused multiply-add), one
 * thread, the per-call cost of a cached einsum with the storage pool on and off, and the per-element cost of the
 * elementwise loop kernels whose time is their arithmetic (exp, tanh, sigmoid, erf, GELU) beside a multiply.
 * Best of 5 runs of each; the whole script takes well under a minute.
 *
 *   npx tsx bench/cpu-kernels.bench.ts
 *
 * On Node 20 the relaxed kernel needs V8's --experimental-wasm-relaxed-simd: the script calls enableRelaxedSimd()
 * first and prints what it did. The load average is printed with the figures: on a shared machine they are noisy.
 */
import { cpus, loadavg } from 'node:os';

import { configureGemm, runGemm, shutdownGemmPool, wasmKernel } from '../kernels/cpu/gemm.js';
import { configureStoragePool, resetStoragePoolStats, storagePoolStats } from '../kernels/cpu/pool.js';
import { einsum, enableRelaxedSimd, randn, shutdown } from '../src/index.js';
import type { GemmSpec } from '../src/lower/spec.js';

const RUNS = 5;

const best = (times: number[]): number => Math.min(...times);

function square(n: number): GemmSpec {
  const acc = { offset: 0, batchStrides: [], rowStride: n, colStride: 1 };
  return { kind: 'gemm', label: `${n}³`, dtype: 'float32', batch: [], m: n, n, k: n, a: acc, b: acc, c: acc };
}

/**
 * Best time per repetition of `run` under each setting, the settings' runs interleaved (A B A B ...) so that a
 * change in the machine's load falls on all of them alike.
 */
function interleaved<K extends string>(settings: readonly K[], apply: (k: K) => void, run: () => void, reps: number): Map<K, number> {
  const times = new Map<K, number[]>(settings.map((k) => [k, []]));
  for (const k of settings) {
    apply(k);
    for (let i = 0; i < Math.min(reps, 200); i++) run();
  }
  for (let r = 0; r < RUNS; r++) {
    for (const k of settings) {
      apply(k);
      const t0 = performance.now();
      for (let i = 0; i < reps; i++) run();
      times.get(k)!.push((performance.now() - t0) / reps);
    }
  }
  return new Map(settings.map((k) => [k, best(times.get(k)!)]));
}

console.log(`# CPU kernels: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} logical CPUs, Node ${process.versions.node}, ` +
  `load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}, best of ${RUNS}`);
console.log(`enableRelaxedSimd(): ${enableRelaxedSimd().message}`);

console.log('\n| GEMM float32, 1 thread | kernel | ms | GFLOP/s |\n|---|---|--:|--:|');
configureGemm({ path: 'relaxed', threads: 1 });
const paths = wasmKernel() === 'relaxed' ? (['wasm', 'relaxed'] as const) : (['wasm'] as const);
for (const n of [256, 1024]) {
  const flops = 2 * n * n * n;
  const spec = square(n);
  const a = Float32Array.from({ length: n * n }, () => Math.random() - 0.5);
  const b = Float32Array.from({ length: n * n }, () => Math.random() - 0.5);
  const c = new Float32Array(n * n);
  const reps = Math.max(1, Math.round(1e8 / flops));
  const ms = interleaved(paths, (path) => configureGemm({ path }), () => runGemm(spec, a, b, c), reps);
  for (const [path, t] of ms) {
    console.log(`| ${n}³ | ${path === 'wasm' ? 'SIMD mul+add' : 'relaxed FMA'} | ${t.toFixed(3)} | ${(flops / t / 1e6).toFixed(1)} |`);
  }
  if (paths.length === 1) console.log(`| ${n}³ | relaxed FMA | — | not available here |`);
}
configureGemm({ path: 'auto' });
shutdownGemmPool();

console.log('\n| cached einsum, output disposed each call | pool | µs per call | pool hits per call |\n|---|---|--:|--:|');
const a8 = randn([8, 8]);
const b8 = randn([8, 8]);
const q = randn([4, 8, 128, 64]);
const k = randn([4, 8, 128, 64]);
const cases = [
  { name: '`ij,jk->ik` 8³', fn: () => einsum('ij,jk->ik', a8, b8), calls: 20000 },
  { name: '`bhqd,bhkd->bhqk` 4×8×128×128×64', fn: () => einsum('bhqd,bhkd->bhqk', q, k), calls: 20 },
];
const bound = configureStoragePool(0);
for (const c of cases) {
  const hits = { on: 0, off: 0 };
  let current: 'on' | 'off' = 'on';
  const apply = (k: 'on' | 'off'): void => {
    hits[current] += storagePoolStats().hits;
    resetStoragePoolStats();
    configureStoragePool(k === 'on' ? bound : 0);
    current = k;
  };
  const ms = interleaved(['on', 'off'] as const, apply, () => c.fn().dispose(), c.calls);
  apply('on');
  const calls = Math.min(c.calls, 200) + RUNS * c.calls;
  for (const [k, t] of ms) console.log(`| ${c.name} | ${k} | ${(t * 1000).toFixed(2)} | ${(hits[k] / calls).toFixed(2)} |`);
}
configureStoragePool(bound);

// Elementwise kernels over 65,536 float32 values in [-3, 3]: what one element costs, the launch included (each
// result is disposed, so its storage comes back from the pool). A multiply shows the loop's own cost.
console.log('\n| elementwise over 65,536 float32 | ns per element |\n|---|--:|');
const xs = randn([65536]).mul(1.5);
const unary: [string, () => void][] = [
  ['x · 2', () => xs.mul(2).dispose()],
  ['exp', () => xs.exp().dispose()],
  ['tanh', () => xs.tanh().dispose()],
  ['sigmoid', () => xs.sigmoid().dispose()],
  ['erf', () => xs.erf().dispose()],
  ['gelu', () => xs.gelu().dispose()],
];
for (const [name, run] of unary) {
  const ms = interleaved(['x'] as const, () => {}, run, 50);
  console.log(`| ${name} | ${((ms.get('x')! * 1e6) / 65536).toFixed(1)} |`);
}
shutdown();
