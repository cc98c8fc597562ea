/**
 * nn behaviour the other nn tests pass through without pinning: MultiheadAttention's checks of kdim, of the query's
 * rank, of key and value lengths (with its hint), and the shape an unbatched keyPaddingMask is expected to have
 * ([S], no batch dimension); nllLoss's argument checks and its 0-D refusal; kaimingUniform_'s bound
 * √3·gain/√fan_in (PyTorch's); the op and argument of Reduce's pattern and registerBuffer's name; and Module.to
 * keeping a parameter that did not move (the same Parameter, as PyTorch's module.to keeps its parameters).
 * Expected values are PyTorch's formulas and wording, computed here in float64.
 */
import { describe, expect, it } from 'vitest';
import { manualSeed, tensor, zeros, type Tensor } from '../../src/index.js';
import { nn } from './nn.js';
import { thrown, rejection } from '../helpers/thrown.js';

const F = nn.functional;
const values = (t: Tensor): number[] => Array.from(t.dataSync() as ArrayLike<number>);

describe('MultiheadAttention checks', () => {
  it('names kdim when it is not a positive integer', () => {
    const err = thrown(() => new nn.MultiheadAttention(4, 2, { kdim: 0 }));
    expect(err.op).toBe('MultiheadAttention');
    expect(err.reason).toMatch(/^kdim must be/);
  });

  it("refuses a query that is neither 2-D nor 3-D, saying the rank it got", () => {
    const mha = new nn.MultiheadAttention(4, 2);
    const q = zeros([1, 3, 2, 4]);
    const err = thrown(() => mha.forward(q, q, q));
    expect(err.op).toBe('MultiheadAttention.forward');
    expect(err.reason).toBe('query must be 2-D (unbatched) or 3-D, got 4-D');
  });

  it('refuses keys and values of different lengths, with its hint', () => {
    const mha = new nn.MultiheadAttention(4, 2);
    const err = thrown(() => mha.forward(zeros([3, 2, 4]), zeros([5, 2, 4]), zeros([6, 2, 4])));
    expect(err.reason).toBe('key and value must have the same length, got 5 and 6');
    expect(err.hint).toBe('each key pairs with one value');
  });

  it('expects an unbatched keyPaddingMask of shape [S], without the batch dimension', () => {
    const mha = new nn.MultiheadAttention(4, 2);
    const q = zeros([3, 4]);
    const kv = zeros([5, 4]);
    const err = thrown(() => mha.forward(q, kv, kv, { keyPaddingMask: zeros([4], { dtype: 'bool' }) }));
    expect(err.reason).toMatch(/^keyPaddingMask has shape \[4\], expected \[5\]$/);
    expect(err.hint).toBe('one row per batch entry, one column per key');
  });

  it('expects an unbatched attnMask of shape [L, S] or [numHeads, L, S], as PyTorch', () => {
    const mha = new nn.MultiheadAttention(4, 2);
    const q = zeros([3, 4]);
    const kv = zeros([5, 4]);
    const err = thrown(() => mha.forward(q, kv, kv, { attnMask: zeros([3, 4], { dtype: 'bool' }) }));
    expect(err.reason).toBe('attnMask has shape [3, 4], expected [3, 5] or [2, 3, 5]');
    expect(err.hint).toBe('one row per query, one column per key');
  });
});

describe('nllLoss arguments', () => {
  const lp = zeros([2, 3]);
  const t = tensor([0, 2], { dtype: 'int32' });

  it('names itself and the argument in each check', () => {
    const a = thrown(() => F.nllLoss(5 as never, t));
    expect(a.op).toBe('nllLoss');
    expect(a.reason).toMatch(/^logProbs must be a Tensor/);
    const b = thrown(() => F.nllLoss(lp, [0, 2] as never));
    expect(b.op).toBe('nllLoss');
    expect(b.reason).toMatch(/^target must be a Tensor/);
    const c = thrown(() => F.nllLoss(lp, t, 'avg' as never));
    expect(c.op).toBe('nllLoss');
    expect(c.reason).toMatch(/^reduction must be one of/);
  });

  it('refuses 0-D log-probabilities, reporting their shape', () => {
    const err = thrown(() => F.nllLoss(zeros([]), tensor(0, { dtype: 'int32' })));
    expect(err.reason).toBe('nllLoss expects log-probabilities with a class dimension, got a 0-D tensor');
    expect(err.shapes).toEqual([[]]);
  });
});

describe('kaimingUniform_', () => {
  it("draws inside ±√3·gain/√fan_in (leaky_relu with a = 0: gain √2) and fills that range, as PyTorch's", () => {
    manualSeed(7);
    const w = nn.init.kaimingUniform_(zeros([64, 50]));
    const bound = Math.sqrt(3) * Math.sqrt(2) / Math.sqrt(50); // ≈ 0.3464
    const v = values(w);
    const top = Math.max(...v.map(Math.abs));
    expect(top).toBeLessThanOrEqual(bound * (1 + 1e-6));
    expect(top).toBeGreaterThan(0.95 * bound);
  });
});

describe('names in argument errors', () => {
  it("Reduce's pattern", () => {
    const err = thrown(() => new nn.Reduce(5 as never, 'mean'));
    expect(err.op).toBe('Reduce');
  });

  it("registerBuffer's name", () => {
    const err = thrown(() => new nn.Module().registerBuffer(5 as never, null));
    expect(err.op).toBe('registerBuffer');
    expect(err.reason).toMatch(/^name must be a string/);
  });
});

describe('Module.to', () => {
  it('keeps a parameter that did not move: the same Parameter object', async () => {
    const m = new nn.Linear(2, 3);
    const w = m.weight;
    await m.to('cpu');
    expect(m.weight).toBe(w);
    expect(await rejection(m.to('tpu' as never)).then((e) => e.op)).toBe('Module.to');
  });
});
