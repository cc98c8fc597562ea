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
import { buildModule } from './wasm/emit.js';
import { transposeFunction } from './wasm/copy-kernels.js';
import { forEachPoint } from './odometer.js';
import { wasmApi, type WasmMemory } from './wasm/api.js';

/** Elements per side of one chunk: 256 Ki elements (1 MiB in, 1 MiB out). */
const CHUNK_ELEMENTS = 1 << 18;
/** The kernel's memory: two chunks (in and out) of CHUNK_ELEMENTS words, 2 MiB, allocated once. */
const PAGES = (2 * CHUNK_ELEMENTS * 4) / 65536;
/** Smaller permutes stay with the JavaScript kernel (the chunk copies and the call are not worth it). */
export const WASM_TRANSPOSE_MIN_ELEMENTS = 1 << 14;

/** The module of the permute: `t32` (see wasm/copy-kernels.ts) over a memory of its own of PAGES pages. */
export function transposeModule(): { bytes: Uint8Array; text: string } {
  return buildModule({ module: 'env', name: 'memory', minPages: PAGES, maxPages: PAGES, shared: false }, [transposeFunction()]);
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
