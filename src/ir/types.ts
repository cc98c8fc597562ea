/**
 * IR records. Everything is a frozen named record; axes are numeric ids (an index into an `axes` or
 * `axisNames` array); composite groups are explicit; ellipses are expanded once the ranks are known.
 */

// ─── einsum ─────────────────────────────────────────────────────────────────────────────────────────────

/** One written item of an einsum term, after ellipsis expansion. */
export type EinsumItem =
  | { readonly kind: 'axis'; readonly axis: number }
  /** '...': the ellipsis axes this operand covers (right-aligned within the broadcast ellipsis axes). */
  | { readonly kind: 'ellipsis'; readonly axes: readonly number[] };

/** An einsum specialised to operand ranks (shape-free). */
export interface EinsumIR {
  readonly kind: 'einsum';
  readonly syntax: 'numpy' | 'einops';
  readonly pattern: string;
  /** Axis id → name. Ellipsis axes are named '...0', '...1', ... from the left. */
  readonly axisNames: readonly string[];
  /** The broadcast ellipsis axes, leftmost first (empty when no operand has '...' or it covers 0 dims). */
  readonly ellipsisAxes: readonly number[];
  /** Per operand, the written items (keeps where '...' stood, for printing). */
  readonly terms: readonly (readonly EinsumItem[])[];
  /** The output items; in numpy's implicit mode, the resolved output. */
  readonly outputTerm: readonly EinsumItem[];
  /** Per operand, one axis id per dimension (a repeated id is a diagonal). */
  readonly inputs: readonly (readonly number[])[];
  /** Distinct axis ids in output order. */
  readonly output: readonly number[];
}

export interface Axis {
  readonly name: string;
  readonly size: number;
}

/** An einsum with sizes bound from the operand shapes. */
export interface CheckedEinsum {
  readonly pattern: string;
  /** axis id = index into this array. */
  readonly axes: readonly Axis[];
  /** Per operand, one axis id per dimension (ellipsis expanded; a repeated id = diagonal). */
  readonly inputs: readonly (readonly number[])[];
  /** Distinct axis ids in output order. */
  readonly output: readonly number[];
  /** The operand shapes the sizes were bound from. A dimension of size 1 whose axis is larger broadcasts (stride 0). */
  readonly shapes: readonly (readonly number[])[];
  /** The output shape: the sizes of `output`. */
  readonly outputShape: readonly number[];
  /** The rank-specialised IR this was checked from. */
  readonly ir: EinsumIR;
}

// ─── rearrange / reduce / repeat ────────────────────────────────────────────────────────────────────────

export type EinopsOp = 'rearrange' | 'reduce' | 'repeat';
type EinopsReduction = 'sum' | 'mean' | 'max' | 'min' | 'prod' | 'any' | 'all';

/** An elementary axis of a transform. */
export interface ElementaryAxis {
  /** The name as written; anonymous axes are their number ('2'); ellipsis axes are '...0', '...1', ... */
  readonly name: string;
  readonly kind: 'named' | 'anonymous' | 'ellipsis';
  /** Anonymous axes: the written length. */
  readonly value: number | null;
  /** Which sides it appears on. */
  readonly side: 'both' | 'left' | 'right';
}

/** One dimension of one side: a group of elementary axes ('a' is a group of one, '()' and '1' of none). */
export interface TransformDim {
  readonly axes: readonly number[];
  /** How it was written, for printing: a bare axis, a parenthesised group, a top-level '1', or one '...' dimension. */
  readonly form: 'axis' | 'group' | 'unit' | 'ellipsis';
  /** For 'group' and 'axis': the members as written (units inside groups kept), for printing. */
  readonly written: readonly WrittenMember[];
}

/** A member as written inside a group (units inside groups are kept so printing is faithful). */
export type WrittenMember =
  | { readonly kind: 'axis'; readonly axis: number }
  | { readonly kind: 'unit' }
  | { readonly kind: 'ellipsis'; readonly axes: readonly number[] };

/** A rearrange/reduce/repeat pattern specialised to an input rank and the names given lengths (shape-free). */
export interface TransformIR {
  readonly kind: 'transform';
  /** The effective operation (reduce with reduction 'rearrange' or 'repeat' behaves as that op, as in einops). */
  readonly op: EinopsOp;
  readonly pattern: string;
  readonly axes: readonly ElementaryAxis[];
  /** One entry per input dimension. */
  readonly left: readonly TransformDim[];
  /** One entry per output dimension. */
  readonly right: readonly TransformDim[];
  /** Axis ids whose lengths the caller gives (axes_lengths), in the order given. */
  readonly given: readonly number[];
  /** The reduction, for reduce; null otherwise. 'custom' is a caller-supplied function. */
  readonly reduction: string | null;
  /** Where a top-level '...' stood on the left: the index of its first dimension in `left` (it may cover 0). */
  readonly leftEllipsisAt: number | null;
  /** The same for a top-level '...' on the right (a '(...)' group is a 'group' dim instead). */
  readonly rightEllipsisAt: number | null;
}

export type OutputAxis =
  | { readonly kind: 'input'; readonly axis: number }
  | { readonly kind: 'new'; readonly size: number };

export interface EinopsRecipe {
  readonly op: EinopsOp;
  readonly pattern: string;
  readonly inputShape: readonly number[];
  /** The input viewed as its elementary axes (ellipsis dims are elementary axes; unit axes drop out). */
  readonly elementaryShape: readonly number[];
  /** Positions in elementaryShape that are reduced (reduce only). */
  readonly reducedAxes: readonly number[];
  /** Elementary output axes in order: a kept input elementary axis, or a new (repeat) axis. */
  readonly outputAxes: readonly OutputAxis[];
  readonly outputShape: readonly number[];
  /** The reduction for reduce ('custom' for a function), null for rearrange and repeat. */
  readonly reduction: string | null;
  /** The shape-free IR this recipe was bound from. */
  readonly ir: TransformIR;
}

// ─── pack / unpack / parse_shape ────────────────────────────────────────────────────────────────────────

/** How one input of pack is viewed: its leading axes, the packed axes (flattened into one), its trailing axes. */
export interface PackSplit {
  readonly before: readonly number[];
  readonly packed: readonly number[];
  readonly after: readonly number[];
}

export interface PackResult {
  readonly outputShape: number[];
  /** Per input, the shape of the axes '*' matched (einops' packed_shapes). */
  readonly packedShapes: number[][];
  /** Per input, the [before, packed, after] split. */
  readonly splits: readonly PackSplit[];
  /** The position of the packed axis in the output (number of axes before '*'). */
  readonly axis: number;
  /** Per input, how many elements it contributes along the packed axis. */
  readonly lengths: readonly number[];
}

export interface UnpackResult {
  readonly outputShapes: number[][];
  /** The position of the packed axis in the input. */
  readonly axis: number;
  /** Per output, the half-open [start, stop) range of the packed axis it takes. */
  readonly ranges: readonly { readonly start: number; readonly stop: number }[];
  /** Per output, stop - start. */
  readonly lengths: readonly number[];
}
