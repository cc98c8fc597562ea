/**
 * nn behaviour that a fresh mutation sample (seed 20261219) found unpinned: EinMix's printout without a bias;
 * the op that logSoftmax's and crossEntropy's refusals name; dropout's mask on an integer tensor (a float32
 * draw) and on the input's device; nllLoss on unbatched log-probabilities ([C] with a 0-D target, as PyTorch
 * takes them).
 */
import { describe, expect, it } from 'vitest';
import { ones, randn, tensor } from '../../src/index.js';
import { nn } from './nn.js';
import { DEVICES } from '../helpers/devices.js';
import { thrown } from '../helpers/thrown.js';

const F = nn.functional;

describe('EinMix', () => {
  it('prints no bias shape when it has none', () => {
    expect(String(new nn.EinMix('b (h w) c -> b c (hout w)', 'h hout', null, { h: 2, hout: 3 }))).toBe("EinMix('b (h w) c -> b c (hout w)', 'h hout', h=2, hout=3)");
    expect(String(new nn.EinMix('b c -> b d', 'c d', 'd', { c: 2, d: 3 }))).toBe("EinMix('b c -> b d', 'c d', 'd', c=2, d=3)");
  });
});

describe('the op a refusal names', () => {
  it('logSoftmax: its input', () => {
    expect(thrown(() => F.logSoftmax(null as never)).op).toBe('logSoftmax');
  });

  it('crossEntropy: a class index out of range', () => {
    const e = thrown(() => F.crossEntropy(ones([2, 3]), tensor([0, 5], { dtype: 'int32' })));
    expect(e.op).toBe('crossEntropy');
    expect(e.reason).toMatch(/index 5 is out of range for 3 classes/);
  });
});

describe('dropout', () => {
  it('on an integer tensor draws a float32 mask, zeroing some values and scaling the rest by 1 / (1 - p)', () => {
    const xs = Array.from({ length: 64 }, (_, i) => i + 1);
    const y = F.dropout(tensor(xs, { dtype: 'int32' }), 0.3, true);
    // int32 times 1 / 0.7 is float32, as in an elementwise product with a fractional scalar.
    expect(y.dtype).toBe('float32');
    const ys = Array.from(y.dataSync() as Float32Array);
    ys.forEach((v, i) => expect(v === 0 || Math.abs(v - xs[i]! / 0.7) <= 1e-6 * xs[i]! / 0.7).toBe(true));
    // 64 draws at 0.3: both outcomes occur (a chance below 10^-9 otherwise).
    expect(ys.some((v) => v === 0) && ys.some((v) => v !== 0)).toBe(true);
  });

  it.skipIf(!DEVICES.includes('webgpu'))('draws its mask on the input\'s device', async () => {
    const x = randn([4, 8], { device: 'webgpu' });
    const y = F.dropout(x, 0.25, true);
    expect(y.device).toBe('webgpu');
    const [xv, yv] = [await x.data(), await y.data()];
    yv.forEach((v, i) => expect(v === 0 || Math.abs(v - xv[i]! / 0.75) <= 1e-6 * Math.abs(xv[i]!) + 1e-7).toBe(true));
  });
});

describe('nllLoss', () => {
  it('takes unbatched log-probabilities [C] with a 0-D target, as PyTorch does', () => {
    const loss = F.nllLoss(tensor([-1.5, -0.25, -2], { dtype: 'float64' }), tensor(1, { dtype: 'int32' }));
    expect(loss.shape).toEqual([]);
    expect(Array.from(loss.dataSync() as Float64Array)).toEqual([0.25]);
  });
});
