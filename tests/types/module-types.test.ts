/**
 * nn.Module is generic over its forward signature. Checked by the type checker (`npm run typecheck` covers
 * tests/): every `@ts-expect-error` line must really be an error. The runtime part checks the calls run.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { nn, einsum, ones, type Tensor } from '../../src/index.js';

/** y_k = x1ᵀ W_k x2 + b_k (PyTorch's nn.Bilinear): a module with two inputs. */
class Bilinear extends nn.Module<[Tensor, Tensor]> {
  weight = new nn.Parameter(ones([3, 2, 4]));

  override forward(x1: Tensor, x2: Tensor): Tensor {
    return einsum('ni,kij,nj->nk', x1, this.weight, x2);
  }
}

const x1 = ones([5, 2]);
const x2 = ones([5, 4]);

describe('nn.Module forward signatures', () => {
  it('types a two-input module', () => {
    const bilinear = new Bilinear();
    expectTypeOf(bilinear.forward).parameters.toEqualTypeOf<[Tensor, Tensor]>();
    expectTypeOf(bilinear.forward(x1, x2)).toEqualTypeOf<Tensor>();
    expect(bilinear.forward(x1, x2).shape).toEqual([5, 3]);
    expect(Object.keys(bilinear.stateDict())).toEqual(['weight']);
  });

  it('makes a wrong call a type error', () => {
    const bilinear = new Bilinear();
    // @ts-expect-error one input where forward takes two
    expect(() => bilinear.forward(x1)).toThrow();
    // @ts-expect-error a number is not a tensor
    void (() => bilinear.forward(x1, 3));
    // @ts-expect-error a two-input module cannot be chained by Sequential
    void (() => new nn.Sequential(new nn.Linear(2, 2), bilinear));
  });

  it('types MultiheadAttention: (query, key, value, options) → [output, weights | null]', () => {
    const mha = new nn.MultiheadAttention(4, 2);
    const x = ones([3, 1, 4]);
    const [out, weights] = mha.forward(x, x, x, { needWeights: true });
    expectTypeOf(out).toEqualTypeOf<Tensor>();
    expectTypeOf(weights).toEqualTypeOf<Tensor | null>();
    // @ts-expect-error attention needs the key and the value
    void (() => mha.forward(x));
    // @ts-expect-error options are camelCase
    void (() => mha.forward(x, x, x, { need_weights: false }));
  });

  it('keeps single-input modules, Sequential and ModuleList as they were', () => {
    const seq = new nn.Sequential(new nn.Linear(2, 3), new nn.ReLU());
    expectTypeOf(seq.forward(x1)).toEqualTypeOf<Tensor>();
    expectTypeOf(new nn.Linear(2, 3).forward).parameters.toEqualTypeOf<[x: Tensor]>();
    const layers = new nn.ModuleList([new nn.MultiheadAttention(4, 2), new nn.MultiheadAttention(4, 2)]);
    expectTypeOf(layers.at(0)).toEqualTypeOf<nn.MultiheadAttention>();
    const mixed = new nn.ModuleList<nn.AnyModule>([new Bilinear(), new nn.Linear(2, 2)]);
    expect(mixed.length).toBe(2);
    expect(seq.forward(x1).shape).toEqual([5, 3]);
  });
});
