/**
 * Memory limits: under a limit every optimizer returns a plan whose pairwise intermediates fit, and the exact
 * optimizers return the cheapest such plan (pairwise steps, then at most one step over everything left, the
 * form opt_einsum's optimizers return), never one N-ary step when a cheaper feasible plan exists.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EinjitError } from '../../src/errors.js';
import { compile, einsum, einsumPath, ones, tensor } from '../../src/index.js';
import { type ContractionPlan, type PlanOptions, planContraction, reoptimiseSliced, replayPath, slicedExecution, type SlicedPlan, sliceForLimit } from '../../src/plan/index.js';
import { denseEinsum, randomDense, type Dense } from './dense.js';
import { type Net, netArb as netArbOf } from './networks.js';

/** Random networks of 3–8 operands over up to 9 indices of sizes 1–5, each index on 1–3 operands. */
const netArb = netArbOf({ maxSize: 5, minAxes: 2, maxAxes: 9, minOps: 3, maxOps: 8, perOp: { base: 1, spread: 3 }, distinct: true, draws: 60 });

const ALL = ['optimal', 'branch-all', 'branch-2', 'branch-1', 'greedy', 'dp', 'random-greedy', 'auto', 'auto-hq'];
/** Exact under a limit for these sizes (auto and auto-hq run optimal up to 10 operands). */
const EXACT = ['optimal', 'auto', 'auto-hq'];

const elements = (n: Net, ids: readonly number[]): number => ids.reduce((p, i) => p * n.sizes[i]!, 1);

/**
 * Feasible under `limit`: every step but the last is pairwise with a result that fits, or sums one operand's own
 * indices (which writes less than that operand holds, and is not limited).
 */
function feasible(plan: Pick<ContractionPlan, 'steps'>, limit: number): boolean {
  return plan.steps.every((s, i) => i === plan.steps.length - 1 || s.operands.length === 1 || (s.operands.length === 2 && s.resultSize <= limit));
}

function execute(n: Net, plan: ContractionPlan, tensors: Dense[]): Dense {
  const current = [...tensors];
  plan.steps.forEach((step, s) => {
    const operands = plan.path[s]!.map((p) => current[p]!);
    for (const p of [...plan.path[s]!].sort((a, b) => b - a)) current.splice(p, 1);
    current.push(denseEinsum(operands, step.result, n.sizes));
  });
  return current[0]!;
}

describe('memory limits', () => {
  it("the issue's network: optimal, dp and auto find [(1,3),(0,1,2)] at cost 1,224 under 'max_input', as numpy does", () => {
    // 'efc,dbc,acf,fd->abe' with a=2, b=3, c=4, d=5, e=4, f=3; numpy.einsum_path reports cost 1,224 for it.
    const [a, b, c, d, e, f] = [0, 1, 2, 3, 4, 5];
    const inputs = [[e, f, c], [d, b, c], [a, c, f], [f, d]];
    const sizes = [2, 3, 4, 5, 4, 3];
    for (const optimize of ['optimal', 'dp', 'auto', 'auto-hq']) {
      const plan = planContraction({ inputs, output: [a, b, e], sizes }, { optimize, memoryLimit: 'max_input' });
      expect(plan.cost).toBe(1224);
      expect(plan.path[0]).toEqual([1, 3]);
      expect([...plan.path[1]!].sort()).toEqual([0, 1, 2]);
    }
  });

  it('exact optimizers cost no more than any feasible plan any optimizer finds, limited or not', () => {
    fc.assert(
      fc.property(netArb, fc.double({ min: 0, max: 1, noNaN: true }), (n, where) => {
        // A limit between the smallest operand and the largest operand or output.
        const terms = [...n.inputs, n.output].map((t) => elements(n, t));
        const lo = Math.min(...terms);
        const hi = Math.max(...terms) * 4;
        const limit = Math.round(lo + where * (hi - lo));
        const plans = new Map<string, ContractionPlan>();
        for (const optimize of ALL) plans.set(optimize, planContraction(n, { optimize, memoryLimit: limit }));
        for (const [name, plan] of plans) expect(feasible(plan, limit), name).toBe(true);
        const others: { name: string; cost: number }[] = [...plans].map(([name, p]) => ({ name, cost: p.cost }));
        // (branch-all without a limit is left out: on networks of 8 operands with many equal index sets its
        // exhaustive search takes minutes.)
        for (const optimize of ALL.filter((a) => a !== 'branch-all')) {
          const free = planContraction(n, { optimize });
          if (feasible(free, limit)) others.push({ name: `${optimize} (unlimited)`, cost: free.cost });
        }
        for (const exact of EXACT) {
          const cost = plans.get(exact)!.cost;
          for (const o of others) expect(cost, `${exact} against ${o.name}`).toBeLessThanOrEqual(o.cost);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('dp under a limit: feasible, no costlier than greedy under the same limit, nor than its own unlimited plan when that fits', () => {
    // dp searches connected subgraphs without outer products inside a component (as opt_einsum's dp does), so
    // it is not exact over every tree; under a limit it also compares with greedy's limited plan.
    fc.assert(
      fc.property(netArb, fc.double({ min: 0, max: 1, noNaN: true }), (n, where) => {
        const terms = [...n.inputs, n.output].map((t) => elements(n, t));
        const lo = Math.min(...terms);
        const limit = Math.round(lo + where * (Math.max(...terms) * 4 - lo));
        const dp = planContraction(n, { optimize: 'dp', memoryLimit: limit });
        expect(feasible(dp, limit)).toBe(true);
        const free = planContraction(n, { optimize: 'dp' });
        if (feasible(free, limit)) expect(dp.cost).toBeLessThanOrEqual(free.cost);
        const greedy = planContraction(n, { optimize: 'greedy', memoryLimit: limit });
        expect(dp.cost).toBeLessThanOrEqual(greedy.cost);
      }),
      { numRuns: 300 },
    );
  });

  it('limited plans compute the einsum', () => {
    fc.assert(
      fc.property(netArb, fc.constantFrom(...ALL), fc.constantFrom<PlanOptions['memoryLimit']>('max_input', 1, 8, 30), (n, optimize, memoryLimit) => {
        const plan = planContraction(n, { optimize, memoryLimit });
        expect(replayPath(n.inputs, n.output, n.sizes, plan.path).cost).toBe(plan.cost);
        let s = 7;
        const rand = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
        const tensors = n.inputs.map((ids) => randomDense(ids, n.sizes, rand));
        const direct = denseEinsum(tensors, n.output, n.sizes);
        const planned = execute(n, plan, tensors);
        expect(planned.ids).toEqual(n.output);
        direct.data.forEach((v, k) => expect(Math.abs(planned.data[k]! - v)).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(v))));
      }),
      { numRuns: 200 },
    );
  });

  it('a limit that leaves a huge k-way step and cannot be met by slicing is refused with the smallest limit that has a pairwise plan', () => {
    // 'ai,bi,ci->abc' over 200×200 matrices: below 8e6 elements no pair fits, the one 3-way step would be
    // 3·200^4 flops of a single loop nest; slicing i leaves ab (40,000 elements), and even where that fits, 200
    // slices each writing the 8e6-element output cost more than 2^30 flops. Every pairwise plan holds a 200^3
    // intermediate (abi).
    const shapes = [[200, 200], [200, 200], [200, 200]];
    const xs = shapes.map((s) => ones(s));
    for (const memoryLimit of [1, 100, 39_999, 7_999_999]) {
      let err: unknown;
      try {
        einsum('ai,bi,ci->abc', xs[0]!, xs[1]!, xs[2]!, { memoryLimit });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(EinjitError);
      expect((err as EinjitError).op).toBe('einsum');
      expect((err as EinjitError).message).toContain('smallest limit with a pairwise plan is 8000000 elements');
      expect(() => compile('ai,bi,ci->abc', shapes, { memoryLimit })).toThrow(/compile: .*8000000 elements/);
    }
    // A small forced k-way step still runs (numpy's example above is one).
    expect(einsum('a,b,c->abc', ones([5]), ones([6]), ones([7]), { memoryLimit: 10 }).shape).toEqual([5, 6, 7]);
  });

  it('a limit that slicing can meet runs sliced and computes the unsliced result', () => {
    // 'ab,bc,cd->ad' with a = d = 1024, b = c = 24: under 2,000 elements the only plan left is a 3-way step of
    // 1.8e9 flops; the unlimited path's intermediate ac (24,576 elements) fits once c is sliced (24 slices).
    const sizes = { a: 1024, b: 24, c: 24, d: 1024 };
    const shapes = [[sizes.a, sizes.b], [sizes.b, sizes.c], [sizes.c, sizes.d]];
    const xs = shapes.map((s, k) => tensor(Float64Array.from({ length: s[0]! * s[1]! }, (_, i) => Math.sin(i * 0.37 + k)), { dtype: 'float64' }).reshape(s));
    const path = einsumPath('ab,bc,cd->ad', shapes, { memoryLimit: 2000 });
    expect(path.path).toEqual([[0, 1, 2]]);
    expect(path.sliced?.axes).toEqual(['c']);
    expect(path.sliced?.slices).toBe(24);
    expect(path.sliced?.peakPerSlice).toBeLessThanOrEqual(2000);
    const sliced = einsum('ab,bc,cd->ad', xs[0]!, xs[1]!, xs[2]!, { memoryLimit: 2000 }).dataSync() as Float64Array;
    // The oracle: the two matrix products in plain loops.
    const [A, B, C] = xs.map((x) => x.dataSync() as Float64Array) as [Float64Array, Float64Array, Float64Array];
    const bc = new Float64Array(sizes.b * sizes.d);
    for (let b = 0; b < sizes.b; b++) for (let c = 0; c < sizes.c; c++) for (let d = 0; d < sizes.d; d++) bc[b * sizes.d + d]! += B[b * sizes.c + c]! * C[c * sizes.d + d]!;
    for (let a = 0; a < sizes.a; a += 97) {
      for (let d = 0; d < sizes.d; d += 13) {
        let want = 0;
        for (let b = 0; b < sizes.b; b++) want += A[a * sizes.b + b]! * bc[b * sizes.d + d]!;
        expect(Math.abs(sliced[a * sizes.d + d]! - want)).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(want)));
      }
    }
    // compile makes the same choice, shows it, and shows the kernels of one slice.
    const expr = compile('ab,bc,cd->ad', shapes, { memoryLimit: 2000, dtype: 'float64' });
    expect(expr.sliced?.slices).toBe(24);
    expect(expr.explain()).toContain('24 slices over [c]');
    expect(expr.kernels().length).toBe(2);
  });
});

describe('slicing', () => {
  it('sliced plans fit the limit per slice, and their slices sum to the einsum; re-optimised ones too, never costlier', () => {
    let slicedRuns = 0;
    let cheaper = 0;
    fc.assert(
      fc.property(netArb, fc.double({ min: 0, max: 1, noNaN: true }), (n, where) => {
        const base = planContraction(n, { optimize: 'greedy' });
        const peak = Math.max(1, ...base.steps.slice(0, -1).map((s) => s.resultSize));
        const limit = Math.max(1, Math.floor(peak * where));
        const sp = sliceForLimit(n.inputs, n.output, n.sizes, base, limit);
        if (sp === undefined) return;
        if (sp.slices > 1) slicedRuns++;
        const again = reoptimiseSliced(sp, n.sizes, base, limit, (sizes) => planContraction({ ...n, sizes }, { optimize: 'greedy' }));
        expect(again.cost).toBeLessThanOrEqual(sp.cost);
        if (again.cost < sp.cost) cheaper++;
        // Every index it keeps sliced was sliced before: it only gives indices back.
        for (const id of again.sliced) expect(sp.sliced).toContain(id);
        let s = 3;
        const rand = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
        const tensors = n.inputs.map((ids) => randomDense(ids, n.sizes, rand));
        const direct = denseEinsum(tensors, n.output, n.sizes);
        for (const plan of [sp, again]) {
          expect(plan.peakPerSlice).toBeLessThanOrEqual(limit);
          for (const step of plan.plan.steps.slice(0, -1)) expect(step.resultSize).toBeLessThanOrEqual(limit);
          expect(plan.slices).toBe(plan.sliced.reduce((p, id) => p * n.sizes[id]!, 1));
          expect(plan.cost).toBe(plan.slices * plan.plan.cost);
          expect(plan.overhead).toBeCloseTo(plan.cost / base.cost, 12);
          for (const id of plan.sliced) expect(n.output).not.toContain(id);
          // The path of one slice replayed over the sliced sizes is the plan it reports.
          expect(replayPath(n.inputs, n.output, plan.sizes, plan.plan.path).cost).toBe(plan.plan.cost);
          const total = sumOfSlices(n, plan, tensors);
          direct.data.forEach((v, e) => expect(Math.abs(total[e]! - v)).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(v))));
        }
      }),
      { numRuns: 200, seed: 20261207 },
    );
    // The property is about sliced plans: enough of the random cases must actually slice, and re-optimising must
    // pay in some of them.
    expect(slicedRuns).toBeGreaterThan(20);
    expect(cheaper).toBeGreaterThan(0);
  });

  it('slices a limited plan that could run as it is where slicing the best path costs less, launches counted', async () => {
    // A random 3-regular network of 8 tensors (seed 5 of the benchmark's generator, sizes 4-16): under 2,520
    // elements greedy finds a plan of pairwise steps and one 4-operand step at 12.2·10⁶ flops, where the
    // unlimited path (926,752 flops, peak 12,600) sliced over j runs 14 slices in 7 runs at 1.19·10⁶.
    const pattern: string = 'aeg,chi,dhl,fij,bgj,bek,acf,dkl->';
    const shapes = [[15, 8, 4], [15, 16, 16], [10, 16, 10], [15, 16, 14], [13, 4, 14], [13, 8, 4], [15, 15, 15], [10, 4, 10]];
    const options = { optimize: 'greedy', memoryLimit: 2520 } as const;
    const path = einsumPath(pattern, shapes, options);
    expect(path.sliced).toMatchObject({ axes: ['j'], slices: 14, cost: 1187872, chunk: { axis: 'j', size: 2, runs: 7 } });
    const expr = compile(pattern, shapes, { ...options, dtype: 'float64' });
    expect(expr.plan.cost).toBe(12239872);
    expect(expr.plan.steps.every((st) => st.flops <= 2 ** 30)).toBe(true);
    expect(expr.sliced?.cost).toBe(1187872);
    // With room for the unlimited path's peak, nothing is sliced.
    expect(compile(pattern, shapes, { optimize: 'greedy', memoryLimit: 12600 }).sliced).toBeUndefined();
    let seed = 3;
    const rand = (): number => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296) - 0.5;
    const operands = shapes.map((shape) => tensor(Array.from({ length: shape.reduce((p, x) => p * x, 1) }, rand), { dtype: 'float64' }).reshape(shape));
    const sliced = (await expr.runSync(...operands).data())[0]!;
    const whole = (await einsum(pattern, ...operands, { optimize: 'greedy' }).data())[0]!;
    const scale = (await einsum(pattern, ...operands.map((x) => x.abs()), { optimize: 'greedy' }).data())[0]!;
    expect(Math.abs(sliced - whole)).toBeLessThanOrEqual(1e-12 * scale);
  });

  it('chooses slicing only where it costs less than the limited plan, launches counted, and never when the best path fits', () => {
    // Sizes up to 12, so that some limited plans cost far more than slicing the best path does.
    const bigger = netArbOf({ maxSize: 12, minAxes: 3, maxAxes: 9, minOps: 4, maxOps: 8, perOp: { base: 2, spread: 2 }, distinct: true, draws: 60 });
    let chosen = 0;
    let kept = 0;
    fc.assert(
      fc.property(bigger, fc.double({ min: 0.02, max: 1.2, noNaN: true }), (n, where) => {
        const base = planContraction(n, { optimize: 'greedy' });
        const peak = Math.max(1, ...base.steps.slice(0, -1).map((st) => st.resultSize));
        const options = { optimize: 'greedy', memoryLimit: Math.max(1, Math.floor(peak * where)) };
        const plan = planContraction(n, options);
        if (plan.steps.some((st) => st.operands.length >= 3 && st.flops > 2 ** 30)) return;
        const sp = slicedExecution(plan, n, options);
        // Decided once per plan: the same answer, the same object, on the next call.
        expect(slicedExecution(plan, n, options)).toBe(sp);
        if (peak <= options.memoryLimit) {
          expect(sp).toBeUndefined();
          return;
        }
        if (sp === undefined) {
          kept++;
          return;
        }
        chosen++;
        const launches = (sp.chunk?.runs ?? sp.slices) * sp.plan.steps.length;
        expect(sp.cost + launches * 2 ** 14).toBeLessThan(plan.cost + plan.steps.length * 2 ** 14);
        expect(sp.chunk?.peak ?? sp.peakPerSlice).toBeLessThanOrEqual(options.memoryLimit);
      }),
      { numRuns: 300, seed: 20261207 },
    );
    expect(chosen).toBeGreaterThan(8);
    expect(kept).toBeGreaterThan(50);
  });

  it('runs at most 4096 slices: 64 × 64 of them are planned, 65 × 65 refused', () => {
    // 'ab,bc,cd->ad' with a = c = 600 under a limit of 50 elements: only slicing b and d brings the intermediates
    // under it, b·d slices of about 2,400 flops each, far below the 2^30 flops a sliced run may take in all.
    const at = (b: number) => compile('ab,bc,cd->ad', [[600, b], [b, 600], [600, b]], { memoryLimit: 50 });
    expect(at(64).sliced?.slices).toBe(4096);
    expect(() => at(65)).toThrow(/slicing cannot bring the intermediates under it within 4096 slices/);
  });

  it('keeps slicing while the peak holds but the excess over the limit falls (two intermediates tied at the peak)', () => {
    // A random 3-regular network whose greedy path has intermediates tied at 12 elements: under a limit of 4,
    // slicing index 11 leaves a peak of 6 held by several intermediates, and index 12 lowers their excess, not the
    // peak; index 4 then brings every one under the limit.
    const inputs = [[3, 7, 9], [1, 5, 8], [7, 9, 12], [2, 4, 12], [0, 6, 11], [2, 3, 11], [0, 6, 10], [1, 10], [4, 5, 8]];
    const sizes = [3, 3, 3, 3, 2, 2, 3, 2, 2, 3, 3, 2, 2];
    const path = [[4, 6], [0, 2], [0, 4], [1, 4], [0, 4], [0, 1], [0, 2], [0, 1]];
    const base = { ...replayPath(inputs, [], sizes, path), optimizer: 'greedy' };
    const sp = sliceForLimit(inputs, [], sizes, base, 4)!;
    expect(sp).toBeDefined();
    expect(sp.sliced).toEqual([11, 12, 4]);
    const peaks = [[], [11], [11, 12], [11, 12, 4]].map((ids) =>
      Math.max(...replayPath(inputs, [], sizes.map((x, id) => (ids.includes(id) ? 1 : x)), path).steps.slice(0, -1).map((st) => st.resultSize)));
    expect(peaks).toEqual([12, 6, 6, 3]);
    expect(sp.peakPerSlice).toBe(3);
  });

  it('re-optimising the path of one slice: on this 9-tensor network it halves the flops and gives an index back', () => {
    // A random 3-regular network (seed 1 of the networks benchmark's generator, sizes 2-6), written out.
    const n = {
      inputs: [[0, 7, 11], [8, 10], [5, 6, 9], [1, 3, 4], [2, 6, 11], [2, 4, 8], [0, 5, 12], [9, 10, 12], [1, 3, 7]],
      output: [] as number[],
      sizes: [5, 6, 2, 2, 4, 3, 2, 4, 4, 2, 5, 4, 2],
    };
    const base = planContraction(n, { optimize: 'greedy' });
    expect(base.cost).toBe(2640);
    const replan = (sizes: readonly number[]): ContractionPlan => planContraction({ ...n, sizes }, { optimize: 'greedy' });
    // Under 16 elements, slicing on the unlimited path needs indices 0 and 2 (10 slices, 10,080 flops); searched
    // again with index 0 at size 1, a path fits with index 0 alone (5 slices, 5,040 flops).
    const sp = sliceForLimit(n.inputs, n.output, n.sizes, base, 16)!;
    expect([sp.sliced, sp.slices, sp.cost]).toEqual([[0, 2], 10, 10080]);
    const again = reoptimiseSliced(sp, n.sizes, base, 16, replan);
    expect([again.sliced, again.slices, again.cost, again.peakPerSlice]).toEqual([[0], 5, 5040, 16]);
    expect(again.sizes).toEqual(n.sizes.map((x, id) => (id === 0 ? 1 : x)));
    expect(again.plan.optimizer).toBe('greedy+sliced');
    expect(again.overhead).toBeCloseTo(5040 / 2640, 12);
    // Under 40, the same index, but a path of one slice that costs 1,008 flops instead of 1,424.
    const at40 = sliceForLimit(n.inputs, n.output, n.sizes, base, 40)!;
    expect([at40.sliced, at40.cost]).toEqual([[0], 7120]);
    const again40 = reoptimiseSliced(at40, n.sizes, base, 40, replan);
    expect([again40.sliced, again40.cost, again40.peakPerSlice]).toEqual([[0], 5040, 16]);
    // A candidate the caller refuses (the executor's caps) is never taken: the plan comes back as it was.
    expect(reoptimiseSliced(sp, n.sizes, base, 16, replan, () => false)).toBe(sp);
    // Nor one whose re-searched path breaks the limit.
    expect(reoptimiseSliced(sp, n.sizes, base, 16, () => base)).toBe(sp);
  });

  it('einsum runs the re-optimised slicing: 7× fewer flops than slicing the unlimited path, the same values', async () => {
    // A random 3-regular network of 10 tensors (seed 2 of the benchmark's generator, sizes 8-24), summed to a
    // scalar under a limit of 204 elements: the limited plan's last step would be a loop nest of ~10^14 flops.
    const inputs = [[2, 13, 14], [0, 1, 10], [9, 11, 12], [9, 11, 13], [1, 6, 8], [3, 12, 14], [2, 4, 7], [5, 6, 7], [0, 8, 10], [3, 4, 5]];
    const sizes = [20, 8, 12, 8, 16, 20, 8, 16, 24, 24, 16, 20, 12, 12, 20];
    const letters = 'abcdefghijklmno';
    const pattern = `${inputs.map((t) => t.map((id) => letters[id]).join('')).join(',')}->`;
    const shapes = inputs.map((t) => t.map((id) => sizes[id]!));
    const options = { optimize: 'greedy', memoryLimit: 204, dtype: 'float64' } as const;
    const expr = compile(pattern, shapes, options);
    const n = { inputs, output: [] as number[], sizes };
    const base = planContraction(n, { optimize: 'greedy' });
    const onBase = sliceForLimit(inputs, [], sizes, base, 204)!;
    expect([onBase.sliced, onBase.cost]).toEqual([[3, 7, 13], 214732800]);
    // (einsum numbers the axes by first appearance in the pattern; the explanation names them: h is 7, n is 13.)
    expect(expr.sliced?.cost).toBe(29506560);
    expect(expr.sliced?.peakPerSlice).toBeLessThanOrEqual(204);
    expect(expr.explain()).toContain('192 slices over [h, n]');
    // Values against the same network contracted without a limit (pairwise, unsliced), in float64.
    let seed = 11;
    const rand = (): number => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296) - 0.5;
    const operands = shapes.map((shape) => tensor(Array.from({ length: shape.reduce((p, x) => p * x, 1) }, rand), { dtype: 'float64' }).reshape(shape));
    const sliced = (await expr.runSync(...operands).data())[0]!;
    const whole = (await einsum(pattern, ...operands, { optimize: 'greedy', dtype: 'float64' }).data())[0]!;
    expect(Math.abs(sliced - whole)).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(whole)));
  });
});

/** The sum over every slice of `sp` of its per-slice path run on the operands narrowed to the slice (dense oracle). */
function sumOfSlices(n: Net, sp: SlicedPlan, tensors: Dense[]): Float64Array {
  const fixed = new Map<number, number>();
  const total = new Float64Array(n.output.reduce((p, id) => p * n.sizes[id]!, 1));
  const at = sp.sliced.map(() => 0);
  for (let k = 0; k < sp.slices; k++) {
    sp.sliced.forEach((id, j) => fixed.set(id, at[j]!));
    const pick = (t: Dense): Dense => {
      // The slice of t where each sliced index takes its current value.
      const shape = t.ids.map((id) => n.sizes[id]!);
      const outShape = t.ids.map((id) => (fixed.has(id) ? 1 : n.sizes[id]!));
      const count = outShape.reduce((p, x) => p * x, 1);
      const data = new Float64Array(count);
      for (let e = 0; e < count; e++) {
        let rest = e;
        let src = 0;
        for (let d = t.ids.length - 1, mul = 1; d >= 0; d--) {
          const i = rest % outShape[d]!;
          rest = Math.floor(rest / outShape[d]!);
          const id = t.ids[d]!;
          src += (fixed.has(id) ? fixed.get(id)! : i) * mul;
          mul *= shape[d]!;
        }
        data[e] = t.data[src]!;
      }
      return { ids: t.ids, data };
    };
    const part = executeWith(sp.plan, tensors.map(pick), sp.sizes);
    part.data.forEach((v, e) => (total[e]! += v));
    for (let j = 0; j < at.length; j++) {
      if (++at[j]! < n.sizes[sp.sliced[j]!]!) break;
      at[j] = 0;
    }
  }
  return total;
}

function executeWith(plan: ContractionPlan, tensors: Dense[], sizes: readonly number[]): Dense {
  const current = [...tensors];
  plan.steps.forEach((step, s) => {
    const operands = plan.path[s]!.map((p) => current[p]!);
    for (const p of [...plan.path[s]!].sort((a, b) => b - a)) current.splice(p, 1);
    current.push(denseEinsum(operands, step.result, sizes));
  });
  return current[0]!;
}
