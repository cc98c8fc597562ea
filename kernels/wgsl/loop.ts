/**
 * LoopSpec → WGSL. Three shapes of kernel:
 *
 * - 'thread': one invocation per output element; the invocation walks the reduce loops (if any) itself.
 * - 'workgroup': one workgroup per output element; its invocations stride over the flattened reduce loops and
 *   combine their partial results with a tree reduction in workgroup memory. Chosen when the reduction is long
 *   and the outputs are few (see `loopVariant`).
 * - 'transpose32'/'transpose64': a copy or cast of one input whose contiguous loop differs from the output's,
 *   moved through workgroup memory in 32×32 or 64×64 tiles so that both reads and writes are coalesced
 *   (transpose.ts).
 *
 * Sizes, strides, offsets, counts and the expression's constants are fields of the params uniform, so one
 * pipeline serves every shape and every constant.
 *
 * float32 sums are blocked: each invocation's reduce loop (the innermost one in the thread variant) runs in
 * blocks of SUM_BLOCK points summed into a fresh accumulator, as plain as the unblocked loop; each block sum
 * goes into a second level, which every SUM_BLOCK blocks goes into a third, which every SUM_BLOCK² blocks goes
 * into a fourth. No accumulator but the last adds more than SUM_BLOCK terms (the workgroup variant then adds
 * 256 partial sums as a tree). docs/wgsl.md states the error bound.
 */

import type { Access, LoopSpec, ReduceOp } from '../../src/lower/spec.js';
import { exprConstants, loopConstants, specKey } from '../../src/lower/spec.js';
import { EinjitError } from '../../src/errors.js';
import { ParamsLayout } from './params.js';
import type { KernelVariant, RenderedKernel } from './kernel.js';
import type { GpuDType } from './dtypes.js';
import { Helpers, computeMode, constantParam, constantRead, literal, renderExpr, truthy } from './expr.js';
import type { ComputeMode, ComputeType } from './expr.js';
import { bindingDecl, foldGrid, hash8, loadAs, storeAs } from './common.js';
import { gpuDType, storageType } from './dtypes.js';
import { renderTranspose, transposeDims, transposeGrid, transposeParamValues } from './transpose.js';
import { copy4Grid, copy4ParamValues, isVec4Copy, renderCopy4 } from './copy.js';
import type { TransposeTile } from './transpose.js';

export type LoopVariant = 'thread' | 'workgroup' | 'transpose32' | 'transpose64' | 'copy4';

/** Invocations per workgroup in both variants. */
const LOOP_WORKGROUP_SIZE = 256;

/** Terms each level of a float32 sum's blocked accumulation adds before it is flushed to the next. */
const SUM_BLOCK = 32;

export interface LoopTuning {
  /** Reduce extents at least this long, with fewer than `workgroupReduceMaxOutputs` outputs, use one workgroup per output. */
  workgroupReduceMin: number;
  workgroupReduceMaxOutputs: number;
  /** Tile edge of the transpose kernel for transposing copies; 0 keeps them on the 'thread' kernel. */
  transposeTile: 0 | TransposeTile;
  /** Both tiled loops must be at least this long for the transpose kernel (shorter ones waste most lanes). */
  transposeMinExtent: number;
  /** Plain contiguous copies move 16 bytes per invocation (copy.ts); false keeps them on the 'thread' kernel. */
  vec4Copy: boolean;
}

export const DEFAULT_LOOP_TUNING: LoopTuning = {
  workgroupReduceMin: 512, workgroupReduceMaxOutputs: 32768, transposeTile: 32, transposeMinExtent: 16, vec4Copy: true,
};

/** The tile edge of a transpose variant, or null for the other variants. */
function transposeTileOf(variant: LoopVariant): TransposeTile | null {
  return variant === 'transpose32' ? 32 : variant === 'transpose64' ? 64 : null;
}

export interface LoopCounts {
  /** Output elements (product of the parallel sizes). */
  readonly outputs: number;
  /** Points folded into each output (product of the reduce sizes; 1 for a map). */
  readonly reduced: number;
}

export function loopCounts(spec: LoopSpec): LoopCounts {
  const prod = (xs: readonly number[]): number => xs.reduce((a, b) => a * b, 1);
  return { outputs: prod(spec.sizes.slice(0, spec.parallel)), reduced: prod(spec.sizes.slice(spec.parallel)) };
}

/**
 * Invocations of the thread nest: one per output element, or with row values (LoopSpec.rows) one per row, which
 * computes the row's values and then every output element of the row.
 */
function threadCount(spec: LoopSpec): number {
  return spec.sizes.slice(0, spec.rows?.outer ?? spec.parallel).reduce((a, b) => a * b, 1);
}

/**
 * Where the plain one-invocation-per-element copy beats the tiled transpose. Measured on an H100 (2026-11-23,
 * docs/wgsl.md): the tile wins 1.2-3.2x on five of six permutes, but when the output's contiguous extent is
 * small (≤ 64) and the input's is long (≥ 16384), neighbouring invocations of the plain copy reuse the same few
 * cache sectors and it ran 1.8x faster (1212 against 668 GB/s on 16x64x256x256).
 */
function threadCopyWins(spec: LoopSpec, dims: { readonly a: number; readonly b: number }): boolean {
  return spec.sizes[dims.b]! <= 64 && spec.sizes[dims.a]! >= 16384;
}

export function loopVariant(spec: LoopSpec, tuning: LoopTuning): LoopVariant {
  // Further stores into inputs (LoopSpec.also) and row values (LoopSpec.rows) are rendered by the thread nest only.
  if ((spec.also?.length ?? 0) > 0 || spec.rows !== undefined) return 'thread';
  if (spec.parallel === spec.sizes.length) {
    if (tuning.vec4Copy && isVec4Copy(spec)) return 'copy4';
    const tile = tuning.transposeTile;
    const dims = tile !== 0 ? transposeDims(spec, tuning.transposeMinExtent) : null;
    if (tile !== 0 && dims !== null && !threadCopyWins(spec, dims)) return `transpose${tile}`;
    return 'thread';
  }
  const { outputs, reduced } = loopCounts(spec);
  return reduced >= tuning.workgroupReduceMin && outputs < tuning.workgroupReduceMaxOutputs ? 'workgroup' : 'thread';
}

/** The pipeline cache key: the spec key, the variant and, when the spec touches float16, how float16 is stored. */
function loopKernelKey(spec: LoopSpec, variant: LoopVariant, f16: boolean): string {
  const half = [...spec.inputs, spec.output].some((a) => a.dtype === 'float16') || spec.computeType === 'float16';
  // A transpose bakes in which loops it tiles (chosen from the strides).
  const dims = transposeTileOf(variant) !== null ? transposeDims(spec) : null;
  const tiled = dims !== null ? `:${dims.a},${dims.b}` : '';
  return `${specKey(spec)}|${variant}${tiled}${half ? (f16 ? '|f16' : '|f16-as-f32') : ''}`;
}

/**
 * The kernel for `spec` in the variant `loopVariant` chooses (or the one given, for tests that pin it).
 * `transposeGridCap` caps a transpose's grid (its workgroups then loop over the tiles); 0 leaves it whole.
 */
export function loopKernel(
  spec: LoopSpec, tuning: LoopTuning, f16: boolean, transposeGridCap = 0, variant: LoopVariant = loopVariant(spec, tuning),
  inPlace: readonly number[] = [],
): KernelVariant {
  // Inputs that are the output itself, read where it is written (an in-place map): the thread nest reads them from
  // the output binding.
  if (inPlace.length > 0) variant = 'thread';
  const key = loopKernelKey(spec, variant, f16) + (inPlace.length > 0 ? `|in-place:${inPlace.join(',')}` : '');
  const kind = spec.parallel < spec.sizes.length ? `reduce_${spec.reduceOp ?? 'sum'}`
    : variant === 'transpose32' || variant === 'transpose64' ? 'transpose' : variant === 'copy4' ? 'copy' : 'map';
  const name = `${kind}_${hash8(key)}`;
  const base = { key, name, empty: loopCounts(spec).outputs === 0, splitK: 1 };
  switch (variant) {
    case 'transpose32':
    case 'transpose64': {
      const tile = variant === 'transpose32' ? 32 : 64;
      return {
        ...base,
        render: () => renderTranspose(spec, tile, f16, name),
        params: () => transposeParamValues(spec, tile),
        grid: () => transposeGrid(spec, tile, name, transposeGridCap),
      };
    }
    case 'copy4':
      return { ...base, render: () => renderCopy4(spec, name), params: () => copy4ParamValues(spec), grid: () => copy4Grid(spec, name) };
    case 'thread':
    case 'workgroup':
      return {
        ...base,
        render: () => renderNest(spec, variant, f16, name, inPlace),
        params: () => nestParamValues(spec, variant),
        grid: () => foldGrid(variant === 'workgroup' ? loopCounts(spec).outputs : Math.ceil(threadCount(spec) / LOOP_WORKGROUP_SIZE), name),
      };
  }
}

interface ReduceCode {
  readonly accType: ComputeType;
  readonly init: string[];
  /** Folds value `v` (at flat reduce index `r`) into the accumulator. */
  readonly fold: (v: string, r: string) => string[];
  /** Statements run after the last fold, before `result` is read. */
  readonly finish?: string[];
  /**
   * Blocked: the innermost reduce loop runs in blocks of SUM_BLOCK points; `blockInit` starts each block and
   * `blockEnd` follows it.
   */
  readonly blockInit?: string[];
  readonly blockEnd?: string[];
  /** The final value (of accType) to store. */
  readonly result: string;
}

/**
 * A float32 sum in four levels: `acc` adds the up to SUM_BLOCK points of one block, `acc_mid` up to SUM_BLOCK
 * block sums, `acc_hi` up to SUM_BLOCK of those, `acc_top` the rest; a block counter says when to flush.
 */
function blockedSum(): ReduceCode {
  const B = SUM_BLOCK;
  return {
    accType: 'f32',
    init: [`var acc_mid = 0.0; // blocked sum: blocks of ${B} points; acc_mid and acc_hi each add up to ${B} terms`,
      'var acc_hi = 0.0;', 'var acc_top = 0.0;', 'var blocks = 0u;'],
    blockInit: ['var acc = 0.0;'],
    fold: (v) => [`acc = acc + ${v};`],
    blockEnd: [
      'acc_mid = acc_mid + acc;',
      'blocks = blocks + 1u;',
      `if ((blocks & ${B - 1}u) == 0u) {`,
      '  acc_hi = acc_hi + acc_mid;',
      '  acc_mid = 0.0;',
      `  if ((blocks & ${B * B - 1}u) == 0u) {`,
      '    acc_top = acc_top + acc_hi;',
      '    acc_hi = 0.0;',
      '  }',
      '}',
    ],
    finish: ['let total = (acc_mid + acc_hi) + acc_top;'],
    result: 'total',
  };
}

function reduceCode(op: ReduceOp, mode: ComputeMode, helpers: Helpers): ReduceCode {
  const T = mode.type;
  if (op === 'sum' && T === 'f32') return blockedSum();
  const lit = (x: number): string => literal(x, T, helpers);
  const lowest = T === 'f32' ? lit(-Infinity) : 'i32(-2147483647 - 1)';
  const highest = T === 'f32' ? lit(Infinity) : '2147483647';
  switch (op) {
    // bool compute: a sum is 'any', a product 'all' (results stay 0/1).
    case 'sum': return { accType: T, init: [`var acc = ${lit(0)};`], fold: (v) => [`acc = ${asBool(mode, `acc + ${v}`)};`], result: 'acc' };
    case 'prod': return { accType: T, init: [`var acc = ${lit(1)};`], fold: (v) => [`acc = ${asBool(mode, `acc * ${v}`)};`], result: 'acc' };
    case 'max':
    case 'min': {
      const fn = T === 'f32' ? (helpers.use('max_nan'), `${op}_nan`) : op;
      return { accType: T, init: [`var acc = ${op === 'max' ? lowest : highest};`], fold: (v) => [`acc = ${fn}(acc, ${v});`], result: 'acc' };
    }
    case 'any':
    case 'all': {
      const fn = op === 'any' ? 'max' : 'min';
      return {
        accType: T, init: [`var acc = ${lit(op === 'any' ? 0 : 1)};`],
        fold: (v) => [`acc = ${fn}(acc, ${T}(${truthy(v, T)}));`], result: 'acc',
      };
    }
    case 'argmax':
    case 'argmin': {
      if (T === 'f32') helpers.use('is_nan');
      return {
        accType: 'i32',
        init: [`var best = ${op === 'argmax' ? lowest : highest};`, 'var best_index = 2147483647;'],
        fold: (v, r) => [`if (${op}_wins(${v}, ${r}, best, best_index)) { best = ${v}; best_index = ${r}; }`],
        result: 'best_index',
      };
    }
  }
}

function asBool(mode: ComputeMode, x: string): string {
  return mode.asBool ? `i32(${x} != 0)` : x;
}

/** `argmax_wins`/`argmin_wins`: PyTorch's rule: NaN beats numbers, ties go to the smaller index. */
function argWinsFn(op: 'argmax' | 'argmin', T: ComputeType): string {
  const cmp = op === 'argmax' ? '>' : '<';
  const nanCase = T === 'f32'
    ? ['  let v_nan = is_nan(v);', '  let best_nan = is_nan(best);', '  if (v_nan != best_nan) { return v_nan; }', '  if (v_nan || v == best) { return r < best_r; }']
    : ['  if (v == best) { return r < best_r; }'];
  return [`fn ${op}_wins(v: ${T}, r: i32, best: ${T}, best_r: i32) -> bool {`, ...nanCase, `  return v ${cmp} best;`, '}', ''].join('\n');
}

type NestVariant = 'thread' | 'workgroup';

/** Indents WGSL lines by `depth` levels. */
function ind(lines: readonly string[], depth: number): string[] {
  return lines.map((l) => '  '.repeat(depth) + l);
}

/**
 * What the thread and workgroup loop nests share: the params fields, the coordinates of a flat index, the
 * addresses and the expression. Built once by `nest`, read by the two reduction emitters.
 */
interface Nest {
  readonly spec: LoopSpec;
  readonly name: string;
  readonly f16: boolean;
  readonly mode: ComputeMode;
  readonly helpers: Helpers;
  readonly params: ParamsLayout;
  readonly inDTypes: readonly GpuDType[];
  readonly outDType: GpuDType;
  /** The params field of each loop's extent. */
  readonly size: readonly string[];
  readonly outCount: string;
  /** The workgroup variant's count of points per output ('' in the thread variant). */
  readonly reduceCount: string;
  readonly parallelDims: readonly number[];
  readonly reduceDims: readonly number[];
  /** The inputs the expression reads, in order. */
  readonly usedInputs: readonly number[];
  /** The expression's result (a WGSL expression of the compute type). */
  readonly value: string;
  /** The output element's address, from the parallel coordinates. */
  readonly outAt: string;
  readonly body: string[];
  /** The loop variable of dim d: p<d> for parallel loops, r<d> for reduce loops. */
  loopVar(d: number): string;
  /** Declares the loop variables of `dims` from the flat index `linear` (row-major), into the body. */
  emitCoords(linear: string, dims: readonly number[], depth: number, rest: string): void;
  /** Input i's address from its offset and the parallel coordinates. */
  inBase(i: number): string;
  /** The addresses of the inputs read (adding the reduce coordinates to `bases`) and the expression's lines. */
  valueLines(depth: number, bases: (i: number) => string): string[];
  /** A map's further stores (LoopSpec.also): their expressions' lines, then the stores, after valueLines. */
  alsoLines(depth: number): string[];
  /** The row values (LoopSpec.rows), each folded over the loops from `outer` into `row<j>`, at depth 1. */
  rowLines(): string[];
}

function nest(spec: LoopSpec, variant: NestVariant, f16: boolean, name: string, inPlace: readonly number[]): Nest {
  const mode = computeMode(gpuDType(spec.computeType, name));
  const T = mode.type;
  const helpers = new Helpers();
  const params = new ParamsLayout();
  const rank = spec.sizes.length;
  const reducing = spec.parallel < rank;
  const inDTypes = spec.inputs.map((a) => gpuDType(a.dtype, name));
  const outDType = gpuDType(spec.output.dtype, name);

  const size = spec.sizes.map((_, d) => params.field(`size${d}`, d < spec.parallel ? 'parallel loop' : 'reduce loop'));
  const inOffset: string[] = [];
  const inStride: string[][] = [];
  spec.inputs.forEach((_, i) => {
    inOffset.push(params.field(`in${i}_offset`));
    inStride.push(spec.sizes.map((__, d) => params.field(`in${i}_stride${d}`)));
  });
  const outOffset = params.field('out_offset');
  const outStride = spec.sizes.slice(0, spec.parallel).map((_, d) => params.field(`out_stride${d}`));
  const outCount = params.field('out_count', spec.rows === undefined ? 'output elements' : 'rows (invocations)');
  const reduceCount = variant === 'workgroup' ? params.field('reduce_count', 'points reduced into each output') : '';

  const body: string[] = [];
  const loopVar = (d: number): string => (d < spec.parallel ? `p${d}` : `r${d}`);
  const emitCoords = (linear: string, dims: readonly number[], depth: number, rest: string): void => {
    // Row-major: the last dim varies fastest.
    if (dims.length === 1) { body.push(...ind([`let ${loopVar(dims[0]!)} = ${linear};`], depth)); return; }
    body.push(...ind([`var ${rest} = ${linear};`], depth));
    for (let j = dims.length - 1; j >= 1; j--) {
      const d = dims[j]!;
      body.push(...ind([`let ${loopVar(d)} = ${rest} % ${size[d]}; ${rest} = ${rest} / ${size[d]};`], depth));
    }
    body.push(...ind([`let ${loopVar(dims[0]!)} = ${rest};`], depth));
  };
  const parallelDims = Array.from({ length: spec.parallel }, (_, d) => d);
  const reduceDims = Array.from({ length: rank - spec.parallel }, (_, j) => spec.parallel + j);
  const dot = (base: string, strides: string[], dims: number[]): string =>
    [base, ...dims.map((d) => `${loopVar(d)} * ${strides[d]}`)].join(' + ');

  // bool compute holds 0/1: an int32 or float operand is normalised as it is loaded.
  const from = (i: number): string => (inPlace.includes(i) ? 'out' : `in${i}`);
  const nIn = spec.inputs.length;
  const rows = spec.rows?.values ?? [];
  // Inputs from nIn on are the row values, held in `row<j>`.
  const load = (i: number): string => (i >= nIn ? `row${i - nIn}`
    : mode.asBool && inDTypes[i] !== 'bool' ? `i32(${from(i)}[in${i}_at] != 0)` : loadAs(`${from(i)}[in${i}_at]`, inDTypes[i]!, f16, T));
  const used = new Set<number>();
  collectInputs(spec.expr, used);
  for (const st of spec.also ?? []) {
    used.add(st.input);
    collectInputs(st.expr, used);
  }
  const check = (set: ReadonlySet<number>, limit: number): void => {
    for (const i of set) {
      if (i >= limit) throw new EinjitError(`expression reads input ${i} but the spec has ${nIn}${rows.length > 0 ? ` and ${rows.length} row values` : ''}`, { op: name });
    }
  };
  check(used, nIn + rows.length);
  const usedInputs = [...used].filter((i) => i < nIn).sort((a, b) => a - b);
  if (rows.length > 0 && (spec.also !== undefined || (T !== 'f32' && T !== 'i32') || mode.roundF16)) {
    throw new EinjitError('row values are rendered for float32 and int32 kernels without further stores', { op: name });
  }
  const constantField = (k: number): string =>
    constantRead(params.field(`c${k}`, `constant ${k}${T === 'f32' ? ' (f32 bits)' : ''}`), T);
  const exprCode = renderExpr(spec.expr, mode, helpers, load, 'v', constantField);
  // The further stores' expressions number their constants after the main expression's, as loopConstants lists them.
  let base = exprConstants(spec.expr).length;
  const alsoCode = (spec.also ?? []).map((st, j) => {
    const first = base;
    base += exprConstants(st.expr).length;
    return { input: st.input, code: renderExpr(st.expr, mode, helpers, load, `w${j}_`, (k) => constantField(first + k)) };
  });
  // The row values' expressions number their constants after `also`'s (loopConstants' order).
  const rowCode = rows.map((r, j) => {
    const first = base;
    base += exprConstants(r.expr).length;
    const reads = new Set<number>();
    collectInputs(r.expr, reads);
    check(reads, nIn + j);
    if (r.store !== undefined && (r.store >= nIn || used.has(r.store) || reads.has(r.store))) {
      throw new EinjitError(`row value ${j} is stored into input ${r.store}, which is not an input no expression reads`, { op: name });
    }
    return { op: r.op, store: r.store, reads: [...reads].filter((i) => i < nIn).sort((a, b) => a - b),
      code: renderExpr(r.expr, mode, helpers, load, `q${j}_`, (k) => constantField(first + k)) };
  });
  const allDims = spec.sizes.map((_, d) => d);
  const rowLines = (): string[] => {
    const outer = spec.rows?.outer ?? spec.parallel;
    const dims = allDims.slice(outer);
    const lines: string[] = [];
    rowCode.forEach((r, j) => {
      const rc = reduceCode(r.op, mode, helpers);
      lines.push(`var row${j}: ${T}; // ${r.op} over loops ${outer}..${rank - 1}`, '{', ...ind(rc.init, 1));
      const blocked = rc.blockInit !== undefined;
      let depth = 1;
      dims.forEach((d, k) => {
        const v = loopVar(d);
        if (blocked && k === dims.length - 1) {
          lines.push(...ind([`for (var ${v}_block = 0; ${v}_block < ${size[d]}; ${v}_block += ${SUM_BLOCK}) {`,
            `  let ${v}_end = min(${v}_block + ${SUM_BLOCK}, ${size[d]});`], depth));
          lines.push(...ind(rc.blockInit!, depth + 1));
          lines.push(...ind([`  for (var ${v} = ${v}_block; ${v} < ${v}_end; ${v}++) {`], depth));
          depth += 2;
        } else {
          lines.push(...ind([`for (var ${v} = 0; ${v} < ${size[d]}; ${v}++) {`], depth++));
        }
      });
      // A row of one point (every row loop of extent 1) is one block of its own.
      const single = blocked && dims.length === 0;
      if (single) lines.push(...ind(rc.blockInit!, depth));
      lines.push(...ind([...r.reads.map((i) => `let in${i}_at = ${dot(inOffset[i]!, inStride[i]!, allDims)};`), ...r.code.lines], depth));
      lines.push(...ind(rc.fold(r.code.result, ''), depth));
      if (single) lines.push(...ind(rc.blockEnd ?? [], depth));
      for (let k = dims.length - 1; k >= 0; k--) {
        if (blocked && k === dims.length - 1) {
          lines.push(...ind(['}'], --depth));
          lines.push(...ind(rc.blockEnd ?? [], depth));
        }
        lines.push(...ind(['}'], --depth));
      }
      lines.push(...ind([...(rc.finish ?? []), `row${j} = ${rc.result};`], 1));
      // RowValue.store: once per row (one invocation each), where the row's first point reads that input.
      if (r.store !== undefined) {
        const k = r.store;
        lines.push(...ind([`in${k}[${dot(inOffset[k]!, inStride[k]!, allDims.slice(0, outer))}] = ${storeAs(`row${j}`, T, inDTypes[k]!, f16)};`], 1));
      }
      lines.push('}');
    });
    return ind(lines, 1);
  };
  const inputAddress = (i: number, base: string): string =>
    `let in${i}_at = ${reducing ? dot(base, inStride[i]!, reduceDims) : base};`;
  if (outDType === 'float16' && !f16) helpers.use('round_f16');
  return {
    spec, name, f16, mode, helpers, params, inDTypes, outDType, size, outCount, reduceCount, parallelDims, reduceDims,
    usedInputs, value: exprCode.result, outAt: dot(outOffset, outStride, parallelDims), body, loopVar, emitCoords,
    inBase: (i) => dot(inOffset[i]!, inStride[i]!, parallelDims),
    valueLines: (depth, bases) => ind([...usedInputs.map((i) => inputAddress(i, bases(i))), ...exprCode.lines], depth),
    rowLines,
    alsoLines: (depth) => ind([
      ...alsoCode.flatMap((a) => a.code.lines),
      ...alsoCode.map((a) => `in${a.input}[in${a.input}_at] = ${storeAs(a.code.result, T, inDTypes[a.input]!, f16)};`),
    ], depth),
  };
}

/** Renders the complete WGSL module of a 'thread' or 'workgroup' loop nest. */
function renderNest(spec: LoopSpec, variant: NestVariant, f16: boolean, name: string, inPlace: readonly number[] = []): RenderedKernel {
  const n = nest(spec, variant, f16, name, inPlace);
  const { mode, body, params, inDTypes, outDType } = n;
  const T = mode.type;
  const rank = spec.sizes.length;
  const reducing = spec.parallel < rank;
  const op: ReduceOp | null = reducing ? (spec.reduceOp ?? null) : null;
  if (reducing && op === null) throw new EinjitError('a loop spec with reduce loops needs a reduceOp', { op: name });

  const written = new Set([...(spec.also ?? []).map((st) => st.input),
    ...(spec.rows?.values ?? []).flatMap((r) => (r.store === undefined ? [] : [r.store]))]);
  const bindings = spec.inputs.map((_, i) => (inPlace.includes(i)
    ? `// binding ${i}: input ${i} is the output, read from it where it is written (the launch binds a placeholder here)`
    : written.has(i)
      ? bindingDecl(i, `in${i}`, 'read_write', storageType(inDTypes[i]!, f16), `input ${i}, ${inDTypes[i]}, also written`)
      : bindingDecl(i, `in${i}`, 'read', storageType(inDTypes[i]!, f16), `input ${i}, ${inDTypes[i]}`)));
  bindings.push(bindingDecl(spec.inputs.length, 'out', 'read_write', storageType(outDType, f16), `output, ${outDType}`));

  const header = [
    `// einjit loop kernel ${name}: ${spec.label}`,
    `// ${rank} loop${rank === 1 ? '' : 's'} (${spec.parallel} parallel${reducing ? `, ${rank - spec.parallel} reduced by ${op}` : ''}); ` +
      `inputs ${inDTypes.join(', ') || 'none'} -> ${outDType}; computed in ${T}${mode.roundF16 ? ' rounded to float16' : ''}.`,
    variant === 'thread'
      ? `// One invocation per output element, ${LOOP_WORKGROUP_SIZE} per workgroup; the grid is folded into (x, y).`
      : `// One workgroup of ${LOOP_WORKGROUP_SIZE} per output element: strided partial ${op}s, then a tree reduction.`,
  ];
  const builtins = '@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32';

  let extraDecls = '';
  if (variant === 'thread') {
    body.push(`  let index = i32((wid.y * nwg.x + wid.x) * ${LOOP_WORKGROUP_SIZE}u + lid);`);
    body.push(`  if (index >= ${n.outCount}) { return; }`);
  } else {
    body.push('  let index = i32(wid.y * nwg.x + wid.x); // this workgroup\'s output element');
    body.push(`  if (index >= ${n.outCount}) { return; }`);
  }
  const outer = spec.rows?.outer ?? spec.parallel;
  if (outer > 0) {
    body.push(spec.rows === undefined ? '  // output coordinates' : '  // the row\'s coordinates');
    n.emitCoords('index', n.parallelDims.slice(0, outer), 1, 'rest');
  }
  if (spec.rows !== undefined) {
    body.push(...n.rowLines());
    if (!reducing) {
      // Every output element of the row, with its values.
      for (let d = outer; d < spec.parallel; d++) body.push(`${'  '.repeat(d - outer + 1)}for (var ${n.loopVar(d)} = 0; ${n.loopVar(d)} < ${n.size[d]}; ${n.loopVar(d)}++) {`);
      const depth = spec.parallel - outer + 1;
      body.push(...n.valueLines(depth, n.inBase));
      body.push(`${'  '.repeat(depth)}out[${n.outAt}] = ${storeAs(n.value, T, outDType, f16)};`);
      for (let d = spec.parallel - 1; d >= outer; d--) body.push(`${'  '.repeat(d - outer + 1)}}`);
    }
  }
  if (!reducing) {
    if (spec.rows === undefined) {
      body.push(...n.valueLines(1, n.inBase));
      body.push(...n.alsoLines(1));
      body.push(`  out[${n.outAt}] = ${storeAs(n.value, T, outDType, f16)};`);
    }
  } else {
    const rc = reduceCode(op!, mode, n.helpers);
    if (op === 'argmax' || op === 'argmin') extraDecls += argWinsFn(op, T);
    for (const i of n.usedInputs) body.push(`  let in${i}_base = ${n.inBase(i)};`);
    body.push(...ind(rc.init, 1));
    if (variant === 'thread') threadReduction(n, op!, rc);
    else extraDecls += workgroupReduction(n, op!, rc);
  }

  const usesF16 = f16 && (inDTypes.includes('float16') || outDType === 'float16');
  const source = [
    ...header,
    '',
    ...(usesF16 ? ['enable f16;', ''] : []),
    ...bindings,
    params.render(spec.inputs.length + 1),
    '',
    ...(n.helpers.render() ? [n.helpers.render()] : []),
    ...(extraDecls ? [extraDecls] : []),
    `@compute @workgroup_size(${LOOP_WORKGROUP_SIZE})`,
    `fn main(${builtins}) {`,
    ...body,
    '}',
    '',
  ].join('\n');
  return { name, source, params, storageBindings: spec.inputs.length + 1, writable: [...written, spec.inputs.length] };
}

const inBaseName = (i: number): string => `in${i}_base`;

/** One invocation walks every reduce loop of its output (the innermost one in blocks for a float32 sum). */
function threadReduction(n: Nest, op: ReduceOp, rc: ReduceCode): void {
  const { body, reduceDims, size } = n;
  const isArg = op === 'argmax' || op === 'argmin';
  if (isArg) body.push('  var r = 0; // row-major index over the reduce loops');
  const blocked = rc.blockInit !== undefined;
  const last = reduceDims.length - 1;
  reduceDims.forEach((d, j) => {
    const at = '  '.repeat(j + 1);
    const r = n.loopVar(d);
    if (blocked && j === last) {
      body.push(`${at}for (var ${r}_block = 0; ${r}_block < ${size[d]}; ${r}_block += ${SUM_BLOCK}) {`);
      body.push(`${at}  let ${r}_end = min(${r}_block + ${SUM_BLOCK}, ${size[d]});`);
      body.push(...ind(rc.blockInit!, j + 2));
      body.push(`${at}  for (var ${r} = ${r}_block; ${r} < ${r}_end; ${r}++) {`);
    } else {
      body.push(`${at}for (var ${r} = 0; ${r} < ${size[d]}; ${r}++) {`);
    }
  });
  const depth = reduceDims.length + 1 + (blocked ? 1 : 0);
  body.push(...n.valueLines(depth, inBaseName));
  body.push(...ind(rc.fold(n.value, 'r'), depth));
  if (isArg) body.push(`${'  '.repeat(depth)}r++;`);
  for (let j = reduceDims.length - 1; j >= 0; j--) {
    if (blocked && j === last) {
      body.push(`${'  '.repeat(j + 2)}}`);
      body.push(...ind(rc.blockEnd ?? [], j + 2));
    }
    body.push(`${'  '.repeat(j + 1)}}`);
  }
  body.push(...ind(rc.finish ?? [], 1));
  body.push(`  out[${n.outAt}] = ${storeAs(rc.result, rc.accType, n.outDType, n.f16)};`);
}

/**
 * A workgroup per output: its invocations stride over the flat reduce index, then combine their partial results
 * in workgroup memory as a tree. Returns the workgroup-memory declarations.
 */
function workgroupReduction(n: Nest, op: ReduceOp, rc: ReduceCode): string {
  const { body, reduceCount } = n;
  const T = n.mode.type;
  const isArg = op === 'argmax' || op === 'argmin';
  const W = LOOP_WORKGROUP_SIZE;
  // The body of the strided loop over the flat reduce index r, at `depth`.
  const point = (depth: number): void => {
    body.push(`${'  '.repeat(depth)}// reduce coordinates of the flat index r`);
    n.emitCoords('r', n.reduceDims, depth, 'rest_r');
    body.push(...n.valueLines(depth, inBaseName));
    body.push(...ind(rc.fold(n.value, 'r'), depth));
  };
  if (rc.blockInit !== undefined) {
    // Blocks of SUM_BLOCK of this invocation's points (every W-th point of the flat reduce index).
    body.push(`  for (var r_block = i32(lid); r_block < ${reduceCount}; r_block += ${W * SUM_BLOCK}) {`);
    body.push(`    let r_end = min(r_block + ${W * SUM_BLOCK}, ${reduceCount});`);
    body.push(...ind(rc.blockInit, 2));
    body.push(`    for (var r = r_block; r < r_end; r += ${W}) {`);
    point(3);
    body.push('    }');
    body.push(...ind(rc.blockEnd ?? [], 2));
    body.push('  }');
  } else {
    body.push(`  for (var r = i32(lid); r < ${reduceCount}; r += ${W}) {`);
    point(2);
    body.push('  }');
  }
  body.push(...ind(rc.finish ?? [], 1));
  let decls = `var<workgroup> partial: array<${T}, ${W}>;\n`;
  if (isArg) decls += `var<workgroup> partial_index: array<i32, ${W}>;\n`;
  body.push(isArg ? '  partial[lid] = best;\n  partial_index[lid] = best_index;' : `  partial[lid] = ${rc.result};`);
  body.push('  workgroupBarrier();');
  body.push(`  for (var stride = ${W / 2}u; stride > 0u; stride = stride / 2u) {`);
  body.push('    if (lid < stride) {');
  if (isArg) {
    body.push(
      `      if (${op}_wins(partial[lid + stride], partial_index[lid + stride], partial[lid], partial_index[lid])) {`,
      '        partial[lid] = partial[lid + stride];',
      '        partial_index[lid] = partial_index[lid + stride];',
      '      }',
    );
  } else {
    body.push(`      ${combine(op, n.mode, n.helpers)}`);
  }
  body.push('    }', '    workgroupBarrier();', '  }');
  body.push('  if (lid == 0u) {');
  body.push(`    out[${n.outAt}] = ${storeAs(isArg ? 'partial_index[0]' : 'partial[0]', isArg ? 'i32' : T, n.outDType, n.f16)};`);
  body.push('  }');
  return decls;
}

function combine(op: ReduceOp, mode: ComputeMode, helpers: Helpers): string {
  const T = mode.type;
  const a = 'partial[lid]';
  const b = 'partial[lid + stride]';
  switch (op) {
    case 'sum': return `${a} = ${asBool(mode, `${a} + ${b}`)};`;
    case 'prod': return `${a} = ${asBool(mode, `${a} * ${b}`)};`;
    case 'max': case 'min': return `${a} = ${T === 'f32' ? (helpers.use('max_nan'), `${op}_nan`) : op}(${a}, ${b});`;
    case 'any': return `${a} = max(${a}, ${b});`;
    case 'all': return `${a} = min(${a}, ${b});`;
    case 'argmax': case 'argmin': throw new Error('arg reductions combine pairs');
  }
}

function collectInputs(e: LoopSpec['expr'], out: Set<number>): void {
  switch (e.kind) {
    case 'input': out.add(e.index); return;
    case 'const': return;
    case 'unary': case 'cast': collectInputs(e.arg, out); return;
    case 'binary': collectInputs(e.lhs, out); collectInputs(e.rhs, out); return;
    case 'select': collectInputs(e.cond, out); collectInputs(e.then, out); collectInputs(e.otherwise, out); return;
  }
}

/** The params values of one launch of a loop nest, by field name. */
function nestParamValues(spec: LoopSpec, variant: NestVariant): Map<string, number> {
  const v = new Map<string, number>();
  spec.sizes.forEach((s, d) => v.set(`size${d}`, s));
  spec.inputs.forEach((a: Access, i) => {
    v.set(`in${i}_offset`, a.offset);
    spec.sizes.forEach((_, d) => v.set(`in${i}_stride${d}`, a.strides[d] ?? 0));
  });
  v.set('out_offset', spec.output.offset);
  spec.sizes.slice(0, spec.parallel).forEach((_, d) => v.set(`out_stride${d}`, spec.output.strides[d] ?? 0));
  const { outputs, reduced } = loopCounts(spec);
  v.set('out_count', variant === 'thread' ? threadCount(spec) : outputs);
  if (variant === 'workgroup') v.set('reduce_count', reduced);
  const mode = computeMode(spec.computeType);
  loopConstants(spec).forEach((c, k) => v.set(`c${k}`, constantParam(c, mode)));
  return v;
}
