/**
 * Creating tensors: from JS data, filled, ranges, identity, and seeded random numbers.
 */
import { EinjitError, describeValue } from '../errors.js';
import { ex } from '../lower/spec.js';
import { buildLoop } from '../lower/loops.js';
import { checkDevice, getBackend, getDefaultDevice, type Device } from './backend.js';
import { checkDType, computeTypeOf, dtypeOfArray, type DType } from './dtype.js';
import { allocateArray, type TypedArray } from '../lower/backend.js';
import { checkShape, numel } from './shape.js';
import { boolArg, createOptionsArg, intArg, numberArg, optionsArg, tensorArg } from './args.js';
import { Tensor, type NestedArray } from './tensor.js';
import { random } from './random.js';

export interface CreateOptions {
  readonly dtype?: DType;
  readonly device?: Device;
  readonly requiresGrad?: boolean;
}

export interface TensorOptions extends CreateOptions {
  /** Shape for flat data (a typed array or a flat JS array). */
  readonly shape?: readonly number[];
}

function finish(t: Tensor, options: CreateOptions): Tensor {
  if (options.requiresGrad) t.requiresGrad = true;
  return t;
}

/** Wraps host data as a tensor on the requested device (copying unless `share`). */
function fromHost(data: TypedArray, dtype: DType, shape: readonly number[], options: CreateOptions, share: boolean, op: string): Tensor {
  const device = options.device === undefined ? getDefaultDevice() : checkDevice(options.device, op);
  const backend = getBackend(device, op);
  return finish(new Tensor(backend.fromArray(dtype, data, share && device === 'cpu'), shape), options);
}

function hostArray(dtype: DType, values: ArrayLike<number>): TypedArray {
  const out = allocateArray(dtype, values.length);
  if (dtype === 'bool') for (let i = 0; i < values.length; i++) out[i] = values[i] ? 1 : 0;
  else (out as { set(a: ArrayLike<number>): void }).set(values);
  return out;
}

/**
 * A tensor holding a copy of `data`: a number, a boolean, nested arrays, or a typed array (with `shape`).
 * Numbers become float32 unless `dtype` says otherwise; booleans become bool.
 *
 * @example
 * const x = tensor([[1, 2], [3, 4]]);              // float32, shape [2, 2]
 * const y = tensor(new Float32Array(24), { shape: [2, 3, 4] });
 */
export function tensor(data: NestedArray | TypedArray | Tensor, opts: TensorOptions = {}): Tensor {
  const options: TensorOptions = { ...createOptionsArg(opts, 'tensor'), shape: optionsArg<TensorOptions>(opts, 'tensor').shape };
  if (data instanceof Tensor) {
    const t = data.detach().clone().detach();
    return finish(options.dtype ? t.cast(checkDType(options.dtype, 'tensor')) : t, options);
  }
  const arrayDtype = dtypeOfArray(data);
  if (arrayDtype !== undefined) {
    const typed = data as TypedArray;
    const shape = options.shape === undefined ? [typed.length] : checkShape(options.shape, 'tensor');
    checkCount(shape, typed.length, 'tensor');
    const dtype = options.dtype === undefined ? arrayDtype : checkDType(options.dtype, 'tensor');
    checkValuesFit(dtype, typed as ArrayLike<number>, 'tensor');
    return fromHost(hostArray(dtype, typed as ArrayLike<number>), dtype, shape, options, false, 'tensor');
  }
  const { shape: nestedShape, flat, sawBoolean, sawNumber } = flattenNested(data as NestedArray);
  // Booleans alone make a bool tensor; mixed with numbers they count as 0 and 1 (PyTorch's tensor([True, 2])).
  const dtype = options.dtype === undefined ? (sawBoolean && !sawNumber ? 'bool' : 'float32') : checkDType(options.dtype, 'tensor');
  let shape = nestedShape;
  if (options.shape !== undefined) {
    shape = checkShape(options.shape, 'tensor');
    checkCount(shape, flat.length, 'tensor');
  }
  checkValuesFit(dtype, flat, 'tensor');
  return fromHost(hostArray(dtype, flat), dtype, shape, options, false, 'tensor');
}

/** A float64 scratch array for host-side values; a size memory cannot hold is an EinjitError, not a RangeError. */
function hostScratch(n: number, op: string): Float64Array {
  try {
    return new Float64Array(n);
  } catch (e) {
    throw new EinjitError(`cannot allocate ${n} elements: ${e instanceof Error ? e.message : String(e)}`, {
      op,
      hint: 'the tensor is too large for memory; use a smaller shape',
    });
  }
}

function checkCount(shape: readonly number[], count: number, op: string): void {
  if (numel(shape) !== count) {
    throw new EinjitError(`shape [${shape.join(', ')}] needs ${numel(shape)} elements but the data has ${count}`, {
      op,
      hint: 'the shape must describe exactly the elements given',
    });
  }
}

/** The shape of a `*Like` function's tensor argument (checked first, so the error names that function). */
function likeShape(t: unknown): readonly number[] {
  return t instanceof Tensor ? t.shape : [];
}

/**
 * einjit has no int64: an int32 tensor refuses values it cannot hold instead of wrapping them (PyTorch would
 * make an int64 tensor of `tensor([1e10])`; a silent 1410065408 is worse than an error). Fractions truncate
 * toward zero, as a cast does.
 */
function checkValuesFit(dtype: DType, values: ArrayLike<number>, op: string): void {
  if (dtype !== 'int32') return;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!(v > -2147483649 && v < 2147483648)) {
      throw new EinjitError(`value ${v} does not fit in int32 (-2147483648..2147483647)`, {
        op,
        hint: "einjit has no int64; use dtype 'float64' for larger integers (exact up to 2^53)",
      });
    }
  }
}

/** The deepest nesting tensor() reads: more dimensions than any real tensor, far fewer than the stack allows. */
const MAX_NESTING = 64;

function flattenNested(data: NestedArray): { shape: number[]; flat: number[]; sawBoolean: boolean; sawNumber: boolean } {
  const flat: number[] = [];
  let sawBoolean = false;
  let sawNumber = false;
  const shape: number[] = [];
  // Discover the shape along the first elements, then check every element against it.
  let probe: NestedArray = data;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    if (shape.length > MAX_NESTING) {
      throw new EinjitError(`the data is nested more than ${MAX_NESTING} levels deep`, {
        op: 'tensor', hint: 'a tensor built from nested arrays has one level per dimension',
      });
    }
    if (probe.length === 0) break;
    probe = probe[0] as NestedArray;
  }
  checkShape(shape, 'tensor', 'the data\'s shape');
  const walk = (x: NestedArray, dim: number): void => {
    if (Array.isArray(x)) {
      if (dim >= shape.length || x.length !== shape[dim]) {
        throw new EinjitError(`expected a sequence of length ${shape[dim] ?? 0} at dim ${dim} (got ${x.length})`, {
          op: 'tensor',
          hint: 'nested arrays must be rectangular',
        });
      }
      for (const y of x) walk(y as NestedArray, dim + 1);
      return;
    }
    if (dim !== shape.length) {
      throw new EinjitError(`expected a sequence at dim ${dim}, got a scalar`, { op: 'tensor', hint: 'nested arrays must be rectangular' });
    }
    if (typeof x === 'boolean') {
      sawBoolean = true;
      flat.push(x ? 1 : 0);
    } else if (typeof x === 'number') {
      sawNumber = true;
      flat.push(x);
    } else {
      throw new EinjitError(`cannot make a tensor element from ${describeValue(x)}`, { op: 'tensor', hint: 'use numbers or booleans' });
    }
  };
  walk(data, 0);
  return { shape, flat, sawBoolean, sawNumber };
}

/**
 * Wraps a typed array WITHOUT copying (PyTorch's from_numpy): writes through either are seen by the other.
 * CPU only.
 *
 * @example
 * const data = new Float32Array([1, 2, 3, 4]);
 * const t = fromArray(data, [2, 2]);
 * data[0] = 10;            // t sees the write: tensor([[10., 2.], [3., 4.]])
 */
export function fromArray(data: TypedArray, shape?: readonly number[], options: { requiresGrad?: boolean } = {}): Tensor {
  const dtype = dtypeOfArray(data);
  if (dtype === undefined) {
    throw new EinjitError('fromArray expects a Float32Array, Float64Array, Int32Array, Uint8Array (bool) or Float16Array', {
      op: 'fromArray',
      hint: 'use tensor(data) to copy other data',
    });
  }
  const s = shape === undefined ? [data.length] : checkShape(shape, 'fromArray');
  checkCount(s, data.length, 'fromArray');
  const o = optionsArg<{ requiresGrad: unknown }>(options, 'fromArray');
  return fromHost(data, dtype, s, { device: 'cpu', requiresGrad: boolArg(o.requiresGrad, 'fromArray', 'requiresGrad', false) }, true, 'fromArray');
}

/**
 * A tensor of `shape` with every element `value`.
 *
 * @example
 * const t = full([2, 2], 7);                     // tensor([[7., 7.], [7., 7.]])
 */
export function full(shape: readonly number[], value: number | boolean, options: CreateOptions = {}): Tensor {
  return fillAs('full', shape, value, options);
}

/** full() under the name of the function the caller called (zeros, onesLike, ...), so errors name it. */
function fillAs(op: string, shape: unknown, value: unknown, opts: unknown): Tensor {
  const options = createOptionsArg(opts, op);
  const s = checkShape(shape, op);
  if (typeof value !== 'number' && typeof value !== 'boolean') {
    throw new EinjitError(`the fill value must be a number or a boolean, got ${describeValue(value)}`, { op });
  }
  const dtype = options.dtype ?? (typeof value === 'boolean' ? 'bool' : 'float32');
  checkValuesFit(dtype, [Number(value)], op);
  const device = options.device ?? getDefaultDevice();
  const backend = getBackend(device, op);
  const v = Number(value);
  // +0 comes zero-filled from the backend; any other value (-0 too) is written by a fill kernel.
  const zero = Object.is(v, 0);
  const t = new Tensor(zero ? backend.allocateZeroed(dtype, numel(s)) : backend.allocate(dtype, numel(s)), s);
  if (!zero && t.size > 0) {
    const spec = buildLoop({
      label: `fill with ${v}`, outShape: s, inputs: [],
      output: { dtype, offset: 0, strides: t.strides }, expr: ex.const(v), computeType: computeTypeOf(dtype),
    });
    backend.run(spec, [], t.storage);
  }
  return finish(t, options);
}

/**
 * A tensor of `shape` filled with 0 (float32 unless `dtype` says otherwise).
 *
 * @example
 * const z = zeros([2, 3]);                       // tensor([[0., 0., 0.], [0., 0., 0.]])
 */
export function zeros(shape: readonly number[], options: CreateOptions = {}): Tensor {
  return fillAs('zeros', shape, 0, options);
}
/**
 * A tensor of `shape` filled with 1.
 *
 * @example
 * const o = ones([3], { dtype: 'int32' });       // tensor([1, 1, 1])
 */
export function ones(shape: readonly number[], options: CreateOptions = {}): Tensor {
  return fillAs('ones', shape, 1, options);
}
/**
 * An uninitialised tensor in PyTorch; einjit's is zeroed.
 *
 * @example
 * const t = empty([2, 3]);                       // zeros in einjit
 */
export function empty(shape: readonly number[], options: CreateOptions = {}): Tensor {
  return fillAs('empty', shape, 0, options);
}

/** @internal zeros/ones with an explicit dtype and device, for gradient rules. */
export function zerosOf(shape: readonly number[], dtype: DType, device: Device): Tensor {
  return full(shape, 0, { dtype, device });
}
export function onesOf(shape: readonly number[], dtype: DType, device: Device): Tensor {
  return full(shape, 1, { dtype, device });
}

function likeOptions(t: unknown, options: unknown, op: string): CreateOptions {
  const x = tensorArg(t, op);
  const o = createOptionsArg(options, op);
  return { dtype: o.dtype ?? x.dtype, device: o.device ?? x.device, requiresGrad: o.requiresGrad };
}
/**
 * Zeros with the shape, dtype and device of `t` (options override).
 *
 * @example
 * const g = zerosLike(x);
 */
export function zerosLike(t: Tensor, options: CreateOptions = {}): Tensor {
  return fillAs('zerosLike', likeShape(t), 0, likeOptions(t, options, 'zerosLike'));
}
/**
 * Ones with the shape, dtype and device of `t` (options override).
 *
 * @example
 * const m = onesLike(x, { dtype: 'bool' });
 */
export function onesLike(t: Tensor, options: CreateOptions = {}): Tensor {
  return fillAs('onesLike', likeShape(t), 1, likeOptions(t, options, 'onesLike'));
}
/**
 * A tensor like `t`, filled with `value`.
 *
 * @example
 * const t = fullLike(x, -1);
 */
export function fullLike(t: Tensor, value: number, options: CreateOptions = {}): Tensor {
  return fillAs('fullLike', likeShape(t), value, likeOptions(t, options, 'fullLike'));
}
/**
 * Uniform samples in [0, 1) with the shape, dtype and device of `t`.
 *
 * @example
 * const noise = randLike(x);
 */
export function randLike(t: Tensor, options: CreateOptions = {}): Tensor {
  return sample('randLike', likeShape(t), likeOptions(t, options, 'randLike'), () => random.uniform());
}
/**
 * Standard normal samples with the shape, dtype and device of `t`.
 *
 * @example
 * const noise = randnLike(x).mul(0.1);
 */
export function randnLike(t: Tensor, options: CreateOptions = {}): Tensor {
  return sample('randnLike', likeShape(t), likeOptions(t, options, 'randnLike'), () => random.normal());
}

/**
 * Values start, start+step, ... below end (PyTorch's arange). With one argument it counts from 0. The dtype is
 * int32 when every argument is an integer, else float32.
 *
 * @example
 * arange(5);                                     // tensor([0, 1, 2, 3, 4])
 * arange(0, 1, 0.25);                            // tensor([0.0000, 0.2500, 0.5000, 0.7500])
 */
export function arange(start: number, end?: number, step = 1, opts: CreateOptions = {}): Tensor {
  const options = createOptionsArg(opts, 'arange');
  numberArg(start, 'arange', 'start', { finite: true });
  const [lo, hi] = end === undefined ? [start, start].map((v, i) => (i === 0 ? 0 : v)) as [number, number]
    : [start, numberArg(end, 'arange', 'end', { finite: true })];
  numberArg(step, 'arange', 'step', { finite: true });
  if (step === 0) throw new EinjitError('arange step must be nonzero', { op: 'arange' });
  if ((hi - lo) * step < 0) {
    throw new EinjitError('upper bound and larger bound inconsistent with step sign', {
      op: 'arange', hint: `from ${lo} to ${hi} needs a ${hi > lo ? 'positive' : 'negative'} step`,
    });
  }
  const n = Math.max(0, Math.ceil((hi - lo) / step));
  checkShape([n], 'arange', 'the number of values');
  const integral = Number.isInteger(lo) && Number.isInteger(hi) && Number.isInteger(step);
  const dtype = options.dtype ?? (integral ? 'int32' : 'float32');
  const values = hostScratch(n, 'arange');
  for (let i = 0; i < n; i++) values[i] = lo + i * step;
  checkValuesFit(dtype, [lo, n > 0 ? values[n - 1]! : lo], 'arange');
  return fromHost(hostArray(dtype, values), dtype, [n], options, false, 'arange');
}

/**
 * `steps` evenly spaced values from start to end inclusive.
 *
 * @example
 * linspace(0, 1, 5);                             // tensor([0.0000, 0.2500, 0.5000, 0.7500, 1.0000])
 */
export function linspace(start: number, end: number, steps: number, opts: CreateOptions = {}): Tensor {
  const options = createOptionsArg(opts, 'linspace');
  numberArg(start, 'linspace', 'start', { finite: true });
  numberArg(end, 'linspace', 'end', { finite: true });
  checkShape([intArg(steps, 'linspace', 'the number of steps', 0)], 'linspace', 'the number of steps');
  const dtype = options.dtype ?? 'float32';
  const values = hostScratch(steps, 'linspace');
  const delta = steps > 1 ? (end - start) / (steps - 1) : 0;
  // Symmetric evaluation from both ends, as PyTorch does, so the last value is exactly `end`.
  const half = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) values[i] = i < half ? start + i * delta : end - (steps - 1 - i) * delta;
  if (steps === 1) values[0] = start;
  return fromHost(hostArray(dtype, values), dtype, [steps], options, false, 'linspace');
}

/**
 * The n×m identity.
 *
 * @example
 * eye(2);                                        // tensor([[1., 0.], [0., 1.]])
 */
export function eye(n: number, m = n, opts: CreateOptions = {}): Tensor {
  const options = createOptionsArg(opts, 'eye');
  checkShape([n, m], 'eye', 'the size [n, m]');
  const dtype = options.dtype ?? 'float32';
  const values = hostScratch(n * m, 'eye');
  for (let i = 0; i < Math.min(n, m); i++) values[i * m + i] = 1;
  return fromHost(hostArray(dtype, values), dtype, [n, m], options, false, 'eye');
}

/**
 * Uniform samples in [0, 1) from the global generator (seed it with manualSeed).
 *
 * @example
 * manualSeed(0);
 * const u = rand([2, 3]);                        // uniform in [0, 1)
 */
export function rand(shape: readonly number[], options: CreateOptions = {}): Tensor {
  return sample('rand', shape, options, () => random.uniform());
}

/** Samples `draw()` into a fresh tensor of `shape`, under the name of the function the caller called. */
function sample(op: string, shape: unknown, opts: unknown, draw: () => number): Tensor {
  const options = createOptionsArg(opts, op);
  const s = checkShape(shape, op);
  const dtype = options.dtype ?? 'float32';
  const values = hostScratch(numel(s), op);
  for (let i = 0; i < values.length; i++) values[i] = draw();
  return fromHost(hostArray(dtype, values), dtype, s, options, false, op);
}

/**
 * Standard normal samples from the global generator.
 *
 * @example
 * manualSeed(0);
 * const w = randn([64, 32], { dtype: 'float64', requiresGrad: true });
 */
export function randn(shape: readonly number[], options: CreateOptions = {}): Tensor {
  return sample('randn', shape, options, () => random.normal());
}

/**
 * Integers uniform in [low, high).
 *
 * @example
 * const labels = randint(0, 10, [8]);            // int32 in [0, 10)
 */
export function randint(low: number, high: number, shape: readonly number[], opts: CreateOptions = {}): Tensor {
  const options = createOptionsArg(opts, 'randint');
  const s = checkShape(shape, 'randint');
  numberArg(low, 'randint', 'low', { finite: true });
  numberArg(high, 'randint', 'high', { finite: true });
  if (!(high > low)) throw new EinjitError(`randint needs low < high, got ${low} and ${high}`, { op: 'randint' });
  const dtype = options.dtype ?? 'int32';
  const values = hostScratch(numel(s), 'randint');
  for (let i = 0; i < values.length; i++) values[i] = low + Math.floor(random.uniform() * (high - low));
  checkValuesFit(dtype, [low, high - 1], 'randint');
  return fromHost(hostArray(dtype, values), dtype, s, options, false, 'randint');
}
