/**
 * Golden WGSL: the generated source of a few representative specs is pinned in tests/wgsl/golden/*.wgsl, so a
 * change to a renderer shows up as a readable diff. Each golden shader is also compiled by Dawn and executed.
 * Regenerate with UPDATE_GOLDEN=1 (and read the diff before committing it).
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebGPUBackend } from '../../kernels/wgsl/index.js';
import { DEFAULT_LOOP_TUNING, chooseGemmConfig, gemmKernel, loopKernel } from '../../kernels/wgsl/index.js';
import { ex } from '../../src/lower/spec.js';
import type { GemmSpec, KernelSpec, LoopSpec } from '../../src/lower/spec.js';
import type { GemmTileChoice } from '../../kernels/wgsl/gemm.js';
import { referenceGemm, referenceLoop } from './reference.js';
import { close, gpuAvailable, openBackend } from './setup.js';

const dir = new URL('./golden/', import.meta.url);

const matmul: GemmSpec = {
  kind: 'gemm', label: 'ij,jk->ik (matmul 64x64x64)', dtype: 'float32', batch: [], m: 64, n: 64, k: 64,
  a: { offset: 0, batchStrides: [], rowStride: 64, colStride: 1 },
  b: { offset: 0, batchStrides: [], rowStride: 64, colStride: 1 },
  c: { offset: 0, batchStrides: [], rowStride: 64, colStride: 1 },
};

const [B, H, Q, K, D] = [2, 3, 33, 20, 16];
const attention: GemmSpec = {
  kind: 'gemm', label: 'bhqd,bhkd->bhqk (transposed B)', dtype: 'float32', batch: [B, H], m: Q, n: K, k: D,
  a: { offset: 0, batchStrides: [H * Q * D, Q * D], rowStride: D, colStride: 1 },
  b: { offset: 0, batchStrides: [H * K * D, K * D], rowStride: 1, colStride: D },
  c: { offset: 0, batchStrides: [H * Q * K, Q * K], rowStride: K, colStride: 1 },
};

// b c h w -> b h w c over [2, 3, 4, 5]: loops in output order (b, h, w, c).
const permute: LoopSpec = {
  kind: 'loop', label: 'b c h w -> b h w c', sizes: [2, 4, 5, 3], parallel: 4, reduceOp: null,
  inputs: [{ dtype: 'float32', offset: 0, strides: [60, 5, 1, 20] }],
  output: { dtype: 'float32', offset: 0, strides: [60, 15, 3, 1] }, expr: ex.input(0), computeType: 'float32',
};

const sum: LoopSpec = {
  kind: 'loop', label: 'sum over j of ij->i', sizes: [5, 7], parallel: 1, reduceOp: 'sum',
  inputs: [{ dtype: 'float32', offset: 0, strides: [7, 1] }],
  output: { dtype: 'float32', offset: 0, strides: [1] }, expr: ex.input(0), computeType: 'float32',
};

const broadcastAdd: LoopSpec = {
  kind: 'loop', label: 'ij,j->ij (broadcast add)', sizes: [4, 6], parallel: 2, reduceOp: null,
  inputs: [{ dtype: 'float32', offset: 0, strides: [6, 1] }, { dtype: 'float32', offset: 0, strides: [0, 1] }],
  output: { dtype: 'float32', offset: 0, strides: [6, 1] }, expr: ex.binary('add', ex.input(0), ex.input(1)), computeType: 'float32',
};

// A long sum into few outputs: one workgroup per output, blocked partial sums, then a tree.
const sumWorkgroup: LoopSpec = {
  kind: 'loop', label: 'sum over j of ij->i (long rows)', sizes: [3, 5000], parallel: 1, reduceOp: 'sum',
  inputs: [{ dtype: 'float32', offset: 0, strides: [5000, 1] }],
  output: { dtype: 'float32', offset: 0, strides: [1] }, expr: ex.input(0), computeType: 'float32',
};

// ij -> ji over [20, 24]: both extents at least 16, so the tiled transpose through workgroup memory.
const transpose: LoopSpec = {
  kind: 'loop', label: 'ij -> ji', sizes: [24, 20], parallel: 2, reduceOp: null,
  inputs: [{ dtype: 'float32', offset: 0, strides: [1, 24] }],
  output: { dtype: 'float32', offset: 0, strides: [20, 1] }, expr: ex.input(0), computeType: 'float32',
};

// Constants are params fields (read as f32 bits), not literals: every value shares this pipeline.
const affine: LoopSpec = {
  kind: 'loop', label: 'x * 0.5 - 3 (constants as params)', sizes: [10], parallel: 1, reduceOp: null,
  inputs: [{ dtype: 'float32', offset: 0, strides: [1] }],
  output: { dtype: 'float32', offset: 0, strides: [1] },
  expr: ex.binary('sub', ex.binary('mul', ex.input(0), ex.const(0.5)), ex.const(3)), computeType: 'float32',
};

// K ≫ M·N with C transposed: the pipelined kernel with K split over 4 workgroups, scalar stores.
const splitK: GemmSpec = {
  kind: 'gemm', label: 'kj,ik->ji (K split, C transposed)', dtype: 'float32', batch: [], m: 20, n: 36, k: 300,
  a: { offset: 0, batchStrides: [], rowStride: 300, colStride: 1 },
  b: { offset: 0, batchStrides: [], rowStride: 36, colStride: 1 },
  c: { offset: 0, batchStrides: [], rowStride: 1, colStride: 20 },
};

/** GEMM goldens pin their tile choice: the basic kernels as docs/wgsl.md walks through them, and the pipelined ones. */
const gemmTiles = new Map<string, GemmTileChoice>([
  ['gemm_matmul', 'small'],
  ['gemm_transposed_b', 'small'],
  ['gemm_pipelined', { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4, pipelined: true }],
  ['gemm_pipelined_split', { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4, pipelined: true, splitK: 4 }],
]);

const goldens: readonly (readonly [string, KernelSpec])[] = [
  ['gemm_matmul', matmul],
  ['gemm_transposed_b', attention],
  ['gemm_pipelined', matmul],
  ['gemm_pipelined_split', splitK],
  ['loop_permute', permute],
  ['loop_sum', sum],
  ['loop_broadcast_add', broadcastAdd],
  ['loop_sum_workgroup', sumWorkgroup],
  ['loop_affine', affine],
  ['loop_transpose', transpose],
];

/** The source as a device without shader-f16 or special limits renders it (these specs use no float16). */
function render(name: string, spec: KernelSpec): string {
  if (spec.kind === 'gemm') {
    const limits = { maxComputeWorkgroupStorageSize: 16384, maxComputeInvocationsPerWorkgroup: 256 };
    return gemmKernel(spec, chooseGemmConfig(spec, gemmTiles.get(name) ?? 'auto', limits)).render().source;
  }
  return loopKernel(spec, DEFAULT_LOOP_TUNING, false).render().source;
}

function storageLength(spec: KernelSpec, which: number): number {
  if (spec.kind === 'gemm') {
    const x = [spec.a, spec.b, spec.c][which]!;
    const sizes = [...spec.batch, ...(which === 0 ? [spec.m, spec.k] : which === 1 ? [spec.k, spec.n] : [spec.m, spec.n])];
    const strides = [...x.batchStrides, x.rowStride, x.colStride];
    return sizes.reduce((s, n, d) => s + (n - 1) * strides[d]!, x.offset) + 1;
  }
  const acc = which < spec.inputs.length ? spec.inputs[which]! : spec.output;
  const sizes = which < spec.inputs.length ? spec.sizes : spec.sizes.slice(0, spec.parallel);
  return sizes.reduce((s, n, d) => s + (n - 1) * acc.strides[d]!, acc.offset) + 1;
}

describe('golden WGSL', () => {
  it.each(goldens)('%s matches its golden file', (name, spec) => {
    const file = new URL(`${name}.wgsl`, dir);
    const source = render(name, spec);
    if (process.env['UPDATE_GOLDEN'] === '1' || !existsSync(file)) {
      if (process.env['UPDATE_GOLDEN'] !== '1') throw new Error(`missing golden ${name}.wgsl; run with UPDATE_GOLDEN=1 to create it`);
      writeFileSync(file, source);
    }
    expect(source).toBe(readFileSync(file, 'utf8'));
  });
});

describe.skipIf(!gpuAvailable)('golden WGSL on the device', () => {
  let backend: WebGPUBackend;
  beforeAll(async () => { backend = await openBackend(); });
  afterAll(() => { backend?.destroy(); });

  it.each(goldens)('%s compiles without errors and computes the reference result', async (name, spec) => {
    const source = readFileSync(new URL(`${name}.wgsl`, dir), 'utf8');
    backend.tuning.gemmTiles = gemmTiles.get(name) ?? 'auto';
    expect(backend.kernelSource(spec).source).toBe(source);
    const messages = await backend.compileMessages(source);
    expect(messages.filter((m) => m.type === 'error')).toEqual([]);

    const nIn = spec.kind === 'gemm' ? 2 : spec.inputs.length;
    const data = Array.from({ length: nIn }, (_, i) =>
      Float32Array.from({ length: storageLength(spec, i) }, (_, j) => ((j * 31 + i * 17) % 23) / 8 - 1.5));
    const outLength = storageLength(spec, nIn);
    const ref = spec.kind === 'gemm'
      ? referenceGemm(spec, data[0]!, data[1]!, new Array<number>(outLength).fill(0))
      : referenceLoop(spec, data.map((d) => Array.from(d)), new Array<number>(outLength).fill(0));
    const inputs = data.map((d) => backend.upload('float32', d));
    const out = backend.upload('float32', new Float32Array(outLength).fill(NaN));
    backend.run(spec, inputs, out);
    const got = Array.from((await backend.read(out)) as Float32Array);
    got.forEach((g, i) => expect(close(g, ref.out[i]!, 1e-5, 1e-5, ref.scale.get(i))).toBe(true));
    for (const s of [...inputs, out]) backend.release(s);
  });
});
