/**
 * Recording: every differentiable op calls `record` after computing its output. When gradients are enabled and
 * some input requires them, the output gets a GradNode holding the op's backward rule.
 */
import { EinjitError, describeValue } from '../errors.js';
import { isFloating } from '../runtime/dtype.js';
import type { Tensor } from '../runtime/tensor.js';
import type { GradNode } from './node.js';

let enabled = true;

/**
 * Whether ops record gradients right now (false inside noGrad).
 *
 * @example
 * noGrad(() => isGradEnabled());                 // false
 */
export function isGradEnabled(): boolean {
  return enabled;
}

/**
 * Runs `fn` with gradient recording off and returns its value (PyTorch's `with torch.no_grad()`). The callback
 * should be synchronous: recording is switched back on when it returns.
 *
 * @example
 * const w = randn([3], { requiresGrad: true });
 * noGrad(() => w.sub_(w.grad!.mul(0.1)));        // an optimizer step, not recorded
 */
export function noGrad<T>(fn: () => T): T {
  if (typeof fn !== 'function') throw new EinjitError(`noGrad expects a function to run, got ${describeValue(fn)}`, { op: 'noGrad', hint: 'noGrad(() => ...)' });
  const before = enabled;
  enabled = false;
  try {
    return fn();
  } finally {
    enabled = before;
  }
}

/**
 * @internal Runs `fn` with recording on, even inside noGrad (PyTorch's `torch.enable_grad()`): the functional
 * API and gradgradcheck differentiate inside calls that may have switched it off.
 */
export function enableGrad<T>(fn: () => T): T {
  const before = setGradEnabled(true);
  try {
    return fn();
  } finally {
    setGradEnabled(before);
  }
}

/** @internal used by the backward pass and optimizers. */
export function setGradEnabled(value: boolean): boolean {
  const before = enabled;
  enabled = value;
  return before;
}

/**
 * Attaches a GradNode to `out` when some input requires gradients. `saved` lists the inputs whose values the
 * backward rule reads (default: all of them); an in-place write to one of them before backward is an error.
 */
export function record(op: string, inputs: readonly (Tensor | null)[], out: Tensor,
  backward: (grad: Tensor) => readonly (Tensor | null)[], saved?: readonly (Tensor | null)[]): void {
  if (!enabled || !isFloating(out.dtype)) return;
  if (!inputs.some((t) => t !== null && t.requiresGrad)) return;
  const node: GradNode = {
    op,
    inputs: inputs.map((t) => (t !== null && t.requiresGrad ? t : null)),
    backward,
    saved: (saved ?? inputs).filter((t): t is Tensor => t !== null).map((t) => ({ tensor: t, version: t._version.value })),
    freed: false,
  };
  out.gradFn = node;
  out._requiresGrad = true;
}

/** Refuses an in-place write that would corrupt the graph. */
export function checkInPlace(dst: Tensor): void {
  if (!enabled || !dst.requiresGrad) return;
  if (dst.isLeaf) {
    throw new EinjitError('a leaf tensor that requires grad is being used in an in-place operation', {
      op: 'in-place write',
      shapes: [dst.shape],
      hint: 'wrap the update in noGrad(() => ...), as optimizers do, or work on a clone()',
    });
  }
  throw new EinjitError('in-place writes to a tensor inside the autograd graph are not supported', {
    op: 'in-place write',
    shapes: [dst.shape],
    hint: 'compute a new tensor instead (x = x.add(y)), or detach() it first',
  });
}
