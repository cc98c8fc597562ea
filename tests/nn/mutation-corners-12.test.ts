/**
 * nn refusals that a fresh mutation sample (seed 20261221) found unpinned: each names its op and argument
 * (Rearrange's forward, Reduce's axis lengths, Conv2d's stride).
 */
import { describe, expect, it } from 'vitest';
import { nn } from './nn.js';
import { thrown } from '../helpers/thrown.js';

describe('refusals name their op and argument', () => {
  it("Rearrange.forward: an input that is not a tensor", () => {
    const e = thrown(() => new nn.Rearrange('a b -> b a').forward(3 as never));
    expect(e.op).toBe('Rearrange.forward');
    expect(e.reason).toBe('input must be a Tensor, got 3');
  });

  it("Reduce: axis lengths that are not an object", () => {
    const e = thrown(() => new nn.Reduce('a b -> a', 'sum', 5 as never));
    expect(e.op).toBe('Reduce');
    expect(e.reason).toBe('axesLengths must be an object, got 5');
  });

  it("Conv2d: a stride that is not a pair of integers", () => {
    const e = thrown(() => new nn.Conv2d(1, 1, 3, { stride: [1, 'x'] as never }));
    expect(e.op).toBe('Conv2d');
    expect(e.reason).toBe('stride must be an integer in [0, 4294967295], got "x"');
  });
});
