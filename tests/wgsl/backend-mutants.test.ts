/**
 * Corners of the WebGPU device layer that the value suites do not reach: the aliasing guard with one of two
 * inputs aliased, a device error during a read, a split-K product over two batch dimensions, the error for a
 * forced GEMM tile the device cannot run, an input read twice by one expression, the params documentation of
 * the transpose kernel, the runtime-dir default set before Dawn loads, and the adapter description (from the
 * adapter itself, and with the fields a browser may leave out).
 */
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebGPUBackend } from '../../kernels/wgsl/index.js';
import fc from 'fast-check';
import { GEMM_CHOOSER, chooseGemmConfig } from '../../kernels/wgsl/gemm.js';
import type { GemmTileChoice } from '../../kernels/wgsl/gemm.js';
import { DEFAULT_MULTIPASS, splitReduction } from '../../kernels/wgsl/multipass.js';
import { EinjitError } from '../../src/errors.js';
import { ex } from '../../src/lower/spec.js';
import type { GemmSpec, LoopSpec, MatrixAccess } from '../../src/lower/spec.js';
import { rejection, thrown } from '../helpers/thrown.js';
import { referenceGemm } from './reference.js';
import { gpuAvailable, openBackend } from './setup.js';

/** A row-major [batch..., rows, cols] operand, each row padded by `pad` elements. */
function packed(rows: number, cols: number, batch: readonly number[], pad = 0): MatrixAccess {
  const batchStrides = batch.map((_, d) => batch.slice(d + 1).reduce((a, b) => a * b, 1) * rows * (cols + pad));
  return { offset: 0, batchStrides, rowStride: cols + pad, colStride: 1 };
}

const count = (batch: readonly number[], rows: number, cols: number, pad = 0): number => batch.reduce((a, b) => a * b, 1) * rows * (cols + pad);

function data(length: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

describe('a forced GEMM tile the device cannot run', () => {
  it('is refused as a gemm error whose hint names auto and the device limits', () => {
    const spec: GemmSpec = { kind: 'gemm', label: 'tile check', dtype: 'float32', batch: [], m: 64, n: 64, k: 64, a: packed(64, 64, []), b: packed(64, 64, []), c: packed(64, 64, []) };
    const limits = { maxComputeWorkgroupStorageSize: 16384, maxComputeInvocationsPerWorkgroup: 256 };
    const err = thrown(() => chooseGemmConfig(spec, { BM: 128, BN: 128, BK: 32, TM: 8, TN: 8, pipelined: true }, limits));
    expect(err.op).toBe('gemm');
    expect(err.hint).toBe("use gemmTiles: 'auto', or a shape that fits this device's limits");
    // 2 × (128 + 128) × 32 × 4 bytes of workgroup memory against the 16384 given.
    expect(err.message).toContain('65536 bytes of workgroup memory exceed 16384');
  });
});

describe('how a long reduction is split into parts', () => {
  it('the parts divide the longest reduce loop, each folds at least minPerPart points, all fill at most the target workgroups, and no larger such count exists', () => {
    const t = DEFAULT_MULTIPASS;
    fc.assert(fc.property(fc.integer({ min: 1, max: t.maxOutputs - 1 }),
      fc.oneof(fc.integer({ min: 1, max: 1 << 16 }), fc.constantFrom(1 << 16, 1 << 15, 3 * 4096, 5000, 65520, 40320)),
      fc.constantFrom(1, 3, 16, 64), (outputs, extent, other) => {
      // sum over [outputs, extent, other] -> [outputs], contiguous; the extent loop is the longer one when extent > other.
      const reduced = extent * other;
      const spec: LoopSpec = {
        kind: 'loop', label: 'long sum', sizes: [outputs, extent, other], parallel: 1, reduceOp: 'sum',
        inputs: [{ dtype: 'float32', offset: 0, strides: [reduced, other, 1] }], output: { dtype: 'float32', offset: 0, strides: [1] },
        expr: ex.input(0), computeType: 'float32',
      };
      const split = splitReduction(spec, t);
      const longest = Math.max(extent, other);
      // The largest divisor of the longest loop within both bounds (1 when there is none above 1).
      const bound = Math.min(Math.ceil(t.targetWorkgroups / outputs), Math.floor(reduced / t.minPerPart));
      let best = 1;
      for (let p = 2; p <= Math.min(bound, longest); p++) if (longest % p === 0) best = p;
      if (reduced < t.minReduced || best === 1) {
        expect(split).toBeNull();
        return;
      }
      if (split === null) {
        // Declined only when the best count is far below the wanted one.
        expect(best).toBeLessThan(Math.min(bound, longest) / 4);
        return;
      }
      expect(longest % split.parts).toBe(0);
      expect(reduced / split.parts).toBeGreaterThanOrEqual(t.minPerPart);
      expect(split.parts).toBeLessThanOrEqual(Math.ceil(t.targetWorkgroups / outputs));
      expect(split.parts).toBe(best);
    }), { seed: 20261205, numRuns: 400 });
  });

  it('a sum of 2^20 into one output is split 256 ways (4096 points a part), into 64 outputs 32 ways (the 2048-workgroup target)', () => {
    const sum = (outputs: number, extent: number): LoopSpec => ({
      kind: 'loop', label: 'long sum', sizes: [outputs, extent], parallel: 1, reduceOp: 'sum',
      inputs: [{ dtype: 'float32', offset: 0, strides: [extent, 1] }], output: { dtype: 'float32', offset: 0, strides: [1] },
      expr: ex.input(0), computeType: 'float32',
    });
    expect(splitReduction(sum(1, 1 << 20), DEFAULT_MULTIPASS)?.parts).toBe(256);
    expect(splitReduction(sum(64, 1 << 20), DEFAULT_MULTIPASS)?.parts).toBe(32);
  });
});

describe.skipIf(!gpuAvailable)('WebGPU device layer corners', () => {
  let backend: WebGPUBackend;
  beforeAll(async () => { backend = await openBackend(); });
  afterAll(() => { backend?.destroy(); });

  /** Runs `spec` under `tiles` on poisoned C and compares with float64. */
  async function checkGemm(spec: GemmSpec, tiles: GemmTileChoice, lengths: [number, number, number]): Promise<void> {
    const a = data(lengths[0], 11);
    const b = data(lengths[1], 12);
    const ref = referenceGemm(spec, a, b, new Array<number>(lengths[2]).fill(0));
    const sa = backend.upload('float32', a);
    const sb = backend.upload('float32', b);
    const sc = backend.upload('float32', Float32Array.from(ref.out, (v, i) => (ref.written.has(i) ? NaN : v)));
    backend.tuning.gemmTiles = tiles;
    try {
      backend.run(spec, [sa, sb], sc);
      const got = (await backend.read(sc)) as Float32Array;
      const bad: string[] = [];
      got.forEach((g, i) => {
        const want = ref.out[i]!;
        const ok = ref.written.has(i) ? Math.abs(g - want) <= 1e-5 * Math.max(ref.scale.get(i)!, 1e-30) : g === want;
        if (!ok && bad.length < 3) bad.push(`[${i}] got ${g}, want ${want}`);
      });
      expect(bad).toEqual([]);
    } finally {
      backend.tuning.gemmTiles = 'auto';
      for (const s of [sa, sb, sc]) backend.release(s);
    }
  }

  it('the small unpipelined tile with scalar loads (padded rows) matches float64', { timeout: 120_000 }, async () => {
    const [m, n, k] = [37, 29, 45];
    const spec: GemmSpec = { kind: 'gemm', label: 'small tile, scalar loads', dtype: 'float32', batch: [], m, n, k, a: packed(m, k, [], 1), b: packed(k, n, [], 1), c: packed(m, n, [], 2) };
    expect(chooseGemmConfig(spec, 'small', backend.limits)).toMatchObject({ pipelined: false, a: { vec4: null }, b: { vec4: null } });
    await checkGemm(spec, 'small', [count([], m, k, 1), count([], k, n, 1), count([], m, n, 2)]);
  });

  const add: LoopSpec = {
    kind: 'loop', label: 'add i,i->i', sizes: [4], parallel: 1, reduceOp: null,
    inputs: [{ dtype: 'float32', offset: 0, strides: [1] }, { dtype: 'float32', offset: 0, strides: [1] }],
    output: { dtype: 'float32', offset: 0, strides: [1] },
    expr: ex.binary('add', ex.input(0), ex.input(1)), computeType: 'float32',
  };

  it('refuses an output that is the second of two inputs when that input is read elsewhere than written', async () => {
    const x = backend.upload('float32', new Float32Array([1, 2, 3, 4]));
    const y = backend.upload('float32', new Float32Array([10, 20, 30, 40]));
    // Input 1 read reversed: point i would read y[3 - i], which another point may already have written.
    const reversedSecond: LoopSpec = { ...add, inputs: [add.inputs[0]!, { dtype: 'float32', offset: 3, strides: [-1] }] };
    try {
      const err = thrown(() => backend.run(reversedSecond, [x, y], y));
      expect(err.message).toContain('the output buffer is also an input of the same kernel');
      expect(err.op).toBe(backend.kernelSource(reversedSecond).name);
      // Nothing ran: y still holds its values.
      expect(Array.from(await backend.read(y))).toEqual([10, 20, 30, 40]);
    } finally {
      backend.release(x);
      backend.release(y);
    }
  });

  it('runs an in-place map: an input that is the output, read where it is written, comes from the output binding', async () => {
    const x = backend.upload('float32', new Float32Array([1, 2, 3, 4]));
    const y = backend.upload('float32', new Float32Array([10, 20, 30, 40]));
    try {
      backend.run(add, [x, y], y);
      expect(Array.from(await backend.read(y))).toEqual([11, 22, 33, 44]);
      backend.run(add, [y, y], y);
      expect(Array.from(await backend.read(y))).toEqual([22, 44, 66, 88]);
      expect(Array.from(await backend.read(x))).toEqual([1, 2, 3, 4]);
    } finally {
      backend.release(x);
      backend.release(y);
    }
  });

  it('a device error raised by a read itself is reported under the op read', async () => {
    const x = backend.upload('float32', new Float32Array([1, 2, 3, 4]));
    x.buffer.destroy(); // behind the backend's back: the copy into the staging buffer fails validation
    const err = await rejection(backend.read(x));
    expect(err.op).toBe('read');
    expect(err.message).toMatch(/^read: WebGPU validation error in kernel 'read': .*destroyed/);
    // Reported once: the backend keeps working (x is not released: its destroyed buffer must not be pooled).
    const y = backend.upload('float32', new Float32Array([5, 6]));
    expect(Array.from(await backend.read(y))).toEqual([5, 6]);
    backend.release(y);
  });

  it('a split-K product over two batch dimensions matches float64 (the workspace strides multiply later batch sizes)', { timeout: 120_000 }, async () => {
    const batch = [2, 3];
    const [m, n, k] = [20, 12, 96];
    const spec: GemmSpec = { kind: 'gemm', label: 'split over a 2-d batch', dtype: 'float32', batch, m, n, k, a: packed(m, k, batch), b: packed(k, n, batch), c: packed(m, n, batch) };
    await checkGemm(spec, { ...GEMM_CHOOSER.medium, splitK: 3 }, [count(batch, m, k), count(batch, k, n), count(batch, m, n)]);
  });

  it('an input read twice by the expression is loaded once', async () => {
    const square: LoopSpec = {
      kind: 'loop', label: 'square i->i', sizes: [4], parallel: 1, reduceOp: null,
      inputs: [{ dtype: 'float32', offset: 0, strides: [1] }], output: { dtype: 'float32', offset: 0, strides: [1] },
      expr: ex.binary('mul', ex.input(0), ex.input(0)), computeType: 'float32',
    };
    const { source } = backend.kernelSource(square);
    expect(source.match(/in0\[/g)).toHaveLength(1);
    const x = backend.upload('float32', new Float32Array([1, -2, 3, 0.5]));
    const out = backend.allocate('float32', 4);
    backend.run(square, [x], out);
    expect(Array.from(await backend.read(out))).toEqual([1, 4, 9, 0.25]);
    for (const s of [x, out]) backend.release(s);
  });

  it("the transpose kernel's params struct documents each tile count with the loop and size it divides", () => {
    // out[i, j] = in[j, i] over 64 × 48: the input is contiguous along loop 0, the output along loop 1.
    const spec: LoopSpec = {
      kind: 'loop', label: 'transpose ij->ji', sizes: [64, 48], parallel: 2, reduceOp: null,
      inputs: [{ dtype: 'float32', offset: 0, strides: [1, 64] }], output: { dtype: 'float32', offset: 0, strides: [48, 1] },
      expr: ex.input(0), computeType: 'float32',
    };
    const { name, source } = backend.kernelSource(spec);
    expect(name).toMatch(/transpose/);
    const doc = (field: string): string => source.match(new RegExp(`^ +${field}: i32, +// (.*)$`, 'm'))?.[1] ?? `(no comment on ${field})`;
    expect(doc('size0')).toBe('loop a (input contiguous)');
    expect(doc('size1')).toBe('loop b (output contiguous)');
    const tile = /tiles along loop a \(size0 \/ (\d+), rounded up\)/.exec(doc('tiles_a'))?.[1];
    expect(tile).toBeDefined();
    expect(doc('tiles_b')).toBe(`tiles along loop b (size1 / ${tile}, rounded up)`);
  });

  it('sets XDG_RUNTIME_DIR to the temporary directory before loading Dawn when it is unset, and keeps a set one', async () => {
    const before = process.env['XDG_RUNTIME_DIR'];
    try {
      delete process.env['XDG_RUNTIME_DIR'];
      expect((await WebGPUBackend.probe()).available).toBe(true);
      expect(process.env['XDG_RUNTIME_DIR']).toBe(tmpdir());
      process.env['XDG_RUNTIME_DIR'] = '/nonexistent-runtime-dir-kept';
      await WebGPUBackend.probe();
      expect(process.env['XDG_RUNTIME_DIR']).toBe('/nonexistent-runtime-dir-kept');
    } finally {
      if (before === undefined) delete process.env['XDG_RUNTIME_DIR'];
      else process.env['XDG_RUNTIME_DIR'] = before;
    }
  });
});

describe.skipIf(!gpuAvailable)('the adapter description', () => {
  /** Dawn's GPU, reached the way the backend reaches it in Node. */
  async function dawnGpu(): Promise<GPU> {
    const dawn = (await import('webgpu')) as { create(options: string[]): GPU };
    return dawn.create([]);
  }

  it("details() gives the adapter's own vendor, architecture, device and description", async () => {
    const adapter = (await (await dawnGpu()).requestAdapter({ powerPreference: 'high-performance' }))!;
    const info = adapter.info;
    const backend = await WebGPUBackend.create();
    try {
      const d = backend.adapterDetails;
      expect([d.vendor, d.architecture, d.device, d.description]).toEqual([info.vendor, info.architecture, info.device, info.description]);
      // At least one field is non-empty on every adapter this suite runs on (lavapipe names itself).
      expect([d.vendor, d.architecture, d.device, d.description].join('')).not.toBe('');
    } finally {
      backend.destroy();
    }
  });

  it('fields an adapter leaves out read as empty strings (a navigator.gpu whose adapter info has none)', { timeout: 60_000 }, async () => {
    const gpu = await dawnGpu();
    const g = globalThis as { navigator?: unknown };
    const had = Object.getOwnPropertyDescriptor(g, 'navigator');
    const stub = {
      requestAdapter: async (options?: GPURequestAdapterOptions) => {
        const real = await gpu.requestAdapter(options);
        if (real === null) return null;
        return new Proxy(real, {
          get(target, p) {
            if (p === 'info') return { vendor: undefined, architecture: undefined, device: undefined, description: undefined };
            if (p === 'isFallbackAdapter') return false;
            const v = Reflect.get(target, p, target) as unknown;
            return typeof v === 'function' ? (v as (...args: unknown[]) => unknown).bind(target) : v;
          },
        });
      },
    };
    Object.defineProperty(g, 'navigator', { value: { gpu: stub }, configurable: true, writable: true });
    let backend: WebGPUBackend | undefined;
    try {
      backend = await WebGPUBackend.create();
      expect(backend.adapterDetails).toEqual({ vendor: '', architecture: '', device: '', description: '', software: false });
    } finally {
      backend?.destroy();
      if (had === undefined) delete g.navigator;
      else Object.defineProperty(g, 'navigator', had);
    }
  });
});
