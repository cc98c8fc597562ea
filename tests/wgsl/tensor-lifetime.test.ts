/**
 * GPU buffers of tensors nobody references any more are released: 10,000 ops on 'webgpu' tensors leave the
 * device's live bytes bounded (the runtime releases a storage's buffer when the garbage collector finalises it).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { tensor, type Tensor } from '../../src/index.js';
import { getBackend } from '../../src/runtime/backend.js';
import { DEVICES } from '../helpers/devices.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

async function settle(): Promise<void> {
  // Finalisers run in a later task after a collection.
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe.skipIf(!DEVICES.includes('webgpu'))('GPU tensor lifetime', () => {
  it('does not grow over a 10,000-op loop', async () => {
    const gpu = getBackend('webgpu', 'test');
    let x: Tensor = tensor(new Float32Array(4096), { shape: [64, 64], device: 'webgpu' });
    await x.data();
    await settle();
    const start = gpu.liveBytes();
    let peak = start;
    for (let i = 0; i < 10_000; i++) {
      x = x.add(1).mul(0.5);
      if (i % 500 === 499) {
        await x.data();
        await settle();
        peak = Math.max(peak, gpu.liveBytes());
      }
    }
    const values = await x.data();
    expect(values[0]).toBeCloseTo(1, 5); // x ← (x + 1) / 2 converges to 1
    await settle();
    // Each op allocates 16 KiB; without release 20,000 of them would hold 320 MiB.
    expect(gpu.liveBytes() - start).toBeLessThan(4 << 20);
    expect(peak - start).toBeLessThan(64 << 20);
  }, 120_000);
});
