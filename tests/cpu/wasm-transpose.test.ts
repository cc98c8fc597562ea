/**
 * Permutes of 4-byte elements run on the Wasm SIMD transpose (kernels/cpu/transpose.ts): 4×4 tiles moved by
 * lane shuffles inside a memory of the kernel's own, in chunks copied in and out row by row. The bug classes are a
 * tile transposed wrongly (a lane order), a ragged edge (rows or columns not a multiple of 4) dropped or moved,
 * a chunk boundary (more than 1024 rows, or more columns than a chunk holds) skipped or overlapped, strided or
 * reversed rows copied as if packed, and bits changed on the way (a NaN's payload). Every case builds the loop
 * spec by hand, runs it through runLoop and checks every element against plain index arithmetic.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import type { LoopSpec } from '../../src/lower/spec.js';
import { tensor } from '../../src/index.js';
import { cpuTransposeDims, loopKernelKind, loopSource, runLoop } from '../../kernels/cpu/loop.js';
import { wasmApi } from '../../kernels/cpu/wasm/api.js';
import { transposeModule, wasmTransposeApplies, WASM_TRANSPOSE_MIN_ELEMENTS } from '../../kernels/cpu/transpose.js';

interface Case {
  readonly dtype: 'float32' | 'int32';
  /** Extents: outer loops (walked plane by plane), then a (unit stride in the input), then b (unit stride out). */
  readonly outer: readonly number[];
  readonly na: number;
  readonly nb: number;
  /** Extra elements between input rows (along b) and output rows (along a), and whether each is reversed. */
  readonly gapIn: number;
  readonly gapOut: number;
  readonly flipIn: boolean;
  readonly flipOut: boolean;
  readonly lead: number;
  readonly seed: number;
}

/** Strides of a dense block, innermost given, each outer loop stepping over everything inside it. */
function layout(inner: number, rowStride: number, rowCount: number, outer: readonly number[]): { strides: number[]; span: number } {
  let span = rowStride * (rowCount - 1) + inner;
  const strides: number[] = [];
  for (let d = outer.length - 1; d >= 0; d--) {
    strides.unshift(span + 1);
    span = (span + 1) * (outer[d]! - 1) + span;
  }
  return { strides, span };
}

function run(c: Case): { got: Int32Array; want: Int32Array } {
  const rowIn = c.na + c.gapIn;
  const rowOut = c.nb + c.gapOut;
  const inL = layout(c.na, rowIn, c.nb, c.outer);
  const outL = layout(c.nb, rowOut, c.na, c.outer);
  // A reversed row order: start at the last row and step back.
  const sB = c.flipIn ? -rowIn : rowIn;
  const tA = c.flipOut ? -rowOut : rowOut;
  const inOffset = c.lead + (c.flipIn ? rowIn * (c.nb - 1) : 0);
  const outOffset = c.lead + (c.flipOut ? rowOut * (c.na - 1) : 0);
  const inLength = c.lead + inL.span + 2;
  const outLength = c.lead + outL.span + 2;
  let s = c.seed;
  const bits = new Int32Array(inLength).map(() => (s = (Math.imul(s, 1103515245) + 12345) | 0));
  const x = c.dtype === 'float32' ? new Float32Array(bits.buffer) : bits;
  const out = c.dtype === 'float32' ? new Float32Array(outLength).fill(-7) : new Int32Array(outLength).fill(-7);
  const spec: LoopSpec = {
    kind: 'loop', label: 'transpose test', sizes: [...c.outer, c.na, c.nb], parallel: c.outer.length + 2, reduceOp: null,
    inputs: [{ dtype: c.dtype, offset: inOffset, strides: [...inL.strides, 1, sB] }],
    output: { dtype: c.dtype, offset: outOffset, strides: [...outL.strides, tA, 1] },
    expr: { kind: 'input', index: 0 }, computeType: c.dtype,
  } as LoopSpec;
  // The case must reach the kernel under test, not the JavaScript fallback.
  expect(wasmTransposeApplies(spec, cpuTransposeDims(spec))).toBe(true);
  runLoop(spec, [x], out);
  // Expected: the output's bits, every element written from the input through index arithmetic, the rest untouched.
  const want = new Int32Array(outLength).fill(c.dtype === 'float32' ? new Int32Array(new Float32Array([-7]).buffer)[0]! : -7);
  const planes = c.outer.reduce((n, e) => n * e, 1);
  for (let p = 0; p < planes; p++) {
    let xi = inOffset;
    let oi = outOffset;
    for (let d = c.outer.length - 1, q = p; d >= 0; d--) {
      const i = q % c.outer[d]!;
      q = Math.floor(q / c.outer[d]!);
      xi += i * inL.strides[d]!;
      oi += i * outL.strides[d]!;
    }
    for (let a = 0; a < c.na; a++) for (let b = 0; b < c.nb; b++) want[oi + a * tA + b] = bits[xi + a + b * sB]!;
  }
  return { got: new Int32Array(out.buffer), want };
}

/** The first index where the bits differ, with both values (toEqual on arrays this long is slow). */
function firstDifference(got: Int32Array, want: Int32Array): string | null {
  if (got.length !== want.length) return `length ${got.length} vs ${want.length}`;
  for (let i = 0; i < got.length; i++) if (got[i] !== want[i]) return `at ${i}: ${got[i]} vs ${want[i]}`;
  return null;
}

const caseArb = (na: fc.Arbitrary<number>, nb: fc.Arbitrary<number>): fc.Arbitrary<Case> => fc.record({
  dtype: fc.constantFrom<'float32' | 'int32'>('float32', 'int32'),
  outer: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }),
  na, nb,
  gapIn: fc.integer({ min: 0, max: 5 }), gapOut: fc.integer({ min: 0, max: 5 }),
  flipIn: fc.boolean(), flipOut: fc.boolean(),
  lead: fc.integer({ min: 0, max: 9 }), seed: fc.integer(),
}).filter((c) => c.outer.reduce((n, e) => n * e, c.na * c.nb) >= WASM_TRANSPOSE_MIN_ELEMENTS);

describe('Wasm SIMD transpose', () => {
  it('moves every element of random permutes bit for bit (ragged edges, strided and reversed rows, several planes)', () => {
    fc.assert(fc.property(caseArb(fc.integer({ min: 8, max: 300 }), fc.integer({ min: 8, max: 300 })), (c) => {
      const { got, want } = run(c);
      expect(firstDifference(got, want)).toBe(null);
    }), { numRuns: 60 });
  });

  it('crosses chunk boundaries: more than 1024 rows, more columns than one chunk holds', () => {
    fc.assert(fc.property(caseArb(fc.integer({ min: 8, max: 70 }), fc.integer({ min: 1025, max: 2600 })), (c) => {
      const { got, want } = run(c);
      expect(firstDifference(got, want)).toBe(null);
    }), { numRuns: 12 });
    fc.assert(fc.property(caseArb(fc.integer({ min: 257, max: 700 }), fc.integer({ min: 1000, max: 1100 })), (c) => {
      const { got, want } = run(c);
      expect(firstDifference(got, want)).toBe(null);
    }), { numRuns: 6 });
  });

  it('keeps a NaN payload and negative zero through a public permute', () => {
    const n = 128 * 160;
    const bits = new Int32Array(n).map((_, i) => (i % 3 === 0 ? 0x7fc01234 + i : i % 3 === 1 ? 0x80000000 | 0 : 0x3f800000 + i));
    const x = tensor(new Float32Array(bits.buffer), { shape: [128, 160] });
    const y = x.permute(1, 0).contiguous();
    const got = new Int32Array((y.dataSync() as Float32Array).slice().buffer);
    for (let i = 0; i < 160; i++) for (let j = 0; j < 128; j++) expect(got[i * 128 + j]).toBe(bits[j * 160 + i]);
  });

  it('is named in explain() and its listing is in source(), for a large 4-byte permute only', () => {
    const spec = (dtype: 'float32' | 'float64', n: number): LoopSpec => ({
      kind: 'loop', label: 'ij->ji', sizes: [n, 64], parallel: 2, reduceOp: null,
      inputs: [{ dtype, offset: 0, strides: [1, n] }], output: { dtype, offset: 0, strides: [64, 1] },
      expr: { kind: 'input', index: 0 }, computeType: dtype,
    } as LoopSpec);
    expect(loopKernelKind(spec('float32', 1024))).toBe(', Wasm SIMD 4x4-tile transpose');
    expect(loopSource(spec('float32', 1024))).toMatch(/;; +i8x16\.shuffle/);
    for (const small of [spec('float32', 16), spec('float64', 1024)]) {
      expect(loopKernelKind(small)).toBe(', cache-blocked transpose');
      expect(loopSource(small)).not.toMatch(/shuffle/);
    }
  });

  it('is a module that validates, with its lane shuffles in the listing', () => {
    const { bytes, text } = transposeModule();
    expect(wasmApi?.validate(bytes)).toBe(true);
    expect(text.match(/i8x16\.shuffle/g)).toHaveLength(8);
  });
});
