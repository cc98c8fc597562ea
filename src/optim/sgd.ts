/**
 * SGD with momentum, dampening, Nesterov momentum and L2 weight decay, with PyTorch's update rule:
 *   g ← grad + wd·p;  b ← g (first step) or μ·b + (1−dampening)·g;  g ← g + μ·b (Nesterov) or b;  p ← p − lr·g.
 */
import { EinjitError } from '../errors.js';
import type { Tensor } from '../runtime/tensor.js';
import { Optimizer, type ParamsInput } from './optimizer.js';

export interface SGDOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
  /** Maximise the objective instead. */
  maximize?: boolean;
}

export class SGD extends Optimizer<SGDOptions> {
  constructor(params: ParamsInput<SGDOptions>, options: SGDOptions) {
    if (options === undefined || options === null || typeof options !== 'object' || typeof options.lr !== 'number') {
      throw new EinjitError('SGD needs a learning rate: new optim.SGD(params, { lr: 0.01 })', { op: 'SGD' });
    }
    if (options.nesterov === true && (!((options.momentum ?? 0) > 0) || (options.dampening ?? 0) !== 0)) {
      throw new EinjitError('Nesterov momentum requires a momentum and zero dampening', { op: 'SGD' });
    }
    super(params, options, 'SGD');
  }

  protected update(p: Tensor, grad: Tensor, state: Record<string, Tensor | number>, o: SGDOptions): void {
    let g = o.maximize === true ? grad.neg() : grad;
    const wd = o.weightDecay ?? 0;
    const mu = o.momentum ?? 0;
    if (wd !== 0) g = g.add(p.mul(wd));
    if (mu !== 0) {
      const prev = state.buf as Tensor | undefined;
      const buf = prev === undefined ? g.clone() : prev.mul(mu).add(g.mul(1 - (o.dampening ?? 0)));
      state.buf = buf;
      g = o.nesterov === true ? g.add(buf.mul(mu)) : buf;
    }
    p.copy_(p.sub(g.mul(o.lr)));
  }
}
