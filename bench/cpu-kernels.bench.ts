/**
 * The CPU GEMM's two Wasm micro-kernels side by side (mul+add SIMD and relaxed SIMD's fused multiply-add), one
 * thread, and the per-call cost of a cached einsum with the storage pool on and off. Best of 5 runs of each; the
 * whole script takes well under a minute.
 *
 *   npx tsx bench/cpu-kernels.bench.ts
 *
 * On Node 20 the relaxed kernel needs V8's --experimental-wasm-relaxed-simd: the script calls enableRelaxedSimd()
 * first and prints what it did. The load average is printed with the figures: on a shared machine they are noisy.
 */
import { cpus, loadavg } from 'node:os';

import { configureGemm, runGemm, shutdownGemmPool, wasmKernel } from '../kernels/cpu/gemm.js';
import { configureStoragePool, resetStoragePoolStats, storagePoolStats } from '../kernels/cpu/pool.js';
import { einsum, enableRelaxedSimd, randn, shutdown, type Tensor } from '../src/index.js';
import type { GemmSpec } from '../src/lower/spec.js';

const RUNS = 5;

const best = (times: number[]): number => Math.min(...times);

function square(n: number): GemmSpec {
  const acc = { offset: 0, batchStrides: [], rowStride: n, colStride: 1 };
  return { kind: 'gemm', label: `${n}³`, dtype: 'float32', batch: [], m: n, n, k: n, a: acc, b: acc, c: acc };
}

/** Best seconds per product over RUNS runs, each long enough (≥ 0.2 s) to time. */
function timeGemm(n: number): number {
  const spec = square(n);
  const a = Float32Array.from({ length: n * n }, () => Math.random() - 0.5);
  const b = Float32Array.from({ length: n * n }, () => Math.random() - 0.5);
  const c = new Float32Array(n * n);
  runGemm(spec, a, b, c);
  const reps = Math.max(1, Math.round(2e8 / (2 * n * n * n) / 5));
  const times: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) runGemm(spec, a, b, c);
    times.push((performance.now() - t0) / 1000 / reps);
  }
  return best(times);
}

/** Best µs per call of `fn` (the output disposed each time, so the pool can serve the next one). */
function timeCalls(fn: () => Tensor, calls: number): number {
  for (let i = 0; i < 200; i++) fn().dispose();
  const times: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) fn().dispose();
    times.push(((performance.now() - t0) * 1000) / calls);
  }
  return best(times);
}

console.log(`# CPU kernels: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} logical CPUs, Node ${process.versions.node}, ` +
  `load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}, best of ${RUNS}`);
console.log(`enableRelaxedSimd(): ${enableRelaxedSimd().message}`);

console.log('\n| GEMM float32, 1 thread | kernel | ms | GFLOP/s |\n|---|---|--:|--:|');
for (const n of [256, 1024]) {
  const flops = 2 * n * n * n;
  for (const path of ['wasm', 'relaxed'] as const) {
    configureGemm({ path, threads: 1 });
    if (path === 'relaxed' && wasmKernel() !== 'relaxed') {
      console.log(`| ${n}³ | relaxed FMA | — | not available here |`);
      continue;
    }
    const s = timeGemm(n);
    console.log(`| ${n}³ | ${path === 'wasm' ? 'SIMD mul+add' : 'relaxed FMA'} | ${(s * 1000).toFixed(3)} | ${(flops / s / 1e9).toFixed(1)} |`);
  }
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
  for (const on of [true, false]) {
    configureStoragePool(on ? bound : 0);
    resetStoragePoolStats();
    const us = timeCalls(c.fn, c.calls);
    const hits = storagePoolStats().hits / (200 + RUNS * c.calls);
    console.log(`| ${c.name} | ${on ? 'on' : 'off'} | ${us.toFixed(2)} | ${hits.toFixed(2)} |`);
  }
}
configureStoragePool(bound);
shutdown();
