/**
 * The CPU GEMM behind every contraction step: C[b, m, n] = Σ_k A[b, m, k] · B[b, k, n] for a `GemmSpec`, each
 * operand read or written through arbitrary strides and offsets.
 *
 * How a product runs (the structure of the BLIS/GotoBLAS family):
 * 1. Small products (m·n·k < 32³, or a single row/column) take a direct strided loop.
 * 2. Otherwise C is cut into sub-products of at most `mch` rows (the A block of one K slice, mch × kc, sized to stay
 *    in the 2 MiB L2) and at most `nch` columns. For each, the main thread packs A into MR-row panels and B into
 *    NR-column panels in the shared linear memory — any strides, transposes and broadcasts are resolved here —
 *    padding edge panels and K (to the unroll factor) with zeros, so the kernel has no edge cases.
 * 3. The macro-kernel walks the K slices (kc deep, so a B micro-panel kc × NR stays in the 48 KiB L1d), and for
 *    every NR-column panel runs the register-blocked micro-kernel down all the A panels, writing the first slice
 *    and adding the next ones into a padded C staging buffer; the staging buffer is finally copied into C
 *    through its strides. The macro-kernel is generated WebAssembly SIMD (f32x4 / f64x2) where available, and
 *    generated scalar JavaScript otherwise.
 * 4. Large products are split into units (runs of B panels) claimed by the main thread and a lazily started
 *    worker pool through atomics on the shared memory (see gemm-pool.ts).
 * Memory is used in rounds: sub-products are packed until a round's budget is reached, then the round runs.
 */

import type { GemmSpec } from '../../src/lower/spec.js';
import { batchOffsets, directGemm, jsMacroSource, type FloatArray } from './gemm-js.js';
import {
  CONTROL_BYTES, defaultThreads, GemmPool, type KernelDescriptor, loadRuntime, MAX_PAGES, UNIT_WORDS,
} from './gemm-pool.js';
import { PlainMemory, wasmApi, type WasmMemory } from './wasm/api.js';
import { generateGemmWasm } from './wasm/gemm-kernel.js';

export type { FloatArray } from './gemm-js.js';

export type GemmPath = 'auto' | 'js' | 'wasm';

export interface GemmOptions {
  /** Which macro-kernel packed products use: 'auto' is Wasm SIMD where available, else JS. */
  readonly path: GemmPath;
  /** Threads for large products, the main thread included (1 = never start workers). */
  readonly threads: number;
  /** Products with fewer multiply-adds (m·n·k) take the direct loop. */
  readonly smallMacs: number;
  /** Rounds with at least this many multiply-adds are shared with the worker pool. */
  readonly parallelMacs: number;
  /** Stage B by row copies when its columns are contiguous, instead of packing it into panels. */
  readonly stageRows: boolean;
  /** Elements (of the operand dtype) of packed panels and C staging one round may use. */
  readonly roundElements: number;
  /** Overrides the tile's K slice depth (rounded up to the unroll factor); 0 keeps the tile's. */
  readonly kc: number;
}

/** Tile configuration of one macro-kernel. */
export interface GemmTile {
  readonly mr: number;
  readonly nr: number;
  readonly unroll: number;
  /** K slice depth per macro-kernel call. */
  readonly kc: number;
  /** Most rows per sub-product (the A block mch × kc stays in L2). */
  readonly mch: number;
  /** Most columns per sub-product. */
  readonly nch: number;
}

const TILES: Record<'js' | 'wasm', Record<'float32' | 'float64', GemmTile>> = {
  wasm: {
    float32: { mr: 4, nr: 16, unroll: 2, kc: 256, mch: 512, nch: 4096 },
    float64: { mr: 4, nr: 6, unroll: 2, kc: 256, mch: 256, nch: 4096 },
  },
  js: {
    float32: { mr: 4, nr: 4, unroll: 2, kc: 256, mch: 512, nch: 4096 },
    float64: { mr: 4, nr: 4, unroll: 2, kc: 256, mch: 256, nch: 4096 },
  },
};


let options: GemmOptions = {
  path: 'auto',
  threads: defaultThreads(),
  smallMacs: 32 * 32 * 32,
  parallelMacs: 1 << 21,
  stageRows: true,
  roundElements: 1 << 23,
  kc: 0,
};

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
  readonly descriptors: readonly (KernelDescriptor | null)[];
  readonly env: unknown;
  pool: GemmPool | null;
  byteLength: number;
  f32: Float32Array;
  f64: Float64Array;
  i32: Int32Array;
}

let state: State | null = null;

function kernelIndex(dtype: 'float32' | 'float64', wasm: boolean): number {
  return (dtype === 'float64' ? 2 : 0) + (wasm ? 1 : 0);
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

function wasmBytes(dtype: 'float32' | 'float64', shared: boolean): Uint8Array {
  const t = TILES.wasm[dtype];
  return generateGemmWasm({ dtype, mr: t.mr, nr: t.nr, unroll: t.unroll },
    { minPages: 1, maxPages: MAX_PAGES, shared }).bytes;
}

function getState(): State {
  if (state !== null) return state;
  const { memory, shared } = createMemory();
  const descriptors: (KernelDescriptor | null)[] = [];
  let wasmSimd = true;
  for (const dtype of ['float32', 'float64'] as const) {
    const bytes = dtype === 'float32' ? 4 : 8;
    const js = TILES.js[dtype];
    descriptors.push({ wasm: false, bytes, mr: js.mr, nr: js.nr, kc: js.kc, wasmBytes: null, wasmModule: null,
      jsSource: jsMacroSource(js) });
    const w = TILES.wasm[dtype];
    const code = wasmBytes(dtype, shared);
    const ok = wasmApi !== undefined && !(memory instanceof PlainMemory) && wasmApi.validate(code);
    wasmSimd &&= ok;
    const wasmModule = ok && wasmApi !== undefined ? new wasmApi.Module(code) : null;
    descriptors.push(wasmModule !== null
      ? { wasm: true, bytes, mr: w.mr, nr: w.nr, kc: w.kc, wasmBytes: code, wasmModule, jsSource: null }
      : null);
  }
  const env = loadRuntime().makeEnv(memory, descriptors);
  const buffer = memory.buffer;
  state = {
    memory, shared, wasmSimd, descriptors, env, pool: null, byteLength: buffer.byteLength,
    f32: new Float32Array(buffer), f64: new Float64Array(buffer), i32: new Int32Array(buffer),
  };
  return state;
}

/** What this platform offers the GEMM. */
export function gemmCapabilities(): { wasmSimd: boolean; sharedMemory: boolean; workers: number } {
  const s = getState();
  return { wasmSimd: s.wasmSimd, sharedMemory: s.shared, workers: s.pool?.size ?? 0 };
}

/** Terminates the worker pool; the next large product starts a new one. */
export function shutdownGemmPool(): void {
  if (state?.pool) {
    state.pool.terminate();
    state.pool = null;
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

/**
 * Packs `count` rows (A: rows along m; B: columns along n) into panels of `R` as [panel][kp][R], zero-padding the
 * last panel and the K tail; source element (row r, depth p) is at `off + r·sRow + p·sK`.
 */
function packPanels(src: FloatArray, off: number, sRow: number, sK: number, count: number, k: number, kp: number,
  R: number, dst: FloatArray, dOff: number): void {
  const panels = Math.ceil(count / R);
  for (let q = 0; q < panels; q++) {
    const base = dOff + q * kp * R;
    const r0 = q * R;
    const rows = Math.min(R, count - r0);
    if (Math.abs(sK) <= Math.abs(sRow)) {
      for (let r = 0; r < rows; r++) {
        let s = off + (r0 + r) * sRow;
        let d = base + r;
        for (let p = 0; p < k; p++) {
          dst[d] = src[s] as number;
          s += sK;
          d += R;
        }
      }
    } else {
      for (let p = 0; p < k; p++) {
        let s = off + p * sK + r0 * sRow;
        const d = base + p * R;
        for (let r = 0; r < rows; r++) {
          dst[d + r] = src[s] as number;
          s += sRow;
        }
      }
    }
    if (rows < R) {
      for (let p = 0; p < k; p++) dst.fill(0, base + p * R + rows, base + (p + 1) * R);
    }
    if (kp > k) dst.fill(0, base + k * R, base + kp * R);
  }
}

/**
 * Stages B rows (columns contiguous in the source) as [kp][ldb] with row copies, zero-filling the padding columns and
 * the K tail; the kernel then reads NR-column panels straight from the rows.
 */
function stageRows(src: FloatArray, off: number, sK: number, cols: number, k: number, kp: number, ldb: number,
  dst: FloatArray, dOff: number): void {
  for (let p = 0; p < k; p++) {
    const s = off + p * sK;
    const d = dOff + p * ldb;
    if (cols >= 32) dst.set(src.subarray(s, s + cols), d);
    else for (let j = 0; j < cols; j++) dst[d + j] = src[s + j] as number;
    if (ldb > cols) dst.fill(0, d + cols, d + ldb);
  }
  if (kp > k) dst.fill(0, dOff + k * ldb, dOff + kp * ldb);
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
}

function runRound(s: State, subs: readonly SubProduct[], top: number, bytes: number, kernel: number, kp: number,
  tile: GemmTile, macs: number, c: FloatArray, crs: number, ccs: number): void {
  const nr = tile.nr;
  const kc = options.kc > 0 ? roundUp(options.kc, tile.unroll) : tile.kc;
  let threads = Math.max(1, Math.floor(options.threads));
  const parallel = threads > 1 && s.shared && macs >= options.parallelMacs;
  if (parallel && s.pool === null) {
    s.pool = new GemmPool(s.memory, s.descriptors, threads - 1);
  }
  if (!parallel) threads = 1;
  // Units: runs of B panels, long enough that an A block is reused across several panels, short enough that
  // every thread gets several units.
  const totalPanels = subs.reduce((sum, x) => sum + x.np, 0);
  const target = Math.max(8, Math.ceil(totalPanels / (4 * threads)));
  const units: number[] = [];
  for (const sub of subs) {
    const pieces = Math.ceil(sub.np / Math.min(sub.np, target));
    const per = Math.ceil(sub.np / pieces);
    for (let j0 = 0; j0 < sub.np; j0 += per) {
      const np = Math.min(per, sub.np - j0);
      units.push(sub.a, sub.b + j0 * sub.bps, sub.c + j0 * nr, sub.mp, np, kp, sub.ldc, sub.bps, sub.ldb, 0);
    }
  }
  const table = roundUp(top * bytes, 64);
  ensureBytes(s, table + units.length * 4);
  s.i32.set(units, table >> 2);
  const n = units.length / UNIT_WORDS;
  const ok = loadRuntime().runJob(s.env, n, table, kernel, kc, parallel && (s.pool?.size ?? 0) > 0);
  if (!ok) throw new Error('einjit gemm: a kernel failed in a worker thread');
  const M = bytes === 4 ? s.f32 : s.f64;
  for (const sub of subs) {
    for (let i = 0; i < sub.rows; i++) {
      let src = sub.c + i * sub.ldc;
      let dst = sub.cUser + i * crs;
      for (let j = 0; j < sub.cols; j++) {
        c[dst] = M[src++] as number;
        dst += ccs;
      }
    }
  }
}

function packedGemm(spec: GemmSpec, a: FloatArray, b: FloatArray, c: FloatArray, wasm: boolean): boolean {
  const s = getState();
  const { m, n, k, dtype } = spec;
  const tile = wasm ? TILES.wasm[dtype] : TILES.js[dtype];
  const { mr, nr } = tile;
  const bytes = dtype === 'float32' ? 4 : 8;
  const kp = roundUp(k, tile.unroll);
  let mch = chunk(m, tile.mch, mr);
  let nch = chunk(n, tile.nch, nr);
  const roundElements = options.roundElements;
  const size = (): number => mch * kp + kp * nch + mch * nch;
  while (size() > options.roundElements && nch > nr) nch = roundUp(Math.ceil(nch / 2), nr);
  while (size() > options.roundElements && mch > mr) mch = roundUp(Math.ceil(mch / 2), mr);
  if (size() > roundElements) return false;

  const kernel = kernelIndex(dtype, wasm);
  const ao = batchOffsets(spec.batch, spec.a.batchStrides, spec.a.offset);
  const bo = batchOffsets(spec.batch, spec.b.batchStrides, spec.b.offset);
  const co = batchOffsets(spec.batch, spec.c.batchStrides, spec.c.offset);
  const { rowStride: ars, colStride: acs } = spec.a;
  const { rowStride: brs, colStride: bcs } = spec.b;
  const { rowStride: crs, colStride: ccs } = spec.c;
  // B with contiguous columns is staged by row copies instead of packed (see stageRows).
  const bRows = bcs === 1 && options.stageRows;
  const start = CONTROL_BYTES / bytes;
  const limit = start + roundElements;

  let top = start;
  let macs = 0;
  let subs: SubProduct[] = [];
  // Packed panels of this round by source, so a broadcast operand is packed once per round.
  let packedA = new Map<string, number>();
  let packedB = new Map<string, number>();
  const flush = (): void => {
    if (subs.length > 0) runRound(s, subs, top, bytes, kernel, kp, tile, macs, c, crs, ccs);
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
        if (top + mp * mr * kp + kp * np * nr + mp * mr * np * nr > limit) flush();
        ensureBytes(s, (top + mp * mr * kp + kp * np * nr + mp * mr * np * nr + 16) * bytes + 64 * UNIT_WORDS * 4);
        const M = bytes === 4 ? s.f32 : s.f64;
        const aSrc = (ao[t] ?? 0) + m0 * ars;
        const aKey = `${aSrc}:${rows}`;
        let aPtr = packedA.get(aKey);
        if (aPtr === undefined) {
          aPtr = top;
          packPanels(a, aSrc, ars, acs, rows, k, kp, mr, M, aPtr);
          top += mp * mr * kp;
          packedA.set(aKey, aPtr);
        }
        const bSrc = (bo[t] ?? 0) + n0 * bcs;
        const bKey = `${bSrc}:${cols}`;
        let bPtr = packedB.get(bKey);
        if (bPtr === undefined) {
          bPtr = top;
          if (bRows) stageRows(b, bSrc, brs, cols, k, kp, np * nr, M, bPtr);
          else packPanels(b, bSrc, bcs, brs, cols, k, kp, nr, M, bPtr);
          top += np * nr * kp;
          packedB.set(bKey, bPtr);
        }
        const ldc = np * nr;
        subs.push({ a: aPtr, b: bPtr, bps: bRows ? nr : kp * nr, ldb: bRows ? np * nr : nr, c: top, mp, np, rows,
          cols, ldc,
          cUser: (co[t] ?? 0) + m0 * crs + n0 * ccs });
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

/** Which kernel a product of this shape takes under the current options. */
export function gemmRoute(spec: GemmSpec): 'empty' | 'zero' | 'direct' | 'js' | 'wasm' {
  const { m, n, k } = spec;
  if (m === 0 || n === 0 || spec.batch.some((d) => d === 0)) return 'empty';
  if (k === 0) return 'zero';
  if (m * n * k < options.smallMacs || m === 1 || n === 1) return 'direct';
  if (options.path === 'js') return 'js';
  const wasmSimd = getState().wasmSimd;
  if (options.path === 'wasm' && !wasmSimd) throw new Error('einjit gemm: WebAssembly SIMD is not available here');
  return wasmSimd ? 'wasm' : 'js';
}

/** C = A·B for every batch point (C is overwritten). Synchronous; large products use every configured thread. */
export function runGemm(spec: GemmSpec, a: FloatArray, b: FloatArray, c: FloatArray): void {
  const route = gemmRoute(spec);
  switch (route) {
    case 'empty':
      return;
    case 'zero':
      zeroC(spec, c);
      return;
    case 'direct':
      directGemm(spec, a, b, c);
      return;
    case 'js':
    case 'wasm':
      if (!packedGemm(spec, a, b, c, route === 'wasm')) directGemm(spec, a, b, c);
  }
}

/** The generated code a product runs: header, the JS macro-kernel and the Wasm micro-kernel listing. */
export function gemmSource(spec: GemmSpec): string {
  const dtype = spec.dtype;
  const js = TILES.js[dtype];
  const w = TILES.wasm[dtype];
  const wasm = generateGemmWasm({ dtype, mr: w.mr, nr: w.nr, unroll: w.unroll },
    { minPages: 1, maxPages: MAX_PAGES, shared: true });
  const tile = (t: GemmTile): string =>
    `MR=${t.mr} NR=${t.nr} K unroll=${t.unroll} KC=${t.kc} MC<=${t.mch} NC<=${t.nch}`;
  return [
    `// ${spec.label}`,
    `// GEMM ${dtype}: C[b,m,n] = sum_k A[b,m,k] * B[b,k,n], batch [${spec.batch.join(', ')}], ` +
      `m=${spec.m} n=${spec.n} k=${spec.k}`,
    `// small products (m*n*k < ${options.smallMacs}) run a direct strided loop; larger ones pack A/B panels.`,
    `// WebAssembly SIMD tile: ${tile(w)}`,
    `// JavaScript tile:       ${tile(js)}`,
    '',
    '// JavaScript macro-kernel (fallback and reference)',
    jsMacroSource(js),
    '',
    '/* WebAssembly SIMD macro-kernel (byte addresses into the shared linear memory)',
    wasm.text,
    '*/',
  ].join('\n');
}

