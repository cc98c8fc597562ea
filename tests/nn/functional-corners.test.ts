/**
 * Corners of nn.functional and the layers that the oracle tests do not reach: defaults (logSoftmax's dim,
 * dropout's training flag), a 2-D fold, unbatched crossEntropy, the range of labelSmoothing, conv2d's groups
 * check one clause at a time, and the op each argument error names. Expected values are a plain float64 loop
 * or derived by hand in the comments.
 */
import { describe, expect, it } from 'vitest';
import { tensor, type Tensor } from '../../src/index.js';
import { nn } from './nn.js';
import { thrown } from '../helpers/thrown.js';

const F = nn.functional;
const values = (t: Tensor): number[] => Array.from(t.dataSync() as ArrayLike<number>);

function expectClose(actual: number[], expected: number[], tol = 1e-12): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((v, i) => {
    if (!(Math.abs(v - expected[i]!) <= tol * (1 + Math.abs(expected[i]!)))) throw new Error(`element ${i}: ${v}, expected ${expected[i]}`);
  });
}

describe('defaults', () => {
  it('logSoftmax normalises over the last dimension unless told otherwise', () => {
    const shape = [2, 2, 3];
    const data = [0.5, -1, 2, 3, 0, 1, -2, 1.5, 0.25, 4, -0.5, 1];
    const expected: number[] = [];
    for (let r = 0; r < 4; r++) {
      const row = data.slice(3 * r, 3 * r + 3);
      const lse = Math.log(row.reduce((s, v) => s + Math.exp(v), 0));
      for (const v of row) expected.push(v - lse);
    }
    expectClose(values(F.logSoftmax(tensor(data, { shape, dtype: 'float64' }))), expected);
  });

  it('dropout trains by default: every element is dropped or scaled by 1 / (1 - p)', () => {
    const y = values(F.dropout(tensor(new Float64Array(1000).fill(1), { dtype: 'float64' })));
    expect(y.every((v) => v === 0 || v === 2)).toBe(true);
    const dropped = y.filter((v) => v === 0).length;
    // Binomial(1000, 1/2): 400..600 is more than six standard deviations (15.8) either side.
    expect(dropped).toBeGreaterThan(400);
    expect(dropped).toBeLessThan(600);
  });
});

describe('fold', () => {
  it('a 2-D [C·kh·kw, L] input folds to an unbatched [C, H, W]', () => {
    // One channel, 2x2 blocks over a 2x3 output, stride 1: two blocks, at columns 0 and 1. Column j of the input
    // lists block j's kernel positions (0,0), (0,1), (1,0), (1,1); where blocks overlap, their values add.
    const cols = tensor([[1, 10], [2, 20], [3, 30], [4, 40]], { dtype: 'float64' });
    const out = F.fold(cols, { outputSize: [2, 3], kernelSize: 2 });
    expect(out.shape).toEqual([1, 2, 3]);
    expect(values(out)).toEqual([1, 2 + 10, 20, 3, 4 + 30, 40]);
  });
});

describe('crossEntropy', () => {
  it('unbatched logits [C] with a 0-D class index', () => {
    const logits = [1, 2, 3];
    const lse = Math.log(logits.reduce((s, v) => s + Math.exp(v), 0));
    const loss = F.crossEntropy(tensor(logits, { dtype: 'float64' }), tensor(2, { dtype: 'int32' }));
    expect(loss.shape).toEqual([]);
    expectClose(values(loss), [lse - 3]);
  });

  it('labelSmoothing 1 is allowed: the target is uniform over the classes', () => {
    // Two equal logits: each log-probability is -ln 2, so the loss is ln 2.
    const loss = F.crossEntropy(tensor([[0, 0]], { dtype: 'float64' }), tensor([1], { dtype: 'int32' }), { labelSmoothing: 1 });
    expectClose(values(loss), [Math.LN2]);
  });

  it('labelSmoothing outside [0, 1] is refused', () => {
    const logits = tensor([[0, 1]], { dtype: 'float64' });
    const target = tensor([1], { dtype: 'int32' });
    for (const eps of [-0.1, 1.5]) {
      const err = thrown(() => F.crossEntropy(logits, target, { labelSmoothing: eps }));
      expect(err.reason).toBe(`labelSmoothing must be in [0, 1], got ${eps}`);
      expect(err.op).toBe('crossEntropy');
    }
  });
});

describe("conv2d's groups must fit the channels", () => {
  const conv = (c: number, weight: number[], groups: number): Tensor =>
    F.conv2d(tensor(new Float64Array(c * 4), { shape: [1, c, 2, 2], dtype: 'float64' }),
      tensor(new Float64Array(weight.reduce((a, b) => a * b, 1)), { shape: weight, dtype: 'float64' }), null, { groups });

  it.each([
    // Each case breaks one clause only.
    ['a fractional groups (3 channels, weight [3, 2, 1, 1], 1.5 * 2 = 3)', 3, [3, 2, 1, 1], 1.5],
    ['a negative groups on zero channels (every other clause holds)', 0, [2, 0, 1, 1], -1],
    ['out channels not divisible by groups (4 in, 3 out, groups 2)', 4, [3, 2, 1, 1], 2],
    ['a weight whose in-channels times groups is not the input channels', 4, [2, 4, 1, 1], 2],
  ])('%s', (_name, c, weight, groups) => {
    const err = thrown(() => conv(c, weight, groups));
    expect(err.reason).toMatch(/do not fit/);
    expect(err.op).toBe('conv2d');
  });

  it('a fitting groups convolves', () => {
    expect(conv(4, [2, 2, 1, 1], 2).shape).toEqual([1, 2, 2, 2]);
  });
});

describe('argument errors name their op', () => {
  it('pad names pad and the argument', () => {
    const x = tensor([1, 2], { dtype: 'float64' });
    expect(thrown(() => F.pad(5 as unknown as Tensor, [1, 1])).op).toBe('pad');
    const pads = thrown(() => F.pad(x, [1.5, 1]));
    expect(pads.op).toBe('pad');
    expect(pads.reason).toMatch(/^pads\[0\] must be/);
    const value = thrown(() => F.pad(x, [1, 1], 'a' as unknown as number));
    expect(value.op).toBe('pad');
    expect(value.reason).toMatch(/^value must be a number/);
  });

  it("a layer's forward names the layer", () => {
    expect(thrown(() => new nn.Conv2d(1, 1, 1).forward(5 as unknown as Tensor)).op).toBe('Conv2d.forward');
    expect(thrown(() => new nn.AvgPool2d(2).forward(5 as unknown as Tensor)).op).toBe('AvgPool2d.forward');
  });

  it('layerNorm names the trailing dimensions that do not match', () => {
    const x = tensor(new Float64Array(30), { shape: [2, 3, 5], dtype: 'float64' });
    const err = thrown(() => F.layerNorm(x, [4], null, null));
    expect(err.reason).toBe("the input's trailing dimensions [5] do not match normalizedShape [4]");
    expect(err.op).toBe('layerNorm');
  });

  it('ModuleList.append refuses what is not a Module', () => {
    const list = new nn.ModuleList();
    const err = thrown(() => list.append(5 as unknown as InstanceType<typeof nn.Module>));
    expect(err.reason).toBe('expected a Module, got 5');
    expect(err.op).toBe('ModuleList.append');
    expect(list.length).toBe(0);
  });
});
