/**
 * Chunked slices: a sliced plan may run several consecutive values of one sliced axis in each sub-contraction
 * (chunkSlices), where the intermediates of such a run still fit the limit; every run after the first replays
 * the kernels the first recorded, reading the operands at its own offsets (replay.ts, `anyOffsets`). The bug
 * classes: a run that narrows the wrong length (the short last run of a sweep), a block of the output added at
 * the wrong place, a replayed kernel reading an operand at the recorded offset instead of its own, a chunk whose
 * intermediates break the limit or that costs more than the slices it replaces. Values are checked against a
 * dense float64 einsum written in the tests (tests/plan/dense.ts), never against einjit's own einsum alone.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { contract } from '../../src/api/einsum.js';
import { compile, einsum, einsumPath, tensor, type Tensor } from '../../src/index.js';
import { chunkSlices, planContraction, reoptimiseSliced, replayPath, type SlicedPlan, sliceForLimit } from '../../src/plan/index.js';
import { ex, type GemmSpec } from '../../src/lower/spec.js';
import { getBackend } from '../../src/runtime/backend.js';
import { replayCount, replayed } from '../../src/runtime/replay.js';
import { Tensor as RawTensor } from '../../src/runtime/tensor.js';
import { DEVICES } from '../helpers/devices.js';
import { denseEinsum, randomDense } from '../plan/dense.js';
import { type Net, netArb as netArbOf } from '../plan/networks.js';

/** Random networks of 3–7 operands over 3–9 indices of sizes 1–9, some of them output indices. */
const netArb = netArbOf({ maxSize: 9, minAxes: 3, maxAxes: 9, minOps: 3, maxOps: 7, perOp: { base: 1, spread: 3 }, distinct: true, draws: 60 });

const peakOf = (steps: readonly { resultSize: number }[]): number => Math.max(1, ...steps.slice(0, -1).map((s) => s.resultSize));

/** The flops of every run of `sp`, found by walking its runs one by one (each run's sizes replayed on its path). */
function runCosts(n: Net, sp: SlicedPlan): { cost: number; runs: number; peak: number } {
  const chunk = sp.chunk!;
  const extent = n.sizes[chunk.axis]!;
  const sweeps = sp.slices / extent;
  let cost = 0;
  let runs = 0;
  let peak = 0;
  for (let at = 0; at < extent; at += chunk.size) {
    const sizes = [...sp.sizes];
    sizes[chunk.axis] = Math.min(chunk.size, extent - at);
    const r = replayPath(n.inputs, n.output, sizes, sp.plan.path);
    cost += sweeps * r.cost;
    runs += sweeps;
    const block = n.output.includes(chunk.axis) ? r.steps.at(-1)!.resultSize : 0;
    peak = Math.max(peak, peakOf(r.steps), block);
  }
  return { cost, runs, peak };
}

describe('chunked slices', () => {
  it('fit the limit per run, cost no more than one slice per run, and sum to the dense einsum', async () => {
    let chunked = 0;
    let shortLast = 0;
    let outputAxis = 0;
    const cases: { n: Net; sp: SlicedPlan; again: SlicedPlan }[] = [];
    fc.assert(
      fc.property(netArb, fc.double({ min: 0.05, max: 0.9, noNaN: true }), fc.boolean(), (n, where, any) => {
        const base = planContraction(n, { optimize: 'greedy' });
        const limit = Math.max(1, Math.floor(peakOf(base.steps) * where));
        const sp = sliceForLimit(n.inputs, n.output, n.sizes, base, limit, any ? 'any' : 'summed');
        if (sp === undefined) return;
        const again = reoptimiseSliced(sp, n.sizes, base, limit, (sizes) => planContraction({ ...n, sizes }, { optimize: 'greedy' }));
        const c = chunkSlices(again, n.inputs, n.output, n.sizes, base, limit);
        expect(c.cost).toBeLessThanOrEqual(again.cost);
        expect([c.sliced, c.slices, c.sizes, c.plan, c.peakPerSlice]).toEqual([again.sliced, again.slices, again.sizes, again.plan, again.peakPerSlice]);
        if (c.chunk === undefined) {
          expect(c).toBe(again);
          return;
        }
        chunked++;
        expect(c.sliced).toContain(c.chunk.axis);
        expect(c.chunk.size).toBeGreaterThanOrEqual(2);
        expect(c.chunk.size).toBeLessThanOrEqual(n.sizes[c.chunk.axis]!);
        const walked = runCosts(n, c);
        expect(c.cost).toBe(walked.cost);
        expect(c.chunk.runs).toBe(walked.runs);
        expect(c.chunk.runs).toBeLessThan(c.slices);
        expect(c.chunk.peak).toBe(walked.peak);
        expect(c.chunk.peak).toBeLessThanOrEqual(limit);
        expect(c.overhead).toBeCloseTo(c.cost / base.cost, 12);
        if (n.sizes[c.chunk.axis]! % c.chunk.size !== 0) shortLast++;
        if (n.output.includes(c.chunk.axis)) outputAxis++;
        if (cases.length < 60) cases.push({ n, sp: c, again });
      }),
      { numRuns: 400, seed: 20261207 },
    );
    // Enough of the random cases must chunk, some with a short last run and some along an output axis.
    expect(chunked).toBeGreaterThan(40);
    expect(shortLast).toBeGreaterThan(10);
    expect(outputAxis).toBeGreaterThan(5);
    // And run: chunked, and one slice per run, both equal the dense einsum; after the first run of each size the
    // runs are replays at moved offsets.
    for (const { n, sp, again } of cases) {
      let s = 5;
      const rand = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
      const dense = n.inputs.map((ids) => randomDense(ids, n.sizes, rand));
      const want = denseEinsum(dense, n.output, n.sizes).data;
      const program = { inputs: n.inputs, output: n.output, sizes: n.sizes, labels: n.sizes.map((_, i) => `x${i}`) };
      const operands = dense.map((d, k) => tensor(d.data, { dtype: 'float64' }).reshape(n.inputs[k]!.map((id) => n.sizes[id]!)));
      for (const plan of [sp, again]) {
        const before = replayCount();
        const got = await contract(program, operands, {}, 'einsum', plan.plan, plan).data();
        const runs = plan.chunk?.runs ?? plan.slices;
        // At most two recorded runs (a full one and a short last one); every other run is a replay.
        expect(replayCount() - before).toBeGreaterThanOrEqual(Math.max(0, runs - 2));
        expect(got.length).toBe(want.length);
        want.forEach((v, e) => expect(Math.abs(Number(got[e]) - v)).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(v))));
      }
    }
  });

  describe.each(DEVICES)('on %s', (device) => {
    it('einsum runs a chunked plan: 121 slices in 22 runs, the value of the unlimited contraction', async () => {
      // A random 3-regular network of 8 tensors (seed 5 of the benchmark's generator, sizes 4-12) under a limit
      // of 500 elements: slicing j and c brings one slice's peak to 112 elements, so 10 values of c fit in a run.
      const pattern: string = 'aeg,chi,dhl,fij,bgj,bek,acf,dkl->';
      const shapes = [[12, 7, 4], [11, 12, 12], [8, 12, 8], [11, 12, 11], [10, 4, 11], [10, 7, 4], [12, 11, 11], [8, 4, 8]];
      const options = { optimize: 'greedy', memoryLimit: 500 } as const;
      const path = einsumPath(pattern, shapes, options);
      expect(path.sliced?.axes).toEqual(['j', 'c']);
      expect(path.sliced?.slices).toBe(121);
      expect(path.sliced?.chunk).toEqual({ axis: 'c', size: 10, runs: 22, peak: 480 });
      const dtype = device === 'cpu' ? 'float64' : 'float32';
      const expr = compile(pattern, shapes, { ...options, dtype, device });
      expect(expr.explain()).toContain('121 slices over [j, c], run 10 at a time along c (22 runs, peak per run 480 elements)');
      let seed = 7;
      const rand = (): number => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296) - 0.5;
      const values = shapes.map((shape) => Float64Array.from({ length: shape.reduce((p, x) => p * x, 1) }, rand));
      const operands: Tensor[] = values.map((v, k) => tensor(v, { dtype, device }).reshape(shapes[k]!));
      const chunked = (await expr.runSync(...operands).data())[0]!;
      // The reference: the same operands in float64 on the CPU, contracted without a limit (pairwise, unsliced).
      const exact = values.map((v, k) => tensor(v, { dtype: 'float64' }).reshape(shapes[k]!));
      const whole = (await einsum(pattern, ...exact, { optimize: 'greedy' }).data())[0]!;
      const scale = (await einsum(pattern, ...exact.map((x) => x.abs()), { optimize: 'greedy' }).data())[0]!;
      expect(Math.abs(Number(chunked) - Number(whole))).toBeLessThanOrEqual((device === 'cpu' ? 1e-12 : 1e-5) * Number(scale));
    });
  });

  it('a replay at moved offsets moves every operand a GEMM reads: A, B and an epilogue input', async () => {
    // C[m, n] = Σ_k A[m, k]·B[k, n] + R[m, n], each operand a window of a larger vector, recorded once and replayed
    // with the windows moved by different amounts; checked against plain loops in float64.
    const [m, n, k] = [3, 4, 5];
    const backend = getBackend('cpu', 'test');
    const big = (len: number, seed: number): Tensor => tensor(Float64Array.from({ length: len }, (_, i) => Math.sin(i * 0.7 + seed)), { dtype: 'float64' });
    const [A, B, R] = [big(m * k + 40, 1), big(k * n + 40, 2), big(m * n + 40, 3)] as [Tensor, Tensor, Tensor];
    const key = {};
    const compute = (views: readonly Tensor[]) => (b: typeof backend): Tensor => {
      const [a, bb, r] = views as [Tensor, Tensor, Tensor];
      const spec: GemmSpec = {
        kind: 'gemm', label: 'mk,kn->mn', dtype: 'float64', batch: [], m, n, k,
        a: { offset: a.offset, batchStrides: [], rowStride: k, colStride: 1 },
        b: { offset: bb.offset, batchStrides: [], rowStride: n, colStride: 1 },
        c: { offset: 0, batchStrides: [], rowStride: n, colStride: 1 },
        epilogue: ex.binary('add', ex.input(0), ex.input(1)),
        epilogueInputs: [{ dtype: 'float64', offset: r.offset, strides: [n, 1] }],
      };
      const out = b.allocate('float64', m * n);
      b.run(spec, [a.storage, bb.storage, r.storage], out);
      return new RawTensor(out, [m, n]);
    };
    const windows = (da: number, db: number, dr: number): Tensor[] => [A.narrow(0, da, m * k), B.narrow(0, db, k * n), R.narrow(0, dr, m * n)];
    const first = windows(0, 0, 0);
    replayed(key, first, backend, compute(first), true);
    const before = replayCount();
    for (const [da, db, dr] of [[7, 0, 0], [0, 11, 0], [0, 0, 13], [40, 3, 29]] as const) {
      const views = windows(da, db, dr);
      const got = await replayed(key, views, backend, compute(views), true).data();
      const [a, bv, r] = await Promise.all(views.map((v) => v.data()));
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let want = Number(r![i * n + j]);
          for (let p = 0; p < k; p++) want += Number(a![i * k + p]) * Number(bv![p * n + j]);
          expect(Math.abs(Number(got[i * n + j]) - want)).toBeLessThanOrEqual(1e-12);
        }
      }
    }
    expect(replayCount() - before).toBe(4);
  });
});
