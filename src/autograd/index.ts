/**
 * Autograd: the tape (GradNode, record), the backward pass and the gradient helpers.
 */
export type { GradNode } from './node.js';
export { noGrad, isGradEnabled, record } from './record.js';
export { backward, type BackwardOptions } from './backward.js';
export { zeroGrad, type ZeroGradOptions } from './grad.js';
