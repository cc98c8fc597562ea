/**
 * Learning-rate schedulers: call `step()` once per epoch (or per iteration) after `optimizer.step()`.
 */
import { EinjitError, describeValue } from '../errors.js';
import { Optimizer } from './optimizer.js';
import * as A from '../runtime/args.js';

export abstract class LRScheduler {
  readonly baseLrs: number[];
  /** Completed scheduler steps. */
  lastEpoch = 0;

  constructor(readonly optimizer: Optimizer<{ lr: number }>) {
    if (!(optimizer instanceof Optimizer)) {
      throw new EinjitError(`expected an optimizer, got ${describeValue(optimizer)}`, { op: new.target.name, hint: 'pass optim.SGD(...), optim.Adam(...) or optim.AdamW(...)' });
    }
    this.baseLrs = optimizer.paramGroups.map((g) => g.options.lr);
  }

  /** The learning rate of each group at `epoch`. */
  protected abstract lrAt(epoch: number, base: number): number;

  step(): void {
    this.lastEpoch++;
    this.optimizer.paramGroups.forEach((g, i) => {
      g.options.lr = this.lrAt(this.lastEpoch, this.baseLrs[i]!);
    });
  }

  getLastLr(): number[] {
    return this.optimizer.paramGroups.map((g) => g.options.lr);
  }
}

/** Multiplies the rate by gamma every stepSize steps. */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;

  constructor(optimizer: Optimizer<{ lr: number }>, options: { stepSize: number; gamma?: number }) {
    A.optionsArg(options, 'StepLR');
    super(optimizer);
    if (!(Number.isInteger(options.stepSize) && options.stepSize > 0)) {
      throw new EinjitError(`stepSize must be a positive integer, got ${options.stepSize}`, { op: 'StepLR' });
    }
    this.stepSize = options.stepSize;
    this.gamma = options.gamma ?? 0.1;
  }

  protected lrAt(epoch: number, base: number): number {
    return base * this.gamma ** Math.floor(epoch / this.stepSize);
  }
}

/** Cosine annealing from the base rate to etaMin over tMax steps (the closed form of CosineAnnealingLR). */
export class CosineAnnealingLR extends LRScheduler {
  readonly tMax: number;
  readonly etaMin: number;

  constructor(optimizer: Optimizer<{ lr: number }>, options: { tMax: number; etaMin?: number }) {
    A.optionsArg(options, 'CosineAnnealingLR');
    super(optimizer);
    if (!(options.tMax > 0)) throw new EinjitError(`tMax must be positive, got ${options.tMax}`, { op: 'CosineAnnealingLR' });
    this.tMax = options.tMax;
    this.etaMin = options.etaMin ?? 0;
  }

  protected lrAt(epoch: number, base: number): number {
    return this.etaMin + ((base - this.etaMin) * (1 + Math.cos((Math.PI * epoch) / this.tMax))) / 2;
  }
}
