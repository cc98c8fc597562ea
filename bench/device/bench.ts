/**
 * The device benchmark: one run on a GPU machine that checks every WGSL kernel variant against float64 and times
 * einjit's kernels beside PyTorch (fp32, TF32 off, CUDA events) and TensorFlow.js's WebGPU matMul (same Dawn, same
 * process). Sized to finish in about five minutes: every section has its own time guard, and each section's
 * results are written to the output folder as soon as it ends, so a run cut short still reports what it measured.
 *
 *   node .device/bench/device.mjs --out DIR [--budget SECONDS] [--torch bench/device/torch_peer.py] [--small] [--tfjs] [--only SECTION,...]
 *   npx tsx bench/device/bench.ts --out /tmp/x --small        (here, on lavapipe: checks that it runs)
 *
 * bench/device/pack.sh bundles this file (and tfjs) for a machine without Node's toolchain; bench/device/run.sh is
 * the command run there. Output: DIR/device.json (every figure) and DIR/device.txt (the summary, also printed).
 * Rates: GEMMs in TFLOP/s (2mnk / time), copies in GB/s of bytes read plus written; ratios are einjit's speed over
 * the peer's (above 1: einjit faster).
 */

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WebGPUBackend } from '../../kernels/wgsl/index.js';
import type { GpuStorage } from '../../kernels/wgsl/index.js';
import type { GemmTileChoice } from '../../kernels/wgsl/gemm.js';
import { GEMM_SWEEP_SHAPES } from '../../kernels/wgsl/gemm.js';
import { splitReduction } from '../../kernels/wgsl/multipass.js';
import { ex } from '../../src/lower/spec.js';
import { buildLoop } from '../../src/lower/loops.js';
import type { GemmSpec, KernelSpec, LoopSpec } from '../../src/lower/spec.js';
import { checkEinops } from '../../src/ir/index.js';

// ------------------------------------------------------------------ arguments, output, time guards

const argv = process.argv.slice(2);
const arg = (name: string, fallback: string): string => (argv.includes(name) ? argv[argv.indexOf(name) + 1]! : fallback);
const OUT = arg('--out', path.join(os.tmpdir(), 'einjit-device'));
const BUDGET_S = Number(arg('--budget', '330'));
const TORCH_SCRIPT = arg('--torch', 'bench/device/torch_peer.py');
/** --only info,gemm runs just those sections (for trying the bench out). */
const ONLY = argv.includes('--only') ? arg('--only', '').split(',') : null;
const t0 = performance.now();
const elapsed = (): number => (performance.now() - t0) / 1000;
fs.mkdirSync(OUT, { recursive: true });

const report: Record<string, unknown> = { started: new Date().toISOString() };
const lines: string[] = [];
function say(s = ''): void {
  console.log(s);
  lines.push(s);
}
function save(): void {
  report['elapsed_s'] = elapsed();
  fs.writeFileSync(path.join(OUT, 'device.json'), JSON.stringify(report, null, 1));
  fs.writeFileSync(path.join(OUT, 'device.txt'), lines.join('\n') + '\n');
}

/** A section's clock: `ok()` is false once its own budget or the run's is spent. */
function guard(section: string, seconds: number): { ok: () => boolean; skipped: string[] } {
  const end = Math.min(elapsed() + seconds, BUDGET_S);
  const skipped: string[] = [];
  return { ok: () => elapsed() < end, skipped };
}

async function section(name: string, seconds: number, body: (g: ReturnType<typeof guard>) => Promise<unknown>): Promise<void> {
  if (ONLY !== null && !ONLY.includes(name)) return;
  const g = guard(name, seconds);
  const s0 = elapsed();
  say(`\n== ${name} (budget ${seconds} s, run at ${s0.toFixed(0)} s)`);
  if (elapsed() >= BUDGET_S) {
    report[name] = { skipped: 'run budget spent' };
    say('skipped: run budget spent');
    save();
    return;
  }
  try {
    report[name] = await body(g);
  } catch (e) {
    const msg = e instanceof Error ? `${e.message}${e.stack ? `\n${e.stack.split('\n').slice(1, 4).join('\n')}` : ''}` : String(e);
    report[name] = { error: msg };
    say(`FAILED: ${msg}`);
  }
  if (g.skipped.length > 0) say(`time guard skipped: ${g.skipped.join('; ')}`);
  say(`(${name}: ${(elapsed() - s0).toFixed(1)} s)`);
  save();
}

// ------------------------------------------------------------------ data, timing, checks

/** Deterministic values in [-0.5, 0.5), different for every seed (never zeros: they hide unwritten outputs). */
function fill(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    a[i] = x / 4294967296 - 0.5;
  }
  return a;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/**
 * Median milliseconds per launch: one warm-up launch (compiles), one timed launch to size the batches, then
 * `repeats` batches of launches sized to about `minMs`, the queue drained around each batch.
 */
async function time(launch: () => void, drain: () => Promise<void>, repeats = 5, minMs = 25): Promise<number> {
  launch();
  await drain();
  let s = performance.now();
  launch();
  await drain();
  const one = Math.max(performance.now() - s, 0.005);
  const iters = Math.max(2, Math.min(400, Math.ceil(minMs / one)));
  const samples: number[] = [];
  for (let r = 0; r < repeats; r++) {
    s = performance.now();
    for (let i = 0; i < iters; i++) launch();
    await drain();
    samples.push((performance.now() - s) / iters);
  }
  return median(samples);
}

/**
 * GPU milliseconds per launch from the device's timestamps (every kernel of the launch summed, e.g. a split-K
 * GEMM's two), median of 5 profiles of `n` launches; undefined where the adapter has no timestamp-query.
 */
async function gpuTime(backend: WebGPUBackend, launch: () => void, n = 8): Promise<number | undefined> {
  if (!backend.features.includes('timestamp-query')) return undefined;
  const samples: number[] = [];
  for (let r = 0; r < 5; r++) {
    backend.startProfile();
    for (let i = 0; i < n; i++) launch();
    const p = await backend.stopProfile();
    if (!p.timed) return undefined;
    samples.push(p.kernels.reduce((s, k) => s + (k.ms ?? 0), 0) / n);
  }
  return median(samples);
}

/** Largest |got − want| / Σ|terms| over sampled outputs of a GEMM, against float64 on the host. */
function gemmError(spec: GemmSpec, host: readonly Float32Array[], got: Float32Array, samples = 256): number {
  let worst = 0;
  const base = (x: GemmSpec['a'], batch: readonly number[]): number => batch.reduce((acc, v, d) => acc + v * x.batchStrides[d]!, x.offset);
  for (let s = 0; s < samples; s++) {
    const batch = spec.batch.map((n, d) => (s * (d + 3) + d) % n);
    // The corners first (ragged edges), then spread samples.
    const i = s < 4 ? (s & 1 ? spec.m - 1 : 0) : (s * 7919) % spec.m;
    const j = s < 4 ? (s & 2 ? spec.n - 1 : 0) : (s * 104729) % spec.n;
    let want = 0;
    let scale = 0;
    for (let k = 0; k < spec.k; k++) {
      const p = host[0]![base(spec.a, batch) + i * spec.a.rowStride + k * spec.a.colStride]! * host[1]![base(spec.b, batch) + k * spec.b.rowStride + j * spec.b.colStride]!;
      want += p;
      scale += Math.abs(p);
    }
    const g = got[base(spec.c, batch) + i * spec.c.rowStride + j * spec.c.colStride]!;
    const e = Number.isNaN(g) ? Infinity : Math.abs(g - want) / Math.max(scale, 1e-30);
    worst = Math.max(worst, e);
  }
  return worst;
}

/** Largest |got − want| over sampled outputs of a copy (want: the input element the output element reads). */
function copyError(spec: LoopSpec, input: Float32Array, got: Float32Array, samples = 4096): number {
  let worst = 0;
  for (let s = 0; s < samples; s++) {
    const point = spec.sizes.map((n, d) => (s === 0 ? 0 : s === 1 ? n - 1 : (s * (2 * d + 7) * 7919 + d) % n));
    const at = (offset: number, strides: readonly number[]): number => point.reduce((acc, v, d) => acc + v * strides[d]!, offset);
    const g = got[at(spec.output.offset, spec.output.strides)]!;
    const w = input[at(spec.inputs[0]!.offset, spec.inputs[0]!.strides)]!;
    worst = Math.max(worst, g === w ? 0 : Number.isNaN(g) ? Infinity : Math.abs(g - w));
  }
  return worst;
}

const tflops = (flops: number, ms: number): number => flops / ms / 1e9;
const gbs = (bytes: number, ms: number): number => bytes / ms / 1e6;
const f3 = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '-' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toPrecision(3));

function table(rows: readonly (readonly string[])[]): void {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  for (const r of rows) say(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
}

// ------------------------------------------------------------------ workloads

function rowMajor(extents: readonly number[]): number[] {
  const st = new Array<number>(extents.length).fill(0);
  let acc = 1;
  for (let d = extents.length - 1; d >= 0; d--) { st[d] = acc; acc *= extents[d]!; }
  return st;
}

function gemmSpec(label: string, batch: number[], m: number, n: number, k: number, bT = false): GemmSpec {
  const nb = batch.length;
  const bs = (per: number): number[] => rowMajor([...batch, 1]).slice(0, nb).map((s) => s * per);
  return {
    kind: 'gemm', label, dtype: 'float32', batch, m, n, k,
    a: { offset: 0, batchStrides: bs(m * k), rowStride: k, colStride: 1 },
    b: bT ? { offset: 0, batchStrides: bs(k * n), rowStride: 1, colStride: k } : { offset: 0, batchStrides: bs(k * n), rowStride: n, colStride: 1 },
    c: { offset: 0, batchStrides: bs(m * n), rowStride: n, colStride: 1 },
  };
}

interface GemmWork {
  readonly name: string;
  readonly spec: GemmSpec;
  readonly torch: string;
  readonly shapes: number[][];
  readonly tfjs: { a: number[]; b: number[]; transposeB: boolean };
}

function gemmWork(name: string, batch: number[], m: number, n: number, k: number, bT = false): GemmWork {
  const spec = gemmSpec(name, batch, m, n, k, bT);
  const a = [...batch, m, k];
  const b = bT ? [...batch, n, k] : [...batch, k, n];
  const torch = bT ? (batch.length === 2 ? "torch.einsum('bhqd,bhkd->bhqk', x0, x1)" : 'torch.matmul(x0, x1.transpose(-1, -2))') : 'torch.matmul(x0, x1)';
  return { name, spec, torch, shapes: [a, b], tfjs: { a, b, transposeB: bT } };
}

function gemmWorkloads(small: boolean): GemmWork[] {
  if (small) return [gemmWork('GEMM 128³', [], 128, 128, 128), gemmWork('attention 1x2x128x128x64', [1, 2], 128, 128, 64, true), gemmWork('skinny 64x64x4096', [], 64, 64, 4096)];
  return [
    gemmWork('GEMM 1024³', [], 1024, 1024, 1024),
    gemmWork('GEMM 2048³', [], 2048, 2048, 2048),
    gemmWork('GEMM 4096³', [], 4096, 4096, 4096),
    gemmWork('attention bhqd,bhkd->bhqk 4x8x1024x1024x64', [4, 8], 1024, 1024, 64, true),
    gemmWork('batched GEMM 64x512x512x512', [64], 512, 512, 512),
    gemmWork('skinny 256x256x65536 (K >> MN)', [], 256, 256, 65536),
    gemmWork('tall 8192x64x1024', [], 8192, 64, 1024),
  ];
}

interface PermuteWork {
  readonly name: string;
  readonly spec: LoopSpec;
  readonly elements: number;
  /** Input shape (row-major) and the torch permutation that gives the output. */
  readonly shape: number[];
  readonly perm: number[];
  readonly cases: string[];
}

/**
 * Every distinct permutation the einops conformance cases' rearranges make a copy for, as the merged axes it
 * permutes (adjacent axes that stay adjacent merge), scaled to about `elements` elements with the case's
 * extents' proportions kept (each at least 4).
 */
function conformancePermutes(elements: number): PermuteWork[] {
  const found = new Map<string, PermuteWork>();
  const file = JSON.parse(fs.readFileSync('tests/conformance/einops.json', 'utf8')) as unknown;
  const cases = (file as { cases: { id: string; op: string; pattern: string; error: boolean; axes_lengths?: Record<string, number>; inputs: { shape: number[] }[]; list_input?: boolean }[] }).cases;
  for (const c of cases) {
    if (c.op !== 'rearrange' || c.error) continue;
    const shape = c.list_input ? [c.inputs.length, ...c.inputs[0]!.shape] : c.inputs[0]!.shape;
    let recipe;
    try {
      recipe = checkEinops('rearrange', c.pattern, shape, c.axes_lengths ?? {});
    } catch {
      continue;
    }
    const es = recipe.elementaryShape;
    const order = recipe.outputAxes.filter((a) => a.kind === 'input').map((a) => (a as { axis: number }).axis);
    // Drop unit axes, then merge runs that stay consecutive.
    const kept = order.filter((ax) => es[ax]! > 1);
    const groups: number[][] = [];
    for (const ax of kept) {
      const last = groups[groups.length - 1];
      if (last !== undefined && last[last.length - 1]! + 1 === ax) last.push(ax);
      else groups.push([ax]);
    }
    if (groups.length < 2) continue; // a view or a reshape: no permute
    const byInput = [...groups].sort((g, h) => g[0]! - h[0]!);
    const perm = groups.map((g) => byInput.indexOf(g)); // output dim d reads input dim perm[d]
    if (perm.every((p, i) => p === i)) continue;
    const key = perm.join(',');
    const extents = byInput.map((g) => g.reduce((a, ax) => a * es[ax]!, 1));
    const hit = found.get(key);
    if (hit !== undefined) {
      hit.cases.push(c.id);
      continue;
    }
    // Scale every extent by the same factor, then fix the product on the largest.
    const n0 = extents.reduce((a, b) => a * b, 1);
    const f = (elements / n0) ** (1 / extents.length);
    const scaled = extents.map((e) => Math.max(4, Math.round(e * f)));
    const big = scaled.indexOf(Math.max(...scaled));
    const rest = scaled.reduce((a, b, i) => (i === big ? a : a * b), 1);
    scaled[big] = Math.max(4, Math.round(elements / rest));
    const inStrides = rowMajor(scaled);
    const outShape = perm.map((p) => scaled[p]!);
    const spec = buildLoop({
      label: `permute ${key}`, outShape,
      inputs: [{ dtype: 'float32', offset: 0, strides: perm.map((p) => inStrides[p]!) }],
      output: { dtype: 'float32', offset: 0, strides: rowMajor(outShape) }, expr: ex.input(0), computeType: 'float32',
    });
    found.set(key, { name: `perm [${key}] of ${scaled.join('x')}`, spec, elements: scaled.reduce((a, b) => a * b, 1), shape: scaled, perm, cases: [c.id] });
  }
  return [...found.values()];
}

function plainCopy(elements: number): LoopSpec {
  return buildLoop({
    label: 'copy', outShape: [elements],
    inputs: [{ dtype: 'float32', offset: 0, strides: [1] }],
    output: { dtype: 'float32', offset: 0, strides: [1] }, expr: ex.input(0), computeType: 'float32',
  });
}

// ------------------------------------------------------------------ tfjs

interface TF {
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
  backend(): unknown;
  randomUniform(shape: number[]): unknown;
  matMul(a: unknown, b: unknown, transposeA?: boolean, transposeB?: boolean): unknown;
  dispose(x: unknown): void;
}

async function loadTfjs(keep: unknown[]): Promise<TF | string> {
  try {
    const dawn = await import('webgpu');
    const gpu = dawn.create([]);
    keep.push(gpu);
    Object.assign(globalThis, dawn.globals);
    Object.defineProperty(globalThis, 'navigator', { value: { gpu, userAgent: 'node' }, configurable: true });
    const tf = (await import('@tensorflow/tfjs-core')) as unknown as TF;
    await import('@tensorflow/tfjs-backend-webgpu');
    if (!(await tf.setBackend('webgpu'))) return 'tfjs webgpu backend did not initialise';
    await tf.ready();
    return tf;
  } catch (e) {
    return `tfjs unavailable: ${e instanceof Error ? e.message : String(e)}`;
  }
}

async function tfjsMatMul(tf: TF, w: GemmWork): Promise<number> {
  const be = tf.backend() as { commandEncoder?: unknown; endComputePassEncoder(): void; submitQueue(): void; queue: GPUQueue };
  const a = tf.randomUniform(w.tfjs.a);
  const b = tf.randomUniform(w.tfjs.b);
  let last: unknown = null;
  const drain = async (): Promise<void> => {
    if (be.commandEncoder) {
      be.endComputePassEncoder();
      be.submitQueue();
    }
    await be.queue.onSubmittedWorkDone();
  };
  try {
    return await time(() => {
      if (last !== null) tf.dispose(last);
      last = tf.matMul(a, b, false, w.tfjs.transposeB);
    }, drain, 5);
  } finally {
    if (last !== null) tf.dispose(last);
    tf.dispose(a);
    tf.dispose(b);
  }
}

// ------------------------------------------------------------------ torch

interface TorchRow { name: string; ms?: number; us_per_op?: number; skipped?: string }
interface TorchResult { device: string; torch: string; copy_gbs?: number; rows: TorchRow[] }

function runTorch(work: { name: string; kind: string; shapes: number[][]; expr: string; iters?: number }[], seconds: number): TorchResult | string {
  if (!fs.existsSync(TORCH_SCRIPT)) return `no ${TORCH_SCRIPT}`;
  const run = spawnSync('python3', [TORCH_SCRIPT], {
    input: JSON.stringify({ deadline_s: seconds, workloads: work }), encoding: 'utf8', maxBuffer: 16 << 20, timeout: (seconds + 30) * 1000,
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
  });
  if (run.error) return `PyTorch run failed: ${run.error.message}`;
  if (run.status !== 0) return `PyTorch run failed (${run.status}): ${run.stderr.trim().split('\n').slice(-3).join(' | ')}`;
  return JSON.parse(run.stdout.trim().split('\n').pop()!) as TorchResult;
}

// ------------------------------------------------------------------ main

async function main(): Promise<void> {
  const backend = await WebGPUBackend.create();
  const software = /software|llvmpipe|lavapipe|swiftshader/i.test(backend.adapterInfo);
  const small = argv.includes('--small') || software;
  const keep: unknown[] = [];
  const MiB256 = small ? 1 << 16 : 1 << 26; // elements: 256 MiB of float32 (64 Ki elements on a software adapter)

  // One pair of inputs and outputs per size, reused (uploads of 256 MiB are slow; allocation is not timed).
  const released: GpuStorage[] = [];
  const upload = (data: Float32Array): GpuStorage => { const s = backend.upload('float32', data); released.push(s); return s; };
  const alloc = (n: number): GpuStorage => { const s = backend.allocate('float32', n); released.push(s); return s; };
  const free = (): void => { for (const s of released.splice(0)) backend.release(s); };
  const poison = (s: GpuStorage): void => {
    const device = (backend as unknown as { dev: GPUDevice }).dev;
    device.queue.writeBuffer(s.buffer, 0, new Float32Array(s.length).fill(NaN));
  };

  await section('info', 20, async () => {
    const smi = spawnSync('nvidia-smi', ['--query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm,temperature.gpu,power.draw', '--format=csv,noheader'], { encoding: 'utf8' });
    const info = {
      adapter: backend.adapterInfo, features: backend.features, limits: backend.limits, node: process.version,
      cpu: `${os.cpus()[0]?.model.trim() ?? '?'} x${os.availableParallelism()}`, nvidia_smi: smi.status === 0 ? smi.stdout.trim() : 'unavailable',
      software, budget_s: BUDGET_S,
    };
    say(`adapter: ${info.adapter}`);
    say(`features: ${info.features.join(', ')}; limits: ${JSON.stringify(info.limits)}`);
    say(`node ${info.node}; cpu ${info.cpu}; nvidia-smi: ${info.nvidia_smi}`);
    if (software) say('Software adapter: small sizes; the timings check that the bench runs and mean nothing about speed.');
    return info;
  });

  // Correctness of every kernel variant: each GEMM tile shape of the sweep and the named ones, every operand
  // layout kind, ragged edges, batches; every copy variant (thread, tiled transposes); reductions.
  await section('check', small ? 120 : 40, async (g) => {
    const rows: { kernel: string; case: string; error: number; ok: boolean }[] = [];
    const gemmCases: GemmSpec[] = [
      gemmSpec('ragged 131x67x45', [], 131, 67, 45),
      gemmSpec('batched, B transposed 2x3x96x80x64', [2, 3], 96, 80, 64, true),
      { ...gemmSpec('A transposed, odd strides 70x33x50', [], 70, 33, 50), a: { offset: 3, batchStrides: [], rowStride: 1, colStride: 71 } },
      gemmSpec('skinny 8x8x8192', [], 8, 8, 8192),
      gemmSpec('square 256³', [], 256, 256, 256),
    ];
    const choices: GemmTileChoice[] = ['auto', 'small', 'large', ...GEMM_SWEEP_SHAPES];
    for (const spec of gemmCases) {
      const host = [
        fill(extentOf(spec, 'a'), 11),
        fill(extentOf(spec, 'b'), 12),
      ];
      const ins = host.map(upload);
      const out = alloc(extentOf(spec, 'c'));
      for (const choice of choices) {
        if (!g.ok()) { g.skipped.push(`${spec.label} ${JSON.stringify(choice)}`); continue; }
        backend.tuning.gemmTiles = choice;
        poison(out);
        const name = backend.kernelSource(spec).name;
        backend.run(spec, ins, out);
        const got = (await backend.read(out)) as Float32Array;
        const error = gemmError(spec, host, got, 128);
        rows.push({ kernel: name, case: spec.label, error, ok: error < 1e-5 });
      }
      backend.tuning.gemmTiles = 'auto';
      free();
    }
    for (const tile of [0, 32, 64] as const) {
      for (const w of conformancePermutes(small ? 4096 : 1 << 20).slice(0, 40)) {
        if (!g.ok()) { g.skipped.push(`${w.name} tile ${tile}`); continue; }
        backend.tuning.transposeTile = tile;
        const host = fill(w.elements, 5);
        const inp = upload(host);
        const out = alloc(w.elements);
        poison(out);
        const name = backend.kernelSource(w.spec).name;
        backend.run(w.spec, [inp], out);
        const error = copyError(w.spec, host, (await backend.read(out)) as Float32Array);
        rows.push({ kernel: name, case: w.name, error, ok: error === 0 });
        free();
      }
    }
    backend.tuning.transposeTile = 32;
    const bad = rows.filter((r) => !r.ok);
    say(`${rows.length} checks, ${bad.length} failed${bad.length ? ':' : ''}`);
    for (const r of bad) say(`  FAIL ${r.kernel} on ${r.case}: error ${r.error}`);
    const kernels = [...new Set(rows.map((r) => r.kernel))];
    say(`kernels checked: ${kernels.join(', ')}`);
    return { rows, failed: bad.length };
  });

  const gemms = gemmWorkloads(small);
  const permutes = conformancePermutes(MiB256);
  const reduceN = small ? 1 << 16 : 1 << 26;

  // PyTorch first (it needs the GPU to itself only while it runs; it is a separate process).
  let torch: TorchResult | string = 'not run';
  await section('torch', small ? 60 : 60, async () => {
    const work = [
      ...gemms.map((w) => ({ name: w.name, kind: 'op', shapes: w.shapes, expr: w.torch })),
      { name: 'copy', kind: 'op', shapes: [[MiB256]], expr: 'x0.clone()' },
      ...permutes.map((p) => ({ name: p.name, kind: 'op', shapes: [p.shape], expr: `x0.permute(${p.perm.join(', ')}).contiguous()` })),
      { name: 'sum of 64Mi', kind: 'op', shapes: [[reduceN]], expr: 'x0.sum()' },
      { name: 'row sums 1024x65536', kind: 'op', shapes: [[1024, reduceN / 1024]], expr: 'x0.sum(1)' },
      { name: 'small-op loop', kind: 'loop', shapes: [[256], [256]], expr: 'x0 + x1', iters: 1000 },
    ];
    torch = runTorch(work, small ? 40 : 50);
    if (typeof torch === 'string') say(torch);
    else say(`PyTorch ${torch.torch} on ${torch.device}; device copy ${f3(torch.copy_gbs)} GB/s (1 GiB clone, read + written)`);
    return torch;
  });
  const torchMs = (name: string): number | undefined => (typeof torch === 'string' ? undefined : torch.rows.find((r) => r.name === name)?.ms);
  const copyGbs = (): number | undefined => (typeof torch === 'string' ? undefined : torch.copy_gbs);

  const tf = small && !argv.includes('--tfjs') ? 'tfjs skipped on a software adapter (--tfjs runs it)' : await loadTfjs(keep);
  if (typeof tf === 'string') say(tf);

  await section('gemm', small ? 60 : 50, async (g) => {
    const rows: Record<string, unknown>[] = [];
    const tableRows = [['GEMM', 'kernel', 'ms', 'TFLOP/s', 'kernel ms', 'error', 'torch ms', 'vs torch', 'tfjs ms', 'vs tfjs']];
    for (const w of gemms) {
      if (!g.ok()) { g.skipped.push(w.name); continue; }
      const host = [fill(extentOf(w.spec, 'a'), 1), fill(extentOf(w.spec, 'b'), 2)];
      const ins = host.map(upload);
      const out = alloc(extentOf(w.spec, 'c'));
      poison(out);
      const name = backend.kernelSource(w.spec).name;
      const ms = await time(() => backend.run(w.spec, ins, out), () => backend.flush());
      const error = gemmError(w.spec, host, (await backend.read(out)) as Float32Array);
      const gpuMs = await gpuTime(backend, () => backend.run(w.spec, ins, out));
      free();
      const flops = 2 * w.spec.m * w.spec.n * w.spec.k * w.spec.batch.reduce((a, b) => a * b, 1);
      let tfMs: number | undefined;
      if (typeof tf !== 'string') {
        try { tfMs = await tfjsMatMul(tf, w); } catch (e) { say(`tfjs failed on ${w.name}: ${e instanceof Error ? e.message : String(e)}`); }
      }
      const tm = torchMs(w.name);
      rows.push({ name: w.name, kernel: name, ms, gpu_ms: gpuMs, gpu_tflops: gpuMs === undefined ? undefined : tflops(flops, gpuMs), tflops: tflops(flops, ms), error, torch_ms: tm, vs_torch: tm === undefined ? undefined : tm / ms, tfjs_ms: tfMs, vs_tfjs: tfMs === undefined ? undefined : tfMs / ms });
      tableRows.push([w.name, name, f3(ms), f3(tflops(flops, ms)), f3(gpuMs), error.toExponential(1), f3(tm), tm === undefined ? '-' : `${(tm / ms).toFixed(2)}x`, f3(tfMs), tfMs === undefined ? '-' : `${(tfMs / ms).toFixed(2)}x`]);
    }
    table(tableRows);
    return rows;
  });

  await section('copies', small ? 60 : 40, async (g) => {
    const rows: Record<string, unknown>[] = [];
    const ceiling = copyGbs();
    const tableRows = [['copy (256 MiB)', 'variant', 'kernel', 'ms', 'GB/s', '% of copy', 'kernel GB/s', 'error', 'torch GB/s', 'vs torch']];
    const items: { name: string; spec: LoopSpec; bytes: number; cases?: string[] }[] = [
      { name: 'copy', spec: plainCopy(MiB256), bytes: 8 * MiB256 },
      ...permutes.map((p) => ({ name: p.name, spec: p.spec, bytes: 8 * p.elements, cases: p.cases })),
    ];
    const most = Math.max(...items.map((it) => it.bytes / 8));
    const host = fill(most, 3);
    const inp = upload(host);
    const out = alloc(most);
    for (const it of items) {
      for (const tile of ['auto', 0, 32, 64, '32cap'] as const) {
        if (!g.ok()) { g.skipped.push(`${it.name} ${tile}`); continue; }
        if (tile !== 'auto' && tile !== 0 && it.name === 'copy') continue;
        backend.tuning.transposeTile = tile === 'auto' || tile === '32cap' ? 32 : tile;
        // '32cap': 32x32 tiles on at most 2048 workgroups, each moving several tiles.
        backend.tuning.transposeGridCap = tile === '32cap' ? 2048 : 0;
        // Variant 0 of the plain copy: the one-element-per-invocation kernel instead of the vec4 copy.
        backend.tuning.vec4Copy = !(tile === 0 && it.name === 'copy');
        const name = backend.kernelSource(it.spec).name;
        poison(out);
        const ms = await time(() => backend.run(it.spec, [inp], out), () => backend.flush());
        const error = copyError(it.spec, host, (await backend.read(out)) as Float32Array);
        const gpuMs = await gpuTime(backend, () => backend.run(it.spec, [inp], out), 4);
        const tm = torchMs(it.name);
        const rate = gbs(it.bytes, ms);
        rows.push({ name: it.name, variant: tile, kernel: name, ms, gpu_ms: gpuMs, gpu_gbs: gpuMs === undefined ? undefined : gbs(it.bytes, gpuMs), gbs: rate, of_copy: ceiling ? rate / ceiling : undefined, error, torch_ms: tm, vs_torch: tm === undefined ? undefined : tm / ms, cases: it.cases });
        tableRows.push([it.name, String(tile), name, f3(ms), f3(rate), ceiling ? `${((100 * rate) / ceiling).toFixed(0)}%` : '-', gpuMs === undefined ? '-' : f3(gbs(it.bytes, gpuMs)), String(error), tm === undefined ? '-' : f3(gbs(it.bytes, tm)), tm === undefined ? '-' : `${(tm / ms).toFixed(2)}x`]);
      }
    }
    backend.tuning.transposeTile = 32;
    backend.tuning.transposeGridCap = 0;
    backend.tuning.vec4Copy = true;
    free();
    table(tableRows);
    return rows;
  });

  await section('reduce', 15, async (g) => {
    const rows: Record<string, unknown>[] = [];
    const host = fill(reduceN, 4);
    const inp = upload(host);
    const out = alloc(1024);
    const specs: { name: string; spec: LoopSpec; outs: number }[] = [
      { name: 'sum of 64Mi', outs: 1, spec: buildLoop({ label: 'sum', outShape: [], reduceShape: [reduceN], inputs: [{ dtype: 'float32', offset: 0, strides: [1] }], output: { dtype: 'float32', offset: 0, strides: [] }, expr: ex.input(0), computeType: 'float32', reduceOp: 'sum' }) },
      { name: 'row sums 1024x65536', outs: 1024, spec: buildLoop({ label: 'row sums', outShape: [1024], reduceShape: [reduceN / 1024], inputs: [{ dtype: 'float32', offset: 0, strides: [reduceN / 1024, 1] }], output: { dtype: 'float32', offset: 0, strides: [1] }, expr: ex.input(0), computeType: 'float32', reduceOp: 'sum' }) },
    ];
    const tableRows = [['reduction', 'kernel', 'ms', 'GB/s', 'rel. error', 'torch ms', 'vs torch']];
    for (const s of specs) {
      if (!g.ok()) { g.skipped.push(s.name); continue; }
      const split = backend.tuning.multipassReduce === null ? null : splitReduction(s.spec, backend.tuning.multipassReduce);
      const name = split === null ? backend.kernelSource(s.spec).name : `2 passes, ${split.parts} parts: ${backend.kernelSource(split.first).name} + ${backend.kernelSource(split.second).name}`;
      poison(out);
      const ms = await time(() => backend.run(s.spec, [inp], out), () => backend.flush());
      const got = (await backend.read(out)) as Float32Array;
      let worst = 0;
      const per = reduceN / s.outs;
      for (let o = 0; o < s.outs; o += Math.max(1, s.outs >> 4)) {
        let want = 0;
        let scale = 0;
        for (let i = o * per; i < (o + 1) * per; i++) { want += host[i]!; scale += Math.abs(host[i]!); }
        worst = Math.max(worst, Number.isNaN(got[o]!) ? Infinity : Math.abs(got[o]! - want) / scale);
      }
      const tm = torchMs(s.name);
      rows.push({ name: s.name, kernel: name, ms, gbs: gbs(4 * reduceN, ms), error: worst, torch_ms: tm, vs_torch: tm === undefined ? undefined : tm / ms });
      tableRows.push([s.name, name, f3(ms), f3(gbs(4 * reduceN, ms)), worst.toExponential(1), f3(tm), tm === undefined ? '-' : `${(tm / ms).toFixed(2)}x`]);
    }
    free();
    table(tableRows);
    return rows;
  });

  await section('small-ops', 10, async () => {
    // 1000 dependent adds of 256 elements through the backend (the launch path), and through tensors.
    const spec = buildLoop({
      label: 'add', outShape: [256], inputs: [{ dtype: 'float32', offset: 0, strides: [1] }, { dtype: 'float32', offset: 0, strides: [1] }],
      output: { dtype: 'float32', offset: 0, strides: [1] }, expr: ex.binary('add', ex.input(0), ex.input(1)), computeType: 'float32',
    });
    const x = upload(fill(256, 8));
    const y = upload(fill(256, 9));
    const z = alloc(256);
    const n = 1000;
    const loop = (): void => { for (let i = 0; i < n / 2; i++) { backend.run(spec, [x, y], z); backend.run(spec, [z, y], x); } };
    const ms = await time(loop, () => backend.flush(), 5, 1);
    free();
    const tm = typeof torch === 'string' ? undefined : torch.rows.find((r) => r.name === 'small-op loop')?.us_per_op;
    const us = (ms * 1000) / n;
    say(`small-op loop (backend.run, 256-element add): ${f3(us)} us/op; torch ${f3(tm)} us/op${tm ? `; einjit/torch time ${(us / tm).toFixed(2)}` : ''}`);
    return { us_per_op: us, torch_us_per_op: tm };
  });

  await section('sweep', small ? 90 : 60, async (g) => {
    // Every tile shape on every GEMM workload: what the tile chooser's table is set from.
    const rows: Record<string, unknown>[] = [];
    const shapes: GemmTileChoice[] = ['auto', 'small', 'large', ...GEMM_SWEEP_SHAPES];
    for (const w of gemms) {
      const host = [fill(extentOf(w.spec, 'a'), 1), fill(extentOf(w.spec, 'b'), 2)];
      const ins = host.map(upload);
      const out = alloc(extentOf(w.spec, 'c'));
      const line: string[] = [];
      await backend.flush(); // the uploads land before anything is timed
      for (const choice of shapes) {
        if (!g.ok()) { g.skipped.push(`${w.name} ${JSON.stringify(choice)}`); continue; }
        backend.tuning.gemmTiles = choice;
        try {
          const name = backend.kernelSource(w.spec).name + (typeof choice === 'object' && (choice.splitK ?? 1) > 1 ? `_split${choice.splitK}` : '');
          poison(out);
          backend.run(w.spec, ins, out); // compiles
          const error = gemmError(w.spec, host, (await backend.read(out)) as Float32Array, 32);
          // Kernel time from timestamps (wall times here are disturbed by whatever the host is doing).
          const ms = (await gpuTime(backend, () => backend.run(w.spec, ins, out), 6)) ?? await time(() => backend.run(w.spec, ins, out), () => backend.flush(), 3, 15);
          const flops = 2 * w.spec.m * w.spec.n * w.spec.k * w.spec.batch.reduce((a, b) => a * b, 1);
          rows.push({ workload: w.name, choice, kernel: name, kernel_ms: ms, tflops: tflops(flops, ms), error });
          line.push(`${name} ${f3(tflops(flops, ms))}${error < 1e-5 ? '' : ` (ERROR ${error.toExponential(1)})`}`);
        } catch (e) {
          rows.push({ workload: w.name, choice, failed: e instanceof Error ? e.message : String(e) });
          line.push(`${JSON.stringify(choice)} failed`);
        }
      }
      backend.tuning.gemmTiles = 'auto';
      free();
      say(`${w.name} (kernel TFLOP/s): ${line.join(' | ')}`);
    }
    return rows;
  });

  await section('nn', small ? 120 : 50, async (g) => {
    const { manualSeed, randint, randn, setDefaultDevice, stack, tensor, nn, optim } = await import('../../src/index.js');
    const out: Record<string, unknown> = {};
    const seed = async (device: 'cpu' | 'webgpu', steps: number): Promise<number> => {
      await setDefaultDevice(device);
      manualSeed(0);
      const tok = new nn.models.SimpleBPETokenizer(5);
      tok.train(nn.models.SEED_TEXTS);
      const ids = nn.models.seedTokens(tok);
      const data = tensor(ids, { dtype: 'int32' });
      const model = new nn.models.TokenConvNet({ vocabSize: tok.vocabSize, nEmbd: 48, causal: true });
      const opt = new optim.AdamW(model.parameters(), { lr: 0.01 });
      const [b, t] = [16, 32];
      let s0 = 0;
      let done = 0;
      for (let i = 0; i < steps + 3; i++) {
        if (i === 3) s0 = performance.now();
        const starts = randint(0, ids.length - t - 1, [b], { device: 'cpu' }).dataSync();
        const x = stack(Array.from(starts, (o) => data.slice(0, o, o + t)), 0);
        const y = stack(Array.from(starts, (o) => data.slice(0, o + 1, o + t + 1)), 0);
        const loss = model.loss(model.forward(x), y);
        opt.zeroGrad();
        loss.backward();
        opt.step();
        await loss.data();
        if (i >= 3) done++;
        if (i >= 5 && !g.ok()) break;
      }
      return (done * b * t) / ((performance.now() - s0) / 1000);
    };
    const steps = small ? 3 : 40;
    out['seed_gpu_tokens_s'] = await seed('webgpu', steps);
    out['seed_cpu_tokens_s'] = await seed('cpu', steps);
    const ratio = (out['seed_gpu_tokens_s'] as number) / (out['seed_cpu_tokens_s'] as number);
    say(`seed-003 model training, batch 16x32: GPU ${f3(out['seed_gpu_tokens_s'] as number)} tokens/s, CPU ${f3(out['seed_cpu_tokens_s'] as number)} tokens/s (GPU/CPU ${ratio.toFixed(2)}x)`);
    if (!small && g.ok()) {
      await setDefaultDevice('webgpu');
      const model = nn.models.resnet34({ numClasses: 1000 });
      const opt = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
      const x = randn([8, 3, 64, 64]);
      const y = randint(0, 1000, [8]);
      const times: number[] = [];
      for (let i = 0; i < 4 && g.ok(); i++) {
        const s = performance.now();
        const loss = nn.functional.crossEntropy(model.forward(x), y);
        opt.zeroGrad();
        loss.backward();
        opt.step();
        await loss.data();
        if (i > 0) times.push(performance.now() - s);
      }
      if (times.length > 0) {
        out['resnet34_train_ms'] = median(times);
        say(`ResNet-34 train step [8,3,64,64] on the GPU: ${f3(median(times))} ms (median of ${times.length} after a warm-up; 689 ms before)`);
      }
    }
    return out;
  });

  free();
  backend.destroy();
  keep.length = 0;
  say(`\ndone in ${elapsed().toFixed(0)} s`);
  save();
}

/** Elements an operand's buffer must hold: one past its largest address. */
function extentOf(spec: GemmSpec, x: 'a' | 'b' | 'c'): number {
  const acc = spec[x];
  const [rows, cols] = x === 'a' ? [spec.m, spec.k] : x === 'b' ? [spec.k, spec.n] : [spec.m, spec.n];
  let max = acc.offset + (rows - 1) * acc.rowStride + (cols - 1) * acc.colStride;
  spec.batch.forEach((n, d) => { max += (n - 1) * acc.batchStrides[d]!; });
  return max + 1;
}

try {
  await main();
} catch (e) {
  say(`bench failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
  save();
}
process.exit(0);
