/**
 * profile(fn): launches by kernel, bytes allocated, GPU times where the device has timestamps; on every device
 * (the GPU cases skip with a printed line when no adapter exists, and fail under CI=true).
 */
import { describe, expect, it } from 'vitest';
import { EinjitError, profile, tensor } from '../../src/index.js';
import { DEVICES } from '../helpers/devices.js';

describe.each(DEVICES)('profile on %s', (device) => {
  it('counts each launch once and the bytes of every storage created, and returns the result', async () => {
    const x = tensor([1, 2, 3, 4], { device });
    const y = tensor([10, 20, 30, 40], { device });
    // Three elementwise ops, each one kernel writing a new float32[4]; then a read.
    const p = await profile(async () => Array.from((await x.add(y).mul(y).sub(x).data()) as Float32Array));
    expect(p.result).toEqual([1 * 0 + (11 * 10 - 1), 22 * 20 - 2, 33 * 30 - 3, 44 * 40 - 4]);
    expect(p.launches).toBe(3);
    expect(p.kernels.reduce((s, k) => s + k.count, 0)).toBe(3);
    expect(p.kernels.every((k) => k.device === device)).toBe(true);
    expect(p.bytesAllocated).toBe(3 * 4 * 4);
    if (p.timed) for (const k of p.kernels) expect(k.ms).toBeGreaterThanOrEqual(0);
    else for (const k of p.kernels) expect(k.ms).toBeUndefined();
    // The CPU times every launch (wall clock around the kernel).
    if (device === 'cpu') expect(p.timed).toBe(true);
  });

  it('times each kernel by name, within the wall time of the call', async () => {
    if (device !== 'cpu') return;
    const small = tensor(Array.from({ length: 64 }, (_, i) => i), { device });
    const big = tensor(Array.from({ length: 1 << 16 }, (_, i) => i % 7), { device });
    const t0 = performance.now();
    const p = await profile(async () => {
      for (let i = 0; i < 3; i++) await small.exp().data();
      await big.sqrt().sin().data();
    });
    const wall = performance.now() - t0;
    // Kernels are named by op: three exps, one sqrt, one sin.
    expect(p.kernels.map((k) => [k.name, k.count]).sort()).toEqual([['exp', 3], ['sin', 1], ['sqrt', 1]]);
    for (const k of p.kernels) expect(k.ms).toBeGreaterThanOrEqual(0);
    const total = p.kernels.reduce((s, k) => s + k.ms!, 0);
    expect(total).toBeGreaterThan(0);
    expect(total).toBeLessThanOrEqual(wall);
    // Timing ends with the profile: a later profile starts from nothing.
    const q = await profile(() => small.exp().data());
    expect(q.kernels).toEqual([{ name: 'exp', device, count: 1, ms: q.kernels[0]!.ms }]);
    expect(q.kernels[0]!.ms).toBeGreaterThanOrEqual(0);
  });

  it('does not nest, reports an error thrown inside, and leaves the device usable afterwards', async () => {
    const x = tensor([1, 2], { device });
    await expect(profile(async () => profile(() => 1))).rejects.toThrow(EinjitError);
    await expect(profile(() => { throw new Error('inside'); })).rejects.toThrow('inside');
    const p = await profile(() => x.add(x).data());
    expect(Array.from(p.result as Float32Array)).toEqual([2, 4]);
    expect(p.launches).toBe(1);
  });
});

it('refuses a non-function with an EinjitError', async () => {
  await expect(profile(42 as never)).rejects.toThrow(EinjitError);
});
