/**
 * A GEMM whose product only one map of it reads stores that map's values straight into the map's destination:
 * the map is dropped and the product is never materialised. The map's expression becomes the GemmSpec's
 * `epilogue` (a scale `q·kᵀ / √d`, an activation; a pure copy, `.contiguous()` after a permute, einsum's
 * `bthe->bhte`, a `copy_` into a slice, adds none), and its output layout the GEMM's C access, which reads and
 * writes through strides. When one GEMM dimension lands in the map's output with two strides (`m = b·t` written
 * to `[b, h, t, e]`), it is split: its outer part becomes a batch dimension of the GEMM (A, or B for a split
 * `n`, advances by the part's stride, the other operand does not). A map that also reads other buffers (a bias
 * broadcast over rows, a residual of C's shape: `relu(x·W + b) + r`) folds too: each becomes one of the GEMM's
 * `epilogueInputs`, its strides over the map's loops carried over to the GEMM's dimensions as C's are, read as
 * the epilogue's inputs 1, 2, ... They must be stored in the GEMM's type, read the product once (one access),
 * number at most MAX_EPILOGUE_INPUTS in all, and none may be the buffer the GEMM now writes: the CPU applies the
 * epilogue as a pass over C after the product (a residual in C's place would already be overwritten), and WebGPU
 * cannot bind one buffer both ways in a dispatch. The one exception is the map's own destination read at exactly
 * the element it writes, an update in place (SGD's `p -= lr·g` with `g` the product): it becomes the epilogue's
 * read of C's old value (`epilogueReadsC`), which both backends order before the store.
 */
import { MAX_EPILOGUE_INPUTS, type Access, type GemmSpec, type LoopSpec, type MatrixAccess } from '../lower/spec.js';
import type { Graph, Launch } from './trace.js';
import { substitute } from './fuse.js';
import { writtenBy } from './merge.js';

/** One digit of a mixed-radix position: its weight (element stride) and extent. */
interface Digit { readonly weight: number; readonly size: number }

/**
 * A GEMM dimension as its buffer writes it: extent, stride in the product's buffer, strides of A and B and of the
 * GEMM's epilogue inputs.
 */
interface Dim {
  readonly size: number;
  readonly cStride: number;
  readonly aStride: number;
  readonly bStride: number;
  readonly eStrides: readonly number[];
}

/**
 * Rewrites every GEMM whose product only a same-type elementwise map reads (a copy, a scale, an activation, an
 * add of a bias or a residual) into one GEMM that writes the map's output.
 */
export function redirectGemmStores(graph: Graph, keep: ReadonlySet<number>): Graph {
  let launches = graph.launches.slice();
  for (let g = 0; g < launches.length; g++) {
    const gemm = launches[g]!;
    if (gemm.spec.kind !== 'gemm') continue;
    const b = gemm.output;
    if (keep.has(b) || graph.buffers[b]!.origin.kind !== 'alloc') continue;
    if (launches.some((l, i) => i !== g && l.output === b)) continue;
    const readers = launches.flatMap((l, i) => (l.inputs.includes(b) ? [i] : []));
    if (readers.length !== 1 || readers[0]! < g) continue;
    const c = readers[0]!;
    const copy = launches[c]!;
    // The GEMM may not read the buffer it now writes (WebGPU cannot bind one buffer both ways in a dispatch); the
    // map's destination may be among its operands only as an update in place, which `redirected` checks.
    if (gemm.inputs.includes(copy.output)) continue;
    if (copy.device !== gemm.device || copy.inputs.some((x) => x !== b && graph.buffers[x]!.device !== gemm.device)) continue;
    const r = redirected(gemm.spec, copy, b, graph.buffers[b]!.length);
    if (r === null) continue;
    // The merged launch runs after launch `t`. A plain redirect runs at the map's place (t = c - 1). An update in
    // place runs as early as it may: after the last launch between the two that touches its destination or writes
    // its other operands, or at the GEMM's own place when none does, so that the GEMM's operands die where they
    // did. Nothing between the GEMM's place and t may write what the GEMM reads.
    let t = g;
    for (let i = g + 1; i < c; i++) {
      const l = launches[i]!;
      if (r.spec.epilogueReadsC !== true || l.inputs.includes(copy.output) || writtenBy(l).some((w) => w === copy.output || r.extra.includes(w))) t = i;
    }
    if (launches.slice(g + 1, t + 1).some((l) => writtenBy(l).some((w) => gemm.inputs.includes(w)))) continue;
    const merged: Launch = { spec: r.spec, device: gemm.device, inputs: [...gemm.inputs, ...r.extra], output: copy.output, ops: [...gemm.ops, ...copy.ops] };
    launches = launches.flatMap((l, i) => [...(i === g || i === c ? [] : [l]), ...(i === t ? [merged] : [])]);
    g--;
  }
  return { buffers: graph.buffers, launches };
}

/** An elementwise map (every loop parallel) computed and stored in the GEMM's type, reading only that type. */
function isMapIn(spec: Launch['spec'], dtype: GemmSpec['dtype']): spec is LoopSpec {
  return spec.kind === 'loop' && spec.parallel === spec.sizes.length && spec.rows === undefined && spec.inputs.every((x) => x.dtype === dtype) &&
    spec.output.dtype === dtype && spec.computeType === dtype;
}

/**
 * The GEMM writing where `copy` writes each element of the product (buffer `b`), with the buffers its new
 * epilogue inputs read (after the GEMM's own), or null when that is not strided.
 */
function redirected(G: GemmSpec, copy: Launch, b: number, length: number): { spec: GemmSpec; extra: number[] } | null {
  const C = copy.spec;
  if (!isMapIn(C, G.dtype) || C.sizes.includes(0) || G.m === 0 || G.n === 0 || G.batch.includes(0) || G.epilogueReadsC === true) return null;
  // The product is read through one access; the map's other inputs become epilogue inputs after the GEMM's own,
  // but for its destination, which it may read once at exactly the element it writes (an update in place).
  const productAt = copy.inputs.flatMap((x, i) => (x === b ? [i] : []));
  if (productAt.length !== 1) return null;
  const selfAt = copy.inputs.flatMap((x, i) => (x === copy.output ? [i] : []));
  if (selfAt.length > 1 || (selfAt.length === 1 && !sameElement(C.inputs[selfAt[0]!]!, C.output, C.sizes))) return null;
  const own = G.epilogueInputs ?? [];
  const others = copy.inputs.flatMap((x, i) => (x === b || x === copy.output ? [] : [i]));
  if (own.length + others.length > MAX_EPILOGUE_INPUTS) return null;
  const nb = G.batch.length;
  const dims: Dim[] = [
    ...G.batch.map((size, i) => ({
      size, cStride: G.c.batchStrides[i]!, aStride: G.a.batchStrides[i]!, bStride: G.b.batchStrides[i]!, eStrides: own.map((e) => e.strides[i]!),
    })),
    { size: G.m, cStride: G.c.rowStride, aStride: G.a.rowStride, bStride: 0, eStrides: own.map((e) => e.strides[nb]!) },
    { size: G.n, cStride: G.c.colStride, aStride: 0, bStride: G.b.colStride, eStrides: own.map((e) => e.strides[nb + 1]!) },
  ];
  const read = C.inputs[productAt[0]!]!;
  const gemmDigits = dense(dims.map((d) => ({ weight: d.cStride, size: d.size })), G.c.offset, length);
  const copyDigits = dense(C.sizes.map((size, l) => ({ weight: read.strides[l]!, size })), read.offset, length);
  if (gemmDigits === null || copyDigits === null) return null;
  // The common refinement of the two radices: every boundary of either, each dividing the next.
  const bounds = [...new Set([1, length, ...[...gemmDigits, ...copyDigits].flatMap((d) => [d.weight, d.weight * d.size])])].sort((x, y) => x - y);
  if (bounds.some((w, i) => i > 0 && w % bounds[i - 1]! !== 0)) return null;
  // Each common digit belongs to one GEMM dimension and one copy loop; it becomes a GEMM dimension of its own.
  const parts = bounds.slice(0, -1).map((w, i) => {
    const size = bounds[i + 1]! / w;
    const d = dims.findIndex((x) => x.size > 1 && x.cStride <= w && w < x.cStride * x.size);
    const l = C.sizes.findIndex((n, k) => n > 1 && read.strides[k]! <= w && w < read.strides[k]! * n);
    const dim = dims[d]!;
    const unit = w / dim.cStride;
    const step = w / read.strides[l]!;
    return {
      d, size, out: C.output.strides[l]! * step, a: dim.aStride * unit, b: dim.bStride * unit, inner: unit === 1,
      // The GEMM's own epilogue inputs move with its dimension; the map's other inputs with the map's loop.
      e: [...dim.eStrides.map((s) => s * unit), ...others.map((i) => C.inputs[i]!.strides[l]! * step)],
    };
  });
  if (parts.some((p) => p.d < 0)) return null;
  const m = G.batch.length;
  const n = m + 1;
  // m and n keep their innermost part; every other part (and every batch part) is a batch dimension.
  const rowPart = parts.find((p) => p.d === m && p.inner);
  const colPart = parts.find((p) => p.d === n && p.inner);
  const batchParts = parts.filter((p) => p !== rowPart && p !== colPart);
  const access = (base: MatrixAccess, row: number, col: number, which: 'a' | 'b' | 'out'): MatrixAccess => ({
    offset: base.offset,
    batchStrides: batchParts.map((p) => p[which]),
    rowStride: row,
    colStride: col,
  });
  // The map's expression after the GEMM's own epilogue, its other inputs numbered after the GEMM's; a pure copy
  // keeps the GEMM's epilogue as it is.
  const inner = G.epilogue ?? { kind: 'input', index: 0 };
  const epilogue = substitute(C.expr, (i) => (i === productAt[0] ? inner
    : { kind: 'input', index: 1 + own.length + (i === selfAt[0] ? others.length : others.indexOf(i)) }));
  const offsets = [...own.map((e) => e.offset), ...others.map((i) => C.inputs[i]!.offset)];
  const epilogueInputs: Access[] = offsets.map((offset, j) => ({
    dtype: G.dtype, offset, strides: [...batchParts.map((p) => p.e[j]!), rowPart?.e[j] ?? 0, colPart?.e[j] ?? 0],
  }));
  const spec: GemmSpec = {
    ...G,
    ...(epilogue.kind === 'input' && epilogue.index === 0 ? {} : { epilogue }),
    ...(epilogueInputs.length === 0 ? {} : { epilogueInputs }),
    ...(selfAt.length === 0 ? {} : { epilogueReadsC: true }),
    label: `${G.label}, stored by ${C.label}`,
    batch: batchParts.map((p) => p.size),
    m: rowPart?.size ?? 1,
    n: colPart?.size ?? 1,
    a: access(G.a, rowPart?.a ?? 0, G.a.colStride, 'a'),
    b: access(G.b, G.b.rowStride, colPart?.b ?? 0, 'b'),
    c: { offset: C.output.offset, batchStrides: batchParts.map((p) => p.out), rowStride: rowPart?.out ?? 0, colStride: colPart?.out ?? 0 },
  };
  return { spec, extra: others.map((i) => copy.inputs[i]!) };
}

/** Whether `read` names, at every point of loops `sizes`, the element `write` names there. */
function sameElement(read: Access, write: Access, sizes: readonly number[]): boolean {
  return read.offset === write.offset && sizes.every((n, l) => n === 1 || read.strides[l] === write.strides[l]);
}

/**
 * The digits (extent > 1) of a write or read that covers 0..length-1 exactly once from `offset` 0, innermost
 * first; null otherwise.
 */
function dense(digits: readonly Digit[], offset: number, length: number): Digit[] | null {
  if (offset !== 0) return null;
  const sorted = digits.filter((d) => d.size > 1).sort((x, y) => x.weight - y.weight);
  let expected = 1;
  for (const d of sorted) {
    if (d.weight !== expected) return null;
    expected *= d.size;
  }
  return expected === length ? sorted : null;
}
