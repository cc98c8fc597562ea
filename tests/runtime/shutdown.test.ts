/**
 * A webgpu tensor made before `shutdown()` fails with an EinjitError saying its device was shut down, when used
 * after a re-init (not with Dawn's text under a kernel name) or before one, and disposing it is harmless.
 */
import { describe, expect, it } from 'vitest';
import { EinjitError, ones, setDefaultDevice, shutdown, type Tensor } from '../../src/index.js';
import { DEVICES } from '../helpers/devices.js';

describe.skipIf(!DEVICES.includes('webgpu'))('webgpu tensors across shutdown()', () => {
  it('an old tensor used on the re-initialised device is refused with a clear error', async () => {
    const old = ones([4], { device: 'webgpu' });
    const oldSum = old.sum();
    expect(Array.from(await oldSum.data())).toEqual([4]);
    await shutdown();
    await setDefaultDevice('webgpu');
    const fresh = ones([4], { device: 'webgpu' });
    expect(Array.from(await fresh.add(1).data())).toEqual([2, 2, 2, 2]);

    const failures: unknown[] = [];
    const attempt = async (fn: () => Tensor | Promise<unknown>): Promise<void> => {
      try {
        await fn();
        failures.push(null);
      } catch (e) {
        failures.push(e);
      }
    };
    await attempt(() => old.add(1));
    await attempt(() => old.add(fresh));
    await attempt(() => old.data());
    await attempt(() => oldSum.to('cpu'));
    for (const e of failures) {
      expect(e).toBeInstanceOf(EinjitError);
      expect((e as Error).message).toMatch(/^[\w ]+: this tensor belongs to a webgpu device that was shut down/);
    }
    expect((failures[0] as Error).message).toMatch(/^add scalar: /);
    expect((failures[2] as Error).message).toMatch(/^data: /);
    old.dispose(); // harmless: its buffer went with the old device
    expect(Array.from(await fresh.mul(3).data())).toEqual([3, 3, 3, 3]);
    await shutdown();
  });

  it('an old tensor used while the device is still shut down says so, naming the op', async () => {
    await setDefaultDevice('webgpu');
    const old = ones([4], { device: 'webgpu' });
    await shutdown();
    const failures: unknown[] = [];
    for (const fn of [() => old.add(1), () => old.data(), () => ones([2], { device: 'webgpu' })]) {
      try {
        await fn();
        failures.push(null);
      } catch (e) {
        failures.push(e);
      }
    }
    expect(failures.map((e) => (e instanceof EinjitError ? e.message.split('\n')[0] : e))).toEqual([
      "add scalar: the 'webgpu' device was shut down",
      "data: the 'webgpu' device was shut down",
      "ones: the 'webgpu' device was shut down",
    ]);
    await setDefaultDevice('webgpu');
    expect(Array.from(await ones([2], { device: 'webgpu' }).data())).toEqual([1, 1]);
    await shutdown();
  });
});
