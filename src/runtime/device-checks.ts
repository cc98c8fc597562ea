/**
 * Checks of values computed on the device (index ranges, whole-number indices) that hold eagerly and under jit.
 *
 * An op reduces the values to check to a small summary tensor on their device (an index range is one kernel,
 * `[max, -min]`) and hands it here with a function that turns the summary into an EinjitError or null. Eagerly,
 * the CPU reads the summary at once and a GPU reads it at its next read (`deferCheck`). While `jit` traces, the
 * summary's kernel is recorded like any other and the check is registered with the trace: the trace call checks
 * at once as eager does (reading past the recorder, which refuses host reads), and every replay checks the
 * summary it computed from its own arguments, right after the kernel that wrote it, so a bad index raises the
 * same error before the rest of the schedule (an optimizer's in-place update) runs.
 */
import type { Storage, TypedArray } from '../lower/backend.js';
import type { EinjitError } from '../errors.js';
import { deferCheck } from './backend.js';
import { keep } from './scope.js';
import { Tensor } from './tensor.js';

/** The error the summary's values show (`deferred`: found after the fact, at a GPU's next read), or null. */
export type SummaryCheck = (summary: readonly number[], deferred: boolean) => EinjitError | null;

/** Where a trace collects the checks of the function it records. */
export interface GuardSink {
  add(storage: Storage, check: SummaryCheck): void;
  /** Reads a storage the trace computed, past the recorder. */
  readNow(storage: Storage): TypedArray;
}

/** The traces in progress, outermost first (a jitted function may be traced or replayed inside another's trace). */
const sinks: GuardSink[] = [];

/** Runs `f` with the checks it makes registered with `sink`. */
export function withGuardSink<T>(sink: GuardSink, f: () => T): T {
  sinks.push(sink);
  try {
    return f();
  } finally {
    sinks.pop();
  }
}

/** Checks `summary` (computed from the values to check) now on the CPU, at the device's next read elsewhere. */
export function checkSummary(summary: Tensor, check: SummaryCheck): void {
  checkStorage(summary.storage, check);
}

/**
 * `checkSummary` over a storage: eager ops, and replays, which hold the storages of their schedule. The storage
 * is released after a deferred check has read it; a CPU storage stays with its owner.
 */
export function checkStorage(storage: Storage, check: SummaryCheck): void {
  for (const s of sinks) s.add(storage, check);
  if (storage.device === 'cpu') {
    const values = sinks.length > 0 ? sinks[0]!.readNow(storage) : new Tensor(storage, [storage.length], [1], 0).dataSync();
    const failure = check(Array.from(values, Number), false);
    if (failure !== null) throw failure;
    return;
  }
  const held = keep(new Tensor(storage, [storage.length], [1], 0));
  deferCheck(storage.device, async () => {
    const values = Array.from(await held.data(), Number);
    held.dispose();
    const failure = check(values, true);
    if (failure !== null) throw failure;
  });
}
