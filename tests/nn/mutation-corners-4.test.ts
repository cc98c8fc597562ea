/**
 * nn behaviour that a fresh mutation sample (seed 20261209) found unpinned: EinMix passes a weight or bias shape's
 * parse error through with the parser's own hint; fold, oneHot, LayerNorm and Conv1d name the argument they
 * refuse; fold's gradient node is named fold; kaimingUniform_ draws on both sides of zero; Conv2d's initial
 * weights and bias stay within PyTorch's ±1/√fan_in. Expected values are read off the arguments or PyTorch's rules.
 */
import { describe, expect, it } from 'vitest';
import { manualSeed, tensor, zeros } from '../../src/index.js';
import { nn } from './nn.js';
import { thrown } from '../helpers/thrown.js';

const F = nn.functional;

describe('EinMix shape patterns that do not parse', () => {
  it("report the weight shape's error with the parser's hint", () => {
    const err = thrown(() => new nn.EinMix('t b cin -> t b cout', 'cin $cout', null, { cin: 3, cout: 4 }));
    expect(err.message.split('\n')[0]).toBe("EinMix: in the weight shape 'cin $cout': unknown character '$'");
    expect(err.hint).toBe("axis names are letters, digits and '_', separated by single spaces");
    expect(err.pattern).toBe('t b cin -> t b cout');
  });

  it("report the bias shape's error with the parser's hint", () => {
    const err = thrown(() => new nn.EinMix('t b cin -> t b cout', 'cin cout', 'cout $', { cin: 3, cout: 4 }));
    expect(err.message.split('\n')[0]).toBe("EinMix: in the bias shape 'cout $': unknown character '$'");
    expect(err.hint).toBe("axis names are letters, digits and '_', separated by single spaces");
    expect(err.pattern).toBe('t b cin -> t b cout');
  });

  it('leave an error about what a parsed bias shape says as it is', () => {
    const err = thrown(() => new nn.EinMix('t b cin -> t b cout', 'cin cout', 'cout cout', { cin: 3, cout: 4 }));
    expect(err.message.split('\n')[0]).toBe("EinMix: axis 'cout' appears twice in the bias shape");
  });
});

describe('arguments refused by name', () => {
  it('fold: outputSize', () => {
    const err = thrown(() => F.fold(zeros([1, 4, 1]), { kernelSize: 2, outputSize: 'x' as never }));
    expect(err.message.split('\n')[0]).toBe('fold: outputSize must be a non-negative integer or a pair of them, got "x"');
  });

  it('oneHot: dtype', () => {
    const err = thrown(() => F.oneHot(tensor([0, 1], { dtype: 'int32' }), 3, 'bool' as never));
    expect(err.message.split('\n')[0]).toBe(`oneHot: dtype must be one of 'float32', 'float64', 'int32', got "bool"`);
  });

  it('LayerNorm: bias and elementwiseAffine', () => {
    expect(thrown(() => new nn.LayerNorm([4], { bias: 'yes' as never })).message.split('\n')[0]).toBe('LayerNorm: bias must be true or false, got "yes"');
    expect(thrown(() => new nn.LayerNorm([4], { elementwiseAffine: 1 as never })).message.split('\n')[0])
      .toBe('LayerNorm: elementwiseAffine must be true or false, got 1');
  });

  it('Conv1d: outChannels', () => {
    expect(thrown(() => new nn.Conv1d(3, 0, 3)).message.split('\n')[0]).toMatch(/^Conv1d: outChannels must be an integer in \[1, \d+\], got 0$/);
  });
});

describe('fold under autograd', () => {
  it('records a node named fold', () => {
    const cols = tensor(Array.from({ length: 8 }, (_, i) => i), { requiresGrad: true }).reshape([1, 4, 2]);
    const y = F.fold(cols, { kernelSize: [2, 1], outputSize: [3, 1] });
    expect(y.gradFn?.op).toBe('fold');
  });
});

describe('initial values', () => {
  it('kaimingUniform_ draws from [-bound, bound], both sides of zero', () => {
    manualSeed(7);
    const t = zeros([64, 64]);
    nn.init.kaimingUniform_(t);
    const v = Array.from(t.dataSync() as Float32Array);
    // Defaults: fan_in = 64, gain √2 (leaky_relu with a = 0): bound = √3 · √2 / √64.
    const bound = Math.sqrt(3) * Math.SQRT2 / 8;
    expect(Math.min(...v)).toBeLessThan(-bound / 2);
    expect(Math.max(...v)).toBeGreaterThan(bound / 2);
    expect(Math.max(...v.map(Math.abs))).toBeLessThanOrEqual(bound * (1 + 1e-6));
  });

  it("Conv2d's weight and bias lie within ±1/√fan_in (fan_in = in/groups · kh · kw)", () => {
    manualSeed(7);
    const conv = new nn.Conv2d(4, 6, 3);
    const bound = 1 / Math.sqrt(4 * 3 * 3);
    for (const p of [conv.weight, conv.bias!]) {
      const v = Array.from(p.dataSync() as Float32Array);
      expect(Math.max(...v.map(Math.abs))).toBeLessThanOrEqual(bound * (1 + 1e-6));
    }
    expect(Math.max(...Array.from(conv.weight.dataSync() as Float32Array).map(Math.abs))).toBeGreaterThan(bound / 2);
  });
});
