/**
 * CPU backend corners the value tests pass through without looking at: the poison test hook (every element of an
 * `allocate`d buffer reads the poison value while one is set), and the layout of generated source a reader sees:
 * every block's body indented one step (two spaces) deeper than the line that opens it, in the pairwise sum's
 * 8-way body and tail, in the blocked transpose, and the GEMM's JavaScript stores of one row on one line,
 * separated by a space.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createCpuBackend, type CpuStorage } from '../../kernels/cpu/backend.js';
import { gemmSource } from '../../kernels/cpu/gemm.js';
import { renderLoop } from '../../kernels/cpu/loop.js';
import { ex, type GemmSpec } from '../../src/lower/spec.js';
import { buildLoop } from '../../src/lower/loops.js';

const hooks = { allocated() {}, checkUsable() {}, async beforeRead() {} };

describe('the poison hook of the CPU backend', () => {
  const backend = createCpuBackend(hooks);
  afterEach(() => backend.setPoison?.(null));

  it('fills every buffer allocate hands out with the poison while one is set, float and int alike', () => {
    backend.setPoison?.(NaN);
    const f = backend.allocate('float64', 37) as CpuStorage;
    expect(Array.from(f.data as Float64Array).every(Number.isNaN)).toBe(true);
    backend.release(f);
    backend.setPoison?.(-7);
    const i = backend.allocate('int32', 19) as CpuStorage;
    expect(Array.from(i.data as Int32Array)).toEqual(new Array<number>(19).fill(-7));
    backend.release(i);
  });

  it('allocateZeroed is zero under poison', () => {
    backend.setPoison?.(NaN);
    const z = backend.allocateZeroed('float64', 37) as CpuStorage;
    expect(Array.from(z.data as Float64Array)).toEqual(new Array<number>(37).fill(0));
    backend.release(z);
  });
});

/**
 * Checks that each block's first line is indented two spaces deeper than the line opening it, that a closing line
 * is indented as its opener, and that all blocks close.
 */
function expectIndentedBlocks(source: string): void {
  const lines = source.split('\n').filter((l) => l.trim() !== '');
  const open: number[] = [];
  let opener: number | null = null;
  for (const line of lines) {
    const indent = line.length - line.trimStart().length;
    const text = line.trim();
    if (text.startsWith('}')) {
      expect(indent, `closing line "${line}"`).toBe(open.pop());
    } else if (opener !== null) {
      expect(indent, `first line of a block: "${line}"`).toBe(opener + 2);
    }
    opener = null;
    if (text.endsWith('{')) {
      open.push(indent);
      opener = indent;
    }
  }
  expect(open).toEqual([]);
}

describe('generated CPU source: block bodies indented one step', () => {
  it('the pairwise sum (8-way body and its tail) over two reduce loops', () => {
    const spec = buildLoop({
      label: 'sum', outShape: [3], reduceShape: [5, 40], reduceOp: 'sum',
      inputs: [{ dtype: 'float64', offset: 0, strides: [1, 3, 15] }],
      output: { dtype: 'float64', offset: 0, strides: [1] }, expr: ex.input(0), computeType: 'float64',
    });
    const source = renderLoop(spec);
    // The 8-way body: eight blocks, each a value and its add, one step inside the for loop.
    expect(source).toMatch(/\n( *)for \(; i \+ 8 <= bn; i \+= 8\) \{\n\1  \{\n/);
    expect(source).toMatch(/\n( *)for \(; i < bn; i\+\+\) \{\n\1  \{\n/);
    expectIndentedBlocks(source);
  });

  it('the cache-blocked transpose', () => {
    const spec = buildLoop({
      label: 'ij->ji', outShape: [32, 64], inputs: [{ dtype: 'float64', offset: 0, strides: [1, 32] }],
      output: { dtype: 'float64', offset: 0, strides: [64, 1] }, expr: ex.input(0), computeType: 'float64',
    });
    const source = renderLoop(spec);
    expect(source).toMatch(/blocked transpose/);
    expectIndentedBlocks(source);
    // With a batch loop walked around the blocks: [3, 32, 64] <- [3, 64, 32].
    const batched = buildLoop({
      label: 'bij->bji', outShape: [3, 32, 64], inputs: [{ dtype: 'float64', offset: 0, strides: [2048, 1, 32] }],
      output: { dtype: 'float64', offset: 0, strides: [2048, 64, 1] }, expr: ex.input(0), computeType: 'float64',
    });
    expect(batched.sizes).toEqual([3, 32, 64]);
    const withBatch = renderLoop(batched);
    expect(withBatch).toMatch(/blocked transpose, 3 loops/);
    // The block loops sit one step inside the batch loop, and every block closes at its opener's indentation.
    // (The per-batch line computing s1..t3 is written at column 0, so the first-line rule is not checked here.)
    const lines = withBatch.split('\n');
    expect(lines.find((l) => l.trimStart().startsWith('for (let i0 = 0'))).toMatch(/^for /);
    expect(lines.find((l) => l.trimStart().startsWith('for (let a0 = 0'))).toMatch(/^  for \(let a0 = 0; a0 < n1; a0 \+= \d+\) \{$/);
    expect(lines.find((l) => l.trimStart().startsWith('for (let b0 = 0'))).toMatch(/^    for /);
    const open: number[] = [];
    for (const line of lines) {
      const indent = line.length - line.trimStart().length;
      if (line.trim().startsWith('}')) expect(indent, `closing line "${line}"`).toBe(open.pop());
      if (line.trim().endsWith('{')) open.push(indent);
    }
    expect(open).toEqual([]);
  });
});

describe("the GEMM's JavaScript macro-kernel", () => {
  it("stores a row of C's register tile on one line, statement after statement separated by one space", () => {
    const gemm: GemmSpec = {
      kind: 'gemm', label: 'ik,kj->ij', dtype: 'float64', batch: [], m: 48, n: 40, k: 36,
      a: { offset: 0, batchStrides: [], rowStride: 36, colStride: 1 },
      b: { offset: 0, batchStrides: [], rowStride: 40, colStride: 1 },
      c: { offset: 0, batchStrides: [], rowStride: 40, colStride: 1 },
    };
    const lines = gemmSource(gemm).split('\n');
    const first = lines.find((l) => l.trimStart().startsWith('M[ci + 0 * ldc + 0] = c0_0;'));
    expect(first).toBeDefined();
    const stores = first!.trim().split('; ');
    expect(stores.length).toBeGreaterThan(1);
    stores.forEach((s, j) => expect(s.replace(/;$/, '')).toBe(`M[ci + 0 * ldc + ${j}] = c0_${j}`));
    const add = lines.find((l) => l.trimStart().startsWith('M[ci + 0 * ldc + 0] += c0_0;'));
    expect(add?.trim()).toBe(stores.map((_, j) => `M[ci + 0 * ldc + ${j}] += c0_${j};`).join(' '));
  });
});
