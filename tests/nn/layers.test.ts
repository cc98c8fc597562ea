import { describe, expect, it } from 'vitest';
import { tensor, manualSeed, randn, zeros, noGrad, EinjitError, type Tensor } from '../../src/index.js';
import { nn } from './nn.js';
import { gradcheck, leaf } from './gradcheck.js';

const F = nn.functional;

describe('layer shapes', () => {
  it('maps inputs to the documented shapes', () => {
    manualSeed(0);
    const x4 = randn([2, 3, 8, 8]);
    expect(new nn.Linear(6, 36, { bias: false }).forward(randn([2, 4, 6])).shape).toEqual([2, 4, 36]);
    expect(new nn.Embedding(36, 6).forward(tensor([[1, 2, 3], [4, 5, 35]], { dtype: 'int32' })).shape).toEqual([2, 3, 6]);
    expect(new nn.Conv2d(3, 8, 3, { stride: 2, padding: 1 }).forward(x4).shape).toEqual([2, 8, 4, 4]);
    expect(new nn.Conv2d(3, 6, [1, 3], { padding: [0, 1], dilation: 2, groups: 3, bias: false }).forward(x4).shape).toEqual([2, 6, 8, 6]);
    expect(new nn.Conv1d(3, 5, 3, { padding: 1 }).forward(randn([2, 3, 10])).shape).toEqual([2, 5, 10]);
    expect(new nn.MaxPool2d(2).forward(x4).shape).toEqual([2, 3, 4, 4]);
    expect(new nn.MaxPool2d(3, { stride: 2, padding: 1 }).forward(x4).shape).toEqual([2, 3, 4, 4]);
    expect(new nn.AvgPool2d(2).forward(x4).shape).toEqual([2, 3, 4, 4]);
    expect(new nn.AdaptiveAvgPool2d(1).forward(x4).shape).toEqual([2, 3, 1, 1]);
    expect(new nn.AdaptiveAvgPool2d([3, 5]).forward(x4).shape).toEqual([2, 3, 3, 5]);
    expect(new nn.Flatten().forward(x4).shape).toEqual([2, 192]);
    expect(new nn.BatchNorm2d(3).forward(x4).shape).toEqual([2, 3, 8, 8]);
    expect(new nn.BatchNorm1d(4).forward(randn([5, 4])).shape).toEqual([5, 4]);
    expect(new nn.BatchNorm1d(4).forward(randn([5, 4, 3])).shape).toEqual([5, 4, 3]);
    expect(new nn.LayerNorm(8).forward(x4).shape).toEqual([2, 3, 8, 8]);
    for (const act of [new nn.ReLU(), new nn.GELU(), new nn.Sigmoid(), new nn.Tanh(), new nn.Dropout(0.3)]) {
      expect(act.forward(x4).shape).toEqual([2, 3, 8, 8]);
    }
    const seq = new nn.Sequential(new nn.Conv2d(3, 4, 3, { padding: 1 }), new nn.ReLU(), new nn.Flatten(), new nn.Linear(256, 10));
    expect(seq.forward(x4).shape).toEqual([2, 10]);
    expect(new nn.models.MLP([192, 32, 10]).forward(x4.flatten(1)).shape).toEqual([2, 10]);
  });

  it('activations compute their formulas', () => {
    const x = tensor([-2, -0.5, 0, 1.5], { dtype: 'float64' });
    const close = (t: Tensor, f: (v: number) => number): void => {
      (t.toArray() as number[]).forEach((v, i) => expect(v).toBeCloseTo(f([-2, -0.5, 0, 1.5][i]!), 10));
    };
    close(new nn.ReLU().forward(x), (v) => Math.max(0, v));
    close(new nn.Sigmoid().forward(x), (v) => 1 / (1 + Math.exp(-v)));
    close(new nn.Tanh().forward(x), Math.tanh);
    // GELU(x) = x·Φ(x); Φ(1.5) = 0.9331927987311419, Φ(-0.5) = 0.3085375387259869.
    close(new nn.GELU().forward(x), (v) => v * ({ '-2': 0.022750131948179195, '-0.5': 0.3085375387259869, '0': 0.5, '1.5': 0.9331927987311419 } as Record<string, number>)[String(v)]!);
  });
});

describe('gradients by finite differences (float64)', () => {
  it('linear, embedding-free activations, softmax and layer norm', () => {
    gradcheck((x, w, b) => F.linear(x!, w!, b), [leaf([3, 4], 1), leaf([5, 4], 2), leaf([5], 3)]);
    gradcheck((x) => F.gelu(x!).add(F.sigmoid(x!)).add(F.tanh(x!)), [leaf([2, 5], 4)]);
    gradcheck((x) => F.softmax(x!, -1), [leaf([3, 4], 5)]);
    gradcheck((x, w, b) => F.layerNorm(x!, [4], w!, b!), [leaf([3, 4], 6), leaf([4], 7), leaf([4], 8)]);
  });

  it('batch norm in training mode (batch statistics)', () => {
    gradcheck((x, w, b) => F.batchNorm(x!, null, null, w!, b!, { training: true }), [leaf([3, 2, 2, 2], 9), leaf([2], 10), leaf([2], 11)]);
  });

  it('embedding (to the weight) and cross entropy with ignore index and label smoothing', () => {
    const idx = tensor([[0, 2], [3, 2]], { dtype: 'int32' });
    gradcheck((w) => F.embedding(idx, w!), [leaf([4, 3], 12)]);
    const target = tensor([1, -100, 3, 0], { dtype: 'int32' });
    gradcheck((l) => F.crossEntropy(l!, target, { labelSmoothing: 0.1 }), [leaf([4, 5], 13)]);
    gradcheck((l, t) => F.mseLoss(l!, t!), [leaf([3, 2], 14), leaf([3, 2], 15)]);
  });
});

describe('losses', () => {
  it('cross entropy matches PyTorch values', () => {
    const logits = tensor([[1, 2, 3], [1, -1, 0.5], [0, 0, 0]], { dtype: 'float64' });
    const target = tensor([2, 0, 1], { dtype: 'int32' });
    // torch.nn.functional.cross_entropy(logits, target) = 0.6271442963733566 (from the log-softmax values below).
    const lse = (r: number[]): number => Math.log(r.reduce((s, v) => s + Math.exp(v), 0));
    const rows = [[1, 2, 3], [1, -1, 0.5], [0, 0, 0]];
    const nll = [lse(rows[0]!) - 3, lse(rows[1]!) - 1, lse(rows[2]!) - 0];
    expect(F.crossEntropy(logits, target).item()).toBeCloseTo((nll[0]! + nll[1]! + nll[2]!) / 3, 12);
    // ignore_index drops the row from both sum and count.
    const ignored = tensor([2, -100, 1], { dtype: 'int32' });
    expect(F.crossEntropy(logits, ignored).item()).toBeCloseTo((nll[0]! + nll[2]!) / 2, 12);
    expect(new nn.CrossEntropyLoss({ ignoreIndex: 1 }).forward(logits, target).item()).toBeCloseTo((nll[0]! + nll[1]!) / 2, 12);
    // label smoothing ε: (1-ε)·nll + ε·mean over classes of -log p.
    const eps = 0.2;
    const smooth = rows.map((r, i) => (1 - eps) * nll[i]! + eps * r.reduce((s, v) => s + (lse(r) - v), 0) / 3);
    expect(F.crossEntropy(logits, target, { labelSmoothing: eps }).item()).toBeCloseTo((smooth[0]! + smooth[1]! + smooth[2]!) / 3, 12);
    expect(F.crossEntropy(logits, target, { reduction: 'none' }).shape).toEqual([3]);
    // Class dimension 1 with extra dimensions: [N, C, d] against [N, d].
    const l3 = logits.unsqueeze(2);
    expect(F.crossEntropy(l3, target.unsqueeze(1)).item()).toBeCloseTo((nll[0]! + nll[1]! + nll[2]!) / 3, 12);
    expect(new nn.MSELoss().forward(tensor([1, 2]), tensor([0, 4])).item()).toBeCloseTo(2.5, 6);
  });

  it('refuses wrong target shapes and out-of-range classes with EinjitError', () => {
    const logits = zeros([2, 3]);
    expect(() => F.crossEntropy(logits, tensor([0, 1, 2], { dtype: 'int32' }))).toThrow(EinjitError);
    expect(() => F.crossEntropy(logits, tensor([0, 3], { dtype: 'int32' }))).toThrow(/out of range/);
    expect(() => new nn.Embedding(4, 2).forward(tensor([4], { dtype: 'int32' }))).toThrow(EinjitError);
  });
});

describe('train and eval behaviour', () => {
  it('batch norm uses batch statistics in training and updates running averages with the unbiased variance', () => {
    const bn = new nn.BatchNorm2d(2);
    const x = tensor([[[[1, 2]], [[0, 4]]], [[[3, 6]], [[2, 2]]]], { dtype: 'float32' }); // [2, 2, 1, 2]
    const y = bn.forward(x);
    // channel 0: values 1, 2, 3, 6 → mean 3, biased var 3.5, unbiased 14/3
    expect(y.index(0, 0, 0, 0).item()).toBeCloseTo((1 - 3) / Math.sqrt(3.5 + 1e-5), 5);
    expect(bn.runningMean.toArray()).toEqual([expect.closeTo(0.3, 6), expect.closeTo(0.2, 6)]);
    expect((bn.runningVar.toArray() as number[])[0]).toBeCloseTo(0.9 + 0.1 * (14 / 3), 5);
    expect(bn.numBatchesTracked.item()).toBe(1);
    bn.eval();
    const before = bn.runningMean.toArray();
    const z = bn.forward(x);
    expect(bn.runningMean.toArray()).toEqual(before);
    expect(bn.numBatchesTracked.item()).toBe(1);
    const rm = bn.runningMean.toArray() as number[];
    const rv = bn.runningVar.toArray() as number[];
    expect(z.index(1, 1, 0, 1).item()).toBeCloseTo((2 - rm[1]!) / Math.sqrt(rv[1]! + 1e-5), 5);
  });

  it('dropout zeroes and rescales in training and is the identity in eval', () => {
    manualSeed(3);
    const d = new nn.Dropout(0.5);
    const x = zeros([1000]).add(1);
    const v = d.forward(x).dataSync();
    const kept = Array.from(v).filter((e) => e !== 0);
    expect(kept.every((e) => e === 2)).toBe(true);
    expect(kept.length).toBeGreaterThan(400);
    expect(kept.length).toBeLessThan(600);
    d.eval();
    expect(d.forward(x)).toBe(x);
    expect(d.training).toBe(false);
  });

  it('train()/eval() reach every descendant', () => {
    const m = new nn.Sequential(new nn.Linear(2, 2), new nn.Sequential(new nn.BatchNorm1d(2), new nn.Dropout()));
    m.eval();
    expect([...m.modules()].every((c) => !c.training)).toBe(true);
    m.train();
    expect([...m.modules()].every((c) => c.training)).toBe(true);
  });
});

describe('Module bookkeeping', () => {
  class Block extends nn.Module {
    conv = new nn.Conv2d(2, 3, 3, { bias: false });
    bn = new nn.BatchNorm2d(3);
    scale = new nn.Parameter(zeros([3]));
    constructor() {
      super();
      this.registerBuffer('runningMax', zeros([3]));
    }
  }

  it('registers parameters, buffers and children by assignment with PyTorch key names', () => {
    const m = new nn.Sequential(new Block(), new nn.Linear(3, 2));
    expect([...m.namedParameters()].map(([k]) => k)).toEqual(['0.scale', '0.conv.weight', '0.bn.weight', '0.bn.bias', '1.weight', '1.bias']);
    expect(Object.keys(m.stateDict())).toEqual([
      '0.scale', '0.running_max', '0.conv.weight', '0.bn.weight', '0.bn.bias', '0.bn.running_mean', '0.bn.running_var',
      '0.bn.num_batches_tracked', '1.weight', '1.bias',
    ]);
    expect(m.parameters().every((p) => p.requiresGrad && p instanceof nn.Parameter)).toBe(true);
    expect(m.buffers().length).toBe(4);
    expect([...m.children()].length).toBe(2);
    expect(m.numParameters()).toBe(3 + 54 + 3 + 3 + 6 + 2);
    expect(nn.snakeCase('numBatchesTracked')).toBe('num_batches_tracked');
  });

  it('round-trips a state dict, buffers included', () => {
    manualSeed(1);
    const a = new nn.Sequential(new Block(), new nn.Linear(3, 2));
    noGrad(() => (a.at(0) as Block).bn.runningMean.copy_(tensor([1, 2, 3])));
    const b = new nn.Sequential(new Block(), new nn.Linear(3, 2));
    b.loadStateDict(a.stateDict());
    const sa = a.stateDict();
    const sb = b.stateDict();
    for (const k of Object.keys(sa)) expect(sb[k]!.toArray()).toEqual(sa[k]!.toArray());
    // Loading copies: changing the source afterwards leaves the target alone.
    noGrad(() => (a.at(1) as nn.Linear).weight.fill_(7));
    expect((b.at(1) as nn.Linear).weight.toArray()).not.toEqual((a.at(1) as nn.Linear).weight.toArray());
  });

  it('strict loading lists missing, unexpected and mis-shaped keys in one EinjitError', () => {
    const m = new nn.Linear(3, 2);
    const state = { weight: zeros([2, 4]), extra: zeros([1]) };
    let err: unknown;
    try {
      m.loadStateDict(state);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EinjitError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/missing keys.*"bias"/);
    expect(msg).toMatch(/unexpected keys.*"extra"/);
    expect(msg).toMatch(/weight: checkpoint shape \[2, 4\], model shape \[2, 3\]/);
    const r = m.loadStateDict({ weight: zeros([2, 3]) }, false);
    expect(r.missingKeys).toEqual(['bias']);
  });

  it('zeroGrad clears gradients; cast and to keep parameters as leaves', async () => {
    const m = new nn.Linear(3, 2);
    m.forward(randn([4, 3])).sum().backward();
    expect(m.weight.grad).not.toBeNull();
    m.zeroGrad();
    expect(m.weight.grad).toBeNull();
    m.double();
    expect(m.weight.dtype).toBe('float64');
    expect(m.weight).toBeInstanceOf(nn.Parameter);
    expect(m.weight.requiresGrad && m.weight.isLeaf).toBe(true);
    await m.to('cpu');
    expect(m.parameters().length).toBe(2);
    expect(String(new nn.Sequential(new nn.Linear(2, 3)))).toContain('Linear(in_features=2, out_features=3, bias=True)');
  });
});

describe('nn.init', () => {
  it('writes in place under noGrad with the documented statistics', () => {
    manualSeed(5);
    const w = new nn.Parameter(zeros([256, 128]));
    nn.init.constant_(w, 0.25);
    expect(w.mean().item()).toBe(0.25);
    nn.init.ones_(w);
    expect(w.min().item()).toBe(1);
    nn.init.zeros_(w);
    expect(w.abs().max().item()).toBe(0);
    nn.init.uniform_(w, -2, 2);
    expect(w.min().item()).toBeGreaterThanOrEqual(-2);
    expect(w.max().item()).toBeLessThan(2);
    nn.init.normal_(w, 1, 0.5);
    expect(w.mean().item()).toBeCloseTo(1, 1);
    expect(w.std().item()).toBeCloseTo(0.5, 1);
    nn.init.kaiming_normal_(w, { mode: 'fan_out', nonlinearity: 'relu' });
    expect(w.std().item()).toBeCloseTo(Math.sqrt(2 / 256), 2);
    nn.init.xavier_uniform_(w);
    const bound = Math.sqrt(6 / (256 + 128));
    expect(w.abs().max().item()).toBeLessThanOrEqual(bound);
    expect(w.std().item()).toBeCloseTo(bound / Math.sqrt(3), 2);
    expect(w.isLeaf && w.requiresGrad).toBe(true);
  });
});

describe('indices given as whole-number floats', () => {
  it('embedding and cross entropy accept tensor([1, 2]) (float32) as class indices, and refuse fractions', () => {
    const e = new nn.Embedding(4, 2);
    expect(e.forward(tensor([[1, 3]])).toArray()).toEqual(e.forward(tensor([[1, 3]], { dtype: 'int32' })).toArray());
    const logits = tensor([[1, 2, 3], [0, 1, 0]]);
    expect(F.crossEntropy(logits, tensor([2, 1])).item()).toBeCloseTo(F.crossEntropy(logits, tensor([2, 1], { dtype: 'int32' })).item(), 6);
    expect(() => F.crossEntropy(logits, tensor([0.5, 1]))).toThrow(EinjitError);
    expect(F.oneHot(tensor([0, 2]), 3).toArray()).toEqual([[1, 0, 0], [0, 0, 1]]);
  });
});
