/**
 * A GEMM whose product only one map of it reads stores that map's values straight into the map's destination:
 * the map is dropped and the product is never materialised. The map's expression becomes the GemmSpec's
 * `epilogue` (a scale `q·kᵀ / √d`, an activation; a pure copy, `.contiguous()` after a permute, einsum's
 * `bthe->bhte`, a `copy_` into a slice, adds none), and its output layout the GEMM's C access, which reads and
 * writes through strides. When one GEMM dimension lands in the map's output with two strides (`m = b·t` written
 * to `[b, h, t, e]`), it is split: its outer part becomes a batch dimension of the GEMM (A, or B for a split
 * `n`, advances by the part's stride, the other operand does not). A map that reads another operand beside the
 * product (a bias, a residual) stays a kernel of its own: backends pass a GEMM two operands.
 */
import type { GemmSpec, LoopSpec, MatrixAccess } from '../lower/spec.js';
import type { Graph, Launch } from './trace.js';
import { substitute } from './fuse.js';

/** One digit of a mixed-radix position: its weight (element stride) and extent. */
interface Digit { readonly weight: number; readonly size: number }

/** A GEMM dimension as its buffer writes it: extent, stride in the product's buffer, strides of A and B. */
interface Dim { readonly size: number; readonly cStride: number; readonly aStride: number; readonly bStride: number }

/** Rewrites every GEMM whose product only a same-type copy reads into one GEMM that writes the copy's output. */
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
    // Computed at the copy's place: nothing in between may write what the GEMM reads, and it may not read the
    // buffer it now writes (WebGPU cannot bind one buffer both ways in a dispatch).
    if (gemm.inputs.includes(copy.output) || launches.slice(g + 1, c + 1).some((l) => gemm.inputs.includes(l.output))) continue;
    const spec = redirected(gemm.spec, copy, graph.buffers[b]!.length);
    if (spec === null) continue;
    const merged: Launch = { spec, device: gemm.device, inputs: gemm.inputs, output: copy.output, ops: [...gemm.ops, ...copy.ops] };
    launches = launches.flatMap((l, i) => (i === g ? [] : i === c ? [merged] : [l]));
    g--;
  }
  return { buffers: graph.buffers, launches };
}

/** A map of its one input, computed and stored in the GEMM's type, every loop parallel. */
function isMapOf(spec: Launch['spec'], dtype: GemmSpec['dtype']): spec is LoopSpec {
  return spec.kind === 'loop' && spec.parallel === spec.sizes.length && spec.inputs.length === 1 &&
    spec.inputs[0]!.dtype === dtype && spec.output.dtype === dtype && spec.computeType === dtype;
}

/** The GEMM writing where `copy` writes each element of the product, or null when that is not strided. */
function redirected(G: GemmSpec, copy: Launch, length: number): GemmSpec | null {
  const C = copy.spec;
  if (!isMapOf(C, G.dtype) || C.sizes.includes(0) || G.m === 0 || G.n === 0 || G.batch.includes(0)) return null;
  const dims: Dim[] = [
    ...G.batch.map((size, i) => ({ size, cStride: G.c.batchStrides[i]!, aStride: G.a.batchStrides[i]!, bStride: G.b.batchStrides[i]! })),
    { size: G.m, cStride: G.c.rowStride, aStride: G.a.rowStride, bStride: 0 },
    { size: G.n, cStride: G.c.colStride, aStride: 0, bStride: G.b.colStride },
  ];
  const read = C.inputs[0]!;
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
    return { d, size, out: C.output.strides[l]! * (w / read.strides[l]!), a: dim.aStride * unit, b: dim.bStride * unit, inner: unit === 1 };
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
  // The map's expression after the GEMM's own epilogue; a pure copy keeps it as it is.
  const inner = G.epilogue ?? { kind: 'input', index: 0 };
  const epilogue = substitute(C.expr, () => inner);
  return {
    ...G,
    ...(epilogue.kind === 'input' ? {} : { epilogue }),
    label: `${G.label}, stored by ${C.label}`,
    batch: batchParts.map((p) => p.size),
    m: rowPart?.size ?? 1,
    n: colPart?.size ?? 1,
    a: access(G.a, rowPart?.a ?? 0, G.a.colStride, 'a'),
    b: access(G.b, G.b.rowStride, colPart?.b ?? 0, 'b'),
    c: { offset: C.output.offset, batchStrides: batchParts.map((p) => p.out), rowStride: rowPart?.out ?? 0, colStride: colPart?.out ?? 0 },
  };
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
