/**
 * Two-pass reductions (kernels/wgsl/multipass.ts): long reductions into few outputs split their longest reduce
 * loop into parts. Random specs — every splittable op, float32/int32/bool compute, several reduce loops, strided
 * and offset inputs and outputs — must match the float64 reference as the one-pass kernels do; ops and compute
 * types whose result depends on the grouping are never split.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { WebGPUBackend } from '../../kernels/wgsl/index.js';
import { DEFAULT_MULTIPASS, splitReduction } from '../../kernels/wgsl/multipass.js';
import { buildLoop } from '../../src/lower/loops.js';
import { ex } from '../../src/lower/spec.js';
import type { DType, LoopSpec, ReduceOp } from '../../src/lower/spec.js';
import { referenceLoop } from './reference.js';
import { close, gpuAvailable, hostArray, openBackend, readNumbers } from './setup.js';

const SEED = process.env['EINJIT_GPU_SEED'] === 'random' ? undefined : Number(process.env['EINJIT_GPU_SEED'] ?? 20261204);
/** Small thresholds so that lavapipe-sized reductions split. */
const SMALL = { maxOutputs: 16, minReduced: 256, targetWorkgroups: 24, minPerPart: 16 };

function reduction(op: ReduceOp, dtype: DType, outs: number[], reds: number[], transposed: boolean, offset: number): { spec: LoopSpec; inLength: number; outLength: number } {
  // Input laid out [reds..., outs...] when transposed, else [outs..., reds...], row-major.
  const order = transposed ? [...reds, ...outs] : [...outs, ...reds];
  const st: number[] = new Array<number>(order.length).fill(0);
  let acc = 1;
  for (let i = order.length - 1; i >= 0; i--) { st[i] = acc; acc *= order[i]!; }
  const strides = transposed ? [...st.slice(reds.length), ...st.slice(0, reds.length)] : st;
  const outStrides = outs.map((_, i) => outs.slice(i + 1).reduce((a, b) => a * b, 1) * 2); // every other element
  const outLength = 1 + outs.reduce((a, b) => a * b, 1) * 2;
  const expr = dtype === 'float32' ? ex.binary('mul', ex.input(0), ex.const(0.5)) : ex.input(0);
  const spec = buildLoop({
    label: `${op} test`, outShape: outs, reduceShape: reds, reduceOp: op,
    inputs: [{ dtype, offset, strides }], output: { dtype, offset: 1, strides: outStrides }, expr, computeType: dtype,
  });
  return { spec, inLength: offset + acc, outLength };
}

describe('which reductions split', () => {
  it('argmax/argmin, float16 compute, maps, many outputs and short axes run in one pass', () => {
    const r = (op: ReduceOp, dtype: DType, outs: number[], reds: number[]): ReturnType<typeof splitReduction> =>
      splitReduction(reduction(op, dtype, outs, reds, false, 0).spec, DEFAULT_MULTIPASS);
    expect(r('sum', 'float32', [2], [1 << 20])?.parts).toBeGreaterThan(1);
    expect(r('argmax', 'float32', [2], [1 << 20])).toBeNull();
    expect(r('argmin', 'float32', [2], [1 << 20])).toBeNull();
    expect(r('sum', 'float16', [2], [1 << 20])).toBeNull();
    expect(r('sum', 'float32', [4096], [1 << 12])).toBeNull();
    expect(r('sum', 'float32', [2], [1000])).toBeNull();
    // The parts divide the split loop, and the first pass has them as a parallel loop.
    const s = r('max', 'int32', [3], [1 << 20])!;
    expect((1 << 20) % s.parts).toBe(0);
    expect(s.first.sizes.slice(0, s.first.parallel).reduce((a, b) => a * b, 1)).toBe(3 * s.parts);
    expect(s.workspace.length).toBe(3 * s.parts);
  });
});

describe.skipIf(!gpuAvailable)('two-pass reductions on the device', () => {
  let backend: WebGPUBackend;
  beforeAll(async () => { backend = await openBackend(); backend.tuning.multipassReduce = SMALL; });
  afterAll(() => { backend?.destroy(); });

  it('random long reductions into few outputs match float64', { timeout: 300_000 }, async () => {
    await fc.assert(fc.asyncProperty(
      fc.constantFrom<ReduceOp>('sum', 'prod', 'max', 'min', 'any', 'all'), fc.constantFrom<'float32' | 'int32' | 'bool'>('float32', 'int32', 'bool'),
      fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }), fc.array(fc.constantFrom(8, 12, 30, 64, 100), { minLength: 1, maxLength: 3 }),
      fc.boolean(), fc.constantFrom(0, 3), fc.integer(),
      async (op, dtype, outs, reds, transposed, offset, seed) => {
        const { spec, inLength, outLength } = reduction(op, dtype, outs, reds, transposed, offset);
        let s = seed >>> 0 || 1;
        const next = (): number => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s; };
        // prod stays finite with values near 1; bools as 0/1 with few zeros so any/all vary.
        const values = Array.from({ length: inLength }, () => {
          const u = next() / 2 ** 32;
          if (dtype === 'bool') return u < 0.002 ? 0 : 1;
          if (dtype === 'int32') return op === 'prod' ? (u < 0.001 ? -1 : 1) : Math.floor(u * 2001) - 1000;
          return op === 'prod' ? Math.fround(0.999 + u * 0.002) : Math.fround(u * 2 - 1);
        });
        const before = new Array<number>(outLength).fill(dtype === 'bool' ? 0 : 77);
        const ref = referenceLoop(spec, [values], before);
        const input = backend.upload(dtype, hostArray(dtype, values));
        const out = backend.upload(dtype, hostArray(dtype, before));
        try {
          const split = splitReduction(spec, SMALL);
          backend.run(spec, [input], out);
          const got = await readNumbers(backend, out);
          got.forEach((g, i) => {
            const ok = dtype === 'float32' ? close(g, ref.out[i]!, 1e-6, 1e-5, ref.scale.get(i)) : g === ref.out[i];
            if (!ok) throw new Error(`${op} ${dtype} outs ${outs} reds ${reds} (${split?.parts ?? 1} parts): [${i}] got ${g}, want ${ref.out[i]}`);
          });
        } finally {
          backend.release(input);
          backend.release(out);
        }
      }), { seed: SEED, numRuns: 30 });
  });

  it('a sum of 2^20 float32 into one output splits and stays within the blocked-sum bound', async () => {
    backend.tuning.multipassReduce = DEFAULT_MULTIPASS;
    try {
      const n = 1 << 20;
      const spec = buildLoop({
        label: 'sum', outShape: [], reduceShape: [n], reduceOp: 'sum', inputs: [{ dtype: 'float32', offset: 0, strides: [1] }],
        output: { dtype: 'float32', offset: 0, strides: [] }, expr: ex.input(0), computeType: 'float32',
      });
      expect(splitReduction(spec, DEFAULT_MULTIPASS)?.parts).toBeGreaterThan(1);
      const values = Float32Array.from({ length: n }, (_, i) => Math.fround(((i * 7919) % 1000) / 1000 - 0.25));
      let want = 0;
      let abs = 0;
      for (const v of values) { want += v; abs += Math.abs(v); }
      const input = backend.upload('float32', values);
      const out = backend.allocate('float32', 1);
      backend.run(spec, [input], out);
      const got = ((await backend.read(out)) as Float32Array)[0]!;
      expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-6 * abs);
      backend.release(input);
      backend.release(out);
    } finally {
      backend.tuning.multipassReduce = SMALL;
    }
  });
});
