/**
 * Shared memory and the worker pool of the CPU GEMM.
 *
 * Everything a GEMM job touches lives in one WebAssembly memory (shared when the platform allows it): a control
 * block at byte 0, the unit table, the packed A/B panels and the C staging buffers. The main thread writes a table
 * of independent work units (one unit = a run of B panels of one sub-product, all of its K blocks), publishes the
 * job, then packs the panels sub-product by sub-product; every thread — the main one included — claims units whose
 * panels are ready until none are left, and the main thread blocks on `Atomics.wait` until all are done, so
 * `runGemm` stays synchronous.
 *
 * Protocol (Int32 words of the control block):
 * - SEQ: even when a job is published, odd while the main thread rewrites the job words (a seqlock). Workers sleep
 *   on it with `Atomics.wait` and re-read the job words until SEQ is even and unchanged around the read.
 * - TICKET: `jobId << 20 | next unit`. A unit is claimed only by a compare-exchange that also matches the job id
 *   the claimer read, so a late worker holding a stale job can never take a unit of a newer job.
 * - DONE: units finished (notified after each); a per-sub-product count of finished units follows the unit table,
 *   so the main thread copies each sub-product's C out as soon as it is complete, while helpers run the rest.
 * - FAILED: set when a worker's kernel throws, so the main thread reports an error instead of a wrong answer.
 * - NUNITS, TABLE, KERNEL, KC: the job (unit count, unit table byte address, kernel index, K slice depth).
 * - AVAIL: units whose panels are packed. The job is published first and the main thread packs sub-product after
 *   sub-product, raising AVAIL (and notifying) as it goes, so helpers compute while it packs.
 *
 * The runtime below is plain JavaScript in a string: the main thread compiles it with `new Function` and the
 * workers are started from it with `eval: true`, so both run the very same code whether einjit is loaded from
 * TypeScript sources or from the built package, and no file path is needed. Workers are `unref`ed: they never keep
 * the process alive.
 *
 * Threads: Node's `worker_threads` (found at run time through `process.getBuiltinModule`, so bundlers never see
 * a Node import), or Web Workers started from a Blob URL in a browser. A browser's main thread may not block in
 * `Atomics.wait`, so there the main thread spins on the DONE word instead (it only does so while helpers finish
 * their last units). Without shared memory (a page that is not cross-origin isolated) there is no pool at all:
 * the main thread runs every unit.
 */

import { defaultGemmThreads, nodeBuiltin, workerKind } from '../../src/platform/index.js';

import type { WasmMemory } from './wasm/api.js';

export const MAX_PAGES = 16384; // 1 GiB of address space reserved, committed only as it grows
export const CONTROL_BYTES = 256;
export const UNIT_WORDS = 10;

/** One compiled macro-kernel as the runtime sees it (see gemm.ts for the tile configurations). */
export interface KernelDescriptor {
  readonly wasm: boolean;
  readonly bytes: 4 | 8;
  readonly mr: number;
  readonly nr: number;
  readonly kc: number;
  /** Wasm module bytes, or the JS macro source (`function macro(...) {...}`). */
  readonly wasmBytes: Uint8Array | null;
  /** The compiled module, shared with the workers so that code V8 has optimised on one thread serves all. */
  readonly wasmModule: object | null;
  readonly jsSource: string | null;
}

const RUNTIME_SOURCE = String.raw`
const SEQ = 0, TICKET = 1, DONE = 2, NUNITS = 3, TABLE = 4, KERNEL = 5, FAILED = 6, KC = 7, AVAIL = 8;

function makeEnv(memory, descriptors) {
  const env = { memory, kernels: [], byteLength: -1, i32: null, f32: null, f64: null };
  for (const d of descriptors) {
    if (d === null) { env.kernels.push(null); continue; }
    let macro;
    if (d.wasm) {
      const module = d.wasmModule || new WebAssembly.Module(d.wasmBytes);
      const instance = new WebAssembly.Instance(module, { env: { mem: memory } });
      macro = instance.exports.macro;
    } else {
      macro = new Function(d.jsSource + '\nreturn macro;')();
    }
    env.kernels.push({ wasm: d.wasm, bytes: d.bytes, mr: d.mr, nr: d.nr, kc: d.kc, macro });
  }
  refresh(env);
  return env;
}

function refresh(env) {
  const buffer = env.memory.buffer;
  if (buffer.byteLength === env.byteLength) return;
  env.byteLength = buffer.byteLength;
  env.i32 = new Int32Array(buffer);
  env.f32 = new Float32Array(buffer);
  env.f64 = new Float64Array(buffer);
}

// A unit (UNIT_WORDS Int32 words): a, b, c (element offsets of its packed A, its first B panel and its C staging),
// mp, np (tiles down and across), kp (padded K, also the A panel depth), ldc (C staging leading dimension),
// bps (elements from one B panel to the next), ldb (elements from one B panel row to the next), sub (index of its
// sub-product).
function runUnit(env, kern, table, KC, t) {
  const i32 = env.i32, w = (table >> 2) + t * 10;
  const a = i32[w], b = i32[w + 1], c = i32[w + 2], mp = i32[w + 3], np = i32[w + 4], kp = i32[w + 5];
  const ldc = i32[w + 6], bps = i32[w + 7], ldb = i32[w + 8];
  const mr = kern.mr;
  if (kern.wasm) {
    const s = kern.bytes;
    for (let pc = 0; pc < kp; pc += KC) {
      const kc = Math.min(KC, kp - pc);
      kern.macro((a + pc * mr) * s, (b + pc * ldb) * s, c * s, mp, np, kc, ldc * s, kp * mr * s, bps * s, ldb * s,
        pc === 0 ? 1 : 0);
    }
  } else {
    const M = kern.bytes === 4 ? env.f32 : env.f64;
    for (let pc = 0; pc < kp; pc += KC) {
      const kc = Math.min(KC, kp - pc);
      kern.macro(M, a + pc * mr, b + pc * ldb, c, mp, np, kc, ldc, kp * mr, bps, ldb, pc === 0);
    }
  }
}

// Claims and runs units of job jobId until none is left. After each unit it counts the unit against its
// sub-product (word 9 of the unit; counters follow the unit table) and then in DONE, so the main thread can copy
// finished sub-products out while the rest still run; \`after\` (main thread only) is that copy.
function drain(env, jobId, n, table, kernel, kc, after) {
  const ctl = env.i32, kern = env.kernels[kernel];
  const counters = (table >> 2) + n * 10;
  for (;;) {
    const v = Atomics.load(ctl, TICKET);
    if ((v >>> 20) !== jobId || (v & 0xfffff) >= n) return;
    const avail = Atomics.load(ctl, AVAIL);
    if ((v & 0xfffff) >= avail) {
      // The main thread is still packing the panels this unit reads.
      Atomics.wait(ctl, AVAIL, avail);
      continue;
    }
    if (Atomics.compareExchange(ctl, TICKET, v, v + 1) !== v) continue;
    const t = v & 0xfffff;
    try {
      runUnit(env, kern, table, kc, t);
    } catch (e) {
      Atomics.store(ctl, FAILED, 1);
    }
    Atomics.add(ctl, counters + ctl[(table >> 2) + t * 10 + 9], 1);
    Atomics.add(ctl, DONE, 1);
    Atomics.notify(ctl, DONE);
    if (after) after();
  }
}

function publish(env, n, table, kernel, kc, wake) {
  const ctl = env.i32;
  const s = Atomics.load(ctl, SEQ);
  Atomics.store(ctl, SEQ, s + 1);
  Atomics.store(ctl, NUNITS, n);
  Atomics.store(ctl, TABLE, table);
  Atomics.store(ctl, KERNEL, kernel);
  Atomics.store(ctl, KC, kc);
  Atomics.store(ctl, DONE, 0);
  Atomics.store(ctl, FAILED, 0);
  Atomics.store(ctl, AVAIL, 0);
  const next = (s + 2) & 0x3ffffffe;
  const jobId = (next >>> 1) & 0x7ff;
  Atomics.store(ctl, TICKET, jobId << 20);
  Atomics.store(ctl, SEQ, next);
  if (wake) Atomics.notify(ctl, SEQ);
  return jobId;
}

// The main thread publishes a job before its panels are packed; release() makes the first units claimable as
// their panels are ready, and finish() claims what is left, then waits for the rest.
function begin(env, n, table, kernel, kc, wake) {
  refresh(env);
  return publish(env, n, table, kernel, kc, wake);
}

function release(env, avail) {
  Atomics.store(env.i32, AVAIL, avail);
  Atomics.notify(env.i32, AVAIL);
}

function finish(env, jobId, n, table, kernel, kc, after) {
  const ctl = env.i32;
  release(env, n);
  drain(env, jobId, n, table, kernel, kc, after);
  for (;;) {
    const d = Atomics.load(ctl, DONE);
    if (d >= n) break;
    after();
    if (canBlock) {
      try {
        Atomics.wait(ctl, DONE, d, 50);
      } catch (e) {
        // A browser's main thread may not block: spin on DONE instead.
        canBlock = false;
      }
    }
  }
  return Atomics.load(ctl, FAILED) === 0;
}

let canBlock = true;

function workerLoop(env) {
  const ctl = env.i32;
  let last = Atomics.load(ctl, SEQ);
  for (;;) {
    Atomics.wait(ctl, SEQ, last);
    const s = Atomics.load(ctl, SEQ);
    if (s === last) continue;
    if (s & 1) { Atomics.wait(ctl, SEQ, s); continue; }
    const n = Atomics.load(ctl, NUNITS), table = Atomics.load(ctl, TABLE), kernel = Atomics.load(ctl, KERNEL);
    const kc = Atomics.load(ctl, KC);
    if (Atomics.load(ctl, SEQ) !== s) continue;
    last = s;
    refresh(env);
    drain(env, (s >>> 1) & 0x7ff, n, table, kernel, kc, null);
  }
}
`;

const WORKER_SOURCE = `${RUNTIME_SOURCE}
const { workerData } = require('node:worker_threads');
workerLoop(makeEnv(workerData.memory, workerData.descriptors));
`;

// A Web Worker receives the memory and the compiled kernels in its first message.
const WEB_WORKER_SOURCE = `${RUNTIME_SOURCE}
self.onmessage = (e) => {
  self.onmessage = null;
  workerLoop(makeEnv(e.data.memory, e.data.descriptors));
};
`;

interface NodeWorker {
  unref(): void;
  on(event: 'error', listener: () => void): void;
  terminate(): unknown;
}

interface WebWorker {
  postMessage(message: unknown): void;
  addEventListener(event: 'error', listener: () => void): void;
  terminate(): void;
}

type AnyWorker = { node: NodeWorker } | { web: WebWorker };

function startWorker(memory: WasmMemory, descriptors: readonly (KernelDescriptor | null)[]): AnyWorker | null {
  const kind = workerKind();
  if (kind === 'worker_threads') {
    const wt = nodeBuiltin<{ Worker: new (src: string, o: object) => NodeWorker }>('node:worker_threads');
    if (wt === undefined) return null;
    const w = new wt.Worker(WORKER_SOURCE, { eval: true, workerData: { memory, descriptors } });
    w.unref();
    // A helper that dies only stops helping: the main thread claims whatever units are left.
    w.on('error', () => undefined);
    return { node: w };
  }
  if (kind === 'web-worker') {
    const G = globalThis as unknown as {
      Worker: new (url: string) => WebWorker;
      Blob: new (parts: string[], o: object) => Blob;
      URL: { createObjectURL(b: Blob): string; revokeObjectURL(u: string): void };
    };
    const url = G.URL.createObjectURL(new G.Blob([WEB_WORKER_SOURCE], { type: 'text/javascript' }));
    try {
      const w = new G.Worker(url);
      // A helper that cannot start (a CSP without blob: workers or 'unsafe-eval') only stops helping.
      w.addEventListener('error', () => undefined);
      w.postMessage({ memory, descriptors });
      return { web: w };
    } finally {
      // The worker has fetched its script by the time it runs; revoking later keeps the URL alive until then.
      setTimeout(() => G.URL.revokeObjectURL(url), 10_000);
    }
  }
  return null;
}

interface Runtime {
  makeEnv(memory: WasmMemory, descriptors: readonly (KernelDescriptor | null)[]): unknown;
  refresh(env: unknown): void;
  begin(env: unknown, n: number, table: number, kernel: number, kc: number, wake: boolean): number;
  release(env: unknown, available: number): void;
  finish(env: unknown, jobId: number, n: number, table: number, kernel: number, kc: number, after: () => void): boolean;
}

let runtime: Runtime | null = null;

export function loadRuntime(): Runtime {
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  runtime ??= new Function(`${RUNTIME_SOURCE}\nreturn { makeEnv, refresh, begin, release, finish };`)() as Runtime;
  return runtime;
}

/** The worker pool: helpers that join every published job. Started lazily; never keeps the process alive. */
export class GemmPool {
  private workers: AnyWorker[] = [];

  constructor(memory: WasmMemory, descriptors: readonly (KernelDescriptor | null)[], helpers: number) {
    try {
      for (let i = 0; i < helpers; i++) {
        const w = startWorker(memory, descriptors);
        if (w === null) break;
        this.workers.push(w);
      }
    } catch {
      this.terminate();
    }
  }

  get size(): number {
    return this.workers.length;
  }

  terminate(): void {
    for (const w of this.workers) {
      if ('node' in w) void w.node.terminate();
      else w.web.terminate();
    }
    this.workers = [];
  }
}

/** Up to 4 threads where shared memory and workers exist, else 1. */
export function defaultThreads(): number {
  return defaultGemmThreads();
}
