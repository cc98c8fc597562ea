/**
 * optim: optimizers and learning-rate schedulers, exported from the public API as the namespace `optim`.
 * Each optimizer works with or without `new`: `new optim.SGD(params, { lr })` and `optim.SGD(params, { lr })`.
 */
import { SGD as SGDClass, type SGDOptions } from './sgd.js';
import { Adam as AdamClass, AdamW as AdamWClass, type AdamOptions } from './adam.js';

type Callable<C extends abstract new (...args: never[]) => unknown> = C &
  ((...args: ConstructorParameters<C>) => InstanceType<C>);

/** The class itself, made callable without `new` (a Proxy whose call constructs). */
function callable<C extends new (...args: never[]) => unknown>(cls: C): Callable<C> {
  return new Proxy(cls, {
    apply: (target, _this, args: unknown[]) => new target(...(args as never[])),
  }) as Callable<C>;
}

export const SGD = callable(SGDClass);
export type SGD = SGDClass;
export const Adam = callable(AdamClass);
export type Adam = AdamClass;
export const AdamW = callable(AdamWClass);
export type AdamW = AdamWClass;
export type { SGDOptions, AdamOptions };
export { Optimizer, type ParamGroup, type ParamsInput } from './optimizer.js';
export { LRScheduler, StepLR, CosineAnnealingLR } from './scheduler.js';
