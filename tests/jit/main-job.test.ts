/**
 * The main job's training run with its jit switch: replaying the jitted training step (loss, gradients and a
 * capturable AdamW under a cosine schedule; the default) trains as the eager run does, step for step, from the
 * same seed.
 */
import { describe, expect, it } from 'vitest';
import { train } from '../../examples/train.js';

describe('examples/train.ts with and without jit', () => {
  it('gives the eager run\'s losses and final loss', async () => {
    const quiet = { steps: 12, progress: false, sampleTokens: 8, log: (): void => undefined };
    const eager = await train({ ...quiet, jit: false });
    const jitted = await train(quiet);
    expect(jitted.losses.length).toBe(12);
    // Fused chains round differently from eager float32 (a few ulps a step), compounded over 12 AdamW steps.
    jitted.losses.forEach((l, i) => expect(Math.abs(l - eager.losses[i]!), `step ${i}: ${l} vs ${eager.losses[i]}`).toBeLessThan(1e-4 * (1 + eager.losses[i]!)));
    expect(Math.abs(jitted.finalLoss - eager.finalLoss)).toBeLessThan(1e-4 * (1 + eager.finalLoss));
    // Training happened in both: the last losses are below the first.
    expect(jitted.losses[11]!).toBeLessThan(jitted.losses[0]! - 0.3);
  }, 120_000);
});
