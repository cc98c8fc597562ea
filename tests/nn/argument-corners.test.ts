/**
 * Corners of nn that the value tests do not name: MultiheadAttention's mask checks (a null mask, a mask of the
 * wrong shape, an int32 mask of the right shape) and its numHeads check, EinMix's anonymous-axis error, and the op
 * and argument each check of unfold, conv2d, init.zeros_, Softmax and registerParameter reports. Expected values
 * are written out by hand.
 */
import { describe, expect, it } from 'vitest';
import { manualSeed, randn, tensor, zeros } from '../../src/index.js';
import { nn } from './nn.js';
import { thrown } from '../helpers/thrown.js';

const F = nn.functional;

describe('MultiheadAttention checks', () => {
  // Batch-first: 2 entries, 3 queries, 5 keys, embedDim 4 over 2 heads.
  const setup = () => {
    manualSeed(3);
    const mha = new nn.MultiheadAttention(4, 2, { batchFirst: true, dtype: 'float64' });
    const q = randn([2, 3, 4], { dtype: 'float64' });
    const kv = randn([2, 5, 4], { dtype: 'float64' });
    return { mha, q, kv };
  };

  it('numHeads must be a positive integer, named as such', () => {
    const err = thrown(() => new nn.MultiheadAttention(4, 0));
    expect(err.op).toBe('MultiheadAttention');
    expect(err.reason).toMatch(/^numHeads must be an integer in \[1, /);
  });

  it('null masks are no masks', () => {
    const { mha, q, kv } = setup();
    const [plain, w] = mha.forward(q, kv, kv);
    const [nulls, wn] = mha.forward(q, kv, kv, { attnMask: null, keyPaddingMask: null });
    expect(nulls.toArray()).toEqual(plain.toArray());
    expect(wn!.toArray()).toEqual(w!.toArray());
  });

  it('an attnMask of neither accepted shape is refused with both shapes listed', () => {
    const { mha, q, kv } = setup();
    const err = thrown(() => mha.forward(q, kv, kv, { attnMask: zeros([3, 4], { dtype: 'bool' }) }));
    expect(err.reason).toBe('attnMask has shape [3, 4], expected [3, 5] or [4, 3, 5]');
    expect(err.hint).toBe('one row per query, one column per key');
  });

  it('an int32 attnMask of the right shape is refused: masks are bool or floating', () => {
    const { mha, q, kv } = setup();
    const err = thrown(() => mha.forward(q, kv, kv, { attnMask: zeros([3, 5], { dtype: 'int32' }) }));
    expect(err.reason).toBe('attnMask must be a bool or floating-point tensor, got int32');
    expect(err.hint).toBe('compare to make a bool mask (mask.eq(1))');
  });
});

describe('EinMix', () => {
  it("refuses an anonymous axis inside a group with its own hint (before the layer's rearranges are built)", () => {
    const err = thrown(() => new nn.EinMix('a (b 2) -> a c', 'b c', null, { b: 2, c: 3 }));
    expect(err.reason).toBe("anonymous axis '2' in EinMix");
    expect(err.hint).toBe('name the axis and give its length in axesLengths');
  });
});

describe('argument checks name their op and argument', () => {
  const x = zeros([1, 1, 4, 4]);

  it('unfold: the input and the options', () => {
    expect(thrown(() => F.unfold(5 as never, { kernelSize: 2 })).op).toBe('unfold');
    const options = thrown(() => F.unfold(x, 5 as never));
    expect(options.op).toBe('unfold');
    expect(options.reason).toMatch(/^options must be an object/);
  });

  it("conv2d: a weight that is not 4-D, and a stride that is not positive", () => {
    const rank = thrown(() => F.conv2d(x, zeros([1, 1, 2])));
    expect(rank.op).toBe('conv2d');
    expect(rank.reason).toBe('expected a 4-D [out, in/groups, kh, kw] weight, got a 3-D tensor');
    const stride = thrown(() => F.conv2d(x, zeros([1, 1, 2, 2]), null, { stride: 0 }));
    expect(stride.op).toBe('conv2d');
    expect(stride.reason).toBe('kernelSize, dilation and stride must be positive');
  });

  it('init.zeros_, Softmax and registerParameter', () => {
    expect(thrown(() => nn.init.zeros_(5 as never)).op).toBe('zeros_');
    expect(thrown(() => new nn.Softmax(1.5)).op).toBe('Softmax');
    const reg = thrown(() => new nn.Module().registerParameter(5 as never, null));
    expect(reg.op).toBe('registerParameter');
    expect(reg.reason).toMatch(/^name must be a string/);
  });

  it('zeros_ still zeroes a tensor in place', () => {
    const t = tensor([1, 2, 3]);
    expect(nn.init.zeros_(t)).toBe(t);
    expect(t.toArray()).toEqual([0, 0, 0]);
  });
});
