/**
 * CPU corners a fresh mutation sample (seed 20261221) found unobserved: the cache-blocked transpose's source
 * opens with the same header as every other loop kernel (explain() and source() show it), and the backend's
 * kernel timing reports each kernel's name, launch count and time.
 */
import { describe, expect, it } from 'vitest';
import { renderLoop } from '../../kernels/cpu/loop.js';
import { ex, type LoopSpec } from '../../src/lower/spec.js';
import { einsum, ones } from '../../src/index.js';
import { getBackend } from '../../src/runtime/backend.js';

describe('the CPU loop kernels', () => {
  it("a cache-blocked transpose's source opens with the kernel header", () => {
    const spec: LoopSpec = {
      kind: 'loop', label: 'ij->ji', sizes: [64, 64], parallel: 2, reduceOp: null,
      inputs: [{ dtype: 'float64', offset: 0, strides: [1, 64] }],
      output: { dtype: 'float64', offset: 0, strides: [64, 1] }, computeType: 'float64', expr: ex.input(0),
    };
    const source = renderLoop(spec);
    expect(source).toMatch(/block/);
    expect(source.split('\n')[0]).toBe('// einjit CPU kernel: ij->ji');
  });
});

describe("the CPU backend's timing", () => {
  it("names each kernel and counts its launches, with a time", async () => {
    const backend = getBackend('cpu', 'test');
    backend.startTiming!();
    const a = ones([8, 8]);
    for (let i = 0; i < 3; i++) await einsum('ij,jk->ik', a, a).data();
    const times = await backend.stopTiming!();
    expect(times.timed).toBe(true);
    expect(times.kernels.length).toBeGreaterThan(0);
    for (const k of times.kernels) {
      expect(typeof k.name).toBe('string');
      expect(k.count).toBeGreaterThan(0);
      expect(k.ms).toBeGreaterThanOrEqual(0);
    }
    expect(times.kernels.reduce((s, k) => s + k.count, 0)).toBeGreaterThanOrEqual(3);
  });
});
