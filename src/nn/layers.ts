/**
 * Layers: each one a Module holding its parameters and buffers, with forward delegating to nn.functional.
 * Default initialisation follows PyTorch (Linear and Conv: uniform ±1/√fan_in; Embedding: N(0, 1); norms: 1 and 0).
 */
import { MAX_ELEMENTS } from '../runtime/shape.js';
import * as A from '../runtime/args.js';
import { EinjitError } from '../errors.js';
import type { Tensor } from '../runtime/tensor.js';
import { empty, full, ones, zeros } from '../runtime/creation.js';
import type { Device } from '../runtime/backend.js';
import type { DType } from '../runtime/dtype.js';
import { Module, Parameter, pyBool, pyFloat } from './module.js';
import * as F from './functional.js';
import * as init from './init.js';

/** Where new parameters live. */
export interface FactoryOptions {
  readonly dtype?: DType;
  readonly device?: Device;
}

/** The dtype and device options a layer passes on to its parameters, checked. */
export function factory(options: FactoryOptions, op: string): { dtype?: DType; device?: Device } {
  const o = A.optionsArg<FactoryOptions>(options, op);
  return {
    ...(o.dtype !== undefined ? { dtype: A.dtypeArg(o.dtype, op) } : {}),
    ...(o.device !== undefined ? { device: A.deviceArg(o.device, op) } : {}),
  };
}

function positiveInt(v: number, name: string, op: string): void {
  A.intArg(v, op, name, 1, MAX_ELEMENTS);
}

// -------------------------------------------------------------------------------------------------------------
// Linear and embedding

export interface LinearOptions extends FactoryOptions {
  readonly bias?: boolean;
}

/** y = x Wᵀ + b, weight [out, in] (PyTorch's nn.Linear). */
export class Linear extends Module {
  weight: Parameter;
  bias: Parameter | null;

  constructor(readonly inFeatures: number, readonly outFeatures: number, options: LinearOptions = {}) {
    super();
    A.optionsArg(options, this.constructor.name);
    positiveInt(inFeatures, 'inFeatures', 'Linear');
    positiveInt(outFeatures, 'outFeatures', 'Linear');
    this.weight = new Parameter(empty([outFeatures, inFeatures], factory(options, 'Linear')));
    this.bias = options.bias === false ? null : new Parameter(empty([outFeatures], factory(options, 'Linear')));
    this.resetParameters();
  }

  resetParameters(): void {
    const bound = 1 / Math.sqrt(this.inFeatures);
    init.uniform_(this.weight, -bound, bound);
    if (this.bias !== null) init.uniform_(this.bias, -bound, bound);
  }

  override forward(x: Tensor): Tensor {
    A.tensorArg(x, `${this.constructor.name}.forward`);
    return F.linear(x, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${pyBool(this.bias !== null)}`;
  }
}

/** A lookup table [num, dim] indexed by int32 tensors (PyTorch's nn.Embedding). */
export class Embedding extends Module {
  weight: Parameter;

  constructor(readonly numEmbeddings: number, readonly embeddingDim: number, options: FactoryOptions = {}) {
    super();
    A.optionsArg(options, this.constructor.name);
    positiveInt(numEmbeddings, 'numEmbeddings', 'Embedding');
    positiveInt(embeddingDim, 'embeddingDim', 'Embedding');
    this.weight = new Parameter(empty([numEmbeddings, embeddingDim], factory(options, 'Embedding')));
    init.normal_(this.weight);
  }

  override forward(indices: Tensor): Tensor {
    A.tensorArg(indices, `${this.constructor.name}.forward`);
    return F.embedding(indices, this.weight);
  }

  override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}`;
  }
}

// -------------------------------------------------------------------------------------------------------------
// Activations and shape

export class ReLU extends Module {
  override forward(x: Tensor): Tensor { A.tensorArg(x, `${this.constructor.name}.forward`); return F.relu(x); }
}
export type GeluApproximate = 'none' | 'tanh';

/** GELU, exact (x·Φ(x), the erf form) or PyTorch's `approximate='tanh'` form. */
export class GELU extends Module {
  constructor(readonly approximate: GeluApproximate = 'none') {
    super();
    A.choiceArg(approximate, 'GELU', 'approximate', ['none', 'tanh']);
  }
  override forward(x: Tensor): Tensor {
    A.tensorArg(x, `${this.constructor.name}.forward`);
    return this.approximate === 'tanh' ? tanhGelu(x) : F.gelu(x);
  }
  override extraRepr(): string { return `approximate='${this.approximate}'`; }
}

/** 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), composed of recorded ops so it differentiates (twice too). */
function tanhGelu(x: Tensor): Tensor {
  const inner = x.add(x.mul(x).mul(x).mul(0.044715)).mul(Math.sqrt(2 / Math.PI));
  return x.mul(0.5).mul(inner.tanh().add(1));
}
export class Sigmoid extends Module {
  override forward(x: Tensor): Tensor { A.tensorArg(x, `${this.constructor.name}.forward`); return F.sigmoid(x); }
}
export class Tanh extends Module {
  override forward(x: Tensor): Tensor { A.tensorArg(x, `${this.constructor.name}.forward`); return F.tanh(x); }
}
export class Softmax extends Module {
  constructor(readonly dim = -1) {
    super();
    A.dimArg(dim, 'Softmax');
  }
  override forward(x: Tensor): Tensor { A.tensorArg(x, `${this.constructor.name}.forward`); return F.softmax(x, this.dim); }
}
export class Identity extends Module {
  override forward(x: Tensor): Tensor { A.tensorArg(x, `${this.constructor.name}.forward`); return x; }
}

/** Flattens dimensions startDim..endDim (by default all but the batch). */
export class Flatten extends Module {
  constructor(readonly startDim = 1, readonly endDim = -1) {
    super();
    A.dimArg(startDim, 'Flatten', 'startDim');
    A.dimArg(endDim, 'Flatten', 'endDim');
  }
  override forward(x: Tensor): Tensor { A.tensorArg(x, `${this.constructor.name}.forward`); return x.flatten(this.startDim, this.endDim); }
}

/** Zeroes elements with probability p while training; the identity in eval mode. */
export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    A.numberArg(p, 'Dropout', 'p');
    if (!(p >= 0 && p <= 1)) throw new EinjitError(`dropout probability has to be between 0 and 1, but got ${p}`, { op: 'Dropout' });
  }
  override forward(x: Tensor): Tensor { A.tensorArg(x, `${this.constructor.name}.forward`); return F.dropout(x, this.p, this.training); }
  override extraRepr(): string { return `p=${this.p}`; }
}

// -------------------------------------------------------------------------------------------------------------
// Normalisation

export interface NormOptions extends FactoryOptions {
  readonly eps?: number;
  readonly momentum?: number;
  readonly affine?: boolean;
  readonly trackRunningStats?: boolean;
}

class BatchNorm extends Module {
  weight: Parameter | null;
  bias: Parameter | null;
  /** Running statistics (buffers running_mean, running_var, num_batches_tracked; absent without trackRunningStats). */
  declare runningMean: Tensor;
  declare runningVar: Tensor;
  declare numBatchesTracked: Tensor;
  readonly eps: number;
  readonly momentum: number;
  readonly trackRunningStats: boolean;

  constructor(readonly numFeatures: number, private readonly _ranks: readonly number[], options: NormOptions = {}) {
    super();
    A.optionsArg(options, this.constructor.name);
    positiveInt(numFeatures, 'numFeatures', this.constructor.name);
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum ?? 0.1;
    const f = factory(options, this.constructor.name);
    const affine = options.affine ?? true;
    this.weight = affine ? new Parameter(ones([numFeatures], f)) : null;
    this.bias = affine ? new Parameter(zeros([numFeatures], f)) : null;
    this.trackRunningStats = options.trackRunningStats ?? true;
    if (this.trackRunningStats) {
      this.registerBuffer('runningMean', zeros([numFeatures], f));
      this.registerBuffer('runningVar', ones([numFeatures], f));
      this.registerBuffer('numBatchesTracked', zeros([], { dtype: 'int32', ...(f.device !== undefined ? { device: f.device } : {}) }));
    } else {
      this.registerBuffer('runningMean', null);
      this.registerBuffer('runningVar', null);
      this.registerBuffer('numBatchesTracked', null);
    }
  }

  override forward(x: Tensor): Tensor {
    A.tensorArg(x, `${this.constructor.name}.forward`);
    if (!this._ranks.includes(x.ndim) || x.shape[1] !== this.numFeatures) {
      throw new EinjitError(
        `expected a ${this._ranks.join('-D or ')}-D input with ${this.numFeatures} channels in dim 1`,
        { op: this.constructor.name, shapes: [x.shape] },
      );
    }
    const track = this.trackRunningStats;
    if (this.training && track) this.numBatchesTracked.copy_(this.numBatchesTracked.add(1));
    return F.batchNorm(x, track ? this.runningMean : null, track ? this.runningVar : null, this.weight, this.bias, {
      training: this.training,
      momentum: this.momentum,
      eps: this.eps,
    });
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${pyFloat(this.eps)}, momentum=${pyFloat(this.momentum)}, affine=${pyBool(this.weight !== null)}, ` +
      `track_running_stats=${pyBool(this.trackRunningStats)}`;
  }
}

/** Batch norm over [N, C] or [N, C, L]. */
export class BatchNorm1d extends BatchNorm {
  constructor(numFeatures: number, options: NormOptions = {}) {
    super(numFeatures, [2, 3], options);
  }
}

/** Batch norm over [N, C, H, W]: statistics per channel over batch and space. */
export class BatchNorm2d extends BatchNorm {
  constructor(numFeatures: number, options: NormOptions = {}) {
    super(numFeatures, [4], options);
  }
}

export interface LayerNormOptions extends FactoryOptions {
  readonly eps?: number;
  readonly elementwiseAffine?: boolean;
  readonly bias?: boolean;
}

/**
 * Normalises over the trailing dimensions `normalizedShape` (biased variance, as PyTorch's nn.LayerNorm);
 * `elementwiseAffine` adds a weight of ones and, unless `bias: false`, a bias of zeros.
 */
export class LayerNorm extends Module {
  weight: Parameter | null;
  bias: Parameter | null;
  readonly normalizedShape: readonly number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;

  constructor(normalizedShape: number | readonly number[], options: LayerNormOptions = {}) {
    super();
    A.optionsArg(options, this.constructor.name);
    this.normalizedShape = A.shapeArg(typeof normalizedShape === 'number' ? [normalizedShape] : normalizedShape, 'LayerNorm', 'normalizedShape');
    this.eps = options.eps ?? 1e-5;
    A.numberArg(this.eps, 'LayerNorm', 'eps');
    const f = factory(options, this.constructor.name);
    const affine = A.boolArg(options.elementwiseAffine, 'LayerNorm', 'elementwiseAffine', true);
    const bias = A.boolArg(options.bias, 'LayerNorm', 'bias', true);
    this.elementwiseAffine = affine;
    this.weight = affine ? new Parameter(ones(this.normalizedShape, f)) : null;
    this.bias = affine && bias ? new Parameter(zeros(this.normalizedShape, f)) : null;
  }

  override forward(x: Tensor): Tensor {
    A.tensorArg(x, `${this.constructor.name}.forward`);
    return F.layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }

  override extraRepr(): string {
    return `(${this.normalizedShape.join(', ')}${this.normalizedShape.length === 1 ? ',' : ''}), eps=${pyFloat(this.eps)}, elementwise_affine=${pyBool(this.elementwiseAffine)}`;
  }
}

// -------------------------------------------------------------------------------------------------------------
// Convolution and pooling

export interface Conv2dOptions extends FactoryOptions {
  readonly stride?: F.Pair;
  readonly padding?: F.Pair;
  readonly dilation?: F.Pair;
  readonly groups?: number;
  readonly bias?: boolean;
}

function pairOf(v: F.Pair, name: string, op: string): [number, number] {
  const p = typeof v === 'number' ? [v, v] : Array.isArray(v) && v.length === 2 ? [v[0], v[1]] : null;
  if (p === null) throw new EinjitError(`${name} must be an integer or a pair of integers, got ${A.describe(v)}`, { op });
  return [A.intArg(p[0], op, name, 0, MAX_ELEMENTS), A.intArg(p[1], op, name, 0, MAX_ELEMENTS)];
}

/** 2-D convolution, weight [out, in/groups, kh, kw] (PyTorch's nn.Conv2d), computed as unfold + einsum. */
export class Conv2d extends Module {
  weight: Parameter;
  bias: Parameter | null;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;

  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: F.Pair, options: Conv2dOptions = {}) {
    super();
    A.optionsArg(options, this.constructor.name);
    this.kernelSize = pairOf(kernelSize, 'kernelSize', this.constructor.name);
    this.stride = pairOf(options.stride ?? 1, 'stride', this.constructor.name);
    this.padding = pairOf(options.padding ?? 0, 'padding', this.constructor.name);
    this.dilation = pairOf(options.dilation ?? 1, 'dilation', this.constructor.name);
    this.groups = options.groups ?? 1;
    positiveInt(inChannels, 'inChannels', 'Conv2d');
    positiveInt(outChannels, 'outChannels', 'Conv2d');
    positiveInt(this.groups, 'groups', 'Conv2d');
    if (inChannels % this.groups !== 0 || outChannels % this.groups !== 0) {
      throw new EinjitError(`inChannels (${inChannels}) and outChannels (${outChannels}) must be divisible by groups (${this.groups})`, { op: 'Conv2d' });
    }
    const f = factory(options, this.constructor.name);
    this.weight = new Parameter(empty([outChannels, inChannels / this.groups, ...this.kernelSize], f));
    this.bias = options.bias === false ? null : new Parameter(empty([outChannels], f));
    this.resetParameters();
  }

  resetParameters(): void {
    const fanIn = (this.inChannels / this.groups) * this.kernelSize[0] * this.kernelSize[1];
    const bound = 1 / Math.sqrt(fanIn);
    init.uniform_(this.weight, -bound, bound);
    if (this.bias !== null) init.uniform_(this.bias, -bound, bound);
  }

  override forward(x: Tensor): Tensor {
    A.tensorArg(x, `${this.constructor.name}.forward`);
    return F.conv2d(x, this.weight, this.bias, {
      stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups,
    });
  }

  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernel_size=(${this.kernelSize.join(', ')}), stride=(${this.stride.join(', ')})` +
      `${this.padding.some((p) => p !== 0) ? `, padding=(${this.padding.join(', ')})` : ''}` +
      `${this.dilation.some((d) => d !== 1) ? `, dilation=(${this.dilation.join(', ')})` : ''}` +
      `${this.groups !== 1 ? `, groups=${this.groups}` : ''}${this.bias === null ? ', bias=False' : ''}`;
  }
}

export interface Conv1dOptions extends FactoryOptions {
  readonly stride?: number;
  readonly padding?: number;
  readonly dilation?: number;
  readonly groups?: number;
  readonly bias?: boolean;
}

/** 1-D convolution over [N, C, L], weight [out, in/groups, k]. */
export class Conv1d extends Module {
  weight: Parameter;
  bias: Parameter | null;
  readonly stride: number;
  readonly padding: number;
  readonly dilation: number;
  readonly groups: number;

  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernelSize: number, options: Conv1dOptions = {}) {
    super();
    A.optionsArg(options, this.constructor.name);
    this.stride = options.stride ?? 1;
    this.padding = options.padding ?? 0;
    this.dilation = options.dilation ?? 1;
    this.groups = options.groups ?? 1;
    positiveInt(inChannels, 'inChannels', 'Conv1d');
    positiveInt(outChannels, 'outChannels', 'Conv1d');
    positiveInt(this.groups, 'groups', 'Conv1d');
    if (inChannels % this.groups !== 0 || outChannels % this.groups !== 0) {
      throw new EinjitError(`inChannels (${inChannels}) and outChannels (${outChannels}) must be divisible by groups (${this.groups})`, { op: 'Conv1d' });
    }
    const f = factory(options, this.constructor.name);
    this.weight = new Parameter(empty([outChannels, inChannels / this.groups, kernelSize], f));
    this.bias = options.bias === false ? null : new Parameter(empty([outChannels], f));
    const bound = 1 / Math.sqrt((inChannels / this.groups) * kernelSize);
    init.uniform_(this.weight, -bound, bound);
    if (this.bias !== null) init.uniform_(this.bias, -bound, bound);
  }

  override forward(x: Tensor): Tensor {
    A.tensorArg(x, `${this.constructor.name}.forward`);
    return F.conv1d(x, this.weight, this.bias, {
      stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups,
    });
  }
}

export interface PoolLayerOptions {
  readonly stride?: F.Pair;
  readonly padding?: F.Pair;
  readonly dilation?: F.Pair;
}

export class MaxPool2d extends Module {
  constructor(readonly kernelSize: F.Pair, readonly options: PoolLayerOptions = {}) {
    super();
    A.optionsArg(options, 'MaxPool2d');
  }
  override forward(x: Tensor): Tensor { A.tensorArg(x, `${this.constructor.name}.forward`); return F.maxPool2d(x, { kernelSize: this.kernelSize, ...this.options }); }
}

export class AvgPool2d extends Module {
  constructor(readonly kernelSize: F.Pair, readonly options: Omit<PoolLayerOptions, 'dilation'> = {}) {
    super();
    A.optionsArg(options, 'AvgPool2d');
  }
  override forward(x: Tensor): Tensor { A.tensorArg(x, `${this.constructor.name}.forward`); return F.avgPool2d(x, { kernelSize: this.kernelSize, ...this.options }); }
}

export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: F.Pair) { super(); }
  override forward(x: Tensor): Tensor { A.tensorArg(x, `${this.constructor.name}.forward`); return F.adaptiveAvgPool2d(x, this.outputSize); }
}

// -------------------------------------------------------------------------------------------------------------
// Losses

export class CrossEntropyLoss extends Module {
  constructor(readonly options: F.CrossEntropyOptions = {}) {
    super();
    const o = A.optionsArg<F.CrossEntropyOptions>(options, 'CrossEntropyLoss');
    if (o.reduction !== undefined) A.choiceArg(o.reduction, 'CrossEntropyLoss', 'reduction', F.LOSS_REDUCTIONS);
  }
  /** Loss of logits against targets. */
  override forward(logits: Tensor, target?: Tensor): Tensor {
    A.tensorArg(logits, `${this.constructor.name}.forward`);
    if (target === undefined) throw new EinjitError('CrossEntropyLoss.forward needs (logits, target)', { op: 'CrossEntropyLoss' });
    return F.crossEntropy(logits, target, this.options);
  }
}

export class MSELoss extends Module {
  constructor(readonly reduction: F.LossReduction = 'mean') {
    super();
    A.choiceArg(reduction, 'MSELoss', 'reduction', F.LOSS_REDUCTIONS);
  }
  override forward(input: Tensor, target?: Tensor): Tensor {
    A.tensorArg(input, `${this.constructor.name}.forward`);
    if (target === undefined) throw new EinjitError('MSELoss.forward needs (input, target)', { op: 'MSELoss' });
    return F.mseLoss(input, target, this.reduction);
  }
}

/** A full tensor as a Parameter, for custom modules: `nn.parameterFull([3, 4], 0.5)`. */
export function parameterFull(shape: readonly number[], value: number, options: FactoryOptions = {}): Parameter {
  A.shapeArg(shape, 'parameterFull'); A.optionsArg(options, 'parameterFull');
  return new Parameter(full(shape, value, factory(options, 'parameterFull')));
}
