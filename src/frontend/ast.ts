/**
 * The abstract syntax of every pattern language, with source spans (half-open character ranges into the
 * pattern) so later stages can point a caret at the offending part. Records are frozen.
 */
import type { Span } from '../errors.js';

export type { Span };

/** A named axis: an einops identifier, or one numpy letter. */
export interface NameAst {
  readonly kind: 'name';
  readonly name: string;
  readonly span: Span;
}

/** A number written where an axis goes: einops' anonymous axis ('2'), or a unit axis ('1'). */
export interface NumberAst {
  readonly kind: 'number';
  readonly value: number;
  readonly span: Span;
}

/** '...' */
export interface EllipsisAst {
  readonly kind: 'ellipsis';
  readonly span: Span;
}

export type MemberAst = NameAst | NumberAst | EllipsisAst;

/** '(a b)': a composite axis. '()' is a group with no members. */
export interface GroupAst {
  readonly kind: 'group';
  readonly members: readonly MemberAst[];
  readonly span: Span;
}

export type DimAst = MemberAst | GroupAst;

/** One side of an einops pattern, or one operand term of an einsum. */
export interface ExpressionAst {
  readonly dims: readonly DimAst[];
  readonly span: Span;
}

export type EinsumSyntax = 'numpy' | 'einops';

export interface EinsumAst {
  readonly kind: 'einsum';
  readonly syntax: EinsumSyntax;
  readonly pattern: string;
  readonly inputs: readonly ExpressionAst[];
  /** null in numpy's implicit mode (no '->'). */
  readonly output: ExpressionAst | null;
}

/** rearrange / reduce / repeat. */
export interface TransformAst {
  readonly kind: 'transform';
  readonly pattern: string;
  readonly left: ExpressionAst;
  readonly right: ExpressionAst;
  readonly arrow: Span;
}

export type PackItemAst = NameAst | { readonly kind: 'star'; readonly span: Span };

/** pack / unpack. */
export interface PackAst {
  readonly kind: 'pack';
  readonly pattern: string;
  readonly items: readonly PackItemAst[];
}

/** parse_shape. */
export interface ShapeAst {
  readonly kind: 'shape';
  readonly pattern: string;
  readonly expression: ExpressionAst;
}

export type PatternAst = EinsumAst | TransformAst | PackAst | ShapeAst;
