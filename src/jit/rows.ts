/**
 * Row fusion: a reduction whose result later loops read broadcast over exactly the loops it reduced (softmax's
 * max and sum, layer norm's mean and variance, batch norm's statistics read by its normalisation) is computed
 * inside each of those loops as a row value (LoopSpec.rows): per point of the loops the result indexes, the
 * reader folds the row first and then runs as before, reading the value instead of the buffer. The buffer is never
 * written, and a softmax (max, exp and sum, division) or a layer norm (mean, variance, normalisation) becomes one
 * kernel over each row instead of three or four passes over memory.
 *
 * Maps need no pass of their own here: fuse.ts has already folded each map read once into its reader, and on a
 * GPU recomputed softmax's exp(x - max) in both its readers, so there the sum becomes a row value of the division
 * and the max a row value of both: one kernel. On the CPU that exponential is written once (an exp computed twice
 * costs more than a row read back from cache), and a softmax is two kernels: exp(x - max) with the max as its row
 * value, and the division with the sum as its row value.
 *
 * What a row value costs: the reader walks the row once more per value (from cache, rows being short), and a
 * reduction read by several loops is recomputed in each. Only float32 (and, on the CPU, float64) kernels qualify,
 * and a kernel that writes a buffer it reads is left alone.
 */
import type { Access, Expr, LoopRows, LoopSpec, RowOp, RowValue } from '../lower/spec.js';
import { distinctInputs, substitute } from './fuse.js';
import { writtenBy } from './merge.js';
import type { Graph, Launch } from './trace.js';

/** Storage buffers a fused kernel may read (fuse.ts: 8 per WebGPU shader stage, one for the output). */
const MAX_INPUTS = 7;
/**
 * Bounds on a fused kernel: row values, and expression nodes over all its expressions. A chain of softmaxes would
 * otherwise fold into one kernel whose every row value recomputes every step before it.
 */
const MAX_VALUES = 6;
const MAX_NODES = 96;

const ROW_OPS: ReadonlySet<string> = new Set<RowOp>(['sum', 'prod', 'max', 'min']);

/** Fuses reductions into their readers until none qualifies. */
export function fuseRows(graph: Graph, keep: ReadonlySet<number>): Graph {
  let launches = graph.launches.slice();
  for (let changed = true; changed;) {
    changed = false;
    const uses = usesOf(launches);
    for (let i = 0; i < launches.length && !changed; i++) {
      const next = reductionIntoReaders(launches, i, graph, keep, uses);
      if (next !== null) {
        launches = next;
        changed = true;
      }
    }
  }
  return { buffers: graph.buffers, launches };
}

function loopOf(l: Launch): LoopSpec | null {
  return l.spec.kind === 'loop' ? l.spec : null;
}

/** Kernels this pass builds or reads: float32 anywhere, float64 on the CPU; no further stores. */
function eligible(l: Launch): boolean {
  const s = loopOf(l);
  return s !== null && s.also === undefined && !s.sizes.includes(0) &&
    (s.computeType === 'float32' || (s.computeType === 'float64' && l.device === 'cpu'));
}

/** Per buffer, the launches that write it and those that read it, in launch order (one pass over the graph). */
interface Uses {
  readonly writers: ReadonlyMap<number, readonly number[]>;
  readonly readers: ReadonlyMap<number, readonly number[]>;
}

function usesOf(launches: readonly Launch[]): Uses {
  const writers = new Map<number, number[]>();
  const readers = new Map<number, number[]>();
  const add = (m: Map<number, number[]>, b: number, i: number): void => {
    const list = m.get(b);
    if (list === undefined) m.set(b, [i]);
    else if (list[list.length - 1] !== i) list.push(i);
  };
  launches.forEach((l, i) => {
    for (const b of writtenBy(l)) add(writers, b, i);
    for (const b of l.inputs) add(readers, b, i);
  });
  return { writers, readers };
}

/** Whether `b` is an intermediate that launch `w` alone writes (so `w` may move, or its result become a value). */
function writtenOnlyBy(graph: Graph, uses: Uses, b: number, w: number): boolean {
  return graph.buffers[b]!.origin.kind === 'alloc' && (uses.writers.get(b) ?? []).every((i) => i === w);
}

/** The launches reading `b` (all after `w`, the one writer), or null when `b` may not disappear. */
function readersOf(launches: readonly Launch[], w: number, b: number, graph: Graph, keep: ReadonlySet<number>, uses: Uses): readonly number[] | null {
  if (keep.has(b) || !writtenOnlyBy(graph, uses, b, w)) return null;
  const readers = uses.readers.get(b) ?? [];
  if (readers.length === 0 || readers.some((r) => r < w)) return null;
  // Computed at each reader's place: nothing from the writer to the reader (the reader included) may write
  // what the writer reads, and a reader may not write what it reads.
  const last = readers[readers.length - 1]!;
  if (launches[w]!.inputs.some((x) => (uses.writers.get(x) ?? []).some((i) => i > w && i <= last))) return null;
  for (const r of readers) {
    if (launches[r]!.inputs.includes(launches[r]!.output)) return null;
    if (launches[r]!.device !== launches[w]!.device || !eligible(launches[r]!)) return null;
  }
  return readers;
}

/** The one access through which `l` reads buffer `b`, or null when it reads it through several. */
function accessOf(l: Launch, b: number): Access | null {
  const spec = l.spec as LoopSpec;
  const all = spec.inputs.filter((_, i) => l.inputs[i] === b);
  const a = all[0]!;
  return all.every((x) => x.offset === a.offset && x.strides.every((s, d) => s === a.strides[d])) ? a : null;
}

/**
 * A kernel under construction: real inputs, row values (reading inputs ≥ inputs.length as values; a store names a
 * real input), expression.
 */
interface Parts {
  readonly inputs: readonly { readonly buffer: number; readonly access: Access }[];
  readonly values: readonly RowValue[];
  readonly expr: Expr;
}

/**
 * Launch `w`, a reduction, computed as a row value by each of its readers; or, where its result must stay written
 * (the host reads it, or a later launch reads it directly: batch norm's parameter gradients, which the optimizer
 * reads), by its first reader alone, which also stores it (RowValue.store) for the readers after it; or, where
 * that reader cannot take it, by a later kernel over the same rows that does not read it (intoSibling).
 */
function reductionIntoReaders(launches: readonly Launch[], w: number, graph: Graph, keep: ReadonlySet<number>, uses: Uses): Launch[] | null {
  const R = launches[w]!;
  const rs = loopOf(R);
  if (rs === null || rs.parallel === rs.sizes.length || !eligible(R) || !ROW_OPS.has(rs.reduceOp ?? 'sum')) return null;
  // A row value is held in the compute type: the result must be stored in it too. A reduction that stores row
  // values of its own is not moved: its stores would move with it.
  if (rs.output.dtype !== rs.computeType || (rs.rows?.values ?? []).some((v) => v.store !== undefined)) return null;
  const readers = readersOf(launches, w, R.output, graph, keep, uses);
  if (readers !== null) {
    const rewritten = new Map<number, Launch>();
    for (const r of readers) {
      const l = withRowValue(R, launches[r]!, 'read');
      if (l === null) break;
      rewritten.set(r, l);
    }
    if (rewritten.size === readers.length) return launches.flatMap((l, i) => (i === w ? [] : [rewritten.get(i) ?? l]));
  }
  const first = firstReader(launches, w, R.output, graph, uses);
  if (first !== null) {
    const stored = withRowValue(R, launches[first]!, 'store');
    if (stored !== null) return launches.flatMap((l, i) => (i === w ? [] : i === first ? [stored] : [l]));
  }
  return intoSibling(launches, w, graph, uses);
}

/** How far after a reduction a sibling is looked for (a layer's backward keeps its reductions together). */
const SIBLING_WINDOW = 16;

/**
 * Launch `w`, a reduction whose result must stay written, moved into a later row kernel over the same row
 * (batch norm's parameter gradients into its input gradient, which folds the same rows): one more row value,
 * stored. Between the two, nothing may write what `w` reads or read or write its result.
 */
function intoSibling(launches: readonly Launch[], w: number, graph: Graph, uses: Uses): Launch[] | null {
  const R = launches[w]!;
  const b = R.output;
  if (!writtenOnlyBy(graph, uses, b, w)) return null;
  const readers = uses.readers.get(b) ?? [];
  if (readers.some((r) => r < w)) return null;
  const until = Math.min(launches.length - 1, w + SIBLING_WINDOW, ...readers.map((r) => r - 1));
  const reads = new Set(R.inputs);
  for (let k = w + 1; k <= until; k++) {
    const K = launches[k]!;
    if (writtenBy(K).some((x) => reads.has(x))) return null;
    if (K.device !== R.device || K.inputs.includes(K.output) || !eligible(K)) continue;
    const fused = withRowValue(R, K, 'sibling');
    if (fused !== null) return launches.flatMap((l, i) => (i === w ? [] : i === k ? [fused] : [l]));
  }
  return null;
}

/**
 * The first launch reading `b` (after `w`, its one writer), where `w` may move to compute and store `b`: nothing
 * up to it writes what `w` reads, and it does not write what it reads.
 */
function firstReader(launches: readonly Launch[], w: number, b: number, graph: Graph, uses: Uses): number | null {
  if (!writtenOnlyBy(graph, uses, b, w)) return null;
  const r = (uses.readers.get(b) ?? [])[0];
  if (r === undefined || r < w) return null;
  if (launches[w]!.inputs.some((x) => (uses.writers.get(x) ?? []).some((i) => i > w && i <= r))) return null;
  const L = launches[r]!;
  if (L.inputs.includes(L.output) || L.device !== launches[w]!.device || !eligible(L)) return null;
  return r;
}

/**
 * Reader `L` with reduction `R`'s result as its last row value: `L` reads R's output broadcast over loops that are,
 * in order, R's reduce loops, and through R's own output strides over the others, each of which is one of R's
 * parallel loops. A map's loops are reordered so the row's loops come last; a reduction's row is its reduce loops.
 * With `store`, L also writes the value into R's output, which must then be whole; as a `sibling`, L does not read
 * R's result, and its own row and the loops before it are matched to R's loops by extent (siblingLoops).
 */
function withRowValue(R: Launch, L: Launch, how: 'read' | 'store' | 'sibling'): Launch | null {
  const rs = R.spec as LoopSpec;
  const ls = L.spec as LoopSpec;
  if (ls.computeType !== rs.computeType) return null;
  const rank = ls.sizes.length;
  const isMap = ls.parallel === rank;
  const store = how !== 'read';
  // R's reduce loops (extent > 1), in order: the row.
  const rowLoops = rs.sizes.flatMap((n, q) => (q >= rs.parallel && n > 1 ? [q] : []));
  // L's loops that broadcast the result (the row), and those that index it, each matched to one of R's parallel
  // loops: found from L's read of the result, or for a sibling (which does not read it) from L's own row.
  const found = how === 'sibling' ? siblingLoops(rs, ls, rowLoops) : readLoops(R, L);
  if (found === null) return null;
  const { inner, match } = found;
  const usedQ = new Set(match.values());
  // A parallel loop of R that L does not index is read at 0 (L reads from R's output offset), and the fused row
  // is folded there: fromR gives that loop stride 0. A stored result must be whole: L indexes all of them.
  if (inner.length !== rowLoops.length || inner.some((d, k) => ls.sizes[d] !== rs.sizes[rowLoops[k]!])) return null;
  if (store && rs.sizes.some((n, q) => q < rs.parallel && n > 1 && !usedQ.has(q))) return null;
  // Where the result is stored: R's output element of each row (0 over the row), taken before the row joins `match`.
  const storeStrides = ls.sizes.map((_, d) => (match.has(d) ? rs.output.strides[match.get(d)!]! : 0));
  inner.forEach((d, k) => match.set(d, rowLoops[k]!));
  // The loop order of the fused kernel: the row last. A reduction's row must be its reduce loops; a map with
  // row values already has its row, which must be this one.
  let order: number[];
  let outer: number;
  if (isMap && ls.rows === undefined) {
    order = [...Array.from({ length: rank }, (_, d) => d).filter((d) => !inner.includes(d)), ...inner];
    outer = rank - inner.length;
  } else {
    outer = ls.rows?.outer ?? ls.parallel;
    const row = Array.from({ length: rank - outer }, (_, k) => outer + k).filter((d) => ls.sizes[d]! > 1);
    if (row.length !== inner.length || row.some((d, k) => d !== inner[k])) return null;
    order = Array.from({ length: rank }, (_, d) => d);
  }
  const permute = (a: Access): Access => ({ ...a, strides: order.map((d) => a.strides[d]!) });
  const fromR = (a: Access): Access => ({ ...a, strides: order.map((d) => (match.has(d) ? a.strides[match.get(d)!]! : 0)) });
  const lIn = ls.inputs.length;
  const rIn = rs.inputs.length;
  const lValues = ls.rows?.values ?? [];
  const rValues = rs.rows?.values ?? [];
  // Real inputs: L's (R's result included, dropped by `build`), R's, and R's result again where it is stored,
  // through L's read of it (broadcast over the row). Values: R's, R's result, then L's (which may read R's result).
  const inputs = [...ls.inputs.map((a, i) => ({ buffer: L.inputs[i]!, access: permute(a) })),
    ...rs.inputs.map((a, i) => ({ buffer: R.inputs[i]!, access: fromR(a) })),
    ...(store ? [{ buffer: R.output, access: { ...rs.output, strides: order.map((d) => storeStrides[d]!) } }] : [])];
  const nReal = inputs.length;
  const resultValue = nReal + rValues.length;
  const fromL = (e: Expr): Expr => substitute(e, (i) => ({
    kind: 'input', index: i < lIn ? (L.inputs[i] === R.output ? resultValue : i) : resultValue + 1 + (i - lIn),
  }));
  const inR = (e: Expr): Expr => substitute(e, (i) => ({ kind: 'input', index: i < rIn ? lIn + i : nReal + (i - rIn) }));
  const parts: Parts = {
    inputs,
    values: [...rValues.map((v) => ({ op: v.op, expr: inR(v.expr) })),
      { op: (rs.reduceOp ?? 'sum') as RowOp, expr: inR(rs.expr), ...(store ? { store: nReal - 1 } : {}) },
      ...lValues.map((v) => ({ op: v.op, expr: fromL(v.expr), ...(v.store === undefined ? {} : { store: v.store }) }))],
    expr: fromL(ls.expr),
  };
  const built = build(parts);
  if (built === null) return null;
  const spec: LoopSpec = {
    ...ls,
    label: `fused ${[...R.ops, ...L.ops].join(', ')}`,
    sizes: order.map((d) => ls.sizes[d]!),
    inputs: built.inputs.map((x) => x.access),
    output: isMap ? permute(ls.output) : ls.output,
    expr: built.expr,
    rows: { outer, values: built.values } satisfies LoopRows,
  };
  return { spec, device: L.device, inputs: built.inputs.map((x) => x.buffer), output: L.output, ops: [...R.ops, ...L.ops] };
}

/** L's loops that read R's result broadcast (the row) and those that index it, each matched to a parallel loop of R. */
function readLoops(R: Launch, L: Launch): { inner: number[]; match: Map<number, number> } | null {
  const rs = R.spec as LoopSpec;
  const ls = L.spec as LoopSpec;
  const read = accessOf(L, R.output);
  if (read === null || read.offset !== rs.output.offset) return null;
  const inner: number[] = [];
  const match = new Map<number, number>();
  for (let d = 0; d < ls.sizes.length; d++) {
    if (ls.sizes[d] === 1) continue;
    if (read.strides[d] === 0) { inner.push(d); continue; }
    const used = new Set(match.values());
    const q = rs.sizes.findIndex((n, k) => k < rs.parallel && !used.has(k) && n === ls.sizes[d] && rs.output.strides[k] === read.strides[d]);
    if (q < 0) return null;
    match.set(d, q);
  }
  return { inner, match };
}

/**
 * For a sibling L (a row kernel or a reduction that does not read R's result): L's row, and its loops before the
 * row matched in order to R's parallel loops of the same extents (loops of extent 1 aside). Any such matching
 * computes R exactly; in order, it is the one that walks the same data together where both come from one layout.
 */
function siblingLoops(rs: LoopSpec, ls: LoopSpec, rowLoops: readonly number[]): { inner: number[]; match: Map<number, number> } | null {
  if (ls.rows === undefined && ls.parallel === ls.sizes.length) return null;
  const outer = ls.rows?.outer ?? ls.parallel;
  const wide = (d: number): boolean => ls.sizes[d]! > 1;
  const inner = ls.sizes.flatMap((_, d) => (d >= outer && wide(d) ? [d] : []));
  const lOuter = ls.sizes.flatMap((_, d) => (d < outer && wide(d) ? [d] : []));
  const rOuter = rs.sizes.flatMap((n, q) => (q < rs.parallel && n > 1 ? [q] : []));
  if (inner.length !== rowLoops.length || lOuter.length !== rOuter.length) return null;
  if (lOuter.some((d, k) => ls.sizes[d] !== rs.sizes[rOuter[k]!])) return null;
  return { inner, match: new Map(lOuter.map((d, k) => [d, rOuter[k]!])) };
}

/**
 * The parts as a kernel's inputs, values and expression: inputs nothing reads dropped, one input per distinct
 * (buffer, access), one value per distinct fold (softmax's max, found by both its readers, is folded once), every
 * index renumbered; null past MAX_INPUTS inputs.
 */
function build(p: Parts): { inputs: Parts['inputs']; values: RowValue[]; expr: Expr } | null {
  const nReal = p.inputs.length;
  const read = new Set<number>();
  const collect = (e: Expr): void => { substitute(e, (i) => { read.add(i); return { kind: 'input', index: i }; }); };
  collect(p.expr);
  p.values.forEach((v) => collect(v.expr));
  // A stored-into input is kept though nothing reads it. Nothing else in the kernel reads its buffer either (a
  // buffer a WebGPU kernel writes is bound once): the reader's reads of the result became the value, and a buffer
  // that the reduction reads and the reader stores into was refused before (reductionIntoReaders, intoSibling).
  for (const v of p.values) if (v.store !== undefined) read.add(v.store);
  const readInputs = p.inputs.flatMap((_, i) => (read.has(i) ? [i] : []));
  const { kept: inputs, to } = distinctInputs(readInputs.map((i) => p.inputs[i]!));
  const realTo = new Map(readInputs.map((i, j) => [i, to[j]!]));
  if (inputs.length > MAX_INPUTS || p.values.length > MAX_VALUES) return null;
  if (p.values.reduce((n, v) => n + nodes(v.expr), nodes(p.expr)) > MAX_NODES) return null;
  // Values in order, each renumbered over the kept inputs and the values kept before it.
  const values: RowValue[] = [];
  const valueTo = new Map<number, number>();
  const byFold = new Map<string, number>();
  let twoStores = false;
  const renumber = (e: Expr): Expr => substitute(e, (i) => ({
    kind: 'input', index: i < nReal ? realTo.get(i)! : inputs.length + valueTo.get(i - nReal)!,
  }));
  p.values.forEach((v, j) => {
    const expr = renumber(v.expr);
    const key = `${v.op}:${JSON.stringify(expr)}`;
    const store = v.store === undefined ? undefined : realTo.get(v.store)!;
    let k = byFold.get(key);
    if (k === undefined) {
      k = values.length;
      byFold.set(key, k);
      values.push({ op: v.op, expr, ...(store === undefined ? {} : { store }) });
    } else if (store !== undefined) {
      // The same fold found twice: the one value takes the store (a value stores into one input at most).
      twoStores ||= values[k]!.store !== undefined;
      values[k] = { ...values[k]!, store };
    }
    valueTo.set(j, k);
  });
  if (twoStores) return null;
  return { inputs, values, expr: renumber(p.expr) };
}

function nodes(e: Expr): number {
  switch (e.kind) {
    case 'input': case 'const': return 1;
    case 'unary': case 'cast': return 1 + nodes(e.arg);
    case 'binary': return 1 + nodes(e.lhs) + nodes(e.rhs);
    case 'select': return 1 + nodes(e.cond) + nodes(e.then) + nodes(e.otherwise);
  }
}
