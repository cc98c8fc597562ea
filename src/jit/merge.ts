/**
 * The last fusion of a jit graph: a map whose output a later map reads point for point, and which must still be
 * written (optimizer state, a parameter, anything read again later), is merged into that later map as a further
 * store (LoopSpec.also). The later map computes the earlier one's expression in place of each read of its buffer,
 * and stores it there too, so an update that was three kernels (Adam's m, v and then the parameter, which reads
 * the new m and v) runs as one pass over memory. Two maps over the same loops that do not read each other merge
 * the same way (one kernel stores both: Adam's step counters, batch norm's running statistics).
 *
 * The producer's expression is evaluated for its store and again wherever the consumer read its buffer, so only
 * cheap ones (a few operations, no transcendental: fuse.ts's rule for the CPU) are merged.
 *
 * A merged kernel reads every input before it stores anything at a point, so merging is exact only when every
 * element it writes is read at that point alone: the producer and the consumer run over the same loops, the
 * consumer reads the producer's buffer exactly where the producer writes it, every buffer the merged kernel
 * writes is read only through the access it is written through, and nothing between the two launches touches
 * what the producer reads or writes. On WebGPU a written buffer must also be bound once, and the output may not
 * be read (as for fuse.ts's in-place updates).
 */
import type { Access, Expr, LoopSpec, LoopStore } from '../lower/spec.js';
import { cheapToRecompute, substitute } from './fuse.js';
import type { Graph, Launch } from './trace.js';

/** Storage buffers a WebGPU kernel may bind besides its output (fuse.ts has the same bound). */
const MAX_INPUTS = 7;

/** Buffers a launch writes: its output and, for a merged map, its further stores; for a row kernel, its row stores. */
export function writtenBy(l: Launch): number[] {
  if (l.spec.kind !== 'loop') return [l.output];
  const also = (l.spec.also ?? []).map((st) => st.input);
  const rows = (l.spec.rows?.values ?? []).flatMap((r) => (r.store === undefined ? [] : [r.store]));
  return [l.output, ...[...also, ...rows].map((i) => l.inputs[i]!)];
}

function isMap(l: Launch): l is Launch & { spec: LoopSpec } {
  return l.spec.kind === 'loop' && l.spec.parallel === l.spec.sizes.length && l.spec.rows === undefined;
}

const sameAccess = (a: Access, b: Access): boolean =>
  a.dtype === b.dtype && a.offset === b.offset && a.strides.length === b.strides.length && a.strides.every((s, d) => s === b.strides[d]);

/** Whether an access over loops of `sizes` names a different element at every point. */
function injective(a: Access, sizes: readonly number[]): boolean {
  const walked = sizes.map((n, d) => ({ n, s: Math.abs(a.strides[d]!) })).filter((x) => x.n > 1).sort((x, y) => x.s - y.s);
  let reach = 1;
  for (const x of walked) {
    if (x.s < reach) return false;
    reach = x.s * x.n;
  }
  return true;
}

/**
 * Merges pairs of maps over the same loops, in one pass over the launches. `keep` holds buffers the host reads
 * (results, checks): a merged kernel still stores them.
 */
export function mergeStores(graph: Graph, keep: ReadonlySet<number>): Graph {
  const launches = graph.launches.slice();
  // One pass: each launch in turn takes in the earlier ones it can, and after a merge the merged launch goes on
  // looking from its new place. A pair a merge unblocks behind that place (a launch left the span between them)
  // is not revisited: the pass stays linear in the pairs, not in pairs times merges.
  for (let c = 0; c < launches.length; c++) {
    for (let p = c - 1; p >= 0; p--) {
      const merged = merge(graph, launches, p, c, keep);
      if (merged === null) continue;
      if (merged.at === 'consumer') {
        launches[c] = merged.launch;
        launches.splice(p, 1);
        c--;
      } else {
        launches[p] = merged.launch;
        launches.splice(c, 1);
        c = p;
      }
      p = c;
    }
  }
  return { buffers: graph.buffers, launches };
}

/** A buffer a launch writes at every point: where, and the value (over the launch's own inputs). */
interface Write {
  readonly buffer: number;
  readonly access: Access;
  readonly expr: Expr;
}

function writesOf(l: Launch & { spec: LoopSpec }): Write[] {
  return [
    { buffer: l.output, access: l.spec.output, expr: l.spec.expr },
    ...(l.spec.also ?? []).map((st) => ({ buffer: l.inputs[st.input]!, access: l.spec.inputs[st.input]!, expr: st.expr })),
  ];
}

/**
 * The producer (launch p) merged into the consumer (launch c), two maps over the same loops, whether or not the
 * consumer reads what the producer writes (if it does, every such read is of the element written at that point):
 * at the consumer's place when the producer can move down to it, else at the producer's when the consumer can
 * move up.
 */
function merge(graph: Graph, launches: readonly Launch[], p: number, c: number, keep: ReadonlySet<number>):
  { launch: Launch; at: 'producer' | 'consumer' } | null {
  const first = launches[p]!;
  const second = launches[c]!;
  if (!isMap(first) || !isMap(second) || first.device !== second.device) return null;
  // Maps over the same elements whose loops are merged differently ([36, 48] and [1728]) run over their common
  // split ([36, 48]) when both walk it linearly.
  const sizes = commonLoops(first.spec.sizes, second.spec.sizes);
  if (sizes === null) return null;
  const producer = { ...first, spec: splitLoops(first.spec, sizes) };
  const consumer = { ...second, spec: splitLoops(second.spec, sizes) };
  const P = producer.spec;
  const C = consumer.spec;
  if (P.sizes.includes(0)) return null;
  if (P.computeType !== C.computeType) return null;
  const writes = writesOf(producer);
  const writeOf = (x: number): Write | undefined => writes.find((w) => w.buffer === x);
  const vertical = consumer.inputs.some((x) => writeOf(x) !== undefined);
  // A stored value is the value computed: no rounding to another dtype between the two. An int32 store may wrap
  // what the CPU computes (a sum past 2^31), so an int32 value is only stored, never read back in the consumer.
  const exact = (d: string): boolean => d === 'float32' || d === 'float64' || (d === 'int32' && !vertical);
  if (writes.some((w) => w.access.dtype !== P.computeType || !exact(w.access.dtype))) return null;
  if (writes.some((w) => !injective(w.access, P.sizes))) return null;
  if (vertical) {
    // Every read of a written buffer in the consumer is of the element the producer writes at that point; the
    // producer's value is evaluated for its store and again for each read, so it must be cheap (a few operations
    // without a transcendental: the CPU's rule of fuse.ts, on every device).
    for (const [i, x] of consumer.inputs.entries()) {
      const w = writeOf(x);
      if (w !== undefined && (!sameAccess(C.inputs[i]!, w.access) || !cheapToRecompute(w.expr, 'cpu'))) return null;
    }
  }
  // The producer moves down to the consumer if nothing in between reads or writes what it writes, or writes what it
  // reads; else the consumer moves up to the producer under the same rule (what it reads of the producer's is then
  // computed in the merged kernel, and what is in between reads the producer's stores as before).
  const between = launches.slice(p + 1, c);
  const canMove = (l: Launch): boolean => {
    const read = new Set(l.inputs);
    const wrote = new Set(writtenBy(l));
    return between.every((m) => !m.inputs.some((x) => wrote.has(x)) && !writtenBy(m).some((x) => wrote.has(x) || read.has(x)));
  };
  // A map joins an earlier one of other loops only by moving it down: moved up, it would leave behind the later
  // maps of its own loops that read it (Adam's moments, pulled away from their parameter's update).
  const reshaped = first.spec !== P || second.spec !== C;
  const at = canMove(producer) ? 'consumer' : !reshaped && canMove(consumer) ? 'producer' : null;
  if (at === null) return null;

  // The merged inputs: the consumer's, then the producer's; one slot per (buffer, access).
  const slots: { buffer: number; access: Access }[] = [];
  const slotOf = (buffer: number, access: Access): number => {
    const k = slots.findIndex((x) => x.buffer === buffer && sameAccess(x.access, access));
    if (k >= 0) return k;
    slots.push({ buffer, access });
    return slots.length - 1;
  };
  const consumerSlot = consumer.inputs.map((x, i) => slotOf(x, C.inputs[i]!));
  const producerSlot = producer.inputs.map((x, j) => slotOf(x, P.inputs[j]!));
  const values = new Map(writes.map((w) => [w.buffer, substitute(w.expr, (j) => ({ kind: 'input', index: producerSlot[j]! }))]));
  const rewrite = (e: Expr): Expr => substitute(e, (i) => values.get(consumer.inputs[i]!) ?? { kind: 'input', index: consumerSlot[i]! });
  // A written buffer is stored where it outlives the replay (state, a parameter, a result or a checked summary)
  // or another launch after the producer reads it; an intermediate only the consumer reads is only folded in.
  const needed = (x: number): boolean => keep.has(x) || graph.buffers[x]!.origin.kind !== 'alloc' ||
    launches.some((l, i) => i > p && i !== c && l.inputs.includes(x));
  const stores: LoopStore[] = [
    ...(C.also ?? []).map((st) => ({ input: consumerSlot[st.input]!, expr: rewrite(st.expr) })),
    ...writes.filter((w) => needed(w.buffer)).map((w) => ({ input: slotOf(w.buffer, w.access), expr: values.get(w.buffer)! })),
  ];
  const expr = rewrite(C.expr);
  const pruned = prune(slots, expr, stores);
  const written = [consumer.output, ...pruned.stores.map((st) => pruned.slots[st.input]!.buffer)];
  if (new Set(written).size !== written.length) return null;
  // Every written buffer is read only through the access it is written through, and bound once.
  for (const [k, x] of pruned.slots.entries()) {
    if (!written.includes(x.buffer)) continue;
    const stored = pruned.stores.some((st) => st.input === k);
    const out = x.buffer === consumer.output;
    if (out && !sameAccess(x.access, { ...C.output, dtype: x.access.dtype })) return null;
    if (!out && !stored) return null;
    if (!injective(x.access, C.sizes)) return null;
  }
  if (pruned.slots.length > MAX_INPUTS) return null;
  const ops = [...producer.ops, ...consumer.ops];
  const spec: LoopSpec = {
    ...C,
    label: `fused ${ops.join(', ')}`,
    inputs: pruned.slots.map((x) => x.access),
    expr: pruned.expr,
    also: pruned.stores,
  };
  return { launch: { spec, device: consumer.device, inputs: pruned.slots.map((x) => x.buffer), output: consumer.output, ops }, at };
}

/**
 * The loops both nests split into when they cover the same elements (the same product), each loop of either one a
 * run of consecutive common loops: the union of their inner products, or null when those do not nest (a loop of 6
 * against loops of 4). Equal nests are their own common split.
 */
function commonLoops(a: readonly number[], b: readonly number[]): number[] | null {
  if (a.length === b.length && a.every((n, d) => n === b[d])) return a.slice();
  if (a.includes(0) || b.includes(0)) return null;
  const ends = (x: readonly number[]): number[] => {
    const out: number[] = [];
    let q = 1;
    for (let d = x.length - 1; d >= 0; d--) out.push((q *= x[d]!));
    return out;
  };
  const ea = ends(a);
  const eb = ends(b);
  if ((ea.at(-1) ?? 1) !== (eb.at(-1) ?? 1)) return null;
  const cuts = [...new Set([1, ...ea, ...eb])].sort((x, y) => x - y);
  if (cuts.some((u, k) => k > 0 && u % cuts[k - 1]! !== 0)) return null;
  const out: number[] = [];
  for (let k = cuts.length - 1; k > 0; k--) out.push(cuts[k]! / cuts[k - 1]!);
  return out;
}

/** A map's loops split into `sizes` (a refinement of its own, from commonLoops): each access walks them linearly. */
function splitLoops(spec: LoopSpec, sizes: readonly number[]): LoopSpec {
  if (sizes.length === spec.sizes.length && sizes.every((n, d) => n === spec.sizes[d])) return spec;
  // For each common loop (none of extent 1), the own loop it belongs to and its stride multiplier there (the
  // product of the common loops inside it within that own loop); an own loop of extent 1 gets none.
  const owner: number[] = [];
  const unit: number[] = [];
  let k = sizes.length - 1;
  for (let d = spec.sizes.length - 1; d >= 0; d--) {
    for (let q = 1; q < spec.sizes[d]!; q *= sizes[k--]!) {
      owner[k] = d;
      unit[k] = q;
    }
  }
  const strides = (a: Access): number[] => sizes.map((_, j) => a.strides[owner[j]!]! * unit[j]!);
  return {
    ...spec,
    sizes: sizes.slice(),
    parallel: sizes.length,
    inputs: spec.inputs.map((a) => ({ ...a, strides: strides(a) })),
    output: { ...spec.output, strides: strides(spec.output) },
  };
}

/** Drops the slots no expression reads and no store writes, renumbering the rest. */
function prune(slots: readonly { buffer: number; access: Access }[], expr: Expr, stores: readonly LoopStore[]):
  { slots: { buffer: number; access: Access }[]; expr: Expr; stores: LoopStore[] } {
  const used = new Set<number>(stores.map((st) => st.input));
  const collect = (e: Expr): void => { substitute(e, (i) => { used.add(i); return { kind: 'input', index: i }; }); };
  collect(expr);
  for (const st of stores) collect(st.expr);
  const kept = slots.flatMap((x, i) => (used.has(i) ? [i] : []));
  const to = new Map(kept.map((i, k) => [i, k]));
  const renumber = (e: Expr): Expr => substitute(e, (i) => ({ kind: 'input', index: to.get(i)! }));
  return {
    slots: kept.map((i) => slots[i]!),
    expr: renumber(expr),
    stores: stores.map((st) => ({ input: to.get(st.input)!, expr: renumber(st.expr) })),
  };
}
