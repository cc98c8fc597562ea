/**
 * nn.functional: the stateless operations layers are made of, built from public tensor ops and einsum.
 *
 * Convolution is `unfold` (im2col) followed by one einsum. `unfold` pads (a zero tensor and a slice-view copy),
 * takes one strided view [N, C, kh, kw, oh, ow] of the padded input and reshapes it to PyTorch's layout
 * (N, C·kh·kw, L). Its gradient is `fold` (col2im): kh·kw strided slice additions, so windows that overlap add
 * their gradients rather than overwrite each other. Pooling reuses the same strided view.
 */
import { EinjitError, describeValue, formatShape } from '../errors.js';
import { Tensor } from '../runtime/tensor.js';
import * as ops from '../runtime/ops.js';
import { asStrided } from '../runtime/strided.js';
import { full, zerosOf, arange, rand } from '../runtime/creation.js';
import { record, noGrad, isGradEnabled } from '../autograd/record.js';
import { isFloating } from '../runtime/dtype.js';
import { einsum } from '../api/einsum.js';
import * as A from '../runtime/args.js';
import { MAX_ELEMENTS } from '../runtime/shape.js';
import { checkIndexRange, checkWholeIndices } from './index-checks.js';

export type Pair = number | readonly [number, number];

function pair(v: Pair, name: string, op: string): [number, number] {
  const p = typeof v === 'number' ? [v, v] : Array.isArray(v) && v.length === 2 ? [v[0], v[1]] : [];
  if (p.length !== 2 || !p.every((n) => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= MAX_ELEMENTS)) {
    throw new EinjitError(`${name} must be a non-negative integer or a pair of them, got ${describeValue(v)}`, { op });
  }
  return p as [number, number];
}

/** Refuses a tensor of another rank (every caller has checked that `x` is a Tensor, naming the argument). */
function expectRank(x: Tensor, ranks: readonly number[], op: string, what: string): void {
  if (!ranks.includes(x.ndim)) {
    throw new EinjitError(`expected ${what}, got a ${x.ndim}-D tensor`, { op, shapes: [x.shape] });
  }
}

// -------------------------------------------------------------------------------------------------------------
// Padding

/**
 * Pads with a constant, PyTorch's F.pad: `pads` lists (before, after) pairs starting from the LAST dimension,
 * e.g. [left, right, top, bottom] for the last two. The gradient is the matching slice of the output gradient.
 */
export function pad(x: Tensor, pads: readonly number[], value = 0): Tensor {
  A.tensorArg(x, 'pad'); A.intListArg(pads, 'pad', 'pads'); A.numberArg(value, 'pad', 'value');
  if (pads.length % 2 !== 0 || pads.length / 2 > x.ndim) {
    throw new EinjitError(`padding length must be even and at most twice the rank, got ${pads.length} for a ${x.ndim}-D input`, {
      op: 'pad', shapes: [x.shape],
    });
  }
  if (!pads.every((p) => Number.isInteger(p) && p >= 0)) {
    throw new EinjitError(`pads must be non-negative integers, got ${JSON.stringify(pads)}`, { op: 'pad' });
  }
  if (pads.every((p) => p === 0)) return x;
  const before = x.shape.map(() => 0);
  const after = x.shape.map(() => 0);
  for (let i = 0; i < pads.length / 2; i++) {
    before[x.ndim - 1 - i] = pads[2 * i]!;
    after[x.ndim - 1 - i] = pads[2 * i + 1]!;
  }
  const shape = x.shape.map((n, d) => n + before[d]! + after[d]!);
  const out = full(shape, value, { dtype: x.dtype, device: x.device });
  const interior = (t: Tensor): Tensor => {
    let v = t;
    for (let d = 0; d < x.ndim; d++) if (before[d] !== 0 || after[d] !== 0) v = v.slice(d, before[d]!, before[d]! + x.shape[d]!);
    return v;
  };
  noGrad(() => interior(out).copy_(x));
  record('pad', [x], out, (g) => [interior(g)], []);
  return out;
}

// -------------------------------------------------------------------------------------------------------------
// unfold / fold

export interface UnfoldOptions {
  readonly kernelSize: Pair;
  readonly dilation?: Pair;
  readonly padding?: Pair;
  readonly stride?: Pair;
}

interface Windows {
  readonly kh: number; readonly kw: number;
  readonly dh: number; readonly dw: number;
  readonly ph: number; readonly pw: number;
  readonly sh: number; readonly sw: number;
}

function windowsOf(options: UnfoldOptions, op: string): Windows {
  const [kh, kw] = pair(options.kernelSize, 'kernelSize', op);
  const [dh, dw] = pair(options.dilation ?? 1, 'dilation', op);
  const [ph, pw] = pair(options.padding ?? 0, 'padding', op);
  const [sh, sw] = pair(options.stride ?? 1, 'stride', op);
  if (kh < 1 || kw < 1 || dh < 1 || dw < 1 || sh < 1 || sw < 1) {
    throw new EinjitError('kernelSize, dilation and stride must be positive', { op });
  }
  return { kh, kw, dh, dw, ph, pw, sh, sw };
}

function outputSize(h: number, w: number, k: Windows, op: string, shape: readonly number[]): [number, number] {
  const oh = Math.floor((h + 2 * k.ph - k.dh * (k.kh - 1) - 1) / k.sh) + 1;
  const ow = Math.floor((w + 2 * k.pw - k.dw * (k.kw - 1) - 1) / k.sw) + 1;
  if (oh < 1 || ow < 1) {
    throw new EinjitError(
      `the kernel (${k.kh}×${k.kw}, dilation ${k.dh}×${k.dw}) does not fit the padded input ${h + 2 * k.ph}×${w + 2 * k.pw}`,
      { op, shapes: [shape], hint: 'use a smaller kernel or dilation, or more padding' },
    );
  }
  return [oh, ow];
}

/**
 * The strided view [N, C, kh, kw, oh, ow] of an (already padded) [N, C, H, W] tensor: element
 * (n, c, i, j, y, x) is input (n, c, y·sh + i·dh, x·sw + j·dw). Its gradient folds the windows back.
 */
function windowView(xp: Tensor, k: Windows, oh: number, ow: number, op: string): Tensor {
  const [s0, s1, s2, s3] = xp.strides as [number, number, number, number];
  const shape = [xp.shape[0]!, xp.shape[1]!, k.kh, k.kw, oh, ow];
  const strides = [s0, s1, k.dh * s2, k.dw * s3, k.sh * s2, k.sw * s3];
  return ops.viewOf(xp, shape, strides, xp.offset, op, (g) => foldWindows(g, xp.shape, k));
}

/** col2im on the window view's gradient: zeros of `shape` plus kh·kw strided slice additions. */
function foldWindows(g: Tensor, shape: readonly number[], k: Windows): Tensor {
  const [n, c, h, w] = shape as [number, number, number, number];
  const oh = g.shape[4]!;
  const ow = g.shape[5]!;
  const z = zerosOf(shape, g.dtype, g.device);
  for (let i = 0; i < k.kh; i++) {
    for (let j = 0; j < k.kw; j++) {
      const dst = asStrided(z, [n, c, oh, ow], [c * h * w, h * w, k.sh * w, k.sw], i * k.dh * w + j * k.dw, 'fold');
      dst.copy_(dst.add(g.select(2, i).select(2, j)));
    }
  }
  // Recorded (under createGraph), with the window view as its gradient: col2im and im2col are adjoints.
  record('fold windows', [g], z, (gz) => [windowView(gz, k, oh, ow, 'unfold')], []);
  return z;
}

/**
 * Extracts sliding blocks (im2col), PyTorch's F.unfold: [N, C, H, W] → [N, C·kh·kw, L] with L = oh·ow, rows
 * channel-major then kernel row then kernel column, columns in row-major output order.
 */
export function unfold(x: Tensor, options: UnfoldOptions): Tensor {
  A.tensorArg(x, 'unfold'); A.optionsArg(options ?? null, 'unfold');
  expectRank(x, [3, 4], 'unfold', 'a 4-D [N, C, H, W] (or 3-D [C, H, W]) input');
  if (x.ndim === 3) return unfold(x.unsqueeze(0), options).squeeze(0);
  const k = windowsOf(options, 'unfold');
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const [oh, ow] = outputSize(h, w, k, 'unfold', x.shape);
  const xp = pad(x, [k.pw, k.pw, k.ph, k.ph]);
  return windowView(xp, k, oh, ow, 'unfold').reshape([n, c * k.kh * k.kw, oh * ow]);
}

export interface FoldOptions extends UnfoldOptions {
  readonly outputSize: Pair;
}

/** Sums sliding blocks back into an image (col2im), PyTorch's F.fold: [N, C·kh·kw, L] → [N, C, H, W]. */
export function fold(cols: Tensor, options: FoldOptions): Tensor {
  A.tensorArg(cols, 'fold'); A.optionsArg(options ?? null, 'fold');
  expectRank(cols, [2, 3], 'fold', 'a 3-D [N, C·kh·kw, L] (or 2-D) input');
  if (cols.ndim === 2) return fold(cols.unsqueeze(0), options).squeeze(0);
  const k = windowsOf(options, 'fold');
  const [h, w] = pair(options.outputSize, 'outputSize', 'fold');
  const [oh, ow] = outputSize(h, w, k, 'fold', cols.shape);
  const [n, ckk, l] = cols.shape as [number, number, number];
  if (ckk % (k.kh * k.kw) !== 0 || l !== oh * ow) {
    throw new EinjitError(`expected [N, C·${k.kh}·${k.kw}, ${oh * ow}] for output size ${h}×${w}, got ${formatShape(cols.shape)}`, {
      op: 'fold', shapes: [cols.shape],
    });
  }
  const c = ckk / (k.kh * k.kw);
  const hp = h + 2 * k.ph;
  const wp = w + 2 * k.pw;
  const six = cols.reshape([n, c, k.kh, k.kw, oh, ow]);
  const summed = noGrad(() => foldWindows(six.detach(), [n, c, hp, wp], k));
  let out = summed;
  if (k.ph > 0 || k.pw > 0) out = summed.slice(2, k.ph, k.ph + h).slice(3, k.pw, k.pw + w).contiguous();
  record('fold', [cols], out, (g) => [unfold(g, options)], []);
  return out;
}

// -------------------------------------------------------------------------------------------------------------
// Linear and convolution

/** y = x Wᵀ + b over the last dimension. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  A.tensorArg(x, 'linear'); A.tensorArg(weight, 'linear', 'weight'); A.optionalTensorArg(bias, 'linear', 'bias');
  expectRank(weight, [2], 'linear', 'a 2-D [out_features, in_features] weight');
  if (x.shape[x.ndim - 1] !== weight.shape[1]) {
    throw new EinjitError(`linear: the input has ${x.shape[x.ndim - 1]} features but the weight expects ${weight.shape[1]}`, {
      op: 'linear', shapes: [x.shape, weight.shape], hint: 'the last input dimension must equal in_features',
    });
  }
  const y = x.matmul(weight.T);
  return bias === undefined || bias === null ? y : y.add(bias);
}

export interface ConvOptions {
  readonly stride?: Pair;
  readonly padding?: Pair;
  readonly dilation?: Pair;
  readonly groups?: number;
}

/** 2-D convolution (cross-correlation, as PyTorch's): unfold, then one einsum with the weight. */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, options: ConvOptions = {}): Tensor {
  A.tensorArg(x, 'conv2d'); A.tensorArg(weight, 'conv2d', 'weight'); A.optionalTensorArg(bias, 'conv2d', 'bias'); A.optionsArg(options, 'conv2d');
  expectRank(x, [4], 'conv2d', 'a 4-D [N, C, H, W] input');
  expectRank(weight, [4], 'conv2d', 'a 4-D [out, in/groups, kh, kw] weight');
  const groups = options.groups ?? 1;
  const [n, c] = x.shape as [number, number];
  const [o, cg, kh, kw] = weight.shape as [number, number, number, number];
  if (!Number.isInteger(groups) || groups < 1 || c % groups !== 0 || o % groups !== 0 || cg * groups !== c) {
    throw new EinjitError(
      `input with ${c} channels, weight ${formatShape(weight.shape)} and groups=${groups} do not fit: expected weight [out, ${c}/${groups}, kh, kw] with out divisible by groups`,
      { op: 'conv2d', shapes: [x.shape, weight.shape] },
    );
  }
  const k = windowsOf({ kernelSize: [kh, kw], ...options }, 'conv2d');
  const [oh, ow] = outputSize(x.shape[2]!, x.shape[3]!, k, 'conv2d', x.shape);
  if (groups === 1 && transposable(k) && isGradEnabled() && (x.requiresGrad || weight.requiresGrad) &&
    transposedGradCheaper([n, c, x.shape[2]!, x.shape[3]!], o, k, [oh, ow])) {
    const y = convWithTransposedGrad(x, weight, k, [oh, ow]);
    return bias === undefined || bias === null ? y : y.add(bias.reshape([1, o, 1, 1]));
  }
  let y: Tensor;
  if (groups === 1) {
    y = einsum('ok,nlk->nol', weight.reshape([o, cg * kh * kw]), windowsByPixel(x, k, oh, ow));
  } else {
    const cols = unfold(x, { kernelSize: [kh, kw], stride: [k.sh, k.sw], padding: [k.ph, k.pw], dilation: [k.dh, k.dw] });
    const og = o / groups;
    y = einsum('gok,ngkl->ngol', weight.reshape([groups, og, cg * kh * kw]), cols.reshape([n, groups, cg * kh * kw, oh * ow]));
  }
  y = y.reshape([n, o, oh, ow]);
  return bias === undefined || bias === null ? y : y.add(bias.reshape([1, o, 1, 1]));
}

/**
 * The windows of `x` as [N, L, C·kh·kw] (one row per output pixel, as im2col's transpose): the layout whose
 * contracted (C·kh·kw) and pixel (L) axes a weight gradient Σ_{n,l} g[n, o, l]·cols[n, l, k] reads as one
 * contiguous K = (n, l) without a transpose.
 */
function windowsByPixel(x: Tensor, k: Windows, oh: number, ow: number): Tensor {
  const [n, c] = x.shape as [number, number];
  const xp = pad(x, [k.pw, k.pw, k.ph, k.ph]);
  return windowView(xp, k, oh, ow, 'unfold').permute([0, 4, 5, 1, 2, 3]).reshape([n, oh * ow, c * k.kh * k.kw]);
}

/** Stride 1 and padding at most the dilated kernel's reach: the input gradient is a convolution of the same kind. */
function transposable(k: Windows): boolean {
  return k.sh === 1 && k.sw === 1 && k.ph <= k.dh * (k.kh - 1) && k.pw <= k.dw * (k.kw - 1);
}

/** What one launch costs, in bytes of memory traffic it could have moved instead (a few µs on a CPU core). */
const LAUNCH_BYTES = 64 * 1024;

/**
 * Whether the transposed convolution's input gradient costs less than col2im's, counting elements written and
 * launches. col2im writes Wᵀ·g over every window (kh·kw times the input), the zeroed padded input and kh·kw
 * add-into passes over it; the transposed convolution writes the flipped weight (O·C·kh·kw), the padded output
 * gradient, its windows (kh·kw times the input, over O channels) and the input gradient, in five launches. With
 * few pixels and many channels (ResNet's last stages at 64×64 inputs) the weight copy outweighs the rest.
 */
function transposedGradCheaper([n, c, h, w]: readonly [number, number, number, number], o: number, k: Windows, [oh, ow]: readonly [number, number]): boolean {
  const taps = k.kh * k.kw;
  const hp = h + 2 * k.ph;
  const wp = w + 2 * k.pw;
  const col2im = n * c * (2 * taps * oh * ow + hp * wp) * 4 + (2 + taps) * LAUNCH_BYTES;
  const gh = oh + 2 * (k.dh * (k.kh - 1) - k.ph);
  const gw = ow + 2 * (k.dw * (k.kw - 1) - k.pw);
  const transposed = (o * c * taps + n * o * (gh * gw + oh * ow + taps * h * w) + n * c * h * w) * 4 + 5 * LAUNCH_BYTES;
  return transposed <= col2im;
}

/**
 * An ungrouped stride-1 convolution whose input gradient is the transposed convolution: the output gradient
 * convolved with the weight flipped in space and transposed to [in, out, kh, kw], padded by the dilated kernel's
 * reach less the forward padding. Through unfold's own gradient it would be the product Wᵀ·g over every window
 * (kh·kw times the input's size) and then col2im, one add-into launch per kernel tap (nine for 3×3); this way it
 * is one pad, one unfold and one GEMM, and the windows unfolded are the output gradient's. The weight gradient is
 * the product of g with the forward's windows (unfolded again, differentiably, when the backward pass builds a
 * graph, so second derivatives reach x through it too).
 */
function convWithTransposedGrad(x: Tensor, weight: Tensor, k: Windows, [oh, ow]: [number, number]): Tensor {
  const [n] = x.shape as [number];
  const [o, c, kh, kw] = weight.shape as [number, number, number, number];
  const cols = noGrad(() => windowsByPixel(x, k, oh, ow));
  const y = noGrad(() => einsum('ok,nlk->nol', weight.reshape([o, c * kh * kw]), cols).reshape([n, o, oh, ow]));
  record('conv2d', [x, weight], y, (g) => [
    x.requiresGrad
      ? conv2d(g, weight.transpose(0, 1).flip([2, 3]), null, {
        padding: [k.dh * (kh - 1) - k.ph, k.dw * (kw - 1) - k.pw], dilation: [k.dh, k.dw],
      })
      : null,
    weight.requiresGrad
      ? einsum('nol,nlk->ok', g.reshape([n, o, oh * ow]), isGradEnabled() ? windowsByPixel(x, k, oh, ow) : cols).reshape(weight.shape)
      : null,
  ], [x, weight]);
  return y;
}

export interface Conv1dOptions {
  readonly stride?: number;
  readonly padding?: number;
  readonly dilation?: number;
  readonly groups?: number;
}

/** 1-D convolution over [N, C, L]: a conv2d with a 1-row kernel. */
export function conv1d(x: Tensor, weight: Tensor, bias?: Tensor | null, options: Conv1dOptions = {}): Tensor {
  A.tensorArg(x, 'conv1d'); A.tensorArg(weight, 'conv1d', 'weight'); A.optionalTensorArg(bias, 'conv1d', 'bias'); A.optionsArg(options, 'conv1d');
  expectRank(x, [3], 'conv1d', 'a 3-D [N, C, L] input');
  expectRank(weight, [3], 'conv1d', 'a 3-D [out, in/groups, k] weight');
  const y = conv2d(x.unsqueeze(2), weight.unsqueeze(2), bias, {
    stride: [1, options.stride ?? 1],
    padding: [0, options.padding ?? 0],
    dilation: [1, options.dilation ?? 1],
    groups: options.groups ?? 1,
  });
  return y.squeeze(2);
}

// -------------------------------------------------------------------------------------------------------------
// Pooling

export interface PoolOptions {
  readonly kernelSize: Pair;
  /** Defaults to the kernel size. */
  readonly stride?: Pair;
  readonly padding?: Pair;
  readonly dilation?: Pair;
}

function poolWindows(x: Tensor, options: PoolOptions, op: string, padValue: number): { view: Tensor; k: Windows } {
  expectRank(x, [4], op, 'a 4-D [N, C, H, W] input');
  const k = windowsOf({ ...options, stride: options.stride ?? options.kernelSize }, op);
  if (k.ph * 2 > k.kh || k.pw * 2 > k.kw) {
    throw new EinjitError(`pad should be at most half of the effective kernel size, got padding ${k.ph}×${k.pw} for kernel ${k.kh}×${k.kw}`, { op });
  }
  const [oh, ow] = outputSize(x.shape[2]!, x.shape[3]!, k, op, x.shape);
  const xp = pad(x, [k.pw, k.pw, k.ph, k.ph], padValue);
  // [N, C, kh, kw, oh, ow] → [N, C, oh, ow, kh, kw]: the window dimensions last, to reduce over.
  return { view: windowView(xp, k, oh, ow, op).permute([0, 1, 4, 5, 2, 3]), k };
}

/** Max over each window; padding counts as -∞. */
export function maxPool2d(x: Tensor, options: PoolOptions): Tensor {
  A.tensorArg(x, 'maxPool2d'); A.optionsArg(options ?? null, 'maxPool2d');
  const { view } = poolWindows(x, options, 'maxPool2d', -Infinity);
  return view.max([4, 5]);
}

/** Mean over each window; padding counts as zeros (PyTorch's count_include_pad=True). */
export function avgPool2d(x: Tensor, options: PoolOptions): Tensor {
  A.tensorArg(x, 'avgPool2d'); A.optionsArg(options ?? null, 'avgPool2d');
  const { view } = poolWindows(x, options, 'avgPool2d', 0);
  return view.mean([4, 5]);
}

/** Average pooling to a fixed output size with PyTorch's bins: [floor(i·H/oh), ceil((i+1)·H/oh)). */
export function adaptiveAvgPool2d(x: Tensor, outputSize: Pair): Tensor {
  A.tensorArg(x, 'adaptiveAvgPool2d');
  expectRank(x, [3, 4], 'adaptiveAvgPool2d', 'a 4-D [N, C, H, W] (or 3-D) input');
  if (x.ndim === 3) return adaptiveAvgPool2d(x.unsqueeze(0), outputSize).squeeze(0);
  const [oh, ow] = pair(outputSize, 'outputSize', 'adaptiveAvgPool2d');
  const [n, c, h, w] = x.shape as [number, number, number, number];
  if (oh < 1 || ow < 1) throw new EinjitError('outputSize must be positive', { op: 'adaptiveAvgPool2d' });
  if (h % oh === 0 && w % ow === 0) {
    return x.reshape([n, c, oh, h / oh, ow, w / ow]).mean([3, 5]);
  }
  const rows: Tensor[] = [];
  for (let i = 0; i < oh; i++) {
    const h0 = Math.floor((i * h) / oh);
    const h1 = Math.ceil(((i + 1) * h) / oh);
    const cols: Tensor[] = [];
    for (let j = 0; j < ow; j++) {
      const w0 = Math.floor((j * w) / ow);
      const w1 = Math.ceil(((j + 1) * w) / ow);
      cols.push(x.slice(2, h0, h1).slice(3, w0, w1).mean([2, 3]));
    }
    rows.push(ops.stack(cols, 2));
  }
  return ops.stack(rows, 2);
}

// -------------------------------------------------------------------------------------------------------------
// Activations

export function relu(x: Tensor): Tensor {
  A.tensorArg(x, 'relu');
  return x.relu();
}
/** The exact (erf) GELU, PyTorch's default. */
export function gelu(x: Tensor): Tensor {
  A.tensorArg(x, 'gelu');
  return x.gelu();
}
export function sigmoid(x: Tensor): Tensor {
  A.tensorArg(x, 'sigmoid');
  return x.sigmoid();
}
export function tanh(x: Tensor): Tensor {
  A.tensorArg(x, 'tanh');
  return x.tanh();
}

export function softmax(x: Tensor, dim = -1): Tensor {
  A.tensorArg(x, 'softmax');
  return x.softmax(dim);
}

export function logSoftmax(x: Tensor, dim = -1): Tensor {
  A.tensorArg(x, 'logSoftmax');
  return x.logSoftmax(dim);
}

// -------------------------------------------------------------------------------------------------------------
// Normalisation, embedding, dropout

export interface BatchNormOptions {
  readonly training: boolean;
  readonly momentum?: number;
  readonly eps?: number;
}

/**
 * Batch normalisation over every dimension but the channels (dim 1). In training the batch's mean and biased
 * variance normalise, and running buffers (when given) move toward the batch mean and the unbiased variance by
 * `momentum`; in evaluation the running statistics normalise.
 */
export function batchNorm(x: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, weight: Tensor | null,
  bias: Tensor | null, options: BatchNormOptions): Tensor {
  A.tensorArg(x, 'batchNorm');
  for (const [v, name] of [[runningMean, 'runningMean'], [runningVar, 'runningVar'], [weight, 'weight'], [bias, 'bias']] as const) A.optionalTensorArg(v, 'batchNorm', name);
  A.optionsArg(options ?? null, 'batchNorm');
  if (x.ndim < 2) throw new EinjitError(`batchNorm expects at least 2 dimensions, got ${x.ndim}`, { op: 'batchNorm', shapes: [x.shape] });
  const eps = options.eps ?? 1e-5;
  const momentum = options.momentum ?? 0.1;
  const c = x.shape[1]!;
  const dims = x.shape.map((_, i) => i).filter((i) => i !== 1);
  const bshape = x.shape.map((n, i) => (i === 1 ? n : 1));
  let mean: Tensor;
  let variance: Tensor;
  if (options.training || runningMean === null || runningVar === null) {
    const count = x.size / c;
    if (options.training && count <= 1) {
      throw new EinjitError(`expected more than 1 value per channel when training, got input size ${formatShape(x.shape)}`, {
        op: 'batchNorm', shapes: [x.shape], hint: 'use a larger batch, or eval() mode',
      });
    }
    mean = x.mean(dims, true);
    const centered = x.sub(mean);
    variance = centered.mul(centered).mean(dims, true);
    if (options.training && runningMean !== null && runningVar !== null) {
      noGrad(() => {
        const m = mean.detach().reshape([c]);
        const unbiased = variance.detach().reshape([c]).mul(count / (count - 1));
        runningMean.copy_(runningMean.mul(1 - momentum).add(m.mul(momentum)));
        runningVar.copy_(runningVar.mul(1 - momentum).add(unbiased.mul(momentum)));
      });
    }
    let y = centered.mul(variance.add(eps).rsqrt());
    if (weight !== null) y = y.mul(weight.reshape(bshape));
    if (bias !== null) y = y.add(bias.reshape(bshape));
    return y;
  }
  // Evaluation: fold the frozen statistics and the affine into one scale and shift per channel.
  let scale = runningVar.add(eps).rsqrt();
  if (weight !== null) scale = scale.mul(weight);
  let shift = runningMean.mul(scale).neg();
  if (bias !== null) shift = shift.add(bias);
  return x.mul(scale.reshape(bshape)).add(shift.reshape(bshape));
}

/** Normalises over the trailing `normalizedShape` dimensions (biased variance), then the elementwise affine. */
export function layerNorm(x: Tensor, normalizedShape: readonly number[], weight: Tensor | null = null, bias: Tensor | null = null, eps = 1e-5): Tensor {
  A.tensorArg(x, 'layerNorm'); A.shapeArg(normalizedShape, 'layerNorm', 'normalizedShape');
  A.optionalTensorArg(weight, 'layerNorm', 'weight'); A.optionalTensorArg(bias, 'layerNorm', 'bias'); A.numberArg(eps, 'layerNorm', 'eps');
  const k = normalizedShape.length;
  if (k > x.ndim || normalizedShape.some((n, i) => n !== x.shape[x.ndim - k + i])) {
    throw new EinjitError(`the input's trailing dimensions ${formatShape(x.shape.slice(-k))} do not match normalizedShape ${formatShape(normalizedShape)}`, {
      op: 'layerNorm', shapes: [x.shape],
    });
  }
  const dims = normalizedShape.map((_, i) => x.ndim - k + i);
  const mean = x.mean(dims, true);
  const centered = x.sub(mean);
  const variance = centered.mul(centered).mean(dims, true);
  let y = centered.mul(variance.add(eps).rsqrt());
  if (weight !== null) y = y.mul(weight);
  if (bias !== null) y = y.add(bias);
  return y;
}

/** One-hot encoding of integer classes: [...] → [..., numClasses] in `dtype` (int32 by default, as PyTorch's). */
export function oneHot(indices: Tensor, numClasses: number, dtype: 'float32' | 'float64' | 'int32' = 'int32'): Tensor {
  A.tensorArg(indices, 'oneHot', 'indices'); A.intArg(numClasses, 'oneHot', 'numClasses', 0, MAX_ELEMENTS);
  A.choiceArg(dtype, 'oneHot', 'dtype', ['float32', 'float64', 'int32']);
  const idx = asIndices(indices, 'oneHot');
  checkIndexRange(idx, numClasses, 'oneHot', 'classes');
  return hotOf(idx, numClasses, dtype);
}

/** oneHot of indices already checked. */
function hotOf(idx: Tensor, numClasses: number, dtype: 'float32' | 'float64' | 'int32'): Tensor {
  const classes = arange(0, numClasses, 1, { dtype: 'int32', device: idx.device });
  return idx.unsqueeze(-1).eq(classes).cast(dtype);
}

/**
 * Class or row indices as int32. `tensor([1, 2])` is float32 in einjit (a JS number has no int/float split), so
 * floating indices are accepted when every value is a whole number (checked now on the CPU, at the next read on
 * a GPU).
 */
function asIndices(t: Tensor, op: string): Tensor {
  if (t.dtype === 'int32') return t;
  if (t.dtype === 'bool') {
    throw new EinjitError(`expected integer indices, got ${t.dtype} values that are not whole numbers`, {
      op, shapes: [t.shape], hint: "create them with { dtype: 'int32' }",
    });
  }
  checkWholeIndices(t, op);
  return t.detach().cast('int32');
}

/** Rows of `weight` picked by integer `indices`: [...] → [..., dim]. Lowered as one-hot · weight (an einsum). */
export function embedding(input: Tensor, weight: Tensor): Tensor {
  A.tensorArg(input, 'embedding'); A.tensorArg(weight, 'embedding', 'weight');
  expectRank(weight, [2], 'embedding', 'a 2-D [num_embeddings, embedding_dim] weight');
  const [n, d] = weight.shape as [number, number];
  const indices = asIndices(input, 'embedding');
  checkIndexRange(indices, n, 'embedding', 'rows');
  const hot = hotOf(indices, n, weight.dtype === 'float64' ? 'float64' : 'float32');
  return einsum('...v,vd->...d', hot.cast(weight.dtype), weight).reshape([...indices.shape, d]);
}

/** Zeroes elements with probability p in training and scales the rest by 1/(1-p). */
export function dropout(x: Tensor, p = 0.5, training = true): Tensor {
  A.tensorArg(x, 'dropout'); A.numberArg(p, 'dropout', 'p'); A.boolArg(training, 'dropout', 'training', true);
  if (!(p >= 0 && p <= 1)) throw new EinjitError(`dropout probability has to be between 0 and 1, but got ${p}`, { op: 'dropout' });
  if (!training || p === 0) return x;
  if (p === 1) return x.mul(0);
  const keep = rand(x.shape, { dtype: isFloating(x.dtype) ? x.dtype : 'float32', device: x.device }).ge(p);
  return x.mul(keep).mul(1 / (1 - p));
}

// -------------------------------------------------------------------------------------------------------------
// Losses

export type LossReduction = 'mean' | 'sum' | 'none';
/** The reductions every loss accepts; anything else is refused, never read as 'mean'. */
export const LOSS_REDUCTIONS: readonly LossReduction[] = ['mean', 'sum', 'none'];

export interface CrossEntropyOptions {
  /** Targets equal to this class are skipped (PyTorch's default, -100). */
  readonly ignoreIndex?: number;
  /** Mixes the one-hot target with the uniform distribution: (1-ε)·onehot + ε/C. */
  readonly labelSmoothing?: number;
  readonly reduction?: LossReduction;
}

/**
 * Cross entropy of logits [N, C] (or [N, C, d1, ...]) against int32 class indices [N] ([N, d1, ...]) or
 * against class probabilities shaped like the logits. The mean is over non-ignored targets.
 */
export function crossEntropy(logits: Tensor, target: Tensor, options: CrossEntropyOptions = {}): Tensor {
  A.tensorArg(logits, 'crossEntropy', 'logits'); A.tensorArg(target, 'crossEntropy', 'target');
  const o = A.optionsArg<CrossEntropyOptions>(options, 'crossEntropy');
  if (o.reduction !== undefined) A.choiceArg(o.reduction, 'crossEntropy', 'reduction', LOSS_REDUCTIONS);
  if (o.ignoreIndex !== undefined) A.intArg(o.ignoreIndex, 'crossEntropy', 'ignoreIndex');
  if (o.labelSmoothing !== undefined) A.numberArg(o.labelSmoothing, 'crossEntropy', 'labelSmoothing');
  const ignoreIndex = options.ignoreIndex ?? -100;
  const eps = options.labelSmoothing ?? 0;
  const reduction = options.reduction ?? 'mean';
  if (!(eps >= 0 && eps <= 1)) throw new EinjitError(`labelSmoothing must be in [0, 1], got ${eps}`, { op: 'crossEntropy' });
  if (logits.ndim < 1) throw new EinjitError('crossEntropy expects logits with a class dimension', { op: 'crossEntropy' });
  // Move the class dimension last: [N, C, d...] → [N, d..., C].
  const lg = logits.ndim <= 2 ? logits : logits.permute([0, ...logits.shape.slice(2).map((_, i) => i + 2), 1]);
  const c = lg.shape[lg.ndim - 1]!;
  const logp = logSoftmax(lg, -1);
  const classShape = lg.shape.slice(0, -1);
  const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((v, i) => v === b[i]);
  if (isFloating(target.dtype) && !sameShape(target.shape, classShape)) {
    const tp = logits.ndim <= 2 ? target : target.permute([0, ...target.shape.slice(2).map((_, i) => i + 2), 1]);
    if (tp.shape.length !== lg.shape.length || tp.shape.some((n, i) => n !== lg.shape[i])) {
      throw new EinjitError('probability targets must have the logits\' shape', { op: 'crossEntropy', shapes: [logits.shape, target.shape] });
    }
    const smoothed = eps > 0 ? tp.mul(1 - eps).add(eps / c) : tp;
    const per = logp.mul(smoothed).sum(-1).neg();
    return reduceLoss(per, reduction, null);
  }
  const expected = classShape;
  if (!sameShape(target.shape, expected)) {
    throw new EinjitError(`expected targets of shape ${formatShape(expected)} for logits ${formatShape(logits.shape)}, got ${formatShape(target.shape)}`, {
      op: 'crossEntropy', shapes: [logits.shape, target.shape],
      hint: 'class-index targets drop the class dimension; for [B, T, C] logits flatten both: logits.reshape([-1, C]), target.reshape([-1])',
    });
  }
  const classes = asIndices(target, 'crossEntropy');
  const valid = classes.ne(ignoreIndex);
  const safe = ops.where(valid, classes, 0);
  checkIndexRange(safe, c, 'crossEntropy', 'classes');
  const hot = hotOf(safe, c, lg.dtype === 'float64' ? 'float64' : 'float32').cast(lg.dtype);
  const weights = eps > 0 ? hot.mul(1 - eps).add(eps / c) : hot;
  const per = logp.mul(weights).sum(-1).neg().mul(valid.cast(lg.dtype));
  return reduceLoss(per, reduction, valid);
}

function reduceLoss(per: Tensor, reduction: LossReduction, valid: Tensor | null): Tensor {
  if (reduction === 'none') return per;
  if (reduction === 'sum') return per.sum();
  if (valid === null) return per.mean();
  return per.sum().div(valid.cast(per.dtype).sum());
}

/** Mean squared error. */
export function mseLoss(input: Tensor, target: Tensor, reduction: LossReduction = 'mean'): Tensor {
  A.tensorArg(input, 'mseLoss'); A.tensorArg(target, 'mseLoss', 'target'); A.choiceArg(reduction, 'mseLoss', 'reduction', LOSS_REDUCTIONS);
  const d = input.sub(target);
  return reduceLoss(d.mul(d), reduction, null);
}

/** Negative log-likelihood of log-probabilities [N, C] at int32 targets [N]. */
export function nllLoss(logProbs: Tensor, classes: Tensor, reduction: LossReduction = 'mean'): Tensor {
  A.tensorArg(logProbs, 'nllLoss', 'logProbs'); A.tensorArg(classes, 'nllLoss', 'target'); A.choiceArg(reduction, 'nllLoss', 'reduction', LOSS_REDUCTIONS);
  if (logProbs.ndim < 1) {
    throw new EinjitError('nllLoss expects log-probabilities with a class dimension, got a 0-D tensor', { op: 'nllLoss', shapes: [logProbs.shape] });
  }
  const c = logProbs.shape[logProbs.ndim - 1]!;
  const target = asIndices(classes, 'nllLoss');
  checkIndexRange(target, c, 'nllLoss', 'classes');
  const per = logProbs.mul(hotOf(target, c, 'float32').cast(logProbs.dtype)).sum(-1).neg();
  return reduceLoss(per, reduction, null);
}
