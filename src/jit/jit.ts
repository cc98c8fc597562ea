/**
 * `jit(fn)`: trace a tensor function once per input signature, fuse its elementwise chains, and replay the
 * resulting schedule of kernel specs on later calls without running the function's JavaScript.
 *
 * A trace is one eager run of `fn` with a recording backend standing in for every started device (trace.ts), so
 * the first call returns eager results and the graph holds exactly the specs eager execution launched. Replay
 * allocates the buffers the schedule still needs, launches the (fused) specs over the new arguments' storages,
 * and wraps the returned buffers as tensors with the traced shapes and strides.
 */
import type { Backend, Device, Storage } from '../lower/backend.js';
import { EinjitError } from '../errors.js';
import { deviceNames, disposeStorage, getBackend, peekBackend, withBackends } from '../runtime/backend.js';
import { Tensor } from '../runtime/tensor.js';
import { keep } from '../runtime/scope.js';
import { isGradEnabled } from '../autograd/record.js';
import { checkStorage, withGuardSink, type SummaryCheck } from '../runtime/device-checks.js';
import { LruCache } from '../util/lru.js';
import { buildGraph, bufferBytes, hostReadError, tracers, type Graph, type OutputView } from './trace.js';
import { fuseElementwise } from './fuse.js';
import { mergeStores, writtenBy } from './merge.js';
import { redirectGemmStores } from './gemm-store.js';
import { fuseRows } from './rows.js';
import { assignSlots, sharedBytes, type SharedStorage } from './reuse.js';

/** What a jitted function's most recent schedule costs against the eager run it was traced from. */
export interface JitStats {
  /** Signatures traced so far (each trace is one eager run of the function). */
  readonly traces: number;
  /** Kernel launches of one eager call and of one replay. */
  readonly eagerLaunches: number;
  readonly launches: number;
  /**
   * Bytes of the buffers a call allocates and does not return: eager; per replay, where intermediates whose lives
   * do not overlap share storage; and per replay if each had its own (the bytes the schedule writes to them).
   */
  readonly eagerIntermediateBytes: number;
  readonly intermediateBytes: number;
  readonly intermediateBytesWithoutReuse: number;
}

/** A function compiled by `jit`: call it as the original; `explain`, `source` and `stats` describe its schedule. */
export type Jitted<F extends (...args: never[]) => unknown> = F & {
  /** The fused kernels of the last call's schedule, the ops each absorbed, and launches and bytes against eager. */
  explain(): string;
  /** The generated source (JS or WGSL) of every kernel of the last call's schedule. */
  source(): string;
  /** Launches and intermediate bytes of the last call's schedule against eager; null before the first call. */
  stats(): JitStats | null;
};

/** Schedules kept per jitted function (one per input signature), least recently used evicted first. */
const SIGNATURES_KEPT = 64;

/** A leaf of an argument or result tree that is a tensor: its position in the flat list. */
class Slot {
  constructor(readonly index: number) {}
}

interface Compiled {
  readonly eager: Graph;
  readonly graph: Graph;
  /** Buffers allocated (or uploaded) per replay, each its own storage. */
  readonly fresh: readonly number[];
  /** Storages allocated per replay that intermediates take turns in (reuse.ts). */
  readonly slots: readonly SharedStorage[];
  readonly returned: ReadonlySet<number>;
  readonly outputs: readonly OutputView[];
  readonly template: unknown;
  /** Value checks (index ranges) the function made, each run right after the launch that writes its summary. */
  readonly guards: readonly Guard[];
}

/** A device check recorded by the trace: its summary buffer and the schedule position that completes it. */
interface Guard {
  readonly buffer: number;
  readonly after: number;
  readonly check: SummaryCheck;
}

/**
 * Compiles `fn` into a function that traces it on the first call per input signature and replays the fused
 * kernel schedule afterwards. `fn` takes tensors (in arrays and plain objects, beside numbers, strings and
 * booleans, which are part of the signature) and returns the same. The signature is every tensor argument's
 * shape, dtype, device, strides, offset, storage size and requiresGrad, which arguments share a storage, whether
 * gradients are enabled, and the non-tensor values; a new one retraces. Inside `fn`, host reads (`item()`,
 * `toArray()`, `dataSync()`, `data()`, moving between devices) are an EinjitError: they would freeze a value into
 * the trace. Gradients are computed inside `fn` (JAX's value-and-grad style): a tensor argument that requires
 * gradients is a fresh leaf inside `fn`, so `grad(loss, [w])` there traces the backward pass into the same
 * schedule, and the jitted function's results carry no graph (they are detached). `backward()` on an argument's
 * graph is refused: `.grad` is host state a replay cannot update.
 *
 * @example
 * const gelu = jit((x: Tensor) => x.mul(0.5).mul(x.mul(0.7978845608).mul(x.square().mul(0.044715).add(1)).tanh().add(1)));
 * gelu(randn([1024]));                      // traces: eager kernels, recorded
 * gelu(randn([1024]));                      // replays one fused kernel
 *
 * @example
 * // A training step: loss, gradients and the update in one schedule.
 * const step = jit((x: Tensor, w: Tensor) => {
 *   const loss = x.matmul(w).tanh().square().mean();
 *   const [gw] = grad(loss, [w]);
 *   return [loss, noGrad(() => w.sub(gw.mul(0.1)))];
 * });
 * step(x, w.requiresGrad_());
 */
export function jit<F extends (...args: never[]) => unknown>(fn: F): Jitted<F> {
  if (typeof fn !== 'function') {
    throw new EinjitError(`jit expects a function, got ${fn === null ? 'null' : typeof fn}`, { op: 'jit', hint: 'jit((x) => x.exp().add(1))' });
  }
  const cache = new LruCache<string, Compiled>(SIGNATURES_KEPT);
  let last: Compiled | null = null;
  let traces = 0;
  const jitted = (...args: unknown[]): unknown => {
    const tensors: Tensor[] = [];
    const template = flatten(args, tensors, 'argument');
    const key = signature(template, tensors);
    const known = cache.get(key);
    if (known !== undefined) {
      last = known;
      return replay(known, tensors);
    }
    const { compiled, result } = trace(fn as unknown as (...a: unknown[]) => unknown, args, template, tensors);
    traces++;
    cache.set(key, compiled);
    last = compiled;
    return result;
  };
  return Object.assign(jitted as unknown as F, {
    explain: (): string => (last === null ? 'jit: not called yet (the first call traces)' : explain(last, traces)),
    source: (): string => (last === null ? '' : last.graph.launches.map((l) => getBackend(l.device, 'jit').source(l.spec)).join('\n\n')),
    stats: (): JitStats | null => (last === null ? null : { traces, ...costs(last) }),
  });
}

// -------------------------------------------------------------------------------------------------------------
// Arguments, results and signatures

/** The tree with tensors replaced by Slots (collected in `tensors`); refuses values jit cannot key on. */
function flatten(v: unknown, tensors: Tensor[], what: string): unknown {
  if (v instanceof Tensor) {
    tensors.push(v);
    return new Slot(tensors.length - 1);
  }
  if (Array.isArray(v)) return v.map((x) => flatten(x, tensors, what));
  if (v === null || v === undefined || ['number', 'string', 'boolean', 'bigint'].includes(typeof v)) return v;
  if (typeof v === 'object' && [Object.prototype, null].includes(Object.getPrototypeOf(v))) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, flatten(x, tensors, what)]));
  }
  const got = v instanceof Promise ? 'a Promise' : typeof v === 'function' ? 'a function' : `a ${(v as object).constructor?.name ?? 'object'}`;
  throw new EinjitError(`a jitted function's ${what} may hold tensors, arrays, plain objects and primitives, got ${got}`, {
    op: 'jit',
    hint: v instanceof Promise
      ? 'the jitted function must be synchronous: await outside it'
      : 'pass other values through a closure; jit keys its cache on the arguments\' shapes and primitive values',
  });
}

function rebuild(template: unknown, tensors: readonly Tensor[]): unknown {
  if (template instanceof Slot) return tensors[template.index];
  if (Array.isArray(template)) return template.map((x) => rebuild(x, tensors));
  if (template !== null && typeof template === 'object') {
    return Object.fromEntries(Object.entries(template).map(([k, x]) => [k, rebuild(x, tensors)]));
  }
  return template;
}

/**
 * What `fn` is called with while tracing: an argument that requires gradients becomes a fresh leaf over the same
 * storage (as JAX's primals, and vjp's), so the graph `fn` builds starts at its arguments and a gradient taken
 * inside `fn` walks only what the trace recorded, never a graph the caller built before the call.
 */
function leavesOf(tensors: readonly Tensor[]): Tensor[] {
  return tensors.map((t) => {
    if (!t.requiresGrad) return t;
    const leaf = t.detach();
    leaf.requiresGrad = true;
    return leaf;
  });
}

/** `.grad` written inside the trace: host state that a replay, which does not run `fn`, would leave stale. */
function refuseBackward(leaves: readonly Tensor[]): void {
  if (!leaves.some((t) => t.requiresGrad && t.grad !== null)) return;
  throw new EinjitError('backward() inside a jitted function writes .grad, which a replay cannot update', {
    op: 'jit',
    hint: 'take the gradients with grad(loss, [w, ...]) inside the function and return them (or apply the update there)',
  });
}

/** Everything a trace depends on besides the values: the tree, each tensor's layout, aliasing, grad mode. */
function signature(template: unknown, tensors: readonly Tensor[]): string {
  const firstOver = new Map<Storage, number>();
  const layouts = tensors.map((t, i) => {
    if (!firstOver.has(t.storage)) firstOver.set(t.storage, i);
    const g = t.requiresGrad ? '^grad' : '';
    return `${t.dtype}@${t.device}[${t.shape.join(',')}]/${t.strides.join(',')}+${t.offset}#${t.storage.length}=${firstOver.get(t.storage)}${g}`;
  });
  return `${isGradEnabled() ? 'grad' : 'nograd'}|${describe(template)}|${layouts.join('|')}`;
}

function describe(v: unknown): string {
  if (v instanceof Slot) return `T${v.index}`;
  if (Array.isArray(v)) return `[${v.map(describe).join(',')}]`;
  if (v !== null && typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}:${describe(x)}`).join(',')}}`;
  // Object.is keeps -0 apart from 0 and makes NaN one value; typeof keeps 1 apart from '1' and 1n.
  return `${typeof v}:${Object.is(v, -0) ? '-0' : String(v)}`;
}

// -------------------------------------------------------------------------------------------------------------
// Trace and replay

function trace(fn: (...a: unknown[]) => unknown, args: unknown[], argTemplate: unknown, inputs: readonly Tensor[]): { compiled: Compiled; result: unknown } {
  // Every registered device that has started: a trace watches the backend contract, which all of them share.
  const targets = deviceNames().map((d) => peekBackend(d)).filter((b): b is Backend => b !== undefined);
  const { standIns, record } = tracers(targets);
  const leaves = leavesOf(inputs);
  const called = leaves.some((t, i) => t !== inputs[i]) ? rebuild(argTemplate, leaves) as unknown[] : args;
  // Index checks inside fn compute a summary on the device; the trace checks it now and every replay again.
  const checks: { storage: Storage; check: SummaryCheck }[] = [];
  const sink = {
    add: (storage: Storage, check: SummaryCheck): void => { checks.push({ storage, check }); },
    readNow: (storage: Storage) => targets.find((b) => b.device === storage.device)!.readSync(storage, 'jit'),
  };
  let result: unknown;
  try {
    result = withGuardSink(sink, () => withBackends(standIns, () => fn(...called)));
  } catch (e) {
    const read = record().hostRead;
    throw read !== null ? hostReadError(read) : e;
  }
  const rec = record();
  if (rec.hostRead !== null) throw hostReadError(rec.hostRead);
  refuseBackward(leaves);
  const outs: Tensor[] = [];
  const template = flatten(result, outs, 'result');
  const { graph, bufferOf } = buildGraph(rec, inputs.map((t) => t.storage), outs.map((t) => t.storage));
  // Constants made while tracing are read by every replay: a tidy() around the trace call must not release them.
  for (const b of graph.buffers) {
    if (b.origin.kind === 'external' && rec.made.has(b.origin.storage)) keep(new Tensor(b.origin.storage, [b.length], [1], 0));
  }
  const outputs = outs.map((t) => ({ buffer: bufferOf(t.storage), shape: t.shape, strides: t.strides, offset: t.offset }));
  const returned = new Set(outputs.map((o) => o.buffer));
  // A check's summary is read by the host, not by a kernel: it stays materialised, in storage of its own.
  const checked = checks.map((c) => ({ buffer: bufferOf(c.storage), check: c.check }));
  const kept = new Set([...returned, ...checked.map((c) => c.buffer)]);
  const fused = mergeStores(fuseRows(redirectGemmStores(fuseElementwise(graph, kept), kept), kept), kept);
  const used = new Set([...fused.launches.flatMap((l) => [...l.inputs, l.output]), ...returned]);
  const materialised = fused.buffers.filter((b) => used.has(b.id) && (b.origin.kind === 'alloc' || b.origin.kind === 'upload'));
  const reusable = new Set(materialised.filter((b) => b.origin.kind === 'alloc' && !b.origin.zeroed && !kept.has(b.id)).map((b) => b.id));
  const slots = assignSlots(fused, reusable);
  const fresh = materialised.filter((b) => !reusable.has(b.id)).map((b) => b.id);
  // After the last launch that writes the summary (a summary no launch writes does not depend on the arguments).
  const lastWrite = (b: number): number => fused.launches.reduce((at, l, i) => (writtenBy(l).includes(b) ? i : at), -1);
  const guards = checked.map((c) => ({ ...c, after: lastWrite(c.buffer) }));
  // Results carry no graph, at the trace as at every replay: gradients are taken inside fn.
  const detached = outs.map((t) => (t.requiresGrad ? t.detach() : t));
  return { compiled: { eager: graph, graph: fused, fresh, slots, returned, outputs, template, guards }, result: rebuild(template, detached) };
}

function replay(c: Compiled, inputs: readonly Tensor[]): unknown {
  const storages: Storage[] = [];
  const backends = new Map<Device, Backend>();
  const backend = (d: Device): Backend => {
    let b = backends.get(d);
    if (b === undefined) backends.set(d, (b = getBackend(d, 'jit')));
    return b;
  };
  for (const b of c.graph.buffers) {
    if (b.origin.kind === 'input') storages[b.id] = inputs[b.origin.leaf]!.storage;
    else if (b.origin.kind === 'external') storages[b.id] = b.origin.storage;
  }
  for (const id of c.fresh) {
    const b = c.graph.buffers[id]!;
    const o = b.origin;
    storages[id] = o.kind === 'upload' ? backend(b.device).fromArray(b.dtype, o.data, false)
      : o.kind === 'alloc' && o.zeroed ? backend(b.device).allocateZeroed(b.dtype, b.length)
      : backend(b.device).allocate(b.dtype, b.length);
  }
  const shared = c.slots.map((s) => backend(s.device).allocate(s.dtype, s.length));
  c.slots.forEach((s, i) => { for (const id of s.buffers) storages[id] = shared[i]!; });
  // A GPU check reads its summary later (at the device's next read) and releases it then.
  const deferred = new Set(c.guards.filter((g) => c.graph.buffers[g.buffer]!.device !== 'cpu').map((g) => g.buffer));
  let done = false;
  try {
    c.graph.launches.forEach((l, i) => {
      backend(l.device).run(l.spec, l.inputs.map((k) => storages[k]!), storages[l.output]!);
      // A bad index stops the replay where eager execution would have thrown, before the updates after it.
      for (const g of c.guards) if (g.after === i) checkStorage(storages[g.buffer]!, g.check);
    });
    done = true;
  } finally {
    // Intermediates go back at once (to the GPU's pool), as a tidy() around the eager call would release them.
    for (const id of c.fresh) if ((!done || !c.returned.has(id)) && !deferred.has(id)) disposeStorage(storages[id]!);
    for (const s of shared) disposeStorage(s);
  }
  const outs = c.outputs.map((v) => new Tensor(storages[v.buffer]!, v.shape, v.strides, v.offset));
  return rebuild(c.template, outs);
}

// -------------------------------------------------------------------------------------------------------------
// Inspection

function intermediateBytes(g: Graph, returned: ReadonlySet<number>): number {
  const used = new Set(g.launches.flatMap((l) => [...l.inputs, l.output]));
  return g.buffers
    .filter((b) => used.has(b.id) && !returned.has(b.id) && (b.origin.kind === 'alloc' || b.origin.kind === 'upload'))
    .reduce((sum, b) => sum + bufferBytes(b), 0);
}

function costs(c: Compiled): Omit<JitStats, 'traces'> {
  return {
    eagerLaunches: c.eager.launches.length,
    launches: c.graph.launches.length,
    eagerIntermediateBytes: intermediateBytes(c.eager, c.returned),
    intermediateBytes: c.fresh.filter((id) => !c.returned.has(id)).reduce((sum, id) => sum + bufferBytes(c.graph.buffers[id]!), 0) +
      c.slots.reduce((sum, s) => sum + sharedBytes(s), 0),
    intermediateBytesWithoutReuse: intermediateBytes(c.graph, c.returned),
  };
}

function explain(c: Compiled, traces: number): string {
  const s = costs(c);
  const lines = [
    `jit: ${traces} signature${traces === 1 ? '' : 's'} traced; the last call's schedule:`,
    `launches: ${s.launches} (eager ${s.eagerLaunches})`,
    `intermediate bytes: ${s.intermediateBytes} (${s.intermediateBytesWithoutReuse} without reuse; eager ${s.eagerIntermediateBytes})`,
  ];
  c.graph.launches.forEach((l, i) => {
    const shape = l.spec.kind === 'gemm' ? `gemm ${l.spec.m}x${l.spec.k}x${l.spec.n}` : `loop [${l.spec.sizes.join(', ')}]`;
    const what = l.ops.length > 1 ? `fused ${l.ops.length} ops: ${l.ops.join(', ')}` : l.ops[0]!;
    // Row values (src/jit/rows.ts): what each row folds before the kernel's own values.
    const rows = l.spec.kind === 'loop' && l.spec.rows !== undefined
      ? `; per row over loops ${l.spec.rows.outer}..${l.spec.sizes.length - 1}: ${l.spec.rows.values.map((v) => (v.store === undefined ? v.op : `${v.op} (stored)`)).join(', ')}` : '';
    lines.push(`  ${i + 1}. ${l.device} ${shape}  ${what}${rows}`);
  });
  return lines.join('\n');
}
