/**
 * Autograd: the tape (GradNode, record), the backward pass and the gradient helpers.
 */
export { zeroGrad } from './grad.js';
