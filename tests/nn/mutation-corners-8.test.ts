/**
 * nn behaviour that a fresh mutation sample (seed 20261214) found unpinned: the argument a refusal names in
 * Rearrange's axis lengths, fold's window options and layerNorm's input, normalizedShape, bias and eps; layerNorm's check of the trailing
 * dimensions (the whole shape is allowed, a partial mismatch is not); Conv2d's printed dilation when only one of
 * its two values differs from 1.
 */
import { describe, expect, it } from 'vitest';
import { randn } from '../../src/index.js';
import { nn } from './nn.js';
import { thrown } from '../helpers/thrown.js';

const F = nn.functional;

describe('the argument each refusal names', () => {
  it("Rearrange: the axis length, by its name in axesLengths", () => {
    expect(thrown(() => new nn.Rearrange('b (h w) -> b h w', { h: -2 })).message).toMatch(/axesLengths\.h must be/);
  });

  it('fold: its own name for a bad kernel size', () => {
    expect(thrown(() => F.fold(randn([1, 4, 4]), { kernelSize: -1, outputSize: [3, 3] })).message).toMatch(/^fold: kernelSize must be/);
  });

  it('layerNorm: its input, normalizedShape, bias and eps', () => {
    const x = randn([2, 3]);
    expect(thrown(() => F.layerNorm([1, 2] as never, [2])).message).toMatch(/^layerNorm: input must be a Tensor/);
    expect(thrown(() => F.layerNorm(x, [3.5] as never)).message).toMatch(/^layerNorm: normalizedShape has an inv/);
    expect(thrown(() => F.layerNorm(x, [3], null, 5 as never)).message).toMatch(/^layerNorm: bias must be a Tensor/);
    expect(thrown(() => F.layerNorm(x, [3], null, null, 'tiny' as never)).message).toMatch(/^layerNorm: eps must be a number/);
  });
});

describe("layerNorm's trailing dimensions", () => {
  it('may be the whole shape', () => {
    const x = randn([2, 3]);
    const y = F.layerNorm(x, [2, 3]);
    const v = Array.from(y.dataSync() as Float32Array);
    const mean = v.reduce((a, b) => a + b, 0) / 6;
    expect(Math.abs(mean)).toBeLessThan(1e-6);
  });

  it('must match every one of normalizedShape, not only some', () => {
    const e = thrown(() => F.layerNorm(randn([2, 3, 4]), [5, 4]));
    expect(e.message).toMatch(/trailing dimensions \[3, 4\] do not match normalizedShape \[5, 4\]/);
  });
});

describe("Conv2d's printed dilation", () => {
  it('is shown when either value differs from 1', () => {
    expect(String(new nn.Conv2d(1, 2, 3, { dilation: [2, 1] }))).toMatch(/dilation=\(2, 1\)/);
    expect(String(new nn.Conv2d(1, 2, 3))).not.toMatch(/dilation/);
  });
});
