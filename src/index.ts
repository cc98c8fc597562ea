/**
 * einjit: einsum and einops patterns compiled to fast kernels, with a small tensor runtime, autograd and nn
 * layers on top. This module is the public API and nothing else.
 */
// The composition root registers the backends.
import './backends.js';

export { EinjitError } from './errors.js';
export { Tensor } from './runtime/tensor.js';
export type { NestedArray } from './runtime/tensor.js';
export type { NormOrder } from './runtime/composite.js';
export type { DType } from './runtime/dtype.js';
export type { Device } from './runtime/backend.js';
export {
  tensor, fromArray, zeros, ones, full, empty, arange, linspace, eye, rand, randn, randint,
  zerosLike, onesLike, fullLike, randLike, randnLike,
} from './runtime/creation.js';
export type { CreateOptions, TensorOptions } from './runtime/creation.js';
export { manualSeed } from './runtime/random.js';
export { isAvailable, setDefaultDevice, shutdown, deviceInfo } from './runtime/devices.js';
export type { DeviceInfo } from './runtime/devices.js';
export { tidy, keep } from './runtime/scope.js';
export { profile } from './runtime/profile.js';
export type { Profile, ProfiledKernel } from './runtime/profile.js';
export { jit } from './jit/jit.js';
export type { Jitted, JitStats } from './jit/jit.js';
export type { AdapterDescription, GpuLimits } from './lower/backend.js';
export { capabilities, enableRelaxedSimd } from './platform/index.js';
export type { Capabilities, RelaxedSimdStatus, Runtime } from './platform/index.js';
export { getDefaultDevice } from './runtime/backend.js';
export { noGrad, isGradEnabled } from './autograd/record.js';
export { zeroGrad, grad, vjp, jvp, hvp } from './autograd/index.js';
export type { GradOptions, FunctionalOptions, Gradients } from './autograd/index.js';
export type { BackwardOptions } from './autograd/backward.js';
export { cat, stack, vstack, hstack, where, matmul } from './runtime/functional.js';
export { asStridedView as asStrided } from './runtime/strided.js';
export { einsum, einsumPath, compile, CompiledExpression } from './api/einsum.js';
export type { EinsumOptions, EinsumPathResult, CompileOptions, KernelSource } from './api/einsum.js';
export type { IndexId, IndexLists } from './ir/index.js';
export type { PathSpec, PathTree, PlanOptions } from './plan/index.js';
export { rearrange, reduce, repeat, pack, unpack, parseShape } from './api/einops.js';
export type { Reduction, AxesLengths } from './api/einops.js';
export { tensordot, outer, inner, dot, diagonal, trace, kron } from './api/family.js';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
