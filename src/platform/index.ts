/// <reference types="@webgpu/types" preserve="true" />
/**
 * What the JavaScript runtime einjit is loaded in offers: Node built-ins, shared memory, threads, code
 * generation, WebGPU. Detected at run time, never imported statically, so that one build of einjit loads in Node,
 * Deno, Bun, a bundler's browser build and a plain `<script type="module">` without shims: nothing here (or
 * anywhere in the library) names a `node:` module in an `import` a bundler would follow.
 */

/** The runtime einjit detected. */
export type Runtime = 'node' | 'deno' | 'bun' | 'browser' | 'worker' | 'unknown';

/**
 * What this runtime lets einjit use, as returned by {@link capabilities}.
 */
export interface Capabilities {
  /** The detected runtime. */
  readonly runtime: Runtime;
  /**
   * Whether CPU tensors live in `SharedArrayBuffer` memory (Node, Deno, Bun, and pages that are
   * `crossOriginIsolated`); otherwise storage is a plain `ArrayBuffer`.
   */
  readonly sharedMemory: boolean;
  /** Threads the CPU GEMM may use (1 without shared memory or without workers). */
  readonly threads: number;
  /** How GEMM helper threads are started: Node's `worker_threads`, Web Workers, or none (single-threaded). */
  readonly workers: 'worker_threads' | 'web-worker' | 'none';
  /** Whether generated JavaScript kernels can be compiled (`new Function`; a CSP without 'unsafe-eval' refuses it). */
  readonly codegen: boolean;
  /** Whether WebAssembly modules can be compiled (a CSP without 'wasm-unsafe-eval' refuses it). */
  readonly wasm: boolean;
  /**
   * Whether WebAssembly relaxed SIMD validates here, so the CPU GEMM runs its fused multiply-add kernel (browsers
   * and Node ≥ 22 have it; Node 20 only after {@link enableRelaxedSimd} or `--experimental-wasm-relaxed-simd`).
   */
  readonly relaxedSimd: boolean;
  /** Where WebGPU would come from: the page's `navigator.gpu`, the optional `webgpu` package (Dawn) in Node, or nowhere. */
  readonly webgpu: 'navigator.gpu' | 'webgpu-package' | 'none';
  /** One sentence per reduced capability, saying what it costs and how to lift it; empty when nothing is reduced. */
  readonly notes: readonly string[];
}

interface NodeProcess {
  versions?: { node?: string; bun?: string };
  env?: Record<string, string | undefined>;
  getBuiltinModule?: (name: string) => unknown;
}

const g = globalThis as unknown as {
  process?: NodeProcess;
  Deno?: unknown;
  Bun?: unknown;
  navigator?: { gpu?: unknown; hardwareConcurrency?: number };
  document?: unknown;
  crossOriginIsolated?: boolean;
  WorkerGlobalScope?: unknown;
  SharedArrayBuffer?: unknown;
  WebAssembly?: { validate?: (b: Uint8Array) => boolean; Module?: new (b: Uint8Array) => unknown };
};

function detectRuntime(): Runtime {
  if (g.Deno !== undefined) return 'deno';
  if (g.Bun !== undefined) return 'bun';
  if (typeof g.process?.versions?.node === 'string') return 'node';
  if (g.document !== undefined) return 'browser';
  if (g.WorkerGlobalScope !== undefined) return 'worker';
  return 'unknown';
}

/** The runtime, detected once. */
export const runtime: Runtime = detectRuntime();

/**
 * A Node built-in module (`node:os`, `node:worker_threads`, `node:fs/promises`...) where the runtime has Node's
 * `process.getBuiltinModule` (Node ≥ 20.16, Deno, Bun), otherwise undefined. Synchronous, and invisible to
 * bundlers, which is why einjit uses it instead of `import`.
 */
export function nodeBuiltin<T>(name: string): T | undefined {
  const get = g.process?.getBuiltinModule;
  if (typeof get !== 'function') return undefined;
  try {
    return (get.call(g.process, name) ?? undefined) as T | undefined;
  } catch {
    return undefined;
  }
}

/** An environment variable where the runtime has them (Node, Deno and Bun through `process.env`). */
export function envVar(name: string): string | undefined {
  try {
    return g.process?.env?.[name];
  } catch {
    return undefined;
  }
}

/** Sets an environment variable if unset (Node only; a no-op elsewhere). */
export function defaultEnvVar(name: string, value: () => string | undefined): void {
  try {
    const env = g.process?.env;
    if (env === undefined || env[name] !== undefined) return;
    const v = value();
    if (v !== undefined) env[name] = v;
  } catch {
    // Deno without --allow-env: leave it.
  }
}

/**
 * Whether shared memory (and with it, threads) is usable: `SharedArrayBuffer` exists and, in a browser, the page
 * is `crossOriginIsolated`.
 */
function sharedMemoryAvailable(): boolean {
  if (typeof g.SharedArrayBuffer !== 'function') return false;
  if (g.crossOriginIsolated === false) return false;
  return true;
}

/** Logical processors: Node's `os.availableParallelism()`, else `navigator.hardwareConcurrency`, else 1. */
function hardwareThreads(): number {
  const os = nodeBuiltin<{ availableParallelism?: () => number; cpus: () => unknown[] }>('node:os');
  if (os !== undefined) return os.availableParallelism?.() ?? os.cpus().length;
  const n = g.navigator?.hardwareConcurrency;
  return typeof n === 'number' && n > 0 ? n : 1;
}

let codegen: boolean | undefined;
/** Whether `new Function` works here (false under a Content-Security-Policy without 'unsafe-eval'). Probed once. */
export function codegenAllowed(): boolean {
  if (codegen === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-implied-eval
      codegen = (new Function('return 1') as () => number)() === 1;
    } catch {
      codegen = false;
    }
  }
  return codegen;
}

let wasmCompile: boolean | undefined;
/** Whether WebAssembly modules compile here (false without WebAssembly or under a CSP without 'wasm-unsafe-eval'). */
export function wasmAllowed(): boolean {
  if (wasmCompile === undefined) {
    try {
      const W = g.WebAssembly;
      // The smallest module: magic and version.
      const empty = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]);
      wasmCompile = W?.Module !== undefined && new W.Module(empty) !== undefined;
    } catch {
      wasmCompile = false;
    }
  }
  return wasmCompile;
}

// The smallest module that uses relaxed SIMD: (func (param v128 v128 v128) (result v128) f32x4.relaxed_madd).
const RELAXED_PROBE = [0, 97, 115, 109, 1, 0, 0, 0,
  1, 8, 1, 0x60, 3, 0x7b, 0x7b, 0x7b, 1, 0x7b, // type: (v128, v128, v128) -> v128
  3, 2, 1, 0, // one function of that type
  10, 13, 1, 11, 0, 0x20, 0, 0x20, 1, 0x20, 2, 0xfd, 0x85, 0x02, 0x0b]; // local.get 0..2, 0xfd 261 (relaxed_madd)

let relaxed: boolean | undefined;
/**
 * Whether WebAssembly relaxed SIMD validates here (probed once with `WebAssembly.validate`, never assumed from the
 * runtime's version; {@link enableRelaxedSimd} probes again after setting the V8 flag).
 */
export function relaxedSimdAvailable(): boolean {
  if (relaxed === undefined) {
    try {
      relaxed = g.WebAssembly?.validate?.(new Uint8Array(RELAXED_PROBE)) === true;
    } catch {
      relaxed = false;
    }
  }
  return relaxed;
}

/** What {@link enableRelaxedSimd} did. */
export interface RelaxedSimdStatus {
  /** Whether relaxed SIMD validates now (the CPU GEMM then picks its fused multiply-add kernel by itself). */
  readonly relaxedSimd: boolean;
  /** One sentence: what was found or set. */
  readonly message: string;
}

/**
 * Opts in to WebAssembly relaxed SIMD where the engine has it behind a flag (Node 20: V8's
 * `--experimental-wasm-relaxed-simd`, set here with `v8.setFlagsFromString`), then probes again. Call it at
 * start-up, before the first large CPU product compiles the GEMM's modules (if they were compiled already, the
 * next product compiles them again). Node documents setting V8 flags after start-up as unsupported; starting
 * node with `--experimental-wasm-relaxed-simd` does the same without it. Where relaxed SIMD is built in
 * (browsers, Node ≥ 22) it does nothing; where it is absent and no flag exists it changes nothing and says so.
 *
 * @example
 * enableRelaxedSimd().message;   // 'set V8 flag --experimental-wasm-relaxed-simd: relaxed SIMD validates now, ...'
 */
export function enableRelaxedSimd(): RelaxedSimdStatus {
  if (relaxedSimdAvailable()) {
    return { relaxedSimd: true, message: 'relaxed SIMD already validates here: nothing to set' };
  }
  const v8 = nodeBuiltin<{ setFlagsFromString?: (flags: string) => void }>('node:v8');
  if (typeof v8?.setFlagsFromString !== 'function') {
    return { relaxedSimd: false, message: 'relaxed SIMD is not available here and this runtime has no V8 flags to set: the CPU GEMM keeps its mul+add SIMD kernel' };
  }
  try {
    v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  } catch {
    // Reported below: the probe still fails.
  }
  relaxed = undefined;
  return relaxedSimdAvailable()
    ? { relaxedSimd: true, message: 'set V8 flag --experimental-wasm-relaxed-simd: relaxed SIMD validates now, and the CPU GEMM uses its fused multiply-add kernel' }
    : { relaxedSimd: false, message: 'set V8 flag --experimental-wasm-relaxed-simd, but relaxed SIMD still does not validate: the CPU GEMM keeps its mul+add SIMD kernel' };
}

/** Whether the runtime provides `navigator.gpu` (browsers, Deno). */
export function navigatorGpu(): GPU | undefined {
  const gpu = g.navigator?.gpu;
  return gpu === undefined || gpu === null ? undefined : (gpu as GPU);
}

/** How helper threads can be started here. */
export function workerKind(): 'worker_threads' | 'web-worker' | 'none' {
  if (nodeBuiltin('node:worker_threads') !== undefined) return 'worker_threads';
  if (typeof (globalThis as { Worker?: unknown }).Worker === 'function') return 'web-worker';
  return 'none';
}

/** The threads the CPU GEMM uses by default: up to 4, and 1 without shared memory or workers. */
export function defaultGemmThreads(): number {
  if (!sharedMemoryAvailable() || workerKind() === 'none') return 1;
  return Math.max(1, Math.min(4, hardwareThreads()));
}

/**
 * What this runtime lets einjit use: shared memory, threads, code generation, WebGPU. Nothing here is an error:
 * without shared memory CPU tensors live in plain `ArrayBuffer`s and kernels run on one thread (correct, slower).
 *
 * @example
 * const caps = capabilities();
 * caps.runtime;                                  // 'node' in Node
 * caps.sharedMemory;                             // true in Node
 */
export function capabilities(): Capabilities {
  const shared = sharedMemoryAvailable();
  const workers = shared ? workerKind() : 'none';
  const notes: string[] = [];
  if (!shared) {
    notes.push(g.crossOriginIsolated === false
      ? 'the page is not cross-origin isolated, so there is no shared memory and the CPU GEMM runs on one thread; serve it with "Cross-Origin-Opener-Policy: same-origin" and "Cross-Origin-Embedder-Policy: require-corp" for threads'
      : 'SharedArrayBuffer is not available here, so the CPU GEMM runs on one thread');
  }
  const cg = codegenAllowed();
  if (!cg) {
    notes.push("generated JavaScript kernels cannot be compiled here (a Content-Security-Policy without 'unsafe-eval'?)");
  }
  const wasm = wasmAllowed();
  if (!wasm) notes.push("WebAssembly cannot be compiled here, so the CPU GEMM uses its JavaScript kernel (a Content-Security-Policy without 'wasm-unsafe-eval'?)");
  const webgpu = navigatorGpu() !== undefined ? 'navigator.gpu' : runtime === 'node' || runtime === 'bun' ? 'webgpu-package' : 'none';
  return {
    runtime,
    sharedMemory: shared,
    threads: workers === 'none' ? 1 : defaultGemmThreads(),
    workers,
    codegen: cg,
    wasm,
    relaxedSimd: wasm && relaxedSimdAvailable(),
    webgpu,
    notes,
  };
}
