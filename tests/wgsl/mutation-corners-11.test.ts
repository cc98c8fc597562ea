/**
 * WGSL row kernels that a fresh mutation sample (seed 20261221) found unobserved: a row maximum over rows of one
 * point (every row loop of extent 1, none left: no block there either), and a float32 row sum over two row loops,
 * where only the innermost loop is cut into blocks; both run on a device against float64 loops.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebGPUBackend } from '../../kernels/wgsl/index.js';
import { DEFAULT_LOOP_TUNING, loopKernel } from '../../kernels/wgsl/loop.js';
import { ex, type LoopSpec } from '../../src/lower/spec.js';
import { gpuAvailable, openBackend, readNumbers } from './setup.js';

/** x - op over the row loops (outer..rank) of x, x laid out densely over `sizes`. */
function minusRow(op: 'max' | 'sum', sizes: number[], outer: number): LoopSpec {
  const strides = sizes.map((_, d) => sizes.slice(d + 1).reduce((a, b) => a * b, 1));
  return {
    kind: 'loop', label: `x - ${op} over rows`, sizes, parallel: sizes.length, reduceOp: null,
    inputs: [{ dtype: 'float32', offset: 0, strides }],
    output: { dtype: 'float32', offset: 0, strides }, computeType: 'float32',
    expr: ex.binary('sub', ex.input(0), ex.input(1)),
    rows: { outer, values: [{ op, expr: ex.input(0) }] },
  };
}

/** float64 reference: for each row (the first `outer` coordinates), x - op over its points. */
function reference(op: 'max' | 'sum', x: Float32Array, sizes: number[], outer: number): number[] {
  const rowLength = sizes.slice(outer).reduce((a, b) => a * b, 1);
  const out: number[] = [];
  for (let r = 0; r < x.length / rowLength; r++) {
    const row = Array.from(x.subarray(r * rowLength, (r + 1) * rowLength));
    const v = op === 'max' ? Math.max(...row) : row.reduce((s, y) => s + y, 0);
    // The kernel subtracts in float32: one rounding of the difference (of the float32 sum, for a sum).
    for (const y of row) out.push(Math.fround(y - (op === 'max' ? v : Math.fround(v))));
  }
  return out;
}

describe('WGSL row kernels', () => {
  it('block only the innermost row loop of a float32 sum, and none of a maximum', () => {
    const sum = loopKernel(minusRow('sum', [3, 4, 300], 1), DEFAULT_LOOP_TUNING, false).render().source;
    expect(sum.match(/_block = 0;/g)).toHaveLength(1);
    expect(sum).toMatch(/for \(var p2_block = 0;/);
    expect(sum).toMatch(/for \(var p1 = 0;/);
    // One block accumulator, started at each block: a row of several points is not also a block of its own.
    expect(sum.match(/var acc = 0\.0;/g)).toHaveLength(1);
    const single = loopKernel(minusRow('max', [3, 4], 2), DEFAULT_LOOP_TUNING, false).render().source;
    expect(single).not.toContain('_block');
    expect(single).not.toContain('var acc = 0.0;');
  });

  describe.skipIf(!gpuAvailable)('on a device', () => {
    let backend: WebGPUBackend;
    beforeAll(async () => { backend = await openBackend(); });
    afterAll(() => { backend?.destroy(); });

    for (const [op, sizes, outer] of [['max', [3, 4], 2], ['sum', [3, 4], 2], ['sum', [3, 5, 300], 1], ['max', [3, 5, 300], 1]] as const) {
      it(`x - ${op} over rows of ${JSON.stringify(sizes.slice(outer))} points`, async () => {
        const n = sizes.reduce((a, b) => a * b, 1);
        const x = Float32Array.from({ length: n }, (_, i) => Math.fround(Math.sin(i * 0.37) * 3 + (i % 7) * 0.25));
        const out = backend.upload('float32', new Float32Array(n).fill(-9));
        backend.run(minusRow(op, [...sizes], outer), [backend.upload('float32', x)], out);
        const got = await readNumbers(backend, out);
        const want = reference(op, x, [...sizes], outer);
        // A float32 sum of 1,500 terms of size ~3 rounds within a few 1e-4; a maximum is exact.
        got.forEach((v, i) => expect(Math.abs(v - want[i]!), `${i}`).toBeLessThanOrEqual(op === 'max' ? 0 : 2e-3));
      });
    }
  });
});
