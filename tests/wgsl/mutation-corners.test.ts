/**
 * Corners of the WGSL generator and device layer that the value suites did not reach: a float literal that is
 * finite in float64 but overflows float32 (WGSL rejects an out-of-range f32 literal, so it must be written as an
 * infinity), row values (LoopSpec.rows) summed in blocks over a long row and stored once per row, the refusal of a
 * row value stored where it may not be, a profile on a device without 'timestamp-query', the message of a failed
 * error scope, and the indentation of an arg reduction's thread loop.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebGPUBackend } from '../../kernels/wgsl/index.js';
import { Helpers, literal } from '../../kernels/wgsl/expr.js';
import { ex } from '../../src/lower/spec.js';
import type { LoopSpec, RowValue } from '../../src/lower/spec.js';
import { rejection, thrown } from '../helpers/thrown.js';
import { gpuAvailable, openBackend } from './setup.js';

describe('a float literal beyond the float32 range', () => {
  // 1e39 and -1e39 are finite doubles whose nearest float32 is ±infinity (float32's largest is about 3.4e38).
  // A WGSL f32 literal must be representable, so the generator writes the infinity through the NONFINITE bits.
  it('is written as +infinity or -infinity read from INF_BITS, and asks for the NONFINITE helper', () => {
    const pos = new Helpers();
    expect(literal(1e39, 'f32', pos)).toBe('bitcast<f32>(INF_BITS)');
    expect(pos.render()).toContain('INF_BITS');
    const neg = new Helpers();
    expect(literal(-1e39, 'f32', neg)).toBe('-bitcast<f32>(INF_BITS)');
    expect(neg.render()).toContain('INF_BITS');
  });
});

describe.skipIf(!gpuAvailable)('WGSL row values and device-layer corners', () => {
  let backend: WebGPUBackend;
  beforeAll(async () => { backend = await openBackend(); });
  afterAll(() => { backend?.destroy(); });

  const ROWS = 3;
  const LEN = 70; // longer than two blocks of a float32 sum (32 points each), not a multiple of the block
  // Multiples of 1/8 in [-4, 4]: every partial sum is exact in float32, so the float64 sum is the expected value.
  const xs = Array.from({ length: ROWS * LEN }, (_, i) => (((i * 37) % 65) - 32) / 8);

  /** out[i, j] = x[i, j] - sum_j x[i, j], the row sum also stored into input 1 (broadcast over j) when `store`. */
  function centred(values: readonly RowValue[], main = ex.binary('sub', ex.input(0), ex.input(2))): LoopSpec {
    return {
      kind: 'loop', label: 'x - sum_j x', sizes: [ROWS, LEN], parallel: 2, reduceOp: null,
      inputs: [{ dtype: 'float32', offset: 0, strides: [LEN, 1] }, { dtype: 'float32', offset: 0, strides: [1, 0] }],
      output: { dtype: 'float32', offset: 0, strides: [LEN, 1] }, expr: main, computeType: 'float32',
      rows: { outer: 1, values },
    };
  }

  it('a row sum over a long row is folded in blocks, matches float64, and is stored once per row into its input', async () => {
    const spec = centred([{ op: 'sum', expr: ex.input(0), store: 1 }]);
    const sums = Array.from({ length: ROWS }, (_, i) => xs.slice(i * LEN, (i + 1) * LEN).reduce((a, b) => a + b, 0));
    const x = backend.upload('float32', Float32Array.from(xs));
    const s = backend.upload('float32', new Float32Array([99, 99, 99]));
    const out = backend.allocate('float32', ROWS * LEN);
    backend.run(spec, [x, s], out);
    expect(Array.from(await backend.read(out))).toEqual(xs.map((v, p) => v - sums[Math.floor(p / LEN)]!));
    expect(Array.from(await backend.read(s))).toEqual(sums);
    await backend.flush();
    for (const b of [x, s, out]) backend.release(b);
  });

  it('refuses a row value stored into a row value, past the inputs, or into an input an expression reads', () => {
    const refused = (spec: LoopSpec): string => thrown(() => backend.kernelSource(spec)).message;
    const reason = /row value 0 is stored into input \d+, which is not an input no expression reads/;
    // Input 2 is the row value itself (nIn = 2), input 3 does not exist; the first also with a main expression
    // that does not read the value, so only the bound refuses it.
    expect(refused(centred([{ op: 'sum', expr: ex.input(0), store: 2 }]))).toMatch(reason);
    expect(refused(centred([{ op: 'sum', expr: ex.input(0), store: 2 }], ex.input(0)))).toMatch(reason);
    expect(refused(centred([{ op: 'sum', expr: ex.input(0), store: 3 }]))).toMatch(reason);
    // Input 0 is read by the main expression (and the row's).
    expect(refused(centred([{ op: 'sum', expr: ex.input(0), store: 0 }]))).toMatch(reason);
    // Input 1 read by the main expression only, then by the row value only.
    expect(refused(centred([{ op: 'sum', expr: ex.input(0), store: 1 }], ex.binary('sub', ex.input(1), ex.input(2))))).toMatch(reason);
    expect(refused(centred([{ op: 'sum', expr: ex.binary('add', ex.input(0), ex.input(1)), store: 1 }]))).toMatch(reason);
    // Stored where nothing reads it: rendered.
    expect(backend.kernelSource(centred([{ op: 'sum', expr: ex.input(0), store: 1 }])).source).toContain('row0');
    expect(backend.kernelSource(centred([{ op: 'sum', expr: ex.input(0) }])).source).toContain('row0');
  });

  it('a profile on a device without timestamp-query lists each kernel by name and count, with no times', async () => {
    const b = await openBackend();
    try {
      Object.defineProperty(b, 'features', { value: b.features.filter((f) => f !== 'timestamp-query') });
      const spec: LoopSpec = {
        kind: 'loop', label: 'neg i->i', sizes: [5], parallel: 1, reduceOp: null,
        inputs: [{ dtype: 'float32', offset: 0, strides: [1] }], output: { dtype: 'float32', offset: 0, strides: [1] },
        expr: ex.unary('neg', ex.input(0)), computeType: 'float32',
      };
      const x = b.upload('float32', new Float32Array([1, 2, 3, 4, 5]));
      const out = b.allocate('float32', 5);
      b.startProfile();
      for (let i = 0; i < 3; i++) b.run(spec, [x], out);
      const profile = await b.stopProfile();
      expect(profile).toEqual({ launches: 3, timed: false, kernels: [{ name: b.kernelName(spec), count: 3 }] });
      for (const s of [x, out]) b.release(s);
    } finally {
      b.destroy();
    }
  });

  it('an error scope that rejects is reported with its message trimmed of surrounding whitespace', async () => {
    const b = await openBackend();
    try {
      const device = (b as unknown as { dev: GPUDevice }).dev;
      const spec: LoopSpec = {
        kind: 'loop', label: 'neg i->i', sizes: [3], parallel: 1, reduceOp: null,
        inputs: [{ dtype: 'float32', offset: 0, strides: [1] }], output: { dtype: 'float32', offset: 0, strides: [1] },
        expr: ex.unary('neg', ex.input(0)), computeType: 'float32',
      };
      const x = b.upload('float32', new Float32Array([1, 2, 3]));
      const out = b.allocate('float32', 3);
      const original = device.popErrorScope;
      device.popErrorScope = () => Promise.reject(new Error('\n  the scope went away  \n'));
      try {
        b.run(spec, [x], out);
      } finally {
        device.popErrorScope = original;
      }
      const err = await rejection(b.flush());
      const name = b.kernelName(spec);
      expect(err.op).toBe(name);
      expect(err.message).toBe(`${name}: WebGPU error scope in kernel '${name}': the scope went away`);
    } finally {
      b.destroy();
    }
  });

  it("an argmax thread loop's source is indented two spaces per open brace (r++ sits with the fold it follows)", () => {
    const spec: LoopSpec = {
      kind: 'loop', label: 'argmax ijk->i', sizes: [4, 3, 5], parallel: 1, reduceOp: 'argmax',
      inputs: [{ dtype: 'float32', offset: 0, strides: [15, 5, 1] }], output: { dtype: 'int32', offset: 0, strides: [1] },
      expr: ex.input(0), computeType: 'float32',
    };
    const lines = backend.kernelSource(spec).source.split('\n');
    const main = lines.findIndex((l) => l.startsWith('fn main('));
    expect(main).toBeGreaterThanOrEqual(0);
    expect(lines.some((l) => l.trim() === 'r++;')).toBe(true);
    let open = 1;
    for (const line of lines.slice(main + 1)) {
      if (line.trim() === '') continue;
      const closes = line.trim().startsWith('}') ? 1 : 0;
      expect({ line, indent: line.length - line.trimStart().length }).toEqual({ line, indent: 2 * (open - closes) });
      open += (line.match(/\{/g) ?? []).length - (line.match(/\}/g) ?? []).length;
      if (open === 0) break;
    }
  });
});
