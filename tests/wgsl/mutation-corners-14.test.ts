/**
 * WGSL corners a fresh mutation sample (seed 20261224) found unpinned:
 * - a batch of launches whose params fill the params arena is submitted before a launch that would not fit,
 *   also when that launch's params take more than one slot (they once overran the arena there): a property over
 *   random runs of launches with params of one to three slots; and no sooner: launches that fill the arena
 *   exactly, or 256 of one slot each, go in one submission;
 * - released buffers are pooled up to 256 MiB in all, that limit included, and destroyed past it;
 * - poison fills int32 allocations too (NaN as -1, an integer as itself) and float16 ones as f16 where the
 *   device stores float16 so;
 * - a batch with no kernel in it (a reused buffer's clear) is named 'webgpu' in the error it raises;
 * - (seed 20261225) a GEMM without a K split is one launch, one with a split two (the partial products and their
 *   sum); a kernel over more storage buffers than the device binds says to split the expression; a cast to
 *   float16 inside an expression rounds to float16, computed in f32 or in i32;
 * - (seed 20261226) the adapter is described by its non-empty fields, vendor to description, joined by ' / ';
 *   a kernel may bind exactly as many storage buffers as the device allows; a lost device is named as such, with
 *   what to do; GEMM tiles are chosen automatically by default.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GpuStorage, WebGPUBackend } from '../../kernels/wgsl/index.js';
import { describeAdapter } from '../../kernels/wgsl/backend.js';
import { DEFAULT_LOOP_TUNING, loopKernel } from '../../kernels/wgsl/loop.js';
import { ex, type Expr, type GemmSpec, type LoopSpec } from '../../src/lower/spec.js';
import { thrown } from '../helpers/thrown.js';
import { prng } from '../helpers/random.js';
import { gpuAvailable, halfBits, halfValue, openBackend, readNumbers } from './setup.js';

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

  it('launches a GEMM without a K split once, and one with a split as its products and their sum', async () => {
    const [m, n, k] = [8, 8, 16];
    const spec: GemmSpec = {
      kind: 'gemm', label: 'launch count', dtype: 'float32', batch: [], m, n, k,
      a: { offset: 0, batchStrides: [], rowStride: k, colStride: 1 },
      b: { offset: 0, batchStrides: [], rowStride: n, colStride: 1 },
      c: { offset: 0, batchStrides: [], rowStride: n, colStride: 1 },
    };
    const a = backend.upload('float32', new Float32Array(m * k).fill(1));
    const b = backend.upload('float32', new Float32Array(k * n).fill(0.5));
    const c = backend.allocate('float32', m * n);
    const launched = (): number => (backend as unknown as { batch: { names: string[] } | null }).batch?.names.length ?? 0;
    try {
      for (const [tiles, launches] of [['small', 1], [{ BM: 64, BN: 64, BK: 4, TM: 4, TN: 4, pipelined: true, splitK: 3 }, 2]] as const) {
        backend.tuning.gemmTiles = tiles;
        backend.submitPending();
        backend.run(spec, [a, b], c);
        expect(launched()).toBe(launches);
        expect(await readNumbers(backend, c)).toEqual(new Array(m * n).fill(k * 0.5));
      }
    } finally {
      backend.tuning.gemmTiles = 'auto';
      for (const s of [a, b, c]) backend.release(s);
    }
  });

  it('says to split the expression when its storage buffers exceed what the device binds', () => {
    const limits = backend.limits as { maxStorageBuffersPerShaderStage: number };
    const saved = limits.maxStorageBuffersPerShaderStage;
    const x = backend.upload('float32', new Float32Array(4));
    const out = backend.allocate('float32', 4);
    limits.maxStorageBuffersPerShaderStage = 3;
    try {
      // Exactly as many as the device binds: it runs.
      const two: LoopSpec = { ...addConstants(0, 0), inputs: [addConstants(0, 0).inputs[0]!, addConstants(0, 0).inputs[0]!], expr: ex.binary('add', ex.input(0), ex.input(1)) };
      expect(() => backend.run(two, [x, x], out)).not.toThrow();
      limits.maxStorageBuffersPerShaderStage = 2;
      const sum: LoopSpec = { ...addConstants(0, 0), inputs: [addConstants(0, 0).inputs[0]!, addConstants(0, 0).inputs[0]!], expr: ex.binary('add', ex.input(0), ex.input(1)) };
      const e = thrown(() => backend.run(sum, [x, x], out));
      expect([e.reason, e.hint]).toEqual(["3 storage buffers exceed this device's limit of 2", 'split the expression into several kernels']);
    } finally {
      limits.maxStorageBuffersPerShaderStage = saved;
      for (const s of [x, out]) backend.release(s);
    }
  });

  it('rounds a cast to float16 inside an expression to float16, ties to even, computed in f32 and in i32', async () => {
    const map = (dtype: 'float32' | 'int32', n: number): LoopSpec => ({
      kind: 'loop', label: 'to float16 and back', sizes: [n], parallel: 1, reduceOp: null,
      inputs: [{ dtype, offset: 0, strides: [1] }], output: { dtype, offset: 0, strides: [1] },
      expr: ex.cast('float16', ex.input(0)), computeType: dtype,
    });
    // float16 has 11 significant bits: 0.1 is 0.0999755859375, 2049 is 2048 (a tie, to even) and 4099 is 4100.
    const ints = new Int32Array([2049, 4099, -7, 65519, -2051]);
    const x = backend.upload('int32', ints);
    const out = backend.allocate('int32', ints.length);
    backend.run(map('int32', ints.length), [x], out);
    expect(await readNumbers(backend, out)).toEqual([2048, 4100, -7, 65504, -2052]);
    for (const s of [x, out]) backend.release(s);
    // Floats against setup.ts's binary16 rounding (ties to even): the value set's corners and random values over
    // every binade, subnormals included.
    const rand = prng(20261225);
    const corners = [0.1, 1, -3.0009765625, 0, -0, 65504, 65519.99, 65520, -70000, 2 ** -24, 2 ** -25, 3 * 2 ** -26, 2 ** -14 - 2 ** -25, Infinity, -Infinity, Number.NaN];
    const floats = Float32Array.from([...corners, ...Array.from({ length: 500 }, () => (rand() - 0.5) * 2 ** Math.floor(rand() * 44 - 28))]);
    const fx = backend.upload('float32', floats);
    const fout = backend.allocate('float32', floats.length);
    backend.run(map('float32', floats.length), [fx], fout);
    expect(await readNumbers(backend, fout)).toEqual(Array.from(floats, (v) => halfValue(halfBits(v))));
    for (const s of [fx, fout]) backend.release(s);
  });

  it("describes the adapter by its non-empty fields joined by ' / '", () => {
    const d = backend.adapterDetails;
    const fields = [d.vendor, d.architecture, d.device, d.description];
    expect(backend.adapterInfo).toBe(fields.filter((f) => f !== '').join(' / '));
    expect(backend.adapterInfo).not.toBe('');
    expect(backend.adapterInfo).not.toMatch(/ \/ \/ |^ \/ | \/ $/);
  });

  it('leaves out the fields an adapter leaves empty or undefined', () => {
    const info = (vendor?: string, architecture?: string, device?: string, description?: string) => ({ vendor, architecture, device, description }) as unknown as GPUAdapterInfo;
    expect(describeAdapter(info('mesa', '', 'llvmpipe', ''))).toBe('mesa / llvmpipe');
    expect(describeAdapter(info(undefined, 'ampere', undefined, 'H100'))).toBe('ampere / H100');
    expect(describeAdapter(info('', '', '', ''))).toBe('');
  });

  it('names a lost device and says to create a new backend', async () => {
    const own = await openBackend();
    expect(own.tuning.gemmTiles).toBe('auto');
    try {
      // The device is lost under the backend (destroyed behind its back), not destroyed through it.
      (own as unknown as { dev: GPUDevice }).dev.destroy();
      await (own as unknown as { dev: GPUDevice }).dev.lost;
      await new Promise((resolve) => setTimeout(resolve, 0));
      const e = thrown(() => own.allocate('float32', 4));
      expect([e.op, e.reason.startsWith('the WebGPU device was lost ('), e.hint]).toEqual(['allocate', true, 'create a new backend']);
    } finally {
      own.destroy();
    }
  });
});
