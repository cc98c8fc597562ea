/**
 * Tracing for `jit`: one eager run of the function with a recording backend standing in for every started device,
 * turned into a graph of kernel launches over numbered buffers.
 *
 * The tracer sits at the backend contract, not at the tensor ops: everything an op does that touches elements is
 * a `run(spec, inputs, output)` or an allocation there, so the graph holds exactly the kernel specs eager
 * execution launches (einsum plans, views and op lowering are already decided), and both backends are traced by
 * the same code.
 */
import type { Backend, Device, Storage, TypedArray } from '../lower/backend.js';
import { bytesPerElement } from '../lower/backend.js';
import type { DType, KernelSpec } from '../lower/spec.js';
import { EinjitError } from '../errors.js';
import { RecordingBackend } from '../runtime/recording.js';

/** Where a buffer of the graph comes from at replay. */
export type BufferOrigin =
  /** The storage of argument leaf `leaf` (the first leaf over that storage). */
  | { readonly kind: 'input'; readonly leaf: number }
  /** Allocated inside the function: fresh storage per replay. */
  | { readonly kind: 'alloc'; readonly zeroed: boolean }
  /** Uploaded from host values inside the function (tensor(), arange(), ...): the values are a trace constant. */
  | { readonly kind: 'upload'; readonly data: TypedArray }
  /** A storage the function closed over (weights): read, and written, in place at every replay. */
  | { readonly kind: 'external'; readonly storage: Storage };

export interface GraphBuffer {
  readonly id: number;
  readonly device: Device;
  readonly dtype: DType;
  readonly length: number;
  readonly origin: BufferOrigin;
}

/** One kernel launch of the graph, with the eager ops it stands for (one, until fusion merges launches). */
export interface Launch {
  readonly spec: KernelSpec;
  readonly device: Device;
  readonly inputs: readonly number[];
  readonly output: number;
  readonly ops: readonly string[];
}

/** A returned tensor: a view over a graph buffer. */
export interface OutputView {
  readonly buffer: number;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
}

export interface Graph {
  readonly buffers: readonly GraphBuffer[];
  readonly launches: readonly Launch[];
}

export function bufferBytes(b: GraphBuffer): number {
  return b.length * bytesPerElement(b.dtype);
}

type Made = { readonly zeroed: boolean } | { readonly data: TypedArray };

/**
 * A forwarding recorder that also keeps the storages of every launch and how each storage it handed out was
 * made, and refuses host reads: a value read inside the traced function would be baked into the trace.
 */
class TraceBackend extends RecordingBackend {
  readonly launches: { spec: KernelSpec; inputs: readonly Storage[]; output: Storage }[] = [];
  readonly made = new Map<Storage, Made>();
  hostRead: string | null = null;

  constructor(target: Backend) {
    super(target, true);
  }

  override allocate(dtype: DType, length: number): Storage {
    const s = super.allocate(dtype, length);
    this.made.set(s, { zeroed: false });
    return s;
  }

  override allocateZeroed(dtype: DType, length: number): Storage {
    const s = super.allocateZeroed(dtype, length);
    this.made.set(s, { zeroed: true });
    return s;
  }

  override fromArray(dtype: DType, data: TypedArray, share: boolean): Storage {
    const s = super.fromArray(dtype, data, share);
    // A copy: the caller may reuse its array, and a shared CPU upload is written by later kernels.
    this.made.set(s, { data: data.slice() as TypedArray });
    return s;
  }

  override run(spec: KernelSpec, inputs: readonly Storage[], output: Storage): void {
    this.launches.push({ spec, inputs: inputs.slice(), output });
    super.run(spec, inputs, output);
  }

  override readSync(_storage: Storage, op: string): TypedArray {
    this.hostRead ??= op;
    throw hostReadError(op);
  }

  override read(_storage: Storage): Promise<TypedArray> {
    this.hostRead ??= 'data';
    const p = Promise.reject(hostReadError('data'));
    // The traced function may not await it; the error is raised when the function returns.
    p.catch(() => undefined);
    return p;
  }
}

export function hostReadError(op: string): EinjitError {
  return new EinjitError(`${op}() reads tensor values on the host inside a jitted function`, {
    op: 'jit',
    hint: 'a jitted function is replayed without running its JavaScript, so a value read while tracing would be ' +
      'frozen into every later call: return the tensor and read it outside the jitted function, or keep the ' +
      'decision on the device (where(), maximum(), ...)',
  });
}

/** What a trace produced: the launches and allocations in order, and whether the function read values. */
export interface TraceRecord {
  readonly launches: readonly { spec: KernelSpec; inputs: readonly Storage[]; output: Storage }[];
  readonly made: ReadonlyMap<Storage, Made>;
  readonly hostRead: string | null;
}

/** The recorders to install for a trace (one per started device) and the record they fill. */
export function tracers(targets: readonly Backend[]): { standIns: Backend[]; record: () => TraceRecord } {
  const standIns = targets.map((t) => new TraceBackend(t));
  return {
    standIns,
    record: () => {
      const made = new Map<Storage, Made>();
      for (const t of standIns) for (const [s, m] of t.made) made.set(s, m);
      return {
        // Launches on different devices keep their order within a device, which is all replay needs.
        launches: standIns.flatMap((t) => t.launches),
        made,
        hostRead: standIns.map((t) => t.hostRead).find((r) => r !== null) ?? null,
      };
    },
  };
}

/**
 * The graph of a trace: every storage a launch or a returned view touches becomes a numbered buffer, classified
 * by where it came from. `inputStorages[k]` is argument leaf k's storage.
 */
export function buildGraph(
  rec: TraceRecord, inputStorages: readonly Storage[], outputStorages: readonly Storage[],
): { graph: Graph; bufferOf: (s: Storage) => number } {
  const ids = new Map<Storage, number>();
  const buffers: GraphBuffer[] = [];
  const writes = new Set<Storage>(rec.launches.map((l) => l.output));
  const returned = new Set<Storage>(outputStorages);
  const add = (s: Storage, origin: BufferOrigin): number => {
    const id = buffers.length;
    buffers.push({ id, device: s.device, dtype: s.dtype, length: s.length, origin });
    ids.set(s, id);
    return id;
  };
  inputStorages.forEach((s, leaf) => { if (!ids.has(s)) add(s, { kind: 'input', leaf }); });
  const bufferOf = (s: Storage): number => {
    const known = ids.get(s);
    if (known !== undefined) return known;
    const m = rec.made.get(s);
    if (m === undefined) return add(s, { kind: 'external', storage: s });
    if ('zeroed' in m) return add(s, { kind: 'alloc', zeroed: m.zeroed });
    // An upload nothing writes and nothing returns is a constant: the traced storage serves every replay.
    if (!writes.has(s) && !returned.has(s)) return add(s, { kind: 'external', storage: s });
    return add(s, { kind: 'upload', data: m.data });
  };
  const launches: Launch[] = rec.launches.map((l) => ({
    spec: l.spec,
    device: l.output.device,
    inputs: l.inputs.map(bufferOf),
    output: bufferOf(l.output),
    ops: [l.spec.label],
  }));
  for (const s of outputStorages) bufferOf(s);
  return { graph: { buffers, launches }, bufferOf };
}
