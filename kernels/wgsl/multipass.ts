/**
 * Two-pass reductions for long axes with few outputs. The 'workgroup' loop kernel gives each output one
 * workgroup, so a sum of 64 Mi elements into one output runs on one workgroup of the whole GPU. Here the longest
 * reduce loop (extent E) is split into P parts (P divides E): the first pass is the same reduction with the part
 * as an extra parallel loop, writing P partial results per output into a contiguous workspace in the compute
 * type; the second reduces the P partials into the real output through its own strides, with the same op.
 *
 * Only for ops whose result does not depend on the grouping (sum, prod, max, min, any, all; not argmax/argmin,
 * whose index would be per part) and for float32, int32 and bool compute (float16 compute rounds every partial to
 * float16, which a single pass would not). Sums then add at most E/P terms per part, so the two passes are also
 * more accurate than one.
 */
import { buildLoop } from '../../src/lower/loops.js';
import { ex } from '../../src/lower/spec.js';
import type { DType, LoopSpec } from '../../src/lower/spec.js';

export interface MultipassTuning {
  /** Split when the outputs are fewer than this many (one workgroup each)... */
  readonly maxOutputs: number;
  /** ...and each output folds at least this many points. */
  readonly minReduced: number;
  /** Aim for this many workgroups in the first pass... */
  readonly targetWorkgroups: number;
  /** ...each folding at least this many points. */
  readonly minPerPart: number;
}

/**
 * On an H200 (2026-12-04, first device run) a sum of 64 Mi float32 into one output took 0.486 ms in two passes of
 * 256 parts (553 GB/s; PyTorch 0.069 ms): 256 workgroups of 256 invocations keep too few loads in flight for
 * HBM. The target is now 2048 workgroups (16 per SM); that figure is not measured yet.
 */
export const DEFAULT_MULTIPASS: MultipassTuning = { maxOutputs: 264, minReduced: 1 << 16, targetWorkgroups: 2048, minPerPart: 4096 };

export interface SplitReduction {
  readonly first: LoopSpec;
  readonly second: LoopSpec;
  readonly workspace: { readonly dtype: DType; readonly length: number };
  readonly parts: number;
}

/** The two passes for `spec`, or null when it should run as one kernel. */
export function splitReduction(spec: LoopSpec, t: MultipassTuning = DEFAULT_MULTIPASS): SplitReduction | null {
  const op = spec.reduceOp;
  // Row values (LoopSpec.rows) are folded over the whole row, so a split part could not compute them.
  if (spec.parallel === spec.sizes.length || op === null || op === 'argmax' || op === 'argmin' || spec.rows !== undefined) return null;
  if (spec.computeType !== 'float32' && spec.computeType !== 'int32' && spec.computeType !== 'bool') return null;
  const outSizes = spec.sizes.slice(0, spec.parallel);
  const redSizes = spec.sizes.slice(spec.parallel);
  const outputs = outSizes.reduce((a, b) => a * b, 1);
  const reduced = redSizes.reduce((a, b) => a * b, 1);
  if (outputs === 0 || outputs >= t.maxOutputs || reduced < t.minReduced) return null;
  // The longest reduce loop, split into the largest divisor of its extent not above the wanted part count.
  let r = 0;
  redSizes.forEach((n, i) => { if (n > redSizes[r]!) r = i; });
  const extent = redSizes[r]!;
  const want = Math.min(Math.ceil(t.targetWorkgroups / outputs), Math.floor(reduced / t.minPerPart), extent);
  let parts = 1;
  for (let p = want; p >= 2; p--) {
    if (extent % p === 0) { parts = p; break; }
  }
  if (parts < 2 || parts < want / 4) return null;
  const inner = extent / parts;
  const d = spec.parallel + r; // the split loop's position in spec.sizes
  const firstRed = redSizes.map((n, i) => (i === r ? inner : n));
  // Workspace [outputs..., parts], contiguous, in the compute type.
  const wsOut = [...contiguous(outSizes).map((s) => s * parts), 1];
  const first = buildLoop({
    label: `${spec.label} (pass 1 of 2: ${parts} parts)`, outShape: [...outSizes, parts], reduceShape: firstRed, reduceOp: op,
    inputs: spec.inputs.map((a) => {
      const st = a.strides;
      return { dtype: a.dtype, offset: a.offset, strides: [...st.slice(0, spec.parallel), inner * (st[d] ?? 0), ...st.slice(spec.parallel)] };
    }),
    output: { dtype: spec.computeType, offset: 0, strides: wsOut }, expr: spec.expr, computeType: spec.computeType,
  });
  const second = buildLoop({
    label: `${spec.label} (pass 2 of 2)`, outShape: outSizes, reduceShape: [parts], reduceOp: op,
    inputs: [{ dtype: spec.computeType, offset: 0, strides: [...wsOut.slice(0, -1), 1] }],
    output: { dtype: spec.output.dtype, offset: spec.output.offset, strides: spec.output.strides.slice(0, spec.parallel) },
    expr: ex.input(0), computeType: spec.computeType,
  });
  return { first, second, workspace: { dtype: spec.computeType, length: outputs * parts }, parts };
}

function contiguous(sizes: readonly number[]): number[] {
  const st = new Array<number>(sizes.length).fill(0);
  let acc = 1;
  for (let i = sizes.length - 1; i >= 0; i--) { st[i] = acc; acc *= sizes[i]!; }
  return st;
}
