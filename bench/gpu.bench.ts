/**
 * GPU benchmark: einjit's WGSL kernels against TensorFlow.js's WebGPU backend (same Dawn, same process) and,
 * when `import torch` works in python3, PyTorch (fp32, TF32 off).
 *
 *   npx tsx bench/gpu.bench.ts                 full sizes (GEMM 1024³/2048³/4096³, attention 4×8×1024×1024×64,
 *                                              a 256 MiB permute)
 *   npx tsx bench/gpu.bench.ts --sizes small   small sizes (chosen automatically on a software adapter)
 *
 * einjit and tfjs are timed with the queue drained around N launches (median of several repeats); figures
 * from a software adapter (lavapipe) check that the benchmark runs and mean nothing about speed.
 */

import { spawnSync } from 'node:child_process';
import { WebGPUBackend } from '../kernels/wgsl/index.js';
import type { GpuStorage } from '../kernels/wgsl/index.js';
import { ex } from '../src/lower/spec.js';
import { buildLoop } from '../src/lower/loops.js';
import type { GemmSpec, KernelSpec, LoopSpec } from '../src/lower/spec.js';

interface Workload {
  readonly name: string;
  readonly spec: KernelSpec;
  /** Element counts of the inputs and the output. */
  readonly inputs: readonly number[];
  readonly output: number;
  /** Work for the rate column: flops (GEMM) or bytes moved (copy). */
  readonly flops?: number;
  readonly bytes?: number;
  /** The same computation in tfjs and in torch. */
  readonly tfjs: (tf: TF, inputs: readonly unknown[]) => unknown;
  readonly torch: string;
  readonly shapes: readonly (readonly number[])[];
}

// The slice of the tfjs API the bench uses.
interface TF {
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
  backend(): unknown;
  randomUniform(shape: number[]): unknown;
  matMul(a: unknown, b: unknown, transposeA?: boolean, transposeB?: boolean): unknown;
  transpose(x: unknown, perm: number[]): unknown;
  dispose(x: unknown): void;
}

function gemm(n: number): Workload {
  const spec: GemmSpec = {
    kind: 'gemm', label: `ij,jk->ik ${n}³`, dtype: 'float32', batch: [], m: n, n, k: n,
    a: { offset: 0, batchStrides: [], rowStride: n, colStride: 1 },
    b: { offset: 0, batchStrides: [], rowStride: n, colStride: 1 },
    c: { offset: 0, batchStrides: [], rowStride: n, colStride: 1 },
  };
  return {
    name: `GEMM ${n}³ fp32`, spec, inputs: [n * n, n * n], output: n * n, flops: 2 * n ** 3,
    tfjs: (tf, [a, b]) => tf.matMul(a, b), torch: 'torch.matmul(x0, x1)', shapes: [[n, n], [n, n]],
  };
}

function attention(B: number, H: number, Q: number, K: number, D: number): Workload {
  const spec: GemmSpec = {
    kind: 'gemm', label: 'bhqd,bhkd->bhqk', dtype: 'float32', batch: [B, H], m: Q, n: K, k: D,
    a: { offset: 0, batchStrides: [H * Q * D, Q * D], rowStride: D, colStride: 1 },
    b: { offset: 0, batchStrides: [H * K * D, K * D], rowStride: 1, colStride: D },
    c: { offset: 0, batchStrides: [H * Q * K, Q * K], rowStride: K, colStride: 1 },
  };
  return {
    name: `attention bhqd,bhkd->bhqk ${B}x${H}x${Q}x${K}x${D}`, spec, inputs: [B * H * Q * D, B * H * K * D], output: B * H * Q * K,
    flops: 2 * B * H * Q * K * D, tfjs: (tf, [q, k]) => tf.matMul(q, k, false, true),
    torch: "torch.einsum('bhqd,bhkd->bhqk', x0, x1)", shapes: [[B, H, Q, D], [B, H, K, D]],
  };
}

function permute(b: number, c: number, h: number, w: number): Workload {
  // Built like rearrange builds it: buildLoop simplifies the loops (h and w merge) before the backend sees them.
  const spec: LoopSpec = buildLoop({
    label: 'b c h w -> b h w c', outShape: [b, h, w, c],
    inputs: [{ dtype: 'float32', offset: 0, strides: [c * h * w, w, 1, h * w] }],
    output: { dtype: 'float32', offset: 0, strides: [h * w * c, w * c, c, 1] }, expr: ex.input(0), computeType: 'float32',
  });
  const n = b * c * h * w;
  return {
    name: `permute b c h w -> b h w c ${b}x${c}x${h}x${w} (${((n * 4) / 2 ** 20).toFixed(0)} MiB)`, spec, inputs: [n], output: n,
    bytes: 2 * 4 * n, tfjs: (tf, [x]) => tf.transpose(x, [0, 2, 3, 1]), torch: 'x0.permute(0, 2, 3, 1).contiguous()', shapes: [[b, c, h, w]],
  };
}

function workloads(small: boolean): Workload[] {
  return small
    ? [gemm(128), gemm(256), attention(1, 2, 128, 128, 64), permute(2, 16, 64, 64)]
    : [gemm(1024), gemm(2048), gemm(4096), attention(4, 8, 1024, 1024, 64), permute(16, 64, 256, 256)];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Median over `repeats` of the mean time of `iters` launches, the queue drained before and after. */
async function time(launch: () => void, drain: () => Promise<void>, iters: number, repeats: number): Promise<number> {
  launch();
  await drain();
  const samples: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    for (let i = 0; i < iters; i++) launch();
    await drain();
    samples.push((performance.now() - t0) / iters);
  }
  return median(samples);
}

function rate(w: Workload, ms: number): string {
  if (w.flops !== undefined) {
    const tflops = w.flops / ms / 1e9;
    return tflops >= 0.1 ? `${tflops.toFixed(2)} TFLOP/s` : `${(tflops * 1000).toFixed(2)} GFLOP/s`;
  }
  return `${((w.bytes ?? 0) / ms / 1e6).toFixed(1)} GB/s`;
}

/** Times the workload, then checks 256 sampled output elements against float64 on the host. */
async function benchEinjit(w: Workload, backend: WebGPUBackend, iters: number, repeats: number): Promise<{ ms: number; error: number }> {
  const fill = (n: number): Float32Array => Float32Array.from({ length: n }, (_, i) => ((i * 2654435761) % 1000) / 1000 - 0.5);
  const host = w.inputs.map(fill);
  const inputs: GpuStorage[] = host.map((d) => backend.upload('float32', d));
  const out = backend.allocate('float32', w.output);
  try {
    const ms = await time(() => backend.run(w.spec, inputs, out), () => backend.flush(), iters, repeats);
    const got = (await backend.read(out)) as Float32Array;
    return { ms, error: sampledError(w.spec, host, got) };
  } finally {
    for (const s of [...inputs, out]) backend.release(s);
  }
}

/** Largest |got - want| / Σ|terms| over 256 sampled outputs (GEMM), or the largest |got - want| (copies). */
function sampledError(spec: KernelSpec, host: readonly Float32Array[], got: Float32Array): number {
  let worst = 0;
  for (let s = 0; s < 256; s++) {
    if (spec.kind === 'gemm') {
      const batch = spec.batch.map((n, d) => (s * (d + 3)) % n);
      const i = (s * 7919) % spec.m;
      const j = (s * 104729) % spec.n;
      const base = (x: GemmSpec['a']): number => batch.reduce((acc, v, d) => acc + v * x.batchStrides[d]!, x.offset);
      let want = 0;
      let scale = 0;
      for (let k = 0; k < spec.k; k++) {
        const p = host[0]![base(spec.a) + i * spec.a.rowStride + k * spec.a.colStride]! * host[1]![base(spec.b) + k * spec.b.rowStride + j * spec.b.colStride]!;
        want += p;
        scale += Math.abs(p);
      }
      const g = got[base(spec.c) + i * spec.c.rowStride + j * spec.c.colStride]!;
      worst = Math.max(worst, Math.abs(g - want) / Math.max(scale, 1e-30));
    } else {
      const point = spec.sizes.map((n, d) => (s * (2 * d + 7) * 7919) % n);
      const at = (offset: number, strides: readonly number[]): number => point.reduce((acc, v, d) => acc + v * strides[d]!, offset);
      const want = host[0]![at(spec.inputs[0]!.offset, spec.inputs[0]!.strides)]!;
      worst = Math.max(worst, Math.abs(got[at(spec.output.offset, spec.output.strides)]! - want));
    }
  }
  return worst;
}

/** Loads tfjs's WebGPU backend on its own Dawn instance (held in `keep` until the bench ends). */
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

async function benchTfjs(w: Workload, tf: TF, iters: number, repeats: number): Promise<number> {
  const be = tf.backend() as { commandEncoder?: unknown; endComputePassEncoder(): void; submitQueue(): void; queue: GPUQueue };
  const inputs = w.shapes.map((s) => tf.randomUniform([...s]));
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
      last = w.tfjs(tf, inputs);
    }, drain, iters, repeats);
  } finally {
    if (last !== null) tf.dispose(last);
    for (const t of inputs) tf.dispose(t);
  }
}

/** Times every workload in PyTorch (CUDA when available), or says why not. */
function benchTorch(ws: readonly Workload[], iters: number, repeats: number): number[] | string {
  const script = `
import json, sys, time
import torch
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
dev = 'cuda' if torch.cuda.is_available() else 'cpu'
sync = torch.cuda.synchronize if dev == 'cuda' else (lambda: None)
out = []
for w in json.loads(sys.stdin.read()):
    xs = [torch.rand(*s, device=dev) for s in w['shapes']]
    f = eval('lambda ' + ', '.join('x%d' % i for i in range(len(xs))) + ': ' + w['expr'])
    f(*xs); sync()
    samples = []
    for _ in range(${repeats}):
        t0 = time.perf_counter()
        for _ in range(${iters}):
            f(*xs)
        sync()
        samples.append((time.perf_counter() - t0) * 1000 / ${iters})
    samples.sort()
    out.append(samples[len(samples) // 2])
print(json.dumps({'device': dev, 'ms': out}))
`;
  const probe = spawnSync('python3', ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) return 'PyTorch not importable in python3';
  const run = spawnSync('python3', ['-c', script], {
    input: JSON.stringify(ws.map((w) => ({ shapes: w.shapes, expr: w.torch }))), encoding: 'utf8', maxBuffer: 1 << 20,
  });
  if (run.status !== 0) return `PyTorch run failed: ${run.stderr.trim().split('\n').pop() ?? ''}`;
  const parsed = JSON.parse(run.stdout) as { device: string; ms: number[] };
  console.log(`PyTorch on ${parsed.device}`);
  return parsed.ms;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const sizesArg = args.includes('--sizes') ? args[args.indexOf('--sizes') + 1] : undefined;
  const backend = await WebGPUBackend.create();
  const software = /software|llvmpipe|lavapipe|swiftshader/i.test(backend.adapterInfo);
  const small = sizesArg === 'small' || (sizesArg === undefined && software);
  const keep: unknown[] = [];
  try {
    console.log(`einjit WebGPU benchmark on ${backend.adapterInfo}`);
    if (software) console.log('Software adapter: these figures check that the benchmark runs; they mean nothing about speed.');
    const ws = workloads(small);
    const iters = small ? 3 : 10;
    const repeats = small ? 3 : 5;
    const tf = await loadTfjs(keep);
    if (typeof tf === 'string') console.log(tf);
    const torch = benchTorch(ws, iters, repeats);
    if (typeof torch === 'string') console.log(torch);
    console.log(`timing: median of ${repeats} repeats of ${iters} launches, queue drained around each repeat;`);
    console.log('checked error: worst of 256 sampled outputs against float64 (relative to the sum of |terms| for GEMMs)\n');
    const rows: string[][] = [['workload', 'einjit ms', 'einjit rate', 'checked error', 'tfjs ms', 'einjit speed-up vs tfjs', 'torch ms', 'torch/einjit time']];
    for (const [i, w] of ws.entries()) {
      const { ms, error } = await benchEinjit(w, backend, iters, repeats);
      let tfMs = NaN;
      if (typeof tf !== 'string') {
        try {
          tfMs = await benchTfjs(w, tf, iters, repeats);
        } catch (e) {
          console.log(`tfjs failed on ${w.name}: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
      const torchMs = typeof torch === 'string' ? NaN : torch[i]!;
      const f = (x: number, d = 3): string => (Number.isNaN(x) ? '-' : x.toFixed(d));
      rows.push([w.name, f(ms), rate(w, ms), error.toExponential(1), f(tfMs), Number.isNaN(tfMs) ? '-' : `${(tfMs / ms).toFixed(2)}x`, f(torchMs),
        Number.isNaN(torchMs) ? '-' : `${(torchMs / ms).toFixed(2)}`]);
    }
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    for (const r of rows) console.log(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
  } finally {
    backend.destroy();
    keep.length = 0;
  }
}

await main();
// tfjs keeps its device (and so the process) alive; the results are printed.
process.exit(0);
