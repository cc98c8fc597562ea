/**
 * Multi-head attention (PyTorch's nn.MultiheadAttention): the same parameters under the same state-dict keys
 * (`in_proj_weight` [3E, E] holding the query, key and value projections stacked, or, when the key or value
 * size differs from E (kdim, vdim), `q_proj_weight` [E, E], `k_proj_weight` [E, kdim] and `v_proj_weight`
 * [E, vdim]; then `in_proj_bias`, `out_proj.weight`, `out_proj.bias`), so a PyTorch checkpoint loads, and the
 * same forward contract. The heads are einsum axes: the projections write [batch, head, position, headDim]
 * directly, and the scores and the weighted sum are one einsum each.
 */
import * as A from '../runtime/args.js';
import { EinjitError, formatShape } from '../errors.js';
import { MAX_ELEMENTS } from '../runtime/shape.js';
import type { Tensor } from '../runtime/tensor.js';
import { empty } from '../runtime/creation.js';
import { einsum } from '../api/einsum.js';
import { Module, Parameter, pyBool } from './module.js';
import { Linear, factory, type FactoryOptions } from './layers.js';
import * as F from './functional.js';
import * as init from './init.js';

export interface MultiheadAttentionOptions extends FactoryOptions {
  /** Dropout probability on the attention weights while training (0 by default). */
  readonly dropout?: number;
  /** Biases on the input and output projections (true by default). */
  readonly bias?: boolean;
  /** Inputs and output as [batch, sequence, embed] instead of PyTorch's default [sequence, batch, embed]. */
  readonly batchFirst?: boolean;
  /** Features of the key (PyTorch's kdim; embedDim by default). */
  readonly kdim?: number;
  /** Features of the value (PyTorch's vdim; embedDim by default). */
  readonly vdim?: number;
}

/** forward's options, PyTorch's keyword arguments in camelCase. */
export interface AttentionForwardOptions {
  /** [batch, source] (or [source] unbatched): bool true hides that key; a float mask is added to the scores. */
  readonly keyPaddingMask?: Tensor | null;
  /** [target, source] or [batch·heads, target, source]: bool true forbids a position; a float mask is added. */
  readonly attnMask?: Tensor | null;
  /** Return the attention weights (true by default); false returns null in their place. */
  readonly needWeights?: boolean;
  /** Average the returned weights over the heads (true by default); false returns them per head. */
  readonly averageAttnWeights?: boolean;
}

/**
 * `forward(query, key, value, options)` returns `[output, weights]`: output shaped like the query, weights
 * [batch, target, source] averaged over the heads (or null when `needWeights` is false). Unbatched 2-D inputs
 * work as in PyTorch. Keys of `kdim` and values of `vdim` features are projected to embedDim by their own weights.
 */
export class MultiheadAttention extends Module<[Tensor, Tensor, Tensor, AttentionForwardOptions?], [Tensor, Tensor | null]> {
  /** [3E, E], the query, key and value projections stacked; null when kdim or vdim differs from E. */
  inProjWeight: Parameter | null;
  /** [E, E], [E, kdim], [E, vdim]: the separate projections, used (as in PyTorch) only when kdim or vdim differs from E. */
  qProjWeight: Parameter | null;
  kProjWeight: Parameter | null;
  vProjWeight: Parameter | null;
  inProjBias: Parameter | null;
  outProj: Linear;
  readonly headDim: number;
  readonly dropout: number;
  readonly batchFirst: boolean;
  readonly kdim: number;
  readonly vdim: number;

  constructor(readonly embedDim: number, readonly numHeads: number, options: MultiheadAttentionOptions = {}) {
    super();
    const op = this.constructor.name;
    A.optionsArg(options, op);
    A.intArg(embedDim, op, 'embedDim', 1, MAX_ELEMENTS);
    A.intArg(numHeads, op, 'numHeads', 1, MAX_ELEMENTS);
    if (embedDim % numHeads !== 0) {
      throw new EinjitError(`embedDim (${embedDim}) must be divisible by numHeads (${numHeads})`, { op, hint: 'each head gets embedDim / numHeads features' });
    }
    this.headDim = embedDim / numHeads;
    this.dropout = A.numberArg(options.dropout ?? 0, op, 'dropout');
    if (!(this.dropout >= 0 && this.dropout <= 1)) throw new EinjitError(`dropout probability has to be between 0 and 1, but got ${this.dropout}`, { op });
    const bias = A.boolArg(options.bias, op, 'bias', true);
    this.batchFirst = A.boolArg(options.batchFirst, op, 'batchFirst', false);
    this.kdim = A.intArg(options.kdim ?? embedDim, op, 'kdim', 1, MAX_ELEMENTS);
    this.vdim = A.intArg(options.vdim ?? embedDim, op, 'vdim', 1, MAX_ELEMENTS);
    const f = factory(options, op);
    // PyTorch keeps one stacked weight only when all three projections read embedDim features.
    const stacked = this.kdim === embedDim && this.vdim === embedDim;
    this.inProjWeight = stacked ? new Parameter(empty([3 * embedDim, embedDim], f)) : null;
    this.qProjWeight = stacked ? null : new Parameter(empty([embedDim, embedDim], f));
    this.kProjWeight = stacked ? null : new Parameter(empty([embedDim, this.kdim], f));
    this.vProjWeight = stacked ? null : new Parameter(empty([embedDim, this.vdim], f));
    this.inProjBias = bias ? new Parameter(empty([3 * embedDim], f)) : null;
    this.outProj = new Linear(embedDim, embedDim, { ...f, bias });
    this.resetParameters();
  }

  /** PyTorch's initialisation: Xavier-uniform input projections, zero biases, out_proj's weight as Linear's. */
  resetParameters(): void {
    for (const w of [this.inProjWeight, this.qProjWeight, this.kProjWeight, this.vProjWeight]) if (w !== null) init.xavierUniform_(w);
    if (this.inProjBias !== null) init.zeros_(this.inProjBias);
    if (this.outProj.bias !== null) init.zeros_(this.outProj.bias);
  }

  override forward(query: Tensor, key: Tensor, value: Tensor, options: AttentionForwardOptions = {}): [Tensor, Tensor | null] {
    const op = `${this.constructor.name}.forward`;
    A.tensorArg(query, op, 'query'); A.tensorArg(key, op, 'key'); A.tensorArg(value, op, 'value');
    const o = A.optionsArg<AttentionForwardOptions>(options, op);
    const needWeights = A.boolArg(o.needWeights, op, 'needWeights', true);
    const average = A.boolArg(o.averageAttnWeights, op, 'averageAttnWeights', true);
    const batched = this.checkShapes(query, key, value, op);
    // Internally [batch, position, embed]; an unbatched input is a batch of one.
    const toInternal = (t: Tensor): Tensor => (!batched ? t.unsqueeze(0) : this.batchFirst ? t : t.transpose(0, 1));
    const [q, k, v] = [toInternal(query), toInternal(key), toInternal(value)];
    const [n, l, s] = [q.shape[0]!, q.shape[1]!, k.shape[1]!];
    const qh = this.project(q, 0).mul(1 / Math.sqrt(this.headDim));
    const kh = this.project(k, 1);
    const vh = this.project(v, 2);
    let scores: Tensor = einsum('nhld,nhsd->nhls', qh, kh);
    scores = this.masked(scores, o.attnMask, batched ? attnMaskShape(n, this.numHeads, l, s) : attnMaskShape(1, this.numHeads, l, s), batched, op, 'attnMask');
    scores = this.masked(scores, o.keyPaddingMask, [[n, s]], batched, op, 'keyPaddingMask');
    const weights = F.dropout(scores.softmax(-1), this.dropout, this.training);
    const context = einsum('nhls,nhsd->nlhd', weights, vh).reshape([n, l, this.embedDim]);
    const out = this.outProj.forward(context);
    const output = !batched ? out.squeeze(0) : this.batchFirst ? out : out.transpose(0, 1);
    if (!needWeights) return [output, null];
    const w = average ? weights.mean(1) : weights;
    return [output, batched ? w : w.squeeze(0)];
  }

  /** Projection `which` (0 query, 1 key, 2 value) of x [n, pos, features], split into heads: [n, heads, pos, headDim]. */
  private project(x: Tensor, which: number): Tensor {
    const [E, H, D] = [this.embedDim, this.numHeads, this.headDim];
    const separate = [this.qProjWeight, this.kProjWeight, this.vProjWeight][which]!;
    const rows = this.inProjWeight === null ? separate! : this.inProjWeight.narrow(0, which * E, E);
    const w = rows.reshape([H, D, rows.shape[1]!]);
    const y = einsum('npe,hde->nhpd', x, w);
    return this.inProjBias === null ? y : y.add(this.inProjBias.narrow(0, which * E, E).reshape([1, H, 1, D]));
  }

  /**
   * Applies a mask to scores [n, heads, target, source]: bool true becomes −∞ (softmax gives it no weight), a
   * float mask is added. `shapes` lists the accepted batched shapes, the last dims aligned to the scores'.
   */
  private masked(scores: Tensor, mask: Tensor | null | undefined, shapes: readonly (readonly number[])[], batched: boolean,
    op: string, name: string): Tensor {
    if (mask === undefined || mask === null) return scores;
    A.tensorArg(mask, op, name);
    const given = batched ? mask : name === 'keyPaddingMask' ? mask.unsqueeze(0) : mask;
    if (!shapes.some((sh) => sameShape(sh, given.shape))) {
      throw new EinjitError(`${name} has shape ${formatShape(mask.shape)}, expected ${shapes.map((sh) => formatShape(batched || name !== 'keyPaddingMask' ? sh : sh.slice(1))).join(' or ')}`, {
        op, shapes: [scores.shape, mask.shape], hint: name === 'keyPaddingMask' ? 'one row per batch entry, one column per key' : 'one row per query, one column per key',
      });
    }
    const [n, h, l, s] = scores.shape as [number, number, number, number];
    // [n, s] pads keys of each batch entry; [n·h, l, s] is per head; [l, s] is shared.
    const aligned = name === 'keyPaddingMask' ? given.reshape([n, 1, 1, s]) : given.ndim === 3 ? given.reshape([n, h, l, s]) : given;
    if (mask.dtype === 'bool') return scores.maskedFill(aligned, -Infinity);
    if (mask.dtype === 'int32') {
      throw new EinjitError(`${name} must be a bool or floating-point tensor, got int32`, { op, hint: 'compare to make a bool mask (mask.eq(1))' });
    }
    return scores.add(aligned);
  }

  /** Checks query [L, N, E] (or batch-first, or unbatched [L, E]) against key and value; returns whether batched. */
  private checkShapes(query: Tensor, key: Tensor, value: Tensor, op: string): boolean {
    const shapes = [query.shape, key.shape, value.shape];
    const batched = query.ndim === 3;
    const rank = batched ? 3 : 2;
    const fail = (reason: string, hint: string): never => { throw new EinjitError(reason, { op, shapes, hint }); };
    if (query.ndim !== 2 && query.ndim !== 3) fail(`query must be 2-D (unbatched) or 3-D, got ${query.ndim}-D`, this.layoutHint());
    if (key.ndim !== rank || value.ndim !== rank) fail(`key and value must be ${rank}-D like the query`, this.layoutHint());
    for (const [t, name, want, size] of [[query, 'query', this.embedDim, 'embedDim'], [key, 'key', this.kdim, 'kdim'], [value, 'value', this.vdim, 'vdim']] as const) {
      if (t.shape[rank - 1] !== want) {
        fail(`${name} has ${t.shape[rank - 1]} features, expected ${size} = ${want}`,
          name === 'query' ? this.layoutHint() : `build the module with { ${size}: ${t.shape[rank - 1]} } for ${name}s of another size`);
      }
    }
    const seq = batched && this.batchFirst ? 1 : 0;
    if (key.shape[seq] !== value.shape[seq]) fail(`key and value must have the same length, got ${key.shape[seq]} and ${value.shape[seq]}`, 'each key pairs with one value');
    if (batched && (key.shape[1 - seq] !== query.shape[1 - seq] || value.shape[1 - seq] !== query.shape[1 - seq])) {
      fail('query, key and value must have the same batch size', this.layoutHint());
    }
    return batched;
  }

  private layoutHint(): string {
    return this.batchFirst ? 'batchFirst inputs are [batch, sequence, embedDim]' : 'inputs are [sequence, batch, embedDim] (pass batchFirst: true for [batch, sequence, embedDim])';
  }

  override extraRepr(): string {
    const sizes = this.inProjWeight === null ? `, kdim=${this.kdim}, vdim=${this.vdim}` : '';
    return `embed_dim=${this.embedDim}, num_heads=${this.numHeads}${sizes}, batch_first=${pyBool(this.batchFirst)}`;
  }
}

/** attnMask's accepted shapes: shared [l, s] or per batch entry and head [n·h, l, s]. */
function attnMaskShape(n: number, h: number, l: number, s: number): number[][] {
  return [[l, s], [n * h, l, s]];
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
