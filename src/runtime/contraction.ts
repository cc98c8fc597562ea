/**
 * Running a contraction plan: its steps lowered to kernels and run on a backend.
 *
 * Each operand first becomes a Term: a strided view with one dimension per distinct axis (a repeated axis, a
 * diagonal, is a single dimension whose stride is the sum of the repeated ones; a size-1 dimension broadcast
 * against a larger axis gets stride 0). Then every PairwiseStep of the plan becomes one kernel:
 *
 * - a batched GEMM when the step's axes split into batch (both operands, kept), M (left only, kept), N (right
 *   only, kept) and K (both, summed): transposes are folded into strides, and an operand is packed into a
 *   fresh layout only when its M, N or K axes cannot be walked with one stride each;
 * - otherwise one strided loop nest (Hadamard and outer products, dot products, single-operand sums and
 *   permutes), never the full product of all axes.
 *
 * Axes that only one operand of a step carries and that the step sums away are reduced from that operand
 * before the GEMM. The executor is given its backend explicitly, so the same code runs the real thing and a
 * dry run through a RecordingBackend that only collects the specs (for `compile(...).source()`).
 */
import type { Backend } from '../lower/backend.js';
import { computeTypeOf, promoteTypes, type DType } from './dtype.js';
import { Tensor } from './tensor.js';
import { contiguousStrides, numel } from './shape.js';
import { buildLoop } from '../lower/loops.js';
import { ex, type Expr } from '../lower/spec.js';
import { gemmDType, gemmSpec } from './gemm.js';
import { asStrided } from './strided.js';
import type { Contraction, ContractionPlan } from '../plan/index.js';

/** The planner's contraction record: the executor runs the same one the planner planned and the report printed. */
export type ContractionProgram = Contraction;

/** An operand during execution: a strided view with one dimension per distinct axis. */
interface Term {
  readonly t: Tensor;
  readonly ids: readonly number[];
}

/** Products below this many multiply-adds stay in one loop nest rather than a packed GEMM (unless the backend says otherwise). */
const GEMM_MIN_WORK = 2048;

/** Runs `program` over `operands` following `plan` on `backend`; the result is a fresh contiguous tensor. */
export function runContraction(backend: Backend, program: ContractionProgram, plan: ContractionPlan,
  operands: readonly Tensor[]): Tensor {
  const dtype = resultDType(operands.map((t) => t.dtype));
  let terms: Term[] = operands.map((t, k) => toTerm(t, program.inputs[k]!, program.sizes));
  if (terms.length === 0) {
    return fill(backend, dtype, [], 1);
  }
  for (const step of plan.steps) {
    const positions = step.operands;
    const picked = positions.map((p) => terms[p]!);
    terms = terms.filter((_, i) => !positions.includes(i));
    const kept = new Set(step.result);
    const last = terms.length === 0;
    terms.push(runStep(backend, program, picked, kept, dtype, last ? program.output : null));
  }
  const final = terms[0]!;
  return arrange(backend, program, final, program.output, dtype);
}

function resultDType(dtypes: readonly DType[]): DType {
  if (dtypes.length === 0) return 'float32';
  return dtypes.reduce(promoteTypes);
}

function toTerm(t: Tensor, ids: readonly number[], sizes: readonly number[]): Term {
  const distinct: number[] = [];
  const strides: number[] = [];
  ids.forEach((id, d) => {
    const broadcast = t.shape[d] === 1 && sizes[id]! !== 1;
    const s = broadcast ? 0 : t.strides[d]!;
    const at = distinct.indexOf(id);
    if (at < 0) {
      distinct.push(id);
      strides.push(s);
    } else {
      strides[at] = strides[at]! + s;
    }
  });
  const view = asStrided(t, distinct.map((id) => sizes[id]!), strides, t.offset, 'einsum');
  return { t: view, ids: distinct };
}

function label(program: ContractionProgram, ids: readonly number[]): string {
  const names = ids.map((id) => program.labels?.[id] ?? `#${id}`);
  return names.every((n) => n.length === 1) ? names.join('') : names.join(' ');
}

function stepLabel(program: ContractionProgram, inputs: readonly Term[], out: readonly number[]): string {
  return `${inputs.map((t) => label(program, t.ids)).join(',')}->${label(program, out)}`;
}

/** A step over one or two terms; `finalOrder` is the output order when this is the last step. */
function runStep(backend: Backend, program: ContractionProgram, picked: readonly Term[], kept: ReadonlySet<number>,
  dtype: DType, finalOrder: readonly number[] | null): Term {
  if (picked.length !== 2) {
    const out = finalOrder ?? unionOrdered(picked.map((p) => p.ids)).filter((id) => kept.has(id));
    return loopContraction(backend, program, picked, out, dtype);
  }
  let [a, b] = picked as [Term, Term];
  // Sum away axes that only one operand carries before they meet.
  const onlyRemoved = (x: Term, y: Term): number[] => x.ids.filter((id) => !kept.has(id) && !y.ids.includes(id));
  const aOnly = onlyRemoved(a, b);
  if (aOnly.length > 0) a = loopContraction(backend, program, [a], a.ids.filter((id) => !aOnly.includes(id)), dtype);
  const bOnly = onlyRemoved(b, a);
  if (bOnly.length > 0) b = loopContraction(backend, program, [b], b.ids.filter((id) => !bOnly.includes(id)), dtype);

  const batch = a.ids.filter((id) => b.ids.includes(id) && kept.has(id));
  const K = a.ids.filter((id) => b.ids.includes(id) && !kept.has(id));
  const M = a.ids.filter((id) => !b.ids.includes(id));
  const N = b.ids.filter((id) => !a.ids.includes(id));
  const work = [...batch, ...M, ...N, ...K].reduce((n, id) => n * program.sizes[id]!, 1);
  const gemmable = gemmDType(dtype) !== null && K.length > 0 && work >= (backend.gemmMinWork?.() ?? GEMM_MIN_WORK);
  if (!gemmable) {
    const out = finalOrder ?? [...batch, ...M, ...N];
    return loopContraction(backend, program, [a, b], out, dtype);
  }
  return gemmContraction(backend, program, a, b, { batch, M, N, K }, dtype, finalOrder);
}

function unionOrdered(lists: readonly (readonly number[])[]): number[] {
  const out: number[] = [];
  for (const l of lists) for (const id of l) if (!out.includes(id)) out.push(id);
  return out;
}

/** out[outIds] = Σ over the other axes of Π terms — one strided loop nest. */
function loopContraction(backend: Backend, program: ContractionProgram, terms: readonly Term[], outIds: readonly number[],
  dtype: DType): Term {
  const all = unionOrdered(terms.map((t) => t.ids));
  const reduced = all.filter((id) => !outIds.includes(id));
  const loops = [...outIds, ...reduced];
  const outShape = outIds.map((id) => program.sizes[id]!);
  const out = alloc(backend, dtype, outShape);
  if (numel(outShape) > 0) {
    const compute = computeTypeOf(dtype === 'bool' ? 'int32' : dtype);
    let expr: Expr | null = null;
    terms.forEach((term, k) => {
      const read = term.t.dtype === compute ? ex.input(k) : ex.cast(compute, ex.input(k));
      expr = expr === null ? read : ex.binary('mul', expr, read);
    });
    const spec = buildLoop({
      label: stepLabel(program, terms, outIds),
      outShape,
      reduceShape: reduced.map((id) => program.sizes[id]!),
      reduceOp: 'sum',
      inputs: terms.map((term) => ({
        dtype: term.t.dtype,
        offset: term.t.offset,
        strides: loops.map((id) => {
          const at = term.ids.indexOf(id);
          return at < 0 ? 0 : term.t.strides[at]!;
        }),
      })),
      output: { dtype, offset: 0, strides: out.strides },
      expr: expr ?? ex.const(1),
      computeType: compute,
    });
    backend.run(spec, terms.map((t) => t.t.storage), out.storage);
  }
  return { t: out, ids: outIds.slice() };
}

interface Groups {
  readonly batch: readonly number[];
  readonly M: readonly number[];
  readonly N: readonly number[];
  readonly K: readonly number[];
}

/** The stride that walks `ids` of `term` (in that order) as one flattened dimension, or null if none does. */
function groupStride(term: Term, ids: readonly number[], sizes: readonly number[]): number | null {
  const dims = ids.filter((id) => sizes[id]! !== 1);
  if (dims.length === 0) return 1;
  for (let i = 0; i + 1 < dims.length; i++) {
    const s = term.t.strides[term.ids.indexOf(dims[i]!)]!;
    const next = term.t.strides[term.ids.indexOf(dims[i + 1]!)]!;
    if (s !== next * sizes[dims[i + 1]!]!) return null;
  }
  return term.t.strides[term.ids.indexOf(dims[dims.length - 1]!)]!;
}

/** Orders a group by the term's strides, largest first, so a contiguous block merges into one dimension. */
function byStride(term: Term, ids: readonly number[]): number[] {
  return ids.slice().sort((x, y) => term.t.strides[term.ids.indexOf(y)]! - term.t.strides[term.ids.indexOf(x)]!);
}

/** Copies a term into a contiguous layout with its axes in `order`. */
function packTerm(backend: Backend, program: ContractionProgram, term: Term, order: readonly number[], dtype: DType): Term {
  return loopContraction(backend, program, [term], order, dtype);
}

/**
 * Splits a group (ordered by stride) into a leading part that becomes extra GEMM batch dimensions and the longest
 * trailing part that one stride walks, so an operand whose M (or N) axes are not one block needs no copy: e.g.
 * 'oc,bcl->bol' runs as a GEMM batched over b with A broadcast, instead of packing B into [c, b·l].
 */
function splitGroup(term: Term, ids: readonly number[], sizes: readonly number[]): { outer: number[]; inner: number[] } {
  for (let i = 0; i < ids.length; i++) {
    const inner = ids.slice(i);
    if (groupStride(term, inner, sizes) !== null) return { outer: ids.slice(0, i), inner };
  }
  return { outer: [], inner: [] };
}

function gemmContraction(backend: Backend, program: ContractionProgram, a0: Term, b0: Term, g: Groups, dtype: DType,
  finalOrder: readonly number[] | null): Term {
  const sizes = program.sizes;
  // float16 runs in float32 and is rounded once, at the end of the step (gemm.ts).
  const gemmType = gemmDType(dtype)!;
  let a = a0;
  let b = b0;
  const M = byStride(a, g.M);
  const N = byStride(b, g.N);
  let K = byStride(a, g.K);
  if (groupStride(b, K, sizes) === null) {
    const kb = byStride(b, g.K);
    if (groupStride(a, kb, sizes) !== null) K = kb;
  }
  if (a.t.dtype !== gemmType || groupStride(a, K, sizes) === null || isNegative(a)) {
    a = packTerm(backend, program, a, [...g.batch, ...M, ...K], gemmType);
  }
  if (b.t.dtype !== gemmType || groupStride(b, K, sizes) === null || isNegative(b)) {
    b = packTerm(backend, program, b, [...g.batch, ...K, ...N], gemmType);
  }
  const m = splitGroup(a, M, sizes);
  const n = splitGroup(b, N, sizes);
  const count = (ids: readonly number[]): number => ids.reduce((x, id) => x * sizes[id]!, 1);
  // C is laid out contiguously in the output's order when this is the last step and the GEMM can write that
  // layout (its m and n axes each one stride there), else as [batch, M, N]; M and N axes that could not be
  // merged are GEMM batch axes.
  const walkable = (order: readonly number[], ids: readonly number[]): boolean => {
    const st = contiguousStrides(order.map((id) => sizes[id]!));
    const live = ids.filter((id) => sizes[id]! !== 1);
    return live.every((id, i) => i + 1 >= live.length ||
      st[order.indexOf(id)] === st[order.indexOf(live[i + 1]!)]! * sizes[live[i + 1]!]!);
  };
  const outIds = finalOrder !== null && walkable(finalOrder, m.inner) && walkable(finalOrder, n.inner)
    ? finalOrder.slice() : [...g.batch, ...M, ...N];
  const outShape = outIds.map((id) => sizes[id]!);
  const out = alloc(backend, gemmType, outShape);
  const rounded = (): Term => (gemmType === dtype ? { t: out, ids: outIds } : loopContraction(backend, program, [{ t: out, ids: outIds }], outIds, dtype));
  if (numel(outShape) === 0) return rounded();
  const cStrides = contiguousStrides(outShape);
  const cStride = (id: number): number => cStrides[outIds.indexOf(id)]!;
  const strideIn = (term: Term, id: number): number => {
    const at = term.ids.indexOf(id);
    return at < 0 ? 0 : term.t.strides[at]!;
  };
  const batchIds = [...g.batch, ...m.outer, ...n.outer];
  const lastOf = (ids: readonly number[]): number | undefined => ids.filter((id) => sizes[id]! !== 1).pop();
  const mLast = lastOf(m.inner);
  const nLast = lastOf(n.inner);
  const name = `${label(program, a0.ids)},${label(program, b0.ids)}->${label(program, outIds)} ` +
    `(batch ${count(batchIds)}, m ${count(m.inner)}, n ${count(n.inner)}, k ${count(K)})`;
  const spec = gemmSpec(name, gemmType, { batch: batchIds.map((id) => sizes[id]!), m: count(m.inner), n: count(n.inner), k: count(K) },
    { offset: a.t.offset, batchStrides: batchIds.map((id) => strideIn(a, id)), rowStride: groupStride(a, m.inner, sizes)!, colStride: groupStride(a, K, sizes)! },
    { offset: b.t.offset, batchStrides: batchIds.map((id) => strideIn(b, id)), rowStride: groupStride(b, K, sizes)!, colStride: groupStride(b, n.inner, sizes)! },
    {
      offset: 0,
      batchStrides: batchIds.map(cStride),
      rowStride: mLast === undefined ? 1 : cStride(mLast),
      colStride: nLast === undefined ? 1 : cStride(nLast),
    });
  backend.run(spec, [a.t.storage, b.t.storage], out.storage);
  return rounded();
}

function isNegative(term: Term): boolean {
  return term.t.strides.some((s) => s < 0);
}

/** Puts the final term's axes in output order (a copy only when the order differs). */
function arrange(backend: Backend, program: ContractionProgram, term: Term, output: readonly number[], dtype: DType): Tensor {
  const same = term.ids.length === output.length && term.ids.every((id, i) => id === output[i]);
  if (same && term.t.dtype === dtype && term.t.isContiguous && term.t.offset === 0) return term.t;
  return loopContraction(backend, program, [term], output, dtype).t;
}

function alloc(backend: Backend, dtype: DType, shape: readonly number[]): Tensor {
  return new Tensor(backend.allocate(dtype, numel(shape)), shape);
}

function fill(backend: Backend, dtype: DType, shape: readonly number[], value: number): Tensor {
  const t = alloc(backend, dtype, shape);
  const spec = buildLoop({
    label: 'fill', outShape: shape, inputs: [], output: { dtype, offset: 0, strides: t.strides },
    expr: ex.const(value), computeType: computeTypeOf(dtype),
  });
  backend.run(spec, [], t.storage);
  return t;
}
