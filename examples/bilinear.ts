/**
 * Bilinear forms with einsum: xᵀ A y for a batch of vectors, and a bilinear layer (PyTorch's nn.Bilinear) that
 * mixes two feature vectors through a weight tensor. Run: npx tsx examples/bilinear.ts
 */
import { einsum, manualSeed, randn, type Tensor } from '../src/index.js';

/** One number per batch row: Σ_ij x[b,i] A[i,j] y[b,j]. */
export function bilinearForm(x: Tensor, A: Tensor, y: Tensor): Tensor {
  return einsum('bi,ij,bj->b', x, A, y);
}

/** out[b,o] = Σ_ij x1[b,i] W[o,i,j] x2[b,j] + bias[o]. */
export function bilinearLayer(x1: Tensor, x2: Tensor, W: Tensor, bias: Tensor): Tensor {
  return einsum('bi,oij,bj->bo', x1, W, x2).add(bias);
}

export function main(): { form: Tensor; layer: Tensor } {
  manualSeed(1);
  const x = randn([5, 3]);
  const y = randn([5, 4]);
  const A = randn([3, 4]);
  const form = bilinearForm(x, A, y);
  const layer = bilinearLayer(x, y, randn([6, 3, 4]), randn([6]));
  console.log(`bilinear form: [${form.shape.join(', ')}], bilinear layer: [${layer.shape.join(', ')}]`);
  return { form, layer };
}

if (import.meta.url === `file://${process.argv[1]}`) main();
