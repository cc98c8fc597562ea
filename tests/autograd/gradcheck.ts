/**
 * Numerical gradient checking: central finite differences in float64 against the analytic gradient of the
 * autograd engine, for any function of several tensors, on contiguous and non-contiguous (strided, offset,
 * negatively strided) inputs alike.
 *
 * The function's output y is projected onto a fixed random direction v, so one backward pass (y.backward(v))
 * gives the whole analytic gradient of <y, v>. Each input element is then perturbed by ±eps in place (through
 * the input's own strides) and the change of <y, v> is summed element by element, which keeps the rounding
 * error near ulp(y)/eps instead of ulp(<y, v>)/eps.
 */
import { Tensor, tensor, noGrad, type NestedArray } from '../../src/index.js';
import { multiIndices, prng } from '../helpers/random.js';

export { prng };

export interface GradcheckOptions {
  /** Finite-difference step (default 1e-6). */
  readonly eps?: number;
  /** Relative tolerance (default 1e-6). */
  readonly rtol?: number;
  /** Absolute tolerance (default 1e-7). */
  readonly atol?: number;
  /** Seed of the projection direction. */
  readonly seed?: number;
  /** Inputs (by position) that are held constant: no gradient is asked for or checked. */
  readonly constant?: readonly number[];
}

export interface GradcheckResult {
  readonly analytic: number[][];
  readonly numeric: number[][];
}


/** A float64 tensor of `shape` with values uniform in [lo, hi). */
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
  const wide = tensor(new Float64Array(wideShape.reduce((a, b) => a * b, 1)), { shape: wideShape, dtype: 'float64' });
  const out = reversed ? wide.slice(-1, 2 * last - 1, undefined, -2) : wide.slice(-1, 1, undefined, 2);
  noGrad(() => out.copy_(t));
  return out;
}


function flatValues(t: Tensor): number[] {
  return Array.from(t.dataSync() as ArrayLike<number>);
}

/**
 * Checks the gradient of `fn` at `inputs` (float64 CPU tensors; any strides). Throws with the worst element
 * when analytic and numeric gradients differ by more than atol + rtol * |numeric|.
 */
export function gradcheck(fn: (...xs: Tensor[]) => Tensor, inputs: readonly Tensor[], options: GradcheckOptions = {}): GradcheckResult {
  const eps = options.eps ?? 1e-6;
  const rtol = options.rtol ?? 1e-6;
  const atol = options.atol ?? 1e-7;
  const constant = new Set(options.constant ?? []);
  for (const x of inputs) {
    if (x.dtype !== 'float64' || x.device !== 'cpu') throw new Error('gradcheck needs float64 CPU inputs');
  }

  // Analytic: leaves sharing the inputs' storage and strides.
  const leaves = inputs.map((x, i) => {
    const leaf = x.detach();
    if (!constant.has(i)) leaf.requiresGrad = true;
    return leaf;
  });
  const y = fn(...leaves);
  if (!(y instanceof Tensor)) throw new Error('gradcheck: fn must return a Tensor');
  const vData = new Float64Array(y.size);
  const next = prng(options.seed ?? 12345);
  for (let i = 0; i < vData.length; i++) vData[i] = 0.5 + next();
  const v = tensor(vData, { shape: y.shape.slice(), dtype: 'float64' });
  y.cast('float64').backward(v);
  const analytic = leaves.map((leaf, i) => {
    if (constant.has(i)) return [];
    if (leaf.grad === null) return new Array<number>(leaf.size).fill(0);
    const g = leaf.grad;
    if (g.shape.length !== leaf.shape.length || g.shape.some((n, d) => n !== leaf.shape[d])) {
      throw new Error(`gradcheck: input ${i} has shape [${leaf.shape.join(', ')}] but its grad has [${g.shape.join(', ')}]`);
    }
    return flatValues(g);
  });

  // Numeric: perturb each element through the input's strides.
  const f = (): number[] => noGrad(() => flatValues(fn(...inputs.map((x) => x.detach())).cast('float64')));
  const numeric = inputs.map((x, i) => {
    if (constant.has(i)) return [];
    const live = x.backend.readSync(x.storage, 'gradcheck') as Float64Array;
    return multiIndices(x.shape).map((idx) => {
      const at = idx.reduce((o, c, d) => o + c * x.strides[d]!, x.offset);
      const orig = live[at]!;
      live[at] = orig + eps;
      const plus = f();
      live[at] = orig - eps;
      const minus = f();
      live[at] = orig;
      let s = 0;
      for (let k = 0; k < plus.length; k++) s += vData[k]! * ((plus[k]! - minus[k]!) / (2 * eps));
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
    throw new Error(
      `gradcheck failed: input ${w.input} (shape [${inputs[w.input]!.shape.join(', ')}]) element ${w.index}: ` +
      `analytic ${w.a}, numeric ${w.n}\n  analytic: ${JSON.stringify(analytic[w.input])}\n  numeric:  ${JSON.stringify(numeric[w.input])}`,
    );
  }
  return { analytic, numeric };
}

/** Nested arrays of a tensor, for readable expectations. */
export function nested(t: Tensor): NestedArray {
  return t.toArray();
}
