/**
 * Gradient helpers over lists of tensors: clearing accumulated gradients between steps.
 */
import * as A from '../runtime/args.js';
import type { Tensor } from '../runtime/tensor.js';
import { noGrad } from './record.js';

export interface ZeroGradOptions {
  /** Drop the gradients (`.grad = null`, the default, as PyTorch) instead of writing zeros into them. */
  readonly setToNone?: boolean;
}

/**
 * Clears the accumulated `.grad` of every tensor in `tensors`: sets it to null (default), or, with
 * `{ setToNone: false }`, fills the existing gradient with zeros in place.
 *
 * @example
 * zeroGrad([w, b]);
 * loss.backward();
 */
export function zeroGrad(tensors: Iterable<Tensor>, options: ZeroGradOptions = {}): void {
  const iterable = tensors !== null && typeof tensors === 'object' &&
    typeof (tensors as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function';
  const list = A.tensorListArg(iterable ? [...tensors] : tensors, 'zeroGrad');
  const setToNone = A.boolArg(A.optionsArg<ZeroGradOptions>(options, 'zeroGrad').setToNone, 'zeroGrad', 'setToNone', true);
  for (const t of list) {
    if (t.grad === null) continue;
    if (setToNone) t.grad = null;
    else {
      const g = t.grad;
      noGrad(() => g.zero_());
    }
  }
}
