/**
 * LoopSpec → WGSL, the 'transpose' shape: a copy (or cast) of one input whose fastest-moving loop differs from
 * the output's, as in `b c h w -> b h w c`.
 *
 * One workgroup moves a TILE×TILE tile indexed by (a, b), where `a` walks the loop along which the input is
 * contiguous and `b` the loop along which the output is contiguous. Invocations first read the tile with
 * neighbouring invocations on neighbouring input addresses (along a) into workgroup memory, then, after a
 * barrier, write it with neighbouring invocations on neighbouring output addresses (along b). Rows of the
 * tile are padded by one element so that both phases hit distinct workgroup-memory banks. Every other loop is
 * folded, with the tiles, into one linear workgroup id. Sizes, strides and offsets are params as in the
 * other loop kernels, so one pipeline serves every shape with the same key.
 */

import type { LoopSpec } from '../../src/lower/spec.js';
import { EinjitError } from '../../src/errors.js';
import { ParamsLayout } from './params.js';
import { Helpers, computeMode, renderExpr } from './expr.js';
import { bindingDecl, foldGrid, loadAs, storeAs } from './common.js';
import { gpuDType, storageType } from './dtypes.js';

/** Invocations per transpose workgroup. */
const TRANSPOSE_WORKGROUP_SIZE = 256;

export type TransposeTile = 32 | 64;

import { transposeDims } from '../../src/lower/loops.js';
export { transposeDims } from '../../src/lower/loops.js';

export interface RenderedTranspose {
  readonly name: string;
  readonly source: string;
  readonly params: ParamsLayout;
  readonly storageBindings: number;
}

/** Renders the transpose kernel for `spec` (which must have `transposeDims`). */
export function renderTranspose(spec: LoopSpec, tile: TransposeTile, f16: boolean, name: string): RenderedTranspose {
  const dims = transposeDims(spec);
  if (dims === null) throw new EinjitError('not a transposing copy', { op: name });
  const { a, b } = dims;
  const mode = computeMode(gpuDType(spec.computeType, name));
  const T = mode.type;
  const helpers = new Helpers();
  const params = new ParamsLayout();
  const rank = spec.sizes.length;
  const inDType = gpuDType(spec.inputs[0]!.dtype, name);
  const outDType = gpuDType(spec.output.dtype, name);
  const rows = TRANSPOSE_WORKGROUP_SIZE / tile; // tile rows handled per pass
  const others = Array.from({ length: rank }, (_, d) => d).filter((d) => d !== a && d !== b);

  // ---- params ----
  const size = spec.sizes.map((_, d) => params.field(`size${d}`, d === a ? 'loop a (input contiguous)' : d === b ? 'loop b (output contiguous)' : 'loop'));
  const inOffset = params.field('in0_offset');
  const inStride = spec.sizes.map((_, d) => params.field(`in0_stride${d}`));
  const outOffset = params.field('out_offset');
  const outStride = spec.sizes.map((_, d) => params.field(`out_stride${d}`));
  const tilesA = params.field('tiles_a', `tiles along loop a (size${a} / ${tile}, rounded up)`);
  const tilesB = params.field('tiles_b', `tiles along loop b (size${b} / ${tile}, rounded up)`);
  const tileCount = params.field('tile_count', 'tiles_a * tiles_b * the other loops');

  // ---- bindings ----
  const bindings = [
    bindingDecl(0, 'in0', 'read', storageType(inDType, f16), `input 0, ${inDType}`),
    bindingDecl(1, 'out', 'read_write', storageType(outDType, f16), `output, ${outDType}`),
  ];

  const load = (): string =>
    mode.asBool && inDType !== 'bool' ? `i32(in0[in0_at] != 0)` : loadAs(`in0[in0_at]`, inDType, f16, T);
  const exprCode = renderExpr(spec.expr, mode, helpers, load);
  if (outDType === 'float16' && !f16) helpers.use('round_f16');

  const body: string[] = [];
  body.push('  // The tiles this workgroup moves: its linear id, then every (grid size)-th tile after it (the grid may be');
  body.push('  // folded, or smaller than the tile count; the loop bound is workgroup-uniform, so the barriers are valid).');
  body.push('  let grid = i32(nwg.x * nwg.y);');
  body.push(`  for (var tile = i32(wid.y * nwg.x + wid.x); tile < ${tileCount}; tile += grid) {`);
  body.push(`  let a0 = (tile % ${tilesA}) * TILE;`);
  body.push(`  var rest = tile / ${tilesA};`);
  body.push(`  let b0 = (rest % ${tilesB}) * TILE;`);
  body.push(`  rest = rest / ${tilesB};`);
  for (let j = others.length - 1; j >= 0; j--) {
    const d = others[j]!;
    body.push(j > 0 ? `  let p${d} = rest % ${size[d]}; rest = rest / ${size[d]};` : `  let p${d} = rest;`);
  }
  const base = (offset: string, strides: string[]): string => [offset, ...others.map((d) => `p${d} * ${strides[d]}`)].join(' + ');
  body.push(`  let in_base = ${base(inOffset, inStride)};`);
  body.push(`  let out_base = ${base(outOffset, outStride)};`);
  body.push('  let tx = i32(lid.x);');
  body.push('  let ty = i32(lid.y);');
  body.push('');
  body.push('  // Read: neighbouring invocations walk loop a, where the input is contiguous.');
  body.push(`  let pa = a0 + tx;`);
  body.push(`  for (var j = 0; j < TILE; j += ${rows}) {`);
  body.push('    let pb = b0 + ty + j;');
  body.push(`    if (pa < ${size[a]} && pb < ${size[b]}) {`);
  body.push(`      let in0_at = in_base + pa * ${inStride[a]} + pb * ${inStride[b]};`);
  body.push(...exprCode.lines.map((l) => '      ' + l));
  body.push(`      tile_mem[(ty + j) * (TILE + 1) + tx] = ${exprCode.result};`);
  body.push('    }');
  body.push('  }');
  body.push('  workgroupBarrier();');
  body.push('');
  body.push('  // Write: neighbouring invocations walk loop b, where the output is contiguous.');
  body.push('  let qb = b0 + tx;');
  body.push(`  for (var j = 0; j < TILE; j += ${rows}) {`);
  body.push('    let qa = a0 + ty + j;');
  body.push(`    if (qa < ${size[a]} && qb < ${size[b]}) {`);
  body.push(`      out[out_base + qa * ${outStride[a]} + qb * ${outStride[b]}] = ${storeAs(`tile_mem[tx * (TILE + 1) + ty + j]`, T, outDType, f16)};`);
  body.push('    }');
  body.push('  }');
  body.push('  workgroupBarrier(); // the next tile overwrites tile_mem');
  body.push('  }');

  const header = [
    `// einjit loop kernel ${name}: ${spec.label}`,
    `// Tiled transpose: ${rank} loops, loop ${a} contiguous in the input (a), loop ${b} contiguous in the output (b); ` +
      `${inDType} -> ${outDType}${mode.roundF16 ? ' (float16)' : ''}.`,
    `// ${tile}x${tile} tiles through workgroup memory (rows padded by one), ${tile}x${rows} invocations per workgroup;`,
    '// tiles and the other loops are folded into one linear workgroup id over (x, y).',
  ];
  const usesF16 = f16 && (inDType === 'float16' || outDType === 'float16');
  const source = [
    ...header,
    '',
    ...(usesF16 ? ['enable f16;', ''] : []),
    ...bindings,
    params.render(2),
    '',
    ...(helpers.render() ? [helpers.render()] : []),
    `const TILE = ${tile};`,
    `var<workgroup> tile_mem: array<${T}, ${tile * (tile + 1)}>;`,
    '',
    `@compute @workgroup_size(${tile}, ${rows})`,
    'fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {',
    ...body,
    '}',
    '',
  ].join('\n');
  return { name, source, params, storageBindings: 2 };
}

function tiles(spec: LoopSpec, tile: TransposeTile): { a: number; b: number; count: number } {
  const dims = transposeDims(spec)!;
  const ta = Math.ceil(spec.sizes[dims.a]! / tile);
  const tb = Math.ceil(spec.sizes[dims.b]! / tile);
  let count = ta * tb;
  spec.sizes.forEach((n, d) => { if (d !== dims.a && d !== dims.b) count *= n; });
  return { a: ta, b: tb, count };
}

/** The params values of one transpose launch, by field name. */
export function transposeParamValues(spec: LoopSpec, tile: TransposeTile): Map<string, number> {
  const v = new Map<string, number>();
  spec.sizes.forEach((s, d) => v.set(`size${d}`, s));
  const input = spec.inputs[0]!;
  v.set('in0_offset', input.offset);
  spec.sizes.forEach((_, d) => v.set(`in0_stride${d}`, input.strides[d] ?? 0));
  v.set('out_offset', spec.output.offset);
  spec.sizes.forEach((_, d) => v.set(`out_stride${d}`, spec.output.strides[d] ?? 0));
  const t = tiles(spec, tile);
  v.set('tiles_a', t.a);
  v.set('tiles_b', t.b);
  v.set('tile_count', t.count);
  return v;
}

/**
 * One workgroup per tile, or at most `cap` workgroups (each then moves every cap-th tile: the workgroup's set-up,
 * including the zeroing of workgroup memory WebGPU implementations add, is paid once for several tiles).
 */
export function transposeGrid(spec: LoopSpec, tile: TransposeTile, name: string, cap = 0): [number, number, number] {
  const count = tiles(spec, tile).count;
  return foldGrid(cap > 0 ? Math.min(count, cap) : count, name);
}
