/**
 * The first fusion of a jit graph: an elementwise LoopSpec whose output only one later LoopSpec (a map or a
 * reduction) reads is folded into that consumer's expression, and its output buffer is never materialised. A
 * small one that two or three loops read is folded into each of them (recomputed, see duplicateIntoReaders).
 *
 * The result is an ordinary LoopSpec (more inputs, a bigger expression), so both renderers run fused kernels
 * without knowing about fusion. How the consumer's loops index the producer's output is composed exactly:
 * the producer writes its buffer densely, so a buffer element is a number in the mixed radix of the producer's
 * loops; each consumer loop is split where it crosses a producer loop's boundary, and then walks one producer
 * loop linearly, which gives the producer's inputs strides over the consumer's loops. Anything that does not
 * compose that way (a strided or partial write, a read that carries across producer loops) stays unfused.
 */
import type { Access, Expr, LoopSpec, UnaryOp } from '../lower/spec.js';
import type { Graph, Launch } from './trace.js';

/**
 * Inputs a fused kernel may read. WebGPU guarantees 8 storage buffers per shader stage, and the output takes
 * one; a chain that would need more stays split.
 */
const MAX_FUSED_INPUTS = 7;

/** A LoopSpec with no reduce loops. */
function isMap(spec: Launch['spec']): spec is LoopSpec {
  return spec.kind === 'loop' && spec.parallel === spec.sizes.length && spec.rows === undefined;
}

/**
 * Folds producers into consumers until no pair qualifies; `keep` holds the buffers that must stay (outputs). A
 * reduction consumer keeps its reduce loops (split where a read crosses a producer loop, in row-major order, so
 * argmax's index is unchanged).
 */
export function fuseElementwise(graph: Graph, keep: ReadonlySet<number>): Graph {
  // A bool folded into a map that only converts it (see storedValue) runs in the bool's compute type, and then no
  // longer folds into a reader computed in another type: it is tried last, where every fold that keeps the
  // readers' type has been made (a mask's `cast to float32` folded into the float sums that read it).
  const launches = foldAll(foldAll(graph.launches.slice(), graph, keep, false), graph, keep, true);
  return { buffers: graph.buffers, launches };
}

function foldAll(from: Launch[], graph: Graph, keep: ReadonlySet<number>, conversions: boolean): Launch[] {
  let launches = from;
  // After a change at producer p, the scan resumes at p rather than at 0: no launch before p changed, nor did
  // any span between a launch before p and its producer, so what a scan from 0 would find first lies at p or later.
  let start = 0;
  for (let changed = true; changed;) {
    changed = false;
    for (let c = start; c < launches.length && !changed; c++) {
      const consumer = launches[c]!;
      if (consumer.spec.kind !== 'loop' || consumer.spec.rows !== undefined) continue;
      for (const b of new Set(consumer.inputs)) {
        const p = producerToFold(launches, c, b, graph, keep);
        if (p === null) {
          const duplicated = duplicateIntoReaders(launches, b, graph, keep);
          if (duplicated === null) continue;
          start = launches.findIndex((l) => l.output === b);
          launches = duplicated;
          changed = true;
          break;
        }
        const fused = fold(launches[p]!, consumer, b, graph.buffers[b]!.length, conversions);
        if (fused === null) continue;
        if (launches[p]!.inputs.includes(consumer.output) && !updatesInPlace(fused)) continue;
        launches = launches.flatMap((l, i) => (i === p ? [] : i === c ? [fused] : [l]));
        start = p;
        changed = true;
        break;
      }
    }
  }
  return launches;
}

/**
 * The index of the launch whose output `b` may be folded into launch `c`: `b` is an intermediate of the graph
 * with exactly one writer (an elementwise loop before `c`), read by `c` alone, and nothing between the two
 * launches (nor `c`) writes what the producer reads, so computing it later reads the same values.
 */
function producerToFold(launches: readonly Launch[], c: number, b: number, graph: Graph, keep: ReadonlySet<number>): number | null {
  const buf = graph.buffers[b]!;
  if (keep.has(b) || buf.origin.kind !== 'alloc') return null;
  const writers = launches.flatMap((l, i) => (l.output === b ? [i] : []));
  if (writers.length !== 1) return null;
  const p = writers[0]!;
  const producer = launches[p]!;
  if (p > c || !isMap(producer.spec) || producer.device !== launches[c]!.device) return null;
  if (launches.some((l, i) => i !== c && l.inputs.includes(b))) return null;
  const read = new Set(producer.inputs);
  for (let i = p + 1; i < c; i++) if (read.has(launches[i]!.output)) return null;
  // The consumer may write what the producer reads only as an in-place update (checked on the fused kernel).
  if (read.has(launches[c]!.output) && !isMap(launches[c]!.spec)) return null;
  return p;
}

/** How many readers a map may be recomputed in, and how big its expression may be (nodes). */
const MAX_DUPLICATE_READERS = 3;
const MAX_DUPLICATE_NODES = 12;

/**
 * A cheap map read by several loops (softmax's `exp(x - max)`, read by the sum and by the division; layer norm's
 * `x - mean`, read by the variance and by the normalisation) folded into every one of them: each reader
 * recomputes the few operations instead of reading them back, and the buffer is never written. All or nothing:
 * when any reader cannot absorb it (a GEMM, a layout that does not compose, something written in between), the
 * map stays a kernel and nothing is duplicated, since a reader that recomputes it while another reads the
 * buffer saves no memory traffic. Returns the rewritten launches, or null.
 */
function duplicateIntoReaders(launches: readonly Launch[], b: number, graph: Graph, keep: ReadonlySet<number>): Launch[] | null {
  if (keep.has(b) || graph.buffers[b]!.origin.kind !== 'alloc') return null;
  const writers = launches.flatMap((l, i) => (l.output === b ? [i] : []));
  if (writers.length !== 1) return null;
  const p = writers[0]!;
  const producer = launches[p]!;
  if (!isMap(producer.spec) || !cheapToRecompute(producer.spec.expr, producer.device)) return null;
  const readers = launches.flatMap((l, i) => (l.inputs.includes(b) ? [i] : []));
  if (readers.length < 2 || readers.length > MAX_DUPLICATE_READERS) return null;
  // A map of a GEMM's product that nothing else reads becomes that GEMM's epilogue (gemm-store.ts), computed
  // once in its store, which beats recomputing it in every reader.
  const epilogueOf = (x: number): boolean => launches.some((l) => l.output === x && l.spec.kind === 'gemm') &&
    launches.every((l, i) => i === p || !l.inputs.includes(x));
  if (producer.inputs.some(epilogueOf)) return null;
  const read = new Set(producer.inputs);
  const folded = new Map<number, Launch>();
  for (const r of readers) {
    const reader = launches[r]!;
    if (r < p || reader.spec.kind !== 'loop' || reader.spec.rows !== undefined || reader.device !== producer.device) return null;
    // Computed at each reader's place: nothing from the producer to the reader (the reader included) may write
    // what the producer reads.
    for (let i = p + 1; i <= r; i++) if (read.has(launches[i]!.output)) return null;
    const fused = fold(producer, reader, b, graph.buffers[b]!.length);
    if (fused === null) return null;
    folded.set(r, fused);
  }
  return launches.flatMap((l, i) => (i === p ? [] : [folded.get(i) ?? l]));
}

/**
 * Whether recomputing `e` in each reader costs less than writing and reading its buffer: at most
 * MAX_DUPLICATE_NODES nodes, and on the CPU, where a loop is bound by arithmetic more than by memory, no
 * transcendental (an `exp` recomputed costs more there than the 8 bytes it saves); on a GPU any op.
 */
export function cheapToRecompute(e: Expr, device: string): boolean {
  let nodes = 0;
  const ok = (x: Expr): boolean => {
    if (++nodes > MAX_DUPLICATE_NODES) return false;
    switch (x.kind) {
      case 'input':
      case 'const': return true;
      case 'cast': return ok(x.arg);
      case 'unary': return (device !== 'cpu' || CPU_CHEAP_UNARY.has(x.op)) && ok(x.arg);
      case 'binary': return (device !== 'cpu' || x.op !== 'pow') && ok(x.lhs) && ok(x.rhs);
      case 'select': return ok(x.cond) && ok(x.then) && ok(x.otherwise);
    }
  };
  return ok(e);
}

/** Unary ops a CPU loop recomputes for less than a load and a store. */
const CPU_CHEAP_UNARY: ReadonlySet<UnaryOp> = new Set<UnaryOp>(['neg', 'abs']);

/**
 * An in-place update as one kernel (`w.sub_(g.mul(lr))`: the subtraction folded into the copy into w): every
 * read of the buffer the kernel writes is of the element it writes at that point, so each element is read before
 * it is overwritten and never after. On WebGPU, which cannot bind one buffer read-only and read-write in one
 * dispatch, the backend reads such an input from the output's binding.
 */
function updatesInPlace(fused: Launch): boolean {
  const spec = fused.spec as LoopSpec;
  const same = (a: Access): boolean => a.offset === spec.output.offset && a.strides.every((s, d) => s === spec.output.strides[d]);
  return isMap(spec) && fused.inputs.every((b, i) => b !== fused.output || same(spec.inputs[i]!));
}

/** The consumer with every read of `b` replaced by the producer's expression, or null when it does not compose. */
function fold(producer: Launch, consumer: Launch, b: number, length: number, conversions = false): Launch | null {
  const P = producer.spec as LoopSpec;
  const C = consumer.spec as LoopSpec;
  // Empty loops compute nothing; leaving them alone keeps the split arithmetic free of zero extents.
  if (P.sizes.includes(0) || C.sizes.includes(0)) return null;
  const stored = storedValue(P, C, conversions && consumer.inputs.every((x) => x === b));
  if (stored === null) return null;
  const value = stored.value;
  const layout = denseLayout(P);
  // The producer must write every element of the buffer, or the consumer could read one nobody wrote.
  if (layout === null || layout.length !== length) return null;
  const positions = consumer.inputs.flatMap((id, i) => (id === b ? [i] : []));
  // Split every consumer loop at the producer-loop boundaries each read of b crosses.
  const units: number[][] = [];
  for (let d = 0; d < C.sizes.length; d++) {
    const cuts = new Set([1, C.sizes[d]!]);
    for (const i of positions) {
      const s = C.inputs[i]!.strides[d]!;
      if (s < 0) return null;
      if (s === 0 || C.sizes[d]! <= 1) continue;
      for (const w of layout.boundaries) {
        if (w <= s || w >= s * C.sizes[d]!) continue;
        if (w % s !== 0) return null;
        cuts.add(w / s);
      }
    }
    const sorted = [...cuts].sort((x, y) => x - y);
    if (sorted.some((u, k) => k > 0 && u % sorted[k - 1]! !== 0)) return null;
    units.push(sorted);
  }
  // The split loops: per original loop d, sub-loops outermost first, each with its unit (stride multiplier).
  const loops = units.flatMap((u, d) => {
    const out: { d: number; unit: number; size: number }[] = [];
    for (let k = u.length - 2; k >= 0; k--) out.push({ d, unit: u[k]!, size: u[k + 1]! / u[k]! });
    if (out.length === 0) out.push({ d, unit: 1, size: C.sizes[d]! });
    return out;
  });
  const split = (a: Access): Access => ({ ...a, strides: loops.map((l) => a.strides[l.d]! * l.unit) });
  // The output has strides over the parallel loops only; their sub-loops come first, in order.
  const parallelLoops = loops.filter((l) => l.d < C.parallel);

  const inputs: { buffer: number; access: Access }[] = [];
  const slot = new Map<number, number>();
  C.inputs.forEach((a, i) => {
    if (consumer.inputs[i] === b) return;
    slot.set(i, inputs.length);
    inputs.push({ buffer: consumer.inputs[i]!, access: split(a) });
  });
  const replaced = new Map<number, Expr>();
  for (const i of positions) {
    const walk = composeRead(layout, C.inputs[i]!, loops);
    if (walk === null) return null;
    const base = inputs.length;
    P.inputs.forEach((a, j) => {
      inputs.push({ buffer: producer.inputs[j]!, access: { dtype: a.dtype, ...walk(a) } });
    });
    replaced.set(i, value(renumber(P.expr, (j) => base + j)));
  }
  const output: Access = { ...C.output, strides: parallelLoops.map((l) => C.output.strides[l.d]! * l.unit) };
  const expr = substitute(C.expr, (i) => replaced.get(i) ?? { kind: 'input', index: slot.get(i)! });
  const deduped = dedupe(inputs, expr);
  if (deduped.inputs.length > MAX_FUSED_INPUTS) return null;
  const spec: LoopSpec = mergeLoops({
    ...C,
    label: `fused ${[...producer.ops, ...consumer.ops].join(', ')}`,
    sizes: loops.map((l) => l.size),
    parallel: parallelLoops.length,
    inputs: deduped.inputs.map((x) => x.access),
    output,
    expr: deduped.expr,
    computeType: stored.computeType,
  });
  return {
    spec,
    device: consumer.device,
    inputs: deduped.inputs.map((x) => x.buffer),
    output: consumer.output,
    ops: [...producer.ops, ...consumer.ops],
  };
}

/**
 * The producer's value as the consumer reads it back from the buffer, and the compute type of the fused kernel:
 * the same compute type (so the expression is evaluated as it was), and the store either exact (the buffer holds
 * the compute type) or a bool, whose store is the `cast` to bool both renderers implement. A bool may also be
 * read by a map that only converts it (a mask made float: `eq` computed in int32, then `cast to float32`; `only`
 * says the consumer reads nothing else): the fused kernel is then computed in the producer's type, and the
 * conversions of a 0 or 1 store the same 0 or 1 whatever type they run in.
 */
function storedValue(P: LoopSpec, C: LoopSpec, only: boolean): { value: (e: Expr) => Expr; computeType: LoopSpec['computeType'] } | null {
  const toBool = (e: Expr): Expr => ({ kind: 'cast', to: 'bool', arg: e });
  if (P.computeType !== C.computeType) {
    const converts = (e: Expr): boolean => e.kind === 'input' || (e.kind === 'cast' && converts(e.arg));
    if (P.output.dtype !== 'bool' || !only || C.parallel !== C.sizes.length || !converts(C.expr)) return null;
    return { value: toBool, computeType: P.computeType };
  }
  if (P.output.dtype === P.computeType) return { value: (e) => e, computeType: C.computeType };
  if (P.output.dtype === 'bool') return { value: toBool, computeType: C.computeType };
  return null;
}

interface DenseLayout {
  /** Producer loops (extent > 1) by output stride, innermost first: element weight and extent. */
  readonly loops: readonly { readonly index: number; readonly weight: number; readonly size: number }[];
  /** Every loop's first weight and its end (weight · size). */
  readonly boundaries: readonly number[];
  readonly length: number;
}

/** The producer's output as a mixed-radix number over its loops, when it writes every element once from 0. */
function denseLayout(P: LoopSpec): DenseLayout | null {
  if (P.output.offset !== 0) return null;
  const loops = P.sizes.map((size, index) => ({ index, weight: P.output.strides[index]!, size }))
    .filter((l) => l.size > 1)
    .sort((x, y) => x.weight - y.weight);
  let expected = 1;
  for (const l of loops) {
    if (l.weight !== expected) return null;
    expected *= l.size;
  }
  return { loops, boundaries: [...new Set(loops.flatMap((l) => [l.weight, l.weight * l.size]))], length: expected };
}

/**
 * How a read of the producer's buffer (`access`, over the split consumer loops) walks the producer's loops, as a
 * map from a producer input's access to the same element's access over the consumer's loops; null when a read
 * would carry from one producer loop into the next (then it is not linear in the consumer's loops).
 */
function composeRead(
  layout: DenseLayout, access: Access, loops: readonly { d: number; unit: number; size: number }[],
): ((a: Access) => Omit<Access, 'dtype'>) | null {
  // The producer-loop digits of the read's first element, and the largest digit any point adds to each.
  const start = new Map<number, number>();
  let rest = access.offset;
  for (let k = layout.loops.length - 1; k >= 0; k--) {
    const l = layout.loops[k]!;
    start.set(l.index, Math.floor(rest / l.weight));
    rest %= l.weight;
  }
  if (rest !== 0 || access.offset >= Math.max(layout.length, 1)) return null;
  const reach = new Map<number, number>();
  const owner: (number | null)[] = [];
  const perUnit: number[] = [];
  for (const l of loops) {
    const w = access.strides[l.d]! * l.unit;
    if (w === 0 || l.size <= 1) {
      owner.push(null);
      perUnit.push(0);
      continue;
    }
    const pl = layout.loops.find((x) => x.weight <= w && w < x.weight * x.size);
    if (pl === undefined || w % pl.weight !== 0) return null;
    owner.push(pl.index);
    perUnit.push(w / pl.weight);
    reach.set(pl.index, (reach.get(pl.index) ?? 0) + (w / pl.weight) * (l.size - 1));
  }
  for (const l of layout.loops) {
    if ((start.get(l.index) ?? 0) + (reach.get(l.index) ?? 0) > l.size - 1) return null;
  }
  return (a) => ({
    offset: a.offset + layout.loops.reduce((sum, l) => sum + (start.get(l.index) ?? 0) * a.strides[l.index]!, 0),
    strides: loops.map((_, k) => (owner[k] === null ? 0 : a.strides[owner[k]!]! * perUnit[k]!)),
  });
}

function renumber(e: Expr, to: (index: number) => number): Expr {
  return substitute(e, (i) => ({ kind: 'input', index: to(i) }));
}

/** `e` with every read of input i replaced by `f(i)`. */
export function substitute(e: Expr, f: (index: number) => Expr): Expr {
  switch (e.kind) {
    case 'input': return f(e.index);
    case 'const': return e;
    case 'unary': return { ...e, arg: substitute(e.arg, f) };
    case 'cast': return { ...e, arg: substitute(e.arg, f) };
    case 'binary': return { ...e, lhs: substitute(e.lhs, f), rhs: substitute(e.rhs, f) };
    case 'select': return { ...e, cond: substitute(e.cond, f), then: substitute(e.then, f), otherwise: substitute(e.otherwise, f) };
  }
}

/** The distinct (buffer, access) pairs of `inputs`, in first-seen order, and for each input the index of its own. */
export function distinctInputs<T extends { readonly buffer: number; readonly access: Access }>(inputs: readonly T[]): { kept: T[]; to: number[] } {
  const kept: T[] = [];
  const index = new Map<string, number>();
  const to = inputs.map((x) => {
    const key = `${x.buffer}:${x.access.dtype}:${x.access.offset}:${x.access.strides.join(',')}`;
    let k = index.get(key);
    if (k === undefined) {
      k = kept.length;
      index.set(key, k);
      kept.push(x);
    }
    return k;
  });
  return { kept, to };
}

/** One input per distinct (buffer, access): `x * x` after fusion reads x once. */
function dedupe(inputs: readonly { buffer: number; access: Access }[], expr: Expr): { inputs: typeof inputs; expr: Expr } {
  const { kept, to } = distinctInputs(inputs);
  return { inputs: kept, expr: renumber(expr, (i) => to[i]!) };
}

/**
 * Drops unit loops and merges neighbours of the same kind (parallel or reduce) that every operand walks as one,
 * as simplifyLoops does when a spec is built; a reduction keeps one reduce loop (argmax writes an index over it).
 */
function mergeLoops(spec: LoopSpec): LoopSpec {
  const reduced = spec.sizes.length > spec.parallel;
  const keep = reduced && spec.sizes.slice(spec.parallel).every((n) => n === 1) ? spec.sizes.length - 1 : -1;
  const sizes: number[] = [];
  const ins: number[][] = spec.inputs.map(() => []);
  const out: number[] = [];
  let parallel = 0;
  spec.sizes.forEach((n, d) => {
    if (n === 1 && d !== keep) return;
    const isParallel = d < spec.parallel;
    const last = sizes.length - 1;
    const lastIsParallel = last < parallel;
    const walksAsOne = last >= 0 && lastIsParallel === isParallel &&
      spec.inputs.every((a, k) => ins[k]![last] === a.strides[d]! * n) &&
      (!isParallel || out[last] === spec.output.strides[d]! * n);
    if (walksAsOne) {
      sizes[last] = sizes[last]! * n;
      spec.inputs.forEach((a, k) => { ins[k]![last] = a.strides[d]!; });
      if (isParallel) out[last] = spec.output.strides[d]!;
      return;
    }
    sizes.push(n);
    spec.inputs.forEach((a, k) => ins[k]!.push(a.strides[d]!));
    if (isParallel) {
      out.push(spec.output.strides[d]!);
      parallel++;
    }
  });
  return {
    ...spec,
    sizes,
    parallel,
    reduceOp: sizes.length > parallel ? spec.reduceOp : null,
    inputs: spec.inputs.map((a, k) => ({ ...a, strides: ins[k]! })),
    output: { ...spec.output, strides: out },
  };
}
