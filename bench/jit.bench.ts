/**
 * jit against eager execution, per step on the CPU (with --device webgpu, on the WebGPU adapter): kernel
 * launches, bytes written to intermediates (and bytes allocated for them once a replay shares storage by
 * liveness), and median milliseconds, for an MLP training step (forward, cross entropy, grad, SGD written with
 * tensor ops) and a transformer attention block (einsum q·k, softmax, einsum with v, output projection, residual,
 * layer norm, GELU), and the seed-003 training step of the main job (examples/train.ts) two ways: as `npm start`
 * runs it (loss, gradients and a capturable AdamW in one trace) and with an SGD update inside the trace; then
 * ResNet-34 in eval mode on one [1, 3, 224, 224] image under noGrad, and its training step on [8, 3, 64, 64]
 * (cross entropy, grad, SGD inside the trace). Launches of a seed step are counted by `profile()`, of the others
 * by the jitted function's stats; intermediate bytes are those of the jitted function. The ResNet rows are slow on
 * a small CPU, so they time 3 steps (2 with --quick) after 2 warm-up (the trace, then the first replay, which
 * compiles the fused kernels: on WebGPU a pipeline each); --no-resnet leaves them out. A benchmark,
 * not a timed test.
 *
 *   npx tsx bench/jit.bench.ts [--quick] [--explain] [--no-resnet] [--device webgpu]     (--explain: print each jitted schedule)
 */
import os from 'node:os';
import {
  deviceInfo, einsum, grad, jit, manualSeed, nn, noGrad, profile, randint, randn, setDefaultDevice, shutdown, stack, tensor, tidy, type Device, type Tensor,
} from '../src/index.js';
import * as optim from '../src/optim/index.js';
import { median } from './harness.js';

interface Row {
  readonly workload: string;
  readonly launches: readonly [number, number];
  /** Bytes written to intermediates: eager, jit. */
  readonly written: readonly [number, number];
  /** Bytes a jit replay allocates for intermediates, storages shared by liveness. */
  readonly allocated: number;
  readonly ms: readonly [number, number];
  /** Largest difference between the eager and the jitted results after the timed steps, relative to their size. */
  readonly diff: number;
  readonly explain: string;
}

interface Timed { readonly ms: number; readonly last: Tensor }

/**
 * Median milliseconds of `reps` calls of each step after `warmup` untimed ones, the two steps alternating so that
 * a change of load on the shared machine falls on both; each call reads its result back.
 */
async function time(steps: readonly [() => Tensor, () => Tensor], warmup: number, reps: number): Promise<Timed[]> {
  const rows: { ms: number; last: Tensor }[][] = [];
  for (let i = 0; i < warmup + reps; i++) {
    const row: { ms: number; last: Tensor }[] = [];
    for (const step of steps) {
      const t0 = performance.now();
      const last = step();
      await last.data();
      row.push({ ms: i < warmup ? Number.NaN : performance.now() - t0, last });
    }
    rows.push(row);
  }
  return transpose(rows).map((runs) => ({ ms: median(runs.filter((r) => !Number.isNaN(r.ms)).map((r) => r.ms)), last: runs[runs.length - 1]!.last }));
}

function transpose<T>(rows: readonly (readonly T[])[]): T[][] {
  return rows[0]!.map((_, j) => rows.map((r) => r[j]!));
}

async function relDiff(a: Tensor, b: Tensor): Promise<number> {
  const [x, y] = [await a.data(), await b.data()];
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(Number(x[i]) - Number(y[i])) / (1 + Math.abs(Number(y[i]))));
  return worst;
}

/** Leaves with the same values for the eager and the jitted run (each updates its own in place). */
function paramsFrom(values: readonly Tensor[]): Tensor[] {
  return values.map((v) => v.clone().requiresGrad_());
}

async function mlp(reps: number): Promise<Row> {
  const [batch, dIn, hidden, classes, lr] = [64, 256, 256, 10, 0.05];
  const init = noGrad(() => [
    randn([dIn, hidden]).mul(1 / Math.sqrt(dIn)), randn([hidden]).mul(0.1),
    randn([hidden, hidden]).mul(1 / Math.sqrt(hidden)), randn([hidden]).mul(0.1),
    randn([hidden, classes]).mul(1 / Math.sqrt(hidden)), randn([classes]).mul(0.1),
  ]);
  const x = randn([batch, dIn]);
  const labels = Array.from({ length: batch }, (_, i) => (i * 7) % classes);
  // One-hot targets as floats: a class-index cross entropy checks its indices on the host, which jit refuses.
  const y = noGrad(() => nn.functional.oneHot(tensor(labels, { dtype: 'int32' }), classes, 'float32'));
  const stepOf = (params: Tensor[]) => (xb: Tensor, yb: Tensor): Tensor => {
    const [w1, b1, w2, b2, w3, b3] = params as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];
    const h1 = xb.matmul(w1).add(b1).gelu();
    const h2 = h1.matmul(w2).add(b2).gelu();
    const loss = h2.matmul(w3).add(b3).logSoftmax(1).mul(yb).sum(1).mean().neg();
    const grads = grad(loss, params);
    noGrad(() => params.forEach((p, i) => p.sub_(grads[i]!.mul(lr))));
    return loss.detach();
  };
  const eagerStep = stepOf(paramsFrom(init));
  const jitted = jit(stepOf(paramsFrom(init)));
  const [eager, fused] = await time([() => tidy(() => eagerStep(x, y)), () => tidy(() => jitted(x, y) as Tensor)], 3, reps) as [Timed, Timed];
  const s = jitted.stats()!;
  return {
    workload: `MLP training step (${batch}×${dIn} → ${hidden} → ${hidden} → ${classes}, GELU, cross entropy, grad, SGD)`,
    launches: [s.eagerLaunches, s.launches], written: [s.eagerIntermediateBytes, s.intermediateBytesWithoutReuse],
    allocated: s.intermediateBytes, ms: [eager.ms, fused.ms], diff: await relDiff(fused.last, eager.last), explain: jitted.explain(),
  };
}

async function attention(reps: number): Promise<Row> {
  const [b, t, d, h] = [4, 64, 128, 4];
  const e = d / h;
  const w = noGrad(() => ({
    q: randn([h, d, e]).mul(1 / Math.sqrt(d)), k: randn([h, d, e]).mul(1 / Math.sqrt(d)), v: randn([h, d, e]).mul(1 / Math.sqrt(d)),
    o: randn([h, e, d]).mul(1 / Math.sqrt(d)), gamma: randn([d]).mul(0.1).add(1), beta: randn([d]).mul(0.1),
  }));
  const block = (x: Tensor): Tensor => {
    const q = einsum('btd,hde->bhte', x, w.q);
    const k = einsum('btd,hde->bhte', x, w.k);
    const v = einsum('btd,hde->bhte', x, w.v);
    const p = einsum('bhqe,bhke->bhqk', q, k).mul(1 / Math.sqrt(e)).softmax(-1);
    const proj = einsum('bhqe,hed->bqd', einsum('bhqk,bhke->bhqe', p, v), w.o);
    return nn.functional.layerNorm(x.add(proj), [d], w.gamma, w.beta).gelu();
  };
  const x = randn([b, t, d]);
  const jitted = jit(block);
  const [eager, fused] = await time([() => noGrad(() => tidy(() => block(x))), () => noGrad(() => tidy(() => jitted(x) as Tensor))], 3, reps) as [Timed, Timed];
  const s = jitted.stats()!;
  return {
    workload: `attention block (batch ${b}, ${t} tokens, width ${d}, ${h} heads; q·k, softmax, ·v, projection, residual, layer norm, GELU)`,
    launches: [s.eagerLaunches, s.launches], written: [s.eagerIntermediateBytes, s.intermediateBytesWithoutReuse],
    allocated: s.intermediateBytes, ms: [eager.ms, fused.ms], diff: await relDiff(fused.last, eager.last), explain: jitted.explain(),
  };
}

/**
 * The seed-003 step on a batch of 8 windows of 32 tokens: TokenConvNet (embedding, two convolutions with batch
 * norm, a strided residual convolution, a linear head) and class-target cross entropy. `adamw`: the main job's
 * step (eager: AdamW op by op after backward(); jit: loss, gradients and a capturable AdamW in one trace);
 * otherwise an SGD update in the trace.
 */
async function seed(reps: number, adamw: boolean): Promise<Row> {
  const tok = new nn.models.SimpleBPETokenizer(5);
  tok.train(nn.models.SEED_TEXTS);
  const ids = nn.models.seedTokens(tok);
  const data = tensor(ids, { dtype: 'int32' });
  const starts = Array.from({ length: 8 }, (_, i) => (i * 61) % (ids.length - 33));
  const x = stack(starts.map((o) => data.slice(0, o, o + 32)), 0);
  const y = stack(starts.map((o) => data.slice(0, o + 1, o + 33)), 0);
  const build = (capturable: boolean): { model: nn.models.TokenConvNet; opt: optim.AdamW; params: Tensor[] } => {
    manualSeed(1337);
    const model = new nn.models.TokenConvNet({ vocabSize: tok.vocabSize, nEmbd: 48, causal: true });
    model.train();
    return { model, opt: new optim.AdamW(model.parameters(), { lr: 0.01, weightDecay: 0.01, capturable }), params: model.parameters() };
  };
  const e = build(false);
  const eagerStep = (): Tensor => {
    const loss = e.model.loss(e.model.forward(x), y);
    if (adamw) {
      e.opt.zeroGrad();
      loss.backward();
      e.opt.step();
    } else {
      const grads = grad(loss, e.params);
      noGrad(() => e.params.forEach((p, i) => p.sub_(grads[i]!.mul(0.05))));
    }
    return loss.detach();
  };
  const j = build(adamw);
  const traced = jit((xb: Tensor, yb: Tensor): Tensor => {
    const loss = j.model.loss(j.model.forward(xb), yb);
    const grads = grad(loss, j.params);
    if (adamw) {
      j.params.forEach((p, i) => { p.grad = grads[i]!; });
      j.opt.step();
    } else {
      noGrad(() => j.params.forEach((p, i) => p.sub_(grads[i]!.mul(0.05))));
    }
    return loss;
  });
  const jitStep = (): Tensor => traced(x, y);
  // Steps outside tidy(): the optimizer's state must outlive them, as in the main job.
  const [eager, fused] = await time([eagerStep, jitStep], 3, reps) as [Timed, Timed];
  const launches = [(await profile(eagerStep)).launches, (await profile(jitStep)).launches] as const;
  const s = traced.stats()!;
  return {
    workload: `seed-003 training step (batch 8×32, TokenConvNet width 48, cross entropy, ${adamw ? 'AdamW, in the trace as npm start runs it (capturable)' : 'SGD in the trace'})`,
    launches, written: [s.eagerIntermediateBytes, s.intermediateBytesWithoutReuse],
    allocated: s.intermediateBytes, ms: [eager.ms, fused.ms], diff: await relDiff(fused.last, eager.last), explain: traced.explain(),
  };
}

/**
 * ResNet-34 (torchvision's layout, 1000 classes) in eval mode at ImageNet resolution, one image, under noGrad:
 * 7×7 stem, max pool, 16 basic blocks (3×3 convolutions, batch norm with running statistics, residual), average
 * pool, linear head. Eager and jit share the one model (an eval forward changes nothing). The steps are slow on a
 * small CPU, so `reps` is small (see `resnetReps`) after one warm-up (the jit's trace call).
 */
async function resnetForward(reps: number): Promise<Row> {
  manualSeed(34);
  const model = nn.models.resnet34({ numClasses: 1000 }).eval();
  const x = randn([1, 3, 224, 224]);
  const forward = (xb: Tensor): Tensor => model.forward(xb);
  const jitted = jit(forward);
  const [eager, fused] = await time([() => noGrad(() => tidy(() => forward(x))), () => noGrad(() => tidy(() => jitted(x) as Tensor))], 2, reps) as [Timed, Timed];
  const s = jitted.stats()!;
  return {
    workload: `ResNet-34 eval forward ([1, 3, 224, 224], 1000 classes, noGrad; median of ${reps} after 2 warm-up)`,
    launches: [s.eagerLaunches, s.launches], written: [s.eagerIntermediateBytes, s.intermediateBytesWithoutReuse],
    allocated: s.intermediateBytes, ms: [eager.ms, fused.ms], diff: await relDiff(fused.last, eager.last), explain: jitted.explain(),
  };
}

/**
 * The ResNet-34 training step on [8, 3, 64, 64]: forward in train mode (batch statistics, running statistics
 * updated in place), class-target cross entropy, grad over all 110 parameters, and SGD (lr 0.01, no momentum)
 * written with tensor ops: in the trace for jit, op by op for eager. The two models are built from the same seed
 * and take the same steps, so the diff covers the last loss and every parameter after the timed steps. The steps
 * amplify rounding (batch statistics over as few as 32 values, one batch repeated): after two steps float32 eager
 * is already ~1e-2 from a float64 run, so a jit diff near 1e-4 is float32 noise, not a fusion error.
 */
async function resnetTrain(reps: number): Promise<Row> {
  const lr = 0.01;
  const build = (): { model: nn.models.ResNet; params: Tensor[] } => {
    manualSeed(34);
    const model = nn.models.resnet34({ numClasses: 1000 });
    model.train();
    return { model, params: model.parameters() };
  };
  const x = randn([8, 3, 64, 64]);
  const y = randint(0, 1000, [8]);
  const stepOf = ({ model, params }: { model: nn.models.ResNet; params: Tensor[] }) => (xb: Tensor, yb: Tensor): Tensor => {
    const loss = nn.functional.crossEntropy(model.forward(xb), yb);
    const grads = grad(loss, params);
    noGrad(() => params.forEach((p, i) => p.sub_(grads[i]!.mul(lr))));
    return loss.detach();
  };
  const e = build();
  const j = build();
  const eagerStep = stepOf(e);
  const jitted = jit(stepOf(j));
  const [eager, fused] = await time([() => tidy(() => eagerStep(x, y)), () => tidy(() => jitted(x, y) as Tensor)], 2, reps) as [Timed, Timed];
  const s = jitted.stats()!;
  let diff = await relDiff(fused.last, eager.last);
  for (let i = 0; i < e.params.length; i++) diff = Math.max(diff, await relDiff(j.params[i]!, e.params[i]!));
  return {
    workload: `ResNet-34 training step ([8, 3, 64, 64], 1000 classes, cross entropy, grad, SGD in the trace; median of ${reps} after 2 warm-up; diff over loss and parameters)`,
    launches: [s.eagerLaunches, s.launches], written: [s.eagerIntermediateBytes, s.intermediateBytesWithoutReuse],
    allocated: s.intermediateBytes, ms: [eager.ms, fused.ms], diff, explain: jitted.explain(),
  };
}

const ratio = (a: number, b: number): string => (b === 0 ? '∞' : `${(a / b).toFixed(2)}×`);
const kib = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;

function table(rows: readonly Row[]): string {
  const lines = [
    '| workload | launches eager → jit | intermediate bytes written eager → jit | allocated by a replay (reuse) | ms/step eager → jit | eager/jit time | max rel. diff |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    lines.push(`| ${r.workload} | ${r.launches[0]} → ${r.launches[1]} (${ratio(r.launches[0], r.launches[1])}) | ` +
      `${kib(r.written[0])} → ${kib(r.written[1])} (${ratio(r.written[0], r.written[1])}) | ${kib(r.allocated)} (${ratio(r.written[0], r.allocated)} below eager) | ` +
      `${r.ms[0].toFixed(2)} → ${r.ms[1].toFixed(2)} | ${ratio(r.ms[0], r.ms[1])} | ${r.diff.toExponential(1)} |`);
  }
  return lines.join('\n');
}

const isMain = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain) {
  const reps = process.argv.includes('--quick') ? 5 : 21;
  // ResNet-34 steps take seconds on a small CPU: few timed steps after one warm-up.
  const resnetReps = process.argv.includes('--quick') ? 2 : 3;
  const at = process.argv.indexOf('--device');
  const device = at >= 0 ? process.argv[at + 1] as Device : 'cpu';
  await setDefaultDevice(device);
  manualSeed(0);
  const cpus = os.cpus();
  const adapter = device === 'cpu' ? null : (await deviceInfo(device)).adapter;
  console.log(`# einjit jit benchmark (${device === 'cpu' ? 'CPU' : `${device}: ${adapter?.description ?? adapter?.architecture ?? 'unknown adapter'}`}) — ${new Date().toISOString()}`);
  console.log(`CPU: ${cpus[0]?.model.trim() ?? 'unknown'}, ${os.availableParallelism()} logical cores; Node ${process.version}; ` +
    `load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}; median of ${reps} steps after 3 warm-up\n`);
  const rows = [await mlp(reps), await attention(reps), await seed(reps, true), await seed(reps, false)];
  if (!process.argv.includes('--no-resnet')) rows.push(await resnetForward(resnetReps), await resnetTrain(resnetReps));
  console.log(table(rows));
  if (process.argv.includes('--explain')) for (const r of rows) console.log(`\n${r.workload}:\n${r.explain}`);
  console.log(`\nload average at the end: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  await shutdown();
}
