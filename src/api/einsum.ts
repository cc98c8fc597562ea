/**
 * einsum and its family: the public entry points that take a pattern and tensors, check them, plan the
 * contraction, run it on the operands' device and record one autograd node whose gradient is again an einsum.
 */
import { EinjitError, asEinjitError, describeValue, withErrorContext } from '../errors.js';
import * as A from '../runtime/args.js';
import { checkEinsum, detectEinsumSyntax, patternOfIndexLists, type CheckedEinsum, type IndexId, type IndexLists } from '../ir/index.js';
import { checkOpenedEinsum, mayHaveGroups, resolveEinsumGroups, type EinsumGroups } from '../ir/einsum-groups.js';
import {
  formatReport, linearToSsaPath, pathToTree, planContraction, slicedExecution, type ContractionPlan, type PathTree, type PlanOptions,
  type SlicedPlan,
} from '../plan/index.js';
import { runContraction, type ContractionProgram } from '../runtime/contraction.js';
import { replayed } from '../runtime/replay.js';
import { RecordingBackend } from '../runtime/recording.js';
import type { KernelSpec } from '../lower/spec.js';
import { getBackend, getDefaultDevice, checkDevice, type Backend, type Device } from '../runtime/backend.js';
import { Tensor, installEinsum, type NestedArray } from '../runtime/tensor.js';
import { tensor, zerosOf } from '../runtime/creation.js';
import { isFloating, promoteTypes } from '../runtime/dtype.js';
import { sameDevice, viewOf } from '../runtime/ops.js';
import { noGrad, record } from '../autograd/record.js';
import { tidy } from '../runtime/scope.js';
import { grads } from '../autograd/rules.js';
import type { DType } from '../runtime/dtype.js';
import { numel } from '../runtime/shape.js';
import type { CheckedOperands, CheckedPattern, EinsumResultRank } from './pattern-types.js';

/**
 * The planner's options (see {@link PlanOptions}): `optimize` (an algorithm name such as 'auto', 'optimal', 'dp',
 * 'greedy', or an explicit opt_einsum linear path), `memoryLimit`, `minimize`, `seed`, `trials`, `timeBudgetMs`;
 * and `sizes`, the lengths of axes inside composite axes of an einops-style pattern (rearrange's keyword sizes).
 */
export interface EinsumOptions extends PlanOptions {
  readonly sizes?: Readonly<Record<string, number>>;
}

/** A checked einsum, and the composite axes opened to reach it (null when the pattern has none). */
interface Opened {
  readonly checked: CheckedEinsum;
  readonly groups: EinsumGroups | null;
}

/**
 * Checks a pattern whose einops form may hold composite axes: they are opened (ir/einsum-groups.ts) and the
 * opened pattern is checked on the split shapes. numpy patterns go straight to the ordinary check.
 */
function checkWithGroups(pattern: string, shapes: readonly (readonly number[])[], op: string, syntax: 'auto' | 'numpy' | 'einops',
  sizes: EinsumOptions['sizes']): Opened {
  const einops = typeof pattern === 'string' && (syntax === 'einops' || (syntax === 'auto' && detectEinsumSyntax(pattern) === 'einops'));
  if (sizes !== undefined) {
    if (sizes === null || typeof sizes !== 'object' || Array.isArray(sizes)) {
      throw new EinjitError(`sizes must be an object of axis lengths (got ${describeValue(sizes)})`, { op, pattern, hint: "write { sizes: { h: 2 } }" });
    }
    if (!einops) throw new EinjitError('sizes apply to einops-style patterns (named axes)', { op, pattern, hint: "write the pattern with named axes, e.g. 'b (h w), h w -> b'" });
  }
  const groups = einops && (sizes !== undefined || mayHaveGroups(pattern)) ? resolveEinsumGroups(pattern, shapes, sizes ?? {}, op) : null;
  if (groups === null) return { checked: checkEinsum(pattern, shapes, op, syntax), groups: null };
  return { checked: checkOpenedEinsum(groups, pattern, shapes, op), groups };
}

/** The operands with their composite dimensions split (views where the strides allow, copies otherwise). */
function splitOperands(groups: EinsumGroups | null, operands: readonly Tensor[]): Tensor[] {
  if (groups === null) return operands.slice();
  return operands.map((x, k) => {
    const want = groups.shapes[k]!;
    return want.length === x.shape.length && want.every((n, d) => n === x.shape[d]) ? x : x.reshape(want);
  });
}

/** The opened einsum's result with the output's composite axes merged back. */
function mergeOutput(groups: EinsumGroups | null, out: Tensor): Tensor {
  if (groups === null || groups.outputGroups.every((n) => n === 1 || n === -1)) return out;
  const ellipsis = out.shape.length - groups.outputGroups.reduce((s, n) => s + (n > 0 ? n : 0), 0);
  const shape: number[] = [];
  let d = 0;
  for (const n of groups.outputGroups) {
    const take = n === -1 ? ellipsis : n;
    if (n === -1) for (let i = 0; i < take; i++) shape.push(out.shape[d + i]!);
    else shape.push(out.shape.slice(d, d + take).reduce((p, m) => p * m, 1));
    d += take;
  }
  return out.reshape(shape);
}

/** The checked einsum as the contraction record the planner, the report and the executor share (labels always set). */
function programOf(checked: CheckedEinsum): Required<ContractionProgram> {
  return {
    sizes: checked.axes.map((a) => a.size),
    labels: checked.axes.map((a) => a.name),
    inputs: checked.inputs,
    output: checked.output,
  };
}

/**
 * Contracts `operands` by `program`, recording the autograd rule: the gradient of operand k is an einsum of the
 * output gradient with the other operands into operand k's axes.
 */
export function contract(program: ContractionProgram, operands: readonly Tensor[], options: EinsumOptions = {}, op = 'einsum',
  planned?: ContractionPlan, sliceOf?: SlicedPlan): Tensor {
  const device = sameDevice(op, operands);
  const backend = getBackend(device, op);
  let out: Tensor;
  if (planned === undefined && sliceOf === undefined && replays.has(program) && isEmpty(options)) {
    // A call signature seen before (einsum's programs are one per checked pattern): replay its kernels.
    out = replayed(program, operands, backend, (b) => runContraction(b, program, planContraction(program, {}), operands));
  } else {
    // A compiled expression hands in the plan it made (and shows); everything else plans here.
    const plan = planned ?? planContraction(program, planOptions(options));
    const sliced = sliceOf ?? (planned === undefined ? slicedExecution(plan, program, options) : undefined);
    out = sliced === undefined ? runContraction(backend, program, plan, operands) : runSliced(backend, program, sliced, operands);
  }
  record(op, operands, out, (g) => operands.map((x, k) => (x.requiresGrad ? operandGrad(program, operands, k, g) : null)));
  return out;
}

/**
 * The programs whose calls may be replayed: einsum's, one per checked pattern (so the same object comes back for
 * the same pattern and shapes, and a replay recorded under it stays valid). Programs made per call (gradients,
 * slices) are not here: recording them would cost and never pay.
 */
const replays = new WeakSet<ContractionProgram>();
const programs = new WeakMap<CheckedEinsum, Required<ContractionProgram>>();

/** The checked einsum's contraction program, the same object on every call. */
function replayableProgram(checked: CheckedEinsum): Required<ContractionProgram> {
  let program = programs.get(checked);
  if (program === undefined) {
    program = programOf(checked);
    programs.set(checked, program);
    replays.add(program);
  }
  return program;
}

function isEmpty(options: object): boolean {
  for (const _ in options) return false;
  return true;
}

/**
 * Runs a sliced plan: for every value of the sliced axes, the operands narrowed to that value are contracted by
 * the per-slice plan (a chunked plan narrows its chunk axis to a run of consecutive values instead, contracted by
 * the same path). When only summed axes are sliced, the results are summed into the first; when output axes
 * are sliced too, each result is added into its block of an output allocated whole (slices that differ only in
 * summed axes share a block). Each slice's result is released once added.
 */
function runSliced(backend: Backend, program: ContractionProgram, sp: SlicedPlan, operands: readonly Tensor[]): Tensor {
  const extent = sp.sliced.map((id) => program.sizes[id]!);
  // Values of each sliced axis per run: 1, or the chunk's size along its axis.
  const step = sp.sliced.map((id) => (id === sp.chunk?.axis ? sp.chunk.size : 1));
  const at = sp.sliced.map(() => 0);
  // For each sliced axis, its dimension in the output (-1: summed).
  const outDim = sp.sliced.map((id) => program.output.indexOf(id));
  const blocks = outDim.some((d) => d >= 0);
  return noGrad(() => {
    let acc: Tensor | undefined;
    for (;;) {
      const len = at.map((a, j) => Math.min(step[j]!, extent[j]! - a));
      const slice = sliceProgram(program, sp, sp.chunk === undefined ? 1 : len[sp.sliced.indexOf(sp.chunk.axis)]!);
      // Each slice in a scope of its own: its intermediates, its result and the sum's temporary are released
      // before the next slice runs, so the peak is one slice's working set beside the accumulator.
      const first: Tensor | undefined = tidy(() => {
        const views = operands.map((x, k) => {
          let v = x;
          program.inputs[k]!.forEach((id, d) => {
            const j = sp.sliced.indexOf(id);
            // A broadcast dimension (size 1 against a larger axis) is the same for every slice.
            if (j >= 0 && x.shape[d] !== 1) v = v.narrow(d, at[j]!, len[j]!);
          });
          return v;
        });
        // Every slice runs the kernels of the first, reading the operands at its own offsets (replay.ts).
        const part = replayed(slice, views, backend, (b) => runContraction(b, slice, sp.plan, views), true);
        if (blocks) {
          const whole = acc ?? zerosOf(program.output.map((id) => program.sizes[id]!), part.dtype, part.device);
          let block = whole;
          outDim.forEach((d, j) => { if (d >= 0) block = block.narrow(d, at[j]!, len[j]!); });
          block.add_(part);
          return acc === undefined ? whole : undefined;
        }
        if (acc === undefined) {
          // The accumulator is written in place: never an operand's own storage.
          return operands.some((x) => x.storage === part.storage) ? part.clone() : part;
        }
        acc.add_(part);
        return undefined;
      });
      acc ??= first;
      let j = 0;
      for (; j < at.length; j++) {
        at[j] = at[j]! + step[j]!;
        if (at[j]! < extent[j]!) break;
        at[j] = 0;
      }
      if (j === at.length) return acc!;
    }
  });
}

/**
 * The program of one run of a sliced plan: one slice, or `chunk` values of its chunk axis. The same object for
 * the same plan and size (a compiled expression keeps its plan, so its calls share the kernels its first run
 * recorded, and replay them).
 */
function sliceProgram(program: ContractionProgram, sp: SlicedPlan, chunk: number): ContractionProgram {
  let byChunk = slicePrograms.get(sp);
  if (byChunk === undefined) slicePrograms.set(sp, byChunk = new Map());
  let slice = byChunk.get(chunk);
  if (slice === undefined) {
    const sizes = [...sp.sizes];
    if (sp.chunk !== undefined) sizes[sp.chunk.axis] = chunk;
    byChunk.set(chunk, slice = { ...program, sizes });
  }
  return slice;
}

const slicePrograms = new WeakMap<SlicedPlan, Map<number, ContractionProgram>>();

/** The planner's share of an options record: every PlanOptions field, nothing else (not device or dtype). */
function planOptions(options: PlanOptions): PlanOptions {
  const out: { -readonly [K in keyof PlanOptions]: PlanOptions[K] } = {};
  if (options.optimize !== undefined) out.optimize = options.optimize;
  if (options.memoryLimit !== undefined) out.memoryLimit = options.memoryLimit;
  if (options.minimize !== undefined) out.minimize = options.minimize;
  if (options.seed !== undefined) out.seed = options.seed;
  if (options.trials !== undefined) out.trials = options.trials;
  if (options.timeBudgetMs !== undefined) out.timeBudgetMs = options.timeBudgetMs;
  return out;
}

/** d(out)/d(operand k) applied to g, as a new contraction. */
function operandGrad(program: ContractionProgram, operands: readonly Tensor[], k: number, g: Tensor): Tensor {
  const x = operands[k]!;
  const ids = program.inputs[k]!;
  const distinct = ids.filter((id, i) => ids.indexOf(id) === i);
  const available = new Set<number>(program.output);
  program.inputs.forEach((inp, j) => { if (j !== k) for (const id of inp) available.add(id); });
  const target = distinct.filter((id) => available.has(id));
  const others = operands.filter((_, j) => j !== k);
  const gradProgram: ContractionProgram = {
    sizes: program.sizes,
    labels: program.labels,
    inputs: [program.output, ...program.inputs.filter((_, j) => j !== k)],
    output: target,
  };
  let G = contract(gradProgram, [g, ...others], {}, 'einsum backward');
  // Axes summed in the forward pass that nothing else carries come back as a broadcast.
  if (target.length < distinct.length) {
    let at = 0;
    const full: number[] = [];
    for (const id of distinct) {
      if (target.includes(id)) {
        full.push(program.sizes[id]!);
        at++;
      } else {
        G = G.unsqueeze(at++);
        full.push(program.sizes[id]!);
      }
    }
    G = G.expand(full);
  }
  // G's dims are the operand's distinct axes in first-appearance order.
  const broadcast = (id: number, d: number): boolean => x.shape[d] === 1 && program.sizes[id]! !== 1;
  if (distinct.length < ids.length) {
    // A diagonal: the gradient lives on the diagonal of a zero tensor with every axis at its full size, written
    // by a recorded scatter so that it is differentiable again (createGraph).
    const full = ids.map((id) => program.sizes[id]!);
    G = grads.scatterInto(G, full, (z) => repeatedDiagonal(z, ids, distinct, program.sizes));
  }
  // Broadcast dims of the operand (size 1 against a larger axis) sum their gradient back to size 1.
  const bdims = ids.map((id, d) => (broadcast(id, d) ? d : -1)).filter((d) => d >= 0);
  return bdims.length > 0 ? G.sum(bdims, true) : G.contiguous();
}

/**
 * The view of `t` (one dim per entry of `ids`) along its repeated axes: each distinct axis once, walking the sum
 * of its repeats' strides. Its gradient scatters back onto the same diagonal.
 */
function repeatedDiagonal(t: Tensor, ids: readonly number[], distinct: readonly number[], sizes: readonly number[]): Tensor {
  const strides: number[] = distinct.map(() => 0);
  ids.forEach((id, d) => {
    const at = distinct.indexOf(id);
    strides[at] = strides[at]! + t.strides[d]!;
  });
  return viewOf(t, distinct.map((id) => sizes[id]!), strides, t.offset, 'diagonal',
    (g) => grads.scatterInto(g, t.shape, (z) => repeatedDiagonal(z, ids, distinct, sizes)));
}

/**
 * numpy's einsum returns a view when one operand is only relabelled: no axis is summed, so the output is the
 * operand's diagonal along repeated axes ('ii->i'), permuted ('ij->ji'), or the operand itself ('ij->ij'). Such
 * a result shares the operand's storage (a write to one shows in the other); null when a kernel must run.
 */
function relabelView(checked: CheckedEinsum, operands: readonly Tensor[]): Tensor | null {
  if (operands.length !== 1) return null;
  const x = operands[0]!;
  const ids = checked.inputs[0]!;
  const distinct = ids.filter((id, d) => ids.indexOf(id) === d);
  if (distinct.length !== checked.output.length || distinct.some((id) => !checked.output.includes(id))) return null;
  const sizes = checked.axes.map((a) => a.size);
  const diagonal = distinct.length < ids.length ? repeatedDiagonal(x, ids, distinct, sizes) : x;
  return diagonal.permute(checked.output.map((id) => distinct.indexOf(id)));
}

/** Splits einsum's flexible arguments into the pattern and the tensors. */
function splitArgs(args: readonly unknown[]): { pattern: string; operands: Tensor[]; options: EinsumOptions; syntax: 'numpy' | 'einops' } {
  let rest = args.slice();
  let options: EinsumOptions = {};
  const last = rest[rest.length - 1];
  if (last !== null && typeof last === 'object' && !(last instanceof Tensor) && !Array.isArray(last)) {
    options = last as EinsumOptions;
    rest = rest.slice(0, -1);
  }
  let pattern: unknown;
  let syntax: 'numpy' | 'einops' = 'numpy';
  if (rest[0] instanceof Tensor && Array.isArray(rest[1])) {
    // numpy's sublist format: einsum(a, [0, 1], b, [1, 2], [0, 2]), the output list optional.
    const inputs: IndexId[][] = [];
    const tensors: unknown[] = [];
    let k = 0;
    for (; k + 1 < rest.length && !Array.isArray(rest[k]) && Array.isArray(rest[k + 1]); k += 2) {
      tensors.push(rest[k]);
      inputs.push(rest[k + 1] as IndexId[]);
    }
    const output = k < rest.length && Array.isArray(rest[k]) ? (rest[k++] as IndexId[]) : undefined;
    if (k !== rest.length) {
      throw new EinjitError(`argument ${k} of einsum breaks the sublist format (operand, indices, operand, indices, ..., [output])`, {
        op: 'einsum',
        hint: 'write einsum(a, [0, 1], b, [1, 2], [0, 2]): each operand followed by its index list, then optionally the output list',
      });
    }
    pattern = patternOfIndexLists(output === undefined ? { inputs } : { inputs, output }, 'einsum');
    rest = tensors;
  } else if (typeof rest[0] === 'string') {
    pattern = rest[0];
    rest = rest.slice(1);
    // einsum('ij,jk->ik', [a, b]): one array of tensors is the operand list (one nested array of numbers is data).
    if (rest.length === 1 && Array.isArray(rest[0]) && rest[0].length > 0 && rest[0].every((t) => t instanceof Tensor)) {
      rest = rest[0] as unknown[];
    }
  } else if (typeof rest[rest.length - 1] === 'string') {
    syntax = 'einops';
    pattern = rest[rest.length - 1];
    rest = rest.slice(0, -1);
  } else {
    throw new EinjitError('einsum needs a pattern string, first (numpy style) or last (einops style)', {
      op: 'einsum',
      hint: "write einsum('ij,jk->ik', a, b) or einsum(a, b, 'i j, j k -> i k')",
    });
  }
  return { pattern: pattern as string, operands: asOperands(rest, pattern as string), options, syntax };
}

/**
 * The operands as tensors. Numbers, booleans and nested arrays of them become tensors, as numpy's einsum turns
 * them into arrays: on the tensor operands' device, in their dtype when that is floating (so a float64 einsum
 * keeps every digit of the array), else as `tensor()` reads them (float32, or bool for booleans), and then the
 * usual promotion applies.
 */
function asOperands(values: readonly unknown[], pattern: string): Tensor[] {
  const tensors = values.filter((v): v is Tensor => v instanceof Tensor);
  const floating = tensors.length > 0 ? tensors.map((t) => t.dtype).reduce(promoteTypes) : undefined;
  return values.map((v, i) => {
    if (v instanceof Tensor) return v;
    if (isNestedData(v)) {
      return tensor(v as NestedArray, {
        ...(floating !== undefined && isFloating(floating) ? { dtype: floating } : {}),
        ...(tensors.length > 0 ? { device: tensors[0]!.device } : {}),
      });
    }
    throw new EinjitError(`operand ${i} of einsum is not a Tensor (got ${describeValue(v)})`, {
      op: 'einsum',
      pattern,
      hint: 'pass tensors made with tensor(...), fromArray(...) or zeros(...), or numbers and nested arrays of numbers',
    });
  });
}

/**
 * A number, a boolean, or a (nested) array of them: what `tensor()` reads. Walked with an explicit stack, so a
 * list nested thousands deep reaches `tensor()`'s own refusal instead of overflowing the call stack. Past
 * MAX_WALKED items (an array holding itself, or more elements than a tensor holds) `tensor()` decides.
 */
function isNestedData(v: unknown): boolean {
  const stack: unknown[] = [v];
  for (let walked = 0; stack.length > 0 && walked < MAX_WALKED; walked++) {
    const x = stack.pop();
    if (typeof x === 'number' || typeof x === 'boolean') continue;
    if (!Array.isArray(x)) return false;
    for (const item of x) stack.push(item);
  }
  return true;
}
const MAX_WALKED = 1 << 20;

/**
 * Evaluates an einsum. Both syntaxes work: numpy/torch letters with the pattern first, and einops named axes with
 * the pattern last. Implicit output, '...', repeated indices (diagonals, traces) and any number of operands are
 * supported; the contraction order comes from the planner ('auto' unless `optimize` says otherwise).
 *
 * numpy's sublist format works too: each operand followed by a list of its indices (any JSON values, in any
 * number; '...' is an ellipsis), then optionally the output's list.
 *
 * @example
 * const c = einsum('bij,bjk->bik', a, b);              // batched matmul
 * const d = einsum(a, b, 'batch i j, batch j k -> batch i k');
 * const e = einsum(a, [0, 1, 2], b, [0, 2, 3], [0, 1, 3]);
 */
export function einsum(...args: [...(Tensor | NestedArray)[], string]): Tensor;
export function einsum(...args: [...(Tensor | NestedArray)[], string, EinsumOptions]): Tensor;
export function einsum(...args: (Tensor | readonly IndexId[] | EinsumOptions)[]): Tensor;
// The typed overload comes last: when every overload refuses a call, the compiler shows the last one's error,
// which for a literal pattern is the one-line sentence of CheckedPattern.
export function einsum<const P extends string, const Ops extends readonly unknown[]>(pattern: CheckedPattern<P, Ops>,
  ...operands: CheckedOperands<P, Ops>): Tensor<EinsumResultRank<P, Ops>>;
export function einsum(...args: unknown[]): Tensor {
  const last = lastCall;
  if (last !== null && args[0] === last.pattern) {
    const operands = sameCall(args, last.shapes);
    if (operands !== null) {
      hits++;
      try {
        return contract(last.program, operands, NO_OPTIONS);
      } catch (e) {
        throw asEinjitError(e, { op: 'einsum', pattern: last.pattern, shapes: last.shapes });
      }
    }
  }
  const { pattern, operands, options, syntax } = splitArgs(args);
  const shapes = operands.map((t) => t.shape);
  return withErrorContext({ op: 'einsum', pattern, shapes }, () => {
    // Pattern first reads numpy/torch letters; pattern last reads einops' named axes (as the libraries do).
    const { checked, groups } = checkWithGroups(pattern, shapes, 'einsum', syntax, options.sizes);
    const view = groups === null ? relabelView(checked, operands) : null;
    if (view !== null) return view;
    if (groups !== null) return mergeOutput(groups, contract(programOf(checked), splitOperands(groups, operands), options));
    const program = replayableProgram(checked);
    // einsum('ij,jk->ik', a, b) with no options: remembered, so the next call with the same shapes starts here.
    if (syntax === 'numpy' && args[0] === pattern && args.length === operands.length + 1) {
      lastCall = { pattern, shapes: shapes.map((s) => s.slice()), program };
    }
    return contract(program, operands, options);
  });
}

/**
 * The last einsum call of the plain form `einsum(pattern, ...tensors)` that contracted, with its shapes and
 * program. A loop calling einsum again with the same pattern and shapes skips splitting the arguments and the
 * checked-pattern cache (its string key and lookup): the program is the one that cache returns for them.
 */
let lastCall: { readonly pattern: string; readonly shapes: readonly (readonly number[])[]; readonly program: Required<ContractionProgram> } | null = null;
const NO_OPTIONS: EinsumOptions = Object.freeze({});
let hits = 0;

/** How many einsum calls took the remembered last call's shortcut since the process started (for tests). */
export function lastCallHits(): number {
  return hits;
}

/** The operands of `args` (pattern first, then tensors) when they are tensors of exactly `shapes`, else null. */
function sameCall(args: readonly unknown[], shapes: readonly (readonly number[])[]): Tensor[] | null {
  if (args.length !== shapes.length + 1) return null;
  const operands: Tensor[] = [];
  for (let k = 0; k < shapes.length; k++) {
    const t = args[k + 1];
    if (!(t instanceof Tensor)) return null;
    const want = shapes[k]!;
    const shape = t.shape;
    if (shape.length !== want.length) return null;
    for (let d = 0; d < want.length; d++) if (shape[d] !== want[d]) return null;
    operands.push(t);
  }
  return operands;
}

export interface EinsumPathResult {
  /** The path in opt_einsum's linear format (numpy, opt_einsum and cotengra accept it; so does `optimize`). */
  readonly path: readonly (readonly number[])[];
  /** The same path in SSA form (opt_einsum's `ssa_path`: step t's result is operand n + t). */
  readonly ssaPath: readonly (readonly number[])[];
  /** The same path as a JSON contraction tree (`optimize: { tree }` replays it). */
  readonly tree: PathTree;
  /** Total cost under opt_einsum's flop convention (Infinity past 1.8·10^308: `log10Cost` holds it then). */
  readonly cost: number;
  readonly naiveCost: number;
  /** log10 of `cost`, finite however large the network (opt_einsum counts in exact integers; JavaScript cannot). */
  readonly log10Cost: number;
  readonly log10NaiveCost: number;
  readonly largestIntermediate: number;
  readonly steps: ContractionPlan['steps'];
  /** A printout like numpy.einsum_path's. */
  readonly report: string;
  readonly optimizer: string;
  /** `optimize: 'hyper'` only: every trial it ran (method, sampled parameters, cost, milliseconds), as in the report. */
  readonly trials?: ContractionPlan['trials'];
  /**
   * Set when the memory limit leaves a step too large for one loop nest and einsum/compile run the unlimited
   * path sliced instead: the sliced axes (by label), the number of slices, the peak intermediate per slice,
   * the flops over all slices and their ratio to the unsliced plan. `chunk`: slices run `size` at a time along
   * `axis`, in `runs` sub-contractions whose largest intermediate is `peak` (cost is then the runs' flops).
   */
  readonly sliced?: { readonly axes: readonly string[]; readonly slices: number; readonly peakPerSlice: number;
    readonly cost: number; readonly overhead: number; readonly path: readonly (readonly number[])[];
    readonly chunk?: { readonly axis: string; readonly size: number; readonly runs: number; readonly peak: number } };
}

/**
 * Plans an einsum without running it.
 *
 * The subscripts are a pattern string or index lists (`{ inputs: [[0, 1], [1, 2]], output: [0, 2] }`, any JSON
 * values as indices, in any number).
 *
 * `optimize` also takes a path found elsewhere: opt_einsum's linear path, numpy's `['einsum_path', ...]`, or
 * `{ tree }` / `{ ssaPath }`; the result carries the path in all three forms.
 *
 * @example
 * const { path, report, tree } = einsumPath('ij,jk,kl->il', [[8, 16], [16, 32], [32, 4]], { optimize: 'auto' });
 * const same = einsumPath({ inputs: [[0, 1], [1, 2], [2, 3]], output: [0, 3] }, [[8, 16], [16, 32], [32, 4]]);
 * const replayed = einsumPath('ij,jk,kl->il', [[8, 16], [16, 32], [32, 4]], { optimize: { tree } });
 */
export function einsumPath(subscripts: string | IndexLists, shapes: readonly (readonly number[])[], options: EinsumOptions = {}): EinsumPathResult {
  checkSubscripts(subscripts, shapes, options, 'einsumPath');
  const pattern = patternOf(subscripts, 'einsumPath');
  return withErrorContext({ op: 'einsumPath', pattern, shapes }, () => {
    const { checked } = checkWithGroups(pattern, shapes, 'einsumPath', typeof subscripts === 'string' ? 'auto' : 'numpy', options.sizes);
    const program = programOf(checked);
    const plan = planContraction(program, options);
    return {
      path: plan.path,
      ssaPath: linearToSsaPath(plan.path, program.inputs.length),
      tree: pathToTree(plan.path, program.inputs.length),
      cost: plan.cost,
      naiveCost: plan.naiveCost,
      log10Cost: plan.log10Cost,
      log10NaiveCost: plan.log10NaiveCost,
      largestIntermediate: plan.largestIntermediate,
      steps: plan.steps,
      report: formatReport(plan, program),
      optimizer: plan.optimizer,
      ...(plan.trials !== undefined ? { trials: plan.trials } : {}),
      ...slicingOf(plan, program, options),
    };
  });
}

/** The argument checks einsumPath, compile and CompiledExpression share. */
function checkSubscripts(subscripts: unknown, shapes: unknown, options: unknown, op: string): void {
  if (typeof subscripts !== 'string') A.optionsArg(subscripts, op, 'the subscripts (a pattern string or { inputs, output })');
  A.shapeListArg(shapes, op);
  A.optionsArg(options, op);
}

/** einsumPath's report of the slicing einsum would run (nothing when it runs the plan as it is or refuses). */
function slicingOf(plan: ContractionPlan, program: Required<ContractionProgram>, options: PlanOptions): { sliced?: EinsumPathResult['sliced'] } {
  let sp: SlicedPlan | undefined;
  try {
    sp = slicedExecution(plan, program, options);
  } catch (e) {
    if (e instanceof EinjitError) return {};
    throw e;
  }
  if (sp === undefined) return {};
  return {
    sliced: Object.freeze({
      axes: Object.freeze(sp.sliced.map((id) => program.labels[id]!)), slices: sp.slices, peakPerSlice: sp.peakPerSlice,
      cost: sp.cost, overhead: sp.overhead, path: sp.plan.path,
      ...(sp.chunk === undefined ? {} : { chunk: Object.freeze({ ...sp.chunk, axis: program.labels[sp.chunk.axis]! }) }),
    }),
  };
}

/** A pattern string as it is, or index lists as their numpy pattern. */
function patternOf(subscripts: string | IndexLists, op: string): string {
  if (typeof subscripts === 'string' || subscripts === null || typeof subscripts !== 'object') return subscripts as string;
  return withErrorContext({ op }, () => patternOfIndexLists(subscripts, op));
}

export interface CompileOptions extends EinsumOptions {
  readonly device?: Device;
  readonly dtype?: DType;
}

/** A kernel of a compiled expression: its name and its complete source (JS or WGSL). */
export interface KernelSource {
  readonly name: string;
  readonly source: string;
}

/**
 * An einsum compiled for fixed shapes and a device: the plan is made once, the kernels are generated once and
 * cached, and `run` only checks its operands and launches.
 */
export class CompiledExpression {
  readonly pattern: string;
  readonly shapes: readonly (readonly number[])[];
  readonly device: Device;
  readonly dtype: DType;
  readonly checked: CheckedEinsum;
  /** The composite axes opened for `checked` (null when the pattern has none); run splits and merges by them. */
  readonly groups: EinsumGroups | null;
  readonly program: Required<ContractionProgram>;
  readonly plan: ContractionPlan;
  /** Set when the memory limit is met by slicing: what runs is `sliced.plan`, once per slice. */
  readonly sliced: SlicedPlan | undefined;
  private readonly options: CompileOptions;
  private traced: KernelSpec[] | null = null;

  constructor(subscripts: string | IndexLists, shapes: readonly (readonly number[])[], options: CompileOptions = {}) {
    checkSubscripts(subscripts, shapes, options, 'compile');
    if (options.dtype !== undefined) A.dtypeArg(options.dtype, 'compile');
    const pattern = patternOf(subscripts, 'compile');
    this.pattern = pattern;
    this.shapes = shapes.map((s) => s.slice());
    this.device = options.device === undefined ? getDefaultDevice() : checkDevice(options.device, 'compile');
    this.dtype = options.dtype ?? 'float32';
    this.options = options;
    const opened = checkWithGroups(pattern, shapes, 'compile', typeof subscripts === 'string' ? 'auto' : 'numpy', options.sizes);
    this.checked = opened.checked;
    this.groups = opened.groups;
    this.program = programOf(this.checked);
    this.plan = planContraction(this.program, planOptions(options));
    this.sliced = slicedExecution(this.plan, this.program, options);
    getBackend(this.device, 'compile');
  }

  /** Runs the expression on operands of the compiled shapes (on the compiled device). */
  async run(...operands: Tensor[]): Promise<Tensor> {
    return this.runSync(...operands);
  }

  /** The same as `run`, without the promise (the GPU still computes asynchronously). */
  runSync(...operands: Tensor[]): Tensor {
    return withErrorContext({ op: 'compile.run', pattern: this.pattern, shapes: operands.map((t) => t.shape) }, () => {
      if (operands.length !== this.shapes.length) {
        throw new EinjitError(`this expression takes ${this.shapes.length} operands, got ${operands.length}`, {});
      }
      operands.forEach((t, i) => {
        const want = this.shapes[i]!;
        if (t.shape.length !== want.length || t.shape.some((n, d) => n !== want[d])) {
          throw new EinjitError(`operand ${i} has shape [${t.shape.join(', ')}] but the expression was compiled for [${want.join(', ')}]`, {
            hint: 'compile again for these shapes, or call einsum(...) which compiles on demand',
          });
        }
        if (t.device !== this.device) {
          throw new EinjitError(`operand ${i} is on '${t.device}' but the expression was compiled for '${this.device}'`, {
            hint: `move it first: await t.to('${this.device}')`,
          });
        }
      });
      // Replays the stored plan: what run() launches is what kernels() and explain() show.
      const out = contract(this.program, splitOperands(this.groups, operands), this.options, 'einsum', this.plan, this.sliced);
      return mergeOutput(this.groups, out);
    });
  }

  private specs(): KernelSpec[] {
    if (this.traced === null) {
      const tracer = new RecordingBackend(getBackend(this.device, 'compile'), false);
      // A sliced expression shows the kernels of one slice (each slice runs them, then adds its result).
      const sizes = this.sliced?.sizes;
      const opened = this.checked.shapes;
      const shapes = sizes === undefined ? opened : opened.map((s, k) => s.map((n, d) => Math.min(n, sizes[this.program.inputs[k]![d]!]!)));
      const fakes = shapes.map((s) => new Tensor(tracer.allocate(this.dtype, numel(s)), s));
      if (this.sliced === undefined) runContraction(tracer, this.program, this.plan, fakes);
      else runContraction(tracer, { ...this.program, sizes: this.sliced.sizes }, this.sliced.plan, fakes);
      this.traced = tracer.specs;
    }
    return this.traced;
  }

  /** Every kernel this expression launches, with its generated source. */
  kernels(): KernelSource[] {
    const backend = getBackend(this.device, 'compile');
    return this.specs().map((spec, i) => ({ name: `kernel ${i}: ${spec.kind} ${spec.label}`, source: backend.source(spec) }));
  }

  /** All generated source, kernel after kernel. */
  source(): string {
    return this.kernels().map((k) => k.source).join('\n\n');
  }

  /** The IR, the plan with its FLOP counts and intermediate sizes, and the kernel chosen for each step. */
  explain(): string {
    const c = this.checked;
    const lines: string[] = [];
    lines.push(`einsum '${this.pattern}' on ${this.device} (${this.dtype})`);
    lines.push('IR:');
    c.inputs.forEach((ids, k) => {
      lines.push(`  operand ${k}: [${ids.map((id) => `${c.axes[id]!.name}=${c.axes[id]!.size}`).join(', ')}]  shape [${this.shapes[k]!.join(', ')}]`);
    });
    lines.push(`  output:    [${c.output.map((id) => `${c.axes[id]!.name}=${c.axes[id]!.size}`).join(', ')}]  shape [${c.outputShape.join(', ')}]`);
    lines.push(`Plan (${this.plan.optimizer}):`);
    lines.push(formatReport(this.plan, this.program));
    if (this.sliced !== undefined) {
      const sp = this.sliced;
      lines.push(`Sliced (the plan above needs one step too large for a loop nest): ${sp.slices} slices over ` +
        `[${sp.sliced.map((id) => this.program.labels[id]).join(', ')}], ` +
        (sp.chunk === undefined ? 'each running the path of one slice'
          : `run ${sp.chunk.size} at a time along ${this.program.labels[sp.chunk.axis]} (${sp.chunk.runs} runs, peak per run ${sp.chunk.peak} elements), each run by the path of one slice`) +
        (sp.sliced.some((id) => this.program.output.includes(id)) ? ' and adding into its block of the output; ' : '; ') +
        `peak per slice ${sp.peakPerSlice} elements, ${sp.cost.toExponential(3)} flops in all (${sp.overhead.toFixed(3)}× the unsliced plan). Kernels of one slice:`);
    }
    lines.push('Kernels:');
    const backend = getBackend(this.device, 'compile');
    this.specs().forEach((spec, i) => {
      lines.push(spec.kind === 'gemm'
        ? `  ${i}: GEMM ${spec.label} [${spec.dtype}]`
        : `  ${i}: loop nest ${spec.label} — ${spec.sizes.length} loops (${spec.parallel} parallel${spec.reduceOp ? `, ${spec.sizes.length - spec.parallel} ${spec.reduceOp}` : ''})`);
      lines.push(`     runs as: ${backend.kernelName(spec)}`);
    });
    return lines.join('\n');
  }
}

/**
 * Compiles an einsum for fixed shapes and a device.
 *
 * @example
 * const expr = compile('bij,bjk->bik', [[8, 32, 64], [8, 64, 16]], { optimize: 'dp' });
 * console.log(expr.explain());
 * const c = await expr.run(a, b);
 */
export function compile(subscripts: string | IndexLists, shapes: readonly (readonly number[])[], options: CompileOptions = {}): CompiledExpression {
  checkSubscripts(subscripts, shapes, options, 'compile');
  const pattern = patternOf(subscripts, 'compile');
  return withErrorContext({ op: 'compile', pattern, shapes }, () => new CompiledExpression(subscripts, shapes, options));
}

// `a.einsum('ij,jk->ik', b)`: the method calls this einsum with its tensor first.
installEinsum((pattern, operands) => einsum(pattern, ...operands));
