/**
 * Autograd: the tape (GradNode, record), the backward pass, the gradient helpers and the functional API.
 */
export { zeroGrad } from './grad.js';
export { grad, vjp, jvp, hvp, type GradOptions, type FunctionalOptions, type Gradients } from './functional.js';
