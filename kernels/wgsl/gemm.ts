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
import { specKey } from '../../src/lower/spec.js';
import { ParamsLayout } from './params.js';
import { bindingDecl, foldGrid, MAX_GRID_DIM } from './common.js';
import type { RenderedKernel } from './loop.js';

/** The compiled-in shape of a GEMM kernel's tiles (what the tile chooser picks, and what a sweep can pin). */
export interface GemmTileShape {
  readonly BM: number;
  readonly BN: number;
  readonly BK: number;
  readonly TM: number;
  readonly TN: number;
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
}

const SMALL = { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4 } as const;
const LARGE = { BM: 128, BN: 128, BK: 16, TM: 8, TN: 8 } as const;
const LARGE_MIN_WORKGROUPS = 256;

/**
 * Tile shapes the device benchmark's sweep times on every GEMM workload (besides 'small' and 'large'), so the
 * chooser's table can be set from measured figures. Each is a valid shape: BM/TM × BN/TN ≤ 256 invocations,
 * (BM + BN)·BK·4 bytes of workgroup memory ≤ 16 KiB.
 */
export const GEMM_SWEEP_SHAPES: readonly GemmTileShape[] = [
  { BM: 128, BN: 64, BK: 16, TM: 8, TN: 4 },
  { BM: 64, BN: 128, BK: 16, TM: 4, TN: 8 },
  { BM: 128, BN: 128, BK: 8, TM: 8, TN: 8 },
  { BM: 64, BN: 64, BK: 32, TM: 4, TN: 4 },
  { BM: 32, BN: 64, BK: 32, TM: 2, TN: 4 },
];

export function chooseGemmConfig(spec: GemmSpec, choice: GemmTileChoice, limits: { maxComputeWorkgroupStorageSize: number }): GemmConfig {
  const largeFits = (LARGE.BM + LARGE.BN) * LARGE.BK * 4 <= limits.maxComputeWorkgroupStorageSize;
  // 128×128 tiles only when they still give the GPU enough workgroups (1024³ has just 64 of them).
  const batch = spec.batch.reduce((a, b) => a * b, 1);
  const largeTiles = Math.ceil(spec.m / LARGE.BM) * Math.ceil(spec.n / LARGE.BN) * batch;
  const large = choice === 'large' ? largeFits : choice === 'auto' && largeFits && largeTiles >= LARGE_MIN_WORKGROUPS;
  const tiles = typeof choice === 'object' ? choice : large ? LARGE : SMALL;
  return {
    ...tiles,
    a: { vec4: vec4Dim(spec.a, spec.m, spec.k, 'row') },
    b: { vec4: vec4Dim(spec.b, spec.n, spec.k, 'col') },
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
  return `${c.BM}x${c.BN}x${c.BK}_${c.TM}x${c.TN}_a${op(c.a, 'm')}_b${op(c.b, 'n')}`;
}

export function gemmKernelKey(spec: GemmSpec, config: GemmConfig): string {
  return `${specKey(spec)}|${configTag(config)}`;
}

export function renderGemm(spec: GemmSpec, c: GemmConfig): RenderedKernel {
  const nb = spec.batch.length;
  const name = `gemm_b${nb}_${configTag(c)}`;
  const WX = c.BN / c.TN;
  const WY = c.BM / c.TM;
  const threads = WX * WY;
  const params = new ParamsLayout();
  params.field('m');
  params.field('n');
  params.field('k');
  for (let d = 0; d < nb; d++) params.field(`batch${d}`, `batch dim ${d}`);
  for (const x of ['a', 'b', 'c']) {
    params.field(`${x}_offset`);
    for (let d = 0; d < nb; d++) params.field(`${x}_batch_stride${d}`);
    params.field(`${x}_row_stride`, x === 'a' ? 'along m' : x === 'b' ? 'along k' : 'along m');
    params.field(`${x}_col_stride`, x === 'a' ? 'along k' : x === 'b' ? 'along n' : 'along n');
  }
  if (c.a.vec4 === null) params.field('a_fast_m', '1: neighbouring invocations load along m, 0: along k');
  if (c.b.vec4 === null) params.field('b_fast_n', '1: neighbouring invocations load along n, 0: along k');
  params.field('tiles_n', `ceil(n / ${c.BN})`);
  params.field('tiles_m', `ceil(m / ${c.BM})`);
  params.field('tile_count', 'tiles_n * tiles_m * batch size');

  const describe = (o: OperandLoad, free: string): string =>
    o.vec4 === null ? `scalar loads along its smaller stride` : `vec4 loads along ${o.vec4 === 'k' ? 'k' : free}`;
  const header = [
    `// einjit GEMM kernel ${name}: ${spec.label}`,
    `// C[b, m, n] = sum_k A[b, m, k] * B[b, k, n], float32, ${nb} batch dim${nb === 1 ? '' : 's'}, all operands strided.`,
    `// Tile: ${c.BM}x${c.BN} of C per workgroup, k in steps of ${c.BK}; ${WY}x${WX} invocations, each ${c.TM}x${c.TN} elements of C`,
    `// in registers, interleaved (rows ty + ${WY}i, columns tx + ${WX}j) so neighbouring invocations read neighbouring`,
    `// workgroup-memory banks and write neighbouring addresses. A: ${describe(c.a, 'm')}; B: ${describe(c.b, 'n')}.`,
  ];
  const bindings = [
    bindingDecl(0, 'a', 'read', c.a.vec4 ? 'vec4<f32>' : 'f32', 'A'),
    bindingDecl(1, 'b', 'read', c.b.vec4 ? 'vec4<f32>' : 'f32', 'B'),
    bindingDecl(2, 'c', 'read_write', 'f32', 'C'),
  ];
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
  p('    c[c_base + m * params.c_row_stride + n * params.c_col_stride] = acc[i][j];');
  p('  }');
  p('}');

  const source = [
    ...header,
    '',
    ...bindings,
    params.render(3),
    '',
    ...consts,
    '',
    `@compute @workgroup_size(${WX}, ${WY})`,
    'fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {',
    ...body,
    '}',
    '',
  ].join('\n');
  return { name, source, params, storageBindings: 3 };
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

export function gemmParamValues(spec: GemmSpec, c: GemmConfig): Map<string, number> {
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
  if (c.a.vec4 === null) v.set('a_fast_m', fastDim(spec.a, 'row') === 'free' ? 1 : 0);
  if (c.b.vec4 === null) v.set('b_fast_n', fastDim(spec.b, 'col') === 'free' ? 1 : 0);
  const tilesN = Math.ceil(spec.n / c.BN);
  const tilesM = Math.ceil(spec.m / c.BM);
  v.set('tiles_n', tilesN);
  v.set('tiles_m', tilesM);
  v.set('tile_count', tilesN * tilesM * spec.batch.reduce((a, b) => a * b, 1));
  return v;
}

export function gemmGrid(spec: GemmSpec, c: GemmConfig, name: string): [number, number, number] {
  const tilesN = Math.ceil(spec.n / c.BN);
  const tilesM = Math.ceil(spec.m / c.BM);
  const batch = spec.batch.reduce((a, b) => a * b, 1);
  if (tilesN <= MAX_GRID_DIM && tilesM <= MAX_GRID_DIM && batch <= MAX_GRID_DIM) return [tilesN, tilesM, batch];
  return foldGrid(tilesN * tilesM * batch, name);
}
