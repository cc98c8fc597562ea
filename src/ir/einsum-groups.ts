/**
 * Composite axes in einops-style einsum ('b (h w) c, h w c -> b', 'i j, j k -> (i k)'), which einops itself
 * refuses. The groups are resolved here, before the ordinary einsum check: every group's member lengths are
 * bound (from plain dimensions, keyword sizes, or one unknown per group inferred from the dimension), and the
 * pattern is rewritten with the groups opened. The caller splits the operands to the returned shapes (views),
 * runs the flat einsum and merges the output's groups back with one reshape.
 */
import { EinjitError, type Span } from '../errors.js';
import type { DimAst, ExpressionAst } from '../frontend/ast.js';
import { parseEinopsEinsum } from '../frontend/parse.js';
import { checkEinsum, operandCountError, rankError } from './einsum.js';
import type { CheckedEinsum } from './types.js';

export interface EinsumGroups {
  /** The pattern with every group opened: '(h w)' becomes 'h w'. */
  readonly pattern: string;
  /** Each operand's shape with its composite dimensions split. */
  readonly shapes: readonly (readonly number[])[];
  /** Per output dimension of the written pattern, how many flat dimensions it merges (-1: the '...' dimensions). */
  readonly outputGroups: readonly number[];
}

/** True when an einops einsum pattern may hold a composite axis (cheap test before parsing). */
export function mayHaveGroups(pattern: string): boolean {
  return /\(/.test(pattern);
}

/**
 * Resolves the composite axes of an einops einsum, or returns null when it has none (then nothing changes).
 * `sizes` gives member lengths by name, as rearrange's keyword sizes.
 */
export function resolveEinsumGroups(pattern: string, shapes: readonly (readonly number[])[], sizes: Readonly<Record<string, number>>,
  op = 'einsum'): EinsumGroups | null {
  const ast = parseEinopsEinsum(pattern, op);
  // The einops syntax has no implicit output: the parser refuses a pattern without '->'.
  const output = ast.output!;
  const terms = [...ast.inputs, output];
  const hasGroup = terms.some((t) => t.dims.some((d) => d.kind === 'group' && membersOf(d).length > 1));
  const names = new Set<string>();
  for (const t of terms) for (const d of t.dims) for (const m of d.kind === 'group' ? d.members : [d]) if (m.kind === 'name') names.add(m.name);
  const fail = (reason: string, span: Span | undefined, hint: string): EinjitError =>
    new EinjitError(reason, { op, pattern, shapes, ...(span !== undefined ? { span } : {}), hint });
  for (const name of Object.keys(sizes)) {
    if (!names.has(name)) throw fail(`axis '${name}' is given a size but does not appear in the pattern`, undefined, `remove '${name}' from the sizes, or use it in the pattern`);
    const v = sizes[name];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw fail(`the size of axis '${name}' must be a positive integer (got ${String(v)})`, undefined, 'give axis sizes as positive integers');
  }
  // '...' or an anonymous length inside a group: the flat check refuses the pattern as written.
  const odd = terms.some((t) => t.dims.some((d) => d.kind === 'group' && d.members.some((m) => m.kind === 'ellipsis' || (m.kind === 'number' && m.value !== 1))));
  if (odd) return null;
  // The operand count and each rank are checked here, with the flat check's words: the flat check would refuse the
  // groups themselves first (it takes only opened patterns).
  if (shapes.length !== ast.inputs.length) throw operandCountError(shapes.length, ast, op).withContext({ shapes });
  const known = new Map<string, number>(Object.entries(sizes));
  const placed = ast.inputs.map((t, k) => {
    const p = placeDims(t, shapes[k]!);
    if (p !== null) return p;
    const ellipsis = t.dims.some((d) => d.kind === 'ellipsis');
    throw rankError(k, shapes[k]!.length, t.dims.length - (ellipsis ? 1 : 0), ellipsis, ast, op).withContext({ shapes });
  });
  // Plain dimensions bind their axis directly; a size given for one must agree.
  placed.forEach((p) => p.forEach(({ dim, length }) => {
    if (dim.kind !== 'name') return;
    const given = sizes[dim.name];
    if (given !== undefined && given !== length) {
      throw fail(`axis '${dim.name}' has length ${length} but is given size ${given}`, dim.span, `give '${dim.name}' the length ${length}, or drop it from the sizes`);
    }
    if (!known.has(dim.name)) known.set(dim.name, length);
  }));
  if (!hasGroup) return null;
  // Groups bind their one unknown member each round until nothing changes.
  const groups = placed.flatMap((p) => p.filter((x) => x.dim.kind === 'group')) as (Placed & { dim: Extract<DimAst, { kind: 'group' }> })[];
  for (let progress = true; progress;) {
    progress = false;
    for (const { dim, length } of groups) {
      const members = membersOf(dim);
      const unknown = members.filter((m) => !known.has(m.name));
      if (unknown.length !== 1) continue;
      const product = members.reduce((p, m) => p * (known.get(m.name) ?? 1), 1);
      if (length % product !== 0) {
        throw fail(`composite axis ${text(pattern, dim.span)} of length ${length} is not divisible by ${product}`, dim.span,
          `the known members multiply to ${product}; give sizes whose product divides ${length}`);
      }
      known.set(unknown[0]!.name, length / product);
      progress = true;
    }
  }
  for (const { dim, length } of groups) {
    const members = membersOf(dim);
    const unknown = members.filter((m) => !known.has(m.name));
    if (unknown.length > 1) {
      throw fail(`composite axis ${text(pattern, dim.span)} has ${unknown.length} axes of unknown length (${unknown.map((m) => `'${m.name}'`).join(', ')})`,
        dim.span, `give all but one of them as sizes, e.g. einsum(..., { sizes: { ${unknown[0]!.name}: ... } })`);
    }
    const product = members.reduce((p, m) => p * known.get(m.name)!, 1);
    if (product !== length) {
      throw fail(`composite axis ${text(pattern, dim.span)} has length ${length} but its axes multiply to ${product} (${members.map((m) => `${m.name}=${known.get(m.name)}`).join(', ')})`,
        dim.span, 'the axes of a group must have the lengths the other operands and sizes give them');
    }
  }
  const split = placed.map((p) => p.flatMap(({ dim, length, covered }) =>
    dim.kind === 'ellipsis' ? covered : dim.kind === 'group' && membersOf(dim).length > 1 ? membersOf(dim).map((m) => known.get(m.name)!) : [length]));
  return { pattern: openGroups(pattern, terms), shapes: split, outputGroups: outputGroupsOf(output) };
}

type Named = { kind: 'name'; name: string; span: Span };

/** The named members of a group, unit members ('1') dropped; an anonymous member is left to the flat check. */
function membersOf(dim: Extract<DimAst, { kind: 'group' }>): Named[] {
  return dim.members.filter((m) => m.kind === 'name') as Named[];
}

function text(pattern: string, span: Span): string {
  return pattern.slice(span.start, span.end);
}

interface Placed {
  readonly dim: DimAst;
  /** The operand length this dimension stands for (0 for '...'). */
  readonly length: number;
  /** The lengths '...' covers (empty for other dimensions). */
  readonly covered: readonly number[];
}

/** Each written dimension with the operand lengths it stands for. Null on a rank mismatch (the flat check reports it). */
function placeDims(term: ExpressionAst, shape: readonly number[]): Placed[] | null {
  const ell = term.dims.findIndex((d) => d.kind === 'ellipsis');
  const named = term.dims.length - (ell >= 0 ? 1 : 0);
  if (ell < 0 ? shape.length !== named : shape.length < named) return null;
  const covered = shape.length - named;
  return term.dims.map((dim, i) => {
    if (dim.kind === 'ellipsis') return { dim, length: 0, covered: shape.slice(i, i + covered) };
    const at = ell >= 0 && i > ell ? i - 1 + covered : i;
    return { dim, length: shape[at]!, covered: [] };
  });
}

/**
 * The pattern with every composite group opened in place: its parentheses and unit members become spaces, so the
 * opened pattern keeps every position and an error the flat check raises points at the same place in the original.
 */
function openGroups(pattern: string, terms: readonly ExpressionAst[]): string {
  const chars = pattern.split(''); // spans are UTF-16 offsets
  const blank = (start: number, end: number): void => { for (let i = start; i < end; i++) chars[i] = ' '; };
  for (const t of terms) {
    for (const d of t.dims) {
      if (d.kind !== 'group' || membersOf(d).length < 2) continue;
      blank(d.span.start, d.span.start + 1);
      blank(d.span.end - 1, d.span.end);
      for (const m of d.members) if (m.kind === 'number') blank(m.span.start, m.span.end);
    }
  }
  return chars.join('');
}

/**
 * The ordinary einsum check of the opened pattern on the split shapes; its errors name the pattern and shapes the
 * caller wrote (the opened pattern keeps every position, so the caret stays right).
 */
export function checkOpenedEinsum(groups: EinsumGroups, pattern: string, shapes: readonly (readonly number[])[], op: string): CheckedEinsum {
  try {
    return checkEinsum(groups.pattern, groups.shapes, op, 'einops');
  } catch (thrown) {
    // checkEinsum throws EinjitErrors only (its own catch converts anything else).
    const e = thrown as EinjitError;
    throw new EinjitError(e.reason, { op: e.op ?? op, pattern, shapes, ...(e.span !== undefined ? { span: e.span } : {}), ...(e.hint !== undefined ? { hint: e.hint } : {}) });
  }
}

function outputGroupsOf(output: ExpressionAst): number[] {
  return output.dims.map((d) => (d.kind === 'ellipsis' ? -1 : d.kind === 'group' && membersOf(d).length > 1 ? membersOf(d).length : 1));
}
