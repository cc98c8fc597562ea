/**
 * nn benchmark on the CPU: ResNet-34 forward + backward on [8, 3, 64, 64] (ms per step) and eval-mode forward on
 * [1, 3, 224, 224], and the seed-003 conv model's training throughput (tokens/s), batch 16 × 32 tokens, 48 channels.
 *
 *   npx tsx bench/nn.bench.ts [--quick] [--device webgpu] [--jit]
 *
 * `--jit`: the training steps replay their loss and gradients with `jit` (the optimizer stays eager, as in the
 * main job) and the eval forward is jitted; the first (traced) call is a warm-up.
 */
import os from 'node:os';
import { grad, jit, manualSeed, noGrad, randint, randn, setDefaultDevice, shutdown, stack, tensor, type Device, type Tensor } from '../src/index.js';
import * as nn from '../src/nn/index.js';
import * as optim from '../src/optim/index.js';

export interface NnBenchRow {
  readonly workload: string;
  readonly value: number;
  readonly unit: string;
  readonly note: string;
}

function median(v: number[]): number {
  const s = v.slice().sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function sync(t: { data(): Promise<unknown> }): Promise<void> {
  await t.data();
}

/**
 * One training step's loss, with the gradients left in each parameter's `.grad` for the optimizer: eagerly by
 * backward(), or (`useJit`) by a jitted function returning the loss and grad(loss, params).
 */
function lossStep(params: Tensor[], lossOf: (x: Tensor, y: Tensor) => Tensor, useJit: boolean): (x: Tensor, y: Tensor) => Tensor {
  if (!useJit) {
    return (x, y) => {
      const loss = lossOf(x, y);
      for (const p of params) p.grad = null;
      loss.backward();
      return loss;
    };
  }
  const traced = jit((x: Tensor, y: Tensor): [Tensor, Tensor[]] => {
    const loss = lossOf(x, y);
    return [loss, grad(loss, params)];
  });
  return (x, y) => {
    const [loss, grads] = traced(x, y);
    params.forEach((p, i) => { p.grad = grads[i]!; });
    return loss;
  };
}

export async function runNnBench(options: { quick?: boolean; device?: Device; jit?: boolean } = {}): Promise<NnBenchRow[]> {
  const device = options.device ?? 'cpu';
  const useJit = options.jit === true;
  const mode = useJit ? '; jit' : '';
  await setDefaultDevice(device);
  const reps = options.quick ? 2 : 4;
  const rows: NnBenchRow[] = [];
  manualSeed(0);

  // ResNet-34 training step: forward, cross entropy, backward, SGD update.
  {
    const model = nn.models.resnet34({ numClasses: 1000 });
    const opt = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
    const x = randn([8, 3, 64, 64]);
    const y = randint(0, 1000, [8]);
    const step = lossStep(model.parameters(), (xb, yb) => nn.functional.crossEntropy(model.forward(xb), yb), useJit);
    const times: number[] = [];
    for (let i = 0; i <= reps; i++) {
      const t0 = performance.now();
      const loss = step(x, y);
      opt.step();
      await sync(loss);
      if (i > 0) times.push(performance.now() - t0);
    }
    rows.push({ workload: 'ResNet-34 train step [8, 3, 64, 64] (fwd + bwd + SGD)', value: median(times), unit: 'ms/step', note: `median of ${times.length} after 1 warm-up${mode}` });
  }

  // ResNet-34 inference at ImageNet resolution.
  {
    const model = nn.models.resnet34({ numClasses: 1000 }).eval();
    const x = randn([1, 3, 224, 224]);
    const forward = useJit ? jit((xb: Tensor) => model.forward(xb)) : (xb: Tensor): Tensor => model.forward(xb);
    const times: number[] = [];
    for (let i = 0; i <= Math.min(reps, 2); i++) {
      const t0 = performance.now();
      const out = noGrad(() => forward(x));
      await sync(out);
      if (i > 0) times.push(performance.now() - t0);
    }
    rows.push({ workload: 'ResNet-34 eval forward [1, 3, 224, 224] float32', value: median(times), unit: 'ms', note: `median of ${times.length} after 1 warm-up${mode}` });
  }

  // The seed-003 model: batch 16 × 32 tokens, 48 channels, AdamW.
  {
    const tok = new nn.models.SimpleBPETokenizer(5);
    tok.train(nn.models.SEED_TEXTS);
    const ids = nn.models.seedTokens(tok);
    const data = tensor(ids, { dtype: 'int32' });
    const model = new nn.models.TokenConvNet({ vocabSize: tok.vocabSize, nEmbd: 48, causal: true });
    const opt = new optim.AdamW(model.parameters(), { lr: 0.01 });
    const step = lossStep(model.parameters(), (xb, yb) => model.loss(model.forward(xb), yb), useJit);
    const [b, t] = [16, 32];
    const steps = options.quick ? 20 : 60;
    let t0 = 0;
    for (let i = 0; i < steps + 5; i++) {
      if (i === 5) t0 = performance.now();
      const starts = randint(0, ids.length - t - 1, [b], { device: 'cpu' }).dataSync();
      const x = stack(Array.from(starts, (o) => data.slice(0, o, o + t)), 0);
      const y = stack(Array.from(starts, (o) => data.slice(0, o + 1, o + t + 1)), 0);
      const loss = step(x, y);
      opt.step();
      await sync(loss);
    }
    const seconds = (performance.now() - t0) / 1000;
    rows.push({ workload: 'seed-003 conv model training (batch 16 × 32 tokens)', value: (steps * b * t) / seconds, unit: 'tokens/s', note: `${steps} steps after 5 warm-up${mode}` });
  }
  return rows;
}

export function formatRows(rows: readonly NnBenchRow[]): string {
  const lines = ['| workload | result | note |', '|---|---:|---|'];
  for (const r of rows) lines.push(`| ${r.workload} | ${r.value.toFixed(r.unit === 'tokens/s' ? 0 : 1)} ${r.unit} | ${r.note} |`);
  return lines.join('\n');
}

const isMain = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain) {
  const quick = process.argv.includes('--quick');
  const i = process.argv.indexOf('--device');
  const device = (i >= 0 ? process.argv[i + 1] : 'cpu') as Device;
  const cpus = os.cpus();
  console.log(`# einjit nn benchmark — ${new Date().toISOString()}`);
  console.log(`device ${device}; CPU: ${cpus[0]?.model.trim() ?? 'unknown'}, ${os.availableParallelism()} logical cores; Node ${process.version}; ` +
    `load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
  console.log(formatRows(await runNnBench({ quick, device, jit: process.argv.includes('--jit') })));
  await shutdown();
}
