/**
 * Every gradient rule checked numerically: random shapes from fast-check, random values, contiguous and
 * non-contiguous inputs, central finite differences in float64 against the analytic gradient.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  Tensor, tensor, cat, stack, where, einsum, rearrange, reduce, repeat, pack, unpack,
  tensordot, outer, inner, dot, kron, diagonal, trace, type Reduction,
} from '../../src/index.js';
import { binaryScalarLeft } from '../../src/runtime/ops.js';
import { gradcheck, nonContiguous, randomTensor } from './gradcheck.js';

const RUNS = { numRuns: 12 };

const shapeArb = (minRank = 0, maxRank = 3, maxDim = 3): fc.Arbitrary<number[]> =>
  fc.array(fc.integer({ min: 1, max: maxDim }), { minLength: minRank, maxLength: maxRank });

/** A shape broadcastable to `shape`: some leading dims dropped, some others set to 1. */
const broadcastOf = (shape: readonly number[]): fc.Arbitrary<number[]> =>
  fc.tuple(fc.integer({ min: 0, max: shape.length }), fc.array(fc.boolean(), { minLength: shape.length, maxLength: shape.length }))
    .map(([drop, ones]) => shape.map((n, i) => (ones[i] ? 1 : n)).slice(drop));

/** A random input, laid out contiguously, strided, or strided backwards. */
function input(shape: readonly number[], seed: number, layout: number, lo = -2, hi = 2): Tensor {
  const t = randomTensor(shape, seed, lo, hi);
  return layout === 0 ? t : nonContiguous(t, layout === 2);
}

const layoutArb = fc.integer({ min: 0, max: 2 });
const seedArb = fc.integer({ min: 1, max: 2 ** 30 });

/** fast-check over (shape, seed, layout) for a one-input function. */
function checkUnary(fn: (x: Tensor) => Tensor, lo = -2, hi = 2, shapes = shapeArb(), tol = {}): void {
  fc.assert(fc.property(shapes, seedArb, layoutArb, (shape, seed, layout) => {
    gradcheck(fn, [input(shape, seed, layout, lo, hi)], tol);
  }), RUNS);
}

/** fast-check over two broadcast-compatible inputs (either may be the smaller one). */
function checkBinary(fn: (a: Tensor, b: Tensor) => Tensor, [alo, ahi]: [number, number], [blo, bhi]: [number, number], tol = {}): void {
  const arb = shapeArb().chain((s) => fc.tuple(fc.constant(s), broadcastOf(s), fc.boolean()));
  fc.assert(fc.property(arb, seedArb, layoutArb, layoutArb, ([big, small, swap], seed, la, lb) => {
    const [sa, sb] = swap ? [small, big] : [big, small];
    gradcheck(fn, [input(sa, seed, la, alo, ahi), input(sb, seed + 1, lb, blo, bhi)], tol);
  }), RUNS);
}

/** A tensor requiring grad from nested data, float64. */
const leaf = (data: number[] | number[][], requiresGrad = true): Tensor => tensor(data, { dtype: 'float64', requiresGrad });
const values = (t: Tensor | null): number[] => Array.from((t as Tensor).dataSync() as ArrayLike<number>);

/** Keeps values at least `gap` away from 0 (for abs, relu, sign...), preserving sign. */
const awayFromZero = (x: Tensor, gap = 0.1): Tensor => x.add(x.sign().mul(gap));

describe('elementwise unary rules', () => {
  const cases: [string, (x: Tensor) => Tensor, number, number][] = [
    ['neg', (x) => x.neg(), -2, 2],
    ['abs', (x) => awayFromZero(x).abs(), -2, 2],
    ['exp', (x) => x.exp(), -2, 2],
    ['log', (x) => x.log(), 0.3, 3],
    ['sqrt', (x) => x.sqrt(), 0.3, 3],
    ['rsqrt', (x) => x.rsqrt(), 0.3, 3],
    ['relu', (x) => awayFromZero(x).relu(), -2, 2],
    ['sigmoid', (x) => x.sigmoid(), -3, 3],
    ['tanh', (x) => x.tanh(), -2, 2],
    ['gelu', (x) => x.gelu(), -3, 3],
    ['erf', (x) => x.erf(), -2, 2],
    ['sin', (x) => x.sin(), -3, 3],
    ['cos', (x) => x.cos(), -3, 3],
    ['reciprocal', (x) => x.reciprocal(), 0.4, 2],
    ['square', (x) => x.square(), -2, 2],
    ['sign (zero gradient)', (x) => awayFromZero(x).sign(), -2, 2],
    ['floor (zero gradient)', (x) => x.floor(), 0.05, 0.95],
    ['clamp (inside and outside the range)', (x) => x.clamp(-0.5, 0.5), -2, 2],
    ['pow by a scalar', (x) => x.pow(2.5), 0.3, 2],
    ['scalar arithmetic', (x) => x.add(2).sub(0.5).mul(3).div(4), -2, 2],
    ['scalar maximum/minimum', (x) => x.maximum(0.25).minimum(1.5), -2, 2],
    ['scalar remainder', (x) => x.remainder(0.7), 0.05, 0.65],
    ['scalar on the left: 1 - x, 2 / x, 3 ** x', (x) => binaryScalarLeft('sub', 1, x).add(binaryScalarLeft('div', 2, x)).add(binaryScalarLeft('pow', 3, x)), 0.5, 2],
    ['scalar on the left: max(1, x), min(1, x)', (x) => binaryScalarLeft('max', 1, x).mul(binaryScalarLeft('min', 1, x)), 0.1, 0.9],
  ];
  for (const [name, fn, lo, hi] of cases) it(name, () => checkUnary(fn, lo, hi));
});

describe('elementwise binary rules with broadcasting', () => {
  it('add', () => checkBinary((a, b) => a.add(b), [-2, 2], [-2, 2]));
  it('add with alpha', () => checkBinary((a, b) => a.add(b, 2.5), [-2, 2], [-2, 2]));
  it('sub', () => checkBinary((a, b) => a.sub(b), [-2, 2], [-2, 2]));
  it('mul', () => checkBinary((a, b) => a.mul(b), [-2, 2], [-2, 2]));
  it('div', () => checkBinary((a, b) => a.div(b), [-2, 2], [0.5, 2]));
  it('pow (base and exponent)', () => checkBinary((a, b) => a.pow(b), [0.5, 2], [-1.5, 1.5]));
  it('maximum', () => checkBinary((a, b) => a.maximum(b), [-2, 2], [-2, 2]));
  it('minimum', () => checkBinary((a, b) => a.minimum(b), [-2, 2], [-2, 2]));
  it('remainder', () => checkBinary((a, b) => a.remainder(b), [0.1, 1.4], [1.5, 2]));
  it('the same tensor on both sides (gradients add up)', () => checkUnary((x) => x.mul(x).add(x)));
  it('where with broadcast branches', () => checkBinary((a, b) => where(a.gt(0.1), a, b), [-2, 2], [-2, 2]));
  it('where with a scalar branch', () => checkUnary((x) => where(x.gt(0), x.mul(2), 0.5)));

  it('clamp passes the whole gradient at a bound and relu none at 0, as PyTorch does', () => {
    const x = leaf([-1, 0, 0.5, 1, 2]);
    x.clamp(0, 1).sum().backward();
    expect(values(x.grad)).toEqual([0, 1, 1, 1, 0]);
    const y = leaf([-1, 0, 2]);
    y.relu().sum().backward();
    expect(values(y.grad)).toEqual([0, 0, 1]);
  });

  it('maximum/minimum split ties evenly, as PyTorch does', () => {
    const a = leaf([1, 2, 3]);
    const b = leaf([1, 5, 3]);
    a.maximum(b).sum().backward();
    expect(values(a.grad)).toEqual([0.5, 0, 0.5]);
    expect(values(b.grad)).toEqual([0.5, 1, 0.5]);
    const c = leaf([1, 2, 3]);
    c.minimum(2).sum().backward();
    expect(values(c.grad)).toEqual([1, 0.5, 0]);
  });
});

describe('reduction rules', () => {
  const dimsArb = shapeArb(1, 3).chain((shape) => fc.tuple(
    fc.constant(shape),
    fc.subarray(shape.map((_, i) => i), { minLength: 1 }),
    fc.boolean(),
  ));
  const checkReduce = (fn: (x: Tensor, dims: number[], keep: boolean) => Tensor, lo = -2, hi = 2): void => {
    fc.assert(fc.property(dimsArb, seedArb, layoutArb, ([shape, dims, keep], seed, layout) => {
      gradcheck((x) => fn(x, dims, keep), [input(shape, seed, layout, lo, hi)]);
    }), RUNS);
  };
  it('sum over dims, keepdim or not', () => checkReduce((x, d, k) => x.sum(d, k)));
  it('sum over everything', () => checkUnary((x) => x.sum()));
  it('mean', () => checkReduce((x, d, k) => x.mean(d, k)));
  it('prod', () => checkReduce((x, d, k) => x.prod(d, k), 0.5, 1.5));
  it('prod with zeros (one zero gets the product of the rest, two zeros give 0)', () => {
    const x = leaf([[2, 0, 3], [0, 0, 4], [1, 2, 3]]);
    x.prod(1).sum().backward();
    expect(values(x.grad)).toEqual([0, 6, 0, 0, 0, 0, 6, 3, 2]);
  });
  it('max (distinct values)', () => checkReduce((x, d, k) => x.max(d, k)));
  it('min (distinct values)', () => checkReduce((x, d, k) => x.min(d, k)));
  it('var and std', () => checkReduce((x, d, k) => {
    // std of a single element is sqrt(0): its gradient is NaN, as in PyTorch.
    const count = d.reduce((n, i) => n * x.shape[i]!, 1);
    return count > 1 ? x.var(d, k).add(x.std(d, k, 0)) : x.var(d, k, 0);
  }));

  it('max/min over all elements split ties evenly', () => {
    const x = leaf([[1, 5, 5], [2, 5, 0]]);
    x.max().backward();
    expect(values(x.grad)).toEqual([0, 1 / 3, 1 / 3, 0, 1 / 3, 0]);
    const y = leaf([[0, 1, 0], [3, 3, 0]]);
    y.min().mul(6).backward();
    expect(values(y.grad)).toEqual([2, 0, 2, 0, 0, 2]);
  });
  it('max/min along a dim split ties per slice', () => {
    const x = leaf([[1, 5, 5], [2, 1, 0]]);
    x.max(1).mul(tensor([2, 3], { dtype: 'float64' })).sum().backward();
    expect(values(x.grad)).toEqual([0, 1, 1, 3, 0, 0]);
    const y = leaf([[1, 1], [1, 0]]);
    y.min(0, true).sum().backward();
    expect(values(y.grad)).toEqual([0.5, 0, 0.5, 1]);
  });
  it("einops reduce 'max' and 'min' split ties evenly", () => {
    const x = leaf([[4, 4, 1, 2], [0, 3, 3, 3]]);
    reduce(x, 'a (b c) -> a b', 'max', { c: 2 }).sum().backward();
    expect(values(x.grad)).toEqual([0.5, 0.5, 0, 1, 0, 1, 0.5, 0.5]);
    const y = leaf([[4, 4, 1, 2], [0, 3, 3, 3]]);
    reduce(y, 'a b -> b', 'min').sum().backward();
    expect(values(y.grad)).toEqual([0, 0, 1, 1, 1, 1, 0, 0]);
  });
});

describe('matmul rules', () => {
  const mm = (m: number, k: number, n: number, seed: number): Tensor[] => [input([m, k], seed, seed % 3), input([k, n], seed + 1, (seed + 1) % 3)];
  const dim = fc.integer({ min: 1, max: 4 });
  it('2-D @ 2-D', () => fc.assert(fc.property(dim, dim, dim, seedArb, (m, k, n, s) => { gradcheck((a, b) => a.matmul(b), mm(m, k, n, s)); }), RUNS));
  it('1-D @ 1-D, 1-D @ 2-D, 2-D @ 1-D', () => fc.assert(fc.property(dim, dim, seedArb, (k, n, s) => {
    gradcheck((a, b) => a.matmul(b), [input([k], s, 0), input([k], s + 1, 1)]);
    gradcheck((a, b) => a.matmul(b), [input([k], s, 2), input([k, n], s + 1, 1)]);
    gradcheck((a, b) => a.matmul(b), [input([n, k], s, 1), input([k], s + 1, 2)]);
  }), RUNS));
  it('batched with broadcast batch dims', () => {
    const batchArb = shapeArb(0, 2, 3).chain((s) => fc.tuple(fc.constant(s), broadcastOf(s), fc.boolean()));
    fc.assert(fc.property(batchArb, dim, dim, dim, seedArb, layoutArb, ([big, small, swap], m, k, n, s, layout) => {
      const [ba, bb] = swap ? [small, big] : [big, small];
      gradcheck((a, b) => a.matmul(b), [input([...ba, m, k], s, layout), input([...bb, k, n], s + 1, 2 - layout)]);
    }), RUNS);
  });
  it('batched @ 1-D and 1-D @ batched', () => {
    gradcheck((a, b) => a.matmul(b), [input([2, 3, 4], 1, 1), input([4], 2, 0)]);
    gradcheck((a, b) => a.matmul(b), [input([3], 3, 0), input([2, 3, 4], 4, 2)]);
  });
  it('mm and bmm', () => {
    gradcheck((a, b) => a.mm(b), [input([2, 3], 5, 1), input([3, 2], 6, 2)]);
    gradcheck((a, b) => a.bmm(b), [input([2, 2, 3], 7, 2), input([2, 3, 4], 8, 0)]);
  });
});

describe('cast rules', () => {
  it('the gradient comes back in the input dtype', () => {
    const x = tensor([1, 2, 3], { dtype: 'float64', requiresGrad: true });
    const y = x.cast('float32').mul(3).cast('float64').sum();
    y.backward();
    expect(x.grad?.dtype).toBe('float64');
    expect(values(x.grad)).toEqual([3, 3, 3]);
    const z = tensor([1, 2], { dtype: 'float32', requiresGrad: true });
    z.double().mul(tensor([0.1, 0.2], { dtype: 'float64' })).sum().backward();
    expect(z.grad?.dtype).toBe('float32');
    expect(values(z.grad)).toEqual([Math.fround(0.1), Math.fround(0.2)]);
  });
  it('a cast to an integer type leaves the graph', () => {
    const x = tensor([1.5, 2.5], { dtype: 'float64', requiresGrad: true });
    expect(x.cast('int32').requiresGrad).toBe(false);
    expect(x.cast('bool').requiresGrad).toBe(false);
  });
  it('float64 to float64 is the identity', () => checkUnary((x) => x.cast('float64').mul(2)));
});

describe('joining rules', () => {
  const catArb = shapeArb(1, 3).chain((shape) => fc.tuple(
    fc.constant(shape),
    fc.integer({ min: 0, max: shape.length - 1 }),
    fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }),
  ));
  it('cat along any dim', () => fc.assert(fc.property(catArb, seedArb, ([shape, d, lens], s) => {
    const xs = lens.map((n, i) => input(shape.map((m, j) => (j === d ? n : m)), s + i, (s + i) % 3));
    gradcheck((...ts) => cat(ts, d), xs);
  }), RUNS));
  it('stack along any dim (including negative)', () => fc.assert(fc.property(shapeArb(0, 2), seedArb, fc.integer({ min: 1, max: 3 }), (shape, s, count) => {
    const xs = Array.from({ length: count }, (_, i) => input(shape, s + i, i % 3));
    gradcheck((...ts) => stack(ts, 0), xs);
    gradcheck((...ts) => stack(ts, -1), xs);
  }), RUNS));
  it('cat with an input that does not require grad', () => {
    const a = leaf([1, 2]);
    const b = leaf([3], false);
    cat([a, b]).mul(tensor([1, 2, 3], { dtype: 'float64' })).sum().backward();
    expect(values(a.grad)).toEqual([1, 2]);
    expect(b.grad).toBeNull();
  });
});

describe('view and slicing rules', () => {
  it('reshape, view, flatten, unflatten', () => checkUnary((x) => x.reshape([-1]).view([x.size, 1]).flatten().unflatten(0, [x.size, 1]).mul(x.reshape([x.size, 1]))));
  it('permute, transpose, T, mT', () => checkUnary((x) => x.permute([2, 0, 1]).transpose(0, 2).T.mT.mul(2), -2, 2, shapeArb(3, 3)));
  it('squeeze and unsqueeze', () => checkUnary((x) => x.unsqueeze(0).unsqueeze(-1).squeeze().mul(x.squeeze())));
  it('expand (size-1 and new leading dims)', () => fc.assert(fc.property(shapeArb(1, 3).chain((s) => fc.tuple(fc.constant(s), broadcastOf(s))), seedArb, layoutArb, ([big, small], s, layout) => {
    gradcheck((x) => x.expand([2, ...big]).mul(randomTensor([2, ...big], 99)), [input(small, s, layout)]);
  }), RUNS));
  it('slice with any start, stop and step (negative steps too)', () => {
    const arb = shapeArb(1, 3).chain((shape) => fc.tuple(
      fc.constant(shape),
      fc.integer({ min: 0, max: shape.length - 1 }),
      fc.option(fc.integer({ min: -4, max: 4 })),
      fc.option(fc.integer({ min: -4, max: 4 })),
      fc.integer({ min: -3, max: 3 }).filter((v) => v !== 0),
    ));
    fc.assert(fc.property(arb, seedArb, layoutArb, ([shape, d, start, stop, step], s, layout) => {
      gradcheck((x) => x.slice(d, start ?? undefined, stop ?? undefined, step).mul(3), [input(shape, s, layout)]);
    }), RUNS);
  });
  it('select, narrow and index strings', () => {
    gradcheck((x) => x.select(1, -1).mul(x.select(0, 0)), [input([3, 3], 1, 2)]);
    gradcheck((x) => x.narrow(1, 1, 2).sum(1), [input([2, 4], 2, 1)]);
    gradcheck((x) => x.index('::-1', 1, null, '1:').mul(2), [input([3, 2, 4], 3, 2)]);
    gradcheck((x) => x.index('...', '::-2'), [input([2, 5], 4, 1)]);
  });
  it('a view of a view that overlaps its base (x and x[1:] together)', () => checkUnary((x) => x.slice(-1, 1).mul(x.slice(-1, 0, -1)), -2, 2, shapeArb(1, 3).filter((s) => s[s.length - 1]! > 1)));
  it('contiguous and clone', () => checkUnary((x) => x.contiguous().mul(x.clone())));
  it('diagonal with offsets and dims', () => {
    gradcheck((x) => diagonal(x), [input([3, 3], 1, 1)]);
    gradcheck((x) => diagonal(x, 1), [input([3, 4], 2, 2)]);
    gradcheck((x) => diagonal(x, -1, 0, 2), [input([3, 2, 4], 3, 0)]);
  });
});

describe('einops rules', () => {
  const sizes = fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }));
  it('rearrange: transpose, split, merge (the inverse pattern is the rule)', () => fc.assert(fc.property(sizes, seedArb, layoutArb, ([a, b, c], s, layout) => {
    gradcheck((x) => rearrange(x, 'a (b c) -> c a b', { c }), [input([a, b * c], s, layout)]);
    gradcheck((x) => rearrange(x, 'a b c -> (c a) b'), [input([a, b, c], s + 1, layout)]);
    gradcheck((x) => rearrange(x, 'a b c -> b (a c)'), [input([a, b, c], s + 2, 2 - layout)]);
  }), RUNS));
  it('rearrange of a list of tensors (stacked first)', () => {
    gradcheck((x, y) => rearrange([x, y], 'n a b -> a (b n)'), [input([2, 3], 1, 1), input([2, 3], 2, 2)]);
  });
  const reductions: Reduction[] = ['sum', 'mean', 'max', 'min', 'prod'];
  for (const r of reductions) {
    it(`reduce '${r}'`, () => fc.assert(fc.property(sizes, seedArb, layoutArb, ([a, b, c], s, layout) => {
      const [lo, hi] = r === 'prod' ? [0.5, 1.5] : [-2, 2];
      gradcheck((x) => reduce(x, 'a (b c) -> c a', r, { c }), [input([a, b * c], s, layout, lo, hi)]);
      gradcheck((x) => reduce(x, 'a b c -> ', r), [input([a, b, c], s + 1, layout, lo, hi)]);
      gradcheck((x) => reduce(x, 'a b (c 1) -> a 1 c', r), [input([a, b, c], s + 2, 2 - layout, lo, hi)]);
    }), RUNS));
  }
  it('reduce with a custom reduction', () => {
    gradcheck((x) => reduce(x, 'a b -> a', (t, axes) => t.square().sum(axes)), [input([2, 3], 3, 1)]);
  });
  it('repeat: new axes, tiled axes (its rule is a sum)', () => fc.assert(fc.property(sizes, seedArb, layoutArb, ([a, b, c], s, layout) => {
    gradcheck((x) => repeat(x, 'a b -> a b c', { c }), [input([a, b], s, layout)]);
    gradcheck((x) => repeat(x, 'a b -> (2 a) (b 3)'), [input([a, b], s + 1, layout)]);
    gradcheck((x) => repeat(x, 'a -> b a c', { b, c }).mul(randomTensor([b, a, c], 7)), [input([a], s + 2, layout)]);
  }), RUNS));
  it('pack and unpack', () => fc.assert(fc.property(sizes, seedArb, ([a, b, c], s) => {
    const xs = [input([a, c], s, 1), input([a, b, 2, c], s + 1, 2), input([a, 1, c], s + 2, 0)];
    gradcheck((...ts) => pack(ts, 'a * c')[0].mul(2), xs);
    const [, shapes] = pack(xs, 'a * c');
    const packed = input([a, 1 + b * 2 + 1, c], s + 3, 1);
    gradcheck((p) => {
      const [u, v, w] = unpack(p, shapes, 'a * c');
      return u!.sum(1).add(v!.square().sum([1, 2, 3])).add(w!.sum([1, 2]).mul(3));
    }, [packed]);
  }), RUNS));
});

describe('einsum family rules', () => {
  it('tensordot with a count and with axis lists', () => {
    gradcheck((a, b) => tensordot(a, b, 1), [input([2, 3], 1, 1), input([3, 4], 2, 2)]);
    gradcheck((a, b) => tensordot(a, b, 2), [input([2, 3, 4], 3, 0), input([3, 4, 2], 4, 1)]);
    gradcheck((a, b) => tensordot(a, b, [[1, 0], [0, 2]]), [input([2, 3, 2], 5, 2), input([3, 2, 2], 6, 1)]);
    gradcheck((a, b) => tensordot(a, b, 0), [input([2], 7, 0), input([3], 8, 1)]);
  });
  it('outer, inner, dot', () => {
    gradcheck((a, b) => outer(a, b), [input([3], 1, 2), input([2], 2, 1)]);
    gradcheck((a, b) => inner(a, b), [input([2, 3], 3, 1), input([4, 3], 4, 2)]);
    gradcheck((a, b) => dot(a, b), [input([3], 5, 0), input([3], 6, 2)]);
    gradcheck((a, b) => dot(a, b), [input([2, 3], 7, 0), input([3, 2], 8, 1)]);
  });
  it('kron of equal and unequal ranks', () => {
    gradcheck((a, b) => kron(a, b), [input([2, 3], 1, 1), input([2, 2], 2, 2)]);
    gradcheck((a, b) => kron(a, b), [input([3], 3, 0), input([2, 2], 4, 1)]);
  });
  it('trace', () => {
    gradcheck((x) => trace(x), [input([3, 3], 1, 2)]);
    gradcheck((x) => trace(x), [input([2, 4], 2, 1)]);
    gradcheck((x) => einsum('ii', x), [input([3, 3], 3, 1)]);
  });
});

describe('composite expressions', () => {
  it('a small MLP with softmax cross-entropy', () => {
    gradcheck((x, w1, w2) => {
      const h = einsum('bi,io->bo', x, w1).tanh();
      const logits = h.matmul(w2);
      const m = logits.max(1, true);
      const lse = logits.sub(m).exp().sum(1, true).log().add(m);
      return logits.sub(lse).select(1, 0).mean().neg();
    }, [input([4, 3], 1, 1), input([3, 5], 2, 2), input([5, 2], 3, 0)]);
  });
  it('gradients of float32 inputs match float64 to float32 precision', () => {
    const a64 = randomTensor([3, 4], 11);
    const a32 = a64.cast('float32');
    a64.requiresGrad = true;
    a32.requiresGrad = true;
    for (const a of [a64, a32]) einsum('ij,ij->i', a.exp(), a).sum().backward();
    const g64 = values(a64.grad);
    values(a32.grad).forEach((v, i) => expect(v).toBeCloseTo(g64[i]!, 5));
  });
});
