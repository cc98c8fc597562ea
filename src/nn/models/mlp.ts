/**
 * A multilayer perceptron: Linear layers with an activation between them (none after the last).
 */
import { EinjitError } from '../../errors.js';
import * as A from '../../runtime/args.js';
import { Sequential, type Module } from '../module.js';
import { Dropout, GELU, Linear, ReLU, Tanh, type FactoryOptions } from '../layers.js';

export interface MLPOptions extends FactoryOptions {
  readonly activation?: 'relu' | 'gelu' | 'tanh';
  /** Dropout after each activation (0: none). */
  readonly dropout?: number;
}

export class MLP extends Sequential {
  /** `new MLP([2, 16, 16, 2])`: two hidden layers of 16. */
  constructor(sizes: readonly number[], options: MLPOptions = {}) {
    super();
    if (!Array.isArray(sizes)) throw new EinjitError(`sizes must be an array of layer widths, got ${A.describe(sizes)}`, { op: 'MLP' });
    A.optionsArg(options, 'MLP');
    if (sizes.length < 2) throw new EinjitError('an MLP needs at least an input and an output size', { op: 'MLP' });
    const f: FactoryOptions = {
      ...(options.dtype !== undefined ? { dtype: options.dtype } : {}),
      ...(options.device !== undefined ? { device: options.device } : {}),
    };
    const act = (): Module => (options.activation === 'gelu' ? new GELU() : options.activation === 'tanh' ? new Tanh() : new ReLU());
    for (let i = 0; i + 1 < sizes.length; i++) {
      this.append(new Linear(sizes[i]!, sizes[i + 1]!, f));
      if (i + 2 < sizes.length) {
        this.append(act());
        if ((options.dropout ?? 0) > 0) this.append(new Dropout(options.dropout));
      }
    }
  }
}
