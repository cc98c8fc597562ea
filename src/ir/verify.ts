/**
 * The invariant checker: tests run it on every IR they build. It throws an EinjitError naming the first
 * broken invariant; a correct compiler never trips it.
 */
import { EinjitError } from '../errors.js';
import { product } from './shapes.js';
import type { CheckedEinsum, EinopsRecipe, EinsumIR, EinsumItem, PackResult, TransformIR, UnpackResult } from './types.js';

function check(ok: boolean, what: string): void {
  if (!ok) throw new EinjitError(`IR invariant violated: ${what}`, { hint: 'this is a bug in einjit; please report it with the pattern and shapes' });
}

function isFrozenDeep(x: unknown, depth = 0): boolean {
  if (x === null || typeof x !== 'object' || depth > 6) return true;
  if (!Object.isFrozen(x)) return false;
  return Object.values(x as Record<string, unknown>).every((v) => isFrozenDeep(v, depth + 1));
}

const inRange = (id: number, n: number): boolean => Number.isInteger(id) && id >= 0 && id < n;

function flatten(items: readonly EinsumItem[]): number[] {
  return items.flatMap((x) => (x.kind === 'axis' ? [x.axis] : [...x.axes]));
}

function verifyEinsumIR(ir: EinsumIR): void {
  const n = ir.axisNames.length;
  check(new Set(ir.axisNames).size === n, 'einsum axis names are distinct');
  check(ir.terms.length === ir.inputs.length, 'one term per operand');
  ir.inputs.forEach((dims, k) => {
    check(dims.every((id) => inRange(id, n)), `operand ${k} axis ids are in range`);
    check(flatten(ir.terms[k]!).join() === dims.join(), `operand ${k} dims match its written term`);
    check(ir.terms[k]!.filter((x) => x.kind === 'ellipsis').length <= 1, `operand ${k} has at most one ellipsis`);
  });
  check(new Set(ir.output).size === ir.output.length, 'output axes are distinct');
  check(flatten(ir.outputTerm).join() === ir.output.join(), 'output matches its written term');
  const used = new Set(ir.inputs.flat());
  check(ir.output.every((id) => used.has(id)), 'every output axis appears in an input');
  check(ir.ellipsisAxes.every((id) => inRange(id, n) && ir.axisNames[id]!.startsWith('...')), 'ellipsis axes are named ...i');
  for (let id = 0; id < n; id++) check(used.has(id), `axis ${id} is used by some operand`);
  check(isFrozenDeep(ir), 'einsum IR is frozen');
}

function verifyCheckedEinsum(c: CheckedEinsum): void {
  verifyEinsumIR(c.ir);
  const n = c.axes.length;
  check(c.inputs.length === c.shapes.length, 'one shape per operand');
  c.axes.forEach((a, i) => check(Number.isSafeInteger(a.size) && a.size >= 0, `axis ${i} has a size`));
  c.inputs.forEach((dims, k) => {
    const shape = c.shapes[k]!;
    check(dims.length === shape.length, `operand ${k} rank matches its shape`);
    dims.forEach((id, d) => {
      check(inRange(id, n), `operand ${k} dim ${d} id in range`);
      const s = shape[d]!;
      check(s === c.axes[id]!.size || s === 1, `operand ${k} dim ${d} fits axis ${c.axes[id]!.name} (or broadcasts)`);
    });
    dims.forEach((id, d) => dims.forEach((id2, d2) => check(id !== id2 || shape[d] === shape[d2], `operand ${k} diagonal dims are equal`)));
  });
  check(c.output.map((id) => c.axes[id]!.size).join() === c.outputShape.join(), 'outputShape = sizes of output axes');
}

function verifyTransformIR(ir: TransformIR): void {
  const n = ir.axes.length;
  const left = ir.left.flatMap((d) => [...d.axes]);
  const right = ir.right.flatMap((d) => [...d.axes]);
  check([...left, ...right].every((id) => inRange(id, n)), 'transform axis ids are in range');
  check(new Set(left).size === left.length, 'each axis appears at most once on the left');
  check(new Set(right).size === right.length, 'each axis appears at most once on the right');
  ir.axes.forEach((a, id) => {
    const side = left.includes(id) ? (right.includes(id) ? 'both' : 'left') : right.includes(id) ? 'right' : 'none';
    check(side !== 'none', `axis ${a.name} appears on a side`);
    check(side === a.side, `axis ${a.name} side is recorded correctly`);
    check((a.kind === 'anonymous') === (a.value !== null), `axis ${a.name} has a value iff anonymous`);
    check((a.kind === 'ellipsis') === a.name.startsWith('...'), `axis ${a.name} is an ellipsis axis iff named ...i`);
  });
  if (ir.op === 'rearrange') check(ir.axes.every((a) => a.side === 'both'), 'rearrange keeps every axis');
  if (ir.op === 'reduce') check(ir.axes.every((a) => a.side !== 'right'), 'reduce creates no axes');
  if (ir.op === 'repeat') check(ir.axes.every((a) => a.side !== 'left'), 'repeat removes no axes');
  check(ir.given.every((id) => inRange(id, n)), 'given lengths name axes');
  check(isFrozenDeep(ir), 'transform IR is frozen');
}

function verifyRecipe(r: EinopsRecipe): void {
  verifyTransformIR(r.ir);
  check(r.ir.left.length === r.inputShape.length, 'one left entry per input dimension');
  check(product(r.elementaryShape) === product(r.inputShape) || product(r.inputShape) === 0, 'elementary shape has the input size');
  const m = r.elementaryShape.length;
  const kept = r.outputAxes.filter((a) => a.kind === 'input').map((a) => (a as { axis: number }).axis);
  check(r.reducedAxes.every((a) => inRange(a, m)), 'reduced axes in range');
  check(kept.every((a) => inRange(a, m)), 'kept axes in range');
  check(new Set(kept).size === kept.length, 'kept axes distinct');
  check(kept.every((a) => !r.reducedAxes.includes(a)), 'a kept axis is not reduced');
  check(kept.length + r.reducedAxes.length === m, 'every elementary axis is kept or reduced');
  if (r.op !== 'reduce') check(r.reducedAxes.length === 0, 'only reduce reduces');
  if (r.op !== 'repeat') check(r.outputAxes.every((a) => a.kind === 'input'), 'only repeat adds axes');
  const sizes = r.outputAxes.map((a) => (a.kind === 'input' ? r.elementaryShape[a.axis]! : a.size));
  check(product(sizes) === product(r.outputShape), 'output shape has the size of the output axes');
  check(r.outputShape.length === r.ir.right.length, 'one output dimension per right entry');
}

/** Checks the invariants of any IR record this module builds; throws an EinjitError if one is broken. */
export function verify(ir: unknown): void {
  check(ir !== null && typeof ir === 'object', 'IR is an object');
  const o = ir as Record<string, unknown>;
  if (o['kind'] === 'einsum') return verifyEinsumIR(ir as EinsumIR);
  if (o['kind'] === 'transform') return verifyTransformIR(ir as TransformIR);
  if ('axes' in o && 'inputs' in o && 'output' in o) return verifyCheckedEinsum(ir as CheckedEinsum);
  if ('elementaryShape' in o) return verifyRecipe(ir as EinopsRecipe);
  if ('packedShapes' in o) {
    const p = ir as PackResult;
    check(p.splits.length === p.packedShapes.length, 'one split per packed tensor');
    check(p.outputShape[p.axis] === p.lengths.reduce((a, b) => a + b, 0), 'packed axis length is the sum of the parts');
    return;
  }
  if ('outputShapes' in o) {
    const u = ir as UnpackResult;
    check(u.ranges.every((r, i) => r.stop - r.start === u.lengths[i]), 'range lengths');
    check(u.ranges.every((r, i) => i === 0 || r.start >= u.ranges[i - 1]!.start), 'ranges in order');
    return;
  }
  check(false, 'unknown IR record');
}
