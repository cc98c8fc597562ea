/**
 * Adam and AdamW with bias-corrected moment estimates (PyTorch's update rules):
 *   m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;  p ← p − lr · (m / (1−β1ᵗ)) / (√(v / (1−β2ᵗ)) + ε).
 * Adam adds wd·p to the gradient (L2); AdamW shrinks the parameter by lr·wd first (decoupled weight decay).
 */
import { EinjitError, describeValue } from '../errors.js';
import type { Tensor } from '../runtime/tensor.js';
import { Optimizer, type ParamsInput } from './optimizer.js';

export interface AdamOptions {
  lr: number;
  betas?: readonly [number, number];
  eps?: number;
  weightDecay?: number;
  maximize?: boolean;
}

function adamStep(p: Tensor, grad: Tensor, state: Record<string, Tensor | number>, o: AdamOptions, decoupled: boolean): void {
  const [b1, b2] = o.betas ?? [0.9, 0.999];
  const eps = o.eps ?? 1e-8;
  const wd = o.weightDecay ?? (decoupled ? 0.01 : 0);
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
  }

  protected update(p: Tensor, grad: Tensor, state: Record<string, Tensor | number>, o: AdamOptions): void {
    adamStep(p, grad, state, o, true);
  }
}
