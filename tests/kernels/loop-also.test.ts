/**
 * Map kernels with further stores into their inputs (LoopSpec.also, what jit's merged updates run): at every
 * point every value is computed from the inputs as they were, then stored, so each target element ends up with
 * its expression of the old values, the output with its own, and nothing else is touched. Checked on random
 * shapes and layouts (targets walked in any order of their dense layout, sources broadcast or strided) on the
 * generated CPU kernel, the CPU interpreter and the WGSL kernel, against a float64 evaluation of the same
 * expressions over the initial values.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { interpretLoop } from '../../kernels/cpu/interpret.js';
import { loopParams, renderLoop, runLoop } from '../../kernels/cpu/loop.js';
import type { WebGPUBackend } from '../../kernels/wgsl/index.js';
import { ex, type Access, type Expr, type LoopSpec } from '../../src/lower/spec.js';
import { gpuAvailable, openBackend } from '../wgsl/setup.js';

interface Case {
  readonly spec: LoopSpec;
  readonly data: readonly Float32Array[];
  readonly outLength: number;
}

/** Strides of a dense row-major buffer of `sizes`, visited by the loops in the order `perm`. */
function denseStrides(sizes: readonly number[], perm: readonly number[]): number[] {
  const strides = new Array<number>(sizes.length).fill(0);
  let step = 1;
  for (let k = perm.length - 1; k >= 0; k--) {
    const d = perm[k]!;
    strides[d] = step;
    step *= sizes[d]!;
  }
  return strides;
}

function evaluate(e: Expr, v: readonly number[], c: { k: number; values: number[] }): number {
  switch (e.kind) {
    case 'input': return v[e.index]!;
    case 'const': return e.value;
    case 'unary': return e.op === 'neg' ? -evaluate(e.arg, v, c) : Math.abs(evaluate(e.arg, v, c));
    case 'binary': {
      const l = evaluate(e.lhs, v, c);
      const r = evaluate(e.rhs, v, c);
      return e.op === 'add' ? l + r : e.op === 'sub' ? l - r : l * r;
    }
    default: throw new Error(`not generated here: ${e.kind}`);
  }
}

const exprArb = (inputs: number): fc.Arbitrary<Expr> => fc.letrec<{ e: Expr }>((tie) => ({
  e: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.integer({ min: 0, max: inputs - 1 }).map((i) => ex.input(i)),
    fc.constantFrom(0.5, -2, 3).map((x) => ex.const(x)),
    fc.tuple(fc.constantFrom('add', 'sub', 'mul') as fc.Arbitrary<'add' | 'sub' | 'mul'>, tie('e'), tie('e'))
      .map(([op, l, r]) => ex.binary(op, l, r)),
    tie('e').map((a) => ex.unary('neg', a)),
  ),
})).e;

/** Inputs: 0 and 2 are targets (dense buffers of the loop shape, any loop order); 1 a source with any strides. */
const caseArb: fc.Arbitrary<Case> = fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 3 }).chain((sizes) => {
  const rank = sizes.length;
  const perm = fc.shuffledSubarray([...sizes.keys()], { minLength: rank, maxLength: rank });
  return fc.record({
    permA: perm, permC: perm, permOut: perm,
    sourceStrides: fc.array(fc.constantFrom(0, 1, 2, 7), { minLength: rank, maxLength: rank }),
    offsets: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 4, maxLength: 4 }),
    main: exprArb(3), storeA: exprArb(3), storeC: exprArb(3),
    twoStores: fc.boolean(),
    seed: fc.integer({ min: 1, max: 1 << 30 }),
  }).map((r) => {
    const count = sizes.reduce((a, b) => a * b, 1);
    const access = (strides: number[], offset: number): Access => ({ dtype: 'float32', offset, strides });
    const inputs = [
      access(denseStrides(sizes, r.permA), r.offsets[0]!),
      access(r.sourceStrides, r.offsets[1]!),
      access(denseStrides(sizes, r.permC), r.offsets[2]!),
    ];
    const also = r.twoStores ? [{ input: 0, expr: r.storeA }, { input: 2, expr: r.storeC }] : [{ input: 2, expr: r.storeC }];
    const spec: LoopSpec = {
      kind: 'loop', label: 'map with stores into inputs', sizes, parallel: rank, reduceOp: null, inputs,
      output: access(denseStrides(sizes, r.permOut), r.offsets[3]!), expr: r.main, computeType: 'float32', also,
    };
    let s = r.seed;
    const rand = (): number => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return Math.round((s / 2 ** 32 - 0.5) * 64) / 8; };
    const span = (a: Access): number => a.offset + 1 + a.strides.reduce((t, st, d) => t + st * (sizes[d]! - 1), 0);
    const data = inputs.map((a) => Float32Array.from({ length: span(a) + 2 }, rand));
    return { spec, data, outLength: span(spec.output) + 2 } satisfies Case;
  });
});

/** The expected inputs (targets rewritten) and output, each from the initial values in float64, rounded once. */
function expected(c: Case): { inputs: Float32Array[]; out: Float32Array } {
  const { spec } = c;
  const inputs = c.data.map((d) => d.slice());
  const out = new Float32Array(c.outLength).fill(NaN);
  const count = spec.sizes.reduce((a, b) => a * b, 1);
  const constants = { k: 0, values: [] };
  for (let t = 0; t < count; t++) {
    const idx: number[] = [];
    let rest = t;
    for (let d = spec.sizes.length - 1; d >= 0; d--) { idx[d] = rest % spec.sizes[d]!; rest = Math.floor(rest / spec.sizes[d]!); }
    const at = (a: Access): number => a.offset + a.strides.reduce((sum, st, d) => sum + st * idx[d]!, 0);
    const v = spec.inputs.map((a, i) => c.data[i]![at(a)]!);
    for (const st of spec.also!) inputs[st.input]![at(spec.inputs[st.input]!)] = Math.fround(evaluate(st.expr, v, constants));
    out[at(spec.output)] = Math.fround(evaluate(spec.expr, v, constants));
  }
  return { inputs, out };
}

function close(got: ArrayLike<number>, want: ArrayLike<number>, what: string, spec: LoopSpec): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    if (Number.isNaN(w) ? !Number.isNaN(g) : !(Math.abs(g - w) <= 1e-5 * (1 + Math.abs(w)))) {
      expect.fail(`${what}[${i}]: got ${g}, want ${w}\n${renderLoop(spec)}`);
    }
  }
}

describe('map kernels with stores into their inputs (CPU)', () => {
  it('the generated kernel and the interpreter store every value computed from the old inputs', () => {
    fc.assert(fc.property(caseArb, (c) => {
      const want = expected(c);
      for (const run of ['generated', 'interpreted'] as const) {
        const ins = c.data.map((d) => d.slice());
        const out = new Float32Array(c.outLength).fill(NaN);
        if (run === 'generated') runLoop(c.spec, ins, out);
        else interpretLoop(c.spec)(ins, out, loopParams(c.spec));
        ins.forEach((x, i) => close(x, want.inputs[i]!, `${run} input ${i}`, c.spec));
        close(out, want.out, `${run} output`, c.spec);
      }
    }), { numRuns: 150 });
  });

  it('renders the stores after every value, and the source names them', () => {
    const spec: LoopSpec = {
      kind: 'loop', label: 'update', sizes: [4], parallel: 1, reduceOp: null,
      inputs: [{ dtype: 'float32', offset: 0, strides: [1] }, { dtype: 'float32', offset: 0, strides: [1] }],
      output: { dtype: 'float32', offset: 0, strides: [1] },
      expr: ex.binary('add', ex.input(0), ex.input(1)), computeType: 'float32',
      also: [{ input: 0, expr: ex.binary('mul', ex.input(0), ex.const(2)) }],
    };
    const src = renderLoop(spec);
    expect(src.indexOf('const w0')).toBeGreaterThan(src.indexOf('const v ='));
    expect(src).toMatch(/x0\[x0_0\] = w0;/);
    expect(src.indexOf('] = w0')).toBeGreaterThan(src.indexOf('const w0'));
  });
});

describe.skipIf(!gpuAvailable)('map kernels with stores into their inputs (WebGPU)', () => {
  let backend: WebGPUBackend;
  beforeAll(async () => { backend = await openBackend(); });
  afterAll(() => { backend?.destroy(); });

  it('the WGSL kernel binds its targets read-write and stores the same values', { timeout: 120_000 }, async () => {
    await fc.assert(fc.asyncProperty(caseArb, async (c) => {
      const want = expected(c);
      const ins = c.data.map((d) => backend.upload('float32', d));
      const out = backend.upload('float32', new Float32Array(c.outLength).fill(NaN));
      expect(backend.kernelSource(c.spec).source).toContain('read_write> in');
      backend.run(c.spec, ins, out);
      for (let i = 0; i < ins.length; i++) close(await backend.read(ins[i]!), want.inputs[i]!, `webgpu input ${i}`, c.spec);
      close(await backend.read(out), want.out, 'webgpu output', c.spec);
      for (const s of [...ins, out]) backend.release(s);
    }), { numRuns: 40 });
  });
});
