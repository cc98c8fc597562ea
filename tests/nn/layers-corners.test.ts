/**
 * Corners of the nn layers and the functional ops' argument checks that the other nn tests do not name: the op
 * each check reports, constructor defaults (Flatten's dims, BatchNorm's affine, LayerNorm's bias, Linear's bias
 * and the sign range of its initial weights), CrossEntropyLoss without a target, and a parameter shared between
 * two modules. Expected values are written out by hand.
 */
import { describe, expect, it } from 'vitest';
import { tensor, zeros, type Tensor } from '../../src/index.js';
import { nn } from './nn.js';
import { thrown } from '../helpers/thrown.js';

const F = nn.functional;
const values = (t: Tensor): number[] => Array.from(t.dataSync() as ArrayLike<number>);

describe('functional argument checks name their op', () => {
  const x = zeros([1, 1, 2, 2]);

  it('relu, adaptiveAvgPool2d and embedding name themselves; embedding names its weight', () => {
    expect(thrown(() => F.relu(5 as never)).op).toBe('relu');
    expect(thrown(() => F.adaptiveAvgPool2d(5 as never, 1)).op).toBe('adaptiveAvgPool2d');
    expect(thrown(() => F.embedding(5 as never, zeros([2, 2]))).op).toBe('embedding');
    const w = thrown(() => F.embedding(tensor([0], { dtype: 'int32' }), 5 as never));
    expect(w.op).toBe('embedding');
    expect(w.reason).toMatch(/^weight must be a Tensor/);
    expect(values(F.adaptiveAvgPool2d(x.add(1), 1))).toEqual([1]);
  });

  it("crossEntropy's labelSmoothing must be a number", () => {
    const err = thrown(() => F.crossEntropy(zeros([2, 3]), tensor([0, 1], { dtype: 'int32' }), { labelSmoothing: 'a' as never }));
    expect(err.reason).toBe('labelSmoothing must be a number, got "a"');
    expect(err.op).toBe('crossEntropy');
  });
});

describe('layer constructors', () => {
  it('Linear has a bias unless told not to, and starts with weights of both signs within ±1/√in', () => {
    expect(new nn.Linear(2, 3).bias).not.toBeNull();
    expect(new nn.Linear(2, 3, { bias: false }).bias).toBeNull();
    expect(new nn.Linear(2, 3, { bias: true }).bias!.shape).toEqual([3]);
    const w = values(new nn.Linear(100, 20).weight);
    expect(Math.min(...w)).toBeLessThan(0);
    expect(Math.max(...w)).toBeGreaterThan(0);
    expect(w.every((v) => Math.abs(v) <= 0.1)).toBe(true);
  });

  it('Embedding prints its sizes', () => {
    expect(new nn.Embedding(4, 5).toString()).toBe('Embedding(4, 5)');
  });

  it('Flatten flattens from dim 1 to the last by default', () => {
    expect(new nn.Flatten().forward(zeros([2, 3, 4])).shape).toEqual([2, 12]);
    expect(new nn.Flatten(0).forward(zeros([2, 3, 4])).shape).toEqual([24]);
  });

  it('Dropout, MaxPool2d, CrossEntropyLoss and MSELoss name themselves in argument errors', () => {
    const p = thrown(() => new nn.Dropout('a' as never));
    expect(p.op).toBe('Dropout');
    expect(p.reason).toBe('p must be a number, got "a"');
    expect(thrown(() => new nn.MaxPool2d(2, 5 as never)).op).toBe('MaxPool2d');
    expect(thrown(() => new nn.CrossEntropyLoss(5 as never)).op).toBe('CrossEntropyLoss');
    const r = thrown(() => new nn.MSELoss('avg' as never));
    expect(r.op).toBe('MSELoss');
    expect(r.reason).toBe(`reduction must be one of 'mean', 'sum', 'none', got "avg"`);
  });

  it('BatchNorm has an affine weight and bias unless affine is false', () => {
    const bn = new nn.BatchNorm2d(4);
    expect(values(bn.weight!)).toEqual([1, 1, 1, 1]);
    expect(bn.parameters().length).toBe(2);
    const plain = new nn.BatchNorm2d(4, { affine: false });
    expect(plain.weight).toBeNull();
    expect(plain.parameters().length).toBe(0);
  });

  it('LayerNorm has a bias unless told not to; a non-boolean bias is refused as LayerNorm', () => {
    expect(new nn.LayerNorm(4).bias).not.toBeNull();
    expect(new nn.LayerNorm(4, { bias: false }).bias).toBeNull();
    expect(new nn.LayerNorm(4, { bias: false }).weight).not.toBeNull();
    const err = thrown(() => new nn.LayerNorm(4, { bias: 'x' as never }));
    expect(err.op).toBe('LayerNorm');
    expect(err.reason).toBe('bias must be true or false, got "x"');
  });
});

describe('CrossEntropyLoss', () => {
  it('forward without a target says what it needs', () => {
    const loss = new nn.CrossEntropyLoss();
    const err = thrown(() => (loss.forward as (l: Tensor) => Tensor)(zeros([2, 3])));
    expect(err.reason).toBe('CrossEntropyLoss.forward needs (logits, target)');
    expect(err.op).toBe('CrossEntropyLoss');
    // Uniform logits over 3 classes: the loss is log 3 whatever the target.
    expect(Math.abs(values(loss.forward(zeros([2, 3]), tensor([0, 2], { dtype: 'int32' })))[0]! - Math.log(3))).toBeLessThan(1e-6);
  });
});

describe('a parameter shared between two modules', () => {
  it('is listed once, under its first name', () => {
    const a = new nn.Linear(2, 2, { bias: false });
    const b = new nn.Linear(2, 2, { bias: false });
    b.weight = a.weight;
    const seq = new nn.Sequential(a, b);
    expect([...seq.namedParameters()].map(([k]) => k)).toEqual(['0.weight']);
    expect(seq.numParameters()).toBe(4);
  });
});
