/**
 * Tensor methods PyTorch users expect (softmax, norm, cumsum, sort, gather, scatter, roll, ...), each built from
 * other ops — views, cat, where, comparisons and reductions — so it runs on every backend without a kernel of
 * its own and gets its gradient from the ops it is made of.
 *
 * Sorting and index ops have no kernel either. `sort` ranks each element by counting the elements of its row
 * that come before it (an n×n comparison per row: O(n²) time and memory, fine for rows of a few thousand
 * elements, the wrong tool for sorting millions); `topk` with a small k takes the best element k times instead
 * (O(k·n)). `gather`, `scatter` and `scatterAdd` move elements through a one-hot comparison of the m indices
 * with 0..n-1 (O(m·n) per row).
 */
import { EinjitError, describeValue, formatShape } from '../errors.js';
import * as A from './args.js';
import * as ops from './ops.js';
import type { Device } from './backend.js';
import { arange, full, tensor as makeTensor, zerosOf } from './creation.js';
import { isFloating, type DType } from './dtype.js';
import { broadcastShapes, normalizeDim, normalizeDims, MAX_ELEMENTS } from './shape.js';
import { checkIndices } from './indices.js';
import type { ReduceDims, Tensor } from './tensor.js';

/** The order of a norm: a number (±Infinity included) or 'fro', the Frobenius norm (the 2-norm of all elements). */
export type NormOrder = number | 'fro';

/** 0, 1, ..., n-1 as int32 on `device`. */
const positions = (n: number, device: Device): Tensor => arange(0, n, 1, { dtype: 'int32', device });

/**
 * Runs `fn` along one dim. A 0-d tensor is one element along dim 0 (or -1), as PyTorch treats it: `fn` sees it as
 * a 1-element vector and the result is reshaped back.
 */
function alongDim(x: Tensor, dim: number, op: string, fn: (t: Tensor, d: number) => Tensor): Tensor {
  A.dimArg(dim, op);
  const d = normalizeDim(dim, x.ndim, op, x.shape);
  return x.ndim === 0 ? fn(x.reshape([1]), 0).reshape([]) : fn(x, d);
}

// -------------------------------------------------------------------------------------------------------------
// softmax, norm

export function softmax(x: Tensor, dim: number): Tensor {
  return alongDim(x, dim, 'softmax', (t, d) => {
    // An empty dim has nothing to normalise; exp only gives the result its floating dtype.
    if (t.shape[d] === 0) return t.exp();
    const shifted = t.sub(t.detach().max(d, true));
    const e = shifted.exp();
    return e.div(e.sum(d, true));
  });
}

export function logSoftmax(x: Tensor, dim: number): Tensor {
  return alongDim(x, dim, 'logSoftmax', (t, d) => {
    if (t.shape[d] === 0) return t.exp();
    const shifted = t.sub(t.detach().max(d, true));
    return shifted.sub(shifted.exp().sum(d, true).log());
  });
}

/** PyTorch's vector norm (torch.norm with a numeric p or 'fro'): over `dim`, or over every element. */
export function norm(x: Tensor, p: NormOrder, dim: ReduceDims, keepdim: boolean): Tensor {
  if (p !== 'fro') A.numberArg(p, 'norm', 'p');
  A.boolArg(keepdim, 'norm', 'keepdim', false);
  if (!isFloating(x.dtype)) {
    throw new EinjitError(`norm(): input dtype should be floating point, got ${x.dtype}`, {
      op: 'norm', shapes: [x.shape], hint: "cast first: x.cast('float32').norm()",
    });
  }
  // float16 accumulates in float32 and rounds once at the end, as mean does.
  if (x.dtype === 'float16') return norm(x.cast('float32'), p, dim, keepdim).cast('float16');
  const dims = normalizeDims(dim, x.ndim, 'norm', x.shape);
  const order = p === 'fro' ? 2 : p;
  if (order === Infinity) return x.abs().max(dims, keepdim);
  if (order === -Infinity) return x.abs().min(dims, keepdim);
  // The count of non-zero elements (NaN counts): piecewise constant, its gradient 0 as PyTorch's. The zeros
  // come from x·0, only where x is 0, so the result stays in the graph without inf·0 turning into NaN.
  if (order === 0) return ops.where(x.ne(0), 1, x.mul(0)).sum(dims, keepdim);
  if (order === 1) return x.abs().sum(dims, keepdim);
  const s = order === 2 ? x.square().sum(dims, keepdim) : x.abs().pow(order).sum(dims, keepdim);
  // The root's derivative is infinite at an all-zero slice, where PyTorch defines the gradient as 0: the root
  // is taken of 1 there instead, and the outer select drops it (and its finite gradient).
  const zero = s.eq(0);
  return ops.where(zero, 0, ops.where(zero, 1, s).pow(1 / order));
}

// -------------------------------------------------------------------------------------------------------------
// Scans

/**
 * An inclusive scan along one dim in log2(n) steps (Hillis–Steele): after the step with shift s, each element
 * holds the combination of the 2s elements ending at it. Each step is slices, one elementwise op and a cat.
 */
function scan(x: Tensor, dim: number, op: string, combine: (later: Tensor, earlier: Tensor) => Tensor): Tensor {
  return alongDim(x, dim, op, (t, d) => {
    const n = t.shape[d]!;
    // Bools count as integers (PyTorch's cumsum of bool counts; einjit has int32 where PyTorch has int64).
    let y = t.dtype === 'bool' ? t.cast('int32') : t;
    for (let s = 1; s < n; s *= 2) y = ops.cat([y.slice(d, 0, s), combine(y.slice(d, s), y.slice(d, 0, n - s))], d);
    return y === t ? t.clone() : y;
  });
}

export function cumsum(x: Tensor, dim: number): Tensor {
  return scan(x, dim, 'cumsum', (a, b) => a.add(b));
}

export function cumprod(x: Tensor, dim: number): Tensor {
  return scan(x, dim, 'cumprod', (a, b) => a.mul(b));
}

// -------------------------------------------------------------------------------------------------------------
// Sorting

/**
 * The stable sort order along the last dim of `t`: element i goes to position rank(i), the number of elements
 * that sort before it (smaller, or equal and earlier). NaN sorts above every number, as in PyTorch, so it comes
 * last ascending and first descending. Returns, per position, the index of the element that lands there.
 */
function sortOrder(t: Tensor, descending: boolean): Tensor {
  const v = t.detach();
  const n = v.shape[v.ndim - 1]!;
  const at = positions(n, v.device);
  const xi = v.unsqueeze(-1);   // [..., n, 1]: the element being ranked
  const xj = v.unsqueeze(-2);   // [..., 1, n]: the elements it is compared with
  const nanI = xi.isnan();
  const nanJ = xj.isnan();
  const ahead = descending ? xj.gt(xi).logicalOr(nanJ.logicalAnd(nanI.logicalNot()))
    : xj.lt(xi).logicalOr(nanI.logicalAnd(nanJ.logicalNot()));
  const tie = xj.eq(xi).logicalOr(nanI.logicalAnd(nanJ));
  const earlier = at.unsqueeze(0).lt(at.unsqueeze(1));   // [n, n]: j < i
  const rank = ops.reduceDims('sum', ahead.logicalOr(tie.logicalAnd(earlier)), -1, false, 'int32');
  const lands = rank.unsqueeze(-1).eq(at);   // [..., i, r]: element i lands at position r
  return ops.reduceDims('sum', ops.where(lands, at.unsqueeze(-1), 0), -2, false, 'int32');
}

/**
 * The first k positions of the same order, found in k rounds: each takes, among the elements not yet taken, the
 * first of the best. O(k·n) per row instead of sortOrder's O(n²), which is what makes topk over a vocabulary of
 * tens of thousands affordable.
 */
function leadingOrder(t: Tensor, k: number, descending: boolean): Tensor {
  const v = t.detach();
  const at = positions(v.shape[v.ndim - 1]!, v.device);
  const nan = v.isnan();
  // Stands in for taken elements and NaN when the best number is looked for; never chosen itself (see bestReal).
  const worst = isFloating(v.dtype) ? (descending ? -Infinity : Infinity) : (descending ? -2147483648 : 2147483647);
  let taken = full(v.shape.slice(), false, { dtype: 'bool', device: v.device });
  const picks: Tensor[] = [];
  for (let r = 0; r < k; r++) {
    const free = taken.logicalNot();
    const freeNan = free.logicalAnd(nan);
    const freeReal = free.logicalAnd(nan.logicalNot());
    const candidates = ops.where(freeReal, v, worst);
    const best = descending ? candidates.max(-1, true) : candidates.min(-1, true);
    const bestReal = freeReal.logicalAnd(v.eq(best));
    // NaN ranks above every number: taken first descending, after the last number ascending.
    const nanNow = descending ? freeNan.any(-1, true) : freeReal.any(-1, true).logicalNot();
    const pick = ops.where(nanNow, freeNan, bestReal).argmax(-1, true);   // the first candidate: ties keep their order
    picks.push(pick);
    taken = taken.logicalOr(at.eq(pick));
  }
  return ops.cat(picks, -1);
}

/** Stable sort along `dim`: the sorted values and, as int32, where each came from. */
export function sort(x: Tensor, dim: number, descending: boolean): [Tensor, Tensor] {
  A.boolArg(descending, 'sort', 'descending', false);
  const indices = alongDim(x, dim, 'sort', (t, d) => sortOrder(t.transpose(d, -1), descending).transpose(d, -1));
  return [x.ndim === 0 ? x.clone() : pick(x, normalizeDim(dim, x.ndim, 'sort'), indices), indices];
}

export function argsort(x: Tensor, dim: number, descending: boolean): Tensor {
  A.boolArg(descending, 'argsort', 'descending', false);
  return alongDim(x, dim, 'argsort', (t, d) => sortOrder(t.transpose(d, -1), descending).transpose(d, -1));
}

/** The k largest (or smallest) elements along `dim`, in sorted order, and their int32 indices. */
export function topk(x: Tensor, k: number, dim: number, largest: boolean, sorted: boolean): [Tensor, Tensor] {
  A.intArg(k, 'topk', 'k', 0); A.dimArg(dim, 'topk');
  A.boolArg(largest, 'topk', 'largest', true); A.boolArg(sorted, 'topk', 'sorted', true);
  const d = normalizeDim(dim, x.ndim, 'topk', x.shape);
  const n = x.ndim === 0 ? 1 : x.shape[d]!;
  if (k > n) {
    throw new EinjitError(`selected index k out of range: k = ${k} but dimension ${d} has ${n} element${n === 1 ? '' : 's'}`, {
      op: 'topk', shapes: [x.shape], hint: `k must be in 0..${n}`,
    });
  }
  if (x.ndim === 0) {
    const [values, indices] = sort(x.reshape([1]), 0, largest);
    return k === 1 ? [values.reshape([]), indices.reshape([])] : [values.slice(0, 0, 0), indices.slice(0, 0, 0)];
  }
  const t = x.transpose(d, -1);
  // k rounds cost O(k·n) per row and a kernel launch or ten each; the full sort O(n²) in a few launches.
  const order = k === 0 ? full([...t.shape.slice(0, -1), 0], 0, { dtype: 'int32', device: x.device })
    : k <= 64 && k * k <= n ? leadingOrder(t, k, largest) : sortOrder(t, largest).slice(-1, 0, k);
  const indices = order.transpose(d, -1).contiguous();
  return [pick(x, d, indices), indices];
}

// -------------------------------------------------------------------------------------------------------------
// gather, scatter

/** Σ over `dim` of where(hits, values, 0): a select, so inf or NaN away from the hits does not leak in. */
function selectSum(hits: Tensor, values: Tensor, dim: number, dtype: DType): Tensor {
  if (dtype === 'bool') return selectSum(hits, values.cast('int32'), dim, 'int32').cast('bool');
  return ops.reduceDims('sum', ops.where(hits, values, 0), dim, false, dtype);
}

/** hits[..., j, k] = index[..., j] == k, with `d` moved last: [..., m, n]. */
function hitsOf(index: Tensor, d: number, n: number): Tensor {
  return index.transpose(d, -1).unsqueeze(-1).eq(positions(n, index.device));
}

/** `t` cut to the first `shape[k]` elements of every dim k but `except`. */
function cutTo(t: Tensor, shape: readonly number[], except = -1): Tensor {
  let v = t;
  shape.forEach((m, k) => { if (k !== except && m < t.shape[k]!) v = v.slice(k, 0, m); });
  return v;
}

/** gather with indices already checked: out[..., j, ...] = x[..., index[..., j, ...], ...] along d. */
function pick(x: Tensor, d: number, index: Tensor): Tensor {
  const src = cutTo(x, index.shape, d);
  return selectSum(hitsOf(index, d, x.shape[d]!), src.transpose(d, -1).unsqueeze(-2), -1, x.dtype).transpose(d, -1);
}

function rankError(op: string, x: Tensor, index: Tensor, what: string): EinjitError {
  return new EinjitError(`index tensor must have the same number of dimensions as ${what} (${index.ndim} vs ${x.ndim})`, {
    op, shapes: [x.shape, index.shape], hint: 'unsqueeze or reshape the index so every dimension lines up',
  });
}

/** Checks the index of gather/scatter/scatterAdd against self (and src) and returns the normalized dim. */
function checkIndexOp(op: string, x: Tensor, dim: number, index: Tensor, src: Tensor | null): number {
  A.dimArg(dim, op); A.tensorArg(index, op, 'index');
  ops.sameDevice(op, src === null ? [x, index] : [x, index, src]);
  if (index.ndim !== x.ndim) throw rankError(op, x, index, 'the input');
  if (src !== null && src.ndim !== x.ndim) throw rankError(op, src, index, 'src');
  const d = normalizeDim(dim, x.ndim, op, x.shape);
  index.shape.forEach((m, k) => {
    const limits: [string, number | undefined][] = [['src', src?.shape[k]], ['the input', k === d ? undefined : x.shape[k]]];
    for (const [name, n] of limits) {
      if (n !== undefined && m > n) {
        throw new EinjitError(`size ${m} of the index at dimension ${k} exceeds size ${n} of ${name} there`, {
          op, shapes: [x.shape, index.shape, ...(src !== null ? [src.shape] : [])],
          hint: op === 'gather' ? `the index may be smaller than the input in every dimension but ${d}`
            : `the index may be smaller than src everywhere, and than the input in every dimension but ${d}`,
        });
      }
    }
  });
  checkIndices(index, x.ndim === 0 ? 1 : x.shape[d]!, op, `positions along dimension ${d}`);
  return d;
}

/** PyTorch's gather: out[i][j] = x[i][index[i][j]] for dim 1. The index is int32, of x's rank. */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  const d = checkIndexOp('gather', x, dim, index, null);
  return x.ndim === 0 ? pick(x.reshape([1]), 0, index.reshape([1])).reshape([]) : pick(x, d, index);
}

/** `t`, padded with `value` at the end of each dim to `shape`. The padding joins by cat, so gradients pass. */
function padTo(t: Tensor, shape: readonly number[], value: number | boolean): Tensor {
  let v = t;
  shape.forEach((n, k) => {
    if (v.shape[k]! < n) v = ops.cat([v, full(v.shape.map((m, i) => (i === k ? n - m : m)), value, { dtype: v.dtype, device: v.device })], k);
  });
  return v;
}

/** src (cut to the index's shape) moved along d to the positions `hits` names, summed where several land. */
function spread(hits: Tensor, src: Tensor, index: Tensor, d: number, shape: readonly number[]): Tensor {
  const moved = cutTo(src, index.shape).transpose(d, -1).unsqueeze(-1);
  return padTo(selectSum(hits, moved, -2, src.dtype).transpose(d, -1), shape, 0);
}

/** Runs a scatter on 0-d operands as 1-element vectors. */
function as1d(x: Tensor, index: Tensor, src: Tensor | number, fn: (x: Tensor, index: Tensor, src: Tensor | number) => Tensor): Tensor {
  return fn(x.reshape([1]), index.reshape([1]), typeof src === 'number' ? src : src.reshape([1])).reshape([]);
}

function checkSrc(op: string, x: Tensor, src: Tensor): void {
  if (src.dtype !== x.dtype) {
    throw new EinjitError(`${op} expects src of the input's dtype (${x.dtype}), got ${src.dtype}`, {
      op, shapes: [x.shape, src.shape], hint: `cast it first: src.cast('${x.dtype}')`,
    });
  }
}

/**
 * PyTorch's scatter (out of place): x with x[i][index[i][j]] = src[i][j] for dim 1, or = value for a number.
 * Where indices repeat, the last write wins, as on PyTorch's CPU.
 */
export function scatter(x: Tensor, dim: number, index: Tensor, src: Tensor | number): Tensor {
  if (typeof src === 'number') A.numberArg(src, 'scatter', 'value'); else A.tensorArg(src, 'scatter', 'src');
  const d = checkIndexOp('scatter', x, dim, index, typeof src === 'number' ? null : src);
  if (typeof src !== 'number') checkSrc('scatter', x, src);
  if (x.ndim === 0) return as1d(x, index, src, (a, i, s) => scatter(a, 0, i, s));
  if (index.size === 0) return x.clone();
  const hits = hitsOf(index, d, x.shape[d]!);
  const covered = padTo(hits.any(-2).transpose(d, -1), x.shape, false);
  if (typeof src === 'number') return ops.where(covered, src, x).cast(x.dtype);
  // A hit counts only when no later j of its row hits the same position.
  const j = positions(index.shape[d]!, x.device).unsqueeze(-1);
  const last = ops.reduceDims('max', ops.where(hits, j, -1), -2, true);
  return ops.where(covered, spread(hits.logicalAnd(j.eq(last)), src, index, d, x.shape), x);
}

/** PyTorch's scatter_add (out of place): x with src[i][j] added at x[i][index[i][j]] for dim 1. */
export function scatterAdd(x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  A.tensorArg(src, 'scatterAdd', 'src');
  const d = checkIndexOp('scatterAdd', x, dim, index, src);
  checkSrc('scatterAdd', x, src);
  if (x.dtype === 'bool') {
    throw new EinjitError('scatterAdd needs a numeric tensor, got bool', { op: 'scatterAdd', shapes: [x.shape], hint: 'cast with .int() first' });
  }
  if (x.ndim === 0) return as1d(x, index, src, (a, i, s) => scatterAdd(a, 0, i, s as Tensor));
  if (index.size === 0) return x.clone();
  return x.add(spread(hitsOf(index, d, x.shape[d]!), src, index, d, x.shape));
}

/** x with `value` where `mask` (bool, broadcast to x's shape) is true; x's dtype is kept. */
export function maskedFill(x: Tensor, mask: Tensor, value: Tensor | number): Tensor {
  A.tensorArg(mask, 'maskedFill', 'mask');
  if (typeof value === 'number') A.numberArg(value, 'maskedFill', 'value'); else A.tensorArg(value, 'maskedFill', 'value');
  if (mask.dtype !== 'bool') {
    throw new EinjitError(`maskedFill expects a bool mask, got ${mask.dtype}`, {
      op: 'maskedFill', shapes: [x.shape, mask.shape], hint: 'compare to make one (x.gt(0)), or cast with .bool()',
    });
  }
  const shape = broadcastShapes([x.shape, mask.shape], 'maskedFill');
  if (shape.length !== x.ndim || shape.some((n, i) => n !== x.shape[i])) {
    throw new EinjitError(`the mask of shape ${formatShape(mask.shape)} does not broadcast to the input's shape ${formatShape(x.shape)}`, {
      op: 'maskedFill', shapes: [x.shape, mask.shape], hint: 'the result has the input\'s shape; the mask may only broadcast up to it',
    });
  }
  if (typeof value !== 'number' && value.ndim !== 0) {
    throw new EinjitError(`maskedFill only fills with a number or a 0-d tensor, got a tensor of shape ${formatShape(value.shape)}`, {
      op: 'maskedFill', shapes: [x.shape, value.shape], hint: 'use where(mask, values, x) to fill from a tensor',
    });
  }
  return ops.where(mask, value, x).cast(x.dtype);
}

// -------------------------------------------------------------------------------------------------------------
// Shapes of data: triangles, outer, roll, flip, repeatInterleave

/** Keeps the elements of the last two dims whose (column - row) passes `keep`; the rest become 0. */
function triangle(x: Tensor, diagonal: number, op: string, keep: (offset: Tensor) => Tensor): Tensor {
  A.intArg(diagonal, op, 'diagonal');
  if (x.ndim < 2) {
    throw new EinjitError(`${op} needs a tensor with at least 2 dimensions, got ${x.ndim}`, {
      op, shapes: [x.shape], hint: 'make a vector a row first: x.unsqueeze(0)',
    });
  }
  const h = x.shape[x.ndim - 2]!;
  const w = x.shape[x.ndim - 1]!;
  const offset = positions(w, x.device).unsqueeze(0).sub(positions(h, x.device).unsqueeze(1));
  return ops.where(keep(offset), x, 0).cast(x.dtype);
}

export function tril(x: Tensor, diagonal: number): Tensor {
  return triangle(x, diagonal, 'tril', (offset) => offset.le(diagonal));
}

export function triu(x: Tensor, diagonal: number): Tensor {
  return triangle(x, diagonal, 'triu', (offset) => offset.ge(diagonal));
}

export function outer(a: Tensor, b: Tensor): Tensor {
  A.tensorArg(b, 'outer', 'other');
  if (a.ndim !== 1 || b.ndim !== 1) {
    throw new EinjitError(`outer expects two 1-D tensors, got ${a.ndim}-D and ${b.ndim}-D`, {
      op: 'outer', shapes: [a.shape, b.shape], hint: 'flatten them first: a.flatten().outer(b.flatten())',
    });
  }
  return a.unsqueeze(1).mul(b.unsqueeze(0));
}

/** Rolls elements along dims (wrapping around); without dims, over the flattened tensor. Always a new tensor. */
export function roll(x: Tensor, shifts: number | readonly number[], dims?: number | readonly number[]): Tensor {
  const s = typeof shifts === 'number' ? [A.intArg(shifts, 'roll', 'shifts')] : A.intListArg(shifts, 'roll', 'shifts');
  if (dims === undefined) {
    if (s.length !== 1) {
      throw new EinjitError(`without dims, roll takes one shift, got ${s.length}`, { op: 'roll', shapes: [x.shape], hint: 'pass one dim per shift' });
    }
    return roll(x.flatten(), s[0]!, 0).reshape(x.shape.slice());
  }
  const ds = typeof dims === 'number' ? [A.dimArg(dims, 'roll', 'dims')] : A.intListArg(dims, 'roll', 'dims');
  if (ds.length !== s.length) {
    throw new EinjitError(`shifts and dims must have the same length, got ${s.length} and ${ds.length}`, {
      op: 'roll', shapes: [x.shape], hint: 'pass one dim per shift: x.roll([1, -2], [0, 1])',
    });
  }
  let y = x;
  ds.forEach((dim, i) => {
    const d = normalizeDim(dim, x.ndim, 'roll', x.shape);
    const n = x.ndim === 0 ? 1 : x.shape[d]!;
    const k = n === 0 ? 0 : ((s[i]! % n) + n) % n;
    if (k !== 0) y = ops.cat([y.slice(d, n - k), y.slice(d, 0, n - k)], d);
  });
  return y === x ? x.clone() : y;
}

/** Reverses the order of elements along dims. A copy, as PyTorch's (a negatively strided view would alias x). */
export function flip(x: Tensor, dims: readonly number[]): Tensor {
  let y = x;
  for (const d of normalizeDims(A.intListArg(dims, 'flip', 'dims'), x.ndim, 'flip', x.shape)) y = y.slice(d, undefined, undefined, -1);
  return ops.contiguousCopy(y);
}

/**
 * Repeats each element `repeats` times along `dim` (over the flattened tensor without one): a number for every
 * element, or one count per element along the dim.
 */
export function repeatInterleave(x: Tensor, repeats: number | readonly number[], dim?: number): Tensor {
  const op = 'repeatInterleave';
  if (dim === undefined || x.ndim === 0) {
    if (dim !== undefined) normalizeDim(A.dimArg(dim, op), 0, op, x.shape);
    return repeatInterleave(x.flatten(), repeats, 0);
  }
  const d = normalizeDim(A.dimArg(dim, op), x.ndim, op, x.shape);
  const n = x.shape[d]!;
  const counts = typeof repeats === 'number' ? [A.intArg(repeats, op, 'repeats', 0, MAX_ELEMENTS)] : A.intListArg(repeats, op, 'repeats');
  if (counts.some((c) => c < 0)) throw new EinjitError(`repeats can not be negative, got ${describeValue(repeats)}`, { op, shapes: [x.shape] });
  if (counts.length === 1) {
    const r = counts[0]!;
    const wide = x.unsqueeze(d + 1).expand([...x.shape.slice(0, d + 1), r, ...x.shape.slice(d + 1)]);
    const out = wide.reshape([...x.shape.slice(0, d), n * r, ...x.shape.slice(d + 1)]);
    return out.storage === x.storage ? out.clone() : out;
  }
  if (counts.length !== n) {
    throw new EinjitError(`repeats must have one count per element along dimension ${d}: got ${counts.length} for ${n}`, {
      op, shapes: [x.shape], hint: 'or pass a single number to repeat every element as often',
    });
  }
  const from = counts.flatMap((c, i) => new Array<number>(c).fill(i));
  const shape = x.shape.map((m, k) => (k === d ? from.length : m));
  const index = makeTensor(from, { dtype: 'int32', device: x.device }).reshape(x.shape.map((_, k) => (k === d ? from.length : 1)));
  return from.length === 0 ? zerosOf(shape, x.dtype, x.device) : pick(x, d, index.expand(shape));
}
