/**
 * Builds loop specs and simplifies them before a backend sees them.
 *
 * `simplifyLoops` is the one pass every LoopSpec goes through: loops of extent 1 are dropped and adjacent loops
 * that every operand walks contiguously are merged, so a contiguous elementwise op over a [32, 64, 56, 56]
 * tensor becomes one flat loop and generated kernels stay few and fast.
 */
import type { Access, DType, Expr, LoopSpec, ReduceOp } from './spec.js';

export interface LoopOperand {
  readonly dtype: DType;
  readonly offset: number;
  readonly strides: readonly number[];
}

export interface LoopRequest {
  readonly label: string;
  /** Extents of the output loops. */
  readonly outShape: readonly number[];
  /** Extents of the reduce loops (empty for a map). */
  readonly reduceShape?: readonly number[];
  readonly reduceOp?: ReduceOp | null;
  /** Strides of each input over outShape ++ reduceShape. */
  readonly inputs: readonly LoopOperand[];
  /** The output's strides over outShape. */
  readonly output: LoopOperand;
  readonly expr: Expr;
  readonly computeType: DType;
}

export function buildLoop(req: LoopRequest): LoopSpec {
  const reduceShape = req.reduceShape ?? [];
  const spec: LoopSpec = {
    kind: 'loop',
    label: req.label,
    sizes: [...req.outShape, ...reduceShape],
    parallel: req.outShape.length,
    reduceOp: reduceShape.length > 0 ? req.reduceOp ?? 'sum' : null,
    inputs: req.inputs.map(toAccess),
    output: toAccess(req.output),
    expr: req.expr,
    computeType: req.computeType,
  };
  return simplifyLoops(spec);
}

function toAccess(o: LoopOperand): Access {
  return { dtype: o.dtype, offset: o.offset, strides: o.strides.slice() };
}

/**
 * Drops unit loops and merges adjacent loops of the same kind (parallel or reduce) that every operand walks as
 * one. argmax/argmin keep their reduce loops intact except for merging, which preserves the row-major index.
 */
function simplifyLoops(spec: LoopSpec): LoopSpec {
  const sizes: number[] = [];
  const ins: number[][] = spec.inputs.map(() => []);
  const out: number[] = [];
  let parallel = 0;
  // Pass 1: drop loops of extent 1 (a zero-extent loop is kept: it means "no work").
  // A reduction keeps at least one reduce loop so that argmax writes an index and any/all a bool.
  const lastReduce = spec.sizes.length > spec.parallel && spec.sizes.slice(spec.parallel).every((n) => n === 1)
    ? spec.sizes.length - 1 : -1;
  for (let d = 0; d < spec.sizes.length; d++) {
    const n = spec.sizes[d]!;
    if (n === 1 && d !== lastReduce) continue;
    sizes.push(n);
    spec.inputs.forEach((a, k) => ins[k]!.push(a.strides[d]!));
    if (d < spec.parallel) {
      out.push(spec.output.strides[d]!);
      parallel++;
    }
  }
  // Pass 2: merge loop d into d+1 when, for every operand, stride[d] == stride[d+1] * size[d+1].
  const mSizes: number[] = [];
  const mIns: number[][] = ins.map(() => []);
  const mOut: number[] = [];
  let mParallel = 0;
  for (let d = 0; d < sizes.length; d++) {
    const isParallel = d < parallel;
    const last = mSizes.length - 1;
    const lastIsParallel = last < mParallel;
    if (last >= 0 && lastIsParallel === isParallel) {
      const n = sizes[d]!;
      const ok = ins.every((s, k) => mIns[k]![last] === s[d]! * n) && (!isParallel || mOut[last] === out[d]! * n);
      if (ok) {
        mSizes[last] = mSizes[last]! * n;
        ins.forEach((s, k) => { mIns[k]![last] = s[d]!; });
        if (isParallel) mOut[last] = out[d]!;
        continue;
      }
    }
    mSizes.push(sizes[d]!);
    ins.forEach((s, k) => mIns[k]!.push(s[d]!));
    if (isParallel) {
      mOut.push(out[d]!);
      mParallel++;
    }
  }
  return {
    ...spec,
    sizes: mSizes,
    parallel: mParallel,
    reduceOp: mSizes.length > mParallel ? spec.reduceOp : null,
    inputs: spec.inputs.map((a, k) => ({ ...a, strides: mIns[k]! })),
    output: { ...spec.output, strides: mOut },
  };
}

/** The two loops a transpose tiles: `a` (where the input has stride 1) and `b` (where the output has). */
export interface TransposeDims {
  readonly a: number;
  readonly b: number;
}

/**
 * Where a spec is a copy or cast of one input with no reduction and the input's unit-stride loop differs from
 * the output's (a permute such as `b c h w -> b h w c`): those two loops, when both are at least `minExtent`
 * long. Otherwise null. Backends use it to pick a tiled transpose over the generic loop nest.
 */
export function transposeDims(spec: LoopSpec, minExtent = 1): TransposeDims | null {
  if (spec.inputs.length !== 1 || spec.parallel !== spec.sizes.length) return null;
  let e = spec.expr;
  while (e.kind === 'cast') e = e.arg;
  if (e.kind !== 'input' || e.index !== 0) return null;
  const inStrides = spec.inputs[0]!.strides;
  const outStrides = spec.output.strides;
  // The last unit-stride loop of each (simplifyLoops leaves at most one of extent > 1 unless a stride repeats).
  let a = -1;
  let b = -1;
  for (let d = 0; d < spec.sizes.length; d++) {
    if (inStrides[d] === 1) a = d;
    if (outStrides[d] === 1) b = d;
  }
  if (a < 0 || b < 0 || a === b) return null;
  if (spec.sizes[a]! < minExtent || spec.sizes[b]! < minExtent) return null;
  return { a, b };
}
