/**
 * Runtime ops: each one checks its arguments, works out shapes and dtypes, lowers to a kernel spec and runs it
 * on the operands' backend. Views only compute strides. Autograd hooks in through `autograd/record.ts`.
 */
import { EinjitError, describeValue, formatShape } from '../errors.js';
import { buildLoop, type LoopOperand } from '../lower/loops.js';
import { BINARY_OPS, UNARY_OPS, ex, type BinaryOp, type Expr, type ReduceOp, type UnaryOp } from '../lower/spec.js';
import { deferCheck, getBackend, type Device, type Backend, initBackend } from './backend.js';
import { computeTypeOf, isFloating, promoteOperands, promoteTypes, promoteWithScalar, type DType } from './dtype.js';
import { broadcastShapes, broadcastStrides, checkShape, contiguousStrides, normalizeDim, normalizeDims, numel } from './shape.js';
import { Tensor, type ReduceDims } from './tensor.js';
import { gemmDType, gemmSpec } from './gemm.js';
import { asStrided } from './strided.js';
import { record, checkInPlace, isGradEnabled } from '../autograd/record.js';
import * as A from './args.js';
import { BINARY_RULES, NOT_DIFFERENTIABLE, REDUCE_RULES, UNARY_RULES, grads } from '../autograd/rules.js';

// -------------------------------------------------------------------------------------------------------------
// Plumbing

export function sameDevice(op: string, tensors: readonly Tensor[]): Device {
  const d = tensors[0]?.device ?? 'cpu';
  for (const t of tensors) {
    if (t.device !== d) {
      throw new EinjitError(`expected all tensors to be on the same device, but found '${d}' and '${t.device}'`, {
        op,
        shapes: tensors.map((x) => x.shape),
        hint: "move them first, e.g. 'await t.to(\"webgpu\")'",
      });
    }
  }
  return d;
}

function operand(t: Tensor, strides?: readonly number[]): LoopOperand {
  return { dtype: t.dtype, offset: t.offset, strides: strides ?? t.strides };
}

function emptyTensor(backend: Backend, dtype: DType, shape: readonly number[], op = 'allocate'): Tensor {
  checkShape(shape, op, 'the result shape');
  return new Tensor(backend.allocate(dtype, numel(shape)), shape);
}

/** Reads input k, converted to `type` when its own dtype differs. */
function read(k: number, from: DType, type: DType): Expr {
  return from === type ? ex.input(k) : ex.cast(type, ex.input(k));
}

/** Runs an elementwise expression over broadcast inputs into a new contiguous tensor. */
function mapTensors(label: string, inputs: readonly Tensor[], expr: Expr, outDtype: DType, computeType: DType,
  shape?: readonly number[]): Tensor {
  const device = sameDevice(label, inputs);
  const backend = getBackend(device, label);
  const outShape = shape ?? broadcastShapes(inputs.map((t) => t.shape), label);
  const out = emptyTensor(backend, outDtype, outShape, label);
  if (out.size === 0) return out;
  const spec = buildLoop({
    label,
    outShape,
    inputs: inputs.map((t) => operand(t, broadcastStrides(t.shape, t.strides, outShape))),
    output: operand(out),
    expr,
    computeType,
  });
  backend.run(spec, inputs.map((t) => t.storage), out.storage);
  return out;
}

// -------------------------------------------------------------------------------------------------------------
// Views and copies

/**
 * A view of `base` with the given geometry. `backward` maps the view's gradient to the base's; by default the
 * view is a pure reshape of the base's elements (view, reshape, squeeze, unsqueeze, flatten).
 */
export function viewOf(base: Tensor, shape: readonly number[], strides: readonly number[], offset: number, op: string,
  backward: (g: Tensor) => Tensor = (g) => g.reshape(base.shape)): Tensor {
  const v = asStrided(base, shape, strides, offset, op);
  record(op, [base], v, (g) => [backward(g)], []);
  return v;
}

export function contiguousCopy(t: Tensor): Tensor {
  const out = mapTensors('copy', [t], ex.input(0), t.dtype, t.dtype);
  record('copy', [t], out, (g) => [g], []);
  return out;
}

export function contiguous(t: Tensor): Tensor {
  return t.isContiguous ? t : contiguousCopy(t);
}

export function expand(t: Tensor, sizes: readonly number[]): Tensor {
  sizes.forEach((d, i) => {
    // -1 keeps a size (PyTorch's rule); anything else must be a size checkShape would accept.
    if (d !== -1 && (typeof d !== 'number' || !Number.isInteger(d) || d < 0)) {
      throw new EinjitError(`invalid expanded size ${describeValue(d)} at dimension ${i}`, {
        op: 'expand', shapes: [t.shape], hint: 'sizes are non-negative integers, or -1 to keep an existing size',
      });
    }
  });
  if (sizes.length < t.ndim) {
    throw new EinjitError(
      `the number of sizes provided (${sizes.length}) must be greater or equal to the number of dimensions in the tensor (${t.ndim})`,
      { op: 'expand', shapes: [t.shape] },
    );
  }
  const lead = sizes.length - t.ndim;
  const shape: number[] = [];
  const strides: number[] = [];
  for (let i = 0; i < sizes.length; i++) {
    const want = sizes[i]!;
    if (i < lead) {
      if (want < 0) throw new EinjitError(`the expanded size ${want} is not allowed in a leading, non-existing dimension`, { op: 'expand' });
      shape.push(want);
      strides.push(0);
      continue;
    }
    const have = t.shape[i - lead]!;
    if (want === -1 || want === have) {
      shape.push(have);
      strides.push(t.strides[i - lead]!);
    } else if (have === 1) {
      shape.push(want);
      strides.push(0);
    } else {
      throw new EinjitError(
        `the expanded size of the tensor (${want}) must match the existing size (${have}) at non-singleton dimension ${i}`,
        { op: 'expand', shapes: [t.shape], hint: `target sizes ${formatShape(sizes)}; only size-1 dimensions can be expanded` },
      );
    }
  }
  checkShape(shape, 'expand', 'the expanded shape');
  const v = asStrided(t, shape, strides, t.offset, 'expand');
  record('expand', [t], v, (g) => [grads.sumTo(g, t.shape)], []);
  return v;
}

/** Python slice semantics on one dimension (a negative step walks backwards, as numpy allows). */
export function sliceView(t: Tensor, dim: number, start: number | undefined, end: number | undefined, step: number): Tensor {
  if (t.ndim === 0) {
    throw new EinjitError('slice() cannot be applied to a 0-dim tensor', { op: 'slice', shapes: [t.shape], hint: 'unsqueeze(0) it first' });
  }
  if (typeof step !== 'number' || !Number.isInteger(step) || step === 0) {
    throw new EinjitError(`slice step must be a non-zero integer, got ${describeValue(step)}`, { op: 'slice', shapes: [t.shape] });
  }
  const n = t.shape[dim]!;
  const clamp = (v: number | undefined, dflt: number, lo: number, hi: number): number => {
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new EinjitError(`slice bounds must be integers, got ${describeValue(v)}`, { op: 'slice' });
    const x = v < 0 ? v + n : v;
    return Math.min(Math.max(x, lo), hi);
  };
  let first: number, count: number;
  if (step > 0) {
    first = clamp(start, 0, 0, n);
    const stop = clamp(end, n, 0, n);
    count = Math.max(0, Math.ceil((stop - first) / step));
  } else {
    first = clamp(start, n - 1, -1, n - 1);
    const stop = clamp(end, -1, -1, n - 1);
    count = Math.max(0, Math.ceil((stop - first) / step));
  }
  const shape = t.shape.slice();
  const strides = t.strides.slice();
  shape[dim] = count;
  strides[dim] = t.strides[dim]! * step;
  return viewOf(t, shape, strides, t.offset + (count > 0 ? first * t.strides[dim]! : 0), 'slice',
    (g) => grads.scatterInto(g, t.shape, (z) => sliceView(z, dim, start, end, step)));
}

export function indexView(t: Tensor, specs: readonly (number | string | null)[]): Tensor {
  specs.forEach((s, i) => {
    if (s !== null && typeof s !== 'number' && typeof s !== 'string') {
      throw new EinjitError(`index ${i} must be a number, a 'start:stop:step' string, '...' or null, got ${describeValue(s)}`, { op: 'index' });
    }
  });
  const ellipses = specs.filter((s) => s === '...').length;
  if (ellipses > 1) throw new EinjitError("an index can only have a single ellipsis ('...')", { op: 'index' });
  const consuming = specs.filter((s) => s !== null && s !== '...').length;
  if (consuming > t.ndim) {
    throw new EinjitError(`too many indices for tensor of dimension ${t.ndim}`, { op: 'index', shapes: [t.shape] });
  }
  let cur = t;
  let dim = 0;
  for (const s of specs) {
    if (s === '...') {
      dim += t.ndim - consuming;
    } else if (s === null) {
      cur = cur.unsqueeze(dim);
      dim++;
    } else if (typeof s === 'number') {
      cur = cur.select(dim, s);
    } else {
      const m = /^\s*(-?\d+)?\s*:\s*(-?\d+)?\s*(?::\s*(-?\d+)?\s*)?$/.exec(s);
      if (m === null) {
        throw new EinjitError(`cannot read the index ${JSON.stringify(s)}`, {
          op: 'index',
          hint: "use a number, 'start:stop:step' (each part optional), '...' or null",
        });
      }
      const num = (x: string | undefined): number | undefined => (x === undefined ? undefined : Number(x));
      cur = sliceView(cur, dim, num(m[1]), num(m[2]), num(m[3]) ?? 1);
      dim++;
    }
  }
  return cur;
}

export async function toDevice(t: Tensor, device: Device): Promise<Tensor> {
  A.deviceArg(device, 'to');
  if (t.device === device) return t;
  const target = await initBackend(device);
  const src = contiguous(t);
  const dataOnHost = await src.backend.read(src.storage);
  const view = src.offset === 0 && dataOnHost.length === src.size ? dataOnHost : dataOnHost.subarray(src.offset, src.offset + src.size);
  const out = new Tensor(target.fromArray(t.dtype, view as typeof dataOnHost, false), t.shape);
  // The copy starts a new graph: a moved leaf stays a leaf (how parameters move with their module).
  if (t.requiresGrad && t.isLeaf) out.requiresGrad = true;
  return out;
}

// -------------------------------------------------------------------------------------------------------------
// Elementwise

const isComparison = (op: BinaryOp): boolean => BINARY_OPS[op].comparison;
const isLogical = (op: BinaryOp): boolean => BINARY_OPS[op].logical;

/** `other · alpha` for add/sub's alpha; a boolean scalar counts as 0 or 1, as PyTorch's does. */
export function mulScalarLike(other: Tensor | number, alpha: number, op: 'add' | 'sub'): Tensor | number {
  const o = A.tensorOrScalarArg(other, op, 'other');
  A.numberArg(alpha, op, 'alpha');
  return o instanceof Tensor ? o.mul(alpha) : Number(o) * alpha;
}

/** Refuses anything that is not a Tensor where one is required (plain arrays, null) with an EinjitError. */
function checkTensors(op: string, values: readonly unknown[]): void {
  values.forEach((v, i) => {
    if (!(v instanceof Tensor)) {
      throw new EinjitError(`argument ${i} must be a Tensor, got ${describeValue(v)}`, {
        op,
        hint: 'wrap JS data with tensor(...) first',
      });
    }
  });
}

export function binary(op: BinaryOp, a: Tensor, b: Tensor | number | boolean): Tensor {
  A.tensorOrScalarArg(b, op);
  if (typeof b !== 'object') return binaryScalar(op, a, typeof b === 'boolean' ? Number(b) : b, typeof b === 'boolean');
  let promoted = promoteOperands(a.dtype, a.ndim === 0, b.dtype, b.ndim === 0);
  if (op === 'div' && !isFloating(promoted)) promoted = 'float32';
  const compute = isLogical(op) ? 'bool' : computeTypeOf(promoted);
  const outDtype = isComparison(op) || isLogical(op) ? 'bool' : promoted;
  const ct = isLogical(op) ? a.dtype : compute;
  const expr = ex.binary(op, read(0, a.dtype, isLogical(op) ? a.dtype : ct), read(1, b.dtype, isLogical(op) ? b.dtype : ct));
  const out = mapTensors(op, [a, b], expr, outDtype, isLogical(op) ? compute : ct);
  const rule = BINARY_RULES[op];
  if (rule !== NOT_DIFFERENTIABLE) {
    record(op, [a, b], out, (g) => grads.binaryGrads(rule.tensor, g, a, b, out), grads.pick(rule.tensor.saves, { a, b, out }));
  }
  return out;
}

function binaryScalar(op: BinaryOp, a: Tensor, value: number, isBool: boolean): Tensor {
  let promoted = isBool ? a.dtype : promoteWithScalar(a.dtype, value);
  if (op === 'div' && !isFloating(promoted)) promoted = 'float32';
  const compute = computeTypeOf(promoted);
  const outDtype = isComparison(op) || isLogical(op) ? 'bool' : promoted;
  const expr = ex.binary(op, read(0, a.dtype, isLogical(op) ? a.dtype : compute), ex.const(value));
  const out = mapTensors(`${op} scalar`, [a], expr, outDtype, isLogical(op) ? a.dtype : compute);
  const rule = BINARY_RULES[op];
  if (rule !== NOT_DIFFERENTIABLE) {
    record(op, [a], out, (g) => [rule.scalar.grad(g, a, value, out)], grads.pick(rule.scalar.saves, { a, out }));
  }
  return out;
}

/** `value op tensor` for a JS number on the left (rsub, rdiv, rpow). */
export function binaryScalarLeft(op: BinaryOp, value: number, b: Tensor): Tensor {
  let promoted = promoteWithScalar(b.dtype, value);
  if (op === 'div' && !isFloating(promoted)) promoted = 'float32';
  const compute = computeTypeOf(promoted);
  const expr = ex.binary(op, ex.const(value), read(0, b.dtype, compute));
  const out = mapTensors(`scalar ${op}`, [b], expr, isComparison(op) ? 'bool' : promoted, compute);
  const rule = BINARY_RULES[op];
  if (rule !== NOT_DIFFERENTIABLE) {
    record(op, [b], out, (g) => [rule.scalarLeft.grad(g, value, b, out)], grads.pick(rule.scalarLeft.saves, { b, out }));
  }
  return out;
}

export function unary(op: UnaryOp, a: Tensor): Tensor {
  const traits = UNARY_OPS[op];
  const outDtype: DType = traits.boolResult ? 'bool' : traits.floatResult && !isFloating(a.dtype) ? 'float32' : a.dtype;
  const compute = op === 'not' ? a.dtype : computeTypeOf(outDtype === 'bool' ? a.dtype : outDtype);
  const out = mapTensors(op, [a], ex.unary(op, read(0, a.dtype, compute)), outDtype, compute);
  const rule = UNARY_RULES[op];
  if (rule !== NOT_DIFFERENTIABLE) record(op, [a], out, (g) => [rule.grad(g, a, out)], grads.pick(rule.saves, { a, out }));
  return out;
}

export function clamp(a: Tensor, min?: Tensor | number | null, max?: Tensor | number | null, op = 'clamp'): Tensor {
  // A bound is a number, a tensor that broadcasts, or absent (undefined or null, PyTorch's None).
  const bound = (v: Tensor | number | null | undefined, name: string): Tensor | number | null =>
    v === undefined || v === null ? null : typeof v === 'number' ? A.numberArg(v, op, name) : A.tensorArg(v, op, name);
  const lo = bound(min, 'min');
  const hi = bound(max, 'max');
  if (lo === null && hi === null) {
    throw new EinjitError('at least one of min or max must be given', { op, hint: `e.g. x.${op}(0) or x.${op}(null, 1)` });
  }
  // Selects rather than maximum/minimum, so a value on a bound passes its whole gradient (PyTorch's clamp rule).
  let r = a;
  if (lo !== null) r = where(r.lt(lo), lo, r);
  if (hi !== null) r = where(r.gt(hi), hi, r);
  return r;
}

export function cast(a: Tensor, dtype: DType): Tensor {
  A.dtypeArg(dtype, 'cast');
  if (a.dtype === dtype) return a;
  const out = mapTensors(`cast to ${dtype}`, [a], ex.cast(dtype, ex.input(0)), dtype, computeTypeOf(dtype));
  record('cast', [a], out, (g) => [isFloating(a.dtype) ? cast(g, a.dtype) : null], []);
  return out;
}

/** `cond ? a : b`, broadcast. */
export function where(cond: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  A.tensorArg(cond, 'where', 'condition'); A.tensorOrScalarArg(a, 'where', 'input'); A.tensorOrScalarArg(b, 'where', 'other');
  const ts: Tensor[] = [cond];
  const dtypeOf = (v: Tensor | number): DType | null => (typeof v === 'number' ? null : v.dtype);
  const da = dtypeOf(a);
  const db = dtypeOf(b);
  const outDtype: DType = da !== null && db !== null ? promoteOperands(da, (a as Tensor).ndim === 0, db, (b as Tensor).ndim === 0)
    : da !== null ? promoteWithScalar(da, b as number)
      : db !== null ? promoteWithScalar(db, a as number)
        : Number.isInteger(a) && Number.isInteger(b) ? 'int32' : 'float32';
  const compute = computeTypeOf(outDtype);
  const arg = (v: Tensor | number): Expr => {
    if (typeof v === 'number') return ex.const(v);
    ts.push(v);
    return read(ts.length - 1, v.dtype, compute);
  };
  const expr = ex.select(read(0, cond.dtype, 'bool'), arg(a), arg(b));
  const out = mapTensors('where', ts, expr, outDtype, compute);
  const ta = typeof a === 'number' ? null : a;
  const tb = typeof b === 'number' ? null : b;
  record('where', [ta, tb], out, (g) => grads.where(g, cond, ta, tb), [cond]);
  return out;
}

// -------------------------------------------------------------------------------------------------------------
// Reductions

function reduceDtype(op: ReduceOp, dtype: DType): DType {
  if (op === 'any' || op === 'all') return 'bool';
  if (op === 'argmax' || op === 'argmin') return 'int32';
  if ((op === 'sum' || op === 'prod') && (dtype === 'bool')) return 'int32';
  return dtype;
}

/** Reduces `dims` of `a` with `op` into `outDtype` (default: PyTorch's result dtype for the op). */
export function reduceDims(op: ReduceOp, a: Tensor, dim: ReduceDims, keepdim: boolean, outDtypeOverride?: DType): Tensor {
  A.boolArg(keepdim, op, 'keepdim', false);
  const dims = normalizeDims(dim, a.ndim, op, a.shape);
  const kept = a.shape.map((_, i) => i).filter((i) => !dims.includes(i));
  if ((op === 'max' || op === 'min' || op === 'argmax' || op === 'argmin') && dims.some((d) => a.shape[d] === 0)) {
    throw new EinjitError(`${op}(): expected a non-empty reduction, but a reduced dimension has size 0`, {
      op,
      shapes: [a.shape],
      hint: 'max/min of nothing has no value; check the shape or use sum',
    });
  }
  const outDtype = outDtypeOverride ?? reduceDtype(op, a.dtype);
  if ((op === 'sum' || op === 'prod') && outDtype === 'int32' && outDtypeOverride === undefined) return exactIntReduce(op, a, dims, keepdim);
  const integralIntoFloat = (op === 'sum' || op === 'prod') && isFloating(outDtype) && !isFloating(a.dtype);
  const compute = op === 'any' || op === 'all' ? 'bool'
    : integralIntoFloat ? computeTypeOf(outDtype) : computeTypeOf(a.dtype === 'bool' ? 'int32' : a.dtype);
  const backend = getBackend(a.device, op);
  const outShape = kept.map((i) => a.shape[i]!);
  const out = emptyTensor(backend, outDtype, outShape);
  if (out.size > 0) {
    const spec = buildLoop({
      label: `${op} over dims [${dims.join(', ')}] of ${formatShape(a.shape)}`,
      outShape,
      reduceShape: dims.map((i) => a.shape[i]!),
      reduceOp: op,
      inputs: [operand(a, [...kept.map((i) => a.strides[i]!), ...dims.map((i) => a.strides[i]!)])],
      output: operand(out),
      expr: read(0, a.dtype, compute),
      computeType: compute,
    });
    backend.run(spec, [a.storage], out.storage);
  }
  let result = out;
  if (keepdim) {
    const shape = a.shape.map((n, i) => (dims.includes(i) ? 1 : n));
    result = asStrided(out, shape, contiguousStrides(shape), 0, op);
  }
  const rule = REDUCE_RULES[op];
  if (rule !== NOT_DIFFERENTIABLE) {
    record(op, [a], result, (g) => [grads.reduceGrad(rule, g, a, dims, result, keepdim)], grads.pick(rule.saves, { a, out: result }));
  }
  return result;
}

/**
 * An int32 sum or product, exact or refused: einjit has no int64 to widen into (PyTorch's integer sum returns
 * int64), so a result outside int32 is an EinjitError rather than a wrapped value. On the CPU the reduction
 * accumulates in float64 (exact for every sum of int32 values up to 2^21 terms and every product until it
 * leaves int32's range) and is checked at once. WGSL has no float64: there the int32 result is compared at the
 * next read with a float32 reduction of the same values, and a difference of 2^31 or more (a wrap) is refused.
 */
function exactIntReduce(op: 'sum' | 'prod', a: Tensor, dims: readonly number[], keepdim: boolean): Tensor {
  const refuse = (v: number): EinjitError => new EinjitError(`the int32 ${op} is ${v}, outside int32 (-2147483648..2147483647)`, {
    op, shapes: [a.shape], hint: "einjit has no int64; cast to 'float64' first (exact up to 2^53)",
  });
  if (a.device === 'cpu') {
    const wide = reduceDims(op, a, dims, keepdim, 'float64');
    const values = wide.dataSync();
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (!(v >= -2147483648 && v <= 2147483647)) throw refuse(v);
    }
    return cast(wide, 'int32');
  }
  const wrapped = reduceDims(op, a, dims, keepdim, 'int32');
  if (wrapped.size > 0) {
    const approx = reduceDims(op, a, dims, keepdim, 'float32');
    deferCheck(a.device, async () => {
      const [w, f] = await Promise.all([wrapped.data(), approx.data()]);
      for (let i = 0; i < w.length; i++) {
        if (!(Math.abs(f[i]! - w[i]!) < 2 ** 31)) throw refuse(f[i]!);
      }
    });
  }
  return wrapped;
}

export function mean(a: Tensor, dim: ReduceDims, keepdim: boolean): Tensor {
  A.boolArg(keepdim, 'mean', 'keepdim', false);
  if (!isFloating(a.dtype)) {
    throw new EinjitError(`mean(): could not infer output dtype. Input dtype must be floating point, got ${a.dtype}`, {
      op: 'mean',
      shapes: [a.shape],
      hint: "cast first: x.cast('float32').mean()",
    });
  }
  // float16 accumulates in float32 and rounds once at the end, as PyTorch does, so large sums do not overflow.
  if (a.dtype === 'float16') return cast(mean(cast(a, 'float32'), dim, keepdim), 'float16');
  const dims = normalizeDims(dim, a.ndim, 'mean', a.shape);
  const count = dims.reduce((n, d) => n * a.shape[d]!, 1);
  return reduceDims('sum', a, dims, keepdim).div(count);
}

export function variance(a: Tensor, dim: ReduceDims, keepdim: boolean, correction: number): Tensor {
  A.boolArg(keepdim, 'var', 'keepdim', false); A.numberArg(correction, 'var', 'correction', { finite: true });
  if (a.dtype === 'float16') return cast(variance(cast(a, 'float32'), dim, keepdim, correction), 'float16');
  const dims = normalizeDims(dim, a.ndim, 'var', a.shape);
  const count = dims.reduce((n, d) => n * a.shape[d]!, 1);
  const centered = a.sub(mean(a, dims, true));
  return reduceDims('sum', centered.mul(centered), dims, keepdim).div(Math.max(0, count - correction));
}

export function argReduce(op: 'argmax' | 'argmin', a: Tensor, dim: number | undefined, keepdim: boolean): Tensor {
  if (dim !== undefined) A.dimArg(dim, op);
  A.boolArg(keepdim, op, 'keepdim', false);
  if (dim !== undefined && a.ndim === 0) normalizeDim(dim, 0, op, a.shape);
  if (dim === undefined || a.ndim === 0) {
    const flat = reduceDims(op, contiguous(a).reshape([a.size]), 0, false);
    return keepdim ? flat.reshape(a.shape.map(() => 1)) : flat;
  }
  return reduceDims(op, a, normalizeDim(dim, a.ndim, op, a.shape), keepdim);
}

// -------------------------------------------------------------------------------------------------------------
// Matrix products

/** C[..., m, n] = A[..., m, k] B[..., k, n] with batch dims already broadcast to `batch`. */
function batchedMatmul(label: string, a: Tensor, b: Tensor, batch: readonly number[]): Tensor {
  const device = sameDevice(label, [a, b]);
  const backend = getBackend(device, label);
  const m = a.shape[a.ndim - 2]!;
  const k = a.shape[a.ndim - 1]!;
  const n = b.shape[b.ndim - 1]!;
  const dtype = promoteTypes(a.dtype, b.dtype);
  const outShape = [...batch, m, n];
  const bs = (t: Tensor): number[] => broadcastStrides(t.shape.slice(0, -2), t.strides.slice(0, -2), batch);
  const gemmType = gemmDType(dtype);
  if (gemmType !== null) {
    const A = a.dtype === gemmType ? a : cast(a, gemmType);
    const B = b.dtype === gemmType ? b : cast(b, gemmType);
    const out = emptyTensor(backend, gemmType, outShape);
    if (out.size > 0) {
      const spec = gemmSpec(label, gemmType, { batch, m, n, k },
        { offset: A.offset, batchStrides: bs(A), rowStride: A.strides[A.ndim - 2]!, colStride: A.strides[A.ndim - 1]! },
        { offset: B.offset, batchStrides: bs(B), rowStride: B.strides[B.ndim - 2]!, colStride: B.strides[B.ndim - 1]! },
        { offset: 0, batchStrides: contiguousStrides(outShape).slice(0, -2), rowStride: n, colStride: 1 });
      backend.run(spec, [A.storage, B.storage], out.storage);
    }
    // float16 rounds once, from the float32 product.
    return gemmType === dtype ? out : cast(out, dtype);
  }
  // Integral and bool products: a contraction loop over (batch, m, n | k).
  const outDtype = dtype === 'bool' ? 'bool' : 'int32';
  const out = emptyTensor(backend, outDtype, outShape, label);
  if (out.size === 0) return out;
  const ar = a.strides[a.ndim - 2]!, ac = a.strides[a.ndim - 1]!;
  const br = b.strides[b.ndim - 2]!, bc = b.strides[b.ndim - 1]!;
  const spec = buildLoop({
    label,
    outShape,
    reduceShape: [k],
    reduceOp: dtype === 'bool' ? 'any' : 'sum',
    inputs: [
      { dtype: a.dtype, offset: a.offset, strides: [...bs(a), ar, 0, ac] },
      { dtype: b.dtype, offset: b.offset, strides: [...bs(b), 0, bc, br] },
    ],
    output: operand(out),
    expr: ex.binary('mul', ex.input(0), ex.input(1)),
    computeType: 'int32',
  });
  backend.run(spec, [a.storage, b.storage], out.storage);
  return out;
}

function matmulShapeError(a: Tensor, b: Tensor, op: string): EinjitError {
  const as = a.ndim === 1 ? `1x${a.shape[0]}` : `${a.shape[a.ndim - 2]}x${a.shape[a.ndim - 1]}`;
  const bs = b.ndim === 1 ? `${b.shape[0]}x1` : `${b.shape[b.ndim - 2]}x${b.shape[b.ndim - 1]}`;
  return new EinjitError(`mat1 and mat2 shapes cannot be multiplied (${as} and ${bs})`, {
    op,
    shapes: [a.shape, b.shape],
    hint: "the inner dimensions must match: A's last dimension and B's second-to-last; transpose one operand (e.g. b.T)",
  });
}

/** PyTorch's matmul: 1-D/2-D/batched with broadcast batch dimensions. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  checkTensors('matmul', [a, b]);
  if (a.ndim === 0 || b.ndim === 0) {
    throw new EinjitError('both arguments to matmul need to be at least 1D', {
      op: 'matmul',
      shapes: [a.shape, b.shape],
      hint: 'use mul for a product with a scalar',
    });
  }
  const A = a.ndim === 1 ? a.unsqueeze(0) : a;
  const B = b.ndim === 1 ? b.unsqueeze(1) : b;
  if (A.shape[A.ndim - 1] !== B.shape[B.ndim - 2]) {
    if (a.ndim === 1 && b.ndim === 1) {
      throw new EinjitError(
        `inconsistent tensor size, expected tensors [${a.shape[0]}] and [${b.shape[0]}] to have the same number of elements`,
        { op: 'matmul', shapes: [a.shape, b.shape], hint: 'a dot product needs vectors of equal length' },
      );
    }
    throw matmulShapeError(a, b, 'matmul');
  }
  const batch = broadcastShapes([A.shape.slice(0, -2), B.shape.slice(0, -2)], 'matmul');
  let out = batchedMatmul(`matmul ${formatShape(a.shape)} @ ${formatShape(b.shape)}`, A, B, batch);
  record('matmul', [A, B], out, (g) => grads.matmul(g, A, B));
  if (a.ndim === 1) out = out.squeeze(-2);
  if (b.ndim === 1) out = out.squeeze(-1);
  return out;
}

export function mm(a: Tensor, b: Tensor): Tensor {
  checkTensors('mm', [a, b]);
  if (a.ndim !== 2 || b.ndim !== 2) {
    throw new EinjitError(`mm expects two 2-D tensors, got ${a.ndim}-D and ${b.ndim}-D`, {
      op: 'mm', shapes: [a.shape, b.shape], hint: 'use matmul for vectors or batches',
    });
  }
  if (a.shape[1] !== b.shape[0]) throw matmulShapeError(a, b, 'mm');
  return matmul(a, b);
}

export function bmm(a: Tensor, b: Tensor): Tensor {
  checkTensors('bmm', [a, b]);
  if (a.ndim !== 3 || b.ndim !== 3) {
    throw new EinjitError(`bmm expects two 3-D tensors, got ${a.ndim}-D and ${b.ndim}-D`, {
      op: 'bmm', shapes: [a.shape, b.shape], hint: 'use matmul, which broadcasts batch dimensions',
    });
  }
  if (a.shape[0] !== b.shape[0]) {
    throw new EinjitError(`bmm expects equal batch sizes, got ${a.shape[0]} and ${b.shape[0]}`, {
      op: 'bmm', shapes: [a.shape, b.shape],
    });
  }
  if (a.shape[2] !== b.shape[1]) throw matmulShapeError(a, b, 'bmm');
  return matmul(a, b);
}

// -------------------------------------------------------------------------------------------------------------
// Joining and writing

export function cat(tensors: readonly Tensor[], dim = 0, op = 'cat'): Tensor {
  A.tensorListArg(tensors, op, 'tensors', { nonEmpty: true });
  A.dimArg(dim, op);
  const first = tensors[0]!;
  if (tensors.some((t) => t.ndim === 0)) {
    throw new EinjitError('zero-dimensional tensors cannot be concatenated', {
      op: 'cat', shapes: tensors.map((x) => x.shape), hint: 'use stack(...) to join scalars into a vector',
    });
  }
  // PyTorch skips 1-D empty tensors in cat (legacy behaviour); einjit requires equal ranks.
  const d = normalizeDim(dim, first.ndim, 'cat', first.shape);
  for (const t of tensors) {
    if (t.ndim !== first.ndim || t.shape.some((n, i) => i !== d && n !== first.shape[i])) {
      throw new EinjitError(`sizes of tensors must match except in dimension ${d}`, {
        op: 'cat',
        shapes: tensors.map((x) => x.shape),
        hint: 'every tensor needs the same shape apart from the dimension joined along',
      });
    }
  }
  const device = sameDevice('cat', tensors);
  const backend = getBackend(device, 'cat');
  const dtype = tensors.map((t) => t.dtype).reduce(promoteTypes);
  const shape = first.shape.slice();
  shape[d] = tensors.reduce((n, t) => n + t.shape[d]!, 0);
  const out = emptyTensor(backend, dtype, shape);
  const outStrides = out.strides;
  let at = 0;
  for (const t of tensors) {
    if (t.size > 0) {
      const spec = buildLoop({
        label: `cat: copy into slice ${at}:${at + t.shape[d]!} of dim ${d}`,
        outShape: t.shape,
        inputs: [operand(t)],
        output: { dtype, offset: at * outStrides[d]!, strides: outStrides },
        expr: read(0, t.dtype, computeTypeOf(dtype)),
        computeType: computeTypeOf(dtype),
      });
      backend.run(spec, [t.storage], out.storage);
    }
    at += t.shape[d]!;
  }
  record('cat', tensors, out, (g) => grads.cat(g, tensors, d), []);
  return out;
}

export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  A.tensorListArg(tensors, 'stack', 'tensors', { nonEmpty: true });
  A.dimArg(dim, 'stack');
  const first = tensors[0]!;
  for (const t of tensors) {
    if (t.ndim !== first.ndim || t.shape.some((n, i) => n !== first.shape[i])) {
      throw new EinjitError('stack expects each tensor to be equal size', {
        op: 'stack',
        shapes: tensors.map((x) => x.shape),
        hint: 'every tensor must have exactly the same shape',
      });
    }
  }
  const d = normalizeDim(dim, first.ndim + 1, 'stack', first.shape);
  return cat(tensors.map((t) => t.unsqueeze(d)), d);
}

/**
 * One elementwise expression over `inputs` (broadcast together; input k is `ex.input(k)`, read in the first
 * input's compute type) into a new tensor of the first input's dtype, as one kernel: what PyTorch's fused
 * optimizers do. Records no gradient: it refuses inputs that require one while grad mode is on.
 */
export function fusedMap(label: string, inputs: readonly Tensor[], expr: Expr): Tensor {
  if (isGradEnabled() && inputs.some((t) => t.requiresGrad)) {
    throw new EinjitError(`${label} records no gradient; run it under noGrad()`, { op: label, shapes: inputs.map((t) => t.shape) });
  }
  const dtype = inputs[0]!.dtype;
  const compute = computeTypeOf(dtype);
  return mapTensors(label, inputs, substituteInputs(expr, inputs.map((t, k) => read(k, t.dtype, compute))), dtype, compute);
}

/** `e` with each `input(k)` replaced by `reads[k]`. */
function substituteInputs(e: Expr, reads: readonly Expr[]): Expr {
  switch (e.kind) {
    case 'input': return reads[e.index]!;
    case 'const': return e;
    case 'unary': return { ...e, arg: substituteInputs(e.arg, reads) };
    case 'cast': return { ...e, arg: substituteInputs(e.arg, reads) };
    case 'binary': return { ...e, lhs: substituteInputs(e.lhs, reads), rhs: substituteInputs(e.rhs, reads) };
    case 'select': return { ...e, cond: substituteInputs(e.cond, reads), then: substituteInputs(e.then, reads), otherwise: substituteInputs(e.otherwise, reads) };
  }
}

/** Writes `value`, broadcast to `dst`'s shape, through `dst`'s strides (the base sees the write). */
export function assign(dst: Tensor, value: Tensor | number): void {
  A.tensorOrScalarArg(value, 'copy_', 'value');
  checkInPlace(dst);
  const backend = getBackend(dst.device, 'copy_');
  const compute = computeTypeOf(dst.dtype);
  if (dst.size === 0) return;
  if (dst.strides.some((s, i) => s === 0 && dst.shape[i]! > 1)) {
    throw new EinjitError('unsupported operation: more than one element of the written-to tensor refers to a single memory location', {
      op: 'copy_', shapes: [dst.shape], hint: 'clone() the tensor before writing to it',
    });
  }
  if (typeof value === 'number') {
    const spec = buildLoop({ label: 'fill', outShape: dst.shape, inputs: [], output: operand(dst), expr: ex.const(value), computeType: compute });
    backend.run(spec, [], dst.storage);
  } else {
    sameDevice('copy_', [dst, value]);
    broadcastShapes([dst.shape, value.shape], 'copy_');
    if (value.ndim > dst.ndim || value.shape.some((n, i) => n !== 1 && n !== dst.shape[dst.ndim - value.ndim + i])) {
      throw new EinjitError(`the value of shape ${formatShape(value.shape)} cannot be broadcast to ${formatShape(dst.shape)}`, {
        op: 'copy_', shapes: [dst.shape, value.shape],
      });
    }
    // A source overlapping the destination is read in full first.
    const src = value.storage === dst.storage ? contiguousCopy(value.detach()) : value;
    const spec = buildLoop({
      label: 'copy_',
      outShape: dst.shape,
      inputs: [operand(src, broadcastStrides(src.shape, src.strides, dst.shape))],
      output: operand(dst),
      expr: read(0, src.dtype, compute),
      computeType: compute,
    });
    backend.run(spec, [src.storage], dst.storage);
  }
  dst._version.value++;
}
