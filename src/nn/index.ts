/**
 * nn: modules, layers, nn.functional, nn.init, nn.models and safetensors checkpoints. The public API exports
 * this module as the namespace `nn`:
 *
 * ```ts
 * import { nn } from 'einjit';
 * const conv = new nn.Conv2d(3, 16, 3, { padding: 1 });
 * const y = nn.functional.relu(conv.forward(x));
 * ```
 */
export { Module, Parameter, Sequential, ModuleList, snakeCase, type StateDict, type LoadResult, type Layer, type AnyModule } from './module.js';
export {
  Linear, Embedding, ReLU, GELU, Sigmoid, Tanh, Softmax, Identity, Flatten, Dropout, BatchNorm1d, BatchNorm2d, LayerNorm,
  Conv1d, Conv2d, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, CrossEntropyLoss, MSELoss, parameterFull,
  type FactoryOptions, type LinearOptions, type NormOptions, type LayerNormOptions, type Conv2dOptions, type Conv1dOptions,
  type PoolLayerOptions, type GeluApproximate,
} from './layers.js';
export { MultiheadAttention, type MultiheadAttentionOptions, type AttentionForwardOptions } from './attention.js';
export { Rearrange, Reduce, EinMix } from './einops-layers.js';
export * as functional from './functional.js';
export * as init from './init.js';
export * as models from './models/index.js';
export * as safetensors from './safetensors.js';
