/**
 * nn behaviour that a fresh mutation sample (seed 20261212) found unpinned: which argument a refusal names in
 * MultiheadAttention.forward and Reduce.forward; EinMix's anonymous axes (a number other than 1 at the top level
 * is refused, as einops refuses it) and bias axes before the ellipsis; pad's gradient node; and Conv1d's weights
 * drawn from U(−bound, bound) with bound = 1/√(inChannels/groups · kernelSize), as PyTorch draws them.
 */
import { describe, expect, it } from 'vitest';
import { manualSeed, randn, tensor } from '../../src/index.js';
import { nn } from './nn.js';
import { thrown } from '../helpers/thrown.js';

describe('the argument each refusal names', () => {
  it('MultiheadAttention.forward: query, key and value', () => {
    const mha = new nn.MultiheadAttention(4, 2);
    const x = randn([3, 1, 4]);
    expect(thrown(() => mha.forward([1] as never, x, x)).message).toMatch(/query must be a Tensor/);
    expect(thrown(() => mha.forward(x, [1] as never, x)).message).toMatch(/key must be a Tensor/);
    expect(thrown(() => mha.forward(x, x, [1] as never)).message).toMatch(/value must be a Tensor/);
  });

  it('Reduce.forward names itself', () => {
    const e = thrown(() => new nn.Reduce('b c -> b', 'sum').forward([1, 2] as never));
    expect(e.op).toBe('Reduce.forward');
  });
});

describe('EinMix patterns', () => {
  it("refuses an anonymous axis other than 1 at the top level, naming it", () => {
    const e = thrown(() => new nn.EinMix('b 2 -> b d', 'd', null, { d: 3 }));
    expect(e.message).toMatch(/anonymous axis '2' in EinMix/);
  });

  it("takes a top-level '1' as a unit axis", () => {
    manualSeed(2);
    const mix = new nn.EinMix('b 1 c -> b d', 'c d', null, { c: 2, d: 3 }, { dtype: 'float64' });
    const x = tensor([[[1, 2]], [[3, 4]]], { dtype: 'float64' });
    const w = Array.from(mix.weight.dataSync() as Float64Array);
    const got = Array.from(mix.forward(x).dataSync() as Float64Array);
    const want = [[1, 2], [3, 4]].flatMap(([a, b]) => [0, 1, 2].map((d) => a! * w[d]! + b! * w[3 + d]!));
    got.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 12));
  });

  it('refuses bias axes before the ellipsis in the output', () => {
    const e = thrown(() => new nn.EinMix('b ... c -> d ... b', 'c d', 'd', { c: 2, d: 3 }));
    expect(e.message).toMatch(/all bias dimensions should go after the ellipsis in the output/);
  });
});

describe('pad', () => {
  it("records a gradient node named 'pad'", () => {
    const x = randn([2, 3]).requiresGrad_();
    expect(nn.functional.pad(x, [1, 1]).gradFn?.op).toBe('pad');
  });
});

describe("Conv1d's initial weights", () => {
  it('are drawn from U(−bound, bound), bound = 1/√(inChannels/groups · kernelSize), both signs', () => {
    manualSeed(11);
    const conv = new nn.Conv1d(6, 8, 3, { groups: 2 });
    const bound = 1 / Math.sqrt((6 / 2) * 3);
    for (const p of [conv.weight, conv.bias!]) {
      const w = Array.from(p.dataSync() as Float32Array);
      expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(bound * (1 + 1e-6));
      expect(w.filter((v) => v < 0).length).toBeGreaterThan(w.length / 5);
      expect(w.filter((v) => v > 0).length).toBeGreaterThan(w.length / 5);
    }
  });
});
