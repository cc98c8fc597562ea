/**
 * GemmSpec → WGSL: C[b, m, n] = Σ_k A[b, m, k] · B[b, k, n], every operand read and written in place through its
 * strides (a transposed operand is just a different pair of strides).
 *
 * Each workgroup computes one BM×BN tile of C. It walks k in steps of BK: the invocations cooperatively copy a
 * BM×BK tile of A and a BK×BN tile of B into workgroup memory (zero-filling past the ragged edges), then each of
 * the (BM/TM)×(BN/TN) invocations accumulates TM×TN elements of C in registers, interleaved (rows
 * ty + i·BM/TM, columns tx + j·BN/TN) so neighbouring invocations hit neighbouring workgroup-memory banks and
 * write neighbouring addresses. An operand whose fastest
 * dimension has stride 1, with every other stride, the offset and that dimension's extent divisible by 4, is
 * loaded as vec4; otherwise element by element, in the order (a params flag) that makes neighbouring invocations
 * read neighbouring addresses. The grid is (tiles of n, tiles of m, batch), folded into (x, y) past 65,535.
 */

import type { GemmSpec, MatrixAccess } from '../../src/lower/spec.js';
import { exprConstants, specKey } from '../../src/lower/spec.js';
import { Helpers, computeMode, constantParam, constantRead, renderExpr } from './expr.js';
import { EinjitError } from '../../src/errors.js';
import { ParamsLayout } from './params.js';
import { bindingDecl, foldGrid, MAX_GRID_DIM } from './common.js';
import type { KernelVariant, RenderedKernel } from './kernel.js';

/** The compiled-in shape of a GEMM kernel's tiles (what the tile chooser picks, and what a sweep can pin). */
export interface GemmTileShape {
  readonly BM: number;
  readonly BN: number;
  readonly BK: number;
  readonly TM: number;
  readonly TN: number;
  /**
   * The pipelined kernel (renderGemmPipelined): two workgroup tiles used in turn, the next K slab loaded into
   * registers while the current one is multiplied, vec4 reads of workgroup memory, vec4 stores of C where its
   * layout allows, and K optionally split over `splitK` workgroups whose partial sums a second pass adds.
   * Needs TM and TN in {4, 8}.
   */
  readonly pipelined?: boolean;
  /** Workgroups sharing one tile of C along K (pipelined kernels only); 1 or absent: no split. */
  readonly splitK?: number;
}

/** 'auto' picks by size; tests and the device sweep pin a named or an explicit tile shape. */
export type GemmTileChoice = 'auto' | 'small' | 'large' | GemmTileShape;

/**
 * How one operand's tile is loaded: as vec4 along k or along its free dim (m for A, n for B) when the strides
 * allow, else element by element, with the direction neighbouring invocations walk chosen at run time from the
 * strides (a params field), so all scalar layouts share one pipeline.
 */
export interface OperandLoad {
  readonly vec4: 'k' | 'free' | null;
}

export interface GemmConfig {
  readonly BM: number;
  readonly BN: number;
  readonly BK: number;
  readonly TM: number;
  readonly TN: number;
  readonly a: OperandLoad;
  readonly b: OperandLoad;
  readonly pipelined: boolean;
  /** Pipelined only: C written four columns at a time (unit column stride, everything else divisible by 4). */
  readonly cVec4: boolean;
  /** Pipelined only: how many workgroups split K for each tile of C (1: none). */
  readonly splitK: number;
}

const SMALL = { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4 } as const;
const LARGE = { BM: 128, BN: 128, BK: 16, TM: 8, TN: 8 } as const;

/**
 * The tile chooser's table ('auto'). Big pipelined tiles while they still give the GPU enough workgroups; else
 * medium ones, with K split over several workgroups when even those are far too few (skinny products, K ≫ M·N).
 * Every entry is a parameter the device sweep (bench/device) times against the others.
 *
 * Measured on an NVIDIA H200 (Dawn/Vulkan, driver 580.159), 2026-12-04 18:11 UTC, first device run:
 * - auto as below: GEMM 4096³ 4.56 ms kernel time (30.1 TFLOP/s), 2048³ 0.606 ms (28.3), attention
 *   4×8×1024²×64 0.180 ms (23.9), batched 64×512³ 0.745 ms (23.1), all on the big pipelined tile. That run's
 *   sweep timed wall clock after the nn section and came out 1.2–5× below the GEMM section for the same kernels,
 *   so it cannot rank shapes closer than that (at 2048³ it put the basic 128×64×16 kernel at 21.8 TFLOP/s and
 *   the big tile at 11.0); the sweep now uses kernel timestamps. Only the larger effects below are used.
 * - skinny 256×256×65536 (16 medium tiles): split 16 and 64 ran at 19.8 and 19.4 TFLOP/s, split 2 at 3.4,
 *   unsplit at 1.7 — splitting pays 10× where the tiles are this few.
 * - tall 8192×64×1024 (128 medium tiles): unsplit 15.2 TFLOP/s, split 2 9.2; 1024³ (256 tiles): unsplit 6.5,
 *   split 2 5.6 (same sweep, wall times) — the extra pass costs more than the added workgroups give there, so
 *   splits start below `splitBelowWorkgroups` (half the SMs), not below the target.
 */
export const GEMM_CHOOSER = {
  big: { BM: 128, BN: 128, BK: 8, TM: 8, TN: 8, pipelined: true } as GemmTileShape,
  /** Big tiles only when they give at least this many workgroups. */
  bigMinWorkgroups: 256,
  medium: { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4, pipelined: true } as GemmTileShape,
  /** Split K only when the medium tiles give fewer workgroups than this (half the SMs of a 132-SM GPU)... */
  splitBelowWorkgroups: 66,
  /** ...into enough splits to give about this many workgroups (two per SM)... */
  splitTargetWorkgroups: 264,
  /** ...keeping at least this much of K per split, and at most this many splits. */
  splitMinK: 256,
  maxSplit: 64,
};

/**
 * Tile shapes the device benchmark's sweep times on every GEMM workload (besides 'small', 'large' and 'auto'),
 * so the chooser's table can be set from measured figures. A shape that does not fit the device (workgroup
 * memory, invocations) is refused by chooseGemmConfig, and the sweep records it as such.
 */
export const GEMM_SWEEP_SHAPES: readonly GemmTileShape[] = [
  { BM: 128, BN: 128, BK: 8, TM: 8, TN: 8, pipelined: true },
  { BM: 128, BN: 128, BK: 16, TM: 8, TN: 8, pipelined: true },
  { BM: 128, BN: 64, BK: 8, TM: 8, TN: 4, pipelined: true },
  { BM: 64, BN: 128, BK: 8, TM: 4, TN: 8, pipelined: true },
  { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4, pipelined: true },
  { BM: 64, BN: 64, BK: 8, TM: 4, TN: 4, pipelined: true },
  { BM: 64, BN: 64, BK: 16, TM: 8, TN: 8, pipelined: true },
  { BM: 128, BN: 128, BK: 8, TM: 8, TN: 8, pipelined: true, splitK: 2 },
  { BM: 128, BN: 128, BK: 8, TM: 8, TN: 8, pipelined: true, splitK: 4 },
  { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4, pipelined: true, splitK: 2 },
  { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4, pipelined: true, splitK: 16 },
  { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4, pipelined: true, splitK: 64 },
  { BM: 128, BN: 64, BK: 16, TM: 8, TN: 4 },
  { BM: 64, BN: 128, BK: 16, TM: 4, TN: 8 },
  // Larger register tiles (8x16, 16x8 per invocation) and a 128-invocation workgroup.
  { BM: 128, BN: 256, BK: 8, TM: 8, TN: 16, pipelined: true },
  { BM: 256, BN: 128, BK: 8, TM: 16, TN: 8, pipelined: true },
  { BM: 128, BN: 64, BK: 16, TM: 8, TN: 8, pipelined: true },
];

/** Workgroup memory a tile shape needs, in bytes. */
function tileBytes(t: GemmTileShape): number {
  return (t.pipelined === true ? 2 : 1) * (t.BM + t.BN) * t.BK * 4;
}

/** Refuses a tile shape that cannot compile or run on the device (an explicit choice only; 'auto' stays inside). */
function checkTileShape(t: GemmTileShape, limits: GemmLimits): void {
  const threads = (t.BM / t.TM) * (t.BN / t.TN);
  const loads = (w: number): number => (t.BM * t.BK) / w;
  const problems: string[] = [];
  if (!Number.isInteger(t.BM / t.TM) || !Number.isInteger(t.BN / t.TN)) problems.push('BM/TM and BN/TN must be integers');
  if (threads > limits.maxComputeInvocationsPerWorkgroup) problems.push(`${threads} invocations exceed ${limits.maxComputeInvocationsPerWorkgroup}`);
  if (tileBytes(t) > limits.maxComputeWorkgroupStorageSize) problems.push(`${tileBytes(t)} bytes of workgroup memory exceed ${limits.maxComputeWorkgroupStorageSize}`);
  if (t.pipelined === true && (t.TM % 4 !== 0 || t.TN % 4 !== 0 || t.BK % 4 !== 0)) problems.push('a pipelined kernel needs TM, TN and BK divisible by 4');
  for (const w of [1, 4]) {
    for (const n of [loads(w), (t.BN * t.BK) / w]) {
      if (!Number.isInteger(n) || (n % threads !== 0 && (t.pipelined !== true || threads % n !== 0))) problems.push(`tile loads (${n}) do not divide over ${threads} invocations`);
    }
  }
  if (problems.length > 0) {
    throw new EinjitError(`GEMM tile shape ${JSON.stringify(t)} does not fit: ${[...new Set(problems)].join('; ')}`, {
      op: 'gemm', hint: "use gemmTiles: 'auto', or a shape that fits this device's limits",
    });
  }
}

export interface GemmLimits {
  readonly maxComputeWorkgroupStorageSize: number;
  readonly maxComputeInvocationsPerWorkgroup: number;
}

/** What 'auto' picks: see GEMM_CHOOSER. */
function autoTiles(spec: GemmSpec, limits: GemmLimits): GemmTileShape {
  const t = GEMM_CHOOSER;
  const batch = spec.batch.reduce((a, b) => a * b, 1);
  const tiles = (s: GemmTileShape): number => Math.ceil(spec.m / s.BM) * Math.ceil(spec.n / s.BN) * batch;
  if (tileBytes(t.medium) > limits.maxComputeWorkgroupStorageSize) return SMALL;
  if (tileBytes(t.big) <= limits.maxComputeWorkgroupStorageSize && tiles(t.big) >= t.bigMinWorkgroups) return t.big;
  const have = tiles(t.medium);
  if (have >= t.splitBelowWorkgroups || spec.k < 2 * t.splitMinK) return t.medium;
  const split = Math.min(t.maxSplit, Math.ceil(t.splitTargetWorkgroups / have), Math.floor(spec.k / t.splitMinK));
  return split >= 2 ? { ...t.medium, splitK: split } : t.medium;
}

export function chooseGemmConfig(spec: GemmSpec, choice: GemmTileChoice, limits: GemmLimits): GemmConfig {
  let tiles: GemmTileShape;
  if (typeof choice === 'object') {
    checkTileShape(choice, limits);
    tiles = choice;
  } else if (choice === 'auto') {
    tiles = autoTiles(spec, limits);
  } else {
    tiles = choice === 'large' && tileBytes(LARGE) <= limits.maxComputeWorkgroupStorageSize ? LARGE : SMALL;
  }
  const pipelined = tiles.pipelined === true;
  const c = spec.c;
  // An epilogue is applied element by element as C is stored, after the whole sum: scalar stores. A GEMM with K
  // split runs its epilogue as a map after the splits' sum (the backend's runSplitGemm).
  const plain = spec.epilogue === undefined && extraCount(spec) === 0;
  const cVec4 = plain && pipelined && c.colStride === 1 && spec.n % 4 === 0 && c.rowStride % 4 === 0 && c.offset % 4 === 0 &&
    c.batchStrides.every((st) => st % 4 === 0);
  return {
    BM: tiles.BM, BN: tiles.BN, BK: tiles.BK, TM: tiles.TM, TN: tiles.TN,
    a: { vec4: vec4Dim(spec.a, spec.m, spec.k, 'row') },
    b: { vec4: vec4Dim(spec.b, spec.n, spec.k, 'col') },
    pipelined,
    cVec4,
    splitK: pipelined ? Math.max(1, Math.min(tiles.splitK ?? 1, Math.ceil(spec.k / tiles.BK))) : 1,
  };
}

/** Neighbouring invocations walk the dim with the smaller stride: 'k' or 'free' (m of A, n of B). */
function fastDim(x: MatrixAccess, freeIs: 'row' | 'col'): 'k' | 'free' {
  const freeStride = freeIs === 'row' ? x.rowStride : x.colStride;
  const kStride = freeIs === 'row' ? x.colStride : x.rowStride;
  return Math.abs(kStride) <= Math.abs(freeStride) ? 'k' : 'free';
}

/** vec4 loads need stride 1 along the fast dim and the other stride, offset, batch strides and extent divisible by 4. */
function vec4Dim(x: MatrixAccess, free: number, k: number, freeIs: 'row' | 'col'): 'k' | 'free' | null {
  const fast = fastDim(x, freeIs);
  const freeStride = freeIs === 'row' ? x.rowStride : x.colStride;
  const kStride = freeIs === 'row' ? x.colStride : x.rowStride;
  const [unit, other, extent] = fast === 'k' ? [kStride, freeStride, k] : [freeStride, kStride, free];
  const ok = unit === 1 && other % 4 === 0 && x.offset % 4 === 0 && extent % 4 === 0 && x.batchStrides.every((s) => s % 4 === 0);
  return ok ? fast : null;
}

function configTag(c: GemmConfig): string {
  const op = (o: OperandLoad, free: string): string => (o.vec4 === null ? 's' : `${o.vec4 === 'k' ? 'k' : free}4`);
  const base = `${c.BM}x${c.BN}x${c.BK}_${c.TM}x${c.TN}_a${op(c.a, 'm')}_b${op(c.b, 'n')}`;
  return c.pipelined ? `p${base}_c${c.cVec4 ? '4' : 's'}` : base;
}

function gemmKernelKey(spec: GemmSpec, config: GemmConfig): string {
  return `${specKey(spec)}|${configTag(config)}`;
}

function gemmName(spec: GemmSpec, c: GemmConfig): string {
  return `gemm_b${spec.batch.length}_${configTag(c)}`;
}

/** The GEMM kernel for `spec` under the tile configuration `config` (chooseGemmConfig). */
export function gemmKernel(spec: GemmSpec, config: GemmConfig): KernelVariant {
  const name = gemmName(spec, config);
  return {
    key: gemmKernelKey(spec, config), name,
    empty: spec.batch.reduce((a, b) => a * b, 1) * spec.m * spec.n === 0,
    splitK: config.splitK,
    render: () => renderGemm(spec, config),
    params: () => gemmParamValues(spec, config),
    grid: () => gemmGrid(spec, config, name),
  };
}

/** How many operands the epilogue reads beside the product (bound after A and B as `in1`, `in2`, ...). */
function extraCount(spec: GemmSpec): number {
  return spec.epilogueInputs?.length ?? 0;
}

/** The WGSL names of the epilogue's other operands: `in1` is epilogue input 1. */
function extraNames(spec: GemmSpec): string[] {
  return Array.from({ length: extraCount(spec) }, (_, i) => `in${i + 1}`);
}

/** Storage bindings: A, B, the epilogue's other operands (read-only), then C; the params uniform follows. */
function gemmBindings(spec: GemmSpec, a: string, b: string, c: string): string[] {
  const extra = extraNames(spec);
  return [
    bindingDecl(0, 'a', 'read', a, 'A'),
    bindingDecl(1, 'b', 'read', b, 'B'),
    ...extra.map((x, i) => bindingDecl(2 + i, x, 'read', 'f32', `epilogue input ${i + 1}, read at each element of C`)),
    bindingDecl(2 + extra.length, 'c', 'read_write', c, 'C'),
  ];
}

/** Lines setting `in1_base`, ... to the first element of this batch point (after `b0`, ... are known). */
function extraBases(spec: GemmSpec): string[] {
  return extraNames(spec).map((x) => {
    const terms = spec.batch.map((_, d) => ` + b${d} * params.${x}_batch_stride${d}`).join('');
    return `let ${x}_base = params.${x}_offset${terms};`;
  });
}

/** The params fields both GEMM renderers share (sizes, batch dims, operand offsets and strides, tile counts). */
function gemmParams(spec: GemmSpec, c: GemmConfig): ParamsLayout {
  const nb = spec.batch.length;
  const params = new ParamsLayout();
  params.field('m');
  params.field('n');
  params.field('k');
  for (let d = 0; d < nb; d++) params.field(`batch${d}`, `batch dim ${d}`);
  for (const x of ['a', 'b', 'c']) {
    params.field(`${x}_offset`);
    for (let d = 0; d < nb; d++) params.field(`${x}_batch_stride${d}`);
    params.field(`${x}_row_stride`, x === 'a' ? 'along m' : x === 'b' ? 'along k' : 'along m');
    params.field(`${x}_col_stride`, x === 'a' ? 'along k' : 'along n');
  }
  if (c.a.vec4 === null) params.field('a_fast_m', '1: neighbouring invocations load along m, 0: along k');
  if (c.b.vec4 === null) params.field('b_fast_n', '1: neighbouring invocations load along n, 0: along k');
  params.field('tiles_n', `ceil(n / ${c.BN})`);
  params.field('tiles_m', `ceil(m / ${c.BM})`);
  for (const x of extraNames(spec)) {
    params.field(`${x}_offset`);
    for (let d = 0; d < nb; d++) params.field(`${x}_batch_stride${d}`);
    params.field(`${x}_row_stride`, 'along m');
    params.field(`${x}_col_stride`, 'along n');
  }
  if (spec.epilogue !== undefined) exprConstants(spec.epilogue).forEach((_, k) => params.field(`epi${k}`, `epilogue constant ${k} (f32 bits)`));
  return params;
}

/**
 * The store of element (m, `col`) of C: `value` (the product), through the epilogue when the spec has one, which
 * reads its other operands at the same element; its WGSL helper functions go into `helpers`.
 */
function storeC(spec: GemmSpec, col: string, value: string, helpers: Helpers): string {
  const at = `c_base + m * params.c_row_stride + ${col} * params.c_col_stride`;
  if (spec.epilogue === undefined) return `c[${at}] = ${value};`;
  const load = (i: number): string => {
    if (i === 0) return value;
    // C's own element before this store (epilogueReadsC): only this invocation reads or writes it.
    if (i === 1 + extraCount(spec)) return `c[${at}]`;
    const x = `in${i}`;
    return `${x}[${x}_base + m * params.${x}_row_stride + ${col} * params.${x}_col_stride]`;
  };
  const r = renderExpr(spec.epilogue, computeMode('float32'), helpers, load, 'e', (k) => constantRead(`params.epi${k}`, 'f32'));
  return `{ ${r.lines.join(' ')} c[${at}] = ${r.result}; }`;
}

function renderGemm(spec: GemmSpec, c: GemmConfig): RenderedKernel {
  if (c.pipelined) return renderGemmPipelined(spec, c);
  const nb = spec.batch.length;
  const name = gemmName(spec, c);
  const WX = c.BN / c.TN;
  const WY = c.BM / c.TM;
  const threads = WX * WY;
  const params = gemmParams(spec, c);
  params.field('tile_count', 'tiles_n * tiles_m * batch size');
  const helpers = new Helpers();

  const describe = (o: OperandLoad, free: string): string =>
    o.vec4 === null ? `scalar loads along its smaller stride` : `vec4 loads along ${o.vec4 === 'k' ? 'k' : free}`;
  const header = [
    `// einjit GEMM kernel ${name}: ${spec.label}`,
    `// C[b, m, n] = sum_k A[b, m, k] * B[b, k, n], float32, ${nb} batch dim${nb === 1 ? '' : 's'}, all operands strided.`,
    `// Tile: ${c.BM}x${c.BN} of C per workgroup, k in steps of ${c.BK}; ${WY}x${WX} invocations, each ${c.TM}x${c.TN} elements of C`,
    `// in registers, interleaved (rows ty + ${WY}i, columns tx + ${WX}j) so neighbouring invocations read neighbouring`,
    `// workgroup-memory banks and write neighbouring addresses. A: ${describe(c.a, 'm')}; B: ${describe(c.b, 'n')}.`,
  ];
  const bindings = gemmBindings(spec, c.a.vec4 ? 'vec4<f32>' : 'f32', c.b.vec4 ? 'vec4<f32>' : 'f32', 'f32');
  const consts = [
    `const BM = ${c.BM};`,
    `const BN = ${c.BN};`,
    `const BK = ${c.BK};`,
    `const TM = ${c.TM};`,
    `const TN = ${c.TN};`,
    '',
    '// Tiles stored k-major: a_tile[kk * BM + (m - row0)], b_tile[kk * BN + (n - col0)].',
    `var<workgroup> a_tile: array<f32, ${c.BK * c.BM}>;`,
    `var<workgroup> b_tile: array<f32, ${c.BK * c.BN}>;`,
  ];

  const body: string[] = [];
  const p = (s: string): void => { body.push(s === '' ? '' : `  ${s}`); };
  p('// Which tile of which batch this workgroup computes (the grid may be folded).');
  p('let tile = i32((wid.z * nwg.y + wid.y) * nwg.x + wid.x);');
  p('if (tile >= params.tile_count) { return; }');
  p('let col0 = (tile % params.tiles_n) * BN;');
  p('let row0 = ((tile / params.tiles_n) % params.tiles_m) * BM;');
  if (nb > 0) {
    p('var batch = tile / (params.tiles_n * params.tiles_m);');
    p('var a_base = params.a_offset;');
    p('var b_base = params.b_offset;');
    p('var c_base = params.c_offset;');
    for (let d = nb - 1; d >= 0; d--) {
      const coord = d === 0 ? 'batch' : `batch % params.batch${d}`;
      p(`let b${d} = ${coord};${d === 0 ? '' : ` batch = batch / params.batch${d};`}`);
      p(`a_base += b${d} * params.a_batch_stride${d}; b_base += b${d} * params.b_batch_stride${d}; c_base += b${d} * params.c_batch_stride${d};`);
    }
  } else {
    p('let a_base = params.a_offset;');
    p('let b_base = params.b_offset;');
    p('let c_base = params.c_offset;');
  }
  for (const l of extraBases(spec)) p(l);
  p(`let tx = i32(lid.x); // owns columns n = col0 + tx + ${WX} * j`);
  p(`let ty = i32(lid.y); // owns rows    m = row0 + ty + ${WY} * i`);
  p(`let t = ty * ${WX} + tx;`);
  p('var acc: array<array<f32, TN>, TM>;');
  p('');
  p('for (var k0 = 0; k0 < params.k; k0 += BK) {');
  body.push(...loadTile('a', 'A', c.a, c.BM, c.BK, threads, 'row0', 'params.m', 'params.a_row_stride', 'params.a_col_stride', 'm'));
  body.push(...loadTile('b', 'B', c.b, c.BN, c.BK, threads, 'col0', 'params.n', 'params.b_col_stride', 'params.b_row_stride', 'n'));
  p('  workgroupBarrier();');
  p('  for (var kk = 0; kk < BK; kk++) {');
  p('    var a_reg: array<f32, TM>;');
  p('    var b_reg: array<f32, TN>;');
  p(`    for (var i = 0; i < TM; i++) { a_reg[i] = a_tile[kk * BM + ty + ${WY} * i]; }`);
  p(`    for (var j = 0; j < TN; j++) { b_reg[j] = b_tile[kk * BN + tx + ${WX} * j]; }`);
  p('    for (var i = 0; i < TM; i++) {');
  p('      for (var j = 0; j < TN; j++) { acc[i][j] = fma(a_reg[i], b_reg[j], acc[i][j]); }');
  p('    }');
  p('  }');
  p('  workgroupBarrier();');
  p('}');
  p('');
  p('// Write the block, skipping rows and columns past the ragged edges.');
  p('for (var i = 0; i < TM; i++) {');
  p(`  let m = row0 + ty + ${WY} * i;`);
  p('  if (m >= params.m) { break; }');
  p('  for (var j = 0; j < TN; j++) {');
  p(`    let n = col0 + tx + ${WX} * j;`);
  p('    if (n >= params.n) { break; }');
  p(`    ${storeC(spec, 'n', 'acc[i][j]', helpers)}`);
  p('  }');
  p('}');

  const storageBindings = bindings.length;
  return { name, source: gemmModule(header, bindings, params, storageBindings, [...consts, ...epilogueHelpers(helpers)], WX, WY, body), params, storageBindings };
}

/** The WGSL helper functions an epilogue uses, if any. */
function epilogueHelpers(helpers: Helpers): string[] {
  const text = helpers.render();
  return text === '' ? [] : ['', text];
}

/** A GEMM kernel's WGSL module: header comments, bindings, the params struct, constants and `main` around `body`. */
function gemmModule(
  header: readonly string[], bindings: readonly string[], params: { render(binding: number): string }, paramsBinding: number,
  consts: readonly string[], wx: number, wy: number, body: readonly string[],
): string {
  return [
    ...header,
    '',
    ...bindings,
    params.render(paramsBinding),
    '',
    ...consts,
    '',
    `@compute @workgroup_size(${wx}, ${wy})`,
    'fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {',
    ...body,
    '}',
    '',
  ].join('\n');
}

/**
 * Code copying one operand's tile into workgroup memory. `free` is m for A (tile rows BM) and n for B (BN);
 * `freeStride`/`kStride` are the operand's strides along them.
 */
function loadTile(
  x: 'a' | 'b', label: string, load: OperandLoad, F: number, BK: number, threads: number,
  free0: string, freeExtent: string, freeStride: string, kStride: string, freeName: string,
): string[] {
  const FC = x === 'a' ? 'BM' : 'BN';
  const lines: string[] = [];
  const q = (s: string): void => { lines.push(`    ${s}`); };
  const width = load.vec4 !== null ? 4 : 1;
  const count = (F * BK) / width;
  const perThread = count / threads;
  const flag = `params.${x}_fast_${freeName}`;
  const how = load.vec4 === null
    ? `${perThread} element loads per invocation, neighbours along ${freeName} or k as ${flag.slice(7)} says`
    : `${perThread} vec4 load${perThread === 1 ? '' : 's'} per invocation, neighbours along ${load.vec4 === 'k' ? 'k' : freeName}`;
  lines.push(`    // ${label} tile: ${F}x${BK}, ${how}.`);
  // One element (or vec4) per invocation needs no loop.
  lines.push(perThread === 1 ? '    {' : `    for (var e = t; e < ${count}; e += ${threads}) {`);
  if (perThread === 1) q('  let e = t;');
  if (load.vec4 === null) {
    q(`  let ff = select(e / ${BK}, e % ${F}, ${flag} != 0);`);
    q(`  let kk = select(e % ${BK}, e / ${F}, ${flag} != 0);`);
  } else if (load.vec4 === 'k') {
    q(`  let ff = e / ${BK / 4};`);
    q(`  let kk = (e % ${BK / 4}) * 4;`);
  } else {
    q(`  let ff = (e % ${F / 4}) * 4;`);
    q(`  let kk = e / ${F / 4};`);
  }
  q(`  let ${freeName} = ${free0} + ff;`);
  q('  let k = k0 + kk;');
  const at = `${x}_base + ${freeName} * ${freeStride} + k * ${kStride}`;
  if (load.vec4 === null) {
    q(`  var v = 0.0;`);
    q(`  if (${freeName} < ${freeExtent} && k < params.k) { v = ${x}[${at}]; }`);
    q(`  ${x}_tile[kk * ${FC} + ff] = v;`);
  } else {
    q('  var v = vec4<f32>();');
    q(`  if (${freeName} < ${freeExtent} && k < params.k) { v = ${x}[(${at}) / 4]; }`);
    if (load.vec4 === 'k') {
      q(`  for (var lane = 0; lane < 4; lane++) { ${x}_tile[(kk + lane) * ${FC} + ff] = v[lane]; }`);
    } else {
      q(`  for (var lane = 0; lane < 4; lane++) { ${x}_tile[kk * ${FC} + ff + lane] = v[lane]; }`);
    }
  }
  lines.push('    }');
  return lines;
}

function gemmParamValues(spec: GemmSpec, c: GemmConfig): Map<string, number> {
  const v = new Map<string, number>();
  v.set('m', spec.m);
  v.set('n', spec.n);
  v.set('k', spec.k);
  spec.batch.forEach((s, d) => v.set(`batch${d}`, s));
  for (const [x, acc] of [['a', spec.a], ['b', spec.b], ['c', spec.c]] as const) {
    v.set(`${x}_offset`, acc.offset);
    spec.batch.forEach((_, d) => v.set(`${x}_batch_stride${d}`, acc.batchStrides[d] ?? 0));
    v.set(`${x}_row_stride`, acc.rowStride);
    v.set(`${x}_col_stride`, acc.colStride);
  }
  extraNames(spec).forEach((x, i) => {
    const e = spec.epilogueInputs![i]!;
    const nb = spec.batch.length;
    v.set(`${x}_offset`, e.offset);
    spec.batch.forEach((_, d) => v.set(`${x}_batch_stride${d}`, e.strides[d] ?? 0));
    v.set(`${x}_row_stride`, e.strides[nb] ?? 0);
    v.set(`${x}_col_stride`, e.strides[nb + 1] ?? 0);
  });
  if (spec.epilogue !== undefined) exprConstants(spec.epilogue).forEach((x, k) => v.set(`epi${k}`, constantParam(x, computeMode('float32'))));
  if (c.a.vec4 === null) v.set('a_fast_m', fastDim(spec.a, 'row') === 'free' ? 1 : 0);
  if (c.b.vec4 === null) v.set('b_fast_n', fastDim(spec.b, 'col') === 'free' ? 1 : 0);
  const tilesN = Math.ceil(spec.n / c.BN);
  const tilesM = Math.ceil(spec.m / c.BM);
  const batch = spec.batch.reduce((a, b) => a * b, 1);
  v.set('tiles_n', tilesN);
  v.set('tiles_m', tilesM);
  if (!c.pipelined) {
    v.set('tile_count', tilesN * tilesM * batch);
    return v;
  }
  v.set('tiles_per_split', tilesN * tilesM * batch);
  v.set('tile_count', tilesN * tilesM * batch * c.splitK);
  v.set('k_chunk', splitChunk(spec.k, c));
  v.set('c_split_stride', c.splitK > 1 ? batch * spec.m * spec.n : 0);
  return v;
}

/** K per split: whole slabs, spread evenly over the splits. */
export function splitChunk(k: number, c: GemmConfig): number {
  return Math.max(c.BK, Math.ceil(Math.ceil(k / c.BK) / c.splitK) * c.BK);
}

function gemmGrid(spec: GemmSpec, c: GemmConfig, name: string): [number, number, number] {
  const tilesN = Math.ceil(spec.n / c.BN);
  const tilesM = Math.ceil(spec.m / c.BM);
  const batch = spec.batch.reduce((a, b) => a * b, 1) * (c.pipelined ? c.splitK : 1);
  if (tilesN <= MAX_GRID_DIM && tilesM <= MAX_GRID_DIM && batch <= MAX_GRID_DIM) return [tilesN, tilesM, batch];
  return foldGrid(tilesN * tilesM * batch, name);
}

/**
 * The pipelined GEMM. Compared with the basic kernel above:
 * - two workgroup tiles of A and B, used in turn: while the invocations multiply from one, the next K slab is
 *   loaded from global memory into registers and stored into the other, so there is one barrier per slab and
 *   the global loads overlap the arithmetic;
 * - the tiles hold vec4s along the free dim, and each invocation owns TM/4 groups of 4 consecutive rows and
 *   TN/4 groups of 4 consecutive columns, 4·WY rows (4·WX columns) apart: one vec4 read of workgroup memory per
 *   4 rows or columns, and neighbouring invocations read neighbouring vec4s;
 * - C is stored four columns at a time when its layout allows (`cVec4`), else element by element;
 * - K can be split over `splitK` workgroups per tile of C (for shapes with too few tiles to fill the GPU): each
 *   covers `k_chunk` of K and writes its partial sums `c_split_stride` apart; the backend adds them afterwards.
 */
function renderGemmPipelined(spec: GemmSpec, c: GemmConfig): RenderedKernel {
  const nb = spec.batch.length;
  const name = gemmName(spec, c);
  const WX = c.BN / c.TN;
  const WY = c.BM / c.TM;
  const threads = WX * WY;
  const GM = c.TM / 4;
  const GN = c.TN / 4;
  const params = gemmParams(spec, c);
  params.field('tiles_per_split', 'tiles_n * tiles_m * batch size');
  const helpers = new Helpers();
  params.field('tile_count', 'tiles_per_split * splits');
  params.field('k_chunk', `K per split, a multiple of ${c.BK}`);
  params.field('c_split_stride', 'elements between the partial sums of two splits (0: no split)');

  const describe = (o: OperandLoad, free: string): string =>
    o.vec4 === null ? `scalar loads along its smaller stride` : `vec4 loads along ${o.vec4 === 'k' ? 'k' : free}`;
  const header = [
    `// einjit GEMM kernel ${name}: ${spec.label}`,
    `// C[b, m, n] = sum_k A[b, m, k] * B[b, k, n], float32, ${nb} batch dim${nb === 1 ? '' : 's'}, all operands strided.`,
    `// Tile: ${c.BM}x${c.BN} of C per workgroup, k in slabs of ${c.BK}, two workgroup tiles used in turn (the next slab is`,
    `// loaded into registers while this one is multiplied); ${WY}x${WX} invocations, each ${c.TM}x${c.TN} elements of C as`,
    `// ${GM}x${GN} blocks of 4x4, ${4 * WY} rows and ${4 * WX} columns apart. A: ${describe(c.a, 'm')}; B: ${describe(c.b, 'n')};`,
    `// C: ${c.cVec4 ? 'vec4 stores' : 'scalar stores'}. K may be split over several workgroups (k_chunk, c_split_stride).`,
  ];
  const bindings = gemmBindings(spec, c.a.vec4 ? 'vec4<f32>' : 'f32', c.b.vec4 ? 'vec4<f32>' : 'f32', c.cVec4 ? 'vec4<f32>' : 'f32');
  const consts = [
    `const BM = ${c.BM};`,
    `const BN = ${c.BN};`,
    `const BK = ${c.BK};`,
    '',
    '// Two tiles each, k-major, vec4s along the free dim: a_tile[buf * BK * BM/4 + kk * BM/4 + (m - row0) / 4].',
    `var<workgroup> a_tile: array<vec4<f32>, ${(2 * c.BK * c.BM) / 4}>;`,
    `var<workgroup> b_tile: array<vec4<f32>, ${(2 * c.BK * c.BN) / 4}>;`,
  ];
  const A = stagedLoad('a', c.a, c.BM, c.BK, threads, 'row0', 'params.m', 'params.a_row_stride', 'params.a_col_stride', 'm');
  const B = stagedLoad('b', c.b, c.BN, c.BK, threads, 'col0', 'params.n', 'params.b_col_stride', 'params.b_row_stride', 'n');

  const body: string[] = [];
  const p = (s: string): void => { body.push(s === '' ? '' : `  ${s}`); };
  p('// Which split of which tile of which batch this workgroup computes (the grid may be folded).');
  p('let tile_id = i32((wid.z * nwg.y + wid.y) * nwg.x + wid.x);');
  p('if (tile_id >= params.tile_count) { return; }');
  p('let split = tile_id / params.tiles_per_split;');
  p('let tile = tile_id % params.tiles_per_split;');
  p('let col0 = (tile % params.tiles_n) * BN;');
  p('let row0 = ((tile / params.tiles_n) % params.tiles_m) * BM;');
  p('var a_base = params.a_offset;');
  p('var b_base = params.b_offset;');
  p('var c_base = params.c_offset + split * params.c_split_stride;');
  if (nb > 0) {
    p('var batch = tile / (params.tiles_n * params.tiles_m);');
    for (let d = nb - 1; d >= 0; d--) {
      const coord = d === 0 ? 'batch' : `batch % params.batch${d}`;
      p(`let b${d} = ${coord};${d === 0 ? '' : ` batch = batch / params.batch${d};`}`);
      p(`a_base += b${d} * params.a_batch_stride${d}; b_base += b${d} * params.b_batch_stride${d}; c_base += b${d} * params.c_batch_stride${d};`);
    }
  }
  for (const l of extraBases(spec)) p(l);
  p('let k_begin = split * params.k_chunk;');
  p('let k_end = min(params.k, k_begin + params.k_chunk);');
  p(`let tx = i32(lid.x); // owns columns n = col0 + ${4 * WX} * j + 4 * tx + (0..3)`);
  p(`let ty = i32(lid.y); // owns rows    m = row0 + ${4 * WY} * i + 4 * ty + (0..3)`);
  p(`let t = ty * ${WX} + tx;`);
  p(`var acc: array<array<vec4<f32>, ${GN}>, ${c.TM}>;`);
  p(`var a_stage: array<${A.stageType}, ${A.perThread}>;`);
  p(`var b_stage: array<${B.stageType}, ${B.perThread}>;`);
  p('');
  p('// The first slab: load, store into tile 0, wait.');
  p('var k0 = k_begin;');
  body.push(...A.load.map((l) => `  ${l}`), ...B.load.map((l) => `  ${l}`));
  body.push(...A.store('0').map((l) => `  ${l}`), ...B.store('0').map((l) => `  ${l}`));
  p('workgroupBarrier();');
  p('var buf = 0;');
  p('for (; k0 < k_end; k0 += BK) {');
  p('  // Load the next slab into registers (uniform condition: every invocation takes the same branch).');
  p('  let more = k0 + BK < k_end;');
  p('  if (more) {');
  p('    let k_next = k0 + BK;');
  const next = (l: string): string => `    ${l.replace('k0 + kk', 'k_next + kk')}`;
  body.push(...A.load.map(next), ...B.load.map(next));
  p('  }');
  p(`  let a_at = buf * ${(c.BK * c.BM) / 4};`);
  p(`  let b_at = buf * ${(c.BK * c.BN) / 4};`);
  p('  for (var kk = 0; kk < BK; kk++) {');
  for (let g = 0; g < GM; g++) p(`    let a${g} = a_tile[a_at + kk * ${c.BM / 4} + ${g * WY} + ty];`);
  for (let h = 0; h < GN; h++) p(`    let b${h} = b_tile[b_at + kk * ${c.BN / 4} + ${h * WX} + tx];`);
  for (let g = 0; g < GM; g++) {
    for (let r = 0; r < 4; r++) {
      const row = g * 4 + r;
      const fmas = Array.from({ length: GN }, (_, h) => `acc[${row}][${h}] = fma(vec4<f32>(a${g}[${r}]), b${h}, acc[${row}][${h}]);`);
      p(`    ${fmas.join(' ')}`);
    }
  }
  p('  }');
  p('  // Store the next slab into the other tile (last read before the previous barrier), then wait.');
  p('  if (more) {');
  p('    let nb = 1 - buf;');
  body.push(...A.store('nb').map((l) => `    ${l}`), ...B.store('nb').map((l) => `    ${l}`));
  p('  }');
  p('  workgroupBarrier();');
  p('  buf = 1 - buf;');
  p('}');
  p('');
  p('// Write the blocks, skipping rows and columns past the ragged edges.');
  p(`for (var i = 0; i < ${c.TM}; i++) {`);
  p(`  let m = row0 + ${4 * WY} * (i / 4) + 4 * ty + i % 4;`);
  p('  if (m >= params.m) { continue; }');
  p(`  for (var j = 0; j < ${GN}; j++) {`);
  p(`    let n = col0 + ${4 * WX} * j + 4 * tx;`);
  if (c.cVec4) {
    p('    if (n < params.n) { c[(c_base + m * params.c_row_stride + n) / 4] = acc[i][j]; }');
  } else {
    p('    for (var lane = 0; lane < 4; lane++) {');
    p(`      if (n + lane < params.n) { ${storeC(spec, '(n + lane)', 'acc[i][j][lane]', helpers)} }`);
    p('    }');
  }
  p('  }');
  p('}');

  const storageBindings = bindings.length;
  return { name, source: gemmModule(header, bindings, params, storageBindings, [...consts, ...epilogueHelpers(helpers)], WX, WY, body), params, storageBindings };
}

/**
 * One operand's slab for the pipelined kernel: `load` reads this invocation's share of the slab at `k0` from global
 * memory into `x_stage` registers (zeros past the ragged edges and past k_end); `store(buf)` writes them into
 * workgroup tile `buf`, whose vec4s run along the free dim.
 */
function stagedLoad(
  x: 'a' | 'b', load: OperandLoad, F: number, BK: number, threads: number,
  free0: string, freeExtent: string, freeStride: string, kStride: string, freeName: string,
): { stageType: string; perThread: number; load: string[]; store: (buf: string) => string[] } {
  const width = load.vec4 !== null ? 4 : 1;
  const count = (F * BK) / width;
  // Fewer loads than invocations: the first `count` invocations load one each.
  const perThread = Math.max(1, count / threads);
  const partial = count < threads;
  const flag = `params.${x}_fast_${freeName}`;
  const tileSize = (BK * F) / 4;
  const coords = (e: string): string[] => {
    if (load.vec4 === null) return [`let ff = select(${e} / ${BK}, ${e} % ${F}, ${flag} != 0);`, `let kk = select(${e} % ${BK}, ${e} / ${F}, ${flag} != 0);`];
    if (load.vec4 === 'k') return [`let ff = ${e} / ${BK / 4};`, `let kk = (${e} % ${BK / 4}) * 4;`];
    return [`let ff = (${e} % ${F / 4}) * 4;`, `let kk = ${e} / ${F / 4};`];
  };
  const loadLines: string[] = [];
  const storeLines: string[] = [];
  const at = `${x}_base + ${freeName} * ${freeStride} + k * ${kStride}`;
  for (let r = 0; r < perThread; r++) {
    const e = r === 0 ? 't' : `(t + ${r * threads})`;
    loadLines.push(partial ? `if (t < ${count}) {` : '{');
    for (const l of coords(e)) loadLines.push(`  ${l}`);
    loadLines.push(`  let ${freeName} = ${free0} + ff;`, '  let k = k0 + kk;');
    if (load.vec4 === null) {
      loadLines.push(`  ${x}_stage[${r}] = 0.0;`);
      loadLines.push(`  if (${freeName} < ${freeExtent} && k < k_end) { ${x}_stage[${r}] = ${x}[${at}]; }`);
    } else {
      // A vec4 never straddles the edge of its fast dim (vec4Dim); along k, k_chunk and BK are multiples of 4.
      loadLines.push(`  ${x}_stage[${r}] = vec4<f32>();`);
      loadLines.push(`  if (${freeName} < ${freeExtent} && k < k_end) { ${x}_stage[${r}] = ${x}[(${at}) / 4]; }`);
    }
    loadLines.push('}');
    storeLines.push(partial ? `if (t < ${count}) {` : '{');
    for (const l of coords(e)) storeLines.push(`  ${l}`);
    const base = (kk: string): string => `buf_at + ${kk} * ${F / 4} + ff / 4`;
    storeLines.push(`  let buf_at = BUF * ${tileSize};`);
    if (load.vec4 === null) storeLines.push(`  ${x}_tile[${base('kk')}][ff % 4] = ${x}_stage[${r}];`);
    else if (load.vec4 === 'k') storeLines.push(`  for (var lane = 0; lane < 4; lane++) { ${x}_tile[${base('(kk + lane)')}][ff % 4] = ${x}_stage[${r}][lane]; }`);
    else storeLines.push(`  ${x}_tile[${base('kk')}] = ${x}_stage[${r}];`);
    storeLines.push('}');
  }
  return {
    stageType: load.vec4 !== null ? 'vec4<f32>' : 'f32',
    perThread,
    load: loadLines,
    store: (buf) => storeLines.map((l) => l.replace('BUF', buf)),
  };
}
