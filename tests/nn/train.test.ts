/**
 * The main job's training run, shortened, and the causal variant of the seed model it trains.
 */
import { describe, expect, it } from 'vitest';
import { manualSeed, noGrad, tensor } from '../../src/index.js';
import { nn } from './nn.js';
import { plotLines, train } from '../../examples/train.js';

describe('the seed-003 model, causal variant', () => {
  it('output position j depends on inputs up to 2j only', () => {
    manualSeed(2);
    const m = new nn.models.TokenConvNet({ vocabSize: 10, nEmbd: 4, causal: true }).eval();
    const a = [1, 2, 3, 4, 5, 6, 7, 8, 9];
    const b = a.slice();
    b[5] = 0; // changes input 5: outputs j with 2j >= 5 may change, j <= 2 must not.
    const la = noGrad(() => m.forward(tensor([a], { dtype: 'int32' }))).toArray() as number[][][];
    const lb = noGrad(() => m.forward(tensor([b], { dtype: 'int32' }))).toArray() as number[][][];
    expect(la[0]!.length).toBe(5);
    for (let j = 0; j <= 2; j++) expect(lb[0]![j]).toEqual(la[0]![j]);
    expect(lb[0]![3]).not.toEqual(la[0]![3]);
  });
});

describe('examples/train.ts', () => {
  it('trains the loss well below ln(vocab), samples text and plots the curve', async () => {
    const lines: string[] = [];
    const r = await train({ steps: 80, progress: false, sampleTokens: 40, log: (l) => lines.push(l) });
    expect(r.vocabSize).toBe(36);
    expect(r.losses.length).toBe(80);
    expect(r.losses[0]!).toBeGreaterThan(3);
    expect(r.finalLoss).toBeLessThan(Math.log(36) - 1.5);
    expect(r.sample.length).toBeGreaterThan(20);
    expect(lines.some((l) => l.includes('sampled text'))).toBe(true);
    expect(lines.filter((l) => l.includes('┤')).length).toBe(12);
  }, 120_000);

  it('plots a falling curve from top left to bottom right', () => {
    const p = plotLines([4, 3, 2, 1], 4, 4);
    expect(p[0]).toContain('4.00 ┤•');
    expect(p[3]).toContain('1.00 ┤   •');
  });
});
