/**
 * The permute of 4-byte elements (float32, int32) as a WebAssembly SIMD kernel: 4×4 tiles moved as four 128-bit
 * loads, eight lane shuffles and four 128-bit stores, where the JavaScript blocked transpose (loop.ts) moves one
 * scalar at a time. It is the copy behind `b c h w -> b h w c`, `.contiguous()` after a permute and einsum's
 * output permutes.
 *
 * The tensors live in JavaScript buffers, not in a Wasm memory, so the kernel works through a small memory of its
 * own: each chunk of the plane being transposed (the loops `a`, contiguous in the input, and `b`, contiguous in
 * the output; see transposeDims) is copied in with `TypedArray.set` (one memmove per input row, or one for the
 * chunk when its rows are adjacent), transposed inside the memory, and copied out the same way. The copies run at
 * memory speed and a chunk (at most CHUNK_ELEMENTS per side) stays in the L2 cache between them; on a
 * 32×64×56×56 permute the whole is 2.2× the JavaScript kernel (3.4 against 7.6 ms on the development machine).
 * Bits move unchanged (a NaN's payload included).
 *
 * Without WebAssembly (or SIMD, or under a Content-Security-Policy that refuses compiling it) nothing here runs
 * and loop.ts keeps its JavaScript kernel.
 */
import type { LoopSpec } from '../../src/lower/spec.js';
import type { TransposeDims } from '../../src/lower/loops.js';
import { wasmAllowed } from '../../src/platform/index.js';
import { FunctionBuilder, ValType, buildModule } from './wasm/emit.js';
import { forEachPoint } from './odometer.js';
import { wasmApi, type WasmMemory } from './wasm/api.js';

/** Columns per block inside the kernel: a block's reads (4 rows × 64 × 4 bytes) and writes stay in L1. */
const BLOCK_COLUMNS = 64;
/** Elements per side of one chunk: 256 Ki elements (1 MiB in, 1 MiB out). */
const CHUNK_ELEMENTS = 1 << 18;
/** The kernel's memory: two chunks (in and out) of CHUNK_ELEMENTS words, 2 MiB, allocated once. */
const PAGES = (2 * CHUNK_ELEMENTS * 4) / 65536;
/** Smaller permutes stay with the JavaScript kernel (the chunk copies and the call are not worth it). */
export const WASM_TRANSPOSE_MIN_ELEMENTS = 1 << 14;

/** Byte lanes of a shuffle by 32-bit lanes (0-3 of the first vector, 4-7 of the second). */
const lanes32 = (lanes: readonly number[]): number[] => lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]);

/**
 * `t32(src, dst, rows, cols, srcRowBytes, dstRowBytes)`: dst[c][r] = src[r][c] for r < rows, c < cols, both
 * multiples of 4; addresses and row strides in bytes.
 */
export function transposeModule(): { bytes: Uint8Array; text: string } {
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
  return buildModule({ module: 'env', name: 'memory', minPages: PAGES, maxPages: PAGES, shared: false }, [f]);
}

type Word = Float32Array | Int32Array;

interface Engine {
  readonly memory: WasmMemory;
  readonly t32: (src: number, dst: number, rows: number, cols: number, sRow: number, dRow: number) => void;
  f32: Float32Array;
  i32: Int32Array;
}

let engine: Engine | null | undefined;

function getEngine(): Engine | null {
  if (engine !== undefined) return engine;
  engine = null;
  if (wasmApi === undefined || !wasmAllowed()) return engine;
  try {
    const { bytes } = transposeModule();
    if (!wasmApi.validate(bytes)) return engine;
    const memory = new wasmApi.Memory({ initial: PAGES, maximum: PAGES });
    const instance = new wasmApi.Instance(new wasmApi.Module(bytes), { env: { memory } });
    const t32 = instance.exports['t32'] as Engine['t32'];
    engine = { memory, t32, f32: new Float32Array(memory.buffer), i32: new Int32Array(memory.buffer) };
  } catch {
    engine = null;
  }
  return engine;
}

/** Whether `spec` (a permute, `dims` its transpose loops) runs on the Wasm kernel here. */
export function wasmTransposeApplies(spec: LoopSpec, dims: TransposeDims | null): boolean {
  if (dims === null || spec.expr.kind !== 'input') return false; // a cast converts: the JavaScript kernel does it
  const dtype = spec.output.dtype;
  if ((dtype !== 'float32' && dtype !== 'int32') || spec.inputs[0]!.dtype !== dtype) return false;
  if (spec.sizes.reduce((n, s) => n * s, 1) < WASM_TRANSPOSE_MIN_ELEMENTS) return false;
  return wasmAllowed() && getEngine() !== null;
}

/**
 * Runs the permute `spec` (for which wasmTransposeApplies) from x into out, which must not share memory.
 * Loop `a` is contiguous in x, loop `b` in out; every other loop walks planes.
 */
export function runWasmTranspose(spec: LoopSpec, { a, b }: TransposeDims, x: Word, out: Word): void {
  const e = getEngine()!;
  const mem = x instanceof Float32Array ? e.f32 : e.i32;
  const sizes = spec.sizes;
  const xs = spec.inputs[0]!.strides;
  const os = spec.output.strides;
  const na = sizes[a]!;
  const nb = sizes[b]!;
  const sB = xs[b]!; // input stride between rows (along b)
  const tA = os[a]!; // output stride between rows (along a)
  // A chunk: up to 1024 rows of b, and as many columns of a as fit CHUNK_ELEMENTS (a multiple of 4).
  const rowsPer = Math.min(nb, 1024);
  const colsPer = Math.max(4, Math.min(na, Math.floor(CHUNK_ELEMENTS / rowsPer) & ~3));
  const others = sizes.map((_, d) => d).filter((d) => d !== a && d !== b);
  const dst = CHUNK_ELEMENTS; // word address of the transposed chunk
  forEachPoint(sizes, others, xs, os, spec.inputs[0]!.offset, spec.output.offset, (xPlane, oPlane) => {
    for (let b0 = 0; b0 < nb; b0 += rowsPer) {
      const rows = Math.min(rowsPer, nb - b0);
      for (let a0 = 0; a0 < na; a0 += colsPer) {
        const cols = Math.min(colsPer, na - a0);
        // In: rows × cols, packed.
        const x0 = xPlane + b0 * sB + a0;
        if (sB === cols) mem.set(x.subarray(x0, x0 + rows * cols), 0);
        else for (let r = 0; r < rows; r++) mem.set(x.subarray(x0 + r * sB, x0 + r * sB + cols), r * cols);
        const rows4 = rows & ~3;
        const cols4 = cols & ~3;
        if (rows4 > 0 && cols4 > 0) e.t32(0, dst * 4, rows4, cols4, cols * 4, rows * 4);
        // The ragged edges (rows4..rows, and cols4..cols of the first rows4), word by word as raw bits.
        const w = e.i32;
        for (let r = rows4; r < rows; r++) for (let c = 0; c < cols; c++) w[dst + c * rows + r] = w[r * cols + c]!;
        for (let r = 0; r < rows4; r++) for (let c = cols4; c < cols; c++) w[dst + c * rows + r] = w[r * cols + c]!;
        // Out: cols rows of `rows` words each.
        const o0 = oPlane + a0 * tA + b0;
        if (tA === rows) out.set(mem.subarray(dst, dst + rows * cols), o0);
        else for (let c = 0; c < cols; c++) out.set(mem.subarray(dst + c * rows, dst + (c + 1) * rows), o0 + c * tA);
      }
    }
  });
}

/** The kernel's text, for source(). */
export function transposeSource(): string {
  return transposeModule().text;
}
