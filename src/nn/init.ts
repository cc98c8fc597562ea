/**
 * nn.init: in-place initialisers, written under noGrad so they work on parameters (PyTorch's torch.nn.init).
 * Random ones draw from the global generator, so `manualSeed` makes them reproducible.
 */
import { EinjitError } from '../errors.js';
import type { Tensor } from '../runtime/tensor.js';
import { rand, randn } from '../runtime/creation.js';
import { noGrad } from '../autograd/record.js';
import * as A from '../runtime/args.js';

export type Nonlinearity = 'linear' | 'conv2d' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu';

/** PyTorch's calculate_gain. */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  A.choiceArg(nonlinearity, 'calculateGain', 'nonlinearity', ['linear', 'conv2d', 'sigmoid', 'tanh', 'relu', 'leaky_relu']);
  if (param !== undefined) A.numberArg(param, 'calculateGain', 'param');
  switch (nonlinearity) {
    case 'linear': case 'conv2d': case 'sigmoid': return 1;
    case 'tanh': return 5 / 3;
    case 'relu': return Math.SQRT2;
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      return Math.sqrt(2 / (1 + slope * slope));
    }
  }
}

/** fan_in = size(1)·receptive field, fan_out = size(0)·receptive field. */
export function fans(t: Tensor): { fanIn: number; fanOut: number } {
  A.tensorArg(t, 'fans');
  if (t.ndim < 2) {
    throw new EinjitError('fan in and fan out can not be computed for a tensor with fewer than 2 dimensions', {
      op: 'init', shapes: [t.shape],
    });
  }
  const receptive = t.shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: t.shape[1]! * receptive, fanOut: t.shape[0]! * receptive };
}

function write(t: Tensor, value: Tensor | number): Tensor {
  noGrad(() => t.copy_(value));
  return t;
}

export function constant_(t: Tensor, value: number): Tensor {
  A.tensorArg(t, 'constant_'); A.numberArg(value, 'constant_', 'value');
  return write(t, value);
}
export function ones_(t: Tensor): Tensor {
  A.tensorArg(t, 'ones_');
  return write(t, 1);
}
export function zeros_(t: Tensor): Tensor {
  A.tensorArg(t, 'zeros_');
  return write(t, 0);
}

/** Samples are drawn in float64 on the CPU tensor's side and in float32 on devices without float64 (WebGPU). */
function sampleOptions(t: Tensor): { dtype: 'float32' | 'float64'; device: Tensor['device'] } {
  return { dtype: t.device === 'cpu' ? 'float64' : 'float32', device: t.device };
}

export function uniform_(t: Tensor, a = 0, b = 1): Tensor {
  A.tensorArg(t, 'uniform_'); A.numberArg(a, 'uniform_', 'a'); A.numberArg(b, 'uniform_', 'b');
  return write(t, noGrad(() => rand(t.shape, sampleOptions(t)).mul(b - a).add(a)));
}

export function normal_(t: Tensor, mean = 0, std = 1): Tensor {
  A.tensorArg(t, 'normal_'); A.numberArg(mean, 'normal_', 'mean'); A.numberArg(std, 'normal_', 'std');
  return write(t, noGrad(() => randn(t.shape, sampleOptions(t)).mul(std).add(mean)));
}

export interface KaimingOptions {
  /** Negative slope of a leaky ReLU (0 for ReLU). */
  readonly a?: number;
  readonly mode?: 'fan_in' | 'fan_out';
  readonly nonlinearity?: Nonlinearity;
}

function kaimingStd(t: Tensor, options: KaimingOptions): number {
  const { fanIn, fanOut } = fans(t);
  if (options.mode !== undefined) A.choiceArg(options.mode, 'init', 'mode', ['fan_in', 'fan_out']);
  const fan = (options.mode ?? 'fan_in') === 'fan_in' ? fanIn : fanOut;
  return calculateGain(options.nonlinearity ?? 'leaky_relu', options.a ?? 0) / Math.sqrt(fan);
}

export function kaimingNormal_(t: Tensor, options: KaimingOptions = {}): Tensor {
  A.tensorArg(t, 'kaimingNormal_'); A.optionsArg(options, 'kaimingNormal_');
  return normal_(t, 0, kaimingStd(t, options));
}

export function kaimingUniform_(t: Tensor, options: KaimingOptions = {}): Tensor {
  A.tensorArg(t, 'kaimingUniform_'); A.optionsArg(options, 'kaimingUniform_');
  const bound = Math.sqrt(3) * kaimingStd(t, options);
  return uniform_(t, -bound, bound);
}

export function xavierUniform_(t: Tensor, gain = 1): Tensor {
  A.tensorArg(t, 'xavierUniform_'); A.numberArg(gain, 'xavierUniform_', 'gain');
  const { fanIn, fanOut } = fans(t);
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -bound, bound);
}

export function xavierNormal_(t: Tensor, gain = 1): Tensor {
  A.tensorArg(t, 'xavierNormal_'); A.numberArg(gain, 'xavierNormal_', 'gain');
  const { fanIn, fanOut } = fans(t);
  return normal_(t, 0, gain * Math.sqrt(2 / (fanIn + fanOut)));
}

// PyTorch's snake_case spellings, so code ported from Python reads the same.
export {
  kaimingNormal_ as kaiming_normal_, kaimingUniform_ as kaiming_uniform_, xavierUniform_ as xavier_uniform_,
  xavierNormal_ as xavier_normal_, calculateGain as calculate_gain,
};
