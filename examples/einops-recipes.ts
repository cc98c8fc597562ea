/**
 * einops recipes: space-to-depth, patch embedding for a vision transformer, and pack/unpack to add a CLS token.
 * Run: npx tsx examples/einops-recipes.ts
 */
import { einsum, manualSeed, pack, randn, rearrange, unpack, zeros, type Tensor } from '../src/index.js';

/** [b, c, h, w] -> [b, c·4, h/2, w/2]: each 2×2 block becomes four channels. */
export function spaceToDepth(x: Tensor): Tensor {
  return rearrange(x, 'b c (h h2) (w w2) -> b (c h2 w2) h w', { h2: 2, w2: 2 });
}

/** Cuts images into p×p patches and projects each to `dim` features: [b, c, h, w] -> [b, patches, dim]. */
export function patchEmbed(images: Tensor, weight: Tensor, p: number): Tensor {
  const patches = rearrange(images, 'b c (h p1) (w p2) -> b (h w) (p1 p2 c)', { p1: p, p2: p });
  return einsum('bnk,kd->bnd', patches, weight);
}

/** Prepends a CLS token to every sequence, and splits it off again. */
export function withClsToken(tokens: Tensor, cls: Tensor): { packed: Tensor; cls: Tensor; tokens: Tensor } {
  const b = tokens.shape[0]!;
  const clsBatch = cls.unsqueeze(0).expand([b, cls.shape[0]!]);
  const [packed, shapes] = pack([clsBatch, tokens], 'b * d');
  const [cls2, tokens2] = unpack(packed, shapes, 'b * d') as [Tensor, Tensor];
  return { packed, cls: cls2, tokens: tokens2 };
}

export function main(): { depth: Tensor; embedded: Tensor; packed: Tensor } {
  manualSeed(3);
  const images = randn([2, 3, 8, 8]);
  const depth = spaceToDepth(images);
  const embedded = patchEmbed(images, randn([4 * 4 * 3, 16]), 4);
  const { packed } = withClsToken(embedded, zeros([16]));
  console.log(`space-to-depth [${depth.shape.join(', ')}], patches [${embedded.shape.join(', ')}], with CLS [${packed.shape.join(', ')}]`);
  return { depth, embedded, packed };
}

if (import.meta.url === `file://${process.argv[1]}`) main();
