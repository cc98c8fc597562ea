/**
 * nn behaviour the other nn tests pass through without pinning: calculateGain for every nonlinearity it accepts
 * (PyTorch's table) and the op and argument its refusal names; Conv1d's initial weights and bias inside
 * ±1/√(inChannels/groups · kernelSize) and filling that range; snakeCase on runs of capitals; and the op named by
 * the argument checks of fold, conv2d's windows and output size, pad, Embedding's options and registerBuffer; and
 * crossEntropy's default reduction (the mean); and an einops layer's pattern error keeping the span it points at.
 */
import { describe, expect, it } from 'vitest';
import { manualSeed, tensor, zeros } from '../../src/index.js';
import { nn } from './nn.js';
import { thrown } from '../helpers/thrown.js';

const F = nn.functional;

describe('calculateGain', () => {
  it("gives PyTorch's gain for each nonlinearity", () => {
    expect(nn.init.calculateGain('linear')).toBe(1);
    expect(nn.init.calculateGain('conv2d')).toBe(1);
    expect(nn.init.calculateGain('sigmoid')).toBe(1);
    expect(nn.init.calculateGain('tanh')).toBeCloseTo(5 / 3, 15);
    expect(nn.init.calculateGain('relu')).toBeCloseTo(Math.sqrt(2), 15);
    expect(nn.init.calculateGain('leaky_relu')).toBeCloseTo(Math.sqrt(2 / (1 + 0.0001)), 15);
    expect(nn.init.calculateGain('leaky_relu', 0.2)).toBeCloseTo(Math.sqrt(2 / 1.04), 15);
  });

  it('refuses another name under its op, naming the argument', () => {
    const err = thrown(() => nn.init.calculateGain('selu' as never));
    expect(err.op).toBe('calculateGain');
    expect(err.reason).toMatch(/^nonlinearity must be one of 'linear', 'conv2d', 'sigmoid', 'tanh', 'relu', 'leaky_relu'/);
  });
});

describe("Conv1d's initial parameters", () => {
  it('are uniform in ±1/√(inChannels/groups · kernelSize): inside the bound and reaching near it', async () => {
    manualSeed(20261206);
    // inChannels 6, groups 2, kernel 3: fan-in 3 · 3 = 9, bound 1/3.
    const conv = new nn.Conv1d(6, 8, 3, { groups: 2 });
    const bound = 1 / 3;
    for (const p of [conv.weight, conv.bias!]) {
      const v = Array.from(await p.data(), Number);
      const top = Math.max(...v.map(Math.abs));
      expect(top).toBeLessThanOrEqual(bound + 1e-7);
      // 8 or 96 draws: the largest is within 15 % of the bound (a chance of 0.85^8 ≈ 0.27 of failing for 8 draws
      // alone, so the weights, 96 draws, carry the check; the bias only has to stay inside).
      if (v.length > 8) expect(top).toBeGreaterThan(0.85 * bound);
    }
  });
});

describe('snakeCase', () => {
  it('splits a run of capitals before the capital that starts a word', () => {
    expect(nn.snakeCase('HTTPServer')).toBe('http_server');
    expect(nn.snakeCase('BatchNorm2d')).toBe('batch_norm2d');
    expect(nn.snakeCase('MLPBlockV2')).toBe('mlp_block_v2');
  });
});

describe('the op named by argument checks', () => {
  it('fold: a non-tensor and missing options', () => {
    expect(thrown(() => F.fold(null as never, { kernelSize: 2, outputSize: [3, 3] })).op).toBe('fold');
    expect(thrown(() => F.fold(zeros([1, 4, 4]), null as never)).op).toBe('fold');
  });

  it('conv2d: a window option out of range', () => {
    const err = thrown(() => F.conv2d(zeros([1, 1, 5, 5]), zeros([1, 1, 3, 3]), null, { stride: 0 }));
    expect(err.op).toBe('conv2d');
    expect(err.reason).toMatch(/^kernelSize, dilation and stride must/);
  });

  it('conv2d: a kernel larger than the padded input', () => {
    const err = thrown(() => F.conv2d(zeros([1, 1, 2, 2]), zeros([1, 1, 3, 3]), null));
    expect(err.op).toBe('conv2d');
  });

  it('pad: an odd padding length, with its message', () => {
    const err = thrown(() => F.pad(zeros([2, 3]), [1, 2, 3]));
    expect(err.op).toBe('pad');
    expect(err.reason).toBe('padding length must be even and at most twice the rank, got 3 for a 2-D input');
  });

  it('Embedding: a bad dtype option', () => {
    const err = thrown(() => new nn.Embedding(4, 3, { dtype: 'int8' as never }));
    expect(err.op).toBe('Embedding');
  });

  it('registerBuffer: a name already held by a parameter', () => {
    const lin = new nn.Linear(2, 2);
    const err = thrown(() => lin.registerBuffer('weight', zeros([2])));
    expect(err.op).toBe('registerBuffer');
    expect(err.reason).toBe("attribute 'weight' already exists as a parameter or module");
  });
});

describe("crossEntropy's default reduction", () => {
  it('is the mean of the per-sample losses (float64 log-sum-exp in the test)', async () => {
    const logits = [[1.5, -0.5, 0.25], [0, 2, -1], [-1, -1, 3], [0.5, 0.5, 0.5]];
    const target = [0, 1, 2, 1];
    let sum = 0;
    logits.forEach((row, i) => {
      const m = Math.max(...row);
      const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
      sum += lse - row[target[i]!]!;
    });
    const got = F.crossEntropy(tensor(logits.flat(), { shape: [4, 3], dtype: 'float64' }), tensor(target, { shape: [4], dtype: 'int32' }));
    expect(got.shape).toEqual([]);
    expect((await got.data())[0]).toBeCloseTo(sum / 4, 12);
  });
});

describe("an einops layer's pattern error", () => {
  it("is the layer's, and keeps the span of the axis it points at in the layer's own pattern", () => {
    const pattern = 'b c -> b c d';
    const err = thrown(() => new nn.Rearrange(pattern));
    expect(err.op).toBe('Rearrange');
    expect(err.pattern).toBe(pattern);
    const at = pattern.lastIndexOf('d');
    expect(err.span).toEqual({ start: at, end: at + 1 });
  });
});
