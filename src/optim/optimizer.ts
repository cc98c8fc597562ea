/**
 * Optimizers update parameters in place from their `.grad`, under noGrad. Each keeps per-parameter state
 * (momentum buffers, moment estimates) and a list of parameter groups whose `lr` schedulers change.
 */
import { EinjitError, describeValue } from '../errors.js';
import * as A from '../runtime/args.js';
import { Tensor } from '../runtime/tensor.js';
import { noGrad } from '../autograd/record.js';
import { keep } from '../runtime/scope.js';

export interface ParamGroup<O> {
  readonly params: Tensor[];
  /** This group's options (lr and the rest); schedulers write `lr`. */
  options: O & { lr: number };
}

export type ParamsInput<O> = Iterable<Tensor> | readonly ({ params: Iterable<Tensor> } & Partial<O>)[];

export abstract class Optimizer<O extends { lr: number }> {
  readonly paramGroups: ParamGroup<O>[];
  /** Per-parameter state, created on the first step. */
  protected readonly state = new Map<Tensor, Record<string, Tensor | number>>();

  constructor(params: ParamsInput<O>, defaults: O, name: string) {
    name = typeof name === 'string' ? name : 'Optimizer';
    const iterable = (v: unknown): v is Iterable<unknown> =>
      v !== null && typeof v === 'object' && typeof (v as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function';
    if (!iterable(params)) {
      throw new EinjitError(`params must be a list of tensors or of parameter groups, got ${describeValue(params)}`, { op: name, hint: 'pass model.parameters()' });
    }
    A.optionsArg(defaults, name, 'the options');
    const list = [...(params as Iterable<unknown>)];
    const groups: ParamGroup<O>[] = [];
    const isGroup = (v: unknown): v is { params: Iterable<Tensor> } & Partial<O> =>
      typeof v === 'object' && v !== null && !(v instanceof Tensor) && 'params' in v;
    if (list.length > 0 && list.every(isGroup)) {
      for (const g of list as ({ params: Iterable<Tensor> } & Partial<O>)[]) {
        const { params: ps, ...rest } = g;
        if (!iterable(ps)) throw new EinjitError(`a parameter group's params must be a list of tensors, got ${describeValue(ps)}`, { op: name });
        groups.push({ params: [...ps], options: { ...defaults, ...(rest as unknown as Partial<O>) } });
      }
    } else {
      groups.push({ params: list as Tensor[], options: { ...defaults } });
    }
    for (const g of groups) {
      for (const p of g.params) {
        if (!(p instanceof Tensor)) {
          throw new EinjitError(`${name} expects tensors as parameters, got ${describeValue(p)}`, {
            op: name, hint: 'pass model.parameters()',
          });
        }
        if (!p.requiresGrad) {
          throw new EinjitError(`${name} can only optimize tensors that require gradients`, {
            op: name, shapes: [p.shape], hint: 'create parameters with nn.Parameter or { requiresGrad: true }',
          });
        }
      }
      const lr: unknown = g.options.lr;
      if (typeof lr !== 'number' || !(lr >= 0)) throw new EinjitError(`invalid learning rate: ${describeValue(lr)}`, { op: name });
    }
    if (groups.every((g) => g.params.length === 0)) {
      throw new EinjitError(`${name} got an empty parameter list`, { op: name, hint: 'pass model.parameters()' });
    }
    this.paramGroups = groups;
  }

  /** Clears every gradient (set to null, as PyTorch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    for (const g of this.paramGroups) for (const p of g.params) p.grad = null;
  }

  /** One update of every parameter that has a gradient. */
  step(): void {
    noGrad(() => {
      for (const g of this.paramGroups) {
        for (const p of g.params) {
          if (p.grad === null) continue;
          let s = this.state.get(p);
          if (s === undefined) {
            s = {};
            this.state.set(p, s);
          }
          this.update(p, p.grad, s, g.options);
          // State (moments, momentum buffers) outlives any tidy() scope the step runs in.
          for (const v of Object.values(s)) if (typeof v === 'object') keep(v);
        }
      }
    });
  }

  /** Updates one parameter in place from its gradient. */
  protected abstract update(p: Tensor, grad: Tensor, state: Record<string, Tensor | number>, options: O & { lr: number }): void;
}
