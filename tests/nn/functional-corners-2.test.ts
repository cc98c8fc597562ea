/**
 * More corners of nn.functional and the layers: every argument check (its reason, op, shapes and hint), each
 * clause of a compound check on its own, the boundaries the checks allow, and the branches the oracle cases do
 * not take (adaptive pooling with uneven bins, batchNorm's running statistics and evaluation, dropout's p = 0
 * and p = 1, whole-valued float indices). Expected values are a plain float64 loop or derived by hand.
 */
import { describe, expect, it } from 'vitest';
import { tensor, zeros, type Tensor } from '../../src/index.js';
import { nn } from './nn.js';
import { thrown } from '../helpers/thrown.js';

const F = nn.functional;
const values = (t: Tensor): number[] => Array.from(t.dataSync() as ArrayLike<number>);
const f64 = (data: number[], shape: number[]): Tensor => tensor(data, { shape, dtype: 'float64' });
const iota = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

function expectClose(actual: number[], expected: number[], tol = 1e-12): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((v, i) => {
    if (!(Math.abs(v - expected[i]!) <= tol * (1 + Math.abs(expected[i]!)))) throw new Error(`element ${i}: ${v}, expected ${expected[i]}`);
  });
}

describe('window arguments', () => {
  const x = f64(iota(16), [1, 1, 4, 4]);

  it('a size that is not a non-negative integer or a pair of them is refused, naming it', () => {
    for (const bad of [-1, 1.5, [1, 2, 3], [1, -1], [2, Number.NaN]] as unknown as nn.functional.Pair[]) {
      const err = thrown(() => F.unfold(x, { kernelSize: bad }));
      expect(err.op).toBe('unfold');
      expect(err.reason).toMatch(/^kernelSize must be a non-negative integer or a pair of them, got /);
    }
    expect(thrown(() => F.unfold(x, { kernelSize: 2, stride: [1, 0.5] })).reason).toMatch(/^stride must be/);
    expect(thrown(() => F.unfold(x, { kernelSize: 2, padding: -1 })).reason).toMatch(/^padding must be/);
    expect(thrown(() => F.unfold(x, { kernelSize: 2, dilation: 'a' as unknown as number })).reason).toMatch(/^dilation must be/);
  });

  it('a zero kernel, dilation or stride is refused, each of the six on its own', () => {
    const cases = [{ kernelSize: [0, 1] }, { kernelSize: [1, 0] }, { kernelSize: 1, dilation: [0, 1] }, { kernelSize: 1, dilation: [1, 0] },
      { kernelSize: 1, stride: [0, 1] }, { kernelSize: 1, stride: [1, 0] }] as nn.functional.UnfoldOptions[];
    for (const options of cases) {
      const err = thrown(() => F.unfold(x, options));
      expect(err.reason).toBe('kernelSize, dilation and stride must be positive');
      expect(err.op).toBe('unfold');
    }
  });

  it('a kernel larger than the padded input is refused with both sizes; one that just fits runs', () => {
    const err = thrown(() => F.unfold(x, { kernelSize: [5, 3], dilation: [1, 2] }));
    expect(err.reason).toBe('the kernel (5×3, dilation 1×2) does not fit the padded input 4×4');
    expect(err.op).toBe('unfold');
    expect(err.shapes).toEqual([[1, 1, 4, 4]]);
    expect(err.hint).toBe('use a smaller kernel or dilation, or more padding');
    expect(thrown(() => F.unfold(x, { kernelSize: [2, 5] })).reason).toMatch(/does not fit the padded input 4×4$/);
    // With padding 1 the input is 6×6: a 6×6 kernel gives one block, the sum of all 16 values plus 20 zeros.
    const one = F.unfold(x, { kernelSize: 6, padding: 1 });
    expect(one.shape).toEqual([1, 36, 1]);
    expect(values(one).reduce((s, v) => s + v, 0)).toBe(136);
  });

  it('fold refuses columns that do not match the output size, naming the expected shape', () => {
    const cols = f64(new Array(20).fill(1), [1, 5, 4]);
    const err = thrown(() => F.fold(cols, { outputSize: 3, kernelSize: 2 }));
    expect(err.reason).toBe('expected [N, C·2·2, 4] for output size 3×3, got [1, 5, 4]');
    expect(err.op).toBe('fold');
    expect(err.shapes).toEqual([[1, 5, 4]]);
    // The channel count fits (8 = 2·2·2) but the block count does not (3, not 4).
    expect(thrown(() => F.fold(f64(new Array(24).fill(1), [1, 8, 3]), { outputSize: 3, kernelSize: 2 })).reason)
      .toBe('expected [N, C·2·2, 4] for output size 3×3, got [1, 8, 3]');
    const rank = thrown(() => F.fold(f64([1], [1, 1, 1, 1]), { outputSize: 1, kernelSize: 1 }));
    expect(rank.reason).toBe('expected a 3-D [N, C·kh·kw, L] (or 2-D) input, got a 4-D tensor');
    expect(rank.shapes).toEqual([[1, 1, 1, 1]]);
  });
});

describe('pad', () => {
  const x = f64([1, 2, 3, 4], [2, 2]);

  it('refuses an odd or too long padding list, and negative pads', () => {
    const odd = thrown(() => F.pad(x, [1]));
    expect(odd.reason).toBe('padding length must be even and at most twice the rank, got 1 for a 2-D input');
    expect(odd.shapes).toEqual([[2, 2]]);
    expect(thrown(() => F.pad(x, [1, 1, 1, 1, 1, 1])).reason).toBe('padding length must be even and at most twice the rank, got 6 for a 2-D input');
    const neg = thrown(() => F.pad(x, [0, -1]));
    expect(neg.reason).toBe('pads must be non-negative integers, got [0,-1]');
    expect(neg.op).toBe('pad');
  });

  it('pads the last two dimensions in (left, right, top, bottom) order; all-zero pads return the input', () => {
    expect(F.pad(x, [0, 0, 0, 0])).toBe(x);
    const y = F.pad(x, [1, 0, 0, 1], 9);
    expect(y.shape).toEqual([3, 3]);
    expect(values(y)).toEqual([9, 1, 2, 9, 3, 4, 9, 9, 9]);
  });
});

describe('linear and conv shapes', () => {
  it('linear names the feature counts that differ', () => {
    const err = thrown(() => F.linear(f64(iota(6), [2, 3]), f64(iota(8), [2, 4])));
    expect(err.reason).toBe('linear: the input has 3 features but the weight expects 4');
    expect(err.shapes).toEqual([[2, 3], [2, 4]]);
    expect(err.hint).toBe('the last input dimension must equal in_features');
    const rank = thrown(() => F.linear(f64(iota(3), [3]), f64(iota(3), [3])));
    expect(rank.reason).toBe('expected a 2-D [out_features, in_features] weight, got a 1-D tensor');
    expect(rank.op).toBe('linear');
  });

  it('conv2d and conv1d name the rank they expect', () => {
    expect(thrown(() => F.conv2d(f64(iota(4), [1, 2, 2]), f64([1], [1, 1, 1, 1]))).reason).toBe('expected a 4-D [N, C, H, W] input, got a 3-D tensor');
    expect(thrown(() => F.conv2d(f64(iota(4), [1, 1, 2, 2]), f64([1], [1, 1, 1]))).reason).toBe('expected a 4-D [out, in/groups, kh, kw] weight, got a 3-D tensor');
    expect(thrown(() => F.conv1d(f64(iota(4), [1, 4]), f64([1], [1, 1, 1]))).reason).toBe('expected a 3-D [N, C, L] input, got a 2-D tensor');
    const w = thrown(() => F.conv1d(f64(iota(4), [1, 1, 4]), f64([1], [1, 1])));
    expect(w.reason).toBe('expected a 3-D [out, in/groups, k] weight, got a 2-D tensor');
    expect(w.op).toBe('conv1d');
  });

  it('conv1d passes stride, padding, dilation and groups through', () => {
    // Two channels, groups 2: each output channel convolves its own channel with a [1, 2] kernel, dilation 2,
    // stride 2, padding 1. Padded channel 0: 0 1 2 3 4 5 0; taps at t and t+2 for t = 0, 2, 4.
    const x = f64([1, 2, 3, 4, 5, 10, 20, 30, 40, 50], [1, 2, 5]);
    const w = f64([1, 10, 2, 3], [2, 1, 2]);
    const y = F.conv1d(x, w, null, { stride: 2, padding: 1, dilation: 2, groups: 2 });
    const expected: number[] = [];
    for (let c = 0; c < 2; c++) {
      const row = [0, ...[1, 2, 3, 4, 5].map((v) => v * (c === 0 ? 1 : 10)), 0];
      for (let t = 0; t + 2 < row.length; t += 2) expected.push(row[t]! * w.dataSync()[2 * c]! + row[t + 2]! * w.dataSync()[2 * c + 1]!);
    }
    expect(y.shape).toEqual([1, 2, 3]);
    expect(values(y)).toEqual(expected);
  });
});

describe('pooling', () => {
  const x = f64(iota(16), [1, 1, 4, 4]);

  it('refuses padding over half the kernel, on either axis; half exactly is allowed', () => {
    const err = thrown(() => F.maxPool2d(x, { kernelSize: 2, padding: [2, 0] }));
    expect(err.reason).toBe('pad should be at most half of the effective kernel size, got padding 2×0 for kernel 2×2');
    expect(err.op).toBe('maxPool2d');
    expect(thrown(() => F.avgPool2d(x, { kernelSize: [4, 2], padding: [0, 2] })).op).toBe('avgPool2d');
    // Kernel 2, padding 1, stride 2 on 4×4: a 3×3 output whose corners see one real value and three -∞ pads.
    const y = values(F.maxPool2d(x, { kernelSize: 2, padding: 1 }));
    expect(y).toEqual([1, 3, 4, 9, 11, 12, 13, 15, 16]);
    expect(thrown(() => F.maxPool2d(f64(iota(4), [2, 2]), { kernelSize: 1 })).reason).toBe('expected a 4-D [N, C, H, W] input, got a 2-D tensor');
  });

  it('avgPool2d strides by the kernel unless told otherwise', () => {
    expect(values(F.avgPool2d(x, { kernelSize: 2 }))).toEqual([3.5, 5.5, 11.5, 13.5]);
    expect(values(F.avgPool2d(x, { kernelSize: 2, stride: 1 })).length).toBe(9);
  });

  it('adaptiveAvgPool2d with uneven bins takes [floor(i·H/oh), ceil((i+1)·H/oh))', () => {
    const [h, w, oh, ow] = [5, 3, 2, 2];
    const data = iota(h * w).map((v) => v * v);
    const expected: number[] = [];
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        const [h0, h1] = [Math.floor((i * h) / oh), Math.ceil(((i + 1) * h) / oh)];
        const [w0, w1] = [Math.floor((j * w) / ow), Math.ceil(((j + 1) * w) / ow)];
        let s = 0;
        for (let r = h0; r < h1; r++) for (let c = w0; c < w1; c++) s += data[r * w + c]!;
        expected.push(s / ((h1 - h0) * (w1 - w0)));
      }
    }
    const y = F.adaptiveAvgPool2d(f64(data, [1, 1, h, w]), [oh, ow]);
    expect(y.shape).toEqual([1, 1, 2, 2]);
    expectClose(values(y), expected);
    // An unbatched [C, H, W] input, and a size that divides evenly (one bin of each 2×... block).
    const u = F.adaptiveAvgPool2d(f64(data, [1, h, w]), [oh, ow]);
    expect(u.shape).toEqual([1, 2, 2]);
    expectClose(values(u), expected);
    expect(values(F.adaptiveAvgPool2d(x, 2))).toEqual([3.5, 5.5, 11.5, 13.5]);
  });

  it('adaptiveAvgPool2d refuses an empty output size and a 2-D input', () => {
    const err = thrown(() => F.adaptiveAvgPool2d(x, [0, 2]));
    expect(err.reason).toBe('outputSize must be positive');
    expect(err.op).toBe('adaptiveAvgPool2d');
    expect(thrown(() => F.adaptiveAvgPool2d(x, [2, 0])).reason).toBe('outputSize must be positive');
    expect(thrown(() => F.adaptiveAvgPool2d(f64(iota(4), [2, 2]), 1)).reason).toBe('expected a 4-D [N, C, H, W] (or 3-D) input, got a 2-D tensor');
  });
});

describe('batchNorm', () => {
  // Two channels over a batch of 3: channel 0 holds 1, 2, 6; channel 1 holds 4, 4, 7.
  const data = [1, 4, 2, 4, 6, 7];
  const channels = [[1, 2, 6], [4, 4, 7]];

  it('refuses fewer than 2 dimensions, and one value per channel in training (not in evaluation)', () => {
    const err = thrown(() => F.batchNorm(f64([1, 2], [2]), null, null, null, null, { training: true }));
    expect(err.reason).toBe('batchNorm expects at least 2 dimensions, got 1');
    expect(err.shapes).toEqual([[2]]);
    const one = thrown(() => F.batchNorm(f64([1, 2], [1, 2]), null, null, null, null, { training: true }));
    expect(one.reason).toBe('expected more than 1 value per channel when training, got input size [1, 2]');
    expect(one.hint).toBe('use a larger batch, or eval() mode');
    expect(one.op).toBe('batchNorm');
    const rm = f64([0, 0], [2]);
    const rv = f64([1, 1], [2]);
    expect(values(F.batchNorm(f64([1, 2], [1, 2]), rm, rv, null, null, { training: false }))).toEqual([1 / Math.sqrt(1 + 1e-5), 2 / Math.sqrt(1 + 1e-5)]);
  });

  it('training normalises by the batch and moves the running statistics by momentum, variance unbiased', () => {
    const rm = f64([10, -10], [2]);
    const rv = f64([2, 3], [2]);
    const weight = f64([2, 0.5], [2]);
    const bias = f64([1, -1], [2]);
    const y = F.batchNorm(f64(data, [3, 2]), rm, rv, weight, bias, { training: true, momentum: 0.25, eps: 0.01 });
    const expectedY: number[] = new Array(6);
    const expectedMean: number[] = [];
    const expectedVar: number[] = [];
    channels.forEach((v, c) => {
      const mean = v.reduce((s, t) => s + t, 0) / 3;
      const biased = v.reduce((s, t) => s + (t - mean) ** 2, 0) / 3;
      v.forEach((t, n) => { expectedY[n * 2 + c] = ((t - mean) / Math.sqrt(biased + 0.01)) * [2, 0.5][c]! + [1, -1][c]!; });
      expectedMean.push([10, -10][c]! * 0.75 + mean * 0.25);
      expectedVar.push([2, 3][c]! * 0.75 + ((biased * 3) / 2) * 0.25);
    });
    expectClose(values(y), expectedY);
    expectClose(values(rm), expectedMean);
    expectClose(values(rv), expectedVar);
  });

  it('training without running buffers uses the batch; evaluation uses the running statistics, scale and shift', () => {
    const y = values(F.batchNorm(f64(data, [3, 2]), null, null, null, null, { training: false }));
    const expected: number[] = new Array(6);
    channels.forEach((v, c) => {
      const mean = v.reduce((s, t) => s + t, 0) / 3;
      const biased = v.reduce((s, t) => s + (t - mean) ** 2, 0) / 3;
      v.forEach((t, n) => { expected[n * 2 + c] = (t - mean) / Math.sqrt(biased + 1e-5); });
    });
    expectClose(y, expected);
    const rm = f64([1, 2], [2]);
    const rv = f64([4, 0.25], [2]);
    const ev = values(F.batchNorm(f64(data, [3, 2]), rm, rv, f64([3, 5], [2]), f64([0.5, 7], [2]), { training: false, eps: 0 }));
    const want = data.map((t, i) => ((t - [1, 2][i % 2]!) / Math.sqrt([4, 0.25][i % 2]!)) * [3, 5][i % 2]! + [0.5, 7][i % 2]!);
    expectClose(ev, want);
    expect(values(rm)).toEqual([1, 2]);
  });
});

describe('indices', () => {
  it('whole-valued float indices are accepted; fractional and bool ones are refused with a hint', () => {
    const weight = f64([1, 2, 3, 4, 5, 6], [3, 2]);
    expect(values(F.embedding(tensor([2, 0]), weight))).toEqual([5, 6, 1, 2]);
    const frac = thrown(() => F.embedding(tensor([0.5]), weight));
    expect(frac.reason).toBe('expected integer indices, got float32 values that are not whole numbers');
    expect(frac.op).toBe('embedding');
    expect(frac.hint).toBe("create them with { dtype: 'int32' }");
    expect(thrown(() => F.oneHot(tensor([true]), 2)).reason).toBe('expected integer indices, got bool values that are not whole numbers');
    expect(values(F.oneHot(tensor([1, 0]), 3))).toEqual([0, 1, 0, 1, 0, 0]);
    expect(F.oneHot(tensor([], { dtype: 'float32' }), 3).shape).toEqual([0, 3]);
    expect(thrown(() => F.embedding(tensor([0]), f64([1, 2, 3], [3]))).reason).toBe('expected a 2-D [num_embeddings, embedding_dim] weight, got a 1-D tensor');
  });
});

describe('dropout', () => {
  const x = f64([1, -2, 3], [3]);

  it('refuses p outside [0, 1]; p = 0, p = 1 and evaluation need no random numbers', () => {
    expect(thrown(() => F.dropout(x, Number.NaN)).reason).toBe('p must be a number, got NaN');
    for (const p of [-0.1, 1.5]) {
      const err = thrown(() => F.dropout(x, p));
      expect(err.reason).toBe(`dropout probability has to be between 0 and 1, but got ${p}`);
      expect(err.op).toBe('dropout');
    }
    expect(F.dropout(x, 0)).toBe(x);
    expect(F.dropout(x, 0.5, false)).toBe(x);
    expect(values(F.dropout(x, 1)).every((v) => v === 0)).toBe(true);
    expect(thrown(() => new nn.Dropout(2)).op).toBe('Dropout');
  });
});

describe('losses', () => {
  it('crossEntropy refuses 0-D logits and targets of the wrong shape, with the hint for [B, T, C]', () => {
    expect(thrown(() => F.crossEntropy(f64([1], []), tensor(0, { dtype: 'int32' }))).reason).toBe('crossEntropy expects logits with a class dimension');
    const logits = f64(iota(6), [2, 3]);
    const probs = thrown(() => F.crossEntropy(logits, f64(iota(8), [2, 4])));
    expect(probs.reason).toBe("probability targets must have the logits' shape");
    expect(probs.shapes).toEqual([[2, 3], [2, 4]]);
    const idx = thrown(() => F.crossEntropy(logits, tensor([0, 1, 2], { dtype: 'int32' })));
    expect(idx.reason).toBe('expected targets of shape [2] for logits [2, 3], got [3]');
    expect(idx.hint).toMatch(/^class-index targets drop the class dimension/);
  });

  it('crossEntropy against probabilities over [N, C, d] logits, smoothed, summed', () => {
    // N = 1, C = 2, d = 2: the class dimension is 1 in both logits and targets.
    const lg = [[0.5, -1], [2, 0]]; // lg[c][d]
    const tp = [[0.25, 1], [0.75, 0]];
    const eps = 0.2;
    let want = 0;
    for (let d = 0; d < 2; d++) {
      const lse = Math.log(Math.exp(lg[0]![d]!) + Math.exp(lg[1]![d]!));
      for (let c = 0; c < 2; c++) want -= (lg[c]![d]! - lse) * (tp[c]![d]! * (1 - eps) + eps / 2);
    }
    const loss = F.crossEntropy(f64([0.5, -1, 2, 0], [1, 2, 2]), f64([0.25, 1, 0.75, 0], [1, 2, 2]), { labelSmoothing: eps, reduction: 'sum' });
    expectClose(values(loss), [want]);
  });

  it("crossEntropy's mean is over the targets not ignored", () => {
    const logits = [[1, 2, 3], [0, 0, 0], [3, 1, -1]];
    const target = [2, -100, 0];
    let sum = 0;
    for (const r of [0, 2]) {
      const lse = Math.log(logits[r]!.reduce((s, v) => s + Math.exp(v), 0));
      sum -= logits[r]![target[r]!]! - lse;
    }
    const loss = F.crossEntropy(f64(logits.flat(), [3, 3]), tensor(target, { dtype: 'int32' }));
    expectClose(values(loss), [sum / 2]);
    const none = values(F.crossEntropy(f64(logits.flat(), [3, 3]), tensor(target, { dtype: 'int32' }), { reduction: 'none' }));
    expect(none[1]).toBe(0);
  });

  it('nllLoss refuses 0-D log-probabilities and picks -logp[target] otherwise; mseLoss reduces three ways', () => {
    const err = thrown(() => F.nllLoss(f64([1], []), tensor(0, { dtype: 'int32' })));
    expect(err.reason).toBe('nllLoss expects log-probabilities with a class dimension, got a 0-D tensor');
    expect(err.op).toBe('nllLoss');
    const lp = f64([-1, -2, -3, -4, -5, -6], [2, 3]);
    expect(values(F.nllLoss(lp, tensor([2, 0], { dtype: 'int32' }), 'none'))).toEqual([3, 4]);
    expect(values(F.nllLoss(lp, tensor([2, 0], { dtype: 'int32' }), 'sum'))).toEqual([7]);
    expect(values(F.nllLoss(lp, tensor([2, 0], { dtype: 'int32' })))).toEqual([3.5]);
    const a = f64([1, 2, 4], [3]);
    const b = f64([0, 4, 4], [3]);
    expect(values(F.mseLoss(a, b))).toEqual([5 / 3]);
    expect(values(F.mseLoss(a, b, 'sum'))).toEqual([5]);
    expect(values(F.mseLoss(a, b, 'none'))).toEqual([1, 4, 0]);
  });
});

describe('layers', () => {
  it("every layer's forward names the layer when handed something that is not a tensor", () => {
    const layers: InstanceType<typeof nn.Module>[] = [
      new nn.Linear(2, 2), new nn.Embedding(2, 2), new nn.ReLU(), new nn.GELU(), new nn.Sigmoid(), new nn.Tanh(),
      new nn.Softmax(), new nn.Identity(), new nn.Flatten(), new nn.Dropout(), new nn.BatchNorm1d(2), new nn.BatchNorm2d(2),
      new nn.LayerNorm(2), new nn.Conv2d(1, 1, 1), new nn.Conv1d(1, 1, 1), new nn.MaxPool2d(2), new nn.AvgPool2d(2),
      new nn.AdaptiveAvgPool2d(1),
    ];
    for (const layer of layers) {
      const forward = (layer as unknown as { forward(x: unknown): Tensor }).forward.bind(layer);
      const err = thrown(() => forward(5));
      expect(err.op, layer.constructor.name).toBe(`${layer.constructor.name}.forward`);
    }
  });

  it('sizes must be positive integers, each named', () => {
    const cases: [() => unknown, string, RegExp][] = [
      [() => new nn.Linear(0, 2), 'Linear', /^inFeatures must be an integer in \[1, /],
      [() => new nn.Linear(2, 1.5), 'Linear', /^outFeatures must be/],
      [() => new nn.Embedding(0, 2), 'Embedding', /^numEmbeddings must be/],
      [() => new nn.Embedding(2, -1), 'Embedding', /^embeddingDim must be/],
      [() => new nn.BatchNorm2d(0), 'BatchNorm2d', /^numFeatures must be/],
      [() => new nn.Conv2d(0, 1, 1), 'Conv2d', /^inChannels must be/],
      [() => new nn.Conv2d(1, 0, 1), 'Conv2d', /^outChannels must be/],
      [() => new nn.Conv2d(2, 2, 1, { groups: 0 }), 'Conv2d', /^groups must be/],
      [() => new nn.Conv2d(2, 3, 1, { groups: 2 }), 'Conv2d', /^inChannels \(2\) and outChannels \(3\) must be divisible by groups \(2\)$/],
      [() => new nn.Conv2d(3, 2, 1, { groups: 2 }), 'Conv2d', /^inChannels \(3\) and outChannels \(2\) must be divisible by groups \(2\)$/],
      [() => new nn.Conv1d(0, 1, 1), 'Conv1d', /^inChannels must be/],
      [() => new nn.Conv1d(2, 3, 1, { groups: 2 }), 'Conv1d', /^inChannels \(2\) and outChannels \(3\) must be divisible by groups \(2\)$/],
      [() => new nn.Conv1d(3, 2, 1, { groups: 2 }), 'Conv1d', /must be divisible by groups/],
      [() => new nn.Conv2d(1, 1, [1, 2, 3] as unknown as nn.functional.Pair), 'Conv2d', /^kernelSize must be an integer or a pair of integers, got /],
    ];
    for (const [make, op, reason] of cases) {
      const err = thrown(make);
      expect(err.op).toBe(op);
      expect(err.reason).toMatch(reason);
    }
  });

  it("BatchNorm refuses an input of the wrong rank or channel count, naming the layer's ranks", () => {
    const bn1 = new nn.BatchNorm1d(2);
    const rank = thrown(() => bn1.forward(zeros([2, 2, 2, 2])));
    expect(rank.reason).toBe('expected a 2-D or 3-D input with 2 channels in dim 1');
    expect(rank.op).toBe('BatchNorm1d');
    expect(rank.shapes).toEqual([[2, 2, 2, 2]]);
    expect(thrown(() => bn1.forward(zeros([4, 3]))).reason).toBe('expected a 2-D or 3-D input with 2 channels in dim 1');
    expect(thrown(() => new nn.BatchNorm2d(2).forward(zeros([2, 2, 2]))).reason).toBe('expected a 4-D input with 2 channels in dim 1');
  });
});
