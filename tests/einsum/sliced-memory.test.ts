/**
 * A sliced contraction (memoryLimit below the best path's largest intermediate) must also hold less memory while
 * it runs: each slice's intermediates, result and the accumulation's temporary are released before the next
 * slice, so the peak of the backend's live bytes is one slice's working set beside the accumulator, whatever the
 * number of slices. The bug class is a slice loop that lets every slice's tensors wait for the garbage collector
 * (the peak then grows with the slice count). The peak is read by a stand-in backend that asks the device's
 * backend for its live bytes after every call into it, on every device under test (float64 on the CPU, float32
 * on WebGPU, which has no float64).
 */
import { describe, expect, it } from 'vitest';
import { einsum, einsumPath, tensor, type Device, type Tensor } from '../../src/index.js';
import { getBackend, withBackends, type Backend } from '../../src/runtime/backend.js';
import { DEVICES } from '../helpers/devices.js';

/** The device's backend behind a proxy that records the largest liveBytes() seen after any of its methods returns. */
function peakTracking(device: Device): { backend: Backend; peak: () => number } {
  const cpu = getBackend(device, 'test');
  cpu.liveBytes();
  let peak = cpu.liveBytes();
  const backend = new Proxy(cpu, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver) as unknown;
      if (typeof value !== 'function' || key === 'liveBytes') return value;
      return (...args: unknown[]) => {
        const out = (value as (...a: unknown[]) => unknown).apply(target, args);
        peak = Math.max(peak, target.liveBytes());
        return out;
      };
    },
  });
  return { backend, peak: () => peak };
}

describe.each(DEVICES)('sliced contraction memory on %s', (device) => {
  it('peaks at one slice\'s working set beside the result, not at every slice\'s, and keeps only the result', async () => {
    const dtype = device === 'cpu' ? 'float64' : 'float32';
    const bytes = device === 'cpu' ? 8 : 4;
    const sizes = { a: 1024, b: 24, c: 24, d: 1024 };
    const shapes = [[sizes.a, sizes.b], [sizes.b, sizes.c], [sizes.c, sizes.d]];
    const values = shapes.map((s, k) => Float64Array.from({ length: s[0]! * s[1]! }, (_, i) => Math.fround(Math.sin(i * 0.37 + k))));
    const xs = shapes.map((s, k) => tensor(values[k]!, { dtype, device }).reshape(s));
    const path = einsumPath('ab,bc,cd->ad', shapes, { memoryLimit: 2000 });
    const slices = path.sliced?.slices ?? 1;
    expect(slices).toBeGreaterThanOrEqual(8);
    const outBytes = sizes.a * sizes.d * bytes;
    const { backend, peak } = peakTracking(device);
    const before = backend.liveBytes();
    let y: Tensor | undefined;
    withBackends([backend], () => { y = einsum('ab,bc,cd->ad', xs[0]!, xs[1]!, xs[2]!, { memoryLimit: 2000 }); });
    // The accumulator, one slice's result and the sum's temporary (three outputs), and the slice's
    // intermediates within the limit; before each slice was released the peak grew with the slice count.
    expect(peak() - before).toBeLessThanOrEqual(3 * outBytes + 2 * 2000 * bytes);
    expect(backend.liveBytes() - before).toBe(outBytes);
    // And it is the einsum: spot-checked against plain loops in float64.
    const [A, B, C] = values as [Float64Array, Float64Array, Float64Array];
    const got = await y!.data();
    const tol = device === 'cpu' ? 1e-9 : 1e-4;
    for (const [a, d] of [[0, 0], [1023, 1023], [100, 37], [700, 400]] as const) {
      let want = 0;
      let scale = 0;
      for (let b = 0; b < sizes.b; b++) {
        for (let c = 0; c < sizes.c; c++) {
          const term = A[a * sizes.b + b]! * B[b * sizes.c + c]! * C[c * sizes.d + d]!;
          want += term;
          scale += Math.abs(term);
        }
      }
      expect(Math.abs(Number(got[a * sizes.d + d]) - want)).toBeLessThanOrEqual(tol * (1 + scale));
    }
    y!.dispose();
    for (const x of xs) x.dispose();
  });

  it('when an output index is sliced, peaks at the whole output beside one slice\'s block and intermediates', async () => {
    // The case of sliced-output.test.ts: d (256) is sliced, each slice writes one column of the [256, 256]
    // output; one slice holds bd (72 elements, under the limit of 200) and its column (256 elements).
    const dtype = device === 'cpu' ? 'float64' : 'float32';
    const bytes = device === 'cpu' ? 8 : 4;
    const shapes = [[256, 72], [72, 256], [256, 256]];
    const xs = shapes.map((s, k) => tensor(Float64Array.from({ length: s[0]! * s[1]! }, (_, i) => Math.cos(i + k)), { dtype, device }).reshape(s));
    expect(einsumPath('ab,bc,cd->ad', shapes, { memoryLimit: 200 }).sliced?.axes).toEqual(['d']);
    const outBytes = 256 * 256 * bytes;
    const { backend, peak } = peakTracking(device);
    const before = backend.liveBytes();
    let y: Tensor | undefined;
    withBackends([backend], () => { y = einsum('ab,bc,cd->ad', xs[0]!, xs[1]!, xs[2]!, { memoryLimit: 200 }); });
    expect(peak() - before).toBeLessThanOrEqual(outBytes + (2 * 200 + 2 * 256) * bytes);
    expect(backend.liveBytes() - before).toBe(outBytes);
    y!.dispose();
    for (const x of xs) x.dispose();
  });
});
