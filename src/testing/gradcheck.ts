/**
 * Numerical gradient checking: central finite differences in float64 against the gradients backward()
 * computes, for any function of several tensors, on contiguous and non-contiguous (strided, offset, negatively
 * strided) inputs alike.
 *
 * The output y is projected onto a fixed random direction v, so one backward pass (y.backward(v)) gives the whole
 * analytic gradient of ⟨y, v⟩. Each input element is then moved by ±eps in place, through a one-element view of
 * the input (so through the input's own strides), and the change of ⟨y, v⟩ is summed element by element, which
 * keeps the rounding error near ulp(y)/eps instead of ulp(⟨y, v⟩)/eps.
 *
 * gradgradcheck checks second-order gradients the way PyTorch's does: the vector-Jacobian product
 * (x, u) ↦ uᵀ·J_f(x), computed by a recorded backward pass (grad with createGraph), is itself gradchecked, so
 * the gradient of every backward rule the function uses is compared with finite differences of that rule.
 */
import { EinjitError } from '../errors.js';
import { Tensor } from '../runtime/tensor.js';
import { tensor, zerosOf } from '../runtime/creation.js';
import { cat } from '../runtime/ops.js';
import { enableGrad, noGrad } from '../autograd/record.js';
import { grad } from '../autograd/functional.js';
import { AssertionError } from './assert.js';
import { multiIndices, prng } from './random.js';

export interface GradcheckOptions {
  /** Finite-difference step (default 1e-6). */
  readonly eps?: number;
  /** Relative tolerance (default 1e-6). */
  readonly rtol?: number;
  /** Absolute tolerance (default 1e-7). */
  readonly atol?: number;
  /** Seed of the projection direction (default 12345). */
  readonly seed?: number;
  /** Inputs (by position) held constant: no gradient is asked for or checked. */
  readonly constant?: readonly number[];
}

export interface GradcheckResult {
  /** Per input, the analytic gradient of ⟨f(inputs), v⟩ in row-major order (empty for constant inputs). */
  readonly analytic: number[][];
  /** The same by central differences. */
  readonly numeric: number[][];
}

/** A float64 CPU tensor of `shape` with values uniform in [lo, hi), from a seed. */
export function randomTensor(shape: readonly number[], seed: number, lo = -2, hi = 2): Tensor {
  const next = prng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = lo + (hi - lo) * next();
  return tensor(data, { shape: shape.slice(), dtype: 'float64' });
}

/**
 * The same values laid out non-contiguously: every other element of the last axis of a wider buffer, read
 * backwards when `reversed` (a negative stride and a non-zero offset). Scalars come back unchanged.
 */
export function nonContiguous(t: Tensor, reversed = false): Tensor {
  if (t.ndim === 0) return t;
  const last = t.shape[t.ndim - 1]!;
  const wideShape = [...t.shape.slice(0, -1), last * 2 + 1];
  const wide = tensor(new Float64Array(wideShape.reduce((a, b) => a * b, 1)), { shape: wideShape, dtype: t.dtype, device: t.device });
  const out = reversed ? wide.slice(-1, 2 * last - 1, undefined, -2) : wide.slice(-1, 1, undefined, 2);
  noGrad(() => out.copy_(t));
  return out;
}

function flatValues(t: Tensor): number[] {
  return Array.from(t.dataSync() as ArrayLike<number>, Number);
}

/** A one-element view of `t` at `idx` (shares t's storage). */
function elementView(t: Tensor, idx: readonly number[]): Tensor {
  let v = t;
  idx.forEach((i, d) => { v = v.slice(d, i, i + 1); });
  return v;
}

/**
 * Checks the gradient of `fn` at `inputs` (float64 CPU tensors, any strides). Throws an AssertionError naming the
 * worst element when analytic and numeric gradients differ by more than atol + rtol·|numeric|; returns both.
 *
 * @example
 * gradcheck((q, k) => einsum('id,jd->ij', q, k).softmax(-1), [randomTensor([3, 4], 1), randomTensor([5, 4], 2)]);
 */
export function gradcheck(fn: (...xs: Tensor[]) => Tensor, inputs: readonly Tensor[], options: GradcheckOptions = {}): GradcheckResult {
  if (typeof fn !== 'function') throw new EinjitError('gradcheck needs a function of tensors', { op: 'gradcheck', hint: 'pass (x, y) => ... returning a Tensor' });
  const eps = options.eps ?? 1e-6;
  const rtol = options.rtol ?? 1e-6;
  const atol = options.atol ?? 1e-7;
  const constant = new Set(options.constant ?? []);
  inputs.forEach((x, i) => {
    if (!(x instanceof Tensor) || x.dtype !== 'float64' || x.device !== 'cpu') {
      throw new EinjitError(`gradcheck needs float64 CPU inputs; input ${i} is ${x instanceof Tensor ? `${x.dtype} on '${x.device}'` : 'not a Tensor'}`, {
        op: 'gradcheck', hint: "cast with x.double() and move with await x.to('cpu'): finite differences need float64",
      });
    }
  });

  // Analytic: leaves sharing the inputs' storage and strides.
  const leaves = inputs.map((x, i) => {
    const leaf = x.detach();
    if (!constant.has(i)) leaf.requiresGrad = true;
    return leaf;
  });
  const y = fn(...leaves);
  if (!(y instanceof Tensor)) throw new EinjitError('gradcheck: fn must return a Tensor', { op: 'gradcheck', hint: 'return the tensor whose gradient is checked' });
  const vData = new Float64Array(y.size);
  const next = prng(options.seed ?? 12345);
  for (let i = 0; i < vData.length; i++) vData[i] = 0.5 + next();
  const v = tensor(vData, { shape: y.shape.slice(), dtype: 'float64' });
  // An output that does not require grad has a zero gradient, which the numeric side must then confirm.
  if (y.requiresGrad) y.cast('float64').backward(v);
  const analytic = leaves.map((leaf, i) => {
    if (constant.has(i)) return [];
    if (leaf.grad === null) return new Array<number>(leaf.size).fill(0);
    const g = leaf.grad;
    if (g.shape.length !== leaf.shape.length || g.shape.some((n, d) => n !== leaf.shape[d])) {
      throw new AssertionError(`gradcheck: input ${i} has shape [${leaf.shape.join(', ')}] but its grad has [${g.shape.join(', ')}]`);
    }
    return flatValues(g);
  });

  // Numeric: move each element in place through a one-element view, evaluate, restore.
  const f = (): number[] => noGrad(() => flatValues(fn(...inputs.map((x) => x.detach())).cast('float64')));
  const numeric = inputs.map((x, i) => {
    if (constant.has(i)) return [];
    const base = flatValues(x);
    const live = x.detach();
    return multiIndices(x.shape).map((idx, k) => {
      const cell = elementView(live, idx);
      const orig = base[k]!;
      noGrad(() => cell.copy_(orig + eps));
      const plus = f();
      noGrad(() => cell.copy_(orig - eps));
      const minus = f();
      noGrad(() => cell.copy_(orig));
      let s = 0;
      for (let j = 0; j < plus.length; j++) s += vData[j]! * ((plus[j]! - minus[j]!) / (2 * eps));
      return s;
    });
  });

  let worst: { input: number; index: number; a: number; n: number; excess: number } | null = null;
  analytic.forEach((as, i) => as.forEach((a, j) => {
    const n = numeric[i]![j]!;
    const excess = Math.abs(a - n) - (atol + rtol * Math.abs(n));
    if (!(excess <= 0) && (worst === null || !(excess <= worst.excess))) worst = { input: i, index: j, a, n, excess };
  }));
  if (worst !== null) {
    const w = worst as { input: number; index: number; a: number; n: number };
    throw new AssertionError(
      `gradcheck failed: input ${w.input} (shape [${inputs[w.input]!.shape.join(', ')}]) element ${w.index}: ` +
      `analytic ${w.a}, numeric ${w.n}\n  analytic: ${JSON.stringify(analytic[w.input])}\n  numeric:  ${JSON.stringify(numeric[w.input])}`,
    );
  }
  return { analytic, numeric };
}

/**
 * Checks the second-order gradients of `fn` at `inputs` (float64 CPU tensors, any strides), as PyTorch's
 * gradgradcheck: with a random cotangent u of fn's output shape (values in [0.5, 1.5) from `seed` + 1), the
 * vector-Jacobian product (inputs, u) ↦ uᵀ·J_fn(inputs), computed by a recorded backward pass, is gradchecked
 * with respect to the inputs and to u. The result's last entry is u's. Inputs in `constant` are neither
 * differentiated once nor twice. Throws an AssertionError naming the worst element.
 *
 * @example
 * gradgradcheck((x, w) => x.matmul(w).tanh(), [randomTensor([2, 3], 1), randomTensor([3, 2], 2)]);
 */
export function gradgradcheck(fn: (...xs: Tensor[]) => Tensor, inputs: readonly Tensor[], options: GradcheckOptions = {}): GradcheckResult {
  if (typeof fn !== 'function') throw new EinjitError('gradgradcheck needs a function of tensors', { op: 'gradgradcheck', hint: 'pass (x, y) => ... returning a Tensor' });
  const constant = new Set(options.constant ?? []);
  const n = inputs.length;
  const varying = inputs.map((_, i) => i).filter((i) => !constant.has(i));
  if (varying.length === 0) throw new EinjitError('gradgradcheck: every input is constant, nothing to check', { op: 'gradgradcheck' });
  const y0 = noGrad(() => fn(...inputs.map((x) => x.detach())));
  if (!(y0 instanceof Tensor)) throw new EinjitError('gradgradcheck: fn must return a Tensor', { op: 'gradgradcheck', hint: 'return the tensor whose gradient is checked' });
  const u = randomTensor(y0.shape, (options.seed ?? 12345) + 1, 0.5, 1.5);

  // The vector-Jacobian product as a function of the inputs and u, flattened into one vector. gradcheck calls it
  // with leaves that require grad (the analytic side) and under noGrad with plain tensors (the numeric side), so
  // it records regardless and makes leaves of the inputs that are not.
  const vjpOf = (...xs: Tensor[]): Tensor => enableGrad(() => {
    const ins = xs.slice(0, n).map((x, i) => {
      if (constant.has(i) || x.requiresGrad) return x;
      const leaf = x.detach();
      leaf.requiresGrad = true;
      return leaf;
    });
    const wrt = varying.map((i) => ins[i]!);
    const y = fn(...ins).cast('float64');
    const gs = y.requiresGrad ? grad([y], wrt, { gradOutputs: [xs[n]!], createGraph: true, allowUnused: true }) : wrt.map(() => null);
    return cat(gs.map((g, k) => (g ?? zerosOf(wrt[k]!.shape, 'float64', 'cpu')).reshape([-1])), 0);
  });
  try {
    return gradcheck(vjpOf, [...inputs, u], options);
  } catch (e) {
    if (!(e instanceof AssertionError)) throw e;
    throw new AssertionError(e.message.replace(/^gradcheck failed: input (\d+)/, (_, i: string) =>
      `gradgradcheck failed: the gradient of the vector-Jacobian product with respect to ${Number(i) === n ? 'the cotangent' : `input ${i}`}`));
  }
}
