/**
 * nn behaviour the other nn tests pass through without pinning: unfold of a non-contiguous input (the window
 * view multiplies the input's own strides, the last one not 1), Dropout's closed range [0, 1] with PyTorch's
 * message, the shapes a MultiheadAttention shape error reports, the ops and argument names of kaimingNormal_,
 * parameterFull, registerBuffer's persistent flag and loadStateDict's state dict, crossEntropy's probability
 * target of another shape, EinMix's errors in its weight shape, and an EinMix pattern error raised by one of its
 * inner rearranges: told as EinMix's, under EinMix's pattern, without the span that pointed into the inner one.
 * Expected values are a float64 loop written here or PyTorch's wording.
 */
import { describe, expect, it } from 'vitest';
import { tensor, zeros, type Tensor } from '../../src/index.js';
import { nn } from './nn.js';
import { thrown } from '../helpers/thrown.js';

const F = nn.functional;
const values = (t: Tensor): number[] => Array.from(t.dataSync() as ArrayLike<number>);

describe('unfold of a transposed input', () => {
  it("reads the input through its strides (the last not 1), as PyTorch's F.unfold does", () => {
    // x is [1, 1, H, W] = [1, 1, 3, 5] as a transposed view of a contiguous [1, 1, 5, 3]: strides [15, 15, 1, 3].
    const H = 3, W = 5;
    const base = Array.from({ length: H * W }, (_, i) => (i * 7) % 11 - 5 + i / 8);
    const x = tensor(base, { shape: [1, 1, W, H], dtype: 'float64' }).permute([0, 1, 3, 2]);
    expect(x.strides[3]).not.toBe(1);
    const at = (i: number, j: number): number => base[j * H + i]!; // x[0, 0, i, j]
    // kernel [2, 2], stride [1, 2], dilation [1, 2], no padding: oh = 3 - 1 - 1 + 1 = 2, ow = (5 - 2 - 1) / 2 + 1 = 2.
    const kh = 2, kw = 2, sh = 1, sw = 2, dh = 1, dw = 2, oh = 2, ow = 2;
    const want: number[] = [];
    for (let a = 0; a < kh; a++) {
      for (let b = 0; b < kw; b++) {
        for (let y = 0; y < oh; y++) for (let z = 0; z < ow; z++) want.push(at(y * sh + a * dh, z * sw + b * dw));
      }
    }
    const got = F.unfold(x, { kernelSize: [kh, kw], stride: [sh, sw], dilation: [dh, dw] });
    expect(got.shape).toEqual([1, kh * kw, oh * ow]);
    expect(values(got)).toEqual(want);
  });
});

describe('Dropout', () => {
  it("takes p in [0, 1], both ends included, and refuses anything else with PyTorch's message", () => {
    expect(new nn.Dropout(0).p).toBe(0);
    expect(new nn.Dropout(1).p).toBe(1);
    for (const p of [-0.1, 1.5]) {
      const err = thrown(() => new nn.Dropout(p));
      expect(err.op).toBe('Dropout');
      expect(err.reason).toBe(`dropout probability has to be between 0 and 1, but got ${p}`);
    }
  });
});

describe('MultiheadAttention shape errors', () => {
  it('report the shapes of query, key and value', () => {
    const mha = new nn.MultiheadAttention(4, 2);
    const q = zeros([3, 2, 5]);
    const k = zeros([6, 2, 4]);
    const v = zeros([6, 2, 4]);
    const err = thrown(() => mha.forward(q, k, v));
    expect(err.reason).toBe('query has 5 features, expected embedDim = 4');
    expect(err.shapes).toEqual([[3, 2, 5], [6, 2, 4], [6, 2, 4]]);
  });
});

describe('argument errors name their op and argument', () => {
  it('kaimingNormal_', () => {
    const t = thrown(() => nn.init.kaimingNormal_([1, 2] as never));
    expect(t.op).toBe('kaimingNormal_');
    expect(t.reason).toMatch(/^input must be a Tensor/);
    const o = thrown(() => nn.init.kaimingNormal_(zeros([2, 3]), 5 as never));
    expect(o.op).toBe('kaimingNormal_');
    expect(o.reason).toMatch(/^options must be an object/);
  });

  it('parameterFull, which otherwise makes a Parameter of the value', () => {
    const p = nn.parameterFull([2, 3], 0.5);
    expect(p).toBeInstanceOf(nn.Parameter);
    expect(p.shape).toEqual([2, 3]);
    expect(values(p)).toEqual([0.5, 0.5, 0.5, 0.5, 0.5, 0.5]);
    const s = thrown(() => nn.parameterFull([2, -1], 0.5));
    expect(s.op).toBe('parameterFull');
    expect(s.reason).toMatch(/^shape /);
    const o = thrown(() => nn.parameterFull([2], 0.5, 'float32' as never));
    expect(o.op).toBe('parameterFull');
    expect(o.reason).toMatch(/^options must be an object/);
  });

  it("registerBuffer's persistent flag", () => {
    const m = new nn.Module();
    const err = thrown(() => m.registerBuffer('b', zeros([1]), 'yes' as never));
    expect(err.op).toBe('registerBuffer');
    expect(err.reason).toMatch(/^persistent must be true or false/);
  });

  it("loadStateDict's state dict (null and a number are not one)", () => {
    const m = new nn.Linear(2, 2);
    for (const bad of [null, 5]) {
      const err = thrown(() => m.loadStateDict(bad as never));
      expect(err.op).toBe('loadStateDict');
      expect(err.reason).toMatch(/^the state dict must be an object/);
    }
  });

  it("crossEntropy's probability target of another shape than the logits", () => {
    const logits = zeros([2, 3]);
    const err = thrown(() => F.crossEntropy(logits, zeros([2, 4])));
    expect(err.op).toBe('crossEntropy');
    expect(err.reason).toBe("probability targets must have the logits' shape");
    expect(err.shapes).toEqual([[2, 3], [2, 4]]);
  });
});

describe('EinMix errors', () => {
  it('in the weight shape say so', () => {
    const dup = thrown(() => new nn.EinMix('b c -> b d', 'c c', null, { c: 2, d: 3 }));
    expect(dup.op).toBe('EinMix');
    expect(dup.reason).toBe("axis 'c' appears twice in the weight shape");
    const unnamed = thrown(() => new nn.EinMix('b c -> b d', 'c _', null, { c: 2, d: 3 }));
    expect(unnamed.reason).toBe("'_' is not an axis name in the weight shape");
  });

  it("raised by an inner rearrange are EinMix's, under its pattern, with no span into the inner pattern", () => {
    // '(... d)' on the right takes a rearrange after the einsum, '... d ... -> (... d) ...', which refuses the
    // second '...' (einops refuses it too, when it parses the pattern). The span the rearrange gives points into
    // its own pattern, not EinMix's, so it is dropped.
    const post = '... c -> (... d) ...';
    const e1 = thrown(() => new nn.EinMix(post, 'c d', null, { c: 2, d: 3 }));
    expect(e1.op).toBe('EinMix');
    expect(e1.pattern).toBe(post);
    expect(e1.reason).toBe("more than one '...' on one side");
    expect(e1.span).toBeUndefined();
    // The same through the rearrange before the einsum ('(a b)' on the left composes).
    const pre = '... (a b) ... -> ... d';
    const e2 = thrown(() => new nn.EinMix(pre, 'a b d', null, { a: 2, b: 2, d: 3 }));
    expect(e2.op).toBe('EinMix');
    expect(e2.pattern).toBe(pre);
    expect(e2.reason).toBe("more than one '...' on one side");
    expect(e2.span).toBeUndefined();
  });
});
