/**
 * Replays of repeated calls: the kernels a call ran, recorded once per call signature and run again without
 * deriving them a second time.
 *
 * An einsum of a checked pattern over operands with the same dtypes, strides, offsets and device, on the same
 * backend, always lowers to the same kernel specs over the same intermediates. Deriving them (strided terms, the
 * plan lookup, loop building and simplification, spec keys) costs several times what the kernels of a small
 * product do, and an 8×8 GEMM is called in loops. A Replay is what that derivation produced: the allocations
 * (dtype, length), the runs (spec, which storages it reads — operand k or allocation j — and which allocation it
 * writes) and which allocation is the result, with the result's shape. Replaying allocates and runs exactly what
 * the recorded call did, in the same order, so results are bit-identical and storages are noted in the current
 * tidy() scope as before.
 *
 * A call is recorded through a forwarding RecordingBackend that watches it; a call that does anything else — uploads
 * data, reads values back, releases a storage, reads a storage that is neither an operand nor its own
 * allocation, or returns a view of an operand — is not replayable, and its key simply never gets an entry.
 */
import type { Backend, Storage, TypedArray } from '../lower/backend.js';
import type { DType, GemmSpec, KernelSpec } from '../lower/spec.js';
import { RecordingBackend } from './recording.js';
import { Tensor } from './tensor.js';

/** A storage a run reads or writes: operand k (k ≥ 0) or allocation j (encoded as -1 - j). */
type Slot = number;

interface Run {
  readonly spec: KernelSpec;
  readonly inputs: readonly Slot[];
  readonly output: Slot;
}

interface Replay {
  /** Held weakly: a stand-in backend (a jit trace's, a profile's) must not be kept alive by what it recorded. */
  readonly backend: WeakRef<Backend>;
  readonly device: Backend['device'];
  /** The backend's small-GEMM threshold when recorded: it decides which kernels a contraction uses. */
  readonly gemmMinWork: number | undefined;
  readonly dtypes: readonly DType[];
  readonly strides: readonly (readonly number[])[];
  readonly offsets: readonly number[];
  /** For each operand, the first operand over the same storage (itself when none): `x·x` is not `x·y`. */
  readonly aliases: readonly number[];
  readonly allocs: readonly { readonly dtype: DType; readonly length: number; readonly zeroed: boolean }[];
  readonly runs: readonly Run[];
  readonly result: Slot;
  readonly shape: readonly number[];
}

/** Entries per key: a pattern called on a few layouts (contiguous, transposed, a slice) keeps each. */
const ENTRIES_PER_KEY = 4;

const replays = new WeakMap<object, Replay[]>();
let replaysRun = 0;

/** How many calls have been replayed since the process started (tests use it to see the fast path taken). */
export function replayCount(): number {
  return replaysRun;
}

/**
 * `compute(backend)` on `operands`, or the replay of an earlier call under `key` with operands of the same
 * layout on the same backend. `key` is an object the caller keeps for as long as the call signature means the
 * same computation (a checked einsum: its pattern and shapes); `compute` must only allocate, and run kernels on,
 * the backend it is given. With `anyOffsets`, operands at other offsets than recorded match too, and every kernel
 * reads them moved by the difference: for a caller whose `compute` derives each access of an operand from the
 * operand's view alone, so that moving the view moves the access (a sliced contraction's slices).
 */
export function replayed(key: object, operands: readonly Tensor[], backend: Backend, compute: (backend: Backend) => Tensor,
  anyOffsets = false): Tensor {
  const entries = replays.get(key);
  if (entries !== undefined) {
    const gemmMinWork = backend.gemmMinWork?.();
    for (const entry of entries) {
      if (entry.backend.deref() === backend && entry.gemmMinWork === gemmMinWork && matches(entry, operands, anyOffsets)) {
        return replay(entry, backend, operands);
      }
    }
  }
  const recorder = new Recorder(backend, operands);
  const out = compute(recorder);
  const entry = recorder.replay(out);
  if (entry !== null) {
    const list = entries ?? [];
    if (list.length >= ENTRIES_PER_KEY) list.shift();
    list.push(entry);
    if (entries === undefined) replays.set(key, list);
  }
  return out;
}

function matches(entry: Replay, operands: readonly Tensor[], anyOffsets: boolean): boolean {
  if (operands.length !== entry.dtypes.length) return false;
  for (let k = 0; k < operands.length; k++) {
    const t = operands[k]!;
    if (t.dtype !== entry.dtypes[k] || t.storage.device !== entry.device || (!anyOffsets && t.offset !== entry.offsets[k])) return false;
    const strides = entry.strides[k]!;
    const s = t.strides;
    if (s.length !== strides.length) return false;
    for (let d = 0; d < s.length; d++) if (s[d] !== strides[d]) return false;
    const alias = entry.aliases[k]!;
    if (alias === k) {
      for (let q = 0; q < k; q++) if (operands[q]!.storage === t.storage) return false;
    } else if (operands[alias]!.storage !== t.storage) {
      return false;
    }
  }
  return true;
}

function replay(entry: Replay, backend: Backend, operands: readonly Tensor[]): Tensor {
  replaysRun++;
  const storages: Storage[] = new Array(entry.allocs.length);
  for (let j = 0; j < entry.allocs.length; j++) {
    const a = entry.allocs[j]!;
    storages[j] = a.zeroed ? backend.allocateZeroed(a.dtype, a.length) : backend.allocate(a.dtype, a.length);
  }
  // Operands at other offsets than recorded (the same views moved, as the slices of a sliced contraction are):
  // every access of an operand was derived from its view, so it moves by the same number of elements.
  let moved: number[] | null = null;
  for (let k = 0; k < operands.length; k++) {
    const delta = operands[k]!.offset - entry.offsets[k]!;
    if (delta !== 0) (moved ??= operands.map(() => 0))[k] = delta;
  }
  for (const run of entry.runs) {
    const inputs: Storage[] = new Array(run.inputs.length);
    for (let i = 0; i < inputs.length; i++) {
      const slot = run.inputs[i]!;
      inputs[i] = slot >= 0 ? operands[slot]!.storage : storages[-1 - slot]!;
    }
    backend.run(moved === null ? run.spec : movedSpec(run, moved), inputs, storages[-1 - run.output]!);
  }
  return new Tensor(storages[-1 - entry.result]!, entry.shape);
}

/** `run.spec` with the access of each input read from operand k moved by `delta[k]` elements. */
function movedSpec(run: Run, delta: readonly number[]): KernelSpec {
  const by = (i: number): number => {
    const slot = run.inputs[i]!;
    return slot >= 0 ? delta[slot]! : 0;
  };
  if (!run.inputs.some((_, i) => by(i) !== 0)) return run.spec;
  const spec = run.spec;
  if (spec.kind === 'loop') {
    return { ...spec, inputs: spec.inputs.map((a, i) => (by(i) === 0 ? a : { ...a, offset: a.offset + by(i) })) };
  }
  const moved: GemmSpec = { ...spec, a: { ...spec.a, offset: spec.a.offset + by(0) }, b: { ...spec.b, offset: spec.b.offset + by(1) } };
  const extra = spec.epilogueInputs;
  return extra === undefined ? moved : { ...moved, epilogueInputs: extra.map((a, i) => (by(2 + i) === 0 ? a : { ...a, offset: a.offset + by(2 + i) })) };
}

/**
 * The forwarding recording backend (recording.ts), also noting what a replay needs: each allocation, each run's
 * storages as slots, and anything that makes the call unrepeatable.
 */
class Recorder extends RecordingBackend {
  private readonly allocs: { dtype: DType; length: number; zeroed: boolean }[] = [];
  private readonly slots = new Map<Storage, Slot>();
  private readonly runs: Run[] = [];
  private replayable = true;

  constructor(target: Backend, private readonly operands: readonly Tensor[]) {
    super(target, true);
    operands.forEach((t, k) => {
      if (!this.slots.has(t.storage)) this.slots.set(t.storage, k);
    });
  }

  /** The replay of the recorded call whose result is `out`, or null when the call was not one a replay can repeat. */
  replay(out: Tensor): Replay | null {
    const result = this.slots.get(out.storage);
    if (!this.replayable || result === undefined || result >= 0 || out.offset !== 0 || !out.isContiguous) return null;
    const ops = this.operands;
    return {
      backend: new WeakRef(this.target),
      device: this.target.device,
      gemmMinWork: this.target.gemmMinWork?.(),
      dtypes: ops.map((t) => t.dtype),
      strides: ops.map((t) => t.strides.slice()),
      offsets: ops.map((t) => t.offset),
      aliases: ops.map((t) => ops.findIndex((u) => u.storage === t.storage)),
      allocs: this.allocs,
      runs: this.runs,
      result,
      shape: out.shape.slice(),
    };
  }

  private note(storage: Storage, dtype: DType, length: number, zeroed: boolean): Storage {
    this.slots.set(storage, -1 - this.allocs.length);
    this.allocs.push({ dtype, length, zeroed });
    return storage;
  }

  override allocate(dtype: DType, length: number): Storage {
    return this.note(super.allocate(dtype, length), dtype, length, false);
  }

  override allocateZeroed(dtype: DType, length: number): Storage {
    return this.note(super.allocateZeroed(dtype, length), dtype, length, true);
  }

  override fromArray(dtype: DType, data: TypedArray, share: boolean): Storage {
    this.replayable = false;
    return super.fromArray(dtype, data, share);
  }

  override run(spec: KernelSpec, inputs: readonly Storage[], output: Storage): void {
    const slots = inputs.map((s) => this.slots.get(s));
    const out = this.slots.get(output);
    if (slots.some((s) => s === undefined) || out === undefined || out >= 0) this.replayable = false;
    else this.runs.push({ spec, inputs: slots as Slot[], output: out });
    super.run(spec, inputs, output);
  }

  override read(storage: Storage): Promise<TypedArray> {
    this.replayable = false;
    return super.read(storage);
  }

  override readSync(storage: Storage, op: string): TypedArray {
    this.replayable = false;
    return super.readSync(storage, op);
  }

  override release(storage: Storage): void {
    this.replayable = false;
    super.release(storage);
  }
}
