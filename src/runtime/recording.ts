/**
 * One recording backend for everything that watches kernels: `compile().source()` and `explain()` (a dry run
 * that allocates nothing), `explain` of einops calls and `profile()` (which forward every call to the real
 * backend and record on the way), and tests. It implements the backend contract by delegation, so nothing is
 * patched: a caller swaps it in with `withBackend` or hands it to the contraction executor.
 */
import type { Backend, Device, Storage, TypedArray } from '../lower/backend.js';
import type { DType, KernelSpec } from '../lower/spec.js';
import { bytesPerElement } from '../lower/backend.js';
import { EinjitError } from '../errors.js';
import { peekBackend, withBackends } from './backend.js';

export class RecordingBackend implements Backend {
  /** Every spec `run` was given, in order. */
  readonly specs: KernelSpec[] = [];
  /** Bytes of the storages made through this backend (allocations and uploads). */
  bytesAllocated = 0;

  /**
   * `forward`: every call goes on to `target` (the kernels run); otherwise a dry run: storages are empty stand-ins
   * and nothing is computed.
   */
  constructor(readonly target: Backend, readonly forward: boolean) {}

  get device(): Backend['device'] {
    return this.target.device;
  }

  allocate(dtype: DType, length: number): Storage {
    this.bytesAllocated += bytesPerElement(dtype) * length;
    return this.forward ? this.target.allocate(dtype, length) : { device: this.device, dtype, length };
  }

  allocateZeroed(dtype: DType, length: number): Storage {
    this.bytesAllocated += bytesPerElement(dtype) * length;
    return this.forward ? this.target.allocateZeroed(dtype, length) : { device: this.device, dtype, length };
  }

  fromArray(dtype: DType, data: TypedArray, share: boolean): Storage {
    this.bytesAllocated += bytesPerElement(dtype) * data.length;
    return this.forward ? this.target.fromArray(dtype, data, share) : { device: this.device, dtype, length: data.length };
  }

  run(spec: KernelSpec, inputs: readonly Storage[], output: Storage): void {
    this.specs.push(spec);
    if (this.forward) this.target.run(spec, inputs, output);
  }

  read(storage: Storage): Promise<TypedArray> {
    return this.forward ? this.target.read(storage) : Promise.reject(this.noData('data'));
  }

  readSync(storage: Storage, op: string): TypedArray {
    if (!this.forward) throw this.noData(op);
    return this.target.readSync(storage, op);
  }

  release(storage: Storage): void {
    if (this.forward) this.target.release(storage);
  }

  liveBytes(): number {
    return this.forward ? this.target.liveBytes() : 0;
  }

  source(spec: KernelSpec): string {
    return this.target.source(spec);
  }

  kernelName(spec: KernelSpec): string {
    return this.target.kernelName(spec);
  }

  gemmMinWork(): number | undefined {
    return this.target.gemmMinWork?.();
  }

  private noData(op: string): EinjitError {
    return new EinjitError('a dry run holds no data', { op, hint: 'read values from the tensors of a real run' });
  }
}

/**
 * Runs `fn` while recording every kernel spec the device's backend is asked to run (the specs still run).
 * `einjit explain` uses it to show the kernels behind an einops call.
 */
export function captureKernels<T>(device: Device, fn: () => T): { result: T; specs: KernelSpec[] } {
  const target = peekBackend(device);
  if (target === undefined) return { result: fn(), specs: [] };
  const recorder = new RecordingBackend(target, true);
  return { result: withBackends([recorder], fn), specs: recorder.specs };
}
