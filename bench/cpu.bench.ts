/**
 * The CPU benchmark: einjit's public `einsum`/`rearrange` on float32 workloads, side by side in one process
 * and one run with
 *   - @tensorflow/tfjs-backend-cpu: `tf.einsum` (run once; it materialises the full product, so big ones are
 *     skipped with a note) and its best equivalent op (`tf.matMul`, `tf.transpose`, `tf.gather`);
 *   - @tensorflow/tfjs-backend-wasm: no Einsum kernel, so only the same best equivalent op (single-threaded);
 *   - jax-js's Wasm device, in a node process of its own (bench/jax_peer.mjs);
 *   - onnxruntime-node's native CPU kernels (MLAS) with 1 and 2 intra-op threads, in a node process of its own
 *     (bench/onnx_peer.mjs): the native ceiling the Wasm kernels are measured against;
 *   - numpy through a python3 subprocess (bench/numpy_peer.py) on one OpenBLAS thread, when numpy imports.
 * A workload with `calls` times that many calls per sample everywhere and reports the time per call.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

import { einsum, manualSeed, randn, rearrange, tidy, type Tensor } from '../src/index.js';
import {
  bytesMoved, DEFAULT_MEASURE, einsumFlops, measure, ONCE, QUICK_MEASURE, timingOf,
  type MeasureOptions, type PeerOutcome, type Timing, type WorkloadResult,
} from './harness.js';

export const PEERS = ['tfjs-cpu einsum', 'tfjs-cpu matMul', 'tfjs-wasm matMul', 'jax-js einsum', 'onnxruntime 1 thread',
  'onnxruntime 2 threads', 'numpy einsum', 'numpy matmul'] as const;
export type PeerName = (typeof PEERS)[number];

/** What the tfjs and numpy "matMul" columns run when a workload is not a matrix product. */
export const LEGEND = [
  "Times are medians in ms; '× peer' is peer time / einjit time (above 1× einjit is faster).",
  "The 'matMul' columns hold each peer's best non-einsum equivalent: tf.matMul / np.matmul (batched, transposeB for attention, " +
    'for conv tf.matMul(w, x as [c, b·l]) between transposes, np.matmul broadcasting w; two calls for the chain), tf.transpose / a contiguous np.transpose copy for the rearrange, ' +
    'tf.gather of the flattened diagonal / np.diagonal(x).copy() for ii->i.',
  "The onnxruntime columns run a one-node ONNX model (Einsum, or Transpose for the rearrange) through onnxruntime-node's native CPU kernels; its session.run is asynchronous, so its times include one promise per call.",
  'A per-call row times batches of calls and divides: it is the fixed cost of one small call on every side.',
  'einjit runs each call inside tidy() and makes its result contiguous (a rearrange is a free view until then, so its copy is what is timed); like tf.tidy for tfjs, tidy releases the output, so the next call reuses its memory.',
];

/** The numpy job for one column (see bench/numpy_peer.py for the kinds). */
interface NumpyJob {
  readonly kind: 'einsum' | 'matmul' | 'matmul_chain' | 'transpose' | 'diagonal';
  readonly pattern?: string;
  readonly transposeB?: boolean;
  readonly perm?: readonly number[];
}

interface Workload {
  readonly name: string;
  readonly op: 'einsum' | 'rearrange';
  readonly pattern: string;
  /** The same computation as a letter einsum (for tf.einsum and np.einsum). */
  readonly einsumPattern: string;
  readonly shapes: readonly (readonly number[])[];
  readonly work: WorkloadResult['work'];
  /** The best tfjs equivalent: given the inputs on the current backend, returns the op to time. */
  readonly tfjsBest: (inputs: tf.Tensor[]) => () => tf.Tensor;
  readonly numpyBest: NumpyJob;
  /** Calls per timed sample (default 1); the time reported is per call. */
  readonly calls?: number;
}

function gemmLike(name: string, pattern: string, shapes: number[][], tfjsBest: Workload['tfjsBest'], numpyBest: NumpyJob,
  calls?: number): Workload {
  return {
    name, op: 'einsum', pattern, einsumPattern: pattern, shapes,
    work: { amount: einsumFlops(pattern, shapes), unit: 'GFLOP/s' }, tfjsBest, numpyBest, ...(calls === undefined ? {} : { calls }),
  };
}

const matMul = (inputs: tf.Tensor[]) => () => tf.matMul(inputs[0]!, inputs[1]!);

export function workloads(): Workload[] {
  const n = 2048;
  const img = [32, 64, 56, 56];
  const imgSize = img.reduce((a, b) => a * b, 1);
  return [
    gemmLike('per call ij,jk->ik 8³', 'ij,jk->ik', [[8, 8], [8, 8]], matMul, { kind: 'matmul' }, 2000),
    gemmLike('per call i,i-> 1000', 'i,i->', [[1000], [1000]], (x) => () => tf.dot(x[0]!, x[1]!), { kind: 'matmul' }, 2000),
    gemmLike('GEMM 256³ ij,jk->ik', 'ij,jk->ik', [[256, 256], [256, 256]], matMul, { kind: 'matmul' }),
    gemmLike('GEMM 512³ ij,jk->ik', 'ij,jk->ik', [[512, 512], [512, 512]], matMul, { kind: 'matmul' }),
    gemmLike('GEMM 1024³ ij,jk->ik', 'ij,jk->ik', [[1024, 1024], [1024, 1024]], matMul, { kind: 'matmul' }),
    gemmLike('batched bij,bjk->bik 16×128³', 'bij,bjk->bik', [[16, 128, 128], [16, 128, 128]], matMul, { kind: 'matmul' }),
    gemmLike('attention bhqd,bhkd->bhqk 4×8×128×128×64', 'bhqd,bhkd->bhqk', [[4, 8, 128, 64], [4, 8, 128, 64]],
      (x) => () => tf.matMul(x[0]!, x[1]!, false, true), { kind: 'matmul', transposeB: true }),
    // tfjs: one [o, c] × [c, b·l] matMul between two transposes; its broadcast batched matMul ([1, o, c] × [b, c, l])
    // is 2-25× slower on both backends. numpy: np.matmul broadcasts [o, c] × [b, c, l].
    gemmLike('conv oc,bcl->bol o64 c576 b8 l1024', 'oc,bcl->bol', [[64, 576], [8, 576, 1024]],
      (x) => () => tf.transpose(tf.reshape(
        tf.matMul(x[0]!, tf.reshape(tf.transpose(x[1]!, [1, 0, 2]), [576, 8 * 1024])), [64, 8, 1024]), [1, 0, 2]),
      { kind: 'matmul' }),
    gemmLike('chain ij,jk,kl->il 256³', 'ij,jk,kl->il', [[256, 256], [256, 256], [256, 256]],
      (x) => () => tf.matMul(tf.matMul(x[0]!, x[1]!), x[2]!), { kind: 'matmul_chain' }),
    // A small tensor network (an MPS-like chain; a = b = d = e = f = 64, c = 16): three GEMM steps of 4-16 Mi
    // multiply-adds each. tfjs: the matMul chain a person writes by hand (reshapes, one transpose of the last
    // tensor); numpy: np.einsum with optimize=True.
    {
      ...gemmLike('network ab,bcd,de,ecf->af (64, c 16)', 'ab,bcd,de,ecf->af', [[64, 64], [64, 16, 64], [64, 64], [64, 16, 64]],
        (x) => () => {
          const [a, b, d, e] = x as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
          const ab = tf.reshape(tf.matMul(a, tf.reshape(b, [64, 16 * 64])), [64 * 16, 64]);
          const abd = tf.reshape(tf.matMul(ab, d), [64, 16 * 64]);
          return tf.matMul(abd, tf.reshape(tf.transpose(e, [1, 0, 2]), [16 * 64, 64]));
        },
        { kind: 'einsum', pattern: 'ab,bcd,de,ecf->af' }),
    },
    {
      name: `diagonal ii->i ${n}²`, op: 'einsum', pattern: 'ii->i', einsumPattern: 'ii->i', shapes: [[n, n]],
      work: { amount: bytesMoved(n, n), unit: 'GB/s' },
      tfjsBest: (x) => {
        const flat = tf.reshape(x[0]!, [n * n]);
        const idx = tf.tensor1d(Int32Array.from({ length: n }, (_, i) => i * (n + 1)), 'int32');
        return () => tf.gather(flat, idx);
      },
      numpyBest: { kind: 'diagonal' },
    },
    {
      name: 'rearrange b c h w -> b h w c 32×64×56×56', op: 'rearrange', pattern: 'b c h w -> b h w c',
      einsumPattern: 'bchw->bhwc', shapes: [img],
      work: { amount: bytesMoved(imgSize, imgSize), unit: 'GB/s' },
      tfjsBest: (x) => () => tf.transpose(x[0]!, [0, 2, 3, 1]),
      numpyBest: { kind: 'transpose', perm: [0, 2, 3, 1] },
    },
  ];
}

export interface CpuBenchOptions {
  /** Fewer repetitions, no multi-second tf.einsum runs: a smoke test. */
  readonly quick?: boolean;
  /** Run tf.einsum on every shape, however big its materialised product (minutes). */
  readonly full?: boolean;
  /** Only workloads whose name contains this (case-insensitive). */
  readonly filter?: string;
  readonly numpy?: boolean;
  /** Run the jax-js peer (default true). */
  readonly jax?: boolean;
  /** Run the onnxruntime-node peer (default true). */
  readonly onnx?: boolean;
  /** Progress lines go here (stderr by default). */
  readonly log?: (line: string) => void;
}

export interface CpuBenchReport {
  readonly results: WorkloadResult[];
  readonly peers: readonly string[];
  /** Lines about the environment: backends, BLAS kernel, skipped peers. */
  readonly info: string[];
  /** Mismatches between einjit's and tfjs's results (expected empty). */
  readonly mismatches: string[];
}

/** tf.einsum materialises the broadcast product of every axis; above this many elements it is skipped. */
const TFJS_EINSUM_CAP = 512 ** 3;

function productElements(pattern: string, shapes: readonly (readonly number[])[]): number {
  const size = new Map<string, number>();
  pattern.split('->')[0]!.split(',').forEach((term, t) => [...term].forEach((ch, i) => size.set(ch, shapes[t]![i]!)));
  let p = 1;
  for (const s of size.values()) p *= s;
  return p;
}

function message(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!.trim();
}

async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const warn = console.warn;
  console.warn = () => {};
  try {
    return await fn();
  } finally {
    console.warn = warn;
  }
}

/** Registers the wasm backend's binaries from the installed package and checks both tfjs backends start. */
async function initTfjs(info: string[]): Promise<{ cpu: boolean; wasm: boolean }> {
  const require = createRequire(import.meta.url);
  const dist = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
  setWasmPaths(dist);
  const ok = { cpu: false, wasm: false };
  await quietly(async () => {
    ok.cpu = await tf.setBackend('cpu');
    tf.tidy(() => tf.zeros([1]).dataSync()); // the cpu backend's "install tfjs-node" banner fires on first write
    try {
      ok.wasm = await tf.setBackend('wasm');
    } catch (e) {
      info.push(`tfjs-backend-wasm failed to start: ${message(e)}`);
    }
  });
  info.push(`tfjs-core ${tf.version_core}; backends: cpu ${ok.cpu ? 'ready' : 'FAILED'}, wasm ${ok.wasm ? 'ready' : 'FAILED'}`);
  if (ok.wasm) {
    const einsumKernel = tf.getKernel('Einsum', 'wasm');
    info.push(einsumKernel === undefined
      ? 'tfjs-backend-wasm registers no Einsum kernel (tf.einsum throws "Kernel \'Einsum\' not registered"), so its column is tf.matMul only; it runs single-threaded in Node.'
      : 'tfjs-backend-wasm has an Einsum kernel (not timed here).');
  }
  return ok;
}

interface PeerJob {
  readonly id: string;
  readonly pattern: string;
  readonly shapes: Workload['shapes'];
  readonly inputs: readonly Float32Array[];
  readonly calls?: number;
  /** For the onnxruntime peer: run a Transpose by this permutation instead of an Einsum. */
  readonly perm?: readonly number[];
}

interface NodePeerReply {
  readonly info: Record<string, unknown>;
  readonly results: readonly { readonly id: string; readonly threads?: number; readonly samples_ms?: number[]; readonly error?: string }[];
}

/**
 * Runs a JS peer's jobs in one node process of its own (`script` in bench/), with the same inputs einjit had:
 * operand k of job j is written raw to `${dir}/${j}-${k}.f32`, and the peer writes job j's result to
 * `${dir}/${j}-out.f32` for the cross-check. Returns the reply and the results read back, or null after noting
 * the failure in `info`.
 */
function runNodePeer(name: string, script: string, nodeFlags: readonly string[], extra: Record<string, unknown>, jobs: readonly PeerJob[],
  options: MeasureOptions, info: string[]): { reply: NodePeerReply; values: Map<string, Float32Array> } | null {
  const dir = mkdtempSync(path.join(tmpdir(), 'einjit-peer-'));
  try {
    jobs.forEach((job, j) => job.inputs.forEach((data, k) => writeFileSync(path.join(dir, `${j}-${k}.f32`), data)));
    const proc = spawnSync(process.execPath, [...nodeFlags, fileURLToPath(new URL(script, import.meta.url))], {
      input: JSON.stringify({ dir, measure: options, ...extra, jobs: jobs.map(({ inputs: _inputs, ...job }) => job) }),
      encoding: 'utf8', maxBuffer: 64 << 20,
    });
    if (proc.status !== 0) {
      info.push(`${name} peer failed (exit ${proc.status}): ${proc.stderr.trim().split('\n').slice(-1)[0] ?? ''}`);
      return null;
    }
    const reply = JSON.parse(proc.stdout) as NodePeerReply;
    const values = new Map<string, Float32Array>();
    jobs.forEach((job, j) => {
      try {
        const bytes = readFileSync(path.join(dir, `${j}-out.f32`));
        values.set(job.id, new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4));
      } catch {
        // the job failed; its error is in the reply
      }
    });
    return { reply, values };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One peer column's outcome per job id, from a node peer's reply. */
function outcomes(reply: NodePeerReply, threads: number | undefined, jobs: readonly PeerJob[], what: (job: PeerJob) => string): Map<string, PeerOutcome> {
  const out = new Map<string, PeerOutcome>();
  for (const r of reply.results) {
    if (threads !== undefined && r.threads !== threads) continue;
    const job = jobs.find((x) => x.id === r.id)!;
    out.set(r.id, r.samples_ms === undefined
      ? { status: 'rejected', note: `${what(job)} throws: ${r.error ?? 'failed'}` }
      : { status: 'timed', timing: timingOf(r.samples_ms) });
  }
  return out;
}

/** jax-js on its Wasm device (bench/jax_peer.mjs, with --harmony-iterator-helpers, which its einsum parser needs on Node 20). */
function runJax(jobs: readonly PeerJob[], options: MeasureOptions, info: string[]): { columns: Map<string, PeerOutcome>[]; values: Map<string, Float32Array> } | null {
  const got = runNodePeer('jax-js', './jax_peer.mjs', ['--harmony-iterator-helpers'], {}, jobs, options, info);
  if (got === null) return null;
  info.push(`jax-js ${String(got.reply.info.version)} on its Wasm device (one process, node --harmony-iterator-helpers, which its einsum parser needs on Node 20); it computes lazily, so its times include dataSync() reading each result back`);
  return { columns: [outcomes(got.reply, undefined, jobs, (job) => `jax-js einsum('${job.pattern}')`)], values: got.values };
}

/** onnxruntime-node's native CPU kernels, one thread and two (bench/onnx_peer.mjs). */
function runOnnx(jobs: readonly PeerJob[], options: MeasureOptions, info: string[]): { columns: Map<string, PeerOutcome>[]; values: Map<string, Float32Array> } | null {
  const got = runNodePeer('onnxruntime', './onnx_peer.mjs', [], { threads: [1, 2] }, jobs, options, info);
  if (got === null) return null;
  info.push(`onnxruntime-node ${String(got.reply.info.version)}, CPU execution provider, intraOpNumThreads 1 and 2 (one process of its own)`);
  const what = (job: PeerJob): string => (job.perm === undefined ? `onnxruntime Einsum('${job.pattern}')` : 'onnxruntime Transpose');
  return { columns: [outcomes(got.reply, 1, jobs, what), outcomes(got.reply, 2, jobs, what)], values: got.values };
}

/** Creates the inputs on tfjs's current backend, times `make(inputs)`, and disposes everything. */
function timeTfjs(inputs: readonly Float32Array[], shapes: Workload['shapes'], make: (x: tf.Tensor[]) => () => tf.Tensor,
  options: MeasureOptions, calls = 1): Timing {
  tf.engine().startScope();
  try {
    const xs = inputs.map((data, i) => tf.tensor(data, shapes[i]! as number[], 'float32'));
    const run = make(xs);
    // tfjs-backend-cpu and -wasm execute each op synchronously when it is called; tidy frees its output.
    return measureCalls(() => tf.tidy(() => { run(); }), options, calls);
  } finally {
    tf.engine().endScope();
  }
}

/** One tfjs result, read back, for the correctness cross-check. */
function tfjsValues(inputs: readonly Float32Array[], shapes: Workload['shapes'], make: (x: tf.Tensor[]) => () => tf.Tensor): Float32Array {
  tf.engine().startScope();
  try {
    const xs = inputs.map((data, i) => tf.tensor(data, shapes[i]! as number[], 'float32'));
    return Float32Array.from(make(xs)().dataSync() as Float32Array);
  } finally {
    tf.engine().endScope();
  }
}

/** Checks whether tf.einsum accepts the pattern at all, on tiny operands of the same ranks. */
function tfjsEinsumRejects(pattern: string, shapes: Workload['shapes']): string | null {
  try {
    tf.tidy(() => { tf.einsum(pattern, ...shapes.map((s) => tf.zeros(s.map(() => 2)))); });
    return null;
  } catch (e) {
    return message(e);
  }
}

function relativeError(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / Math.max(scale, 1e-30);
}

/** `measure` of `calls` calls per sample, reported per call. */
function measureCalls(fn: () => void, options: MeasureOptions, calls: number): Timing {
  if (calls === 1) return measure(fn, options);
  const t = measure(() => { for (let c = 0; c < calls; c++) fn(); }, options);
  return timingOf(t.samples.map((ms) => ms / calls));
}

function runEinjit(w: Workload, xs: readonly Tensor[]): Tensor {
  return w.op === 'rearrange' ? rearrange(xs[0]!, w.pattern) : einsum(w.pattern, ...xs);
}

export function numpyAvailable(): boolean {
  return spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;
}

interface NumpyReply {
  readonly info: Record<string, unknown>;
  readonly results: readonly { readonly id: string; readonly samples_ms?: number[]; readonly error?: string }[];
}

/** Runs every numpy job in one python3 process on one OpenBLAS thread. */
function runNumpy(jobs: (NumpyJob & { id: string; shapes: Workload['shapes']; calls: number })[], options: MeasureOptions, info: string[]): Map<string, PeerOutcome> {
  const out = new Map<string, PeerOutcome>();
  const script = fileURLToPath(new URL('./numpy_peer.py', import.meta.url));
  const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: '1' };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const proc = spawnSync('python3', [script], {
    input: JSON.stringify({ jobs, measure: options }), env, encoding: 'utf8', maxBuffer: 64 << 20,
  });
  if (proc.status !== 0) {
    info.push(`numpy peer failed (exit ${proc.status}): ${proc.stderr.trim().split('\n').slice(-1)[0] ?? ''}`);
    return out;
  }
  const reply = JSON.parse(proc.stdout) as NumpyReply;
  const i = reply.info;
  const pools = i.threadpoolctl as { internal_api?: string; version?: string; architecture?: string; num_threads?: number }[] | null;
  if (pools) {
    const blas = pools.map((p) => `${p.internal_api} ${p.version} kernel ${p.architecture}, ${p.num_threads} thread(s)`).join('; ');
    info.push(`numpy ${String(i.numpy)}; threadpoolctl reports: ${blas || 'no BLAS pool'}`);
  } else {
    const core = i.openblas_corename === undefined ? 'unknown kernel'
      : `OpenBLAS kernel ${String(i.openblas_corename)}, ${String(i.openblas_num_threads ?? '?')} thread(s) (asked OpenBLAS directly)`;
    info.push(`numpy ${String(i.numpy)}; threadpoolctl is not importable; ${core}`);
  }
  info.push('numpy runs with OPENBLAS_NUM_THREADS=1 and OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset; its inputs come from numpy\'s own generator (same shapes, not the same values).');
  for (const r of reply.results) {
    if (r.samples_ms !== undefined) out.set(r.id, { status: 'timed', timing: timingOf(r.samples_ms) });
    else out.set(r.id, { status: 'rejected', note: r.error ?? 'failed' });
  }
  return out;
}

export async function runCpuBench(options: CpuBenchOptions = {}): Promise<CpuBenchReport> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const measureOptions = options.quick ? QUICK_MEASURE : DEFAULT_MEASURE;
  const info: string[] = [];
  const mismatches: string[] = [];
  const filter = options.filter?.toLowerCase();
  const selected = workloads().filter((w) => filter === undefined || w.name.toLowerCase().includes(filter));
  const backends = await initTfjs(info);
  const peerJobs: PeerJob[] = [];
  const einjitResults: Float32Array[] = [];

  const results: { name: string; einjit: Timing; work: WorkloadResult['work']; peers: Record<string, PeerOutcome> }[] = [];
  manualSeed(0);
  for (const w of selected) {
    const xs = w.shapes.map((s) => randn(s));
    const data = xs.map((x) => Float32Array.from(x.dataSync() as Float32Array));
    const peers: Record<string, PeerOutcome> = {};

    // Inside tidy, as tfjs runs inside tf.tidy: the output is released after each call (and its block reused), as a
    // training loop's would be, instead of every call taking fresh pages from the OS.
    const calls = w.calls ?? 1;
    const einjit = measureCalls(() => { tidy(() => { runEinjit(w, xs).contiguous(); }); }, measureOptions, calls);
    log(`${w.name}: einjit ${einjit.medianMs.toFixed(2)} ms`);
    if (w.op === 'rearrange') {
      // The memory-speed yardstick for a copy: one TypedArray.set of the same bytes into an array of the same size.
      const src = data[0]!;
      const dst = new Float32Array(src.length);
      const copy = measure(() => { dst.set(src); }, measureOptions);
      info.push(`${w.name}: a plain typed-array copy of the same ${(src.byteLength / 2 ** 20).toFixed(1)} MiB takes ${copy.medianMs.toFixed(2)} ms ` +
        `(${(2 * src.byteLength / copy.medianMs / 1e6).toFixed(1)} GB/s read+write), einjit's permute ${(copy.medianMs / einjit.medianMs).toFixed(2)}× that speed`);
    }
    const einjitValues = Float32Array.from(runEinjit(w, xs).dataSync() as Float32Array);

    if (backends.cpu) {
      await tf.setBackend('cpu');
      const rejected = tfjsEinsumRejects(w.einsumPattern, w.shapes);
      const elements = productElements(w.einsumPattern, w.shapes);
      if (rejected !== null) {
        peers['tfjs-cpu einsum'] = { status: 'rejected', note: `tf.einsum('${w.einsumPattern}') throws: ${rejected}` };
      } else if (options.quick && !options.full && w.calls === undefined) {
        peers['tfjs-cpu einsum'] = { status: 'skipped', note: 'skipped in --quick (one call takes seconds)' };
      } else if (elements > TFJS_EINSUM_CAP && !options.full) {
        peers['tfjs-cpu einsum'] = {
          status: 'skipped',
          note: `skipped: tf.einsum materialises the ${(elements / 1e6).toFixed(0)}M-element product (${(elements * 4 / 2 ** 30).toFixed(1)} GiB), ` +
            `over the cap of 512³ elements (that one alone takes 10 s or more); pass --full to run it`,
        };
      } else if (w.calls !== undefined) {
        // A small per-call product: timed like the other columns.
        const t = timeTfjs(data, w.shapes, (x) => () => tf.einsum(w.einsumPattern, ...x), measureOptions, calls);
        peers['tfjs-cpu einsum'] = { status: 'timed', timing: t };
      } else {
        const t = timeTfjs(data, w.shapes, (x) => () => tf.einsum(w.einsumPattern, ...x), ONCE);
        peers['tfjs-cpu einsum'] = { status: 'timed', timing: t, note: 'one cold run (it materialises the full product)' };
        log(`${w.name}: tfjs-cpu einsum ${t.medianMs.toFixed(1)} ms (once)`);
      }
      const t = timeTfjs(data, w.shapes, w.tfjsBest, measureOptions, calls);
      peers['tfjs-cpu matMul'] = { status: 'timed', timing: t };
      log(`${w.name}: tfjs-cpu matMul ${t.medianMs.toFixed(2)} ms`);
      const err = relativeError(einjitValues, tfjsValues(data, w.shapes, w.tfjsBest));
      if (!(err <= 1e-3)) mismatches.push(`${w.name}: einjit differs from tfjs-cpu by ${err.toExponential(2)} (relative to the largest value)`);
    } else {
      peers['tfjs-cpu einsum'] = { status: 'unavailable', note: 'tfjs-backend-cpu did not start' };
      peers['tfjs-cpu matMul'] = { status: 'unavailable', note: 'tfjs-backend-cpu did not start' };
    }

    if (backends.wasm) {
      await tf.setBackend('wasm');
      const t = timeTfjs(data, w.shapes, w.tfjsBest, measureOptions, calls);
      peers['tfjs-wasm matMul'] = { status: 'timed', timing: t };
      log(`${w.name}: tfjs-wasm matMul ${t.medianMs.toFixed(2)} ms`);
    } else {
      peers['tfjs-wasm matMul'] = { status: 'unavailable', note: 'tfjs-backend-wasm did not start' };
    }
    peerJobs.push({
      id: String(results.length), pattern: w.einsumPattern, shapes: w.shapes, inputs: data,
      ...(w.calls === undefined ? {} : { calls: w.calls }),
      ...(w.numpyBest.kind === 'transpose' && w.numpyBest.perm !== undefined ? { perm: w.numpyBest.perm } : {}),
    });
    einjitResults.push(einjitValues);
    results.push({ name: w.name, einjit, work: w.work, peers });
  }

  const nodePeers = [
    { name: 'jax-js', run: runJax, skip: options.jax === false, columns: ['jax-js einsum'] as const },
    { name: 'onnxruntime', run: runOnnx, skip: options.onnx === false, columns: ['onnxruntime 1 thread', 'onnxruntime 2 threads'] as const },
  ];
  for (const peer of nodePeers) {
    if (peer.skip) {
      info.push(`${peer.name} peer not run (turned off in the options).`);
      continue;
    }
    log(`${peer.name}: ${peerJobs.length} jobs in one node process…`);
    const got = peer.run(peerJobs, measureOptions, info);
    results.forEach((r, i) => {
      peer.columns.forEach((col, c) => {
        r.peers[col] = got?.columns[c]?.get(String(i)) ?? { status: 'unavailable', note: `no result from the ${peer.name} process` };
      });
      const values = got?.values.get(String(i));
      if (values !== undefined) {
        const err = relativeError(einjitResults[i]!, values);
        if (!(err <= 1e-3)) mismatches.push(`${r.name}: einjit differs from ${peer.name} by ${err.toExponential(2)} (relative to the largest value)`);
      }
    });
  }

  const wantNumpy = options.numpy ?? true;
  if (!wantNumpy) {
    info.push('numpy peer not run (--no-numpy).');
  } else if (!numpyAvailable()) {
    info.push("numpy peer not run: `python3 -c 'import numpy'` fails here.");
  } else {
    const jobs = selected.flatMap((w, i) => [
      { id: `${i}:numpy einsum`, kind: 'einsum' as const, pattern: w.einsumPattern, shapes: w.shapes, calls: w.calls ?? 1 },
      { id: `${i}:numpy matmul`, shapes: w.shapes, ...w.numpyBest, calls: w.calls ?? 1 },
    ]);
    log(`numpy: ${jobs.length} jobs in one python3 process…`);
    const numpy = runNumpy(jobs, measureOptions, info);
    selected.forEach((_, i) => {
      for (const col of ['numpy einsum', 'numpy matmul'] as const) {
        results[i]!.peers[col] = numpy.get(`${i}:${col}`) ?? { status: 'unavailable', note: 'no result from the numpy process' };
      }
    });
  }
  const peers = PEERS.filter((p) => results.some((r) => r.peers[p] !== undefined));
  return { results, peers, info, mismatches };
}

