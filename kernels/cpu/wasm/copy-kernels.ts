/**
 * Copy kernels of 4-byte words as WebAssembly SIMD functions, over whatever memory their module imports:
 * - `t32`, the 4×4-tile transpose, shared by the permute kernel (transpose.ts, in a memory of its own) and the
 *   GEMM's panel packer (gemm.ts, in the GEMM's memory): a tile is four 128-bit loads, eight lane shuffles and
 *   four 128-bit stores;
 * - `rows32`, a strided row copy with zero padding, with which the GEMM stages B rows.
 */
import { FunctionBuilder, ValType } from './emit.js';

/** Columns per block inside the kernel: a block's reads (4 rows × 64 × 4 bytes) and writes stay in L1. */
const BLOCK_COLUMNS = 64;

/** Byte lanes of a shuffle by 32-bit lanes (0-3 of the first vector, 4-7 of the second). */
const lanes32 = (lanes: readonly number[]): number[] => lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]);

/**
 * `t32(src, dst, rows, cols, srcRowBytes, dstRowBytes)`: dst[c][r] = src[r][c] for r < rows, c < cols, both
 * multiples of 4; addresses and row strides in bytes, any alignment.
 */
export function transposeFunction(): FunctionBuilder {
  const I = ValType.I32;
  const f = new FunctionBuilder('t32', ['src', 'dst', 'rows', 'cols', 'sRow', 'dRow'].map((name) => ({ name, type: I })));
  for (const n of ['j0', 'jEnd', 'i', 's', 'd', 'e', 'sRow2', 'sRow3', 'dRow2', 'dRow3', 'dRow4']) f.local(n, I);
  for (const n of ['r0', 'r1', 'r2', 'r3', 't0', 't1', 't2', 't3']) f.local(n, ValType.V128);
  const mem = { offset: 0, alignLog2: 2 };
  f.get('sRow').get('sRow').op('i32.add').set('sRow2');
  f.get('sRow2').get('sRow').op('i32.add').set('sRow3');
  f.get('dRow').get('dRow').op('i32.add').set('dRow2');
  f.get('dRow2').get('dRow').op('i32.add').set('dRow3');
  f.get('dRow3').get('dRow').op('i32.add').set('dRow4');
  f.comment(`blocks of ${BLOCK_COLUMNS} columns; in each, every 4 rows, every 4 columns: one 4x4 tile`);
  f.i32(0).set('j0');
  f.open('block', 'jdone').open('loop', 'jblock');
  f.get('j0').get('cols').op('i32.lt_s').op('i32.eqz').brIf(1, 'jdone');
  f.get('j0').i32(BLOCK_COLUMNS).op('i32.add').set('jEnd');
  f.get('cols').get('jEnd').op('i32.lt_s').open('if', 'clip').get('cols').set('jEnd').end();
  f.i32(0).set('i');
  f.open('block', 'idone').open('loop', 'irows');
  f.get('i').get('rows').op('i32.lt_s').op('i32.eqz').brIf(1, 'idone');
  f.get('src').get('i').get('sRow').op('i32.mul').op('i32.add').get('j0').i32(4).op('i32.mul').op('i32.add').set('s');
  f.get('dst').get('j0').get('dRow').op('i32.mul').op('i32.add').get('i').i32(4).op('i32.mul').op('i32.add').set('d');
  f.get('s').get('jEnd').get('j0').op('i32.sub').i32(4).op('i32.mul').op('i32.add').set('e');
  f.open('block', 'cdone').open('loop', 'tiles');
  f.get('s').get('e').op('i32.lt_u').op('i32.eqz').brIf(1, 'cdone');
  f.comment('four rows of four: r_k = src[i + k][j .. j + 3]');
  f.get('s').simd('v128.load', mem).set('r0');
  f.get('s').get('sRow').op('i32.add').simd('v128.load', mem).set('r1');
  f.get('s').get('sRow2').op('i32.add').simd('v128.load', mem).set('r2');
  f.get('s').get('sRow3').op('i32.add').simd('v128.load', mem).set('r3');
  f.comment('interleave pairs of rows, then pairs of pairs: column m of the tile becomes row m');
  f.get('r0').get('r1').shuffle(lanes32([0, 4, 1, 5])).set('t0');
  f.get('r0').get('r1').shuffle(lanes32([2, 6, 3, 7])).set('t1');
  f.get('r2').get('r3').shuffle(lanes32([0, 4, 1, 5])).set('t2');
  f.get('r2').get('r3').shuffle(lanes32([2, 6, 3, 7])).set('t3');
  f.get('d').get('t0').get('t2').shuffle(lanes32([0, 1, 4, 5])).simd('v128.store', mem);
  f.get('d').get('dRow').op('i32.add').get('t0').get('t2').shuffle(lanes32([2, 3, 6, 7])).simd('v128.store', mem);
  f.get('d').get('dRow2').op('i32.add').get('t1').get('t3').shuffle(lanes32([0, 1, 4, 5])).simd('v128.store', mem);
  f.get('d').get('dRow3').op('i32.add').get('t1').get('t3').shuffle(lanes32([2, 3, 6, 7])).simd('v128.store', mem);
  f.get('s').i32(16).op('i32.add').set('s');
  f.get('d').get('dRow4').op('i32.add').set('d');
  f.br(0, 'tiles').end().end();
  f.get('i').i32(4).op('i32.add').set('i');
  f.br(0, 'irows').end().end();
  f.get('j0').i32(BLOCK_COLUMNS).op('i32.add').set('j0');
  f.br(0, 'jblock').end().end();
  return f;
}

/**
 * `rows32(src, dst, rows, cols, pad, srcRowBytes, dstRowBytes)`: for r < rows, dst[r][c] = src[r][c] for c < cols
 * and dst[r][c] = 0 for cols <= c < pad; 128-bit moves, then word by word for the last cols mod 4 and the padding.
 */
export function rowCopyFunction(): FunctionBuilder {
  const I = ValType.I32;
  const f = new FunctionBuilder('rows32',
    ['src', 'dst', 'rows', 'cols', 'pad', 'sRow', 'dRow'].map((name) => ({ name, type: I })));
  for (const n of ['s', 'd', 'e', 'end', 'z']) f.local(n, I);
  const vec = { offset: 0, alignLog2: 2 };
  f.open('block', 'rdone').open('loop', 'rows');
  f.get('rows').op('i32.eqz').brIf(1, 'rdone');
  f.get('src').set('s').get('dst').set('d');
  f.get('src').get('cols').i32(4).op('i32.mul').op('i32.add').set('end');
  f.get('src').get('cols').i32(-4).op('i32.and').i32(4).op('i32.mul').op('i32.add').set('e');
  f.comment('whole vectors of the row');
  f.open('block', 'vdone').open('loop', 'vectors');
  f.get('s').get('e').op('i32.lt_u').op('i32.eqz').brIf(1, 'vdone');
  f.get('d').get('s').simd('v128.load', vec).simd('v128.store', vec);
  f.get('s').i32(16).op('i32.add').set('s');
  f.get('d').i32(16).op('i32.add').set('d');
  f.br(0, 'vectors').end().end();
  f.comment('the last cols mod 4 words');
  f.open('block', 'wdone').open('loop', 'words');
  f.get('s').get('end').op('i32.lt_u').op('i32.eqz').brIf(1, 'wdone');
  f.get('d').get('s').mem32('i32.load', vec).mem32('i32.store', vec);
  f.get('s').i32(4).op('i32.add').set('s');
  f.get('d').i32(4).op('i32.add').set('d');
  f.br(0, 'words').end().end();
  f.comment('zero padding up to pad words');
  f.get('dst').get('pad').i32(4).op('i32.mul').op('i32.add').set('z');
  f.open('block', 'zdone').open('loop', 'zeros');
  f.get('d').get('z').op('i32.lt_u').op('i32.eqz').brIf(1, 'zdone');
  f.get('d').i32(0).mem32('i32.store', vec);
  f.get('d').i32(4).op('i32.add').set('d');
  f.br(0, 'zeros').end().end();
  f.get('src').get('sRow').op('i32.add').set('src');
  f.get('dst').get('dRow').op('i32.add').set('dst');
  f.get('rows').i32(1).op('i32.sub').set('rows');
  f.br(0, 'rows').end().end();
  return f;
}
