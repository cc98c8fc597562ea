/**
 * Scaled dot-product attention written with einsum, as library code would: scores, a softmax over keys, and the
 * weighted sum of values. Run: npx tsx examples/attention.ts
 */
import { einsum, randn, manualSeed, type Tensor } from '../src/index.js';

/** softmax(q·kᵀ / √d) · v over tensors shaped [batch, heads, tokens, dim]. */
export function attention(q: Tensor, k: Tensor, v: Tensor): Tensor {
  const d = q.shape[q.ndim - 1]!;
  const scores = einsum('bhqd,bhkd->bhqk', q, k).div(Math.sqrt(d));
  const shifted = scores.sub(scores.max(-1, true));
  const weights = shifted.exp();
  const probs = weights.div(weights.sum(-1, true));
  return einsum('bhqk,bhkd->bhqd', probs, v);
}

export function main(): Tensor {
  manualSeed(0);
  const [b, h, n, d] = [2, 4, 16, 8];
  const q = randn([b, h, n, d]);
  const k = randn([b, h, n, d]);
  const v = randn([b, h, n, d]);
  const out = attention(q, k, v);
  console.log(`attention over [${q.shape.join(', ')}] -> [${out.shape.join(', ')}]`);
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) main();
