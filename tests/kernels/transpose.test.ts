/**
 * The CPU blocked transpose (kernels/cpu/loop.ts): random permutations of random shapes (rank ≤ 5, ragged and
 * unit extents, offsets, padded layouts) in every dtype, each result exactly equal to the reference
 * interpreter, outputs poisoned so an element the kernel skips shows.
 */
import { describe, expect, it } from 'vitest';
import { Float16Array } from '@petamoriken/float16';
import { TRANSPOSE_BLOCK, cpuTransposeDims as transposeDims, renderLoop, runLoop } from '../../kernels/cpu/loop.js';
import { buildLoop } from '../../src/lower/loops.js';
import { ex } from '../../src/lower/spec.js';
import type { DType, LoopSpec } from '../../src/lower/spec.js';
import { cast, copy, poisoned, randomPermuteCase, rng, type Conversion, type PermuteCase, type Pick } from '../helpers/permute-cases.js';
import { referenceLoop } from '../wgsl/reference.js';

type Arr = Float32Array | Float64Array | Int32Array | Uint8Array | Float16Array;
function array(dtype: DType, values: readonly number[]): Arr {
  switch (dtype) {
    case 'float32': return Float32Array.from(values);
    case 'float64': return Float64Array.from(values);
    case 'float16': return Float16Array.from(values);
    case 'int32': return Int32Array.from(values);
    case 'bool': return Uint8Array.from(values, (v) => (v !== 0 ? 1 : 0));
  }
}

type Case = PermuteCase;
const randomCase = (pick: Pick, conv: Conversion, rank: number, maxExtent: number): Case =>
  randomPermuteCase(pick, conv, rank, maxExtent, 60000, conv.to === 'int32');

function check(c: Case): void {
  const outDType = c.spec.output.dtype;
  const sentinel = outDType === 'bool' ? 1 : 42;
  const reference = referenceLoop(c.spec, [c.input], new Array<number>(c.outLength).fill(sentinel));
  const poison = poisoned(reference.out, reference.written, outDType);
  const input = array(c.spec.inputs[0]!.dtype, c.input);
  const out = array(outDType, poison);
  runLoop(c.spec, [input], out);
  const bad: string[] = [];
  for (let i = 0; i < c.outLength; i++) {
    const g = out[i]!;
    const want = reference.out[i]!;
    const ok = Number.isNaN(want) ? Number.isNaN(g) : outDType === 'int32' || outDType === 'bool' ? g === want : Object.is(g, want);
    if (!ok && bad.length < 5) bad.push(`[${i}] got ${g}, want ${want}`);
  }
  if (bad.length > 0) throw new Error(`${bad.join('; ')}\n${JSON.stringify(c.spec)}\n${renderLoop(c.spec)}`);
}

describe('CPU blocked transpose', () => {
  it('is chosen only for transposing copies with long enough loops', () => {
    const permute = (c: number): LoopSpec => buildLoop({
      label: 'b c h w -> b h w c', outShape: [2, 9, 10, c],
      inputs: [{ dtype: 'float32', offset: 0, strides: [90 * c, 10, 1, 90] }],
      output: { dtype: 'float32', offset: 0, strides: [90 * c, 10 * c, c, 1] }, expr: ex.input(0), computeType: 'float32',
    });
    expect(transposeDims(permute(16))).toEqual({ a: 1, b: 2 });
    expect(renderLoop(permute(16))).toContain('blocked transpose');
    expect(transposeDims(permute(3))).toBeNull();
    expect(transposeDims({ ...permute(16), expr: ex.unary('neg', ex.input(0)) })).toBeNull();
  });

  const conversions: readonly Conversion[] = [
    copy('float32'), copy('float64'), copy('int32'), copy('bool'), copy('float16'),
    cast('float32', 'int32'), cast('int32', 'float32'), cast('float16', 'float32'), cast('float32', 'float16'),
    cast('float32', 'bool'), cast('float64', 'float32'),
  ];
  it('a float32 transpose with 70,000 rows along the output\'s contiguous loop: chunks of at most 1,024 of them', () => {
    // [70000, TRANSPOSE_BLOCK] → [TRANSPOSE_BLOCK, 70000]: the Wasm permute's scratch holds 2^18 words a side, so a
    // chunk of every row at its narrowest, four columns (280,000 words), would not fit; its chunks take 1,024 rows.
    const [rows, cols] = [70_000, TRANSPOSE_BLOCK];
    const input = Float32Array.from({ length: rows * cols }, (_, i) => (i * 7919) % 65521);
    const spec: LoopSpec = {
      kind: 'loop', label: 'transpose', sizes: [cols, rows], parallel: 2, reduceOp: null,
      inputs: [{ dtype: 'float32', offset: 0, strides: [1, cols] }], output: { dtype: 'float32', offset: 0, strides: [rows, 1] },
      expr: ex.input(0), computeType: 'float32',
    };
    expect(transposeDims(spec)).not.toBeNull();
    const out = new Float32Array(rows * cols).fill(-1);
    runLoop(spec, [input], out);
    let bad = 0;
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) if (out[c * rows + r] !== input[r * cols + c]) bad++;
    expect(bad).toBe(0);
  });

  for (const conv of conversions) {
    it(`${conv.from} -> ${conv.to}: random permutations, ragged and unit extents, offsets`, () => {
      const pick = rng(0xc0ffee + conversions.indexOf(conv));
      let blocked = 0;
      for (let r = 0; r < 30; r++) {
        const c = randomCase(pick, conv, pick(2, 5), r % 3 === 0 ? 2 * TRANSPOSE_BLOCK + 7 : 20);
        if (transposeDims(c.spec) !== null) blocked++;
        check(c);
      }
      expect(blocked).toBeGreaterThan(3);
    });
  }
});
