/**
 * IR → pattern text. Parsing the printed text (with the same ranks and length names) gives back the same IR,
 * apart from the `pattern` field; tests check this on random patterns.
 */
import type { EinsumIR, EinsumItem, TransformDim, TransformIR, WrittenMember } from './types.js';

/** Prints an einsum IR in its own syntax: 'ij,jk->ik' (numpy) or 'i j, j k -> i k' (einops). */
export function printEinsum(ir: EinsumIR): string {
  const numpy = ir.syntax === 'numpy';
  const item = (x: EinsumItem): string => {
    if (x.kind === 'ellipsis') return '...';
    const name = ir.axisNames[x.axis]!;
    return name === '…' ? '(...)' : name;
  };
  const term = (t: readonly EinsumItem[]): string => t.map(item).join(numpy ? '' : ' ');
  return ir.terms.map(term).join(numpy ? ',' : ', ') + (numpy ? '->' : ' -> ') + term(ir.outputTerm);
}

function printSide(ir: TransformIR, dims: readonly TransformDim[], ellipsisAt: number | null): string {
  const parts: string[] = [];
  const member = (m: WrittenMember): string => (m.kind === 'unit' ? '1' : m.kind === 'ellipsis' ? '...' : ir.axes[m.axis]!.name);
  for (let i = 0; i <= dims.length; i++) {
    if (i === ellipsisAt) parts.push('...');
    const d = dims[i];
    if (d === undefined) break;
    if (d.form === 'ellipsis') continue;
    if (d.form === 'unit') parts.push('()');
    else if (d.form === 'axis') parts.push(member(d.written[0]!));
    else parts.push(`(${d.written.map(member).join(' ')})`);
  }
  return parts.join(' ');
}

/** Prints a rearrange/reduce/repeat IR: 'b (h w) c -> b h w c'. Unit axes print as '()'. */
export function printTransform(ir: TransformIR): string {
  return `${printSide(ir, ir.left, ir.leftEllipsisAt)} -> ${printSide(ir, ir.right, ir.rightEllipsisAt)}`;
}
