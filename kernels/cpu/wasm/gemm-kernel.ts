/**
 * Generates the WebAssembly SIMD macro-kernel of the CPU GEMM: for every MR×NR tile of a packed block, a
 * register-blocked micro-kernel keeps MR·NR/lanes vector accumulators in locals, runs the K loop unrolled by U
 * over the packed panels, then writes (first K block) or adds (later blocks) the tile into the C staging buffer.
 *
 * Packed layout (all in the module's linear memory, byte addresses):
 * - A: panels of MR rows, each `kc`-deep slice contiguous as [k][MR] (one splat load per row and k);
 * - B: panels of NR columns, row k of a panel `ldb` bytes after row k - 1 (NR/lanes vector loads per k): packed
 *   panels have ldb = NR·bytes, and B staged row by row (when its columns are contiguous) has ldb = its row length;
 * - C staging: row-major with leading dimension `ldc` bytes, padded to whole tiles, so no tile is partial.
 *
 * Export `macro(a, b, c, mp, np, kc, ldc, aps, bps, ldb, first)`: `mp`/`np` tiles down/across (both ≥ 1), `kc` a
 * positive multiple of U, `aps`/`bps` the byte distance between consecutive A/B panels, `first` ≠ 0 to overwrite.
 */

import { buildModule, FunctionBuilder, ValType } from './emit.js';

export interface WasmTile {
  readonly dtype: 'float32' | 'float64';
  /** Rows per tile. */
  readonly mr: number;
  /** Columns per tile; a multiple of the vector lane count. */
  readonly nr: number;
  /** K-loop unroll factor. */
  readonly unroll: number;
  /**
   * Accumulate with relaxed SIMD's `relaxed_madd` (one fused multiply-add, one rounding) instead of `mul` then
   * `add`; the module then validates only where the engine has relaxed SIMD.
   */
  readonly fma?: boolean;
}

/** Bytes of the memory import's page limits: the kernels import `env.mem`. */
export interface WasmMemoryLimits {
  readonly minPages: number;
  readonly maxPages: number;
  readonly shared: boolean;
}

export function generateGemmWasm(tile: WasmTile, memory: WasmMemoryLimits): { bytes: Uint8Array; text: string } {
  const { mr, nr, unroll } = tile;
  const bytes = tile.dtype === 'float32' ? 4 : 8;
  const lanes = 16 / bytes;
  const nv = nr / lanes;
  if (!Number.isInteger(nv) || nv < 1) throw new Error(`gemm wasm: NR=${nr} is not a multiple of ${lanes}`);
  const add = tile.dtype === 'float32' ? 'f32x4.add' : 'f64x2.add';
  const mul = tile.dtype === 'float32' ? 'f32x4.mul' : 'f64x2.mul';
  const madd = tile.dtype === 'float32' ? 'f32x4.relaxed_madd' : 'f64x2.relaxed_madd';
  const splat = tile.dtype === 'float32' ? 'v128.load32_splat' : 'v128.load64_splat';
  const alignLog2 = bytes === 4 ? 2 : 3;

  const I = ValType.I32;
  const f = new FunctionBuilder('macro', [
    { name: 'a', type: I }, { name: 'b', type: I }, { name: 'c', type: I }, { name: 'mp', type: I },
    { name: 'np', type: I }, { name: 'kc', type: I }, { name: 'ldc', type: I }, { name: 'aps', type: I },
    { name: 'bps', type: I }, { name: 'ldb', type: I }, { name: 'first', type: I },
  ]);
  for (const name of ['j', 'i', 'p', 'ai', 'ap', 'bp', 'cj', 'ci', 'cr']) f.local(name, I);
  const acc = (r: number, v: number): string => `c${r}_${v}`;
  for (let r = 0; r < mr; r++) for (let v = 0; v < nv; v++) f.local(acc(r, v), ValType.V128);
  for (let v = 0; v < nv; v++) f.local(`b${v}`, ValType.V128);
  f.local('av', ValType.V128);

  f.comment(`${tile.dtype} tile ${mr}x${nr}, ${mr * nv} accumulators, K unrolled by ${unroll}, ` +
    `${tile.fma === true ? `fused multiply-add (${madd})` : `${mul} then ${add}`}`);
  f.get('c').set('cj').get('np').set('j');
  f.open('loop', 'columns');
  f.get('a').set('ai').get('cj').set('ci').get('mp').set('i');
  f.open('loop', 'rows');
  for (let r = 0; r < mr; r++) for (let v = 0; v < nv; v++) f.v128Zero().set(acc(r, v));
  f.get('ai').set('ap').get('b').set('bp').get('kc').set('p');
  f.open('loop', 'k');
  for (let u = 0; u < unroll; u++) {
    f.comment(`k + ${u}`);
    for (let v = 0; v < nv; v++) {
      f.get('bp').simd('v128.load', { offset: v * lanes * bytes, alignLog2: 4 }).set(`b${v}`);
    }
    f.get('bp').get('ldb').op('i32.add').set('bp');
    for (let r = 0; r < mr; r++) {
      f.get('ap').simd(splat, { offset: (u * mr + r) * bytes, alignLog2 }).set('av');
      for (let v = 0; v < nv; v++) {
        if (tile.fma === true) f.get('av').get(`b${v}`).get(acc(r, v)).simd(madd).set(acc(r, v));
        else f.get(acc(r, v)).get('av').get(`b${v}`).simd(mul).simd(add).set(acc(r, v));
      }
    }
  }
  f.get('ap').i32(unroll * mr * bytes).op('i32.add').set('ap');
  f.get('p').i32(unroll).op('i32.sub').tee('p').brIf(0, 'k');
  f.end();
  f.comment('write or accumulate the tile into C staging');
  f.get('ci').set('cr');
  f.get('first').open('if', 'overwrite');
  for (let r = 0; r < mr; r++) {
    for (let v = 0; v < nv; v++) f.get('cr').get(acc(r, v)).simd('v128.store', { offset: v * 16, alignLog2: 4 });
    if (r + 1 < mr) f.get('cr').get('ldc').op('i32.add').set('cr');
  }
  f.else();
  for (let r = 0; r < mr; r++) {
    for (let v = 0; v < nv; v++) {
      f.get('cr').get('cr').simd('v128.load', { offset: v * 16, alignLog2: 4 }).get(acc(r, v)).simd(add)
        .simd('v128.store', { offset: v * 16, alignLog2: 4 });
    }
    if (r + 1 < mr) f.get('cr').get('ldc').op('i32.add').set('cr');
  }
  f.end();
  f.get('ai').get('aps').op('i32.add').set('ai');
  f.get('ci').get('ldc').i32(mr).op('i32.mul').op('i32.add').set('ci');
  f.get('i').i32(1).op('i32.sub').tee('i').brIf(0, 'rows');
  f.end();
  f.get('b').get('bps').op('i32.add').set('b');
  f.get('cj').i32(nr * bytes).op('i32.add').set('cj');
  f.get('j').i32(1).op('i32.sub').tee('j').brIf(0, 'columns');
  f.end();

  return buildModule({ module: 'env', name: 'mem', ...memory }, [f]);
}
