/**
 * WGSL corners a fresh mutation sample (seed 20261224) found unpinned:
 * - a batch of launches whose params fill the params arena is submitted before a launch that would not fit,
 *   also when that launch's params take more than one slot (they once overran the arena there): a property over
 *   random runs of launches with params of one to three slots; and no sooner: launches that fill the arena
 *   exactly, or 256 of one slot each, go in one submission;
 * - released buffers are pooled up to 256 MiB in all, that limit included, and destroyed past it;
 * - poison fills int32 allocations too (NaN as -1, an integer as itself) and float16 ones as f16 where the
 *   device stores float16 so;
 * - a batch with no kernel in it (a reused buffer's clear) is named 'webgpu' in the error it raises.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GpuStorage, WebGPUBackend } from '../../kernels/wgsl/index.js';
import { DEFAULT_LOOP_TUNING, loopKernel } from '../../kernels/wgsl/loop.js';
import { ex, type Expr, type LoopSpec } from '../../src/lower/spec.js';
import { gpuAvailable, openBackend, readNumbers } from './setup.js';

/** The constants (j + 1) / 1024 for j < n, and their sum. */
const constantsOf = (n: number): number[] => Array.from({ length: n }, (_, j) => (j + 1) / 1024);

/**
 * x + c0 + c1 + ... over 4 elements, written at element `at` of the output: each constant is a params field, so
 * many of them take several 256-byte slots.
 */
function addConstants(n: number, at: number): LoopSpec {
  let expr: Expr = ex.input(0);
  for (const c of constantsOf(n)) expr = ex.binary('add', expr, ex.const(c));
  return {
    kind: 'loop', label: 'add constants', sizes: [4], parallel: 1, reduceOp: null,
    inputs: [{ dtype: 'float32', offset: 0, strides: [1] }],
    output: { dtype: 'float32', offset: at, strides: [1] }, expr, computeType: 'float32',
  };
}

/** Constant counts whose params take one, two and three slots. */
const COUNTS = [1, 80, 150];

describe.skipIf(!gpuAvailable)('the webgpu backend', () => {
  let backend: WebGPUBackend;
  beforeAll(async () => { backend = await openBackend(); });
  afterAll(() => { backend?.destroy(); });

  it('takes params of one, two and three slots (the arena holds 256)', () => {
    expect(COUNTS.map((n) => Math.ceil((loopKernel(addConstants(n, 0), DEFAULT_LOOP_TUNING, false).params().size * 4) / 256))).toEqual([1, 2, 3]);
  });

  it('submits a batch before a launch whose params would overrun the arena, one slot or several', async () => {
    const x = backend.upload('float32', new Float32Array([0, 1, 2, 3]));
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.constantFrom(...COUNTS), { minLength: 1, maxLength: 300, size: 'max' }), async (counts) => {
          // Every launch is encoded before any is submitted (submission waits for a microtask).
          const out = backend.allocate('float32', 4 * counts.length);
          counts.forEach((n, k) => backend.run(addConstants(n, 4 * k), [x], out));
          const got = await readNumbers(backend, out);
          backend.release(out);
          counts.forEach((n, k) => {
            const sum = constantsOf(n).reduce((a, b) => a + b, 0);
            for (let i = 0; i < 4; i++) expect(Math.abs(got[4 * k + i]! - (i + sum))).toBeLessThan(1e-4);
          });
        }),
        { numRuns: 20, seed: 20261224 },
      );
    } finally {
      backend.release(x);
    }
  });

  it('submits a batch no sooner than its arena or its launch count is full', async () => {
    const queue = (backend as unknown as { dev: GPUDevice }).dev.queue;
    const submit = queue.submit.bind(queue);
    let submissions = 0;
    queue.submit = (buffers) => {
      submissions++;
      submit(buffers);
    };
    const x = backend.upload('float32', new Float32Array([0, 1, 2, 3]));
    try {
      // 128 launches of two slots fill the arena exactly; 256 of one slot reach the launch count.
      for (const [n, launches] of [[80, 128], [1, 256], [80, 129]] as const) {
        const out = backend.allocate('float32', 4 * launches);
        backend.submitPending();
        submissions = 0;
        for (let k = 0; k < launches; k++) backend.run(addConstants(n, 4 * k), [x], out);
        backend.submitPending();
        expect([n, launches, submissions]).toEqual([n, launches, launches === 129 ? 2 : 1]);
        const got = await readNumbers(backend, out);
        expect(got[4 * launches - 1]).toBeCloseTo(3 + constantsOf(n).reduce((a, b) => a + b, 0), 4);
        backend.release(out);
      }
    } finally {
      queue.submit = submit;
      backend.release(x);
    }
  });

  it('pools released buffers up to 256 MiB in all, that limit included', async () => {
    // A backend of its own, so that its pool starts empty.
    const own = await openBackend();
    try {
      const bufferOf = (st: GpuStorage): GPUBuffer => (st as unknown as { buffer: GPUBuffer }).buffer;
      // Buffers of 64 MiB (within WebGPU's default storage binding limit of 128 MiB): four fill the pool exactly.
      const quarter = (64 * 1024 * 1024) / 4;
      const big = Array.from({ length: 4 }, () => own.allocate('float32', quarter));
      const small = own.allocate('float32', 1);
      const buffers = [...big, small].map(bufferOf);
      for (const st of [...big, small]) own.release(st);
      // The four big ones came back to the pool (the last one reaching the limit exactly); the small one, past
      // it, was destroyed: a new allocation of its size gets a new buffer.
      const again = Array.from({ length: 4 }, () => bufferOf(own.allocate('float32', quarter)));
      expect(again.map((b) => buffers.indexOf(b)).sort()).toEqual([0, 1, 2, 3]);
      expect(bufferOf(own.allocate('float32', 1))).not.toBe(buffers[4]);
    } finally {
      own.destroy();
    }
  });

  it('poisons int32 allocations (NaN as -1) and float16 ones as the device stores them', async () => {
    try {
      backend.setPoison(Number.NaN);
      const nan = backend.allocate('int32', 3);
      expect(await readNumbers(backend, nan)).toEqual([-1, -1, -1]);
      backend.setPoison(-7);
      const seven = backend.allocate('int32', 5);
      expect(await readNumbers(backend, seven)).toEqual([-7, -7, -7, -7, -7]);
      backend.setPoison(-7.5);
      const half = backend.allocate('float16', 5);
      expect(await readNumbers(backend, half)).toEqual([-7.5, -7.5, -7.5, -7.5, -7.5]);
      for (const st of [nan, seven, half]) backend.release(st);
    } finally {
      backend.setPoison(null);
    }
  });

  it("names a batch with no kernel in it 'webgpu' in its error", async () => {
    const own = await openBackend();
    try {
      own.release(own.allocate('float32', 4));
      // A reused buffer is cleared by a command in the batch: with its buffer destroyed, the submission fails.
      const zeroed = own.allocateZeroed('float32', 4);
      (zeroed as unknown as { buffer: GPUBuffer }).buffer.destroy();
      own.submitPending();
      await expect(own.flush()).rejects.toThrow("WebGPU validation error in kernel 'webgpu'");
    } finally {
      own.destroy();
    }
  });
});
