/**
 * A node of the autograd graph: the op that produced a tensor, the inputs it differentiates with respect to,
 * and the rule that maps the output's gradient to theirs.
 */
import type { Tensor } from '../runtime/tensor.js';

export interface GradNode {
  /** The op's name, for error messages and graph printing ('einsum', 'add', 'view', ...). */
  readonly op: string;
  /** The differentiable inputs, in the order `backward` returns their gradients (null: not needed). */
  readonly inputs: readonly (Tensor | null)[];
  /** Maps the gradient of the output to one gradient per input (null where an input gets none). */
  backward(grad: Tensor): readonly (Tensor | null)[];
  /** Saved tensors and the version each had when saved; an in-place write in between is an error. */
  readonly saved: readonly { readonly tensor: Tensor; readonly version: number }[];
  /** Set once backward has run and released the saved tensors (unless retainGraph). */
  freed: boolean;
}
