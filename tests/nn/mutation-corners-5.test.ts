/**
 * nn behaviour that a fresh mutation sample (seed 20261210) found unpinned: a unit axis inside an EinMix group
 * (dropped, as einops drops it, not refused as anonymous); the op parameterFull, Module.cast and dropout name
 * when they refuse an argument; which input gradient a convolution's backward takes (the col2im product Wᵀ·g,
 * or the transposed convolution) on either side of the cost model's boundary; and the weight gradient of the
 * transposed-gradient path when the backward builds a graph, against a float64 loop written here.
 */
import { describe, expect, it } from 'vitest';
import { grad, manualSeed, profile, randn, tensor, zeros, type Tensor } from '../../src/index.js';
import { nn } from './nn.js';
import { thrown } from '../helpers/thrown.js';

const F = nn.functional;
const values = (t: Tensor): number[] => Array.from(t.dataSync() as ArrayLike<number>);

describe('EinMix', () => {
  it("a '1' inside a group is a unit axis, dropped, not an anonymous axis", () => {
    manualSeed(5);
    const mix = new nn.EinMix('b (c 1) -> b d', 'c d', null, { c: 3, d: 2 }, { dtype: 'float64' });
    const x = randn([2, 3], { dtype: 'float64' });
    const w = values(mix.weight);
    const xs = values(x);
    const want: number[] = [];
    for (let b = 0; b < 2; b++) for (let d = 0; d < 2; d++) want.push(xs[b * 3]! * w[d]! + xs[b * 3 + 1]! * w[2 + d]! + xs[b * 3 + 2]! * w[4 + d]!);
    const got = values(mix.forward(x));
    got.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 12));
  });
});

describe('the op each refusal names', () => {
  it('parameterFull names itself for a bad dtype', () => {
    const err = thrown(() => nn.parameterFull([2], 0.5, { dtype: 'int8' as never }));
    expect(err.op).toBe('parameterFull');
  });

  it('Module.cast names itself for a dtype that does not exist', () => {
    const err = thrown(() => new nn.Linear(2, 2).cast('float8' as never));
    expect(err.op).toBe('Module.cast');
  });

  it('dropout names itself, and the argument, for each bad argument', () => {
    const x = zeros([3]);
    expect(thrown(() => F.dropout(3 as never)).op).toBe('dropout');
    const p = thrown(() => F.dropout(x, Number.NaN));
    expect([p.op, p.reason]).toEqual(['dropout', 'p must be a number, got NaN']);
    const training = thrown(() => F.dropout(x, 0.5, 'yes' as never));
    expect(training.op).toBe('dropout');
    expect(training.reason).toMatch(/^training must be /);
  });
});

describe("conv2d's backward: col2im or the transposed convolution", () => {
  /** The kernels one backward pass of sum(conv2d(x, w)) launches, by name. */
  async function backwardKernels(x: Tensor, w: Tensor, padding: number): Promise<string[]> {
    const y = F.conv2d(x, w, null, { padding });
    const r = await profile(() => { y.sum().backward(); });
    return r.kernels.map((k) => k.name);
  }

  it('512 channels over 3×3 pixels without padding: col2im (the flipped 512×512×3×3 weight would cost more)', async () => {
    // col2im: 1·512·(2·9·1 + 3·3)·4 bytes + 11 launches = 776,192; the transposed convolution's weight copy alone
    // is 512·512·9·4 = 9,437,184. A padding counted as infinite (2 / 0) would choose the transposed one.
    const names = await backwardKernels(randn([1, 512, 3, 3], { requiresGrad: true }), randn([512, 512, 3, 3], { requiresGrad: true }), 0);
    expect(names.some((n) => n.startsWith('nol,ok->nlk'))).toBe(true);
  });

  it('136 channels over 6×6 pixels, padding 1, batch 2: the transposed convolution, by a margin the padding decides', async () => {
    // In the cost model's bytes (64 KiB a launch): transposed (136·136·9 + 2·136·(8·8 + 6·6 + 9·36) + 2·136·36)·4
    // + 5 launches = 1,494,016; col2im 2·136·(2·9·36 + 8·8)·4 + 11 launches = 1,495,552. With the padded input
    // counted as (6 − 2)×8 instead of 8×8 per channel, col2im (1,460,736) would look cheaper.
    const names = await backwardKernels(randn([2, 136, 6, 6], { requiresGrad: true }), randn([136, 136, 3, 3], { requiresGrad: true }), 1);
    expect(names.some((n) => n.startsWith('nol,ok->nlk'))).toBe(false);
    // The transposed convolution's GEMM (stored as [n, o, l] by a transposing copy).
    expect(names.some((n) => n.startsWith('ok,nlk->onl'))).toBe(true);
  });

  it('the weight gradient built as a graph (createGraph) is Σ g·windows, against a float64 loop', () => {
    manualSeed(11);
    const [n, c, o, h, w, k] = [2, 3, 4, 5, 4, 3];
    const x = randn([n, c, h, w], { dtype: 'float64', requiresGrad: true });
    const wt = randn([o, c, k, k], { dtype: 'float64', requiresGrad: true });
    const r = randn([n, o, h, w], { dtype: 'float64' });
    const y = F.conv2d(x, wt, null, { padding: 1 });
    const [gw] = grad(y.mul(r).sum(), [wt], { createGraph: true });
    expect(gw.requiresGrad).toBe(true);
    const xs = values(x);
    const rs = values(r);
    const want = new Float64Array(o * c * k * k);
    for (let oo = 0; oo < o; oo++) for (let cc = 0; cc < c; cc++) for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) {
      let s = 0;
      for (let nn2 = 0; nn2 < n; nn2++) for (let a = 0; a < h; a++) for (let b = 0; b < w; b++) {
        const yy = a + i - 1;
        const xx = b + j - 1;
        if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
        s += rs[((nn2 * o + oo) * h + a) * w + b]! * xs[((nn2 * c + cc) * h + yy) * w + xx]!;
      }
      want[((oo * c + cc) * k + i) * k + j] = s;
    }
    const got = values(gw);
    got.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 12));
  });
});


// Seed 20261211.
describe('more refusals that name their op and argument', () => {
  it('Rearrange names itself for axis lengths that are not an object', () => {
    expect(thrown(() => new nn.Rearrange('b c -> c b', 5 as never)).op).toBe('Rearrange');
  });

  it('oneHot refuses bool indices, saying what to create them with', () => {
    const err = thrown(() => F.oneHot(tensor([true, false], { dtype: 'bool' }), 2));
    expect([err.op, err.reason, err.hint]).toEqual(['oneHot', 'expected integer indices, got bool values that are not whole numbers', "create them with { dtype: 'int32' }"]);
  });

  it("calculateGain checks leaky_relu's slope, naming itself and param", () => {
    const err = thrown(() => nn.init.calculateGain('leaky_relu', 'steep' as never));
    expect(err.op).toBe('calculateGain');
    expect(err.reason).toMatch(/^param must be /);
  });

  it("a loss module's forward names the module", () => {
    expect(thrown(() => new nn.MSELoss().forward(3 as never)).op).toBe('MSELoss.forward');
  });
});
