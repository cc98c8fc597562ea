/**
 * Second-order gradients of the nn functions, the way a gradient penalty or a Hessian-vector product uses them:
 * convolutions (whose window view scatters its gradient back with col2im, recorded so that it differentiates
 * again), pooling, fold/unfold, padding, normalisation and losses, gradgradchecked in float64 with strided and
 * reversed inputs.
 */
import { describe, it } from 'vitest';
import { nn, tensor } from '../../src/index.js';
import { gradgradcheck, nonContiguous, randomTensor } from './gradcheck.js';

const F = nn.functional;

describe('second-order gradients of nn functions', () => {
  it('conv2d with stride, padding, dilation and groups, and conv1d', () => {
    gradgradcheck((x, w) => F.conv2d(x, w).tanh(), [randomTensor([1, 1, 3, 3], 1), randomTensor([1, 1, 2, 2], 2)]);
    gradgradcheck((x, w, b) => F.conv2d(x, w, b, { stride: 2, padding: 1, dilation: [1, 2] }).tanh(),
      [randomTensor([2, 2, 4, 5], 3), nonContiguous(randomTensor([3, 2, 2, 2], 4), true), randomTensor([3], 5)]);
    gradgradcheck((x, w) => F.conv2d(x, w, null, { groups: 2 }).square(), [nonContiguous(randomTensor([1, 4, 3, 3], 6)), randomTensor([2, 2, 2, 2], 7)]);
    gradgradcheck((x, w) => F.conv1d(x, w, null, { padding: 1 }).sin(), [randomTensor([2, 2, 5], 8), randomTensor([3, 2, 3], 9)]);
  });

  it('max, average and adaptive pooling, fold and unfold, pad', () => {
    gradgradcheck((x) => F.maxPool2d(x, { kernelSize: 2 }).square(), [randomTensor([1, 2, 4, 4], 10)]);
    gradgradcheck((x) => F.avgPool2d(x, { kernelSize: 2, stride: 1 }).square(), [nonContiguous(randomTensor([1, 1, 3, 4], 11), true)]);
    gradgradcheck((x) => F.adaptiveAvgPool2d(x, [2, 2]).exp(), [randomTensor([1, 2, 3, 5], 12)]);
    gradgradcheck((x) => F.fold(x, { outputSize: [3, 3], kernelSize: 2 }).square(), [randomTensor([1, 4, 4], 13)]);
    gradgradcheck((x) => F.unfold(x, { kernelSize: 2, padding: 1 }).square(), [randomTensor([1, 1, 3, 3], 14)]);
    gradgradcheck((x) => F.pad(x, [1, 2], 0.5).square(), [randomTensor([2, 3], 15)]);
  });

  it('linear, layer norm, batch norm in training, softmax cross-entropy and mse', () => {
    gradgradcheck((x, w, b) => F.linear(x, w, b).tanh(), [randomTensor([3, 4], 16), nonContiguous(randomTensor([2, 4], 17)), randomTensor([2], 18)]);
    gradgradcheck((x, w, b) => F.layerNorm(x, [4], w, b), [randomTensor([3, 4], 19), randomTensor([4], 20), randomTensor([4], 21)]);
    gradgradcheck((x) => F.batchNorm(x, null, null, null, null, { training: true }), [randomTensor([4, 3], 22)]);
    const target = tensor([0, 2, 1], { dtype: 'int32' });
    gradgradcheck((logits) => F.crossEntropy(logits, target), [randomTensor([3, 4], 23)]);
    gradgradcheck((x, y) => F.mseLoss(x.tanh(), y), [randomTensor([2, 3], 24), randomTensor([2, 3], 25)]);
  });
});
