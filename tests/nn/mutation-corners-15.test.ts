/**
 * nn corners found by mutation testing (seed 20261223's sample of src/nn):
 * - every function of nn.functional names itself and the argument at fault when an argument is refused (a table
 *   with a row per exported function, so a new function without one fails), and names what it expected when a
 *   tensor has the wrong rank or an index is out of range; every layer's forward names the layer (a table with a
 *   row per exported Module class);
 * - the fans of a weight of more than two dimensions multiply in its receptive field, as PyTorch's do;
 * - initialisers draw a CPU tensor's samples in float64;
 * - (seed 20261224) the einops layers' constructors name themselves when the pattern is not a string; layerNorm's
 *   mismatch names the input's shape; EinMix refuses a bias axis before '...' inside an output group, as einops.
 * - (seed 20261225) EinMix refuses parentheses in the weight shape even around one axis, as einops does; batchNorm's
 *   training-batch refusal names the input's shape; an attnMask whose shape only begins with an accepted one is
 *   refused.
 * - (seed 20261226) unfold's gradient under createGraph is the recorded fold of the windows, differentiable
 *   again (checked against the window counts worked out by hand); conv2d's node is named conv2d; EinMix,
 *   Conv1d and GELU name the argument at fault.
 */
import { describe, expect, it } from 'vitest';
import { grad, nn, tensor, zeros, type Tensor } from '../../src/index.js';
import * as F from '../../src/nn/functional.js';
import { fans, uniform_, normal_ } from '../../src/nn/init.js';
import { thrown } from '../helpers/thrown.js';

const t = (shape: number[]): Tensor => zeros(shape);
const idx = (values: number[]): Tensor => tensor(values, { dtype: 'int32' });
const NOT_A_TENSOR = [1, 2];

/**
 * Per function: a valid call's arguments, and the arguments it checks, each with a bad value and the name its
 * error gives the argument.
 */
const ROWS: Record<string, { readonly args: () => unknown[]; readonly bad: readonly (readonly [number, unknown, string])[] }> = {
  pad: { args: () => [t([2, 3]), [1, 1], 0], bad: [[0, NOT_A_TENSOR, 'input'], [1, 'x', 'pads'], [2, 'x', 'value']] },
  unfold: { args: () => [t([1, 1, 3, 3]), { kernelSize: 2 }], bad: [[0, NOT_A_TENSOR, 'input'], [1, 5, 'options']] },
  fold: { args: () => [t([1, 4, 4]), { outputSize: 3, kernelSize: 2 }], bad: [[0, NOT_A_TENSOR, 'input'], [1, 5, 'options']] },
  linear: { args: () => [t([2, 3]), t([4, 3]), t([4])], bad: [[0, NOT_A_TENSOR, 'input'], [1, NOT_A_TENSOR, 'weight'], [2, NOT_A_TENSOR, 'bias']] },
  conv2d: {
    args: () => [t([1, 2, 3, 3]), t([1, 2, 2, 2]), null, {}],
    bad: [[0, NOT_A_TENSOR, 'input'], [1, NOT_A_TENSOR, 'weight'], [2, NOT_A_TENSOR, 'bias'], [3, 5, 'options']],
  },
  conv1d: {
    args: () => [t([1, 2, 3]), t([1, 2, 2]), null, {}],
    bad: [[0, NOT_A_TENSOR, 'input'], [1, NOT_A_TENSOR, 'weight'], [2, NOT_A_TENSOR, 'bias'], [3, 5, 'options']],
  },
  maxPool2d: { args: () => [t([1, 1, 2, 2]), { kernelSize: 2 }], bad: [[0, NOT_A_TENSOR, 'input'], [1, 5, 'options']] },
  avgPool2d: { args: () => [t([1, 1, 2, 2]), { kernelSize: 2 }], bad: [[0, NOT_A_TENSOR, 'input'], [1, 5, 'options']] },
  adaptiveAvgPool2d: { args: () => [t([1, 1, 2, 2]), 1], bad: [[0, NOT_A_TENSOR, 'input'], [1, 'x', 'outputSize']] },
  relu: { args: () => [t([2])], bad: [[0, NOT_A_TENSOR, 'input']] },
  gelu: { args: () => [t([2])], bad: [[0, NOT_A_TENSOR, 'input']] },
  sigmoid: { args: () => [t([2])], bad: [[0, NOT_A_TENSOR, 'input']] },
  tanh: { args: () => [t([2])], bad: [[0, NOT_A_TENSOR, 'input']] },
  softmax: { args: () => [t([2]), 0], bad: [[0, NOT_A_TENSOR, 'input']] },
  logSoftmax: { args: () => [t([2]), 0], bad: [[0, NOT_A_TENSOR, 'input']] },
  batchNorm: {
    args: () => [t([2, 3]), null, null, null, null, { training: true }],
    bad: [[0, NOT_A_TENSOR, 'input'], [1, NOT_A_TENSOR, 'runningMean'], [2, NOT_A_TENSOR, 'runningVar'], [3, NOT_A_TENSOR, 'weight'], [4, NOT_A_TENSOR, 'bias'], [5, 5, 'options']],
  },
  layerNorm: {
    args: () => [t([2, 3]), [3], null, null, 1e-5],
    bad: [[0, NOT_A_TENSOR, 'input'], [1, 'x', 'normalizedShape'], [2, NOT_A_TENSOR, 'weight'], [3, NOT_A_TENSOR, 'bias'], [4, 'x', 'eps']],
  },
  oneHot: { args: () => [idx([0, 1]), 2, 'int32'], bad: [[0, NOT_A_TENSOR, 'indices'], [1, 'x', 'numClasses'], [2, 'x', 'dtype']] },
  embedding: { args: () => [idx([0, 1]), t([2, 3])], bad: [[0, NOT_A_TENSOR, 'input'], [1, NOT_A_TENSOR, 'weight']] },
  dropout: { args: () => [t([2]), 0.5, false], bad: [[0, NOT_A_TENSOR, 'input'], [1, 'x', 'p'], [2, 'x', 'training']] },
  crossEntropy: { args: () => [t([2, 3]), idx([0, 1]), {}], bad: [[0, NOT_A_TENSOR, 'logits'], [1, NOT_A_TENSOR, 'target']] },
  mseLoss: { args: () => [t([2]), t([2]), 'mean'], bad: [[0, NOT_A_TENSOR, 'input'], [1, NOT_A_TENSOR, 'target'], [2, 'x', 'reduction']] },
  nllLoss: { args: () => [t([2, 3]), idx([0, 1]), 'mean'], bad: [[0, NOT_A_TENSOR, 'logProbs'], [1, NOT_A_TENSOR, 'target'], [2, 'x', 'reduction']] },
};

const call = (name: string, args: unknown[]): unknown => (F as unknown as Record<string, (...a: unknown[]) => unknown>)[name]!(...args);

describe('nn.functional argument errors', () => {
  it('has a row for every exported function', () => {
    const exported = Object.entries(F).filter(([, v]) => typeof v === 'function').map(([k]) => k).sort();
    expect(Object.keys(ROWS).sort()).toEqual(exported);
  });

  it.each(Object.keys(ROWS))('%s names itself and the argument at fault', (name) => {
    const row = ROWS[name]!;
    expect(() => call(name, row.args())).not.toThrow();
    for (const [at, value, arg] of row.bad) {
      const args = row.args();
      args[at] = value;
      const e = thrown(() => call(name, args));
      expect([e.op, e.reason.startsWith(`${arg} must be`)], `${name} argument ${at}: ${e.reason}`).toEqual([name, true]);
    }
  });

  it('says what rank it expected', () => {
    const rank = (fn: () => unknown): string => {
      const e = thrown(fn);
      return `${e.op}: ${e.reason}`;
    };
    expect(rank(() => F.adaptiveAvgPool2d(t([2, 2]), 1))).toBe('adaptiveAvgPool2d: expected a 4-D [N, C, H, W] (or 3-D) input, got a 2-D tensor');
    expect(rank(() => F.unfold(t([2, 2]), { kernelSize: 1 }))).toBe('unfold: expected a 4-D [N, C, H, W] (or 3-D [C, H, W]) input, got a 2-D tensor');
    expect(rank(() => F.embedding(idx([0]), t([2])))).toBe('embedding: expected a 2-D [num_embeddings, embedding_dim] weight, got a 1-D tensor');
  });

  it('names what an index out of range indexes', () => {
    const e = thrown(() => F.oneHot(idx([0, 3]), 3));
    expect([e.op, e.reason]).toEqual(['oneHot', 'index 3 is out of range for 3 classes (the indices span 0..3)']);
    const r = thrown(() => F.embedding(idx([2]), t([2, 3])));
    expect([r.op, r.reason]).toEqual(['embedding', 'index 2 is out of range for 2 rows (the indices span 2..2)']);
    const n = thrown(() => F.nllLoss(t([1, 2]), idx([2])));
    expect([n.op, n.reason]).toEqual(['nllLoss', 'index 2 is out of range for 2 classes (the indices span 2..2)']);
  });
});

/** Per layer: how to make one, and the name its forward gives the first input (a non-tensor refused). */
const LAYERS: Record<string, { readonly make: () => unknown; readonly input: string }> = {
  Sequential: { make: () => new nn.Sequential(new nn.ReLU()), input: 'input' },
  Linear: { make: () => new nn.Linear(2, 3), input: 'input' },
  Embedding: { make: () => new nn.Embedding(4, 2), input: 'input' },
  ReLU: { make: () => new nn.ReLU(), input: 'input' },
  GELU: { make: () => new nn.GELU(), input: 'input' },
  Sigmoid: { make: () => new nn.Sigmoid(), input: 'input' },
  Tanh: { make: () => new nn.Tanh(), input: 'input' },
  Softmax: { make: () => new nn.Softmax(), input: 'input' },
  Identity: { make: () => new nn.Identity(), input: 'input' },
  Flatten: { make: () => new nn.Flatten(), input: 'input' },
  Dropout: { make: () => new nn.Dropout(), input: 'input' },
  BatchNorm1d: { make: () => new nn.BatchNorm1d(2), input: 'input' },
  BatchNorm2d: { make: () => new nn.BatchNorm2d(2), input: 'input' },
  LayerNorm: { make: () => new nn.LayerNorm(2), input: 'input' },
  Conv1d: { make: () => new nn.Conv1d(1, 1, 1), input: 'input' },
  Conv2d: { make: () => new nn.Conv2d(1, 1, 1), input: 'input' },
  MaxPool2d: { make: () => new nn.MaxPool2d(1), input: 'input' },
  AvgPool2d: { make: () => new nn.AvgPool2d(1), input: 'input' },
  AdaptiveAvgPool2d: { make: () => new nn.AdaptiveAvgPool2d(1), input: 'input' },
  CrossEntropyLoss: { make: () => new nn.CrossEntropyLoss(), input: 'input' },
  MSELoss: { make: () => new nn.MSELoss(), input: 'input' },
  MultiheadAttention: { make: () => new nn.MultiheadAttention(2, 1), input: 'query' },
  Rearrange: { make: () => new nn.Rearrange('a -> a'), input: 'input' },
  Reduce: { make: () => new nn.Reduce('a -> ', 'sum'), input: 'input' },
  EinMix: { make: () => new nn.EinMix('a -> b', 'a b', null, { a: 2, b: 3 }), input: 'input' },
};

describe('nn layers', () => {
  it('has a row for every exported layer with a forward of its own (ModuleList has none)', () => {
    const layers = Object.entries(nn)
      .filter(([k, v]) => k !== 'ModuleList' && typeof v === 'function' && (v as { prototype?: unknown }).prototype instanceof nn.Module)
      .map(([k]) => k).sort();
    expect(Object.keys(LAYERS).sort()).toEqual(layers);
  });

  it.each(Object.keys(LAYERS))('%s.forward names the layer when its input is not a tensor', (name) => {
    const { make, input } = LAYERS[name]!;
    const layer = make() as unknown as { forward: (...a: unknown[]) => unknown };
    const e = thrown(() => layer.forward(NOT_A_TENSOR, zeros([2]), zeros([2])));
    expect([e.op, e.reason.startsWith(`${input} must be a Tensor`)], e.reason).toEqual([`${name}.forward`, true]);
  });
});

describe('nn.init', () => {
  it("computes a weight's fans over its receptive field, as PyTorch does", () => {
    // torch.nn.init._calculate_fan_in_and_fan_out: fan_in = size(1) · receptive, fan_out = size(0) · receptive.
    expect(fans(t([4, 3, 5, 7]))).toEqual({ fanIn: 105, fanOut: 140 });
    expect(fans(t([6, 2, 3]))).toEqual({ fanIn: 6, fanOut: 18 });
    expect(fans(t([6, 2]))).toEqual({ fanIn: 2, fanOut: 6 });
  });

  it("draws a CPU tensor's samples in float64", async () => {
    for (const init of [(x: Tensor) => uniform_(x, -1, 1), (x: Tensor) => normal_(x, 0, 1)]) {
      const x = init(zeros([64], { dtype: 'float64' }));
      const v = [...(await x.data())];
      // A float32 sample would be a float32 value; 64 float64 samples are not all.
      expect(v.some((s) => Math.fround(s) !== s)).toBe(true);
    }
  });
});

describe('nn seed 20261224 corners', () => {
  it("the einops layers' constructors name themselves when the pattern is not a string", () => {
    const e = thrown(() => new nn.Rearrange(5 as never));
    expect([e.op, e.reason]).toEqual(['Rearrange', 'the pattern must be a string, got 5']);
  });

  it("layerNorm's trailing-dimension mismatch names the input's shape", () => {
    const e = thrown(() => F.layerNorm(t([2, 3]), [4]));
    expect([e.op, e.reason, e.shapes]).toEqual(['layerNorm', "the input's trailing dimensions [3] do not match normalizedShape [4]", [[2, 3]]]);
  });

  it("EinMix refuses a bias axis before '...' inside an output group, and takes one after it", () => {
    const e = thrown(() => new nn.EinMix('b ... -> b (cout ...)', 'cout', 'cout', { cout: 2 }));
    expect(e.reason).toBe('all bias dimensions should go after the ellipsis in the output');
    expect(() => new nn.EinMix('b ... -> b (... cout)', 'cout', 'cout', { cout: 2 })).not.toThrow();
  });
});

describe('nn seed 20261225 corners', () => {
  it('EinMix refuses parentheses in the weight shape, also around a single axis', () => {
    for (const weight of ['(cin) cout', 'cin (cout)']) {
      const e = thrown(() => new nn.EinMix('b cin -> b cout', weight, null, { cin: 2, cout: 3 }));
      expect(e.reason).toBe(`the weight shape '${weight}' may only list axis names (no parentheses, no '1')`);
    }
    expect(() => new nn.EinMix('b cin -> b cout', 'cin cout', null, { cin: 2, cout: 3 })).not.toThrow();
  });

  it("batchNorm's refusal of one value per channel in training names the input's shape", () => {
    const e = thrown(() => F.batchNorm(t([1, 3]), null, null, null, null, { training: true }));
    expect([e.op, e.reason, e.shapes]).toEqual(['batchNorm', 'expected more than 1 value per channel when training, got input size [1, 3]', [[1, 3]]]);
  });

  it('an attnMask whose shape begins with an accepted shape but is longer is refused', () => {
    const mha = new nn.MultiheadAttention(4, 2, { batchFirst: true });
    const q = zeros([2, 3, 4]);
    const kv = zeros([2, 5, 4]);
    for (const shape of [[3, 5, 1], [4, 3, 5, 1]]) {
      const e = thrown(() => mha.forward(q, kv, kv, { attnMask: zeros(shape, { dtype: 'bool' }) }));
      expect(e.reason).toBe(`attnMask has shape [${shape.join(', ')}], expected [3, 5] or [4, 3, 5]`);
    }
  });
});

describe('nn seed 20261226 corners', () => {
  it("unfold's gradient under createGraph is a recorded fold, whose own gradient counts each pixel's windows", () => {
    // 2×2 windows over a 4×4 image: pixel (i, j) lies in r(i)·r(j) windows, r = [1, 2, 2, 1].
    const xs = Array.from({ length: 16 }, (_, p) => (p % 5) - 1.5);
    const vs = Array.from({ length: 16 }, (_, p) => ((p * 7) % 3) - 0.5);
    const x = tensor(xs, { dtype: 'float64', requiresGrad: true }).reshape([1, 1, 4, 4]);
    const y = F.unfold(x, { kernelSize: 2 });
    const [g] = grad(y.mul(y).sum(), [x], { createGraph: true });
    expect(g!.gradFn?.op).toBe('fold windows');
    const count = (p: number): number => [1, 2, 2, 1][Math.floor(p / 4)]! * [1, 2, 2, 1][p % 4]!;
    expect(g!.reshape([16]).toArray()).toEqual(xs.map((v, p) => 2 * v * count(p)));
    const [gg] = grad(g!.mul(tensor(vs, { dtype: 'float64' }).reshape([1, 1, 4, 4])).sum(), [x]);
    expect(gg!.reshape([16]).toArray()).toEqual(vs.map((v, p) => 2 * v * count(p)));
  });

  it("conv2d's result is recorded as a conv2d node", () => {
    const x = tensor(new Array(9).fill(1), { requiresGrad: true }).reshape([1, 1, 3, 3]);
    expect(F.conv2d(x, zeros([1, 1, 2, 2]), null, {}).gradFn?.op).toBe('conv2d');
  });

  it('EinMix, Conv1d and GELU name the argument at fault', () => {
    const gelu = thrown(() => new nn.GELU('fast' as 'tanh'));
    expect([gelu.op, gelu.reason.startsWith('approximate ')]).toEqual(['GELU', true]);
    expect(thrown(() => new nn.EinMix('a -> b', 5 as never, null, { a: 2, b: 2 })).reason).toMatch(/^weightShape /);
    expect(thrown(() => new nn.Conv1d(1, 1, 3, { groups: 0 })).reason).toMatch(/^groups /);
  });
});

