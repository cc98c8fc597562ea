/// <reference types="@webgpu/types" preserve="true" />
/**
 * WebGPUBackend: the device layer of the 'webgpu' backend. It owns Dawn's instance, the adapter and the device;
 * allocates, uploads, reads and releases buffers; renders kernel specs to WGSL (loop.ts, gemm.ts), caches their
 * pipelines and launches them; and turns every error Dawn reports into an EinjitError naming the kernel.
 *
 * Errors: each launch runs inside validation, out-of-memory and internal error scopes; the popped scopes are
 * recorded with the kernel's name and the first error is thrown at the next `read()` or `flush()`. Errors outside
 * any scope (the uncapturederror event) and device loss are recorded the same way. Nothing fails silently.
 */

import type * as Dawn from 'webgpu';
import type { AdapterDescription, GpuLimits } from '../../src/lower/backend.js';
import { defaultEnvVar, envVar, navigatorGpu, nodeBuiltin, runtime } from '../../src/platform/index.js';
import { EinjitError } from '../../src/errors.js';
import type { Access, GemmSpec, KernelSpec, LoopSpec } from '../../src/lower/spec.js';
import type { GpuDType, HostArray } from './dtypes.js';
import {
  bytesPerElement, fromDeviceBytes, halfBits, gpuDType, hostArrayName, matchesHostArray, storageType, toDeviceBytes,
} from './dtypes.js';
import { accessRange } from './common.js';
import type { KernelVariant, RenderedKernel } from './kernel.js';
import { DEFAULT_LOOP_TUNING, loopCounts, loopKernel } from './loop.js';
import type { LoopTuning } from './loop.js';
import { buildLoop } from '../../src/lower/loops.js';
import { DEFAULT_MULTIPASS, splitReduction } from './multipass.js';
import { transposeGrid } from './transpose.js';
import type { MultipassTuning, SplitReduction } from './multipass.js';
import { ex, specInputCount } from '../../src/lower/spec.js';
import { chooseGemmConfig, gemmKernel } from './gemm.js';
import type { GemmTileChoice } from './gemm.js';
import { LruCache } from '../../src/util/lru.js';

export type { GpuDType } from './dtypes.js';

/** A device buffer holding `length` elements of `dtype` (dtypes.ts says how each dtype is stored). */
export interface GpuStorage {
  readonly buffer: GPUBuffer;
  readonly dtype: GpuDType;
  readonly length: number;
}

/** Knobs that choose between kernel shapes; shapes are chosen automatically, tests pin them. */
export interface GpuTuning extends LoopTuning {
  gemmTiles: GemmTileChoice;
  /** At most this many workgroups for a tiled transpose, each moving several tiles; 0: one per tile. */
  transposeGridCap: number;
  /** When long reductions into few outputs run in two passes (multipass.ts); null keeps them in one kernel. */
  multipassReduce: MultipassTuning | null;
}

// WebGPU's numeric flag values (the globals GPUBufferUsage/GPUMapMode/GPUShaderStage do not exist in Node).
const USAGE = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, UNIFORM: 0x40, STORAGE: 0x80, QUERY_RESOLVE: 0x200 } as const;
const MAP_READ = 0x1;
const STAGE_COMPUTE = 0x4;

/** Buffers are padded to 16 bytes so any binding may view them as vec4 arrays. */
const BUFFER_ALIGN = 16;
/** Released buffers kept for reuse, by exact size, up to this many bytes in all. */
const POOL_LIMIT_BYTES = 256 * 1024 * 1024;

/** Compiled pipelines kept, least recently used evicted first (keys hold no shapes or constants). */
export const PIPELINE_CACHE_CAPACITY = 512;

/** Launches encoded into one command encoder before it is submitted. */
const MAX_BATCH = 256;
/** Each launch's params take a 256-byte slot (WebGPU's minUniformBufferOffsetAlignment) of one uniform buffer. */
const PARAM_SLOT = 256;
const PARAM_ARENA_BYTES = MAX_BATCH * PARAM_SLOT;
/** Bind groups cached per kernel (a cache that fills up is cleared). */
const BIND_GROUPS_PER_KERNEL = 512;

interface Batch {
  readonly encoder: GPUCommandEncoder;
  /** The compute pass open for untimed launches, or null. */
  pass: GPUComputePassEncoder | null;
  /** Kernel names in launch order. */
  readonly names: string[];
  paramBytes: number;
  /** Indices of launches timed with their own pass (timestamps 2i and 2i + 1). */
  readonly timed: number[];
}

interface CachedKernel {
  readonly rendered: RenderedKernel;
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
}

interface Failure {
  readonly kernel: string;
  readonly what: string;
  readonly message: string;
}

/**
 * Instances and adapters of destroyed backends. Buffers (and other objects) from a backend may stay reachable
 * after destroy() — a tensor nobody disposed — and when V8 collects Dawn's instance before them the process
 * crashes (SIGSEGV/SIGABRT at the next GC or at exit). So destroy() destroys the device, which frees the GPU
 * memory and lets the process exit, and parks the instance here for the rest of the process.
 */
const retired: unknown[] = [];

/** This backend's GpuStorage: a GPUBuffer from the pool, with the dtype and length the caller asked for. */
class DeviceBuffer implements GpuStorage {
  released = false;
  constructor(
    readonly buffer: GPUBuffer, readonly dtype: GpuDType, readonly length: number, readonly bytes: number,
    readonly owner: WebGPUBackend,
  ) {}
}

export class WebGPUBackend {
  readonly adapterInfo: string;
  /** The adapter's vendor, architecture, device and description, and whether it is a software rasterizer. */
  readonly adapterDetails: AdapterDescription;
  readonly limits: GpuLimits;
  /** Whether float16 is stored as f16 (the device has 'shader-f16'); otherwise as f32. */
  readonly f16: boolean;
  readonly features: readonly string[];
  readonly tuning: GpuTuning = { ...DEFAULT_LOOP_TUNING, gemmTiles: 'auto', multipassReduce: DEFAULT_MULTIPASS, transposeGridCap: 0 };

  // Dawn tears the instance down under a live device once these are garbage collected (the process then
  // aborts), so the backend holds them for its whole life and drops them only in destroy().
  private gpu: GPU | null;
  private adapter: GPUAdapter | null;
  private dev: GPUDevice | null;

  private readonly kernels = new LruCache<string, CachedKernel>(PIPELINE_CACHE_CAPACITY);
  private placeholderBuffer: DeviceBuffer | null = null;
  private readonly pool = new Map<number, GPUBuffer[]>();
  private pooledBytes = 0;
  private live = 0;
  // Launch batching (see launch / submitPending).
  private batch: Batch | null = null;
  private submitScheduled = false;
  private readonly paramStage = new Uint8Array(PARAM_ARENA_BYTES);
  private params: GPUBuffer | null = null;
  private readonly bindGroups = new WeakMap<CachedKernel, Map<string, GPUBindGroup>>();
  private readonly bufferIds = new WeakMap<GPUBuffer, number>();
  private nextBufferId = 1;
  // Profiling (startProfile / stopProfile).
  private launches = 0;
  private launchesAtStart = 0;
  private profiling: Map<string, { name: string; count: number; ms?: number }> | null = null;
  private timestamps: { set: GPUQuerySet; resolve: GPUBuffer } | null = null;
  private readonly timestampReads = new Set<Promise<void>>();
  private readonly pending = new Set<Promise<void>>();
  private readonly failures: Failure[] = [];
  private lostReason: string | null = null;
  private destroyed = false;

  private constructor(gpu: GPU, adapter: GPUAdapter, device: GPUDevice, adapterInfo: string, adapterDetails: AdapterDescription, features: string[]) {
    this.gpu = gpu;
    this.adapter = adapter;
    this.dev = device;
    this.adapterInfo = adapterInfo;
    this.adapterDetails = adapterDetails;
    this.features = features;
    this.f16 = features.includes('shader-f16');
    const l = device.limits;
    this.limits = {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
    };
    device.addEventListener('uncapturederror', (ev) => {
      const error = (ev as GPUUncapturedErrorEvent).error;
      this.failures.push({ kernel: 'webgpu', what: errorKind(error), message: error.message });
    });
    void device.lost.then((info) => {
      if (!this.destroyed) this.lostReason = `${info.reason}: ${info.message}`;
    });
  }

  /** Requests an adapter and a device with the adapter's own limits; uses 'shader-f16' and 'subgroups' when offered. */
  static async create(): Promise<WebGPUBackend> {
    const gpu = await createInstance();
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (adapter === null) {
      throw new EinjitError('no WebGPU adapter found', {
        op: 'webgpu',
        hint: 'install a GPU driver with Vulkan/Metal/D3D12 support (or Mesa lavapipe for a software device), or use the cpu backend',
      });
    }
    const offered = ['shader-f16', 'subgroups', 'timestamp-query'].filter((f) => adapter.features.has(f));
    const a = adapter.limits;
    const device = await adapter.requestDevice({
      requiredFeatures: offered as GPUFeatureName[],
      requiredLimits: {
        maxStorageBufferBindingSize: a.maxStorageBufferBindingSize,
        maxBufferSize: a.maxBufferSize,
        maxComputeWorkgroupStorageSize: a.maxComputeWorkgroupStorageSize,
        maxComputeInvocationsPerWorkgroup: a.maxComputeInvocationsPerWorkgroup,
        maxComputeWorkgroupSizeX: a.maxComputeWorkgroupSizeX,
        maxComputeWorkgroupSizeY: a.maxComputeWorkgroupSizeY,
        maxStorageBuffersPerShaderStage: a.maxStorageBuffersPerShaderStage,
      },
    });
    const details = adapterDescription(adapter.info, (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter === true);
    return new WebGPUBackend(gpu, adapter, device, describeAdapter(adapter.info), details, offered);
  }

  /** Whether a WebGPU adapter exists here, without creating a device. */
  static async probe(): Promise<{ available: boolean; reason?: string; adapter?: string }> {
    try {
      const gpu = await createInstance();
      const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
      if (adapter === null) return { available: false, reason: 'no WebGPU adapter found' };
      return { available: true, adapter: describeAdapter(adapter.info) };
    } catch (e) {
      return { available: false, reason: `WebGPU unavailable: ${e instanceof Error ? e.message : String(e)}` };
    }
  }

  // ---------------------------------------------------------------- buffers

  /**
   * A buffer of `length` elements with unspecified contents (released buffers are reused as they are): for
   * outputs a kernel writes in full. Anything read before it is written must come from `allocateZeroed`.
   */
  allocate(dtype: GpuDType, length: number): GpuStorage {
    const { storage } = this.take(dtype, length, 'allocate');
    if (this.poison !== null) this.fillPoison(storage, this.poison);
    return storage;
  }

  /**
   * A buffer of `length` elements, every one 0. WebGPU zero-fills new buffers; a reused one is cleared by a
   * command queued now, so it runs before any kernel that is launched on the buffer later.
   */
  allocateZeroed(dtype: GpuDType, length: number): GpuStorage {
    const { storage, reused } = this.take(dtype, length, 'allocateZeroed');
    if (reused) {
      // Into the launch batch, so that it is ordered after the buffer's earlier users and before its later ones.
      const batch = this.openBatch(this.device('allocateZeroed'));
      batch.pass?.end();
      batch.pass = null;
      batch.encoder.clearBuffer(storage.buffer, 0, storage.bytes);
    }
    return storage;
  }

  /**
   * Test hook: fill every buffer `allocate` hands out with `value` (as each dtype stores it), so a caller that
   * relies on zeros from `allocate` reads poison; null turns it off.
   */
  setPoison(value: number | null): void {
    this.poison = value;
  }

  private poison: number | null = null;

  private take(dtype: GpuDType, length: number, op: string): { storage: DeviceBuffer; reused: boolean } {
    const device = this.device(op);
    const dt = gpuDType(dtype, op);
    if (!Number.isSafeInteger(length) || length < 0) throw new EinjitError(`cannot allocate ${length} elements`, { op });
    const bytes = Math.max(BUFFER_ALIGN, Math.ceil((length * bytesPerElement(dt, this.f16)) / BUFFER_ALIGN) * BUFFER_ALIGN);
    if (bytes > this.limits.maxStorageBufferBindingSize) {
      throw new EinjitError(
        `a ${dt} buffer of ${length} elements (${bytes} bytes) exceeds this device's maxStorageBufferBindingSize of ${this.limits.maxStorageBufferBindingSize} bytes`,
        { op, hint: 'split the tensor into smaller pieces, or use the cpu backend for it' },
      );
    }
    let buffer = this.pool.get(bytes)?.pop();
    const reused = buffer !== undefined;
    if (buffer !== undefined) {
      this.pooledBytes -= bytes;
    } else {
      this.pushScopes(device);
      buffer = device.createBuffer({ size: bytes, usage: USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST, label: `einjit ${dt}[${length}]` });
      this.popScopes(device, op);
    }
    this.live += bytes;
    return { storage: new DeviceBuffer(buffer, dt, length, bytes, this), reused };
  }

  private fillPoison(s: DeviceBuffer, value: number): void {
    const storedAs = storageType(s.dtype, this.f16);
    const words = storedAs === 'f32' ? new Float32Array(s.bytes / 4).fill(value)
      : storedAs === 'f16' ? new Uint16Array(s.bytes / 2).fill(halfBits([value])[0]!)
        : new Int32Array(s.bytes / 4).fill(Number.isNaN(value) ? -1 : value);
    this.submitPending(); // a direct queue write: after every launch encoded so far
    this.device('allocate').queue.writeBuffer(s.buffer, 0, words);
  }

  upload(dtype: GpuDType, data: Float32Array | Int32Array | Uint8Array | Uint16Array): GpuStorage {
    const dt = gpuDType(dtype, 'upload');
    if (!matchesHostArray(dt, data)) {
      throw new EinjitError(`upload of ${dt} expects a ${hostArrayName(dt)}, got ${data.constructor.name}`, { op: 'upload' });
    }
    const { storage, reused } = this.take(dt, data.length, 'upload');
    // A direct queue write: a reused buffer's earlier users must be submitted before it.
    if (reused) this.submitPending();
    if (data.length > 0) {
      const view = toDeviceBytes(dt, data, this.f16);
      const u8 = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
      const padded = u8.byteLength % 4 === 0 ? u8 : padTo4(u8);
      this.device('upload').queue.writeBuffer(storage.buffer, 0, padded);
    }
    return storage;
  }

  /** Copies the buffer back; throws any error recorded so far first. Resolves in queue order. */
  async read(storage: GpuStorage): Promise<Float32Array | Int32Array | Uint8Array | Uint16Array> {
    const device = this.device('read');
    const s = this.checkLive(storage, 'read');
    this.submitPending();
    const bytes = Math.max(4, Math.ceil((s.length * bytesPerElement(s.dtype, this.f16)) / 4) * 4);
    this.pushScopes(device);
    const staging = device.createBuffer({ size: bytes, usage: USAGE.MAP_READ | USAGE.COPY_DST, label: 'einjit readback' });
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(s.buffer, 0, staging, 0, bytes);
    device.queue.submit([encoder.finish()]);
    this.popScopes(device, 'read');
    try {
      await staging.mapAsync(MAP_READ);
    } catch (e) {
      staging.destroy();
      await this.throwFailures();
      throw new EinjitError(`reading a ${s.dtype} buffer back failed: ${e instanceof Error ? e.message : String(e)}`, { op: 'read' });
    }
    try {
      await this.throwFailures();
      return fromDeviceBytes(s.dtype, staging.getMappedRange(), s.length, this.f16);
    } finally {
      staging.unmap();
      staging.destroy();
    }
  }

  release(storage: GpuStorage): void {
    const s = this.checkLive(storage, 'release');
    s.released = true;
    this.live -= s.bytes;
    if (this.pooledBytes + s.bytes <= POOL_LIMIT_BYTES && !this.destroyed) {
      const list = this.pool.get(s.bytes) ?? [];
      list.push(s.buffer);
      this.pool.set(s.bytes, list);
      this.pooledBytes += s.bytes;
    } else {
      this.submitPending(); // launches encoded with the buffer must be submitted before it is destroyed
      s.buffer.destroy();
    }
  }

  /** How many compiled pipelines the cache holds (at most `pipelineCapacity`). */
  pipelineCount(): number {
    return this.kernels.size;
  }

  /** The most pipelines kept (PIPELINE_CACHE_CAPACITY unless set); lowering it evicts the least recently used. */
  get pipelineCapacity(): number {
    return this.kernels.capacity;
  }

  set pipelineCapacity(n: number) {
    if (!Number.isSafeInteger(n) || n < 1) throw new EinjitError(`pipelineCapacity must be a positive integer, got ${n}`, { op: 'pipelineCapacity' });
    this.kernels.resize(n);
  }

  /** Bytes held by storages that have not been released (pooled buffers do not count). */
  liveBytes(): number {
    return this.live;
  }

  // ---------------------------------------------------------------- kernels

  /** The name of the WGSL kernel `run` would launch for this spec (known without rendering it). */
  kernelName(spec: KernelSpec): string {
    return this.kernelFor(spec).name;
  }

  /** The complete WGSL module `run` would launch for this spec (it compiles on its own). */
  kernelSource(spec: KernelSpec): { name: string; source: string } {
    const kernel = this.kernelFor(spec);
    const r = this.kernels.get(kernel.key)?.rendered ?? kernel.render();
    return { name: r.name, source: r.source };
  }

  /**
   * Encodes and submits one launch of `spec` reading `inputs` and writing `output`. Synchronous to call; the work
   * runs in queue order, and any error it raises is thrown by the next `read()` or `flush()`.
   */
  run(spec: KernelSpec, inputs: readonly GpuStorage[], output: GpuStorage): void {
    const device = this.device('run');
    // A map may read its output where it writes it (an in-place update): those inputs are read from the output's
    // binding, as one buffer cannot be bound read-only and read-write in one dispatch.
    const inPlace = spec.kind === 'loop' ? inputs.flatMap((s, i) => (s.buffer === output.buffer && readsWhereWritten(spec, i) ? [i] : [])) : [];
    const kernel = inPlace.length > 0 ? loopKernel(spec as LoopSpec, this.tuning, this.f16, 0, 'thread', inPlace) : this.kernelFor(spec);
    const name = kernel.name;
    if (spec.kind === 'loop') this.checkLoop(spec, inputs, output, name);
    else this.checkGemm(spec, inputs, output, name);
    if (kernel.empty) return;
    const storages = [...inputs, output].map((s, i) => (inPlace.includes(i) ? this.placeholder(device) : this.checkLive(s, name)));
    if (storages.length > this.limits.maxStorageBuffersPerShaderStage) {
      throw new EinjitError(`${storages.length} storage buffers exceed this device's limit of ${this.limits.maxStorageBuffersPerShaderStage}`, {
        op: name, hint: 'split the expression into several kernels',
      });
    }
    if (inputs.some((s, i) => s.buffer === output.buffer && !inPlace.includes(i))) {
      throw new EinjitError('the output buffer is also an input of the same kernel, read where it is not written', {
        op: name, hint: 'write into a fresh buffer',
      });
    }
    const split = spec.kind === 'loop' && this.tuning.multipassReduce !== null ? splitReduction(spec, this.tuning.multipassReduce) : null;
    if (spec.kind === 'gemm' && kernel.splitK > 1) this.runSplitGemm(spec, kernel.splitK, storages, inputs, output, device);
    else if (split !== null) this.runSplitReduction(split, storages.slice(0, -1), storages[storages.length - 1]!, device);
    else this.launch(kernel, storages, device);
  }

  /** A long reduction into few outputs in two passes through a pooled workspace (multipass.ts). */
  private runSplitReduction(split: SplitReduction, inputs: DeviceBuffer[], output: DeviceBuffer, device: GPUDevice): void {
    const work = this.allocate(split.workspace.dtype as GpuDType, split.workspace.length) as DeviceBuffer;
    try {
      this.launch(this.loopKernel(split.first), [...inputs, work], device);
      this.launch(this.loopKernel(split.second), [work, output], device);
    } finally {
      this.release(work); // later users of the buffer are queued after these launches
    }
  }

  /**
   * A GEMM with K split over `splits` workgroups per tile of C: the GEMM writes each split's partial sums into a
   * contiguous workspace [splits, batch..., m, n], and a loop reduction adds them into C through C's own strides.
   * With an epilogue the sum goes into a second workspace [batch..., m, n] instead, and the epilogue runs as a map
   * from it into C, reading the epilogue's operands (`raw`, after A and B) and, for an update in place, C's old
   * value from C's own binding; a split's partial sums never see the epilogue.
   */
  private runSplitGemm(spec: GemmSpec, splits: number, storages: readonly DeviceBuffer[], raw: readonly GpuStorage[], output: GpuStorage,
    device: GPUDevice): void {
    const mn = spec.batch.reduce((a, b) => a * b, 1) * spec.m * spec.n;
    const batchStrides = spec.batch.map((_, d) => spec.batch.slice(d + 1).reduce((a, b) => a * b, 1) * spec.m * spec.n);
    const sizes = [...spec.batch, spec.m, spec.n];
    const contiguous = [...batchStrides, spec.n, 1];
    const cAccess: Access = { dtype: 'float32', offset: spec.c.offset, strides: [...spec.c.batchStrides, spec.c.rowStride, spec.c.colStride] };
    const work = this.allocate('float32', splits * mn) as DeviceBuffer;
    const summed = spec.epilogue === undefined ? null : this.allocate('float32', mn) as DeviceBuffer;
    try {
      const { epilogue: _e, epilogueInputs: _i, epilogueReadsC: _c, ...product } = spec;
      const partial: GemmSpec = { ...product, c: { offset: 0, batchStrides, rowStride: spec.n, colStride: 1 } };
      this.launch(gemmKernel(partial, chooseGemmConfig(partial, this.tuning.gemmTiles, this.limits)), [storages[0]!, storages[1]!, work], device);
      const sum = buildLoop({
        label: `${spec.label} (sum of ${splits} K splits)`, outShape: sizes, reduceShape: [splits], reduceOp: 'sum',
        inputs: [{ dtype: 'float32', offset: 0, strides: [...contiguous, mn] }],
        output: summed === null ? cAccess : { dtype: 'float32', offset: 0, strides: contiguous },
        expr: ex.input(0), computeType: 'float32',
      });
      this.launch(this.loopKernel(sum), [work, summed ?? storages[storages.length - 1]!], device);
      if (summed !== null) {
        const map: LoopSpec = {
          kind: 'loop', label: `epilogue of ${spec.label}`, sizes, parallel: sizes.length, reduceOp: null,
          inputs: [{ dtype: 'float32', offset: 0, strides: contiguous }, ...(spec.epilogueInputs ?? []), ...(spec.epilogueReadsC === true ? [cAccess] : [])],
          output: cAccess, expr: spec.epilogue!, computeType: 'float32',
        };
        this.run(map, [summed, ...raw.slice(2), ...(spec.epilogueReadsC === true ? [output] : [])], output);
      }
    } finally {
      // Safe to reuse at once: later work is queued after these launches.
      this.release(work);
      if (summed !== null) this.release(summed);
    }
  }

  /**
   * Encodes one launch of a kernel over live storages (inputs, then the output) into the open batch: one
   * command encoder and compute pass shared by consecutive launches, submitted together (see submitPending). Its
   * params go into the batch's slice of one uniform buffer, bound with a dynamic offset; bind groups are cached
   * per kernel and buffers. Nothing is allocated per launch.
   */
  private launch(variant: KernelVariant, storages: readonly DeviceBuffer[], device: GPUDevice): void {
    const name = variant.name;
    const kernel = this.pipeline(variant, device);
    const values = kernel.rendered.params.pack(variant.params());
    const bytes = values.byteLength;
    // A launch takes whole slots (dynamic offsets are slot-aligned): a batch whose arena cannot hold them all
    // is submitted first.
    const slotBytes = Math.ceil(bytes / PARAM_SLOT) * PARAM_SLOT;
    if (this.batch !== null && this.batch.paramBytes + slotBytes > PARAM_ARENA_BYTES) this.submitPending();
    const batch = this.openBatch(device);
    const offset = batch.paramBytes;
    this.paramStage.set(new Uint8Array(values.buffer, values.byteOffset, bytes), offset);
    batch.paramBytes += slotBytes;
    const bindGroup = this.bindGroup(kernel, storages, bytes, device);
    const timed = this.profiling !== null && this.timestamps !== null && batch.names.length < MAX_BATCH;
    let pass = batch.pass;
    if (timed) {
      // Its own pass, so that the pass's timestamps bracket this dispatch alone.
      pass?.end();
      const at = 2 * batch.names.length;
      pass = batch.encoder.beginComputePass({ timestampWrites: { querySet: this.timestamps!.set, beginningOfPassWriteIndex: at, endOfPassWriteIndex: at + 1 } });
      batch.timed.push(batch.names.length);
    } else if (pass === null) {
      pass = batch.encoder.beginComputePass();
    }
    pass.setPipeline(kernel.pipeline);
    pass.setBindGroup(0, bindGroup, [offset]);
    const [x, y, z] = variant.grid();
    pass.dispatchWorkgroups(x, y, z);
    if (timed) {
      pass.end();
      batch.pass = null;
    } else {
      batch.pass = pass;
    }
    batch.names.push(name);
    this.launches++;
    if (this.profiling !== null) {
      const k = this.profiling.get(name) ?? { name, count: 0, ms: 0 };
      k.count++;
      this.profiling.set(name, k);
    }
    if (batch.names.length >= MAX_BATCH) this.submitPending();
  }

  /** The open batch, or a new one (submitted at the end of the current task at the latest). */
  private openBatch(device: GPUDevice): Batch {
    if (this.batch !== null) return this.batch;
    this.batch = { encoder: device.createCommandEncoder(), pass: null, names: [], paramBytes: 0, timed: [] };
    if (!this.submitScheduled) {
      this.submitScheduled = true;
      queueMicrotask(() => {
        this.submitScheduled = false;
        if (!this.destroyed) this.submitPending();
      });
    }
    return this.batch;
  }

  /** A bind group of these storages and the params buffer for `kernel`, created once per kernel and buffers. */
  private bindGroup(kernel: CachedKernel, storages: readonly DeviceBuffer[], paramBytes: number, device: GPUDevice): GPUBindGroup {
    let groups = this.bindGroups.get(kernel);
    if (groups === undefined) {
      groups = new Map();
      this.bindGroups.set(kernel, groups);
    }
    const params = this.paramBuffer(device);
    const key = `${this.bufferId(params)}:${storages.map((st) => `${this.bufferId(st.buffer)}/${st.bytes}`).join(',')}`;
    let group = groups.get(key);
    if (group === undefined) {
      if (groups.size >= BIND_GROUPS_PER_KERNEL) groups.clear();
      group = device.createBindGroup({
        layout: kernel.layout,
        entries: [
          ...storages.map((st, i) => ({ binding: i, resource: { buffer: st.buffer, size: st.bytes } })),
          { binding: storages.length, resource: { buffer: params, size: paramBytes } },
        ],
      });
      groups.set(key, group);
    }
    return group;
  }

  private bufferId(b: GPUBuffer): number {
    let id = this.bufferIds.get(b);
    if (id === undefined) {
      id = this.nextBufferId++;
      this.bufferIds.set(b, id);
    }
    return id;
  }

  /** The uniform buffer every launch's params live in, each batch's from offset 0 (written just before its submit). */
  private paramBuffer(device: GPUDevice): GPUBuffer {
    this.params ??= device.createBuffer({ size: PARAM_ARENA_BYTES, usage: USAGE.UNIFORM | USAGE.COPY_DST, label: 'einjit params' });
    return this.params;
  }

  /**
   * Submits the open batch: its params are written to the uniform buffer, then its commands submitted (queue order
   * puts the write after every earlier batch's work and before this one's). Errors of the batch's launches are
   * recorded under the first kernel's name, with the others listed. Called before anything that works on the
   * queue directly (uploads into reused buffers, reads, destroying buffers), by flush, when a batch is full, and
   * at the end of the task that opened it.
   */
  submitPending(): void {
    const batch = this.batch;
    if (batch === null || this.dev === null) return;
    this.batch = null;
    const device = this.dev;
    batch.pass?.end();
    const first = batch.names[0] ?? 'webgpu';
    const label = batch.names.length <= 1 ? first
      : `${first}' (batched with ${batch.names.length - 1} more: ${[...new Set(batch.names.slice(1))].slice(0, 4).join(', ')}${batch.names.length > 5 ? ', ...' : ''})`.replace(/'$/, '');
    this.pushScopes(device);
    let readback: GPUBuffer | null = null;
    if (batch.timed.length > 0 && this.timestamps !== null) {
      const n = 2 * batch.names.length;
      batch.encoder.resolveQuerySet(this.timestamps.set, 0, n, this.timestamps.resolve, 0);
      readback = device.createBuffer({ size: n * 8, usage: USAGE.MAP_READ | USAGE.COPY_DST, label: 'einjit timestamps' });
      batch.encoder.copyBufferToBuffer(this.timestamps.resolve, 0, readback, 0, n * 8);
    }
    if (batch.paramBytes > 0) device.queue.writeBuffer(this.paramBuffer(device), 0, this.paramStage, 0, batch.paramBytes);
    device.queue.submit([batch.encoder.finish()]);
    this.popScopes(device, label);
    if (readback !== null) this.collectTimestamps(readback, batch);
  }

  /** Adds the batch's kernel times (end − beginning of each timed pass) to the profile once they are readable. */
  private collectTimestamps(readback: GPUBuffer, batch: Batch): void {
    const profile = this.profiling;
    const done: Promise<void> = readback.mapAsync(MAP_READ).then(() => {
      const t = new BigInt64Array(readback.getMappedRange().slice(0));
      readback.unmap();
      readback.destroy();
      for (const i of batch.timed) {
        const ms = Number(t[2 * i + 1]! - t[2 * i]!) / 1e6;
        const k = profile?.get(batch.names[i]!);
        if (k !== undefined && ms >= 0) k.ms = (k.ms ?? 0) + ms;
      }
    }, () => { readback.destroy(); }).finally(() => { this.timestampReads.delete(done); });
    this.timestampReads.add(done);
  }

  /**
   * Starts counting launches (and, where the device has `timestamp-query`, timing each kernel) until
   * `stopProfile`. Profiles do not nest.
   */
  startProfile(): void {
    if (this.profiling !== null) throw new EinjitError('a profile is already running on this device', { op: 'profile', hint: 'profiles do not nest' });
    this.submitPending();
    const device = this.device('profile');
    if (this.features.includes('timestamp-query') && this.timestamps === null) {
      this.timestamps = {
        set: device.createQuerySet({ type: 'timestamp', count: 2 * MAX_BATCH }),
        resolve: device.createBuffer({ size: 2 * MAX_BATCH * 8, usage: USAGE.QUERY_RESOLVE | USAGE.COPY_SRC, label: 'einjit timestamps' }),
      };
    }
    this.profiling = new Map();
    this.launchesAtStart = this.launches;
  }

  /** Ends the profile: every launch since startProfile by kernel name, with GPU milliseconds where timed. */
  async stopProfile(): Promise<{ launches: number; timed: boolean; kernels: { name: string; count: number; ms?: number }[] }> {
    this.submitPending();
    const device = this.device('profile');
    await device.queue.onSubmittedWorkDone();
    while (this.timestampReads.size > 0) await Promise.all([...this.timestampReads]);
    const profile = this.profiling ?? new Map<string, { name: string; count: number; ms?: number }>();
    this.profiling = null;
    const timed = this.timestamps !== null;
    const kernels = [...profile.values()].map((k) => (timed ? { name: k.name, count: k.count, ms: k.ms ?? 0 } : { name: k.name, count: k.count }));
    return { launches: this.launches - this.launchesAtStart, timed, kernels };
  }

  /** Waits for all queued work and throws the first error recorded since the last flush. */
  async flush(): Promise<void> {
    const device = this.device('flush');
    this.submitPending();
    await device.queue.onSubmittedWorkDone();
    await this.throwFailures();
  }

  /** Compiles a WGSL module and returns Dawn's messages (for tests and tools). */
  async compileMessages(source: string): Promise<{ type: string; message: string; line: number }[]> {
    const device = this.device('compile');
    device.pushErrorScope('validation');
    const module = device.createShaderModule({ code: source });
    const info = await module.getCompilationInfo();
    await device.popErrorScope(); // the error is the messages returned
    return info.messages.map((m) => ({ type: m.type, message: m.message, line: m.lineNum }));
  }

  /**
   * Destroys the device and every pooled buffer, so the process can exit. Dawn's instance is parked for the rest
   * of the process (see `retired`): objects from it may outlive the backend, and collecting it first crashes.
   */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const list of this.pool.values()) for (const b of list) b.destroy();
    this.batch = null;
    this.params?.destroy();
    this.timestamps?.set.destroy();
    this.timestamps?.resolve.destroy();
    this.pool.clear();
    this.kernels.clear();
    this.dev?.destroy();
    retired.push(this.gpu, this.adapter);
    this.dev = null;
    this.adapter = null;
    this.gpu = null;
  }

  // ---------------------------------------------------------------- internals

  private device(op: string): GPUDevice {
    if (this.destroyed || this.dev === null) throw new EinjitError('the webgpu backend has been destroyed', { op });
    if (this.lostReason !== null) {
      throw new EinjitError(`the WebGPU device was lost (${this.lostReason})`, { op, hint: 'create a new backend' });
    }
    return this.dev;
  }

  /** The storage as this backend's buffer, if it is one of this device's and not released. */
  private checkLive(storage: GpuStorage, op: string): DeviceBuffer {
    if (!(storage instanceof DeviceBuffer)) throw new EinjitError('not a buffer of this backend', { op });
    if (storage.owner !== this) {
      throw new EinjitError('this buffer belongs to a webgpu device that was shut down', {
        op, hint: 'tensors do not outlive shutdown(): copy them to the cpu before it (await t.to("cpu")), or recreate them',
      });
    }
    if (storage.released) throw new EinjitError('use of a released buffer', { op, hint: 'the tensor was already disposed' });
    return storage;
  }

  /** The kernel variant that runs `spec` on this device under its tuning. */
  /** A 16-byte storage buffer bound where a kernel reads an input from its output's binding instead. */
  private placeholder(device: GPUDevice): DeviceBuffer {
    this.placeholderBuffer ??= new DeviceBuffer(
      device.createBuffer({ size: 16, usage: USAGE.STORAGE, label: 'einjit placeholder' }), 'float32', 4, 16, this);
    return this.placeholderBuffer;
  }

  private kernelFor(spec: KernelSpec): KernelVariant {
    return spec.kind === 'loop' ? this.loopKernel(spec) : gemmKernel(spec, chooseGemmConfig(spec, this.tuning.gemmTiles, this.limits));
  }

  private loopKernel(spec: LoopSpec): KernelVariant {
    return loopKernel(spec, this.tuning, this.f16, this.tuning.transposeGridCap);
  }

  /** The compiled pipeline of a kernel variant: from the cache, or rendered and compiled now. */
  private pipeline(variant: KernelVariant, device: GPUDevice): CachedKernel {
    const key = variant.key;
    const cached = this.kernels.get(key);
    if (cached !== undefined) return cached;
    const rendered = variant.render();
    // Its own error scope: a kernel that fails to compile is reported under its name and not cached, so every
    // later launch reports the compiler's message rather than "invalid due to a previous error".
    this.pushScopes(device);
    const module = device.createShaderModule({ code: rendered.source, label: rendered.name });
    const entries: GPUBindGroupLayoutEntry[] = [];
    const writable = new Set(rendered.writable ?? [rendered.storageBindings - 1]);
    for (let i = 0; i < rendered.storageBindings; i++) {
      const readOnly = !writable.has(i);
      entries.push({ binding: i, visibility: STAGE_COMPUTE, buffer: { type: readOnly ? 'read-only-storage' : 'storage' } });
    }
    entries.push({ binding: rendered.storageBindings, visibility: STAGE_COMPUTE, buffer: { type: 'uniform', hasDynamicOffset: true } });
    const layout = device.createBindGroupLayout({ entries, label: rendered.name });
    const pipeline = device.createComputePipeline({
      layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: 'main' },
      label: rendered.name,
    });
    const kernel = { rendered, pipeline, layout };
    this.kernels.set(key, kernel);
    this.popScopes(device, rendered.name, () => {
      if (this.kernels.get(key) === kernel) this.kernels.delete(key);
    });
    return kernel;
  }

  private pushScopes(device: GPUDevice): void {
    device.pushErrorScope('internal');
    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
  }

  /** Pops the three scopes; their errors are recorded under `kernel` (and `onError` runs) when they resolve. */
  private popScopes(device: GPUDevice, kernel: string, onError?: () => void): void {
    const scopes = [device.popErrorScope(), device.popErrorScope(), device.popErrorScope()];
    const done: Promise<void> = Promise.all(scopes).then(
      (errors) => {
        for (const e of errors) if (e !== null) this.failures.push({ kernel, what: errorKind(e), message: e.message });
        if (errors.some((e) => e !== null)) onError?.();
        this.pending.delete(done);
      },
      (e: unknown) => {
        this.failures.push({ kernel, what: 'error scope', message: e instanceof Error ? e.message : String(e) });
        this.pending.delete(done);
      },
    );
    this.pending.add(done);
  }

  private async throwFailures(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
    const first = this.failures[0];
    const count = this.failures.length;
    this.failures.length = 0;
    if (first !== undefined) {
      throw new EinjitError(`WebGPU ${first.what} in kernel '${first.kernel}': ${first.message.trim()}`, {
        op: first.kernel,
        hint: count > 1 ? `${count - 1} more error(s) followed; results computed since are not trustworthy` : undefined,
      });
    }
    if (this.lostReason !== null) throw new EinjitError(`the WebGPU device was lost (${this.lostReason})`, { op: 'webgpu' });
  }

  private checkLoop(spec: LoopSpec, inputs: readonly GpuStorage[], output: GpuStorage, name: string): void {
    if (inputs.length !== spec.inputs.length) {
      throw new EinjitError(`kernel takes ${spec.inputs.length} input(s), got ${inputs.length}`, { op: name });
    }
    const parallelSizes = spec.sizes.slice(0, spec.parallel);
    spec.inputs.forEach((a, i) => checkAccess(`input ${i}`, a.dtype, a.offset, a.strides, spec.sizes, inputs[i]!, name));
    checkAccess('output', spec.output.dtype, spec.output.offset, spec.output.strides, parallelSizes, output, name);
    const { outputs, reduced } = loopCounts(spec);
    const op = spec.reduceOp;
    if (outputs > 0 && reduced === 0 && spec.parallel < spec.sizes.length && op !== null && !['sum', 'prod', 'any', 'all'].includes(op)) {
      throw new EinjitError(`${op} of an empty reduction has no value`, { op: name, hint: 'reduce over a non-empty axis' });
    }
  }

  private checkGemm(spec: GemmSpec, inputs: readonly GpuStorage[], output: GpuStorage, name: string): void {
    gpuDType(spec.dtype, name);
    const want = specInputCount(spec);
    if (inputs.length !== want) throw new EinjitError(`a GEMM takes ${want} inputs, got ${inputs.length}`, { op: name });
    if (spec.epilogueReadsC === true && spec.epilogue === undefined) throw new EinjitError("a GEMM that reads C's old value has no epilogue", { op: name });
    const sizes = (rows: number, cols: number): number[] => [...spec.batch, rows, cols];
    const strides = (x: GemmSpec['a']): number[] => [...x.batchStrides, x.rowStride, x.colStride];
    checkAccess('A', 'float32', spec.a.offset, strides(spec.a), sizes(spec.m, spec.k), inputs[0]!, name);
    checkAccess('B', 'float32', spec.b.offset, strides(spec.b), sizes(spec.k, spec.n), inputs[1]!, name);
    spec.epilogueInputs?.forEach((x, i) => {
      if (x.dtype !== spec.dtype) throw new EinjitError(`epilogue input ${i + 1} is ${x.dtype}, the GEMM ${spec.dtype}`, { op: name });
      checkAccess(`epilogue input ${i + 1}`, 'float32', x.offset, x.strides, sizes(spec.m, spec.n), inputs[2 + i]!, name);
    });
    checkAccess('C', 'float32', spec.c.offset, strides(spec.c), sizes(spec.m, spec.n), output, name);
  }
}

/**
 * Whether input i of a map is read at exactly the element each point writes (same dtype, offset and strides as the
 * output), so it can be read from the output's binding; not for an input the map also stores into (`also`, or a
 * row value's store).
 */
function readsWhereWritten(spec: LoopSpec, i: number): boolean {
  const a = spec.inputs[i]!;
  const o = spec.output;
  const stored = (spec.also ?? []).some((st) => st.input === i) || (spec.rows?.values ?? []).some((r) => r.store === i);
  return spec.parallel === spec.sizes.length && !stored && a.dtype === o.dtype &&
    a.offset === o.offset && a.strides.length === o.strides.length && a.strides.every((st, d) => st === o.strides[d]);
}

function checkAccess(
  what: string, dtype: LoopSpec['output']['dtype'], offset: number, strides: readonly number[], sizes: readonly number[],
  storage: GpuStorage, name: string,
): void {
  const dt = gpuDType(dtype, name);
  if (storage.dtype !== dt) throw new EinjitError(`${what} is ${dt} in the spec but the buffer holds ${storage.dtype}`, { op: name });
  if (strides.length < sizes.length) {
    throw new EinjitError(`${what} has ${strides.length} strides for ${sizes.length} loops`, { op: name });
  }
  // A missing or fractional stride would reach the params as 0 or truncated, and the range below as 0.
  if (!Number.isSafeInteger(offset) || strides.slice(0, sizes.length).some((s) => !Number.isSafeInteger(s))) {
    throw new EinjitError(`${what} has offset ${offset} and strides [${strides.join(', ')}]: not all integers`, {
      op: name, hint: 'this is a bug in the caller of the backend',
    });
  }
  const range = accessRange(offset, strides, sizes);
  if (range !== null && (range.min < 0 || range.max >= storage.length)) {
    throw new EinjitError(
      `${what} reads elements ${range.min}..${range.max} of a buffer of ${storage.length}`,
      { op: name, hint: 'the offset and strides do not fit the buffer (this is a bug in the caller of the backend)' },
    );
  }
}

/**
 * The WebGPU entry point: the runtime's own `navigator.gpu` (browsers, Deno), else Dawn from the optional peer
 * dependency `webgpu`, imported only now, when a program asks for the GPU. Its specifier is a variable so that
 * bundlers leave it alone (a browser build never reaches it).
 */
async function createInstance(): Promise<GPU> {
  const own = navigatorGpu();
  if (own !== undefined) return own;
  if (runtime !== 'node' && runtime !== 'bun') {
    throw new EinjitError(`this ${runtime === 'unknown' ? 'JavaScript runtime' : runtime} has no navigator.gpu`, {
      op: 'webgpu',
      hint: runtime === 'browser' || runtime === 'worker'
        ? 'use a browser with WebGPU enabled (Chrome/Edge 113+, Safari 26+, Firefox 141+ on Windows) over https or localhost, or use the cpu device'
        : 'use the cpu device',
    });
  }
  if (envVar('EINJIT_WEBGPU') === 'off') {
    throw new EinjitError('WebGPU is turned off (EINJIT_WEBGPU=off)', { op: 'webgpu', hint: 'unset EINJIT_WEBGPU to load Dawn from the webgpu package' });
  }
  // lavapipe complains on start-up without a runtime dir.
  defaultEnvVar('XDG_RUNTIME_DIR', () => nodeBuiltin<{ tmpdir(): string }>('node:os')?.tmpdir());
  const specifier = 'webgpu';
  let dawn: typeof Dawn;
  try {
    dawn = (await import(/* @vite-ignore */ /* webpackIgnore: true */ specifier)) as typeof Dawn;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || /Cannot find (package|module) 'webgpu'/.test(String(e))) {
      throw new EinjitError("the 'webgpu' package (Dawn's Node bindings) is not installed", {
        op: 'webgpu',
        hint: 'WebGPU in Node is optional: install it next to einjit with "npm install einjit webgpu"',
      });
    }
    throw new EinjitError(`the 'webgpu' package failed to load: ${e instanceof Error ? e.message : String(e)}`, {
      op: 'webgpu',
      hint: 'reinstall it ("npm install einjit webgpu"); it ships prebuilt Dawn for Linux x64, macOS and Windows',
    });
  }
  return dawn.create([]);
}

function adapterDescription(info: GPUAdapterInfo, fallback: boolean): AdapterDescription {
  const fields = [info.vendor, info.architecture, info.device, info.description].map((s) => s ?? '');
  const software = fallback || (info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true
    || /llvmpipe|lavapipe|swiftshader|software|microsoft basic render|\bwarp\b/i.test(fields.join(' '));
  const [vendor = '', architecture = '', device = '', description = ''] = fields;
  return { vendor, architecture, device, description, software };
}

/** The adapter in one line: its non-empty fields, vendor to description (a browser may leave any of them out). */
export function describeAdapter(info: GPUAdapterInfo): string {
  return [info.vendor, info.architecture, info.device, info.description].filter((s) => s !== '' && s !== undefined).join(' / ');
}

function errorKind(e: GPUError): string {
  const n = e.constructor.name;
  return n === 'GPUOutOfMemoryError' ? 'out-of-memory error' : n === 'GPUInternalError' ? 'internal error' : 'validation error';
}

function padTo4(u8: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(u8.byteLength / 4) * 4);
  out.set(u8);
  return out;
}

