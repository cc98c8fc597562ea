/**
 * WGSL corners that a fresh mutation sample (seed 20261219) found unobserved, none needing a device:
 * - an op on two literals binds the left one with `let` first (WGSL evaluates literal-only expressions when the
 *   shader is compiled and rejects the shader when that fails: 1.0 / 0.0, log(-1.0), overflow), while a literal
 *   beside a runtime value stays inline;
 * - in a bool kernel a literal constant is 0 or 1, as every bool value there is;
 * - the params struct says what `out_count` counts: output elements, or rows when the kernel folds row values;
 * - and one that does: a device offering 'shader-f16' gets float16 kernels in f16 (the results are the same
 *   either way, by design, so only the kernel's text tells).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebGPUBackend } from '../../kernels/wgsl/index.js';
import { computeMode, Helpers, renderExpr } from '../../kernels/wgsl/expr.js';
import { DEFAULT_LOOP_TUNING, loopKernel } from '../../kernels/wgsl/loop.js';
import { ex, type LoopSpec } from '../../src/lower/spec.js';
import { gpuAvailable, openBackend } from './setup.js';

const load = (i: number): string => `x${i}[at]`;
const render = (e: Parameters<typeof renderExpr>[0], dtype: 'float32' | 'bool') => renderExpr(e, computeMode(dtype), new Helpers(), load);

describe('WGSL expressions with literals', () => {
  it('bind the left literal of an op on two literals, and leave a literal beside a runtime value inline', () => {
    expect(render(ex.binary('div', ex.const(1), ex.const(0)), 'float32')).toEqual({ lines: ['let v0 = 1.0;', 'let v1 = v0 / 0.0;'], result: 'v1' });
    expect(render(ex.binary('add', ex.const(2), ex.input(0)), 'float32')).toEqual({ lines: ['let v0 = x0[at];', 'let v1 = 2.0 + v0;'], result: 'v1' });
  });

  it('are 0 or 1 in a bool kernel', () => {
    expect(render(ex.const(-3), 'bool').result).toBe('1');
    expect(render(ex.const(0.5), 'bool').result).toBe('1');
    expect(render(ex.const(0), 'bool').result).toBe('0');
  });
});

describe("the params struct's out_count", () => {
  const spec = (rows: boolean): LoopSpec => ({
    kind: 'loop', label: 'x - sum_j x', sizes: [3, 70], parallel: 2, reduceOp: null,
    inputs: [{ dtype: 'float32', offset: 0, strides: [70, 1] }],
    output: { dtype: 'float32', offset: 0, strides: [70, 1] }, computeType: 'float32',
    expr: rows ? ex.binary('sub', ex.input(0), ex.input(1)) : ex.input(0),
    ...(rows ? { rows: { outer: 1, values: [{ op: 'sum' as const, expr: ex.input(0) }] } } : {}),
  });
  const countLine = (rows: boolean): string =>
    loopKernel(spec(rows), DEFAULT_LOOP_TUNING, false).render().source.split('\n').find((l) => l.trim().startsWith('out_count:'))!;

  it('counts output elements in a map, rows (invocations) in a kernel with row values', () => {
    expect(countLine(false)).toMatch(/out_count: i32, +\/\/ output elements$/);
    expect(countLine(true)).toMatch(/out_count: i32, +\/\/ rows \(invocations\)$/);
  });
});

describe.skipIf(!gpuAvailable)("a device's 'shader-f16'", () => {
  let backend: WebGPUBackend;
  beforeAll(async () => { backend = await openBackend(); });
  afterAll(() => { backend?.destroy(); });

  it('is used for float16 kernels where the device offers it', () => {
    const half: LoopSpec = {
      kind: 'loop', label: 'x + 1', sizes: [8], parallel: 1, reduceOp: null,
      inputs: [{ dtype: 'float16', offset: 0, strides: [1] }],
      output: { dtype: 'float16', offset: 0, strides: [1] }, computeType: 'float32', expr: ex.binary('add', ex.input(0), ex.const(1)),
    };
    const offered = backend.features.includes('shader-f16');
    expect(backend.f16).toBe(offered);
    expect(backend.kernelSource(half).source.includes('enable f16;')).toBe(offered);
  });
});
