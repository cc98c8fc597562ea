/**
 * Unit tests of the tensor runtime: creation, export, printing, views and in-place writes, every misuse
 * throwing EinjitError, and autograd (basics plus finite-difference gradient checks in float64).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  EinjitError, Tensor, arange, cat, eye, fromArray, full, fullLike, hstack, linspace, manualSeed, matmul, noGrad, ones,
  onesLike, rand, randLike, randint, randn, stack, tensor, vstack, where, zeros, zerosLike,
} from '../../src/index.js';

const values = (t: Tensor): number[] => Array.from(t.dataSync(), Number);

describe('creating tensors', () => {
  it('makes float32 from nested numbers, bool from booleans, and honours dtype', () => {
    const x = tensor([[1, 2], [3, 4]]);
    expect(x.dtype).toBe('float32');
    expect(x.shape).toEqual([2, 2]);
    expect(x.ndim).toBe(2);
    expect(x.size).toBe(4);
    expect(x.device).toBe('cpu');
    expect(tensor([true, false]).dtype).toBe('bool');
    expect(tensor([true, 2]).dtype).toBe('float32');
    expect(tensor([true, 2]).toArray()).toEqual([1, 2]);
    expect(tensor([1, 2], { dtype: 'int32' }).dtype).toBe('int32');
    expect(tensor(7).shape).toEqual([]);
    expect(tensor([[]]).shape).toEqual([1, 0]);
  });

  it('copies a typed array given with a shape, so later writes to the array are not seen', () => {
    const data = new Float32Array(24).map((_, i) => i);
    const y = tensor(data, { shape: [2, 3, 4] });
    data[0] = 99;
    expect(y.shape).toEqual([2, 3, 4]);
    expect(values(y)[0]).toBe(0);
    expect(tensor(new Int32Array([1, 2])).dtype).toBe('int32');
    expect(tensor(new Float64Array([1, 2])).dtype).toBe('float64');
  });

  it('copies a tensor given to tensor() and detaches it from the graph', () => {
    const a = tensor([1, 2], { requiresGrad: true });
    const b = tensor(a);
    expect(b.storage).not.toBe(a.storage);
    expect(b.requiresGrad).toBe(false);
    expect(values(tensor(a, { dtype: 'float64' }))).toEqual([1, 2]);
  });

  it('shares memory with fromArray both ways, like torch.from_numpy', () => {
    const array = new Float64Array([0, 1, 2, 3, 4, 5, 6, 7]);
    const t = fromArray(array, [2, 4]);
    expect(t.dtype).toBe('float64');
    array[1] = 10;
    expect(values(t)[1]).toBe(10);
    t.index(1, 2).fill_(-1);
    expect(array[6]).toBe(-1);
    // A new tensor computed from it is not shared.
    const u = t.add(1);
    array[0] = 50;
    expect(values(u)[0]).toBe(1);
  });

  it('fills with zeros, ones and full, and keeps dtype and shape in the *Like forms', () => {
    expect(values(zeros([2, 3]))).toEqual([0, 0, 0, 0, 0, 0]);
    expect(values(ones([2]))).toEqual([1, 1]);
    expect(values(full([3], 2.5))).toEqual([2.5, 2.5, 2.5]);
    expect(full([2], true).dtype).toBe('bool');
    const i = arange(4);
    expect(zerosLike(i).dtype).toBe('int32');
    expect(values(onesLike(i))).toEqual([1, 1, 1, 1]);
    expect(values(fullLike(i, 7))).toEqual([7, 7, 7, 7]);
    expect(randLike(tensor([[1, 2]], { dtype: 'float64' })).dtype).toBe('float64');
    expect(zerosLike(i, { dtype: 'float32' }).dtype).toBe('float32');
  });

  it('counts with arange (int32 for integer arguments), spaces with linspace and builds eye', () => {
    expect(values(arange(5))).toEqual([0, 1, 2, 3, 4]);
    expect(arange(5).dtype).toBe('int32');
    expect(values(arange(0, 1000, 77))).toEqual([0, 77, 154, 231, 308, 385, 462, 539, 616, 693, 770, 847, 924]);
    expect(values(arange(1, 0, -0.25))).toEqual([1, 0.75, 0.5, 0.25]);
    expect(arange(0, 1, 0.25).dtype).toBe('float32');
    expect(values(arange(0, 12, 1, { dtype: 'float32' }))).toEqual(Array.from({ length: 12 }, (_, k) => k));
    const l = linspace(-1, 1, 5);
    expect(values(l)).toEqual([-1, -0.5, 0, 0.5, 1]);
    expect(values(linspace(0, 0.3, 7, { dtype: 'float64' })).at(-1)).toBe(0.3);
    expect(values(eye(2, 3))).toEqual([1, 0, 0, 0, 1, 0]);
  });

  it('makes manualSeed reproduce every later random call, and different seeds differ', () => {
    manualSeed(42);
    const a = [rand([3, 4]), randn([5]), randint(0, 10, [6])];
    manualSeed(42);
    const b = [rand([3, 4]), randn([5]), randint(0, 10, [6])];
    a.forEach((t, i) => expect(values(t)).toEqual(values(b[i]!)));
    manualSeed(43);
    expect(values(rand([3, 4]))).not.toEqual(values(a[0]!));
  });

  it('draws rand in [0, 1) and randn with mean near 0 and deviation near 1', () => {
    manualSeed(1);
    const u = values(rand([10000]));
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(1);
    const n = randn([20000], { dtype: 'float64' });
    expect(Math.abs(n.mean().item())).toBeLessThan(0.03);
    expect(Math.abs(n.std().item() - 1)).toBeLessThan(0.03);
    const r = values(randint(-3, 3, [1000]));
    expect(Math.min(...r)).toBe(-3);
    expect(Math.max(...r)).toBe(2);
  });
});

describe('exporting values', () => {
  it('returns a fresh copy from dataSync, for contiguous tensors and views alike', () => {
    const x = tensor([1, 2, 3, 4]);
    const d = x.dataSync();
    d[0] = 100;
    expect(values(x)[0]).toBe(1);
    const v = x.reshape(2, 2).T;
    expect(Array.from(v.dataSync())).toEqual([1, 3, 2, 4]);
    const s = x.slice(0, 1, 3);
    const ds = s.dataSync();
    expect(Array.from(ds)).toEqual([2, 3]);
    ds[0] = -5;
    expect(values(x)).toEqual([1, 2, 3, 4]);
  });

  it('gives nested arrays from toArray (booleans for bool) and numbers from item()', async () => {
    expect(tensor([[1, 2], [3, 4]]).toArray()).toEqual([[1, 2], [3, 4]]);
    expect(tensor([true, false]).toArray()).toEqual([true, false]);
    expect(tensor(7).toArray()).toBe(7);
    expect(tensor(7, { dtype: 'int32' }).item()).toBe(7);
    expect(tensor([[2.5]]).item()).toBe(2.5);
    expect(Array.from(await tensor([1, 2]).data())).toEqual([1, 2]);
  });
});

describe('printing like PyTorch', () => {
  const cases: [string, () => Tensor, string][] = [
    ['integral floats with a trailing point', () => tensor([1, 2]), 'tensor([1., 2.])'],
    ['four decimals', () => tensor([0.1, 0.2, 0.3]), 'tensor([0.1000, 0.2000, 0.3000])'],
    ['aligned columns', () => tensor([2.7183, 7.3891, 20.0855]), 'tensor([ 2.7183,  7.3891, 20.0855])'],
    ['scientific for a wide range', () => tensor([1e-5, 1e5]), 'tensor([1.0000e-05, 1.0000e+05])'],
    ['scientific for integral floats spanning over 1000x', () => tensor([1, 2000]), 'tensor([1.0000e+00, 2.0000e+03])'],
    ['bool padded to five characters', () => tensor([true, false]), 'tensor([ True, False])'],
    ['all-true bool unpadded', () => tensor([true, true]), 'tensor([True, True])'],
    ['a 0-d float', () => tensor(3.5), 'tensor(3.5000)'],
    ['a 0-d int', () => tensor(7, { dtype: 'int32' }), 'tensor(7)'],
    ['int32 with no dtype suffix', () => tensor([[7, 8], [9, 10]], { dtype: 'int32' }), 'tensor([[ 7,  8],\n        [ 9, 10]])'],
    ['float64 with a dtype suffix', () => tensor([0, 1, 2], { dtype: 'float64' }), 'tensor([0., 1., 2.], dtype=float64)'],
    ['float16 with a dtype suffix', () => tensor([1, 2, 3]).half(), 'tensor([1., 2., 3.], dtype=float16)'],
    ['nan and inf', () => tensor([1, Infinity, -Infinity, NaN]), 'tensor([1., inf, -inf, nan])'],
    ['ties rounded to even', () => tensor([1.03125, 2]), 'tensor([1.0312, 2.0000])'],
    ['an empty tensor', () => zeros([0]), 'tensor([])'],
    ['an empty 2-D tensor', () => zeros([2, 0]), 'tensor([], size=(2, 0))'],
    ['an empty int32 tensor', () => arange(0), 'tensor([], dtype=int32)'],
    ['requiresGrad', () => tensor([1, 2], { requiresGrad: true }), 'tensor([1., 2.], requiresGrad=true)'],
    ['a 3-D tensor with blank lines between blocks', () => arange(0, 8, 1, { dtype: 'float32' }).reshape(2, 2, 2),
      'tensor([[[0., 1.],\n         [2., 3.]],\n\n        [[4., 5.],\n         [6., 7.]]])'],
    ['nine four-decimal columns per row in 2-D', () => full([2, 10], 0.5),
      'tensor([[0.5000, 0.5000, 0.5000, 0.5000, 0.5000, 0.5000, 0.5000, 0.5000, 0.5000,\n         0.5000],\n' +
      '        [0.5000, 0.5000, 0.5000, 0.5000, 0.5000, 0.5000, 0.5000, 0.5000, 0.5000,\n         0.5000]])'],
    ['a dtype suffix moved to its own line past 80 columns', () => full([9], 0.5, { dtype: 'float64' }),
      'tensor([0.5000, 0.5000, 0.5000, 0.5000, 0.5000, 0.5000, 0.5000, 0.5000, 0.5000],\n       dtype=float64)'],
  ];
  for (const [what, make, expected] of cases) {
    it(`prints ${what}`, () => {
      expect(make().toString()).toBe(expected);
    });
  }

  it('summarises more than 1000 elements with ... and three items at each edge', () => {
    expect(arange(0, 2000).toString()).toBe('tensor([   0,    1,    2,  ..., 1997, 1998, 1999])');
    expect(arange(0, 2000).reshape(40, 50).toString()).toBe([
      'tensor([[   0,    1,    2,  ...,   47,   48,   49],',
      '        [  50,   51,   52,  ...,   97,   98,   99],',
      '        [ 100,  101,  102,  ...,  147,  148,  149],',
      '        ...,',
      '        [1850, 1851, 1852,  ..., 1897, 1898, 1899],',
      '        [1900, 1901, 1902,  ..., 1947, 1948, 1949],',
      '        [1950, 1951, 1952,  ..., 1997, 1998, 1999]])',
    ].join('\n'));
    expect(arange(0, 1000).toString()).not.toContain('...');
  });

  it('names the gradient function of a computed tensor', () => {
    const a = tensor([1, 2], { requiresGrad: true });
    expect(a.mul(2).toString()).toMatch(/^tensor\(\[2\., 4\.\], grad_fn=<.+>\)$/);
  });
});

describe('views and writes through them', () => {
  it('shares storage for view, reshape of contiguous data, permute, transpose, squeeze, unsqueeze, expand, flatten', () => {
    const x = arange(0, 12, 1, { dtype: 'float32' });
    const views = [x.view(3, 4), x.reshape(2, 6), x.view(3, 4).permute(1, 0), x.view(3, 4).transpose(0, 1), x.view(1, 12).squeeze(),
      x.unsqueeze(0), x.view(1, 12).expand(2, 12), x.view(3, 4).flatten(), x.view(3, 4).T, x.view(2, 2, 3).mT,
      x.slice(0, 1, 10, 3), x.view(3, 4).select(1, -1), x.index('::-1')];
    for (const v of views) expect(v.storage).toBe(x.storage);
  });

  it('shows writes through a view in the base (the seed notebook\'s tempView[:, 3] = 100)', () => {
    const base = arange(0, 12, 1, { dtype: 'float32' });
    const view = base.view(2, 6);
    view.index(':', 3).fill_(100);
    expect(values(base)).toEqual([0, 1, 2, 100, 4, 5, 6, 7, 8, 100, 10, 11]);
    base.view(3, 4).T.select(0, 0).copy_(tensor([-1, -2, -3]));
    expect(values(base).filter((_, i) => i % 4 === 0)).toEqual([-1, -2, -3]);
    base.slice(0, undefined, undefined, -2).add_(1000);
    expect(values(base)[11]).toBe(1011);
    expect(values(base)[10]).toBe(10);
  });

  it('copies on reshape of a non-contiguous tensor and refuses view()', () => {
    const x = arange(0, 6, 1, { dtype: 'float32' }).view(2, 3).T;
    expect(x.isContiguous).toBe(false);
    const r = x.reshape(6);
    expect(r.storage).not.toBe(x.storage);
    expect(values(r)).toEqual([0, 3, 1, 4, 2, 5]);
    expect(() => x.view(6)).toThrow(EinjitError);
    expect(() => x.view(6)).toThrow(/reshape/);
    expect(x.view(3, 1, 2).storage).toBe(x.storage);
  });

  it('makes contiguous() a no-op on contiguous tensors and a copy otherwise; clone() is always a copy', () => {
    const x = ones([2, 3]);
    expect(x.contiguous()).toBe(x);
    const c = x.T.contiguous();
    expect(c.storage).not.toBe(x.storage);
    expect(c.isContiguous).toBe(true);
    const k = x.clone();
    k.fill_(5);
    expect(values(x)).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it('reads overlapping sources in full before an in-place write', () => {
    const x = arange(0, 5, 1, { dtype: 'float32' });
    x.slice(0, 1).copy_(x.slice(0, 0, 4));
    expect(values(x)).toEqual([0, 0, 1, 2, 3]);
  });
});

describe('ops', () => {
  it('reduces with keepdim and several dims, and stacks, cats and matmuls by PyTorch\'s rules', () => {
    const x = arange(0, 24, 1, { dtype: 'float32' }).reshape(2, 3, 4);
    expect(x.sum([0, 2]).toArray()).toEqual([60, 92, 124]);
    expect(x.max(1, true).shape).toEqual([2, 1, 4]);
    expect(values(x.argmax(-1))).toEqual([3, 3, 3, 3, 3, 3]);
    expect(stack([x, x], 1).shape).toEqual([2, 2, 3, 4]);
    expect(cat([x, x], -1).shape).toEqual([2, 3, 8]);
    expect(vstack([tensor([1, 2]), tensor([3, 4])]).toArray()).toEqual([[1, 2], [3, 4]]);
    expect(hstack([tensor([1, 2]), tensor([3])]).toArray()).toEqual([1, 2, 3]);
    expect(hstack([ones([2, 1]), zeros([2, 2])]).shape).toEqual([2, 3]);
    const v = tensor([1, 2, 3]);
    expect(matmul(v, v).shape).toEqual([]);
    expect(matmul(ones([4, 3]), v).shape).toEqual([4]);
    expect(matmul(v, ones([3, 5])).shape).toEqual([5]);
    expect(matmul(ones([2, 1, 4, 3]), ones([5, 3, 6])).shape).toEqual([2, 5, 4, 6]);
    expect(matmul(ones([7, 4, 3]), v).shape).toEqual([7, 4]);
    expect(values(matmul(tensor([[1, 2], [3, 4]], { dtype: 'int32' }), tensor([[5], [6]], { dtype: 'int32' })))).toEqual([17, 39]);
    expect(values(where(tensor([true, false]), tensor([1, 2]), 0))).toEqual([1, 0]);
  });

  it('reduces a 0-d tensor over dim 0 or -1 to itself, as PyTorch allows', () => {
    const s = tensor(5);
    expect(s.sum(0).item()).toBe(5);
    expect(s.max(-1, true).item()).toBe(5);
    expect(s.mean(0).item()).toBe(5);
    expect(s.prod(0).shape).toEqual([]);
    expect(s.argmax(0).item()).toBe(0);
    expect(s.argmin(undefined, true).shape).toEqual([]);
    expect(() => s.sum(1)).toThrow(EinjitError);
    expect(() => s.argmax(1)).toThrow(EinjitError);
  });

  it('takes the mean and variance of float16 in float32, so large sums do not overflow', () => {
    const h = full([10000], 10).half();
    expect(h.sum().item()).toBe(Infinity);
    expect(h.mean().item()).toBe(10);
    expect(h.mean().dtype).toBe('float16');
    expect(h.var().item()).toBe(0);
  });

  it('keeps the dtype of in-place arithmetic and allows results that cast down a category only', () => {
    const i = tensor([1, 2], { dtype: 'int32' });
    i.add_(tensor([true, false])).mul_(3);
    expect(values(i)).toEqual([6, 6]);
    expect(i.dtype).toBe('int32');
    const f = tensor([1, 2]);
    f.add_(i).div_(2);
    expect(values(f)).toEqual([3.5, 4]);
  });

  it('wraps int32 elementwise products like two\'s complement arithmetic, as PyTorch\'s int32 does', () => {
    const a = tensor([2147483647, 65536, -7], { dtype: 'int32' });
    expect(values(a.mul(a))).toEqual([1, 0, 49]);
    expect(values(a.mul(3))).toEqual([2147483645, 196608, -21]);
    // A reduction is exact or refused (PyTorch widens it to int64, which einjit does not have).
    expect(() => a.prod()).toThrow(/the int32 prod is -985162418028544, outside int32/);
    expect(matmul(a, a).item()).toBe(50);
    expect(values(a.add(1))).toEqual([-2147483648, 65537, -6]);
  });

  it('gives linspace with one step its start, as torch.linspace does', () => {
    expect(values(linspace(3, 10, 1))).toEqual([3]);
    expect(values(linspace(3, 10, 0))).toEqual([]);
  });

  it('casts between every pair of dtypes, truncating floats to int32 and mapping nonzero to true', () => {
    const x = tensor([-1.7, 0, 2.5]);
    expect(values(x.int())).toEqual([-1, 0, 2]);
    expect(values(x.bool())).toEqual([1, 0, 1]);
    expect(x.double().dtype).toBe('float64');
    expect(values(tensor([65504, 1e-8]).half())).toEqual([65504, 0]);
    expect(x.cast('float32')).toBe(x);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('misuse throws EinjitError and nothing else', () => {
  const x = tensor([[1, 2, 3], [4, 5, 6]]);
  const cases: [string, () => unknown, RegExp?][] = [
    ['a matmul whose inner sizes differ', () => matmul(tensor([[1, 2], [3, 4], [5, 6]]), tensor([[7, 8], [9, 10], [11, 12]])),
      /mat1 and mat2 shapes cannot be multiplied \(3x2 and 3x2\)[\s\S]*\[3, 2\], \[3, 2\]/],
    ['a dot product of unequal vectors', () => matmul(tensor([1, 2]), tensor([1, 2, 3]))],
    ['a matmul with a 0-d operand', () => matmul(tensor(1), x)],
    ['mm of a vector', () => x.mm(tensor([1, 2, 3]))],
    ['bmm of matrices', () => x.bmm(x)],
    ['a view of a non-contiguous tensor', () => x.T.view(6), /reshape/],
    ['a reshape to the wrong size', () => x.reshape(4, 2), /invalid for input of size 6/],
    ['two inferred dims', () => x.view(-1, -1)],
    ['the mean of an integer tensor', () => arange(5).mean(), /floating point/],
    ['select out of range', () => x.select(0, 2), /out of bounds/],
    ['an integer index out of range', () => x.index(5)],
    ['too many indices', () => x.index(0, 0, 0)],
    ['two ellipses', () => x.index('...', '...')],
    ['an unreadable index', () => x.index('a:b')],
    ['a dim out of range', () => x.sum(2), /dimension out of range/],
    ['a repeated dim', () => x.sum([0, -2])],
    ['argmax over a missing dim', () => x.argmax(5)],
    ['item of many elements', () => x.item(), /6 elements/],
    ['a NaN shape', () => zeros([NaN])],
    ['an infinite shape', () => zeros([Infinity])],
    ['a negative shape', () => ones([-1])],
    ['a fractional shape', () => rand([1.5])],
    ['a shape that is not an array', () => zeros(5 as unknown as number[])],
    ['an infinite randn shape', () => randn([Infinity])],
    ['a shape too large for memory', () => zeros([1e6, 1e6])],
    ['an arange too large for memory', () => arange(0, 1e12)],
    ['a NaN reshape', () => x.reshape(Number.NaN)],
    ['ragged nested arrays', () => tensor([[1, 2], [3]] as unknown as number[][])],
    ['a string element', () => tensor(['a'] as unknown as number[])],
    ['undefined data', () => tensor(undefined as unknown as number[])],
    ['an unknown dtype', () => tensor([1], { dtype: 'int64' as 'int32' })],
    ['an unknown device', () => zeros([2], { device: 'cuda' as 'cpu' })],
    ['data that does not fit the shape', () => tensor([1, 2, 3], { shape: [2, 2] })],
    ['fromArray of a plain array', () => fromArray([1, 2] as unknown as Float32Array)],
    ['fromArray with the wrong count', () => fromArray(new Float32Array(3), [2, 2])],
    ['shapes that do not broadcast', () => tensor([1, 2, 3]).add(tensor([1, 2])), /\[3\][\s\S]*\[2\]/],
    ['a null operand', () => x.add(null as unknown as number)],
    ['a plain array operand', () => x.mul([1, 2, 3] as unknown as number)],
    ['a plain array in matmul', () => matmul(x, [1, 2] as unknown as Tensor)],
    ['cat of mismatched shapes', () => cat([x, tensor([1, 2])])],
    ['cat of nothing', () => cat([])],
    ['cat of a non-tensor', () => cat([x, 5 as unknown as Tensor])],
    ['stack of unequal shapes', () => stack([x, x.T])],
    ['vstack of nothing', () => vstack([])],
    ['expand of a non-singleton dim', () => x.expand(3, 3)],
    ['permute with too few dims', () => x.permute(0)],
    ['permute with a repeated dim', () => x.permute(0, 0)],
    ['transpose out of range', () => x.transpose(0, 3)],
    ['unsqueeze out of range', () => x.unsqueeze(5)],
    ['squeeze out of range', () => x.squeeze(4)],
    ['flatten with start after end', () => x.flatten(1, 0)],
    ['narrow past the end', () => x.narrow(0, 1, 5)],
    ['a zero slice step', () => x.slice(0, 0, 2, 0)],
    ['a fractional slice bound', () => x.slice(0, 0.5)],
    ['t() of a 3-D tensor', () => zeros([2, 2, 2]).t()],
    ['clamp with no bounds', () => x.clamp()],
    ['arange with step 0', () => arange(0, 5, 0)],
    ['arange with a step of the wrong sign', () => arange(5, 0, 1)],
    ['arange to NaN', () => arange(Number.NaN)],
    ['linspace with negative steps', () => linspace(0, 1, -1)],
    ['eye with a negative size', () => eye(-1)],
    ['randint with low >= high', () => randint(5, 1, [2])],
    ['requiresGrad on an int tensor', () => { arange(3).requiresGrad = true; }],
    ['a write through an expanded view', () => tensor([1]).expand(3).fill_(2)],
    ['a copy_ that does not broadcast', () => x.copy_(tensor([1, 2]))],
    ['max over an empty dim', () => zeros([2, 0]).max(1)],
    ['an in-place float result into an int tensor', () => tensor([1, 2], { dtype: 'int32' }).add_(0.5), /can't be cast/],
    ['an in-place true division of an int tensor', () => tensor([1, 2], { dtype: 'int32' }).div_(2)],
    ['an in-place int result into a bool tensor', () => tensor([true]).add_(1)],
    ['select of a 0-d tensor', () => tensor(5).select(0, 0)],
    ['slice of a 0-d tensor', () => tensor(5).slice(0, 0, 1)],
    ['narrow of a 0-d tensor', () => tensor(5).narrow(0, 0, 1)],
    ['cat of 0-d tensors', () => cat([tensor(1), tensor(2)])],
    ['backward of a tensor that needs no grad', () => x.sum().backward()],
  ];
  for (const [what, f, message] of cases) {
    it(`throws for ${what}`, () => {
      let caught: unknown = null;
      try {
        f();
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(EinjitError);
      const err = caught as EinjitError;
      if (message) expect(err.message).toMatch(message);
    });
  }

  it('names the shapes and gives a hint for the common shape errors', () => {
    const cases = [() => matmul(ones([3, 2]), ones([3, 2])), () => x.T.view(6), () => arange(5).mean(), () => x.select(1, 7)];
    for (const f of cases) {
      let caught: unknown;
      try {
        f();
      } catch (e) {
        caught = e;
      }
      expect(caught, `${String(f)} did not throw`).toBeInstanceOf(EinjitError);
      expect((caught as EinjitError).shapes?.length).toBeGreaterThan(0);
      expect((caught as EinjitError).hint).toBeTruthy();
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('autograd', () => {
  it('differentiates y = sum(w * w) as 2w', () => {
    const w = tensor([1, -2, 3], { requiresGrad: true });
    w.mul(w).sum().backward();
    expect(values(w.grad!)).toEqual([2, -4, 6]);
  });

  it('sums the gradient of a broadcasting add over the broadcast dims', () => {
    const a = tensor([[1, 2, 3], [4, 5, 6]], { requiresGrad: true });
    const b = tensor([10, 20, 30], { requiresGrad: true });
    const c = tensor([[1], [2]], { requiresGrad: true });
    a.add(b).add(c).sum().backward();
    expect(values(a.grad!)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(values(b.grad!)).toEqual([2, 2, 2]);
    expect(b.grad!.shape).toEqual([3]);
    expect(values(c.grad!)).toEqual([3, 3]);
    expect(c.grad!.shape).toEqual([2, 1]);
  });

  it('accumulates into .grad across backward calls', () => {
    const w = tensor([1, 2], { requiresGrad: true });
    w.sum().backward();
    w.mul(3).sum().backward();
    expect(values(w.grad!)).toEqual([4, 4]);
  });

  it('returns the callback\'s value from noGrad and records nothing inside it', () => {
    const w = tensor([1, 2], { requiresGrad: true });
    const out = noGrad(() => w.mul(2));
    expect(out.requiresGrad).toBe(false);
    expect(out.gradFn).toBeNull();
    expect(noGrad(() => 42)).toBe(42);
    expect(w.mul(2).requiresGrad).toBe(true);
  });

  it('throws on a second backward through the same graph, unless retainGraph', () => {
    const w = tensor([1, 2], { requiresGrad: true });
    const y = w.mul(w).sum();
    y.backward();
    expect(() => y.backward()).toThrow(EinjitError);
    const z = w.mul(w).sum();
    z.backward(undefined, { retainGraph: true });
    expect(() => z.backward()).not.toThrow();
  });

  it('throws on backward of a non-scalar without a gradient, and accepts one given', () => {
    const w = tensor([1, 2], { requiresGrad: true });
    expect(() => w.mul(2).backward()).toThrow(EinjitError);
    w.mul(2).backward(tensor([1, 10]));
    expect(values(w.grad!)).toEqual([2, 20]);
    expect(() => w.mul(2).backward(tensor([1]))).toThrow(EinjitError);
  });

  it('refuses an in-place write to a leaf that requires grad, but allows it under noGrad', () => {
    const w = tensor([1, 2], { requiresGrad: true });
    expect(() => w.add_(1)).toThrow(EinjitError);
    expect(() => w.index(0).fill_(3)).toThrow(EinjitError);
    noGrad(() => w.sub_(1));
    expect(values(w)).toEqual([0, 1]);
  });

  it('detects a saved tensor modified in place before backward', () => {
    const w = tensor([1, 2], { requiresGrad: true });
    const a = tensor([3, 4]);
    const y = w.mul(a).sum();
    a.add_(1);
    expect(() => y.backward()).toThrow(EinjitError);
  });

  it('runs backward through a 10,000-deep chain of adds without overflowing the stack', () => {
    const w = tensor([1], { requiresGrad: true });
    let y = w;
    for (let i = 0; i < 10_000; i++) y = y.add(1);
    y.sum().backward();
    expect(values(w.grad!)).toEqual([1]);
    expect(values(y)).toEqual([10_001]);
  });

  it('differentiates prod through zeros (one zero gets the product of the rest, two or more give 0)', () => {
    const x = tensor([[0, 2, 3], [0, 0, 4], [1, 2, 3]], { requiresGrad: true, dtype: 'float64' });
    x.prod(1).sum().backward();
    expect(values(x.grad!)).toEqual([6, 0, 0, 0, 0, 0, 6, 3, 2]);
  });

  it('stops gradients at detach() and at integer casts', () => {
    const w = tensor([1, 2], { requiresGrad: true });
    expect(w.detach().requiresGrad).toBe(false);
    w.mul(w.detach()).sum().backward();
    expect(values(w.grad!)).toEqual([1, 2]);
    expect(w.int().requiresGrad).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Finite-difference gradient checks in float64 on random shapes: the analytic gradient of sum(f(x) * r), for a
// fixed random r, against central differences.

type Gen = 'any' | 'positive' | 'distinct' | 'awayFromZero';

function sample(n: number, gen: Gen, rnd: () => number): number[] {
  if (gen === 'distinct') {
    const vals = Array.from({ length: n }, (_, i) => (i - n / 2) * 0.37 + 0.05);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [vals[i], vals[j]] = [vals[j]!, vals[i]!];
    }
    return vals;
  }
  return Array.from({ length: n }, () => {
    const m = 0.3 + 1.2 * rnd();
    if (gen === 'positive') return m;
    return rnd() < 0.5 ? -m : m;
  });
}

function lcg(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function gradcheck(f: (...xs: Tensor[]) => Tensor, shapes: readonly number[][], gen: Gen, seed: number): void {
  const rnd = lcg(seed);
  const data = shapes.map((s) => sample(s.reduce((a, b) => a * b, 1), gen, rnd));
  const make = (ds: number[][]): Tensor[] => ds.map((d, i) => tensor(d, { shape: shapes[i]!, dtype: 'float64' }));
  const xs = make(data);
  xs.forEach((x) => { x.requiresGrad = true; });
  const out = f(...xs);
  const r = tensor(sample(out.size, 'any', rnd), { shape: out.shape.slice(), dtype: 'float64' });
  out.mul(r).sum().backward();
  const F = (ds: number[][]): number => noGrad(() => f(...make(ds)).mul(r).sum().item());
  const eps = 1e-6;
  xs.forEach((x, i) => {
    expect(x.grad, `input ${i} got no gradient`).not.toBeNull();
    expect(x.grad!.shape).toEqual(x.shape);
    const analytic = values(x.grad!);
    data[i]!.forEach((v, j) => {
      const plus = data.map((d) => d.slice());
      const minus = data.map((d) => d.slice());
      plus[i]![j] = v + eps;
      minus[i]![j] = v - eps;
      const numeric = (F(plus) - F(minus)) / (2 * eps);
      expect(Math.abs(analytic[j]! - numeric), `d/dx${i}[${j}]: ${analytic[j]} vs ${numeric}`)
        .toBeLessThan(1e-5 * Math.max(1, Math.abs(numeric)));
    });
  });
}

const smallShape = fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 });
const GC = { numRuns: 4 };

describe('gradients match finite differences', () => {
  const unary: [string, (x: Tensor) => Tensor, Gen][] = [
    ['neg', (x) => x.neg(), 'any'], ['abs', (x) => x.abs(), 'any'], ['exp', (x) => x.exp(), 'any'],
    ['log', (x) => x.log(), 'positive'], ['sqrt', (x) => x.sqrt(), 'positive'], ['rsqrt', (x) => x.rsqrt(), 'positive'],
    ['relu', (x) => x.relu(), 'any'], ['sigmoid', (x) => x.sigmoid(), 'any'], ['tanh', (x) => x.tanh(), 'any'],
    ['gelu', (x) => x.gelu(), 'any'], ['erf', (x) => x.erf(), 'any'], ['sin', (x) => x.sin(), 'any'],
    ['cos', (x) => x.cos(), 'any'], ['reciprocal', (x) => x.reciprocal(), 'any'], ['square', (x) => x.square(), 'any'],
    ['pow by a scalar', (x) => x.pow(3), 'any'], ['scalar minus x', (x) => x.mul(-1).add(2), 'any'],
    ['clamp', (x) => x.clamp(-0.9, 0.8), 'distinct'], ['div by a scalar', (x) => x.div(3), 'any'],
    ['floor', (x) => x.floor(), 'any'], ['ceil', (x) => x.ceil(), 'any'], ['round', (x) => x.round(), 'any'],
    ['sign', (x) => x.sign(), 'any'], ['scalar over x', (x) => x.reciprocal().mul(2), 'any'],
  ];
  for (const [name, f, gen] of unary) {
    it(`of ${name}`, () => {
      fc.assert(fc.property(smallShape, fc.nat(), (s, seed) => gradcheck(f, [s], gen, seed)), GC);
    });
  }

  /** A shape and a second shape that broadcasts against it (some dims 1, maybe fewer dims). */
  const pairShapes = smallShape.chain((s) => fc.tuple(fc.constant(s),
    fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }), fc.nat({ max: s.length })))
    .map(([s, ones, drop]) => [s, s.map((n, i) => (ones[i] ? 1 : n)).slice(drop)] as const);

  const binary: [string, (a: Tensor, b: Tensor) => Tensor, Gen][] = [
    ['add', (a, b) => a.add(b), 'any'], ['sub', (a, b) => a.sub(b), 'any'], ['mul', (a, b) => a.mul(b), 'any'],
    ['div', (a, b) => a.div(b), 'any'], ['pow', (a, b) => a.abs().pow(b), 'any'], ['maximum', (a, b) => a.maximum(b), 'distinct'],
    ['minimum', (a, b) => a.minimum(b), 'distinct'], ['where', (a, b) => where(a.gt(0), a, b), 'any'],
    ['remainder', (a, b) => a.remainder(b), 'positive'],
  ];
  for (const [name, f, gen] of binary) {
    it(`of ${name} with broadcasting`, () => {
      fc.assert(fc.property(pairShapes, fc.nat(), ([a, b], seed) => {
        gradcheck(f, [a, b], gen, seed);
        gradcheck((x, y) => f(y, x), [b, a], gen, seed + 1);
      }), GC);
    });
  }

  const reductions: [string, (x: Tensor, dims: number[], keep: boolean) => Tensor, Gen][] = [
    ['sum', (x, d, k) => x.sum(d, k), 'any'], ['mean', (x, d, k) => x.mean(d, k), 'any'],
    ['prod', (x, d, k) => x.prod(d, k), 'any'], ['max', (x, d, k) => x.max(d, k), 'distinct'],
    ['min', (x, d, k) => x.min(d, k), 'distinct'], ['var', (x, d, k) => x.var(d, k), 'any'],
    ['std', (x, d, k) => x.std(d, k), 'distinct'],
  ];
  for (const [name, f, gen] of reductions) {
    it(`of ${name} over random dims, with and without keepdim`, () => {
      const arb = smallShape.chain((s) => fc.tuple(fc.constant(s), fc.subarray(s.map((_, i) => i), { minLength: 1 }), fc.boolean()));
      fc.assert(fc.property(arb, fc.nat(), ([s, dims, keep], seed) => {
        const size = dims.reduce((n, d) => n * s[d]!, 1);
        if ((name === 'var' || name === 'std') && size < 2) return;
        gradcheck((x) => f(x, dims, keep), [s], gen, seed);
        gradcheck((x) => f(x, undefined as unknown as number[], false), [s], gen, seed + 1);
      }), GC);
    });
  }

  it('of matmul for 1-D, 2-D and broadcast batched operands', () => {
    const shapes: [number[], number[]][] = [[[3], [3]], [[2, 3], [3]], [[3], [3, 4]], [[2, 3], [3, 4]], [[2, 1, 2, 3], [4, 3, 2]], [[3, 2, 3], [3]]];
    shapes.forEach(([a, b], i) => gradcheck((x, y) => x.matmul(y), [a, b], 'any', i));
    gradcheck((x, y) => x.matmul(y.T), [[2, 3], [4, 3]], 'any', 9);
  });

  it('of cat and stack', () => {
    gradcheck((a, b) => cat([a, b], 1), [[2, 1, 3], [2, 2, 3]], 'any', 1);
    gradcheck((a, b, c) => stack([a, b, c], -1), [[2, 3], [2, 3], [2, 3]], 'any', 2);
    gradcheck((a, b) => cat([a.mul(2), a, b], 0), [[1, 2], [3, 2]], 'any', 3);
  });

  it('of slicing, select, index, permute, expand, reshape, squeeze and friends', () => {
    const s = [3, 4, 2];
    const views: ((x: Tensor) => Tensor)[] = [
      (x) => x.slice(1, 1, undefined, 2), (x) => x.slice(0, undefined, undefined, -1), (x) => x.select(2, -1),
      (x) => x.index(1, '::-2'), (x) => x.permute(2, 0, 1), (x) => x.transpose(0, 2).reshape(8, 3),
      (x) => x.reshape(6, 4), (x) => x.view(12, 2).T, (x) => x.unsqueeze(1).expand(3, 5, 4, 2),
      (x) => x.slice(0, 0, 1).squeeze(0), (x) => x.flatten(1), (x) => x.narrow(1, 1, 2).mul(x.narrow(1, 0, 2)),
      (x) => x.T.contiguous().mul(2), (x) => x.mT.clone(),
    ];
    views.forEach((v, i) => gradcheck(v, [s], 'any', 100 + i));
  });

  it('of random slices, selects, permutes, expands and reshapes on random shapes', () => {
    const arb = smallShape.chain((s) => fc.record({
      s: fc.constant(s),
      dim: fc.nat({ max: s.length - 1 }),
      start: fc.integer({ min: -3, max: 3 }),
      step: fc.constantFrom(1, 2, -1, -2),
      perm: fc.shuffledSubarray(s.map((_, i) => i), { minLength: s.length, maxLength: s.length }),
      k: fc.integer({ min: 1, max: 3 }),
    }));
    fc.assert(fc.property(arb, fc.nat(), ({ s, dim, start, step, perm, k }, seed) => {
      gradcheck((x) => x.slice(dim, start, undefined, step), [s], 'any', seed);
      gradcheck((x) => x.select(dim, start % s[dim]!), [s], 'any', seed + 1);
      gradcheck((x) => x.permute(perm).mul(x.permute(perm)), [s], 'any', seed + 2);
      gradcheck((x) => x.unsqueeze(dim).expand([...s.slice(0, dim), k, ...s.slice(dim)]), [s], 'any', seed + 3);
      gradcheck((x) => x.permute(perm).reshape(-1).index('::-1'), [s], 'any', seed + 4);
    }), GC);
  });

  it('of cat and stack on random shapes and dims', () => {
    const arb = smallShape.chain((s) => fc.tuple(fc.constant(s), fc.nat({ max: s.length - 1 }), fc.integer({ min: 1, max: 3 })));
    fc.assert(fc.property(arb, fc.nat(), ([s, dim, extra], seed) => {
      const other = s.map((n, i) => (i === dim ? extra : n));
      gradcheck((a, b) => cat([a, b, a], dim), [s, other], 'any', seed);
      gradcheck((a, b) => stack([a, b], dim - s.length), [s, s], 'any', seed + 1);
    }), GC);
  });

  it('of a small network: matmul, add, tanh, mean', () => {
    gradcheck((x, w, b) => x.matmul(w).add(b).tanh().mean(), [[4, 3], [3, 2], [2]], 'any', 7);
  });
});

describe('add and sub with alpha', () => {
  it('take a boolean scalar from JavaScript callers as 0 or 1, as PyTorch does (the fuzzer found add(false, 0) throwing a TypeError)', () => {
    const x = tensor([1.5, -2, 4]);
    expect(Array.from(x.add(true as unknown as number, 2).dataSync())).toEqual([3.5, 0, 6]);
    expect(Array.from(x.add(false as unknown as number, 7).dataSync())).toEqual([1.5, -2, 4]);
    expect(Array.from(x.sub(true as unknown as number, 0.5).dataSync())).toEqual([1, -2.5, 3.5]);
    expect(Array.from(x.add(tensor([1, 1, 1]), -1).dataSync())).toEqual([0.5, -3, 3]);
  });

  it("refuses a non-scalar other or alpha with an EinjitError naming the method", () => {
    const x = tensor([1, 2]);
    expect(() => x.sub('a' as unknown as number, 2)).toThrow(/sub/);
    expect(() => x.add(1, 'b' as unknown as number)).toThrow(EinjitError);
  });
});
