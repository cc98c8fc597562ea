/**
 * Tensor: a shape, strides and an offset over a storage owned by a backend.
 *
 * The class holds no element loops. Views (reshape, permute, slicing, expand, ...) only compute new strides;
 * everything that touches elements lowers to a kernel spec in ops.ts and runs on the tensor's backend.
 */
import { EinjitError, describeValue, formatShape } from '../errors.js';
import * as A from './args.js';
import type { Backend, Device, Storage } from './backend.js';
import { disposeStorage, getBackend, isDisposed } from './backend.js';
import type { DType } from './dtype.js';
import type { TypedArray } from '../lower/backend.js';
import { isFloating } from './dtype.js';
import {
  contiguousStrides, inferShape, isContiguous, normalizeDim, normalizeDims, numel, viewStrides, type Shape,
} from './shape.js';
import * as ops from './ops.js';
import { asStridedView } from './strided.js';
import * as C from './composite.js';
import type { NormOrder } from './composite.js';
import { formatTensor, INSPECT_CUSTOM } from './format.js';
import type { GradNode } from '../autograd/node.js';
import { grads } from '../autograd/rules.js';
import { backward as runBackward, type BackwardOptions } from '../autograd/backward.js';

export type NestedArray = number | boolean | readonly NestedArray[];
export type ReduceDims = number | readonly number[] | undefined;

/**
 * The einsum that `Tensor.einsum` calls. api/einsum.ts installs it when it loads (the package index loads it):
 * the API imports the runtime, so the runtime cannot import the API.
 */
let einsumOf: ((pattern: string, operands: readonly Tensor[]) => Tensor) | null = null;

/** @internal */
export function installEinsum(fn: (pattern: string, operands: readonly Tensor[]) => Tensor): void {
  einsumOf = fn;
}

/**
 * A tensor. The type parameter R is its rank when the type checker knows it (from a tuple shape literal,
 * `withRank`, or a typed einsum pattern); it is `number` otherwise and then has no effect.
 */
export class Tensor<R extends number = number> {
  /** Type-level only: the rank, when known. Never set at run time. */
  declare readonly __rank?: R;
  readonly storage: Storage;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
  readonly dtype: DType;

  /** @internal set by autograd: the node that produced this tensor. */
  gradFn: GradNode | null = null;
  /** @internal */
  _requiresGrad = false;
  /** @internal */
  _retainGrad = false;
  /** Accumulated gradient of a leaf (or of a non-leaf that called retainGrad()). */
  grad: Tensor | null = null;
  /** @internal bumped by in-place writes; autograd checks it before using a saved tensor. */
  _version = { value: 0 };

  constructor(storage: Storage, shape: readonly number[], strides?: readonly number[], offset = 0) {
    this.storage = storage;
    this.dtype = storage.dtype;
    this.shape = Object.freeze(shape.slice());
    this.strides = Object.freeze((strides ?? contiguousStrides(shape)).slice());
    this.offset = offset;
  }

  get device(): Device {
    return this.storage.device;
  }
  get ndim(): number {
    return this.shape.length;
  }
  /** Number of elements (PyTorch's numel()). */
  get size(): number {
    return numel(this.shape);
  }
  /** Number of elements, as a method (PyTorch's spelling). */
  numel(): number {
    return numel(this.shape);
  }
  /**
   * This tensor typed with its rank, after checking it at run time: `x.withRank(3)` is a `Tensor<3>`, so typed
   * einsum patterns can compute the rank of results that use '...'.
   */
  withRank<N extends number>(rank: N): Tensor<N> {
    A.intArg(rank, 'withRank', 'rank', 0);
    if (this.ndim !== rank) {
      throw new EinjitError(`expected a tensor of rank ${rank}, got rank ${this.ndim}`, {
        op: 'withRank',
        shapes: [this.shape],
        hint: 'reshape or index first, or pass the rank the tensor has',
      });
    }
    return this as unknown as Tensor<N>;
  }

  get backend(): Backend {
    return getBackend(this.device, 'tensor');
  }

  /**
   * Releases this tensor's storage now (on the GPU its buffer goes back to the pool) instead of when the garbage
   * collector finds it. Views sharing the storage (reshape, slice, detach, ...) are released with it, and using
   * any of them afterwards is an EinjitError. A second call does nothing. See also `tidy` and `using`.
   *
   * @example
   * const t = randn([1024, 1024]);
   * const s = t.sum();
   * t.dispose();                                   // t's memory is free; s is unaffected
   */
  dispose(): void {
    disposeStorage(this.storage);
  }

  /** Whether `dispose()` (or the end of a `tidy`) released this tensor's storage. */
  get isDisposed(): boolean {
    return isDisposed(this.storage);
  }

  /** `using t = randn([4])` disposes t at the end of the block (explicit resource management). */
  [Symbol.dispose](): void {
    this.dispose();
  }
  get isContiguous(): boolean {
    return isContiguous(this.shape, this.strides);
  }

  get requiresGrad(): boolean {
    return this._requiresGrad;
  }
  set requiresGrad(value: boolean) {
    A.boolArg(value, 'requiresGrad', 'requiresGrad', false);
    if (value && !isFloating(this.dtype)) {
      throw new EinjitError(`only floating-point tensors can require gradients, this one is ${this.dtype}`, {
        op: 'requiresGrad',
        hint: "cast first, e.g. x.cast('float32')",
      });
    }
    if (!value && this.gradFn !== null) {
      throw new EinjitError('requiresGrad can only be turned off on a leaf tensor', {
        op: 'requiresGrad',
        hint: 'use x.detach() to get a tensor outside the graph',
      });
    }
    this._requiresGrad = value;
  }
  get isLeaf(): boolean {
    return this.gradFn === null;
  }
  /** Sets requiresGrad and returns this tensor, for chaining: `const w = randn([3, 4]).requiresGrad_()`. */
  requiresGrad_(value = true): this {
    this.requiresGrad = value;
    return this;
  }
  /** Keeps `.grad` of a non-leaf after backward (a leaf keeps it anyway). */
  retainGrad(): this {
    if (!this._requiresGrad) {
      throw new EinjitError("can't retain the gradient of a tensor that does not require grad", {
        op: 'retainGrad',
        shapes: [this.shape],
        hint: 'only tensors computed from leaves with { requiresGrad: true } have a gradient to retain',
      });
    }
    this._retainGrad = true;
    return this;
  }

  /**
   * Computes gradients of this tensor with respect to every leaf that requires them, adding into `.grad`.
   * A scalar needs no argument; otherwise pass the gradient of this tensor. Options: `retainGraph` keeps the
   * graph for another backward; `createGraph` records the backward pass, so the gradients can be differentiated
   * again (it implies retainGraph unless that is given).
   */
  backward(grad?: Tensor, options?: BackwardOptions): void {
    A.optionsArg(options, 'backward');
    runBackward(this, grad, options);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Export

  /** The elements in row-major order as a fresh typed array (CPU tensors only; use `await data()` on a GPU). */
  dataSync(): TypedArray {
    return this.readHost('dataSync');
  }

  /** dataSync() under the name of the method the caller called (item, toArray). */
  private readHost(op: string): TypedArray {
    const t = this.device === 'cpu' && this.isContiguous && this.offset === 0 && this.storage.length === this.size
      ? this : ops.contiguousCopy(this);
    const live = t.backend.readSync(t.storage, op);
    return t === this ? (live.slice() as TypedArray) : live;
  }

  /** The elements in row-major order, from any device. */
  async data(): Promise<TypedArray> {
    if (this.device === 'cpu') return this.dataSync();
    const t = this.isContiguous && this.offset === 0 && this.storage.length === this.size ? this : ops.contiguousCopy(this);
    return getBackend(t.device, 'data').read(t.storage);
  }

  /** Nested JS arrays (numbers; booleans for bool tensors). CPU only. */
  toArray(): NestedArray {
    const flat = this.readHost('toArray');
    const asValue = this.dtype === 'bool' ? (v: number) => v !== 0 : (v: number) => v;
    const build = (dim: number, start: number): NestedArray => {
      if (dim === this.ndim) return asValue(flat[start]!);
      const stride = numel(this.shape.slice(dim + 1));
      const out: NestedArray[] = [];
      for (let i = 0; i < this.shape[dim]!; i++) out.push(build(dim + 1, start + i * stride));
      return out;
    };
    return build(0, 0);
  }

  /** The value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) {
      throw new EinjitError(`a Tensor with ${this.size} elements cannot be converted to a scalar`, {
        op: 'item',
        shapes: [this.shape],
        hint: 'item() needs exactly one element; index or reduce first',
      });
    }
    return this.readHost('item')[0]!;
  }

  toString(): string {
    return formatTensor(this);
  }

  /** `console.log(t)` and `util.inspect(t)` in Node print what toString() does. */
  [INSPECT_CUSTOM](): string {
    return formatTensor(this);
  }

  /** Moves (or copies) to another device: `await t.to('cpu')`. */
  async to(device: Device): Promise<Tensor> {
    return ops.toDevice(this, device);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Views: new strides over the same storage

  view(...shape: (number | readonly number[])[]): Tensor {
    const target = inferShape(flattenArgs(shape), this.size, 'view', this.shape);
    const strides = viewStrides(this.shape, this.strides, target);
    if (strides === null) {
      throw new EinjitError(
        `view size ${formatShape(target)} is not compatible with the input's size and stride (at least one dimension spans across two contiguous subspaces)`,
        { op: 'view', shapes: [this.shape], hint: 'use .reshape(...) instead, which copies when it must' },
      );
    }
    return ops.viewOf(this, target, strides, this.offset, 'view');
  }

  /** A view when the strides allow it, else a contiguous copy (PyTorch's rule). */
  reshape(...shape: (number | readonly number[])[]): Tensor {
    const target = inferShape(flattenArgs(shape), this.size, 'reshape', this.shape);
    const strides = viewStrides(this.shape, this.strides, target);
    if (strides !== null) return ops.viewOf(this, target, strides, this.offset, 'reshape');
    return ops.contiguous(this).view(target);
  }

  permute(...dims: (number | readonly number[])[]): Tensor {
    const order = flattenArgs(dims);
    if (order.length !== this.ndim) {
      throw new EinjitError(
        `number of dims don't match in permute: the tensor has ${this.ndim}, the order has ${order.length}`,
        { op: 'permute', shapes: [this.shape], hint: 'give one position for every dimension' },
      );
    }
    const perm = normalizeDims(order, this.ndim, 'permute', this.shape);
    const inverse = perm.map((_, i) => perm.indexOf(i));
    return ops.viewOf(this, perm.map((d) => this.shape[d]!), perm.map((d) => this.strides[d]!), this.offset, 'permute',
      (g) => g.permute(inverse));
  }

  transpose(dim0: number, dim1: number): Tensor {
    const a = normalizeDim(dim0, this.ndim, 'transpose', this.shape);
    const b = normalizeDim(dim1, this.ndim, 'transpose', this.shape);
    const perm = Array.from({ length: this.ndim }, (_, i) => i);
    perm[a] = b;
    perm[b] = a;
    return this.ndim === 0 ? this : this.permute(perm);
  }

  /** The transpose of a tensor with at most 2 dimensions (PyTorch's .t() / .T). */
  t(): Tensor {
    if (this.ndim > 2) {
      throw new EinjitError(`t() expects a tensor with <= 2 dimensions, but this one has ${this.ndim}`, {
        op: 't',
        shapes: [this.shape],
        hint: 'use permute(...) or transpose(d0, d1)',
      });
    }
    return this.ndim < 2 ? this : this.transpose(0, 1);
  }
  get T(): Tensor {
    return this.permute(Array.from({ length: this.ndim }, (_, i) => this.ndim - 1 - i));
  }
  /** Transposes the last two dimensions. */
  get mT(): Tensor {
    return this.transpose(-2, -1);
  }

  squeeze(dim?: number | readonly number[]): Tensor {
    const dims = dim === undefined
      ? this.shape.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0)
      : normalizeDims(dim, this.ndim, 'squeeze', this.shape).filter((i) => this.shape[i] === 1);
    const keep = this.shape.map((_, i) => i).filter((i) => !dims.includes(i));
    return ops.viewOf(this, keep.map((i) => this.shape[i]!), keep.map((i) => this.strides[i]!), this.offset, 'squeeze');
  }

  unsqueeze(dim: number): Tensor {
    const d = normalizeDim(dim, this.ndim + 1, 'unsqueeze', this.shape);
    const shape = this.shape.slice();
    const strides = this.strides.slice();
    shape.splice(d, 0, 1);
    strides.splice(d, 0, d < this.ndim ? this.strides[d]! * this.shape[d]! : 1);
    return ops.viewOf(this, shape, strides, this.offset, 'unsqueeze');
  }

  /** Broadcasts size-1 dimensions (and new leading ones) without copying; -1 keeps a size. */
  expand(...sizes: (number | readonly number[])[]): Tensor {
    return ops.expand(this, flattenArgs(sizes));
  }
  expandAs(other: Tensor): Tensor {
    A.tensorArg(other, 'expandAs', 'other');
    return this.expand(other.shape.slice());
  }

  flatten(startDim = 0, endDim = -1): Tensor {
    if (this.ndim === 0) return this.reshape([1]);
    const s = normalizeDim(startDim, this.ndim, 'flatten', this.shape);
    const e = normalizeDim(endDim, this.ndim, 'flatten', this.shape);
    if (s > e) throw new EinjitError('flatten() has invalid args: start_dim cannot come after end_dim', { op: 'flatten' });
    const shape = [...this.shape.slice(0, s), numel(this.shape.slice(s, e + 1)), ...this.shape.slice(e + 1)];
    return this.reshape(shape);
  }

  unflatten(dim: number, sizes: readonly number[]): Tensor {
    const d = normalizeDim(dim, this.ndim, 'unflatten', this.shape);
    const inner = inferShape(A.intListArg(sizes, 'unflatten', 'sizes'), this.shape[d]!, 'unflatten', this.shape);
    return this.view([...this.shape.slice(0, d), ...inner, ...this.shape.slice(d + 1)]);
  }

  /** Elements start, start+step, ... < end along `dim` (negative start/end count from the end). */
  slice(dim: number, start?: number, end?: number, step = 1): Tensor {
    return ops.sliceView(this, normalizeDim(dim, this.ndim, 'slice', this.shape), start, end, step);
  }

  /** The sub-tensor at `index` along `dim`, without that dimension. */
  select(dim: number, index: number): Tensor {
    if (this.ndim === 0) {
      throw new EinjitError('select() cannot be applied to a 0-dim tensor', { op: 'select', shapes: [this.shape], hint: 'use item() to read its value' });
    }
    const d = normalizeDim(dim, this.ndim, 'select', this.shape);
    const n = this.shape[d]!;
    if (typeof index !== 'number' || !Number.isInteger(index) || index < -n || index >= n) {
      throw new EinjitError(`index ${describeValue(index)} is out of bounds for dimension ${d} with size ${n}`, {
        op: 'select',
        shapes: [this.shape],
        hint: `valid indices are -${n}..${n - 1}`,
      });
    }
    const i = index < 0 ? index + n : index;
    const shape = this.shape.filter((_, k) => k !== d);
    const strides = this.strides.filter((_, k) => k !== d);
    return ops.viewOf(this, shape, strides, this.offset + i * this.strides[d]!, 'select',
      (g) => grads.scatterInto(g, this.shape, (z) => z.select(d, i)));
  }

  narrow(dim: number, start: number, length: number): Tensor {
    if (this.ndim === 0) throw new EinjitError('narrow() cannot be applied to a 0-dim tensor', { op: 'narrow', shapes: [this.shape] });
    const d = normalizeDim(dim, this.ndim, 'narrow', this.shape);
    const n = this.shape[d]!;
    const s = start < 0 ? start + n : start;
    if (typeof start !== 'number' || typeof length !== 'number' || !Number.isInteger(start) || !Number.isInteger(length) || s < 0 || length < 0 || s + length > n) {
      throw new EinjitError(`start (${describeValue(start)}) + length (${describeValue(length)}) exceeds dimension size (${n})`, {
        op: 'narrow',
        shapes: [this.shape],
        hint: `dimension ${d} has ${n} elements; start must be in -${n}..${n} and start + length <= ${n}`,
      });
    }
    return this.slice(d, s, s + length);
  }

  /**
   * A view of this tensor's storage with any size and strides (PyTorch's as_strided): strides and the offset
   * count storage elements, the offset (default: this tensor's) from the storage's start. Every element must lie
   * inside the storage; strides are non-negative. Its gradient adds up the elements the view repeats.
   *
   * @example
   * const windows = arange(0, 6).asStrided([4, 3], [1, 1]);   // [[0,1,2],[1,2,3],[2,3,4],[3,4,5]]
   */
  asStrided(size: readonly number[], stride: readonly number[], storageOffset?: number): Tensor {
    return asStridedView(this, size, stride, storageOffset);
  }

  /**
   * numpy/PyTorch-style indexing: `x.index(0, ':', '1:3', '::2', '...', null)`. A number selects (and drops
   * the dimension), a 'start:stop:step' string slices, '...' stands for the remaining dimensions, null inserts a
   * new axis of size 1.
   */
  index(...specs: (number | string | null)[]): Tensor {
    return ops.indexView(this, specs);
  }

  /** Same values, one contiguous block (a no-op when already contiguous). */
  contiguous(): Tensor {
    return ops.contiguous(this);
  }
  clone(): Tensor {
    return ops.contiguousCopy(this);
  }
  /**
   * A tensor sharing storage but outside the autograd graph. It shares the version counter too, so an in-place
   * write through it to a tensor the graph saved is still caught by backward.
   */
  detach(): Tensor {
    const d = new Tensor(this.storage, this.shape, this.strides, this.offset);
    d._version = this._version;
    return d;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Elementwise

  add(other: Tensor | number, alpha?: number): Tensor {
    return ops.binary('add', this, alpha === undefined ? other : ops.mulScalarLike(other, alpha, 'add'));
  }
  sub(other: Tensor | number, alpha?: number): Tensor {
    return ops.binary('sub', this, alpha === undefined ? other : ops.mulScalarLike(other, alpha, 'sub'));
  }
  mul(other: Tensor | number): Tensor { return ops.binary('mul', this, other); }
  div(other: Tensor | number): Tensor { return ops.binary('div', this, other); }
  pow(other: Tensor | number): Tensor { return ops.binary('pow', this, other); }
  remainder(other: Tensor | number): Tensor { return ops.binary('mod', this, other); }
  floorDivide(other: Tensor | number): Tensor { return ops.binary('floordiv', this, other); }
  maximum(other: Tensor | number): Tensor { return ops.binary('max', this, other); }
  minimum(other: Tensor | number): Tensor { return ops.binary('min', this, other); }
  eq(other: Tensor | number): Tensor { return ops.binary('eq', this, other); }
  ne(other: Tensor | number): Tensor { return ops.binary('ne', this, other); }
  lt(other: Tensor | number): Tensor { return ops.binary('lt', this, other); }
  le(other: Tensor | number): Tensor { return ops.binary('le', this, other); }
  gt(other: Tensor | number): Tensor { return ops.binary('gt', this, other); }
  ge(other: Tensor | number): Tensor { return ops.binary('ge', this, other); }
  logicalAnd(other: Tensor | number): Tensor { return ops.binary('and', this, other); }
  logicalOr(other: Tensor | number): Tensor { return ops.binary('or', this, other); }
  logicalXor(other: Tensor | number): Tensor { return ops.binary('xor', this, other); }
  logicalNot(): Tensor { return ops.unary('not', this); }

  neg(): Tensor { return ops.unary('neg', this); }
  abs(): Tensor { return ops.unary('abs', this); }
  exp(): Tensor { return ops.unary('exp', this); }
  log(): Tensor { return ops.unary('log', this); }
  sqrt(): Tensor { return ops.unary('sqrt', this); }
  rsqrt(): Tensor { return ops.unary('rsqrt', this); }
  relu(): Tensor { return ops.unary('relu', this); }
  sigmoid(): Tensor { return ops.unary('sigmoid', this); }
  tanh(): Tensor { return ops.unary('tanh', this); }
  gelu(): Tensor { return ops.unary('gelu', this); }
  erf(): Tensor { return ops.unary('erf', this); }
  sin(): Tensor { return ops.unary('sin', this); }
  cos(): Tensor { return ops.unary('cos', this); }
  floor(): Tensor { return ops.unary('floor', this); }
  ceil(): Tensor { return ops.unary('ceil', this); }
  round(): Tensor { return ops.unary('round', this); }
  sign(): Tensor { return ops.unary('sign', this); }
  reciprocal(): Tensor { return ops.unary('reciprocal', this); }
  square(): Tensor { return ops.unary('square', this); }
  isnan(): Tensor { return ops.unary('isnan', this); }
  /** Limits values to [min, max]; either bound may be left out (undefined or null), or be a broadcast tensor. */
  clamp(min?: Tensor | number | null, max?: Tensor | number | null): Tensor { return ops.clamp(this, min, max); }
  /** clamp, by numpy's name. */
  clip(min?: Tensor | number | null, max?: Tensor | number | null): Tensor { return ops.clamp(this, min, max, 'clip'); }

  /** A copy converted to another dtype (this itself when it already has it). */
  cast(dtype: DType): Tensor { return ops.cast(this, dtype); }
  float(): Tensor { return this.cast('float32'); }
  double(): Tensor { return this.cast('float64'); }
  half(): Tensor { return this.cast('float16'); }
  int(): Tensor { return this.cast('int32'); }
  bool(): Tensor { return this.cast('bool'); }

  // ---------------------------------------------------------------------------------------------------------
  // Reductions: over all elements when dim is omitted

  sum(dim?: ReduceDims, keepdim = false): Tensor { return ops.reduceDims('sum', this, dim, keepdim); }
  mean(dim?: ReduceDims, keepdim = false): Tensor { return ops.mean(this, dim, keepdim); }
  prod(dim?: ReduceDims, keepdim = false): Tensor { return ops.reduceDims('prod', this, dim, keepdim); }
  max(dim?: ReduceDims, keepdim = false): Tensor { return ops.reduceDims('max', this, dim, keepdim); }
  min(dim?: ReduceDims, keepdim = false): Tensor { return ops.reduceDims('min', this, dim, keepdim); }
  any(dim?: ReduceDims, keepdim = false): Tensor { return ops.reduceDims('any', this, dim, keepdim); }
  all(dim?: ReduceDims, keepdim = false): Tensor { return ops.reduceDims('all', this, dim, keepdim); }
  /** Index of the largest element (flattened when dim is omitted), as int32. */
  argmax(dim?: number, keepdim = false): Tensor { return ops.argReduce('argmax', this, dim, keepdim); }
  argmin(dim?: number, keepdim = false): Tensor { return ops.argReduce('argmin', this, dim, keepdim); }
  /** Variance; `correction` 1 is the unbiased estimate (PyTorch's default). */
  var(dim?: ReduceDims, keepdim = false, correction = 1): Tensor { return ops.variance(this, dim, keepdim, correction); }
  std(dim?: ReduceDims, keepdim = false, correction = 1): Tensor { return this.var(dim, keepdim, correction).sqrt(); }

  // ---------------------------------------------------------------------------------------------------------
  // Linear algebra

  /** PyTorch's matmul: 1-D/2-D/batched with broadcasting over batch dimensions. */
  matmul(other: Tensor): Tensor { return ops.matmul(this, other); }
  /** 2-D matrix product only. */
  mm(other: Tensor): Tensor { return ops.mm(this, other); }
  /** 3-D batched matrix product only. */
  bmm(other: Tensor): Tensor { return ops.bmm(this, other); }

  /**
   * einsum with this tensor as the first operand: `a.einsum('ij,jk->ik', b)` is `einsum('ij,jk->ik', a, b)`.
   * The pattern uses numpy/torch letters; for einops' named axes call `einsum(a, b, 'i j, j k -> i k')`.
   */
  einsum(pattern: string, ...others: Tensor[]): Tensor {
    A.patternArg(pattern, 'einsum');
    if (einsumOf === null) {
      throw new EinjitError('einsum is not loaded', { op: 'einsum', hint: "import from 'einjit', whose index loads einsum" });
    }
    return einsumOf(pattern, [this, ...others]);
  }
  /** Outer product of two 1-D tensors: [n] and [m] give [n, m]. */
  outer(other: Tensor): Tensor { return C.outer(this, other); }

  // ---------------------------------------------------------------------------------------------------------
  // PyTorch methods built from the ops above (composite.ts): gradients come from the ops they are made of

  /** softmax along `dim` (the last by default), shifted by the maximum so large values do not overflow. */
  softmax(dim = -1): Tensor { return C.softmax(this, dim); }
  /** log(softmax(x)) along `dim`, computed without forming softmax (stable for large negative values). */
  logSoftmax(dim = -1): Tensor { return C.logSoftmax(this, dim); }
  /**
   * Vector p-norm over `dim` (every element by default): p a number, Infinity (max |x|), -Infinity (min |x|),
   * 0 (count of non-zeros) or 'fro' (the default, the 2-norm).
   */
  norm(p: NormOrder = 'fro', dim?: ReduceDims, keepdim = false): Tensor { return C.norm(this, p, dim, keepdim); }
  /** Running sum along `dim`. */
  cumsum(dim: number): Tensor { return C.cumsum(this, dim); }
  /** Running product along `dim`. */
  cumprod(dim: number): Tensor { return C.cumprod(this, dim); }
  /**
   * Sorts along `dim` (the last by default), stably: equal elements keep their order, ascending or descending.
   * NaN counts as the largest value. Returns the values and their int32 indices: `const [values, indices] = x.sort()`.
   */
  sort(dim = -1, descending = false): [values: Tensor, indices: Tensor] { return C.sort(this, dim, descending); }
  /** The int32 indices that sort along `dim` (stable). */
  argsort(dim = -1, descending = false): Tensor { return C.argsort(this, dim, descending); }
  /**
   * The k largest (`largest` false: smallest) elements along `dim` and their int32 indices, always in sorted
   * order (`sorted` is accepted for PyTorch's signature); ties go to the earlier element.
   */
  topk(k: number, dim = -1, largest = true, sorted = true): [values: Tensor, indices: Tensor] {
    return C.topk(this, k, dim, largest, sorted);
  }
  /** Picks along `dim` by int32 `index` (of this tensor's rank): out[i][j] = x[i][index[i][j]] for dim 1. */
  gather(dim: number, index: Tensor): Tensor { return C.gather(this, dim, index); }
  /**
   * A copy with `src` (or a number) written at `index` along `dim`: out[i][index[i][j]] = src[i][j] for dim 1.
   * Where indices repeat, the last write wins.
   */
  scatter(dim: number, index: Tensor, src: Tensor | number): Tensor { return C.scatter(this, dim, index, src); }
  /** A copy with `src` added at `index` along `dim`: out[i][index[i][j]] += src[i][j] for dim 1. */
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor { return C.scatterAdd(this, dim, index, src); }
  /** A copy with `value` where the bool `mask` (broadcast to this shape) is true. */
  maskedFill(mask: Tensor, value: Tensor | number): Tensor { return C.maskedFill(this, mask, value); }
  /** The lower triangle of the last two dims (column - row <= diagonal); the rest is 0. */
  tril(diagonal = 0): Tensor { return C.tril(this, diagonal); }
  /** The upper triangle of the last two dims (column - row >= diagonal); the rest is 0. */
  triu(diagonal = 0): Tensor { return C.triu(this, diagonal); }
  /** Shifts elements along `dims`, wrapping around; without dims, over the flattened tensor. */
  roll(shifts: number | readonly number[], dims?: number | readonly number[]): Tensor { return C.roll(this, shifts, dims); }
  /** Reverses the order along the given dims: `x.flip(0)`, `x.flip(0, 1)`, `x.flip([0, 1])`. A copy. */
  flip(...dims: (number | readonly number[])[]): Tensor { return C.flip(this, flattenArgs(dims)); }
  /** Repeats each element along `dim` (the flattened tensor without one): `repeats` times, or a count per element. */
  repeatInterleave(repeats: number | readonly number[], dim?: number): Tensor { return C.repeatInterleave(this, repeats, dim); }

  // ---------------------------------------------------------------------------------------------------------
  // In place

  /** Writes `value` (broadcast) into this tensor's elements, through the view: the base sees it. */
  copy_(value: Tensor | number): this {
    ops.assign(this, value);
    return this;
  }
  fill_(value: number): this { return this.copy_(value); }
  zero_(): this { return this.copy_(0); }
  add_(other: Tensor | number): this { return this.copy_(this.inPlaceResult(this.add(other), 'add_')); }
  sub_(other: Tensor | number): this { return this.copy_(this.inPlaceResult(this.sub(other), 'sub_')); }
  mul_(other: Tensor | number): this { return this.copy_(this.inPlaceResult(this.mul(other), 'mul_')); }
  div_(other: Tensor | number): this { return this.copy_(this.inPlaceResult(this.div(other), 'div_')); }

  /** PyTorch refuses an in-place op whose result needs a higher category (bool < integral < float) than `this`. */
  private inPlaceResult(result: Tensor, op: string): Tensor {
    const category = (d: DType): number => (d === 'bool' ? 0 : d === 'int32' ? 1 : 2);
    if (category(result.dtype) > category(this.dtype)) {
      throw new EinjitError(`result type ${result.dtype} can't be cast to the desired output type ${this.dtype}`, {
        op,
        shapes: [this.shape],
        hint: `use the out-of-place form (x = x.${op.slice(0, -1)}(...)) or cast this tensor first`,
      });
    }
    return result;
  }
}

function flattenArgs(args: readonly (number | readonly number[])[]): number[] {
  if (args.length === 1 && Array.isArray(args[0])) return (args[0] as readonly number[]).slice();
  return args.flat() as number[];
}

