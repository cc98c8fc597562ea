/**
 * The PyTorch fundamentals notebook (seed 2), cell by cell in einjit. Expected strings are the notebook's own
 * printed outputs (PyTorch 2.1). Deliberate differences:
 * - JS numbers have no int/float split: `tensor([1, 2])` is float32; integer tensors need `{ dtype: 'int32' }`, and
 *   PyTorch's int64 becomes int32 (printed without a dtype suffix, as int64 is in PyTorch).
 * - `arange` with integer arguments gives int32, so `torch.arange(0., 12.)` is `arange(0, 12, 1, { dtype: 'float32' })`.
 * - Seeded random values come from einjit's own generator, not PyTorch's Mersenne Twister: only reproducibility
 *   and shapes are checked.
 */
import { describe, expect, it } from 'vitest';
import {
  EinjitError, Tensor, arange, fromArray, hstack, isAvailable, manualSeed, matmul, ones, rand, randn, stack, tensor, vstack,
  zeros, zerosLike,
} from '../../src/index.js';

const int = (data: Parameters<typeof tensor>[0]): Tensor => tensor(data, { dtype: 'int32' });
/** torch.arange(0., 12.) */
const arangeFloat = (end: number): Tensor => arange(0, end, 1, { dtype: 'float32' });
/**
 * What PyTorch would print for einjit's printout: einjit's suffixes use its own names (`dtype=float16`,
 * `requiresGrad=true`), PyTorch's `dtype=torch.float16` and `requires_grad=True`. Mapped here so the expected
 * strings stay the notebook's own.
 */
const str = (t: Tensor): string => t.toString()
  .replace(/\bdtype=(\w+)/g, 'dtype=torch.$1')
  .replace(/\brequiresGrad=true\b/g, 'requires_grad=True');

describe('seed 2: creating tensors', () => {
  it('scalar = torch.tensor(7)', () => {
    const scalar = int(7);
    expect(str(scalar)).toBe('tensor(7)');
    expect(scalar.ndim).toBe(0);
    expect(scalar.shape).toEqual([]);
    expect(scalar.item()).toBe(7);
  });

  it('vector = torch.tensor([7, 7])', () => {
    const vector = int([7, 7]);
    expect(str(vector)).toBe('tensor([7, 7])');
    expect(vector.ndim).toBe(1);
    expect(vector.shape).toEqual([2]);
  });

  it('MATRIX = torch.tensor([[7, 8], [9, 10]])', () => {
    const MATRIX = int([[7, 8], [9, 10]]);
    expect(str(MATRIX)).toBe('tensor([[ 7,  8],\n        [ 9, 10]])');
    expect(MATRIX.ndim).toBe(2);
    expect(MATRIX.shape).toEqual([2, 2]);
  });

  it('TENSOR = torch.tensor([[[1, 2, 3], [4, 5, 6], [6, 7, 8]]])', () => {
    const TENSOR = int([[[1, 2, 3], [4, 5, 6], [6, 7, 8]]]);
    expect(str(TENSOR)).toBe('tensor([[[1, 2, 3],\n         [4, 5, 6],\n         [6, 7, 8]]])');
    expect(TENSOR.ndim).toBe(3);
    expect(TENSOR.shape).toEqual([1, 3, 3]);
  });
});

describe('seed 2: random tensors, zeros and ones', () => {
  manualSeed(0);
  const randomTensor = rand([4, 3, 4]);

  it('random_tensor = torch.rand(4, 3, 4)', () => {
    expect(randomTensor.ndim).toBe(3);
    expect(randomTensor.shape).toEqual([4, 3, 4]);
    expect(randomTensor.dtype).toBe('float32');
    const v = Array.from(randomTensor.dataSync());
    expect(v.every((x) => x >= 0 && x < 1)).toBe(true);
  });

  it('torch.rand(size=(224, 224, 3))', () => {
    const image = rand([224, 224, 3]);
    expect(image.ndim).toBe(3);
    expect(image.shape).toEqual([224, 224, 3]);
  });

  it('zeros = torch.zeros(size=(3, 4)); zeros * random_tensor', () => {
    const z = zeros([3, 4]);
    expect(str(z)).toBe('tensor([[0., 0., 0., 0.],\n        [0., 0., 0., 0.],\n        [0., 0., 0., 0.]])');
    const block = '[[0., 0., 0., 0.],\n         [0., 0., 0., 0.],\n         [0., 0., 0., 0.]]';
    expect(str(z.mul(randomTensor))).toBe(`tensor([${[block, block, block, block].join(',\n\n        ')}])`);
  });

  it('ones = torch.ones(size=(3, 4)); ones * random_tensor; dtypes', () => {
    const o = ones([3, 4]);
    expect(str(o)).toBe('tensor([[1., 1., 1., 1.],\n        [1., 1., 1., 1.],\n        [1., 1., 1., 1.]])');
    const product = o.mul(randomTensor);
    expect(product.shape).toEqual([4, 3, 4]);
    expect(str(product)).toBe(str(randomTensor));
    expect([zeros([3, 4]).dtype, o.dtype, randomTensor.dtype]).toEqual(['float32', 'float32', 'float32']);
  });
});

describe('seed 2: ranges and tensors-like', () => {
  it('torch.arange(0, 10); torch.arange(start=0, end=1000, step=77); torch.zeros_like(one_to_ten)', () => {
    const oneToTen = arange(0, 10);
    expect(str(oneToTen)).toBe('tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])');
    expect(str(arange(0, 1000, 77))).toBe('tensor([  0,  77, 154, 231, 308, 385, 462, 539, 616, 693, 770, 847, 924])');
    expect(str(zerosLike(oneToTen))).toBe('tensor([0, 0, 0, 0, 0, 0, 0, 0, 0, 0])');
  });
});

describe('seed 2: tensor datatypes', () => {
  const float32Tensor = tensor([1.0, 2.0, 3.0], { requiresGrad: false });

  it('float_32_tensor = torch.tensor([1.0, 2.0, 3.0], dtype=None, device=None, requires_grad=False)', () => {
    expect(str(float32Tensor)).toBe('tensor([1., 2., 3.])');
    expect(float32Tensor.dtype).toBe('float32');
    expect(float32Tensor.device).toBe('cpu');
  });

  it('float_16_tensor = float_32_tensor.to(dtype=torch.float16)', () => {
    const float16Tensor = float32Tensor.cast('float16');
    expect(str(float16Tensor)).toBe('tensor([1., 2., 3.], dtype=torch.float16)');
    expect(float16Tensor.dtype).toBe('float16');
    expect(str(float32Tensor.half())).toBe('tensor([1., 2., 3.], dtype=torch.float16)');
  });

  it('float_16_tensor * float_32_tensor promotes to float32', () => {
    const product = float32Tensor.half().mul(float32Tensor);
    expect(str(product)).toBe('tensor([1., 4., 9.])');
    expect(product.dtype).toBe('float32');
    // "works even if multiplied by torch.int32": the float operand wins.
    expect(float32Tensor.half().mul(int([1, 2, 3])).dtype).toBe('float16');
  });
});

describe('seed 2: tensor attributes', () => {
  it('some_tensor = torch.rand(2, 3, 4): dtype, shape, device', () => {
    const someTensor = rand([2, 3, 4]);
    expect(`Datatype of tensor : ${someTensor.dtype}`).toBe('Datatype of tensor : float32');
    expect(someTensor.shape).toEqual([2, 3, 4]);
    expect(`Device of tensor   : ${someTensor.device}`).toBe('Device of tensor   : cpu');
    expect(someTensor.size).toBe(24);
    expect(someTensor.numel()).toBe(24);
  });
});

describe('seed 2: tensor operations', () => {
  const t = int([1, 2, 3]);

  it('tensor + 10, - 10, * 10, / 10 (and torch.add/sub/mul/div)', () => {
    expect(str(t)).toBe('tensor([1, 2, 3])');
    expect(str(t.add(10))).toBe('tensor([11, 12, 13])');
    expect(str(t.sub(10))).toBe('tensor([-9, -8, -7])');
    expect(str(t.mul(10))).toBe('tensor([10, 20, 30])');
    expect(str(t.div(10))).toBe('tensor([0.1000, 0.2000, 0.3000])');
    expect(t.add(10).dtype).toBe('int32');
    expect(t.div(10).dtype).toBe('float32');
  });

  it('torch.abs, torch.sqrt, torch.exp', () => {
    expect(str(t.abs())).toBe('tensor([1, 2, 3])');
    expect(str(t.sqrt())).toBe('tensor([1.0000, 1.4142, 1.7321])');
    expect(str(t.exp())).toBe('tensor([ 2.7183,  7.3891, 20.0855])');
  });

  it('element-wise tensor * tensor, and matrix product shapes', () => {
    expect(`${str(t)} * ${str(t)}`).toBe('tensor([1, 2, 3]) * tensor([1, 2, 3])');
    expect(`Equals: ${str(t.mul(t))}`).toBe('Equals: tensor([1, 4, 9])');
    expect(rand([4, 2]).shape).toEqual([4, 2]);
    expect(rand([4, 3]).matmul(rand([3, 6])).shape).toEqual([4, 6]);
    expect(rand([3, 1]).matmul(rand([1, 7])).shape).toEqual([3, 7]);
  });

  it('torch.matmul(tensor, tensor) is the dot product, as is the explicit loop', () => {
    expect(str(matmul(t, t))).toBe('tensor(14)');
    let value: Tensor = int(0);
    for (let i = 0; i < t.shape[0]!; i++) value = value.add(t.index(i).mul(t.index(i)));
    expect(str(value)).toBe('tensor(14)');
  });

  it('torch.matmul(tensor_A, tensor_B) and the transpose', () => {
    const tensorA = int([[1, 2], [3, 4], [5, 6]]);
    const tensorB = int([[7, 10, 1], [8, 11, 2]]);
    expect(str(matmul(tensorA, tensorB))).toBe('tensor([[ 23,  32,   5],\n        [ 53,  74,  11],\n        [ 83, 116,  17]])');
    expect(str(tensorA.mm(tensorB))).toBe(str(matmul(tensorA, tensorB)));
    expect(tensorA.shape).toEqual([3, 2]);
    expect(tensorA.T.shape).toEqual([2, 3]);
  });

  it('the shape error: (3x2) @ (3x2) cannot be multiplied; transposing fixes it', () => {
    const tensorA = int([[1, 2], [3, 4], [5, 6]]);
    expect(() => matmul(tensorA, tensorA)).toThrow(EinjitError);
    expect(() => tensorA.mm(tensorA)).toThrow('mat1 and mat2 shapes cannot be multiplied (3x2 and 3x2)');
    expect(matmul(tensorA, tensorA.T).shape).toEqual([3, 3]);
  });
});

describe('seed 2: aggregation', () => {
  const x = arange(0, 100, 10);

  it('min, max, mean (of a float copy), sum', () => {
    expect(str(x)).toBe('tensor([ 0, 10, 20, 30, 40, 50, 60, 70, 80, 90])');
    expect(`${str(x.min())} ${str(x.min())}`).toBe('tensor(0) tensor(0)');
    expect(`${str(x.max())} ${str(x.max())}`).toBe('tensor(90) tensor(90)');
    expect(`${str(x.float().mean())} ${str(x.cast('float32').mean())}`).toBe('tensor(45.) tensor(45.)');
    expect(`${str(x.sum())} ${str(x.sum())}`).toBe('tensor(450) tensor(450)');
  });

  it('mean of the integer tensor itself is refused, as PyTorch refuses Long', () => {
    expect(() => x.mean()).toThrow(EinjitError);
  });

  it('argmin and argmax, and indexing with them', () => {
    expect(`${str(x.argmin())} ${str(x.index(x.argmin().item()))}`).toBe('tensor(0) tensor(0)');
    expect(`${str(x.argmax())} ${str(x.index(x.argmax().item()))}`).toBe('tensor(9) tensor(90)');
  });
});

describe('seed 2: reshaping, viewing, stacking, squeezing, permuting', () => {
  it('x = torch.arange(0., 12.); x.reshape(2, 6); x.reshape(4, 3)', () => {
    const x = arangeFloat(12);
    expect(str(x)).toBe('tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11.])');
    expect(x.shape).toEqual([12]);
    expect(str(x.reshape(2, 6))).toBe('tensor([[ 0.,  1.,  2.,  3.,  4.,  5.],\n        [ 6.,  7.,  8.,  9., 10., 11.]])');
    expect(str(x.reshape(4, 3))).toBe(
      'tensor([[ 0.,  1.,  2.],\n        [ 3.,  4.,  5.],\n        [ 6.,  7.,  8.],\n        [ 9., 10., 11.]])');
  });

  it('tempView = newTensor.view(2, 6); tempView[:, 3] = 100 changes newTensor', () => {
    const newTensor = arangeFloat(12);
    const tempView = newTensor.view(2, 6);
    expect(str(tempView)).toBe('tensor([[ 0.,  1.,  2.,  3.,  4.,  5.],\n        [ 6.,  7.,  8.,  9., 10., 11.]])');
    tempView.index(':', 3).fill_(100);
    expect(str(tempView)).toBe('tensor([[  0.,   1.,   2., 100.,   4.,   5.],\n        [  6.,   7.,   8., 100.,  10.,  11.]])');
    expect(str(newTensor)).toBe('tensor([  0.,   1.,   2., 100.,   4.,   5.,   6.,   7.,   8., 100.,  10.,  11.])');
  });

  it('torch.stack((x, x, x, x), dim=0 / 1 / -1 / -2)', () => {
    const x = arangeFloat(12);
    const row = '[ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11.]';
    const rows = `tensor([${[row, row, row, row].join(',\n        ')}])`;
    const cols = `tensor([${Array.from({ length: 12 }, (_, i) => {
      const v = `${String(i).padStart(2)}.`;
      return `[${[v, v, v, v].join(', ')}]`;
    }).join(',\n        ')}])`;
    const s0 = stack([x, x, x, x], 0);
    expect(str(s0)).toBe(rows);
    expect(s0.shape).toEqual([4, 12]);
    const s1 = stack([x, x, x, x], 1);
    expect(str(s1)).toBe(cols);
    expect(s1.shape).toEqual([12, 4]);
    expect(cols.split('\n')[0]).toBe('tensor([[ 0.,  0.,  0.,  0.],');
    expect(str(stack([x, x, x, x], -1))).toBe(cols);
    expect(stack([x, x, x, x], -1).shape).toEqual([12, 4]);
    expect(str(stack([x, x, x, x], -2))).toBe(rows);
    expect(stack([x, x, x, x], -2).shape).toEqual([4, 12]);
  });

  it('x_reshaped.unsqueeze(dim=0).unsqueeze(dim=2) and x_reshaped.squeeze()', () => {
    const xReshaped = arangeFloat(12).reshape(4, 3);
    const unsqueezed = xReshaped.unsqueeze(0).unsqueeze(2);
    expect(str(unsqueezed)).toBe(
      'tensor([[[[ 0.,  1.,  2.]],\n\n         [[ 3.,  4.,  5.]],\n\n         [[ 6.,  7.,  8.]],\n\n         [[ 9., 10., 11.]]]])');
    expect(unsqueezed.shape).toEqual([1, 4, 1, 3]);
    const squeezed = unsqueezed.squeeze();
    expect(str(squeezed)).toBe(
      'tensor([[ 0.,  1.,  2.],\n        [ 3.,  4.,  5.],\n        [ 6.,  7.,  8.],\n        [ 9., 10., 11.]])');
    expect(squeezed.shape).toEqual([4, 3]);
    expect(xReshaped.squeeze().shape).toEqual([4, 3]);
  });

  it('colour.permute(2, 0, 1) indexes the same elements under permuted indices', () => {
    const colour = rand([4, 6, 3]);
    const permuted = colour.permute(2, 0, 1);
    expect(colour.shape).toEqual([4, 6, 3]);
    expect(permuted.shape).toEqual([3, 4, 6]);
    expect(permuted.storage).toBe(colour.storage);
    expect(colour.index(1, 5, 2).item()).toBe(permuted.index(2, 1, 5).item());
    expect(colour.index(2, 1, 2).item()).toBe(permuted.index(2, 2, 1).item());
  });

  it('notes: stack of two (2, 3), permute(1, 2, 0), squeeze (1, 3, 1, 5), unsqueeze, vstack, hstack', () => {
    expect(stack([randn([2, 3]), randn([2, 3])], 0).shape).toEqual([2, 2, 3]);
    expect(randn([2, 3, 4]).permute(1, 2, 0).shape).toEqual([3, 4, 2]);
    expect(zeros([1, 3, 1, 5]).squeeze().shape).toEqual([3, 5]);
    expect(zeros([1, 3, 1, 5]).squeeze(1).shape).toEqual([1, 3, 1, 5]);
    expect(zeros([3, 5]).unsqueeze(0).shape).toEqual([1, 3, 5]);
    expect(vstack([zeros([2, 3]), zeros([4, 3])]).shape).toEqual([6, 3]);
    expect(hstack([zeros([2, 3]), zeros([2, 4])]).shape).toEqual([2, 7]);
  });
});

describe('seed 2: indexing', () => {
  const x = arangeFloat(12).reshape(1, 3, 4);
  const block = 'tensor([[ 0.,  1.,  2.,  3.],\n        [ 4.,  5.,  6.,  7.],\n        [ 8.,  9., 10., 11.]])';

  it('x = torch.arange(0., 12.).reshape(1, 3, 4)', () => {
    expect(str(x)).toBe('tensor([[[ 0.,  1.,  2.,  3.],\n         [ 4.,  5.,  6.,  7.],\n         [ 8.,  9., 10., 11.]]])');
    expect(x.shape).toEqual([1, 3, 4]);
  });

  it('x[0], x[0][1], x[0][1][2] and x[0, 1], x[0, 1, 2]', () => {
    expect(str(x.index(0))).toBe(block);
    expect(str(x.index(0).index(1))).toBe('tensor([4., 5., 6., 7.])');
    expect(str(x.index(0).index(1).index(2))).toBe('tensor(6.)');
    expect(str(x.index(0, 1))).toBe('tensor([4., 5., 6., 7.])');
    expect(str(x.index(0, 1, 2))).toBe('tensor(6.)');
  });

  it('x[0, :, 2] and x[0, :, :]', () => {
    expect(str(x.index(0, ':', 2))).toBe('tensor([ 2.,  6., 10.])');
    expect(str(x.index(0, ':', ':'))).toBe(block);
  });

  it('the slicing notes: [:5], [5:], [3:7], [::2], [::-1], [:, 1], [:2, 1:]', () => {
    const l = arange(0, 10);
    expect(l.index(':5').toArray()).toEqual([0, 1, 2, 3, 4]);
    expect(l.index('5:').toArray()).toEqual([5, 6, 7, 8, 9]);
    expect(l.index('3:7').toArray()).toEqual([3, 4, 5, 6]);
    expect(l.index('::2').toArray()).toEqual([0, 2, 4, 6, 8]);
    expect(l.index('::-1').toArray()).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    const m = int([[1, 2, 3], [4, 5, 6], [7, 8, 9]]);
    expect(m.index(':').toArray()).toEqual([[1, 2, 3], [4, 5, 6], [7, 8, 9]]);
    expect(m.index(':2').toArray()).toEqual([[1, 2, 3], [4, 5, 6]]);
    expect(m.index(':', 1).toArray()).toEqual([2, 5, 8]);
    expect(m.index(':2', '1:').toArray()).toEqual([[2, 3], [5, 6]]);
  });
});

describe('seed 2: NumPy interop (typed arrays in einjit)', () => {
  it('torch.from_numpy(np.arange(0.0, 8.0)) keeps float64; .float() and .double()', () => {
    const array = new Float64Array([0, 1, 2, 3, 4, 5, 6, 7]);
    const t = fromArray(array);
    expect(str(t)).toBe('tensor([0., 1., 2., 3., 4., 5., 6., 7.], dtype=torch.float64)');
    expect(str(t.float())).toBe('tensor([0., 1., 2., 3., 4., 5., 6., 7.])');
    expect(str(t.double())).toBe('tensor([0., 1., 2., 3., 4., 5., 6., 7.], dtype=torch.float64)');
    const back = t.dataSync();
    expect(back).toBeInstanceOf(Float64Array);
    expect(Array.from(back)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('array = array + 1 makes a new array: the tensor is unchanged', () => {
    let array = new Float64Array([0, 1, 2, 3, 4, 5, 6, 7]);
    const t = fromArray(array);
    array = array.map((v) => v + 1);
    expect(str(t)).toBe('tensor([0., 1., 2., 3., 4., 5., 6., 7.], dtype=torch.float64)');
    expect(Array.from(array)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('array += 1 writes in place: a tensor sharing the array sees it (fromArray shares; dataSync copies)', () => {
    const t = fromArray(new Float64Array([0, 1, 2, 3, 4, 5, 6, 7])).float();
    const array = t.dataSync() as Float32Array;
    const shared = fromArray(array);
    for (let i = 0; i < array.length; i++) array[i]! += 1;
    expect(str(shared)).toBe('tensor([1., 2., 3., 4., 5., 6., 7., 8.])');
    expect(shared.dtype).toBe('float32');
    expect(array).toBeInstanceOf(Float32Array);
    // dataSync() is a copy, unlike .numpy(): the tensor it came from is unchanged.
    expect(str(t)).toBe('tensor([0., 1., 2., 3., 4., 5., 6., 7.])');
  });
});

describe('seed 2: reproducibility', () => {
  it('two unseeded rand(3, 4) differ everywhere', () => {
    manualSeed(7);
    const a = rand([3, 4]);
    const b = rand([3, 4]);
    expect(str(a.eq(b))).toBe(
      'tensor([[False, False, False, False],\n        [False, False, False, False],\n        [False, False, False, False]])');
  });

  it('torch.manual_seed(42) before each rand(3, 4) makes them equal', () => {
    manualSeed(42);
    const c = rand([3, 4]);
    manualSeed(42);
    const d = rand([3, 4]);
    expect(str(c)).toBe(str(d));
    expect(str(c.eq(d))).toBe('tensor([[True, True, True, True],\n        [True, True, True, True],\n        [True, True, True, True]])');
  });
});

describe('seed 2: devices', () => {
  it('tensors start on the CPU; .to(device) with the CPU returns the same tensor; back to "NumPy"', async () => {
    expect(await isAvailable('cpu')).toBe(true);
    const device = 'cpu';
    const t = int([[1, 2, 3], [4, 5, 6]]);
    expect(`${str(t)} ${t.device}`).toBe('tensor([[1, 2, 3],\n        [4, 5, 6]]) cpu');
    const onDevice = await t.to(device);
    expect(`${str(onDevice)} ${onDevice.device}`).toBe('tensor([[1, 2, 3],\n        [4, 5, 6]]) cpu');
    const onCpu = await onDevice.to('cpu');
    expect(onCpu.toArray()).toEqual([[1, 2, 3], [4, 5, 6]]);
    expect(onCpu.dataSync()).toBeInstanceOf(Int32Array);
  });
});
