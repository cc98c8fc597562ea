/**
 * WebGPU backend behaviour the value suites do not pin: what 'auto' picks for a GEMM near its thresholds (the
 * small tile when the medium one does not fit, the split count from the target workgroups and from K), a kernel
 * that fails to compile is not cached, the hint that counts the errors after the first, kernel times in a profile,
 * the kernel names of reductions and the params comments of the vec4 copy; when C is stored four columns at a
 * time, a multipass reduction into a 2-d output, the pool's byte count after reuse, the allocation-size hint, the
 * output named by the bounds check, the op of stopProfile on a destroyed backend, the blank line between helpers,
 * a disposed webgpu tensor giving its bytes back, and float16 stores rounded in the kernel on a device without
 * 'shader-f16'.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebGPUBackend } from '../../kernels/wgsl/index.js';
import { GEMM_CHOOSER, chooseGemmConfig } from '../../kernels/wgsl/gemm.js';
import { splitReduction } from '../../kernels/wgsl/multipass.js';
import { ex } from '../../src/lower/spec.js';
import type { GemmSpec, LoopSpec, MatrixAccess, ReduceOp } from '../../src/lower/spec.js';
import { tensor } from '../../src/index.js';
import { getBackend } from '../../src/runtime/backend.js';
import { DEVICES } from '../helpers/devices.js';
import { rejection, thrown } from '../helpers/thrown.js';
import { gpuAvailable, halfValue, openBackend } from './setup.js';

function rowMajor(rows: number, cols: number): MatrixAccess {
  return { offset: 0, batchStrides: [], rowStride: cols, colStride: 1 };
}

function gemm(m: number, n: number, k: number): GemmSpec {
  return { kind: 'gemm', label: `auto ${m}x${n}x${k}`, dtype: 'float32', batch: [], m, n, k, a: rowMajor(m, k), b: rowMajor(k, n), c: rowMajor(m, n) };
}

describe("what 'auto' picks for a GEMM", () => {
  // Both pipelined tiles of the table need 2 × (64 + 64) × 16 × 4 = 2 × (128 + 128) × 8 × 4 = 16384 bytes.
  const fits = { maxComputeWorkgroupStorageSize: 16384, maxComputeInvocationsPerWorkgroup: 256 };
  const short = { maxComputeWorkgroupStorageSize: 16383, maxComputeInvocationsPerWorkgroup: 256 };

  it('the pipelined medium tile where the device has exactly the workgroup memory it needs, the small unpipelined tile with one byte less', () => {
    // 640 × 640: 100 medium tiles (≥ 66, so unsplit), 25 big ones (< 256, so not big).
    const spec = gemm(640, 640, 256);
    expect(GEMM_CHOOSER.medium).toMatchObject({ BM: 64, BN: 64, BK: 16, pipelined: true });
    expect(chooseGemmConfig(spec, 'auto', fits)).toMatchObject({ BM: 64, BN: 64, BK: 16, pipelined: true, splitK: 1 });
    expect(chooseGemmConfig(spec, 'auto', short)).toMatchObject({ BM: 64, BN: 64, BK: 16, pipelined: false, splitK: 1 });
    // A skinny product that would split on the medium tile is not split on the small one.
    expect(chooseGemmConfig(gemm(64, 64, 4096), 'auto', short)).toMatchObject({ pipelined: false, splitK: 1 });
  });

  it('splits K into ceil(264 / tiles) parts when the target workgroups bind, floor(K / 256) when K does, at most 64', () => {
    // 640 × 64: 10 medium tiles; K = 16384 allows 64 splits, the target 264 / 10 → 27.
    expect(chooseGemmConfig(gemm(640, 64, 16384), 'auto', fits).splitK).toBe(27);
    // 64 × 64: one tile; the target allows 264, K = 1024 only 4 (and 4 ≤ ceil(1024 / 16) chunks).
    expect(chooseGemmConfig(gemm(64, 64, 1024), 'auto', fits).splitK).toBe(4);
    // 64 × 64, K = 65536: 256 by K, 264 by the target, capped at 64.
    expect(chooseGemmConfig(gemm(64, 64, 65536), 'auto', fits).splitK).toBe(64);
  });

  it('two splits are still a split (K = 512 on one tile), and K below 512 is not split', () => {
    expect(chooseGemmConfig(gemm(64, 64, 512), 'auto', fits).splitK).toBe(2);
    expect(chooseGemmConfig(gemm(64, 64, 511), 'auto', fits).splitK).toBe(1);
  });
});

describe('when C is stored four columns at a time (cVec4)', () => {
  const limits = { maxComputeWorkgroupStorageSize: 16384, maxComputeInvocationsPerWorkgroup: 256 };
  const pipelined = { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4, pipelined: true };
  const withC = (c: Partial<MatrixAccess>, n = 64): GemmSpec => ({ ...gemm(64, n, 32), c: { ...rowMajor(64, n), ...c } });

  it('on a pipelined tile when C has unit column stride and its row stride, offset and batch strides divide by 4', () => {
    expect(chooseGemmConfig(withC({}), pipelined, limits).cVec4).toBe(true);
    expect(chooseGemmConfig(withC({ offset: 8, rowStride: 68 }), pipelined, limits).cVec4).toBe(true);
  });

  it('never on an unpipelined tile, nor with an epilogue, nor when one condition on C fails', () => {
    expect(chooseGemmConfig(withC({}), 'small', limits)).toMatchObject({ pipelined: false, cVec4: false });
    expect(chooseGemmConfig(withC({}), { ...pipelined, pipelined: false }, limits).cVec4).toBe(false);
    expect(chooseGemmConfig({ ...withC({}), epilogue: ex.unary('relu', ex.input(0)) }, pipelined, limits).cVec4).toBe(false);
    expect(chooseGemmConfig(withC({ colStride: 2, rowStride: 128 }), pipelined, limits).cVec4).toBe(false);
    expect(chooseGemmConfig(withC({ rowStride: 66 }), pipelined, limits).cVec4).toBe(false);
    expect(chooseGemmConfig(withC({ offset: 2 }), pipelined, limits).cVec4).toBe(false);
    expect(chooseGemmConfig(withC({ offset: 1 }), pipelined, limits).cVec4).toBe(false);
    expect(chooseGemmConfig(withC({}, 62), pipelined, limits).cVec4).toBe(false);
    expect(chooseGemmConfig({ ...withC({}), batch: [2], a: { ...rowMajor(64, 32), batchStrides: [64 * 32] }, b: { ...rowMajor(32, 64), batchStrides: [32 * 64] }, c: { ...rowMajor(64, 64), batchStrides: [4098] } }, pipelined, limits).cVec4).toBe(false);
  });
});

describe.skipIf(!gpuAvailable)('WebGPU backend: failures, profiles and kernel names', () => {
  let backend: WebGPUBackend;
  beforeAll(async () => { backend = await openBackend(); });
  afterAll(() => { backend?.destroy(); });

  const neg = (n: number): LoopSpec => ({
    kind: 'loop', label: `neg i->i (${n})`, sizes: [n], parallel: 1, reduceOp: null,
    inputs: [{ dtype: 'float32', offset: 0, strides: [1] }], output: { dtype: 'float32', offset: 0, strides: [1] },
    expr: ex.unary('neg', ex.input(0)), computeType: 'float32',
  });

  it('a kernel that fails to compile is reported under its name and not cached: the next launch compiles it again', async () => {
    const spec = neg(7);
    const device = (backend as unknown as { dev: GPUDevice }).dev;
    const original = device.createShaderModule;
    // Every module compiled while the stub is in place carries a syntax error.
    device.createShaderModule = (d: GPUShaderModuleDescriptor) => original.call(device, { ...d, code: `${d.code}\nthis is not wgsl;\n` });
    const values = [1, -2, 3.5, 0, 8, -0.25, 6];
    const x = backend.upload('float32', Float32Array.from(values));
    const out = backend.allocate('float32', 7);
    try {
      backend.run(spec, [x], out);
    } finally {
      device.createShaderModule = original;
    }
    const err = await rejection(backend.flush());
    expect(err.op).toBe(backend.kernelName(spec));
    expect(err.message).toContain(`WebGPU validation error in kernel '${backend.kernelName(spec)}'`);
    // Compiled afresh without the stub: the right values and no error. A cached failed pipeline would fail again.
    backend.run(spec, [x], out);
    expect(Array.from(await backend.read(out))).toEqual(values.map((v) => -v));
    await backend.flush();
    for (const s of [x, out]) backend.release(s);
  });

  it('one error is thrown without a hint; after several, the hint counts the ones that followed the first', async () => {
    const submit = (): void => (backend as unknown as { submitPending(): void }).submitPending();
    // One failed submission: a launch that reads a buffer destroyed behind the backend's back.
    const x = backend.upload('float32', new Float32Array([1, 2, 3, 4]));
    x.buffer.destroy();
    const out = backend.allocate('float32', 4);
    backend.run(neg(4), [x], out);
    submit();
    const one = await rejection(backend.flush());
    expect(one.message).toMatch(/destroyed/);
    expect(one.hint).toBeUndefined();
    // Three failed submissions, one error each, thrown together at the next flush.
    for (let i = 0; i < 3; i++) {
      backend.run(neg(4), [x], out);
      submit();
    }
    const three = await rejection(backend.flush());
    expect(three.message).toMatch(/destroyed/);
    expect(three.hint).toBe('2 more error(s) followed; results computed since are not trustworthy');
    // Reported and cleared: the backend works on.
    await backend.flush();
    backend.release(out);
  });

  it('a profile with timestamp queries gives a launched kernel a positive GPU time', async () => {
    const n = 1 << 20;
    const spec = neg(n);
    const x = backend.upload('float32', new Float32Array(n).fill(1.5));
    const out = backend.allocate('float32', n);
    backend.startProfile();
    for (let i = 0; i < 4; i++) backend.run(spec, [x], out);
    const profile = await backend.stopProfile();
    for (const s of [x, out]) backend.release(s);
    const k = profile.kernels.find((e) => e.name === backend.kernelName(spec));
    expect(k?.count).toBe(4);
    expect(profile.timed).toBe(backend.features.includes('timestamp-query'));
    if (profile.timed) expect(k?.ms).toBeGreaterThan(0);
  });

  it('a reduction kernel is named for its op', () => {
    const reduce = (op: ReduceOp): LoopSpec => ({
      kind: 'loop', label: `${op} ij->i`, sizes: [8, 16], parallel: 1, reduceOp: op,
      inputs: [{ dtype: 'float32', offset: 0, strides: [16, 1] }], output: { dtype: 'float32', offset: 0, strides: [1] },
      expr: ex.input(0), computeType: 'float32',
    });
    for (const op of ['sum', 'max', 'min', 'prod'] as const) expect(backend.kernelName(reduce(op))).toMatch(new RegExp(`^reduce_${op}_[0-9a-f]{8}$`));
    expect(backend.kernelName(neg(16))).toMatch(/^map_[0-9a-f]{8}$/);
  });

  it("the vec4 copy kernel's params struct documents its size and offsets", () => {
    const copy: LoopSpec = {
      kind: 'loop', label: 'copy i->i', sizes: [64], parallel: 1, reduceOp: null,
      inputs: [{ dtype: 'float32', offset: 4, strides: [1] }], output: { dtype: 'float32', offset: 0, strides: [1] },
      expr: ex.input(0), computeType: 'float32',
    };
    const { name, source } = backend.kernelSource(copy);
    expect(name).toMatch(/^copy_/);
    const doc = (field: string): string => source.match(new RegExp(`^ +${field}: i32, +// (.*)$`, 'm'))?.[1] ?? `(no comment on ${field})`;
    expect(doc('size0')).toBe('elements');
    expect(doc('in0_offset')).toBe('elements, divisible by 4');
    expect(doc('out_offset')).toBe('elements, divisible by 4');
  });

  it('a sum split in two passes into a 2-d output stored transposed matches float64', { timeout: 120_000 }, async () => {
    // out[i, j] = sum_k x[i, j, k] over [3, 5, 65536], out stored column-major: the output loops stay two.
    const [a, b, k] = [3, 5, 1 << 16];
    const spec: LoopSpec = {
      kind: 'loop', label: 'sum ijk->ij (transposed out)', sizes: [a, b, k], parallel: 2, reduceOp: 'sum',
      inputs: [{ dtype: 'float32', offset: 0, strides: [b * k, k, 1] }], output: { dtype: 'float32', offset: 0, strides: [1, a] },
      expr: ex.input(0), computeType: 'float32',
    };
    expect(splitReduction(spec)?.parts).toBeGreaterThan(1);
    // Small integers (exact in float32 sums of this length): x = ((i * 7 + j * 3 + k) mod 5) - 2.
    const x = new Float32Array(a * b * k);
    const want = new Float64Array(a * b);
    for (let i = 0; i < a; i++) {
      for (let j = 0; j < b; j++) {
        let acc = 0;
        for (let t = 0; t < k; t++) {
          const v = ((i * 7 + j * 3 + t) % 5) - 2 + (t % 3 === 0 ? 0.5 : 0);
          x[(i * b + j) * k + t] = v;
          acc += v;
        }
        want[j * a + i] = acc;
      }
    }
    const sx = backend.upload('float32', x);
    const out = backend.allocate('float32', a * b);
    backend.run(spec, [sx], out);
    const got = Array.from(await backend.read(out));
    for (const s of [sx, out]) backend.release(s);
    expect(got).toEqual(Array.from(want));
  });

  it('a released buffer is reused by the next allocation of its size, cycle after cycle (the pool counts what it holds)', () => {
    // 16 MiB each: sixteen would fill the 256 MiB pool if reuse did not take a buffer's bytes off the count.
    const n = 4 * 1024 * 1024 + 16;
    const first = backend.allocate('float32', n);
    const buffer = first.buffer;
    backend.release(first);
    for (let cycle = 0; cycle < 24; cycle++) {
      const s = backend.allocate('float32', n);
      expect(s.buffer, `cycle ${cycle}`).toBe(buffer);
      backend.release(s);
    }
  });

  it("a buffer over the device's binding size is refused with the hint to split it or use the cpu backend", () => {
    const max = backend.limits.maxStorageBufferBindingSize;
    const err = thrown(() => backend.allocate('float32', Math.floor(max / 4) + 64));
    expect(err.op).toBe('allocate');
    expect(err.message).toContain(`exceeds this device's maxStorageBufferBindingSize of ${max} bytes`);
    expect(err.hint).toBe('split the tensor into smaller pieces, or use the cpu backend for it');
  });

  it('an output buffer too small for the spec is named as the output', () => {
    const x = backend.upload('float32', new Float32Array(8));
    const out = backend.allocate('float32', 4);
    try {
      const err = thrown(() => backend.run(neg(8), [x], out));
      expect(err.message.split('\n')[0]).toBe(`${backend.kernelName(neg(8))}: output reads elements 0..7 of a buffer of 4`);
      expect(err.op).toBe(backend.kernelName(neg(8)));
    } finally {
      for (const s of [x, out]) backend.release(s);
    }
  });

  it("helpers in a kernel's source are separated by a blank line", () => {
    const spec: LoopSpec = {
      kind: 'loop', label: 'max ij->i', sizes: [4, 8], parallel: 1, reduceOp: 'max',
      inputs: [{ dtype: 'float32', offset: 0, strides: [8, 1] }], output: { dtype: 'float32', offset: 0, strides: [1] },
      expr: ex.input(0), computeType: 'float32',
    };
    const { source } = backend.kernelSource(spec);
    expect(source).toContain('return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }\n\n// max/min that propagate NaN');
  });
});

describe.skipIf(!gpuAvailable)('a destroyed backend', () => {
  it('stopProfile on it fails under the op profile', async () => {
    const backend = await openBackend();
    backend.startProfile();
    backend.destroy();
    const err = await rejection(backend.stopProfile());
    expect(err.message).toBe('profile: the webgpu backend has been destroyed');
    expect(err.op).toBe('profile');
  });
});

describe.skipIf(!DEVICES.includes('webgpu'))('a disposed webgpu tensor', () => {
  it("gives its buffer back: the device's live bytes fall by the tensor's 64 KiB", async () => {
    const gpu = getBackend('webgpu', 'test');
    const t = tensor(new Float32Array(16384).fill(2), { shape: [128, 128], device: 'webgpu' });
    expect((await t.data())[0]).toBe(2);
    const before = gpu.liveBytes();
    t.dispose();
    expect(before - gpu.liveBytes()).toBe(16384 * 4);
  });
});

describe.skipIf(!gpuAvailable)("float16 on a device without 'shader-f16'", () => {
  /** The nearest float16 to x (ties to the even significand), by search over every finite bit pattern. */
  function nearestHalf(x: number): number {
    let best = 0;
    for (let h = 0; h < 0x7c00; h++) {
      for (const bits of [h, h | 0x8000]) {
        const d = Math.abs(halfValue(bits) - x);
        const e = Math.abs(halfValue(best) - x);
        if (d < e || (d === e && (bits & 1) === 0 && (best & 1) === 1)) best = bits;
      }
    }
    return halfValue(best);
  }

  it('a float32 -> float16 map rounds each value to the nearest float16 in the kernel (round_f16), stored as f32', async () => {
    const backend = await openBackend();
    try {
      Object.defineProperty(backend, 'f16', { value: false });
      const spec: LoopSpec = {
        kind: 'loop', label: 'cast i->i float16', sizes: [6], parallel: 1, reduceOp: null,
        inputs: [{ dtype: 'float32', offset: 0, strides: [1] }], output: { dtype: 'float16', offset: 0, strides: [1] },
        expr: ex.cast('float16', ex.input(0)), computeType: 'float32',
      };
      expect(backend.kernelSource(spec).source).toMatch(/round_f16\(/);
      const values = [1 / 3, -1000.7, 0.1, 65519, 2 ** -20, 3.14159];
      const x = backend.upload('float32', Float32Array.from(values));
      const out = backend.allocate('float16', 6);
      backend.run(spec, [x], out);
      const got = Array.from(await backend.read(out) as Uint16Array, halfValue);
      expect(got).toEqual(Float32Array.from(values).map(nearestHalf).reduce<number[]>((a, v) => [...a, v], []));
    } finally {
      backend.destroy();
    }
  });
});
