/**
 * The seed notebook's convolutional next-token model: token embedding, then one residual block over the
 * sequence seen as a 1-pixel-high image [B, C, 1, T]: a 1×3 convolution, batch norm, ReLU, a 1×3 stride-2
 * convolution, batch norm, plus a 1×1 stride-2 convolution of the block's input, ReLU, and a linear head. The
 * output has ⌈T/2⌉ positions; position j is trained on the target of input position 2j (the stride-aligned
 * targets).
 *
 * With `causal: false` (the seed) the kernels are centred, so position j also sees tokens after 2j, its own
 * target among them. `causal: true` pads on the left only, so position j sees inputs 2j-4..2j and the model can
 * generate text.
 */
import * as A from '../../runtime/args.js';
import { EinjitError } from '../../errors.js';
import type { Tensor } from '../../runtime/tensor.js';
import { Module } from '../module.js';
import { BatchNorm2d, Conv2d, Embedding, Linear, type FactoryOptions } from '../layers.js';
import * as F from '../functional.js';

export interface TokenConvNetOptions extends FactoryOptions {
  readonly vocabSize: number;
  /** Embedding width = channels of every convolution (the seed uses 6). */
  readonly nEmbd: number;
  /** Left-only padding, so no position sees its own target. */
  readonly causal?: boolean;
}

export class TokenConvNet extends Module {
  wte: Embedding;
  convA: Conv2d;
  bnA: BatchNorm2d;
  convB: Conv2d;
  bnB: BatchNorm2d;
  resConv: Conv2d;
  lmHead: Linear;
  readonly vocabSize: number;
  readonly nEmbd: number;
  readonly causal: boolean;
  /** Downsampling factor of the block: output position j stands for input position stride·j. */
  readonly stride = 2;

  constructor(options: TokenConvNetOptions) {
    super();
    A.optionsArg(options ?? null, 'TokenConvNet');
    A.intArg(options.vocabSize, 'TokenConvNet', 'vocabSize', 1, 1 << 24);
    A.intArg(options.nEmbd, 'TokenConvNet', 'nEmbd', 1, 1 << 16);
    const { vocabSize, nEmbd } = options;
    this.vocabSize = vocabSize;
    this.nEmbd = nEmbd;
    this.causal = options.causal ?? false;
    const f: FactoryOptions = {
      ...(options.dtype !== undefined ? { dtype: options.dtype } : {}),
      ...(options.device !== undefined ? { device: options.device } : {}),
    };
    const pad = this.causal ? 0 : 1;
    this.wte = new Embedding(vocabSize, nEmbd, f);
    this.convA = new Conv2d(nEmbd, nEmbd, [1, 3], { padding: [0, pad], bias: false, ...f });
    this.bnA = new BatchNorm2d(nEmbd, f);
    this.convB = new Conv2d(nEmbd, nEmbd, [1, 3], { stride: [1, 2], padding: [0, pad], bias: false, ...f });
    this.bnB = new BatchNorm2d(nEmbd, f);
    this.resConv = new Conv2d(nEmbd, nEmbd, 1, { stride: [1, 2], bias: false, ...f });
    this.lmHead = new Linear(nEmbd, vocabSize, { bias: false, ...f });
  }

  /** Token ids [B, T] (int32) → logits [B, ⌈T/2⌉, vocab]. */
  override forward(idx: Tensor): Tensor {
    A.tensorArg(idx, `${this.constructor.name}.forward`);
    if (idx.ndim !== 2) throw new EinjitError('expected token ids [B, T]', { op: 'TokenConvNet', shapes: [idx.shape] });
    const x = this.wte.forward(idx).permute([0, 2, 1]).unsqueeze(2); // [B, C, 1, T]
    const causalPad = (t: Tensor): Tensor => (this.causal ? F.pad(t, [2, 0]) : t);
    let out = F.relu(this.bnA.forward(this.convA.forward(causalPad(x))));
    out = this.bnB.forward(this.convB.forward(causalPad(out)));
    const identity = this.resConv.forward(x);
    const y = F.relu(out.add(identity)).squeeze(2).permute([0, 2, 1]); // [B, T_out, C]
    return this.lmHead.forward(y);
  }

  /** The targets each output position is trained on: every stride-th target, [B, T] → [B, ⌈T/2⌉]. */
  alignTargets(targets: Tensor): Tensor {
    return targets.slice(1, 0, undefined, this.stride);
  }

  /** Mean cross entropy of the logits against the stride-aligned targets. */
  loss(logits: Tensor, targets: Tensor): Tensor {
    const aligned = this.alignTargets(targets);
    const [b, t, v] = logits.shape as [number, number, number];
    if (aligned.shape[1] !== t) {
      throw new EinjitError(`logits have ${t} positions but the aligned targets ${aligned.shape[1]}`, {
        op: 'TokenConvNet.loss', shapes: [logits.shape, targets.shape],
      });
    }
    return F.crossEntropy(logits.reshape([b * t, v]), aligned.reshape([b * t]));
  }
}
