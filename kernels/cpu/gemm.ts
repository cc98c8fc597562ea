/**
 * The CPU GEMM behind every contraction step: C[b, m, n] = Σ_k A[b, m, k] · B[b, k, n] for a `GemmSpec`, each
 * operand read or written through arbitrary strides and offsets.
 *
 * How a product runs (the structure of the BLIS/GotoBLAS family):
 * 1. Small products (m·n·k < 32³) take a direct strided loop.
 * 2. Otherwise C is cut into sub-products of at most `mch` rows (the A block of one K slice, mch × kc, sized to
 *    stay in the 1 MiB L2 of a core) and at most `nch` columns. For each, the main thread packs A into MR-row panels
 *    in the shared linear memory — any strides, transposes and broadcasts are resolved here — and B either into
 *    NR-column panels or, when its columns are contiguous, by plain row copies the kernel reads in NR-wide slices.
 *    Edge panels and the K tail (to the unroll factor) are zero-padded, so the kernel has no edge cases. Float32
 *    panels whose K is contiguous and staged B rows are copied in with `TypedArray.set` (one copy per strip of
 *    adjacent rows) and laid out by WebAssembly SIMD copy kernels (wasm/copy-kernels.ts: 4×4-tile transposes, row
 *    copies), where JavaScript would move one element at a time.
 * 3. The macro-kernel walks the K slices (kc deep, so a B micro-panel kc × NR stays in the 48 KiB L1d), and for
 *    every NR-column panel runs the register-blocked micro-kernel down all the A panels, writing the first slice
 *    and adding the next ones into a padded C staging buffer; the staging buffer is finally copied into C
 *    through its strides. The macro-kernel is generated WebAssembly SIMD (f32x4 / f64x2) where available, with
 *    relaxed SIMD's fused multiply-add where the engine validates it, and generated scalar JavaScript otherwise.
 * 4. Large products are split into units (runs of B panels) claimed by the main thread and a lazily started
 *    worker pool through atomics on the shared memory (see gemm-pool.ts); the job is published before packing, so
 *    helpers start on the first sub-products while the main thread packs the next ones.
 * Memory is used in rounds: sub-products are planned until a round's budget is reached, then the round runs.
 */

import { gemmEpilogueLoop, type Access, type GemmSpec, type LoopSpec } from '../../src/lower/spec.js';
import { compileLoop, loopParams, renderLoop, runLoop } from './loop.js';
import { batchOffsets, directGemm, jsMacroSource, type FloatArray } from './gemm-js.js';
import type { LoopKernel } from './ops.js';
import {
  CONTROL_BYTES, defaultThreads, GemmPool, type KernelDescriptor, loadRuntime, MAX_PAGES, UNIT_WORDS,
} from './gemm-pool.js';
import { PlainMemory, wasmApi, type WasmMemory } from './wasm/api.js';
import { generateGemmWasm } from './wasm/gemm-kernel.js';
import { buildModule } from './wasm/emit.js';
import { rowCopyFunction, transposeFunction } from './wasm/copy-kernels.js';
import {
  codegenAllowed, enableRelaxedSimd, envVar, relaxedSimdAvailable, wasmAllowed,
} from '../../src/platform/index.js';
import { EinjitError } from '../../src/errors.js';

export type { FloatArray } from './gemm-js.js';

/**
 * Which macro-kernel packed products use: 'auto' is the relaxed-SIMD FMA kernel where relaxed SIMD validates, else
 * the Wasm SIMD mul+add kernel where SIMD validates, else JS; 'wasm' forces mul+add, 'relaxed' the FMA kernel.
 */
export type GemmPath = 'auto' | 'js' | 'wasm' | 'relaxed';

/** The Wasm micro-kernels: 128-bit SIMD multiply then add, or relaxed SIMD's fused multiply-add. */
export type WasmKernel = 'simd' | 'relaxed';

export interface GemmOptions {
  /** Which macro-kernel packed products use (see GemmPath). */
  readonly path: GemmPath;
  /** Threads for large products, the main thread included (1 = never start workers). */
  readonly threads: number;
  /** Products with fewer multiply-adds (m·n·k) take the direct loop. */
  readonly smallMacs: number;
  /** Rounds with at least this many multiply-adds are shared with the worker pool. */
  readonly parallelMacs: number;
  /** Stage B by row copies when its columns are contiguous, instead of packing it into panels. */
  readonly stageRows: boolean;
  /** Pack float32 panels whose K is contiguous with the Wasm 4×4-tile transpose (where SIMD exists), not in JS. */
  readonly wasmPack: boolean;
  /** Elements (of the operand dtype) of packed panels and C staging one round may use. */
  readonly roundElements: number;
  /** Overrides the tile's K slice depth (rounded up to the unroll factor); 0 keeps the tile's. */
  readonly kc: number;
  /**
   * Lower every einsum step that has a contracted axis to a GEMM, however small (normally a product under
   * 2,048 multiply-adds stays one loop nest), so a suite of small shapes exercises the forced kernel.
   */
  readonly everyContraction: boolean;
  /**
   * Elements of the scratch through which a GEMM whose epilogue reads C's old value (`epilogueReadsC`) stages its
   * product, a band of whole rows of C at a time (at least one row).
   */
  readonly inPlaceElements: number;
}

/** Tile configuration of one macro-kernel. */
export interface GemmTile {
  readonly mr: number;
  readonly nr: number;
  readonly unroll: number;
  /** K slice depth per macro-kernel call. */
  readonly kc: number;
  /** Most rows per sub-product (the A block mch × kc, 256 KiB, stays in the 1 MiB L2). */
  readonly mch: number;
  /** Most columns per sub-product. */
  readonly nch: number;
}

const TILES: Record<'js' | 'wasm', Record<'float32' | 'float64', GemmTile>> = {
  wasm: {
    float32: { mr: 4, nr: 8, unroll: 1, kc: 256, mch: 256, nch: 4096 },
    float64: { mr: 4, nr: 4, unroll: 1, kc: 256, mch: 128, nch: 4096 },
  },
  js: {
    float32: { mr: 4, nr: 4, unroll: 1, kc: 256, mch: 512, nch: 4096 },
    float64: { mr: 4, nr: 4, unroll: 1, kc: 256, mch: 256, nch: 4096 },
  },
};

const DEFAULTS: GemmOptions = {
  path: 'auto',
  threads: defaultThreads(),
  smallMacs: 32 * 32 * 32,
  parallelMacs: 1 << 21,
  stageRows: true,
  wasmPack: true,
  roundElements: 1 << 23,
  kc: 0,
  everyContraction: false,
  inPlaceElements: 1 << 16,
};

const FORCED: Record<string, Partial<GemmOptions>> = {
  auto: {},
  js: { path: 'js', smallMacs: 0, everyContraction: true },
  simd: { path: 'wasm', smallMacs: 0, everyContraction: true },
  relaxed: { path: 'relaxed', smallMacs: 0, everyContraction: true },
  direct: { smallMacs: Infinity, everyContraction: true },
};

/**
 * EINJIT_CPU_GEMM forces one kernel for every product with k > 0, small ones included (so a test suite of small
 * shapes exercises it): 'simd' (mul+add), 'relaxed' (fused multiply-add; sets the V8 flag where one exists),
 * 'js', or 'direct' (the strided loop); 'auto' or unset chooses by shape and platform. An unknown value is
 * reported by the first product, not at import.
 */
function fromEnv(): { options: GemmOptions; error: EinjitError | null } {
  const value = envVar('EINJIT_CPU_GEMM');
  if (value === undefined || value === '') return { options: DEFAULTS, error: null };
  const forced = Object.prototype.hasOwnProperty.call(FORCED, value) ? FORCED[value] : undefined;
  if (forced === undefined) {
    return {
      options: DEFAULTS,
      error: new EinjitError(`EINJIT_CPU_GEMM='${value}' names no GEMM kernel`, {
        op: 'gemm', hint: `set it to one of ${Object.keys(FORCED).join(', ')}, or unset it`,
      }),
    };
  }
  if (value === 'relaxed') enableRelaxedSimd();
  return { options: { ...DEFAULTS, ...forced }, error: null };
}

const chosen = fromEnv();
let options: GemmOptions = chosen.options;

/** The fewest multiply-adds an einsum step needs to become a GEMM here, when a forced kernel lowers it (else undefined). */
export function gemmMinWork(): number | undefined {
  return options.everyContraction ? 1 : undefined;
}

/** Changes how products run (tests force each path; benchmarks pick thread counts). Returns the old options. */
export function configureGemm(change: Partial<GemmOptions>): GemmOptions {
  const old = options;
  options = { ...options, ...change };
  return old;
}

interface State {
  readonly memory: WasmMemory;
  readonly shared: boolean;
  readonly wasmSimd: boolean;
  /** Whether the relaxed-SIMD modules validated; `relaxedProbe` is the platform's answer they were built under. */
  readonly relaxed: boolean;
  readonly relaxedProbe: boolean;
  readonly descriptors: readonly (KernelDescriptor | null)[];
  readonly env: unknown;
  pool: GemmPool | null;
  /** Helpers the pool was asked for (0 before it is first needed). */
  poolHelpers: number;
  byteLength: number;
  f32: Float32Array;
  f64: Float64Array;
  i32: Int32Array;
  /** The Wasm copy kernels over this memory, with which the main thread packs float32 panels (null without SIMD). */
  readonly copies: CopyKernels | null;
}

/** `t32` and `rows32` of wasm/copy-kernels.ts (byte addresses and row strides). */
interface CopyKernels {
  readonly t32: (src: number, dst: number, rows: number, cols: number, sRow: number, dRow: number) => void;
  readonly rows32: (src: number, dst: number, rows: number, cols: number, pad: number, sRow: number, dRow: number) => void;
}

let state: State | null = null;

type Macro = 'js' | WasmKernel;
const MACROS: readonly Macro[] = ['js', 'simd', 'relaxed'];

function kernelIndex(dtype: 'float32' | 'float64', macro: Macro): number {
  return (dtype === 'float64' ? MACROS.length : 0) + MACROS.indexOf(macro);
}

function createMemory(): { memory: WasmMemory; shared: boolean } {
  if (wasmApi === undefined) return { memory: new PlainMemory(), shared: false };
  try {
    const memory = new wasmApi.Memory({ initial: 1, maximum: MAX_PAGES, shared: true });
    if (typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer) {
      return { memory, shared: true };
    }
  } catch {
    // No shared memory here: one thread only.
  }
  return { memory: new wasmApi.Memory({ initial: 1, maximum: MAX_PAGES }), shared: false };
}

function wasmModule(dtype: 'float32' | 'float64', kernel: WasmKernel, shared: boolean): { bytes: Uint8Array; text: string } {
  const t = TILES.wasm[dtype];
  return generateGemmWasm({ dtype, mr: t.mr, nr: t.nr, unroll: t.unroll, fma: kernel === 'relaxed' },
    { minPages: 1, maxPages: MAX_PAGES, shared });
}

function getState(): State {
  // The relaxed kernels are compiled only if the platform's probe says relaxed SIMD validates; when the probe
  // changes (enableRelaxedSimd() after the first product), the state is built again with them.
  const relaxedProbe = relaxedSimdAvailable();
  if (state !== null && state.relaxedProbe === relaxedProbe) return state;
  shutdownGemmPool();
  const { memory, shared } = createMemory();
  const descriptors: (KernelDescriptor | null)[] = [];
  // Under a Content-Security-Policy without 'wasm-unsafe-eval' nothing is compiled (source() still reaches here).
  const compile = wasmApi !== undefined && wasmAllowed();
  let wasmSimd = true;
  let relaxed = relaxedProbe;
  for (const dtype of ['float32', 'float64'] as const) {
    const bytes = dtype === 'float32' ? 4 : 8;
    const js = TILES.js[dtype];
    descriptors.push({ wasm: false, bytes, mr: js.mr, nr: js.nr, kc: js.kc, wasmBytes: null, wasmModule: null,
      jsSource: jsMacroSource(js) });
    const w = TILES.wasm[dtype];
    for (const kernel of ['simd', 'relaxed'] as const) {
      const code = kernel === 'simd' || relaxedProbe ? wasmModule(dtype, kernel, shared).bytes : null;
      const ok = code !== null && compile && !(memory instanceof PlainMemory) && wasmApi?.validate(code) === true;
      if (kernel === 'simd') wasmSimd &&= ok;
      else relaxed &&= ok;
      const module = ok && wasmApi !== undefined ? new wasmApi.Module(code) : null;
      descriptors.push(module !== null
        ? { wasm: true, bytes, mr: w.mr, nr: w.nr, kc: w.kc, wasmBytes: code, wasmModule: module, jsSource: null }
        : null);
    }
  }
  const env = loadRuntime().makeEnv(memory, descriptors);
  const buffer = memory.buffer;
  const copies = wasmSimd ? copyKernels(memory, shared) : null;
  state = {
    memory, shared, wasmSimd, relaxed: relaxed && wasmSimd, relaxedProbe, descriptors, env, pool: null,
    poolHelpers: 0, byteLength: buffer.byteLength,
    f32: new Float32Array(buffer), f64: new Float64Array(buffer), i32: new Int32Array(buffer), copies,
  };
  return state;
}

/** The main thread's instance of the copy kernels over the GEMM memory (only the main thread packs). */
function copyKernels(memory: WasmMemory, shared: boolean): CopyKernels | null {
  if (wasmApi === undefined) return null;
  const { bytes } = buildModule({ module: 'env', name: 'mem', minPages: 1, maxPages: MAX_PAGES, shared },
    [transposeFunction(), rowCopyFunction()]);
  if (!wasmApi.validate(bytes)) return null;
  const { exports } = new wasmApi.Instance(new wasmApi.Module(bytes), { env: { mem: memory } });
  return { t32: exports['t32'] as CopyKernels['t32'], rows32: exports['rows32'] as CopyKernels['rows32'] };
}

/** What this platform offers the GEMM. */
export function gemmCapabilities(): { wasmSimd: boolean; relaxedSimd: boolean; sharedMemory: boolean; workers: number } {
  const s = getState();
  return { wasmSimd: s.wasmSimd, relaxedSimd: s.relaxed, sharedMemory: s.shared, workers: s.pool?.size ?? 0 };
}

/** Terminates the worker pool; the next large product starts a new one. */
export function shutdownGemmPool(): void {
  if (state?.pool) {
    state.pool.terminate();
    state.pool = null;
    state.poolHelpers = 0;
  }
}

function ensureBytes(s: State, bytes: number): void {
  const have = s.memory.buffer.byteLength;
  if (have < bytes) s.memory.grow(Math.ceil((bytes - have) / 65536));
  const buffer = s.memory.buffer;
  if (buffer.byteLength !== s.byteLength) {
    s.byteLength = buffer.byteLength;
    s.f32 = new Float32Array(buffer);
    s.f64 = new Float64Array(buffer);
    s.i32 = new Int32Array(buffer);
  }
}

const roundUp = (x: number, to: number): number => Math.ceil(x / to) * to;

/** Chunks of at most `most` (rounded to `unit`), of nearly equal size. */
function chunk(total: number, most: number, unit: number): number {
  const pieces = Math.ceil(total / most);
  return roundUp(Math.ceil(total / pieces), unit);
}

type PanelPacker = (src: FloatArray, off: number, sRow: number, sK: number, panels: number, k: number, kp: number,
  dst: FloatArray, dOff: number) => void;

const panelPackers = new Map<string, PanelPacker>();

/**
 * Generated packer of whole panels of R rows: one source pointer per row, R contiguous stores per k. Compiled once
 * per (R, dtype), so each stays monomorphic in its array types.
 */
function panelPacker(R: number, dtype: 'float32' | 'float64'): PanelPacker {
  const key = `${R}:${dtype}`;
  let fn = panelPackers.get(key);
  if (fn === undefined) {
    const ptrs = Array.from({ length: R }, (_, r) => `s${r}`);
    const body = [
      'for (let q = 0; q < panels; q++) {',
      `  let d = dOff + q * kp * ${R};`,
      `  let s0 = off + q * ${R} * sRow${ptrs.slice(1).map((p, r) => `, ${p} = s${r} + sRow`).join('')};`,
      '  for (let p = 0; p < k; p++) {',
      ...ptrs.map((p, r) => `    dst[d + ${r}] = src[${p}]; ${p} += sK;`),
      `    d += ${R};`,
      '  }',
      '}',
    ].join('\n');
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    fn = new Function('src', 'off', 'sRow', 'sK', 'panels', 'k', 'kp', 'dst', 'dOff', body) as PanelPacker;
    panelPackers.set(key, fn);
  }
  return fn;
}

/** Elements of the strip of source rows the Wasm packer copies in at a time: 256 KiB of float32, kept in L2. */
const SCRATCH_ELEMENTS = 1 << 16;

/** Where the packers may stage source rows: the copy kernels and a free region of the GEMM memory. */
interface PackScratch {
  readonly kernels: CopyKernels;
  /** Element offset of SCRATCH_ELEMENTS free float32 words. */
  readonly at: number;
}

/**
 * Packs `count` rows (A: rows along m; B: columns along n) into panels of `R` as [panel][kp][R], zero-padding the
 * last panel and the K tail; source element (row r, depth p) is at `off + r·sRow + p·sK`.
 */
function packPanels(src: FloatArray, off: number, sRow: number, sK: number, count: number, k: number, kp: number,
  R: number, dst: FloatArray, dOff: number, scratch: PackScratch | null): void {
  const panels = Math.ceil(count / R);
  const full = Math.floor(count / R);
  if (full > 0) {
    const wasm = scratch !== null && sK === 1 && src instanceof Float32Array && dst instanceof Float32Array &&
      packPanelsWasm(scratch, src, off, sRow, full, k, kp, R, dst, dOff);
    if (!wasm) panelPacker(R, dst instanceof Float32Array ? 'float32' : 'float64')(src, off, sRow, sK, full, k, kp, dst, dOff);
    if (kp > k) for (let q = 0; q < full; q++) dst.fill(0, dOff + (q * kp + k) * R, dOff + (q + 1) * kp * R);
  }
  for (let q = full; q < panels; q++) {
    const base = dOff + q * kp * R;
    const r0 = q * R;
    const rows = Math.min(R, count - r0);
    for (let p = 0; p < k; p++) {
      let s = off + p * sK + r0 * sRow;
      const d = base + p * R;
      for (let r = 0; r < rows; r++) {
        dst[d + r] = src[s] as number;
        s += sRow;
      }
      dst.fill(0, d + rows, d + R);
    }
    if (kp > k) dst.fill(0, base + k * R, base + kp * R);
  }
}

/**
 * The `full` whole panels of packPanels for float32 rows whose K is contiguous (sK = 1): strips of source rows are
 * copied into the scratch region with `TypedArray.set` (one copy when the rows lie at most 2K apart, else one per
 * row), then every panel is one call of the 4×4-tile transpose, which writes [K][R] from R rows of K; the last
 * K mod 4 depths are copied one by one. False (nothing written) where a panel's rows do not fit the scratch, or K
 * is under 4.
 */
function packPanelsWasm(scratch: PackScratch, src: Float32Array, off: number, sRow: number, full: number, k: number,
  kp: number, R: number, dst: Float32Array, dOff: number): boolean {
  const k4 = k & ~3;
  // Rows at most 2K apart are copied as one span with their gaps; rows farther apart (or overlapping: a broadcast)
  // one by one, which only pays when each row is long.
  const span = sRow >= k && sRow <= 2 * k;
  const pitch = span ? sRow : k;
  const per = Math.floor(SCRATCH_ELEMENTS / (R * pitch));
  if (k4 === 0 || per === 0 || (!span && k < 64)) return false;
  for (let q0 = 0; q0 < full; q0 += per) {
    const nq = Math.min(per, full - q0);
    const rows = nq * R;
    const s0 = off + q0 * R * sRow;
    if (span) {
      dst.set(src.subarray(s0, s0 + (rows - 1) * sRow + k), scratch.at);
    } else {
      for (let r = 0; r < rows; r++) dst.set(src.subarray(s0 + r * sRow, s0 + r * sRow + k), scratch.at + r * k);
    }
    for (let q = 0; q < nq; q++) {
      scratch.kernels.t32((scratch.at + q * R * pitch) * 4, (dOff + (q0 + q) * kp * R) * 4, R, k4, pitch * 4, R * 4);
    }
  }
  for (let q = 0; q < full; q++) {
    for (let r = 0; r < R; r++) {
      const s = off + (q * R + r) * sRow;
      const d = dOff + q * kp * R + r;
      for (let p = k4; p < k; p++) dst[d + p * R] = src[s + p] as number;
    }
  }
  return true;
}

/**
 * Stages B rows (columns contiguous in the source) as [kp][ldb] with row copies, zero-filling the padding columns and
 * the K tail; the kernel then reads NR-column panels straight from the rows. Float32 rows go through the scratch
 * region when there is one: copied in with one `TypedArray.set` per strip when they lie at most 2·cols apart (one
 * per row otherwise, when rows are long), then laid out with their padding by the Wasm row copy.
 */
function stageRows(src: FloatArray, off: number, sK: number, cols: number, k: number, kp: number, ldb: number,
  dst: FloatArray, dOff: number, scratch: PackScratch | null): void {
  const wasm = scratch !== null && src instanceof Float32Array && dst instanceof Float32Array &&
    stageRowsWasm(scratch, src, off, sK, cols, k, ldb, dst, dOff);
  if (!wasm) {
    for (let p = 0; p < k; p++) {
      const s = off + p * sK;
      const d = dOff + p * ldb;
      if (cols >= 32) dst.set(src.subarray(s, s + cols), d);
      else for (let j = 0; j < cols; j++) dst[d + j] = src[s + j] as number;
      if (ldb > cols) dst.fill(0, d + cols, d + ldb);
    }
  }
  if (kp > k) dst.fill(0, dOff + k * ldb, dOff + kp * ldb);
}

function stageRowsWasm(scratch: PackScratch, src: Float32Array, off: number, sK: number, cols: number, k: number,
  ldb: number, dst: Float32Array, dOff: number): boolean {
  const span = sK >= cols && sK <= 2 * cols;
  const pitch = span ? sK : cols;
  const per = Math.floor(SCRATCH_ELEMENTS / pitch);
  if (per === 0 || (!span && cols < 64)) return false;
  for (let p0 = 0; p0 < k; p0 += per) {
    const rows = Math.min(per, k - p0);
    const s0 = off + p0 * sK;
    if (span) dst.set(src.subarray(s0, s0 + (rows - 1) * sK + cols), scratch.at);
    else for (let r = 0; r < rows; r++) dst.set(src.subarray(s0 + r * sK, s0 + r * sK + cols), scratch.at + r * cols);
    scratch.kernels.rows32(scratch.at * 4, (dOff + p0 * ldb) * 4, rows, cols, ldb, pitch * 4, ldb * 4);
  }
  return true;
}

/**
 * Elements per staged B row: whole 64-byte lines, and an odd number of them, so that the rows one micro-panel
 * reads fall into different L1 sets instead of thrashing one.
 */
function rowStride(cols: number, bytes: number): number {
  let lineBytes = roundUp(cols * bytes, 64);
  if ((lineBytes / 64) % 2 === 0) lineBytes += 64;
  return lineBytes / bytes;
}

interface SubProduct {
  readonly a: number;
  readonly b: number;
  /** Elements from one B panel to the next, and from one row of a panel to the next. */
  readonly bps: number;
  readonly ldb: number;
  readonly c: number;
  readonly mp: number;
  readonly np: number;
  readonly rows: number;
  readonly cols: number;
  readonly ldc: number;
  /** Element offset of C[0, 0] of this sub-product in the user's C. */
  readonly cUser: number;
  /** Element offset of this block's first element in each epilogue operand (none without an epilogue). */
  readonly eUser: readonly number[];
  /** Packs the panels this sub-product reads first (none when they are shared with an earlier one). */
  readonly pack: readonly ((M: FloatArray, scratch: PackScratch | null) => void)[];
}

function runRound(s: State, subs: readonly SubProduct[], top: number, bytes: number, kernel: number, kp: number,
  tile: GemmTile, macs: number, c: FloatArray, crs: number, ccs: number, store: EpilogueStore | null): void {
  const nr = tile.nr;
  const kc = options.kc > 0 ? roundUp(options.kc, tile.unroll) : tile.kc;
  let threads = Math.max(1, Math.floor(options.threads));
  const parallel = threads > 1 && s.shared && macs >= options.parallelMacs;
  if (parallel && s.poolHelpers !== threads - 1) {
    // Started lazily, and again when the thread count changes; a pool that failed to start is not retried.
    s.pool?.terminate();
    s.pool = new GemmPool(s.memory, s.descriptors, threads - 1);
    s.poolHelpers = threads - 1;
  }
  if (!parallel) threads = 1;
  // Units: runs of B panels, long enough that an A block is reused across several panels, short enough that
  // every thread gets many (a preempted helper holding the last unit then costs little).
  const totalPanels = subs.reduce((sum, x) => sum + x.np, 0);
  const target = Math.max(4, Math.ceil(totalPanels / (16 * threads)));
  const units: number[] = [];
  const ready: number[] = [];
  const perSub: number[] = [];
  subs.forEach((sub, index) => {
    const pieces = Math.ceil(sub.np / Math.min(sub.np, target));
    const per = Math.ceil(sub.np / pieces);
    for (let j0 = 0; j0 < sub.np; j0 += per) {
      const np = Math.min(per, sub.np - j0);
      units.push(sub.a, sub.b + j0 * sub.bps, sub.c + j0 * nr, sub.mp, np, kp, sub.ldc, sub.bps, sub.ldb, index);
    }
    perSub.push(units.length / UNIT_WORDS - (ready[ready.length - 1] ?? 0));
    ready.push(units.length / UNIT_WORDS);
  });
  const table = roundUp((top + 16) * bytes, 64);
  const n = units.length / UNIT_WORDS;
  // The packer's scratch region follows the unit table and its counters.
  const scratchAt = roundUp(table + (units.length + subs.length) * 4, 64);
  ensureBytes(s, scratchAt + (s.copies === null ? 0 : SCRATCH_ELEMENTS * 4));
  const scratch = s.copies === null || !options.wasmPack ? null : { kernels: s.copies, at: scratchAt / 4 };
  s.i32.set(units, table >> 2);
  const counters = (table >> 2) + units.length;
  s.i32.fill(0, counters, counters + subs.length);
  const rt = loadRuntime();
  const job = rt.begin(s.env, n, table, kernel, kc, parallel && (s.pool?.size ?? 0) > 0);
  const M = bytes === 4 ? s.f32 : s.f64;
  subs.forEach((sub, i) => {
    for (const pack of sub.pack) pack(M, scratch);
    rt.release(s.env, ready[i] ?? n);
  });
  // Sub-products are copied out in order as their units finish, while the helpers still compute.
  let copied = 0;
  const copyFinished = (): void => {
    while (copied < subs.length && Atomics.load(s.i32, counters + copied) >= (perSub[copied] ?? 0)) {
      const sub = subs[copied++];
      if (sub !== undefined) {
        if (store === null) copyOut(sub, M, c, crs, ccs);
        else storeWithEpilogue(store, sub, M, c);
      }
    }
  };
  const ok = rt.finish(s.env, job, n, table, kernel, kc, copyFinished);
  if (!ok) throw new Error('einjit gemm: a kernel failed in a worker thread');
  copyFinished();
}

/** Copies a sub-product's C staging into the user's C through its strides. */
function copyOut(sub: SubProduct, M: FloatArray, c: FloatArray, crs: number, ccs: number): void {
  if (ccs === 1 && crs === sub.cols && sub.ldc === sub.cols) {
    // Staging and C rows both back to back: one copy.
    c.set(M.subarray(sub.c, sub.c + sub.rows * sub.cols), sub.cUser);
    return;
  }
  for (let i = 0; i < sub.rows; i++) {
    let src = sub.c + i * sub.ldc;
    let dst = sub.cUser + i * crs;
    if (ccs === 1 && sub.cols >= 32) {
      c.set(M.subarray(src, src + sub.cols), dst);
      continue;
    }
    for (let j = 0; j < sub.cols; j++) {
      c[dst] = M[src++] as number;
      dst += ccs;
    }
  }
}

/**
 * A GEMM's epilogue as packedGemm applies it: while each block of C is stored, not in a later pass over C. One
 * loop kernel maps every block (rows × cols of the staging into C, reading each epilogue operand at the block's
 * elements); compiled and given its parameter list once per launch, then only the block's extents and offsets
 * change, so a block costs the map and no spec, key or lookup.
 */
interface EpilogueStore {
  /** The kernel's inputs: the staging (set per round, the GEMM memory may have grown), then the operands. */
  readonly ins: FloatArray[];
  /** Per epilogue operand, its strides along m and n. */
  readonly strides: readonly (readonly [number, number])[];
  readonly kernel: LoopKernel;
  /** The kernel's parameters (loopParams' layout), patched per block. */
  readonly params: number[];
}

/** The store of `spec`'s epilogue for blocks whose staging rows lie `ldc` apart, or null without an epilogue. */
function epilogueStore(spec: GemmSpec, extra: readonly FloatArray[], crs: number, ccs: number, ldc: number): EpilogueStore | null {
  if (spec.epilogue === undefined) return null;
  const nb = spec.batch.length;
  const dtype = spec.dtype;
  const strides = (spec.epilogueInputs ?? []).map((e) => [e.strides[nb]!, e.strides[nb + 1]!] as const);
  const map: LoopSpec = {
    kind: 'loop', label: `epilogue of ${spec.label}`, sizes: [1, 1], parallel: 2, reduceOp: null,
    inputs: [{ dtype, offset: 0, strides: [ldc, 1] }, ...strides.map(([sm, sn]) => ({ dtype, offset: 0, strides: [sm, sn] }))],
    output: { dtype, offset: 0, strides: [crs, ccs] }, expr: spec.epilogue, computeType: dtype,
  };
  return { ins: [new Float32Array(0), ...extra], strides, kernel: compileLoop(map), params: loopParams(map) };
}

/**
 * Stores a sub-product's block of C through the epilogue, reading the product from the staging while it is still
 * in cache. Parameters as loopParams lays them out for two loops: the extents, each input's offset and two
 * strides (the staging first), the output's offset, its strides, the constants.
 */
function storeWithEpilogue(store: EpilogueStore, sub: SubProduct, M: FloatArray, c: FloatArray): void {
  const p = store.params;
  p[0] = sub.rows;
  p[1] = sub.cols;
  p[2] = sub.c;
  p[3] = sub.ldc;
  for (let i = 0; i < store.strides.length; i++) p[5 + 3 * i] = sub.eUser[i]!;
  p[5 + 3 * store.strides.length] = sub.cUser;
  store.ins[0] = M;
  store.kernel(store.ins, c, p);
}

function packedGemm(spec: GemmSpec, a: FloatArray, b: FloatArray, c: FloatArray, macro: Macro, extra: readonly FloatArray[]): boolean {
  const s = getState();
  const { m, n, k, dtype } = spec;
  const tile = macro === 'js' ? TILES.js[dtype] : TILES.wasm[dtype];
  const { mr, nr } = tile;
  const bytes = dtype === 'float32' ? 4 : 8;
  const kp = roundUp(k, tile.unroll);
  // B with contiguous columns is staged by row copies instead of packed (see stageRows), in chunks of at most 1 KiB
  // of columns so that the rows a micro-panel touches stay on few pages.
  const bRows = spec.b.colStride === 1 && options.stageRows;
  let mch = chunk(m, tile.mch, mr);
  let nch = chunk(n, bRows ? Math.min(tile.nch, Math.max(nr, Math.floor(1024 / bytes / nr) * nr)) : tile.nch, nr);
  const roundElements = options.roundElements;
  const size = (): number => mch * kp + kp * nch + mch * nch;
  while (size() > options.roundElements && nch > nr) nch = roundUp(Math.ceil(nch / 2), nr);
  while (size() > options.roundElements && mch > mr) mch = roundUp(Math.ceil(mch / 2), mr);
  if (size() > roundElements) return false;

  const kernel = kernelIndex(dtype, macro);
  const ao = batchOffsets(spec.batch, spec.a.batchStrides, spec.a.offset);
  const bo = batchOffsets(spec.batch, spec.b.batchStrides, spec.b.offset);
  const co = batchOffsets(spec.batch, spec.c.batchStrides, spec.c.offset);
  // The epilogue, when the caller hands its operands over, is applied as each block is stored. Each block
  // patches its staging's row pitch (ldc) into the parameters; compiled for any pitch above 1, which all are.
  const store = epilogueStore(spec, extra, spec.c.rowStride, spec.c.colStride, nr);
  const eStrides = store?.strides ?? [];
  const eo = (store === null ? [] : spec.epilogueInputs ?? []).map((e) => batchOffsets(spec.batch, e.strides.slice(0, spec.batch.length), e.offset));
  const { rowStride: ars, colStride: acs } = spec.a;
  const { rowStride: brs, colStride: bcs } = spec.b;
  const { rowStride: crs, colStride: ccs } = spec.c;
  const start = CONTROL_BYTES / bytes;
  const limit = start + roundElements;

  let top = start;
  let macs = 0;
  let subs: SubProduct[] = [];
  // Packed panels of this round by source, so a broadcast operand is packed once per round.
  let packedA = new Map<string, number>();
  let packedB = new Map<string, number>();
  const flush = (): void => {
    if (subs.length > 0) runRound(s, subs, top, bytes, kernel, kp, tile, macs, c, crs, ccs, store);
    top = start;
    macs = 0;
    subs = [];
    packedA = new Map();
    packedB = new Map();
  };

  for (let t = 0; t < co.length; t++) {
    for (let m0 = 0; m0 < m; m0 += mch) {
      const rows = Math.min(mch, m - m0);
      const mp = Math.ceil(rows / mr);
      for (let n0 = 0; n0 < n; n0 += nch) {
        const cols = Math.min(nch, n - n0);
        const np = Math.ceil(cols / nr);
        const ldb = bRows ? rowStride(np * nr, bytes) : nr;
        const bSize = bRows ? ldb * kp : np * nr * kp;
        if (top + mp * mr * kp + bSize + mp * mr * np * nr > limit) flush();
        const pack: ((M: FloatArray, scratch: PackScratch | null) => void)[] = [];
        const aSrc = (ao[t] ?? 0) + m0 * ars;
        const aKey = `${aSrc}:${rows}`;
        let aPtr = packedA.get(aKey);
        if (aPtr === undefined) {
          const at = top;
          pack.push((M, scratch) => packPanels(a, aSrc, ars, acs, rows, k, kp, mr, M, at, scratch));
          aPtr = at;
          top += mp * mr * kp;
          packedA.set(aKey, aPtr);
        }
        const bSrc = (bo[t] ?? 0) + n0 * bcs;
        const bKey = `${bSrc}:${cols}`;
        let bPtr = packedB.get(bKey);
        if (bPtr === undefined) {
          const at = top;
          if (bRows) pack.push((M, scratch) => stageRows(b, bSrc, brs, cols, k, kp, ldb, M, at, scratch));
          else pack.push((M, scratch) => packPanels(b, bSrc, bcs, brs, cols, k, kp, nr, M, at, scratch));
          bPtr = at;
          top += bSize;
          packedB.set(bKey, bPtr);
        }
        const ldc = np * nr;
        subs.push({ a: aPtr, b: bPtr, bps: bRows ? nr : kp * nr, ldb, c: top, mp, np, rows,
          cols, ldc, cUser: (co[t] ?? 0) + m0 * crs + n0 * ccs,
          eUser: eo.map((at, i) => at[t]! + m0 * eStrides[i]![0] + n0 * eStrides[i]![1]), pack });
        top += mp * mr * ldc;
        macs += rows * cols * k;
      }
    }
  }
  flush();
  return true;
}

function zeroC(spec: GemmSpec, c: FloatArray): void {
  for (const o of batchOffsets(spec.batch, spec.c.batchStrides, spec.c.offset)) {
    for (let i = 0; i < spec.m; i++) {
      for (let j = 0; j < spec.n; j++) c[o + i * spec.c.rowStride + j * spec.c.colStride] = 0;
    }
  }
}

/**
 * Which kernel a product of this shape takes under the current options ('wasm': one of the Wasm micro-kernels,
 * which `wasmKernel()` names).
 */
export function gemmRoute(spec: GemmSpec): 'empty' | 'zero' | 'direct' | 'js' | 'wasm' {
  if (chosen.error !== null) throw chosen.error;
  const { m, n, k } = spec;
  if (m === 0 || n === 0 || spec.batch.some((d) => d === 0)) return 'empty';
  if (k === 0) return 'zero';
  if (m * n * k < options.smallMacs) return 'direct';
  // The packed kernels are generated JS and WebAssembly: where a Content-Security-Policy refuses either, the
  // direct strided loop computes the product.
  if (!codegenAllowed() || !wasmAllowed()) return 'direct';
  if (options.path === 'js') return 'js';
  const s = getState();
  if (options.path === 'wasm' && !s.wasmSimd) {
    throw new EinjitError('WebAssembly SIMD is not available here, so the Wasm GEMM kernel cannot be forced', {
      op: 'gemm', hint: "use the 'js' kernel or 'auto'",
    });
  }
  if (options.path === 'relaxed' && !s.relaxed) {
    throw new EinjitError('WebAssembly relaxed SIMD does not validate here, so the fused multiply-add GEMM kernel cannot be forced', {
      op: 'gemm', hint: "call enableRelaxedSimd() first (Node 20), or run node with --experimental-wasm-relaxed-simd; or use 'wasm' or 'auto'",
    });
  }
  return s.wasmSimd ? 'wasm' : 'js';
}

/** The Wasm micro-kernel packed products run under the current options: relaxed SIMD's FMA where it validates. */
export function wasmKernel(): WasmKernel {
  // Where generated code is refused nothing runs packed; the state (which compiles) is not built just to name it.
  if (options.path === 'wasm' || !codegenAllowed() || !wasmAllowed()) return 'simd';
  return getState().relaxed ? 'relaxed' : 'simd';
}

/** A short name of the kernel a product runs, as `source()` and `explain()` show it. */
export function gemmKernelName(spec: GemmSpec): string {
  let route: ReturnType<typeof gemmRoute>;
  try {
    route = gemmRoute(spec);
  } catch (e) {
    return `none: ${e instanceof Error ? e.message : String(e)}`;
  }
  const t = TILES.wasm[spec.dtype];
  const j = TILES.js[spec.dtype];
  switch (route) {
    case 'empty': return 'none (empty product)';
    case 'zero': return 'none (k = 0: C is zero-filled)';
    case 'direct': return 'direct strided loop (a small product, or no generated code allowed)';
    case 'js': return `packed JavaScript ${j.mr}x${j.nr} micro-kernel`;
    case 'wasm': return wasmKernel() === 'relaxed'
      ? `packed WebAssembly relaxed-SIMD FMA ${t.mr}x${t.nr} micro-kernel (${spec.dtype === 'float32' ? 'f32x4' : 'f64x2'}.relaxed_madd)`
      : `packed WebAssembly SIMD mul+add ${t.mr}x${t.nr} micro-kernel`;
  }
}

/**
 * C = epilogue(A·B, extra...) for every batch point (C is overwritten). Synchronous; large products use every
 * configured thread. A packed product applies the epilogue as it stores each block of C from its staging (while
 * the helper threads compute later blocks); the direct loop of a small product leaves it to one pass over C after
 * the product. Either way the loop kernels' code (generated, or interpreted where code generation is refused)
 * maps each element, reading `extra` (the spec's epilogueInputs: a bias, a residual) through their own strides.
 * None may be C's array: blocks of C already stored would be read as operands.
 */
export function runGemm(spec: GemmSpec, a: FloatArray, b: FloatArray, c: FloatArray, extra: readonly FloatArray[] = []): void {
  const want = spec.epilogueInputs?.length ?? 0;
  if (extra.length !== want) {
    throw new EinjitError(`the GEMM's epilogue reads ${want} operand(s) beside the product, got ${extra.length}`, { op: spec.label });
  }
  const overlaps = (x: FloatArray): boolean =>
    x.buffer === c.buffer && x.byteOffset < c.byteOffset + c.byteLength && c.byteOffset < x.byteOffset + x.byteLength;
  if (extra.some(overlaps)) {
    throw new EinjitError("an operand of the GEMM's epilogue shares storage with C", { op: spec.label, hint: 'read it from a copy' });
  }
  if (spec.epilogueReadsC === true) {
    inPlace(spec, a, b, c, extra);
    return;
  }
  // A packed product applies the epilogue as it stores each block of C; the direct loop leaves it to one pass over C.
  if (product(spec, a, b, c, extra)) return;
  const epilogue = gemmEpilogueLoop(spec);
  if (epilogue !== null && !epilogue.sizes.includes(0)) runLoop(epilogue, [c, ...extra], c);
}

let scratch32 = new Float32Array(0);
let scratch64 = new Float64Array(0);

/** A reused scratch of at least `length` elements of `dtype` (never C's storage nor an operand's). */
function scratchOf(dtype: GemmSpec['dtype'], length: number): FloatArray {
  if (dtype === 'float32') {
    if (scratch32.length < length) scratch32 = new Float32Array(length);
    return scratch32;
  }
  if (scratch64.length < length) scratch64 = new Float64Array(length);
  return scratch64;
}

/**
 * A GEMM whose epilogue reads C's old value (`p - lr·g` into `p`): C must not hold the product before the epilogue
 * reads it, so for every batch point the product is computed a band of whole rows at a time into a scratch of at
 * most `inPlaceElements` (cache-sized, reused), and the epilogue's loop kernel maps that band into C, reading the
 * scratch, the other operands and C's own element. No buffer of the product's size is ever written. Each band packs
 * B again, a cost of k·n per band against its rows·n·k multiply-adds.
 */
function inPlace(spec: GemmSpec, a: FloatArray, b: FloatArray, c: FloatArray, extra: readonly FloatArray[]): void {
  const { m, n, dtype } = spec;
  const count = spec.batch.reduce((x, y) => x * y, 1);
  if (spec.epilogue === undefined) throw new EinjitError("a GEMM that reads C's old value has no epilogue", { op: spec.label });
  if (count * m * n === 0) return;
  const rows = Math.max(1, Math.min(m, Math.floor(options.inPlaceElements / n)));
  const band = scratchOf(dtype, rows * n);
  const nb = spec.batch.length;
  const at = (offset: number, strides: readonly number[]): number[] => batchOffsets(spec.batch, strides, offset);
  const aAt = at(spec.a.offset, spec.a.batchStrides);
  const bAt = at(spec.b.offset, spec.b.batchStrides);
  const cAt = at(spec.c.offset, spec.c.batchStrides);
  const extras = spec.epilogueInputs ?? [];
  const eAt = extras.map((e) => at(e.offset, e.strides.slice(0, nb)));
  const matrix = (offset: number, row: number, col: number): Access => ({ dtype, offset, strides: [row, col] });
  for (let q = 0; q < count; q++) {
    for (let m0 = 0; m0 < m; m0 += rows) {
      const r = Math.min(rows, m - m0);
      const sub: GemmSpec = {
        kind: 'gemm', label: spec.label, dtype, batch: [], m: r, n, k: spec.k,
        a: { offset: aAt[q]! + m0 * spec.a.rowStride, batchStrides: [], rowStride: spec.a.rowStride, colStride: spec.a.colStride },
        b: { offset: bAt[q]!, batchStrides: [], rowStride: spec.b.rowStride, colStride: spec.b.colStride },
        c: { offset: 0, batchStrides: [], rowStride: n, colStride: 1 },
      };
      product(sub, a, b, band, []);
      const cBand = matrix(cAt[q]! + m0 * spec.c.rowStride, spec.c.rowStride, spec.c.colStride);
      const map: LoopSpec = {
        kind: 'loop', label: `epilogue of ${spec.label}`, sizes: [r, n], parallel: 2, reduceOp: null,
        inputs: [
          matrix(0, n, 1),
          ...extras.map((e, i) => matrix(eAt[i]![q]! + m0 * e.strides[nb]!, e.strides[nb]!, e.strides[nb + 1]!)),
          cBand,
        ],
        output: cBand, expr: spec.epilogue, computeType: dtype,
      };
      runLoop(map, [band, ...extra, c], c);
    }
  }
}

/**
 * C = A·B by the route the shape takes. A packed product also applies the spec's epilogue (reading `extra`, its
 * operands) as it stores C, and says so by returning true: C is then final. Otherwise C holds the bare product.
 */
function product(spec: GemmSpec, a: FloatArray, b: FloatArray, c: FloatArray, extra: readonly FloatArray[]): boolean {
  const route = gemmRoute(spec);
  switch (route) {
    case 'empty':
      return false;
    case 'zero':
      zeroC(spec, c);
      return false;
    case 'direct':
      directGemm(spec, a, b, c);
      return false;
    case 'js':
    case 'wasm':
      if (packedGemm(spec, a, b, c, route === 'js' ? 'js' : wasmKernel(), extra)) return true;
      directGemm(spec, a, b, c);
      return false;
  }
}

/** The generated code a product runs: header, the JS macro-kernel and the Wasm micro-kernel listing. */
export function gemmSource(spec: GemmSpec): string {
  const dtype = spec.dtype;
  const js = TILES.js[dtype];
  const w = TILES.wasm[dtype];
  const kernel = wasmKernel();
  const wasm = wasmModule(dtype, kernel, true);
  const tile = (t: GemmTile): string =>
    `MR=${t.mr} NR=${t.nr} K unroll=${t.unroll} KC=${t.kc} MC<=${t.mch} NC<=${t.nch}`;
  return [
    `// ${spec.label}`,
    `// GEMM ${dtype}: C[b,m,n] = sum_k A[b,m,k] * B[b,k,n], batch [${spec.batch.join(', ')}], ` +
      `m=${spec.m} n=${spec.n} k=${spec.k}`,
    `// kernel: ${gemmKernelName(spec)}`,
    ...(spec.epilogue === undefined ? [] : spec.epilogueReadsC === true
      ? [`// epilogue (reads C's old value): the product is staged ${options.inPlaceElements} elements of whole rows at a time, ` +
        `and each band mapped into C by the epilogue's loop kernel`]
      : [`// epilogue: applied as each packed block of C is stored from its staging (after a small product's direct loop, in one pass over C), the loop kernel:\n${renderLoop(gemmEpilogueLoop(spec)!)}`]),
    `// small products (m*n*k < ${options.smallMacs}) run a direct strided loop; larger ones pack A/B panels.`,
    `// WebAssembly ${kernel === 'relaxed' ? 'relaxed-SIMD (fused multiply-add)' : 'SIMD (mul+add)'} tile: ${tile(w)}`,
    `// JavaScript tile:       ${tile(js)}`,
    '',
    '// JavaScript macro-kernel (fallback and reference)',
    jsMacroSource(js),
    '',
    `/* WebAssembly ${kernel === 'relaxed' ? 'relaxed-SIMD' : 'SIMD'} macro-kernel (byte addresses into the shared linear memory)`,
    wasm.text,
    '*/',
  ].join('\n');
}

