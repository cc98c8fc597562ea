/**
 * A guided tour of einjit's runtime, following the PyTorch fundamentals walkthrough: tensors and their
 * attributes, arithmetic, matrix products and their shape errors, aggregation, views that share memory, random
 * numbers with a seed, and then einsum and einops compiled to kernels.
 */
import {
  arange, compile, einsum, einsumPath, EinjitError, fromArray, isAvailable, manualSeed, ones, rand, rearrange, reduce,
  stack, tensor, zeros,
} from '../src/index.js';

function section(title: string): void {
  console.log(`\n── ${title} ${'─'.repeat(Math.max(0, 70 - title.length))}`);
}

export async function tour(): Promise<void> {
  section('Tensors');
  const scalar = tensor(7, { dtype: 'int32' });
  console.log('scalar', scalar.toString(), 'ndim', scalar.ndim, 'shape', scalar.shape, 'item', scalar.item());
  const MATRIX = tensor([[7, 8], [9, 10]], { dtype: 'int32' });
  console.log(MATRIX.toString(), 'ndim', MATRIX.ndim, 'shape', MATRIX.shape);
  console.log('zeros', zeros([3, 4]).toString());
  console.log('arange(0, 1000, 77)', arange(0, 1000, 77).toString());

  section('Datatypes: float16 storage, float32 compute');
  const f32 = tensor([1, 2, 3]);
  const f16 = f32.half();
  console.log(f16.toString(), '×', f32.toString(), '=', f16.mul(f32).toString());

  section('Arithmetic and matrix products');
  const t = tensor([1, 2, 3], { dtype: 'int32' });
  console.log(t.add(10).toString(), t.mul(10).toString(), t.div(10).toString());
  console.log('matmul(t, t) =', t.matmul(t).toString());
  const A = tensor([[1, 2], [3, 4], [5, 6]], { dtype: 'int32' });
  const B = tensor([[7, 10, 1], [8, 11, 2]], { dtype: 'int32' });
  console.log('A @ B =', A.matmul(B).toString());
  try {
    A.matmul(A);
  } catch (e) {
    if (!(e instanceof EinjitError)) throw e;
    console.log(`A @ A fails with a clear error:\n${e.message}`);
  }
  console.log('A @ A.T =', A.matmul(A.T).toString());

  section('Aggregation');
  const x = arange(0, 100, 10);
  console.log(x.toString(), 'min', x.min().item(), 'max', x.max().item(), 'mean', x.float().mean().item(),
    'sum', x.sum().item(), 'argmax', x.argmax().item());

  section('Views share memory; reshape copies only when it must');
  const y = arange(1, 10, 1, { dtype: 'float32' });
  const z = y.view(1, 9);
  z.index(':', 0).fill_(5);
  console.log('after z[:, 0] = 5, y is', y.toString());
  console.log('stack', stack([y, y], 0).shape, 'permute', rand([224, 224, 3]).permute(2, 0, 1).shape);
  const array = new Float32Array([1, 2, 3, 4]);
  const shared = fromArray(array);
  array[0] = 100;
  console.log('fromArray shares memory with its typed array:', shared.toString());

  section('Reproducible randomness');
  manualSeed(42);
  const r1 = rand([3, 4]);
  manualSeed(42);
  const r2 = rand([3, 4]);
  console.log('rand after manualSeed(42) twice equal:', r1.eq(r2).all().item() === 1);

  section('einsum, planned and compiled');
  const a = ones([8, 32, 64]);
  const b = ones([8, 64, 16]);
  console.log('einsum("bij,bjk->bik") shape', einsum('bij,bjk->bik', a, b).shape);
  console.log(einsumPath('ij,jk,kl->il', [[8, 16], [16, 32], [32, 4]]).report);
  const expr = compile('bij,bjk->bik', [[8, 32, 64], [8, 64, 16]]);
  console.log(expr.explain());

  section('einops');
  const images = rand([2, 3, 4, 4]);
  console.log("rearrange 'b c h w -> b h w c'", rearrange(images, 'b c h w -> b h w c').shape);
  console.log("reduce 'b c (h 2) (w 2) -> b c h w' max", reduce(images, 'b c (h h2) (w w2) -> b c h w', 'max', { h2: 2, w2: 2 }).shape);

  section('Devices');
  const gpu = await isAvailable('webgpu');
  console.log(gpu ? 'WebGPU is available: pass { device: "webgpu" } or await setDefaultDevice("webgpu")'
    : 'WebGPU is not available here; everything runs on the CPU');
}
