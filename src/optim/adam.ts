/**
 * Adam and AdamW with bias-corrected moment estimates (PyTorch's update rules):
 *   m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;  p ← p − lr · (m / (1−β1ᵗ)) / (√(v / (1−β2ᵗ)) + ε).
 * Adam adds wd·p to the gradient (L2); AdamW shrinks the parameter by lr·wd first (decoupled weight decay).
 */
import { EinjitError, describeValue } from '../errors.js';
import type { Tensor } from '../runtime/tensor.js';
import { Optimizer, type ParamsInput } from './optimizer.js';
import { ex, type Expr } from '../lower/spec.js';
import { fusedMap } from '../runtime/ops.js';
import { full, zeros, zerosLike } from '../runtime/creation.js';
import { keep } from '../runtime/scope.js';
import { noGrad } from '../autograd/record.js';

export interface AdamOptions {
  lr: number;
  betas?: readonly [number, number];
  eps?: number;
  weightDecay?: number;
  maximize?: boolean;
  /**
   * Keep the whole update on the device, so a step can run inside `jit` (PyTorch's `capturable`): the moments,
   * the step count and the learning rate are tensors allocated when the optimizer is made, updated in place; the
   * bias corrections are computed from the step tensor. A scheduler (or any `group.options.lr = x` outside the
   * jitted function) writes the learning-rate tensors. Floating parameters only.
   */
  capturable?: boolean;
}

function adamStep(p: Tensor, grad: Tensor, state: Record<string, Tensor | number>, o: AdamOptions, decoupled: boolean): void {
  const [b1, b2] = o.betas ?? [0.9, 0.999];
  const eps = o.eps ?? 1e-8;
  const wd = o.weightDecay ?? (decoupled ? 0.01 : 0);
  if (o.capturable === true) {
    if (!fusable(p, grad, state)) {
      throw new EinjitError(`a capturable ${decoupled ? 'AdamW' : 'Adam'} needs a gradient of its parameter's dtype, shape and device`, {
        op: decoupled ? 'AdamW' : 'Adam', shapes: [p.shape, grad.shape], hint: `the parameter is ${p.dtype} on ${p.device}, its gradient ${grad.dtype} on ${grad.device}`,
      });
    }
    capturableStep(p, grad, state, { ...o, betas: [b1, b2], eps, weightDecay: wd, maximize: o.maximize === true, capturable: true }, decoupled);
    return;
  }
  if (fusable(p, grad, state)) {
    fusedAdamStep(p, grad, state, { ...o, betas: [b1, b2], eps, weightDecay: wd, maximize: o.maximize === true, capturable: false }, decoupled);
    return;
  }
  let g = o.maximize === true ? grad.neg() : grad;
  if (wd !== 0) {
    if (decoupled) p.copy_(p.mul(1 - o.lr * wd));
    else g = g.add(p.mul(wd));
  }
  const t = ((state.step as number | undefined) ?? 0) + 1;
  state.step = t;
  const m0 = state.expAvg as Tensor | undefined;
  const v0 = state.expAvgSq as Tensor | undefined;
  const m = m0 === undefined ? g.mul(1 - b1) : m0.mul(b1).add(g.mul(1 - b1));
  const v = v0 === undefined ? g.mul(g).mul(1 - b2) : v0.mul(b2).add(g.mul(g).mul(1 - b2));
  state.expAvg = m;
  state.expAvgSq = v;
  const c1 = 1 - b1 ** t;
  const c2 = 1 - b2 ** t;
  const denom = v.div(c2).sqrt().add(eps);
  p.copy_(p.sub(m.div(denom).mul(o.lr / c1)));
}

/**
 * Whether the update can run as fused kernels: a floating parameter whose gradient has its dtype, shape and
 * device, and moments (if any yet) of the same kind.
 */
function fusable(p: Tensor, grad: Tensor, state: Record<string, Tensor | number>): boolean {
  const same = (t: Tensor): boolean => t.dtype === p.dtype && t.device === p.device && t.shape.length === p.shape.length &&
    t.shape.every((n, d) => n === p.shape[d]);
  const moments = [state.expAvg, state.expAvgSq].filter((t): t is Tensor => t !== undefined && typeof t !== 'number');
  return (p.dtype === 'float32' || p.dtype === 'float64') && same(grad) && moments.every(same);
}

const add = (x: Expr, y: Expr): Expr => ex.binary('add', x, y);
const mul = (x: Expr, y: Expr): Expr => ex.binary('mul', x, y);
const div = (x: Expr, y: Expr): Expr => ex.binary('div', x, y);

/**
 * The same update as three elementwise kernels and a copy into the parameter (PyTorch's fused Adam):
 *   m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;  p ← p·(1 − lr·wd) − (lr / (1−β1ᵗ)) · m / (√(v / (1−β2ᵗ)) + ε)
 * with g = ±grad (+ wd·p for Adam's L2 decay) and the p·(1 − lr·wd) factor for AdamW only. Each expression is
 * evaluated in the compute type's arithmetic and rounded once, where the op-by-op update rounds every step. The
 * new parameter is computed apart and copied in (a GPU kernel may not read the buffer it writes).
 */
function fusedAdamStep(p: Tensor, grad: Tensor, state: Record<string, Tensor | number>, o: Required<AdamOptions>, decoupled: boolean): void {
  const [b1, b2] = o.betas;
  const t = ((state.step as number | undefined) ?? 0) + 1;
  state.step = t;
  const c = ex.const;
  // Inputs of the moment kernels: 0 the moment, 1 the gradient, 2 the parameter.
  let g = o.maximize ? ex.unary('neg', ex.input(1)) : ex.input(1);
  if (!decoupled && o.weightDecay !== 0) g = add(g, mul(c(o.weightDecay), ex.input(2)));
  const m = fusedMap('adam: exp_avg', [(state.expAvg as Tensor | undefined) ?? zerosLike(p), grad, p], add(mul(c(b1), ex.input(0)), mul(c(1 - b1), g)));
  const v = fusedMap('adam: exp_avg_sq', [(state.expAvgSq as Tensor | undefined) ?? zerosLike(p), grad, p],
    add(mul(c(b2), ex.input(0)), mul(c(1 - b2), mul(g, g))));
  state.expAvg = m;
  state.expAvgSq = v;
  // Inputs of the parameter kernel: 0 the parameter, 1 m, 2 v.
  const shrunk = decoupled && o.weightDecay !== 0 ? mul(ex.input(0), c(1 - o.lr * o.weightDecay)) : ex.input(0);
  const denom = add(ex.unary('sqrt', div(ex.input(2), c(1 - b2 ** t))), c(o.eps));
  p.copy_(fusedMap('adam: param', [p, m, v], ex.binary('sub', shrunk, mul(c(o.lr / (1 - b1 ** t)), div(ex.input(1), denom)))));
}

/**
 * The fused update with every changing scalar on the device: `t ← t + 1`, the moments written back into their
 * tensors, and the parameter from step and learning-rate tensors (bias corrections `1 − βᵗ` by `pow` of the
 * step), so a replay of a jitted step reads this step's values instead of the trace's.
 */
function capturableStep(p: Tensor, grad: Tensor, state: Record<string, Tensor | number>, o: Required<AdamOptions>, decoupled: boolean): void {
  const [b1, b2] = o.betas;
  const c = ex.const;
  const step = state.step as Tensor;
  const m = state.expAvg as Tensor;
  const v = state.expAvgSq as Tensor;
  step.add_(1);
  // Inputs of the moment kernels: 0 the moment, 1 the gradient, 2 the parameter.
  let g = o.maximize ? ex.unary('neg', ex.input(1)) : ex.input(1);
  if (!decoupled && o.weightDecay !== 0) g = add(g, mul(c(o.weightDecay), ex.input(2)));
  m.copy_(fusedMap('adam: exp_avg', [m, grad, p], add(mul(c(b1), ex.input(0)), mul(c(1 - b1), g))));
  v.copy_(fusedMap('adam: exp_avg_sq', [v, grad, p], add(mul(c(b2), ex.input(0)), mul(c(1 - b2), mul(g, g)))));
  // Inputs of the parameter kernel: 0 the parameter, 1 m, 2 v, 3 the step, 4 the learning rate.
  const lr = ex.input(4);
  const correction = (beta: number): Expr => ex.binary('sub', c(1), ex.binary('pow', c(beta), ex.input(3)));
  const shrunk = decoupled && o.weightDecay !== 0 ? mul(ex.input(0), ex.binary('sub', c(1), mul(lr, c(o.weightDecay)))) : ex.input(0);
  const denom = add(ex.unary('sqrt', div(ex.input(2), correction(b2))), c(o.eps));
  p.copy_(fusedMap('adam: param', [p, m, v, step, state.lr as Tensor],
    ex.binary('sub', shrunk, mul(div(lr, correction(b1)), div(ex.input(1), denom)))));
}

/**
 * A capturable optimizer's state, made with the optimizer (not on the first step, which may run inside `jit`):
 * zero moments, a zero step count and the learning rate, as tensors on each parameter's device; and each group's
 * `lr` made an accessor whose setter writes the learning-rate tensors, so schedulers keep working.
 */
function captureState(opt: Adam | AdamW, state: Map<Tensor, Record<string, Tensor | number>>, name: string): void {
  for (const g of opt.paramGroups) {
    if (g.options.capturable !== true) continue;
    const lrs: Tensor[] = [];
    for (const p of g.params) {
      if (p.dtype !== 'float32' && p.dtype !== 'float64') {
        throw new EinjitError(`a capturable ${name} updates floating parameters only, got ${p.dtype}`, { op: name, shapes: [p.shape] });
      }
      const s = noGrad(() => ({
        step: zeros([], { dtype: p.dtype, device: p.device }),
        expAvg: zerosLike(p),
        expAvgSq: zerosLike(p),
        lr: full([], g.options.lr, { dtype: p.dtype, device: p.device }),
      }));
      for (const t of Object.values(s)) keep(t);
      state.set(p, s);
      lrs.push(s.lr);
    }
    let lr = g.options.lr;
    Object.defineProperty(g.options, 'lr', {
      enumerable: true,
      get: () => lr,
      set: (value: number) => {
        lr = value;
        noGrad(() => { for (const t of lrs) t.fill_(value); });
      },
    });
  }
}

function checkOptions(o: AdamOptions | undefined, name: string): void {
  if (o === undefined || o === null || typeof o !== 'object' || typeof o.lr !== 'number') {
    throw new EinjitError(`${name} needs a learning rate: new optim.${name}(params, { lr: 1e-3 })`, { op: name });
  }
  const betas: unknown = o.betas ?? [0.9, 0.999];
  const [b1, b2] = Array.isArray(betas) ? betas as unknown[] : [];
  if (!(typeof b1 === 'number' && typeof b2 === 'number' && b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1)) {
    throw new EinjitError(`invalid betas: ${describeValue(betas)}`, { op: name, hint: 'a pair of numbers in [0, 1)' });
  }
}

export class Adam extends Optimizer<AdamOptions> {
  constructor(params: ParamsInput<AdamOptions>, options: AdamOptions = { lr: 1e-3 }) {
    checkOptions(options, 'Adam');
    super(params, options, 'Adam');
    captureState(this, this.state, 'Adam');
  }

  protected update(p: Tensor, grad: Tensor, state: Record<string, Tensor | number>, o: AdamOptions): void {
    adamStep(p, grad, state, o, false);
  }
}

/** Adam with decoupled weight decay (default 0.01, as PyTorch's AdamW). */
export class AdamW extends Optimizer<AdamOptions> {
  constructor(params: ParamsInput<AdamOptions>, options: AdamOptions = { lr: 1e-3 }) {
    checkOptions(options, 'AdamW');
    super(params, options, 'AdamW');
    captureState(this, this.state, 'AdamW');
  }

  protected update(p: Tensor, grad: Tensor, state: Record<string, Tensor | number>, o: AdamOptions): void {
    adamStep(p, grad, state, o, true);
  }
}
