/**
 * nn behaviour the other nn tests pass through without pinning: EinMix.forward and ModuleList.at name
 * themselves (and the argument) when refusing a bad argument; crossEntropy compares a target's rank and sizes
 * (a prefix of the class shape is not enough), for class-index and probability targets alike; the fan-based
 * initializers refuse a tensor with fewer than 2 dimensions with PyTorch's message; BatchNorm's
 * numBatchesTracked is an int32 scalar on the layer's device. Expected values are PyTorch's wording or read off
 * the arguments.
 */
import { describe, expect, it } from 'vitest';
import { tensor, zeros, type Tensor } from '../../src/index.js';
import { DEVICES } from '../helpers/devices.js';
import { nn } from './nn.js';
import { thrown } from '../helpers/thrown.js';

const F = nn.functional;

describe('argument checks name their op', () => {
  it('EinMix.forward refuses a non-tensor input as EinMix.forward', () => {
    const mix = new nn.EinMix('b c -> b d', 'c d', null, { c: 2, d: 3 });
    const err = thrown(() => mix.forward(5 as unknown as Tensor));
    expect(err.op).toBe('EinMix.forward');
    expect(err.reason).toBe('input must be a Tensor, got 5');
  });

  it('ModuleList.at refuses a non-integer index as ModuleList.at, naming the index', () => {
    const list = new nn.ModuleList([new nn.ReLU(), new nn.Identity()]);
    for (const [index, shown] of [['1', '"1"'], [0.5, '0.5']] as const) {
      const err = thrown(() => list.at(index as unknown as number));
      expect(err.op).toBe('ModuleList.at');
      expect(err.reason).toBe(`index must be an integer, got ${shown}`);
    }
  });
});

describe('crossEntropy compares target sizes, not only ranks', () => {
  const logits = tensor([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], { shape: [2, 3], dtype: 'float64' });

  it('a class-index target of the right rank and the wrong size is refused', () => {
    const err = thrown(() => F.crossEntropy(logits, tensor([0, 1, 2], { dtype: 'int32' })));
    expect(err.op).toBe('crossEntropy');
    expect(err.reason).toBe('expected targets of shape [2] for logits [2, 3], got [3]');
    expect(err.shapes).toEqual([[2, 3], [3]]);
  });

  it('a class-index target that is a prefix of the class shape is refused (its rank differs)', () => {
    // logits [N, C, d] = [2, 3, 4]: the class shape is [2, 4], and a target [2] holds only its first size.
    const volume = tensor(Array.from({ length: 24 }, (_, i) => i / 10), { shape: [2, 3, 4], dtype: 'float64' });
    const err = thrown(() => F.crossEntropy(volume, tensor([0, 1], { dtype: 'int32' })));
    expect(err.op).toBe('crossEntropy');
    expect(err.reason).toBe('expected targets of shape [2, 4] for logits [2, 3, 4], got [2]');
  });

  it('a floating target of the class shape\'s rank and other sizes is read as probabilities, and refused', () => {
    const err = thrown(() => F.crossEntropy(logits, tensor([0, 1, 2], { dtype: 'float64' })));
    expect(err.op).toBe('crossEntropy');
    expect(err.reason).toBe('probability targets must have the logits\' shape');
    expect(err.shapes).toEqual([[2, 3], [3]]);
  });
});

describe('fan-based initializers need at least 2 dimensions', () => {
  it('kaimingUniform_ and xavierNormal_ of a 1-D tensor are refused with PyTorch\'s message', () => {
    for (const fn of [(t: Tensor) => nn.init.kaimingUniform_(t), (t: Tensor) => nn.init.xavierNormal_(t)]) {
      const err = thrown(() => fn(zeros([4])));
      expect(err.op).toBe('init');
      expect(err.reason).toBe('fan in and fan out can not be computed for a tensor with fewer than 2 dimensions');
      expect(err.shapes).toEqual([[4]]);
    }
  });
});

describe("BatchNorm's numBatchesTracked", () => {
  it('is an int32 scalar zero, counting training batches', () => {
    const bn = new nn.BatchNorm1d(2, { dtype: 'float64' });
    expect(bn.numBatchesTracked.dtype).toBe('int32');
    expect(bn.numBatchesTracked.shape).toEqual([]);
    bn.forward(tensor([1, 2, 3, 5], { shape: [2, 2], dtype: 'float64' }));
    expect(Array.from(bn.numBatchesTracked.dataSync() as ArrayLike<number>)).toEqual([1]);
  });

  for (const device of DEVICES.filter((d) => d !== 'cpu')) {
    it(`lives on the layer's device (${device}), as its running statistics do`, () => {
      const bn = new nn.BatchNorm2d(3, { device });
      expect(bn.runningMean.device).toBe(device);
      expect(bn.numBatchesTracked.device).toBe(device);
      expect(bn.numBatchesTracked.dtype).toBe('int32');
    });
  }
});
