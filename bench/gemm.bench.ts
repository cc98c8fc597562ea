/**
 * CPU GEMM benchmark: einjit's runGemm (Wasm SIMD and JS kernels, 1 and 2 threads) against tfjs-backend-cpu,
 * tfjs-backend-wasm and numpy (OpenBLAS, one thread) on square GEMMs and three batched einsum shapes.
 *
 *   npx tsx bench/gemm.bench.ts            # everything
 *   npx tsx bench/gemm.bench.ts --quick    # fewer repetitions, no JS kernel at 1024³
 *   node --experimental-wasm-relaxed-simd --import tsx bench/gemm.bench.ts   # adds the FMA kernel's columns (Node 20)
 *
 * Prints one markdown table: median milliseconds, GFLOP/s, and einjit's best time relative to each peer.
 */

import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';

import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';

import { configureGemm, gemmCapabilities, runGemm, shutdownGemmPool, type GemmPath } from '../kernels/cpu/gemm.js';
import type { GemmSpec, MatrixAccess } from '../src/lower/spec.js';

const quick = process.argv.includes('--quick');

interface Shape {
  readonly name: string;
  readonly einsum: string;
  readonly spec: GemmSpec;
  /** Element counts of A, B, C. */
  readonly sizes: readonly [number, number, number];
  /** tfjs operand shapes and the transposeB flag; numpy reuses them. */
  readonly tfA: number[];
  readonly tfB: number[];
  readonly transposeB: boolean;
}

const acc = (offset: number, batchStrides: number[], rowStride: number, colStride: number): MatrixAccess =>
  ({ offset, batchStrides, rowStride, colStride });

function square(n: number): Shape {
  return {
    name: `GEMM ${n}³`, einsum: 'ij,jk->ik',
    spec: { kind: 'gemm', label: `ij,jk->ik ${n}³`, dtype: 'float32', batch: [], m: n, n, k: n,
      a: acc(0, [], n, 1), b: acc(0, [], n, 1), c: acc(0, [], n, 1) },
    sizes: [n * n, n * n, n * n], tfA: [n, n], tfB: [n, n], transposeB: false,
  };
}

const SHAPES: Shape[] = [
  square(256), square(512), square(1024),
  {
    name: 'batched 16×128³', einsum: 'bij,bjk->bik',
    spec: { kind: 'gemm', label: 'bij,bjk->bik', dtype: 'float32', batch: [16], m: 128, n: 128, k: 128,
      a: acc(0, [128 * 128], 128, 1), b: acc(0, [128 * 128], 128, 1), c: acc(0, [128 * 128], 128, 1) },
    sizes: [16 * 128 * 128, 16 * 128 * 128, 16 * 128 * 128], tfA: [16, 128, 128], tfB: [16, 128, 128],
    transposeB: false,
  },
  {
    name: 'attention 4×8×128×128×64', einsum: 'bhqd,bhkd->bhqk',
    spec: { kind: 'gemm', label: 'bhqd,bhkd->bhqk', dtype: 'float32', batch: [4, 8], m: 128, n: 128, k: 64,
      a: acc(0, [8 * 128 * 64, 128 * 64], 64, 1), b: acc(0, [8 * 128 * 64, 128 * 64], 1, 64),
      c: acc(0, [8 * 128 * 128, 128 * 128], 128, 1) },
    sizes: [32 * 128 * 64, 32 * 128 * 64, 32 * 128 * 128], tfA: [32, 128, 64], tfB: [32, 128, 64], transposeB: true,
  },
  {
    name: 'conv 64×576×8×1024', einsum: 'oc,bcl->bol',
    spec: { kind: 'gemm', label: 'oc,bcl->bol', dtype: 'float32', batch: [8], m: 64, n: 1024, k: 576,
      a: acc(0, [0], 576, 1), b: acc(0, [576 * 1024], 1024, 1), c: acc(0, [64 * 1024], 1024, 1) },
    sizes: [64 * 576, 8 * 576 * 1024, 8 * 64 * 1024], tfA: [1, 64, 576], tfB: [8, 576, 1024], transposeB: false,
  },
];

const flops = (s: Shape): number => 2 * s.spec.batch.reduce((x, y) => x * y, 1) * s.spec.m * s.spec.n * s.spec.k;

/** CPU milliseconds per run (all threads of this process) of the last `time` call. */
let lastCpuMs = NaN;

/** Median milliseconds of `fn` after warming up, within a time budget. */
function time(fn: () => void, budgetMs: number): number {
  const warm = performance.now();
  do fn(); while (performance.now() - warm < budgetMs / 4);
  const samples: number[] = [];
  const start = performance.now();
  const cpu = process.cpuUsage();
  while (samples.length < 5 || (performance.now() - start < budgetMs && samples.length < 200)) {
    const t = performance.now();
    fn();
    samples.push(performance.now() - t);
  }
  const used = process.cpuUsage(cpu);
  lastCpuMs = (used.user + used.system) / 1000 / samples.length;
  samples.sort((x, y) => x - y);
  return samples[Math.floor(samples.length / 2)] ?? NaN;
}

function randomArray(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    out[i] = s / 4294967296 - 0.5;
  }
  return out;
}

type Row = Map<string, number>;
/** CPU milliseconds per run by shape and contender. */
const cpuTimes = new Map<string, Row>();

async function main(): Promise<void> {
  const loadBefore = loadavg()[0] ?? 0;
  const budget = quick ? 600 : 1500;
  const results = new Map<string, Row>();
  const data = SHAPES.map((s, i) => ({ a: randomArray(s.sizes[0], 1 + i), b: randomArray(s.sizes[1], 7 + i) }));

  const einjitRuns: { label: string; path: GemmPath; threads: number }[] = [
    { label: 'einjit wasm 1T', path: 'wasm', threads: 1 },
    { label: 'einjit wasm 2T', path: 'wasm', threads: 2 },
    { label: 'einjit js 1T', path: 'js', threads: 1 },
    { label: 'einjit js 2T', path: 'js', threads: 2 },
  ];
  // The fused multiply-add kernel where relaxed SIMD validates (browsers, Node >= 22; Node 20 with
  // --experimental-wasm-relaxed-simd): its columns say what the FMA buys against mul+add in the same run.
  if (gemmCapabilities().relaxedSimd) {
    einjitRuns.splice(2, 0, { label: 'einjit relaxed 1T', path: 'relaxed', threads: 1 }, { label: 'einjit relaxed 2T', path: 'relaxed', threads: 2 });
  } else {
    console.log('relaxed SIMD does not validate in this runtime: no FMA columns (run node --experimental-wasm-relaxed-simd on Node 20)');
  }
  // Each shape is timed on every contender back to back, so that they all see the same machine load.
  for (const [i, s] of SHAPES.entries()) {
    const row: Row = new Map();
    const cpuRow: Row = new Map();
    results.set(s.name, row);
    cpuTimes.set(s.name, cpuRow);
    const c = new Float32Array(s.sizes[2]);
    const d = data[i];
    if (d === undefined) continue;
    for (const r of einjitRuns) {
      if (quick && r.path === 'js' && flops(s) > 1e9) continue;
      configureGemm({ path: r.path, threads: r.threads });
      row.set(r.label, time(() => runGemm(s.spec, d.a, d.b, c), r.path === 'js' ? budget * 2 : budget));
      cpuRow.set(r.label, lastCpuMs);
    }
    for (const backend of ['cpu', 'wasm']) {
      if (quick && backend === 'cpu' && flops(s) > 1e9) continue;
      await tf.setBackend(backend);
      await tf.ready();
      const a = tf.tensor(d.a, s.tfA);
      const b = tf.tensor(d.b, s.tfB);
      row.set(`tfjs-${backend}`, time(() => {
        const out = tf.matMul(a, b, false, s.transposeB);
        out.dataSync();
        out.dispose();
      }, backend === 'cpu' ? budget * 2 : budget));
      cpuRow.set(`tfjs-${backend}`, lastCpuMs);
      a.dispose();
      b.dispose();
    }
  }
  shutdownGemmPool();

  for (const [name, ms] of numpy()) results.get(name)?.set('numpy 1T', ms);

  const peers = ['tfjs-cpu', 'tfjs-wasm', 'numpy 1T'];
  const columns = [...einjitRuns.map((r) => r.label), ...peers];
  const lines: string[] = [];
  lines.push(`${new Date().toISOString()} · ${cpus()[0]?.model ?? 'unknown CPU'} · ${cpus().length} cores · Node ` +
    `${process.version} · load average ${loadBefore.toFixed(1)} → ${(loadavg()[0] ?? 0).toFixed(1)} · float32 · ` +
    'median ms (GFLOP/s)');
  lines.push('');
  lines.push(`| shape | einsum | ${columns.join(' | ')} | best einjit vs ${peers.join(' / ')} |`);
  lines.push(`|${'---|'.repeat(columns.length + 3)}`);
  for (const s of SHAPES) {
    const row = results.get(s.name) ?? new Map<string, number>();
    const cell = (label: string): string => {
      const ms = row.get(label);
      return ms === undefined ? '—' : `${ms.toFixed(2)} (${(flops(s) / ms / 1e6).toFixed(1)})`;
    };
    const best = Math.min(...einjitRuns.map((r) => row.get(r.label) ?? Infinity));
    const ratios = peers.map((p) => {
      const ms = row.get(p);
      return ms === undefined ? '—' : `${(ms / best).toFixed(2)}×`;
    });
    lines.push(`| ${s.name} | \`${s.einsum}\` | ${columns.map(cell).join(' | ')} | ${ratios.join(' / ')} |`);
  }
  // The same runs as GFLOP per CPU-second over all threads: what each contender gets out of the core time it was
  // actually given, insensitive to other processes taking the machine's cores away.
  const cpuColumns = columns.filter((cName) => cName !== 'numpy 1T');
  lines.push('');
  lines.push('GFLOP per CPU-second (process CPU time of all threads):');
  lines.push('');
  lines.push(`| shape | ${cpuColumns.join(' | ')} |`);
  lines.push(`|${'---|'.repeat(cpuColumns.length + 1)}`);
  for (const s of SHAPES) {
    const row = cpuTimes.get(s.name) ?? new Map<string, number>();
    const cell = (label: string): string => {
      const ms = row.get(label);
      return ms === undefined ? '—' : (flops(s) / ms / 1e6).toFixed(1);
    };
    lines.push(`| ${s.name} | ${cpuColumns.map(cell).join(' | ')} |`);
  }
  console.log(lines.join('\n'));
}

/** numpy matmul timings (OpenBLAS pinned to one thread) by shape name; empty when numpy is missing. */
function numpy(): Map<string, number> {
  const script = `
import json, time, numpy as np
shapes = json.loads(${JSON.stringify(JSON.stringify(SHAPES.map((s) => [s.name, s.tfA, s.tfB, s.transposeB])))})
out = {}
for name, sa, sb, tb in shapes:
    a = np.random.rand(*sa).astype(np.float32) - 0.5
    b = np.random.rand(*sb).astype(np.float32) - 0.5
    f = (lambda: np.matmul(a, np.swapaxes(b, -1, -2))) if tb else (lambda: np.matmul(a, b))
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < ${quick ? 0.15 : 0.4}: f()
    ts = []
    t0 = time.perf_counter()
    while len(ts) < 5 or (time.perf_counter() - t0 < ${quick ? 0.6 : 1.5} and len(ts) < 200):
        t = time.perf_counter(); f(); ts.append((time.perf_counter() - t) * 1000)
    ts.sort()
    out[name] = ts[len(ts) // 2]
print(json.dumps(out))
`;
  const env: NodeJS.ProcessEnv = {
    ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1',
  };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const res = spawnSync('python3', ['-c', script], { env, encoding: 'utf8', timeout: 120_000 });
  if (res.status !== 0) return new Map();
  try {
    return new Map(Object.entries(JSON.parse(res.stdout) as Record<string, number>));
  } catch {
    return new Map();
  }
}

await main();
