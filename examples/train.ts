/**
 * The main job's training run: the seed-003 convolutional next-token model (BPE tokenizer, token embedding, a
 * residual conv block with batch norm and ReLU, a 1×1 stride-2 residual convolution, a linear head, loss on the
 * stride-aligned targets) trained from a seeded random initialisation on the seed's two paragraphs. A progress
 * bar shows step, loss and tokens/s; then the model samples text and the loss curve is drawn in the terminal.
 *
 *   npx tsx examples/train.ts [--device webgpu] [--steps 300] [--no-jit]
 *
 * By default (TrainOptions.jit) the forward and backward passes are one jitted function, traced at the first
 * step and replayed after; AdamW's update stays eager. `--no-jit` runs every op eagerly.
 *
 * The model is built with `causal: true`: the seed's centred kernels let each position see the token it is
 * trained to predict, which trains well but cannot generate; left-only padding keeps the same layers and shapes
 * and makes sampling meaningful.
 */
import cliProgress from 'cli-progress';
import { grad, jit, manualSeed, noGrad, rand, randint, setDefaultDevice, stack, tensor, type Device, type Tensor } from '../src/index.js';
import * as nn from '../src/nn/index.js';
import * as optim from '../src/optim/index.js';

export interface TrainOptions {
  readonly device?: Device;
  readonly steps?: number;
  readonly batchSize?: number;
  /** Tokens per training window. */
  readonly context?: number;
  /** Embedding width = convolution channels. */
  readonly nEmbd?: number;
  readonly lr?: number;
  readonly seed?: number;
  /** Tokens to sample after training. */
  readonly sampleTokens?: number;
  readonly temperature?: number;
  /**
   * Replay the loss and its gradients with `jit` (one fused schedule per step, traced at the first) instead of
   * running them op by op. AdamW's update and the cosine schedule stay eager: the optimizer replaces its moment
   * tensors and the learning rate changes every step, which a replay (which does not run JavaScript) cannot see.
   * Default: true (faster per step on the CPU and on lavapipe: bench/jit.bench.ts).
   */
  readonly jit?: boolean;
  /** Draw the progress bar (default: true). */
  readonly progress?: boolean;
  /** Where text goes (default: console.log). */
  readonly log?: (line: string) => void;
}

export interface TrainResult {
  readonly vocabSize: number;
  readonly parameters: number;
  /** Training loss per step. */
  readonly losses: number[];
  /** Mean loss over every stride-aligned target of the corpus, in eval mode, after training. */
  readonly finalLoss: number;
  readonly tokensPerSecond: number;
  readonly seconds: number;
  readonly sample: string;
}

/** A small line plot of `values` as text, with the y range on the left. */
export function plotLines(values: readonly number[], width = 64, height = 12): string[] {
  if (values.length === 0) return [];
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const span = hi - lo || 1;
  const cols = Math.min(width, values.length);
  const grid = Array.from({ length: height }, () => new Array<string>(cols).fill(' '));
  for (let c = 0; c < cols; c++) {
    // Mean of the values falling into this column.
    const a = Math.floor((c * values.length) / cols);
    const b = Math.max(a + 1, Math.floor(((c + 1) * values.length) / cols));
    const chunk = values.slice(a, b);
    const v = chunk.reduce((s, x) => s + x, 0) / chunk.length;
    const r = Math.round(((hi - v) / span) * (height - 1));
    grid[r]![c] = '•';
  }
  return grid.map((row, r) => {
    const label = r === 0 ? hi.toFixed(2) : r === height - 1 ? lo.toFixed(2) : '';
    return `${label.padStart(6)} ┤${row.join('')}`;
  }).concat(`${''.padStart(6)} └${'─'.repeat(cols)} ${values.length} steps`);
}

async function scalar(t: Tensor): Promise<number> {
  return (await t.data())[0]!;
}

export async function train(options: TrainOptions = {}): Promise<TrainResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const steps = options.steps ?? 300;
  const batchSize = options.batchSize ?? 8;
  const context = options.context ?? 32;
  const nEmbd = options.nEmbd ?? 48;
  const device = options.device ?? 'cpu';
  await setDefaultDevice(device);
  manualSeed(options.seed ?? 1337);

  const tok = new nn.models.SimpleBPETokenizer(5);
  tok.train(nn.models.SEED_TEXTS);
  const ids = nn.models.seedTokens(tok);
  const data = tensor(ids, { dtype: 'int32' });
  const vocabSize = tok.vocabSize;
  const model = new nn.models.TokenConvNet({ vocabSize, nEmbd, causal: true });
  // Jitted, the whole step (loss, gradients, AdamW) is one trace: a capturable AdamW keeps its step count and
  // learning rate on the device, so each replay reads the current ones (the scheduler writes them).
  const opt = new optim.AdamW(model.parameters(), { lr: options.lr ?? 0.01, weightDecay: 0.01, capturable: options.jit !== false });
  const sched = new optim.CosineAnnealingLR(opt, { tMax: steps, etaMin: (options.lr ?? 0.01) / 20 });
  log(`einjit training the seed-003 conv model on ${device}${options.jit === false ? ' (eager)' : ' (jit)'}: ${ids.length} tokens, vocabulary ${vocabSize} ` +
    `(ln ${vocabSize} = ${Math.log(vocabSize).toFixed(3)}), ${model.numParameters()} parameters, ` +
    `batch ${batchSize}×${context}, ${steps} steps`);

  const bar = options.progress === false ? null : new cliProgress.SingleBar({
    format: ' train |{bar}| step {value}/{total} | loss {loss} | {tps} tok/s',
    barCompleteChar: '█', barIncompleteChar: '░', hideCursor: true, noTTYOutput: true, notTTYSchedule: 2000,
  });
  bar?.start(steps, 0, { loss: '-----', tps: '0' });

  const params = model.parameters();
  const trainStep = (x: Tensor, y: Tensor): Tensor => {
    const loss = model.loss(model.forward(x), y);
    const grads = grad(loss, params);
    params.forEach((p, i) => { p.grad = grads[i]!; });
    opt.step();
    return loss;
  };
  const jitted = options.jit === false ? null : jit(trainStep);

  const losses: number[] = [];
  const started = performance.now();
  const offsets = ids.length - context - 1;
  model.train();
  for (let step = 0; step < steps; step++) {
    // A batch of random windows: x = tokens[o, o+T), y = tokens[o+1, o+T+1).
    const starts = randint(0, offsets, [batchSize], { device: 'cpu' }).dataSync();
    const xs: Tensor[] = [];
    const ys: Tensor[] = [];
    for (const o of starts) {
      xs.push(data.slice(0, o, o + context));
      ys.push(data.slice(0, o + 1, o + context + 1));
    }
    const x = stack(xs, 0);
    const y = stack(ys, 0);
    let loss: Tensor;
    if (jitted === null) {
      loss = model.loss(model.forward(x), y);
      opt.zeroGrad();
      loss.backward();
      opt.step();
    } else {
      loss = jitted(x, y);
    }
    sched.step();
    const value = await scalar(loss);
    losses.push(value);
    const seconds = (performance.now() - started) / 1000;
    bar?.update(step + 1, { loss: value.toFixed(3), tps: Math.round(((step + 1) * batchSize * context) / seconds).toString() });
  }
  bar?.stop();
  const seconds = (performance.now() - started) / 1000;
  const tokensPerSecond = (steps * batchSize * context) / seconds;

  // Loss over the whole corpus in eval mode (running statistics).
  model.eval();
  const usable = Math.floor((ids.length - 1) / context) * context;
  const xAll = data.slice(0, 0, usable).reshape([usable / context, context]);
  const yAll = data.slice(0, 1, usable + 1).reshape([usable / context, context]);
  const finalLoss = await scalar(noGrad(() => model.loss(model.forward(xAll), yAll)));

  const sample = await generate(model, tok, options.sampleTokens ?? 160, options.temperature ?? 0.7, context);
  log('');
  log(`trained ${steps} steps in ${seconds.toFixed(1)} s (${Math.round(tokensPerSecond)} tokens/s); ` +
    `loss ${losses[0]!.toFixed(3)} → ${mean(losses.slice(-20)).toFixed(3)} (last 20 steps), ` +
    `${finalLoss.toFixed(3)} over the corpus in eval mode; ln(vocab) = ${Math.log(vocabSize).toFixed(3)}`);
  log('');
  log('sampled text:');
  log(`  ${sample.replace(/\n/g, ' ')}`);
  log('');
  log('training loss:');
  for (const line of plotLines(losses)) log(line);
  return { vocabSize, parameters: model.numParameters(), losses, finalLoss, tokensPerSecond, seconds, sample };
}

function mean(v: readonly number[]): number {
  return v.reduce((s, x) => s + x, 0) / v.length;
}

/**
 * Samples tokens one at a time. The causal model's output j predicts the token after input 2j, so the window fed
 * is the last 2j+1 tokens (odd length) and the last output is the prediction for the next token.
 */
async function generate(model: nn.models.TokenConvNet, tok: nn.models.SimpleBPETokenizer, count: number,
  temperature: number, context: number): Promise<string> {
  const out: number[] = [tok.eotId!];
  const window = context % 2 === 0 ? context - 1 : context;
  for (let i = 0; i < count; i++) {
    const ctx = out.slice(-window);
    const idx = tensor([ctx], { dtype: 'int32' });
    const logits = noGrad(() => model.forward(idx));
    const last = await logits.index(0, -1).div(temperature).data();
    let maxv = -Infinity;
    for (const v of last) maxv = Math.max(maxv, v);
    const w = Array.from(last, (v) => Math.exp(v - maxv));
    const total = w.reduce((s, x) => s + x, 0);
    let u = (await rand([1]).data())[0]! * total;
    let next = w.length - 1;
    for (let k = 0; k < w.length; k++) {
      u -= w[k]!;
      if (u <= 0) {
        next = k;
        break;
      }
    }
    out.push(next);
  }
  return out.slice(1).map((t) => (t === tok.eotId ? ' ¶ ' : tok.idToToken.get(t) ?? '')).join('');
}

const isMain = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain) {
  const arg = (name: string): string | undefined => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const device = (arg('device') ?? 'cpu') as Device;
  const steps = arg('steps');
  const { shutdown } = await import('../src/index.js');
  await train({ device, jit: !process.argv.includes('--no-jit'), ...(steps !== undefined ? { steps: Number(steps) } : {}) });
  await shutdown();
}
