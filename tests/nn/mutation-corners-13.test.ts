/**
 * nn corners a mutation sample (seed 20261221) left open: crossEntropy against probability targets sums over the
 * class dimension wherever it is ([N, C, d] logits, per element, and unbatched [C] logits); MultiheadAttention's
 * forward names needWeights when it is not a boolean.
 */
import { describe, expect, it } from 'vitest';
import { tensor, type Tensor } from '../../src/index.js';
import { nn } from './nn.js';
import { thrown } from '../helpers/thrown.js';

const F = nn.functional;
const f64 = (data: number[], shape: number[]): Tensor => tensor(data, { shape, dtype: 'float64' });

/** -Σ_c p[c] · log softmax(z)[c], in float64. */
function crossEntropyOf(z: number[], p: number[]): number {
  const m = Math.max(...z);
  const lse = m + Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0));
  return -z.reduce((s, v, c) => s + p[c]! * (v - lse), 0);
}

describe('crossEntropy against class probabilities', () => {
  it('over [N, C, d] logits gives one loss per (n, d), summed over the C classes', () => {
    // N = 2, C = 3, d = 2, laid out [n][c][d].
    const [N, C, D] = [2, 3, 2];
    const logits = [0.5, -1, 2, 0, -0.25, 1.5, 1, 3, -2, 0.5, 0, 0];
    const probs = [0.2, 0.1, 0.5, 0.3, 0.3, 0.6, 1, 0, 0, 0.25, 0, 0.75];
    const at = (a: number[], n: number, c: number, d: number): number => a[(n * C + c) * D + d]!;
    const want: number[] = [];
    for (let n = 0; n < N; n++) {
      for (let d = 0; d < D; d++) {
        const z = [0, 1, 2].map((c) => at(logits, n, c, d));
        const p = [0, 1, 2].map((c) => at(probs, n, c, d));
        want.push(crossEntropyOf(z, p));
      }
    }
    const loss = F.crossEntropy(f64(logits, [N, C, D]), f64(probs, [N, C, D]), { reduction: 'none' });
    expect(loss.shape).toEqual([N, D]);
    const got = (loss.toArray() as number[][]).flat();
    got.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 12));
    const mean = F.crossEntropy(f64(logits, [N, C, D]), f64(probs, [N, C, D]));
    expect(mean.item()).toBeCloseTo(want.reduce((s, v) => s + v, 0) / want.length, 12);
  });

  it('over unbatched [C] logits gives one loss', () => {
    const z = [0.5, -1, 2, 0.25];
    const p = [0.1, 0.2, 0.3, 0.4];
    const loss = F.crossEntropy(f64(z, [4]), f64(p, [4]));
    expect(loss.shape).toEqual([]);
    expect(loss.item()).toBeCloseTo(crossEntropyOf(z, p), 12);
  });
});

describe('MultiheadAttention.forward', () => {
  it('names needWeights and averageAttnWeights when they are not booleans', () => {
    const mha = new nn.MultiheadAttention(4, 2);
    const x = tensor(Array.from({ length: 12 }, (_, i) => i / 12), { shape: [3, 4] });
    const needs = thrown(() => mha.forward(x, x, x, { needWeights: 'yes' as never }));
    expect(needs.op).toBe('MultiheadAttention.forward');
    expect(needs.reason).toBe('needWeights must be true or false, got "yes"');
    const average = thrown(() => mha.forward(x, x, x, { averageAttnWeights: 1 as never }));
    expect(average.reason).toBe('averageAttnWeights must be true or false, got 1');
  });
});
