/**
 * nn corners a fresh mutation sample (seed 20261222) found unpinned: MultiheadAttention refuses a dropout
 * probability outside [0, 1] (as PyTorch does) and takes both ends; EinMix draws its bias from U(-b, b), b =
 * 1/sqrt(fan-in), as einops does (both signs, within the bound).
 */
import { describe, expect, it } from 'vitest';
import { manualSeed } from '../../src/index.js';
import { nn } from './nn.js';
import { thrown } from '../helpers/thrown.js';

describe('MultiheadAttention', () => {
  it('refuses a dropout probability outside [0, 1] and takes 0 and 1', () => {
    for (const p of [-0.25, 1.5, -Infinity]) {
      const e = thrown(() => new nn.MultiheadAttention(4, 2, { dropout: p }));
      expect(e.op).toBe('MultiheadAttention');
      expect(e.reason).toBe(`dropout probability has to be between 0 and 1, but got ${p}`);
    }
    expect(thrown(() => new nn.MultiheadAttention(4, 2, { dropout: NaN })).reason).toBe('dropout must be a number, got NaN');
    expect(new nn.MultiheadAttention(4, 2, { dropout: 0 }).dropout).toBe(0);
    expect(new nn.MultiheadAttention(4, 2, { dropout: 1 }).dropout).toBe(1);
  });
});

describe('EinMix', () => {
  it('draws its bias from U(-1/sqrt(fan-in), 1/sqrt(fan-in))', () => {
    manualSeed(11);
    // fan-in: the weight's axes not in the output, c = 9: bound 1/3.
    const mix = new nn.EinMix('b c -> b d', 'c d', 'd', { c: 9, d: 400 });
    expect(mix.bias!.shape).toEqual([1, 400]);
    const bias = (mix.bias!.toArray() as number[][]).flat();
    const bound = 1 / 3;
    expect(Math.max(...bias)).toBeLessThanOrEqual(bound);
    expect(Math.min(...bias)).toBeGreaterThanOrEqual(-bound);
    // 400 draws: both halves of the range are hit, and their mean is near 0 (its standard error is 0.0096).
    expect(bias.filter((v) => v < -bound / 2).length).toBeGreaterThan(50);
    expect(bias.filter((v) => v > bound / 2).length).toBeGreaterThan(50);
    expect(Math.abs(bias.reduce((s, v) => s + v, 0) / bias.length)).toBeLessThan(0.05);
  });
});
