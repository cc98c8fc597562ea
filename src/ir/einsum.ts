/**
 * einsum: AST → rank-specialised IR → checked IR (sizes bound). Both syntaxes end in numpy's semantics:
 * einops.einsum translates its named axes to letters and calls numpy, so after the einops-only checks the two
 * share one path. Caches: (syntax, pattern, ranks) → IR; (syntax, pattern, shapes) → checked IR.
 */
import { asEinjitError, EinjitError, type Span } from '../errors.js';
import type { EinsumAst, ExpressionAst } from '../frontend/ast.js';
import { LruCache } from '../util/lru.js';
import { parseEinopsEinsum, parseNumpyEinsum } from '../frontend/parse.js';
import { assertShapes, shapesContext, shapesKey } from './shapes.js';
import type { CheckedEinsum, EinsumIR, EinsumItem } from './types.js';

export type EinsumSyntaxOption = 'auto' | 'numpy' | 'einops';

/** A term before ranks are known: axis names and where '...' stood. */
type LabelItem =
  | { readonly kind: 'name'; readonly name: string; readonly span: Span }
  | { readonly kind: 'ellipsis'; readonly span: Span };

/** Spans of each operand dimension, kept beside the IR (not in it) so size errors can point at the label. */
interface EinsumBuild {
  readonly ir: EinsumIR;
  readonly spans: readonly (readonly Span[])[];
  readonly outputNames: ReadonlyMap<number, Span>;
}

const irCache = new LruCache<string, EinsumBuild>(512);
const checkedCache = new LruCache<string, CheckedEinsum>(1024);

/** Empties the einsum IR and checked caches (tests and benchmarks). */
export function clearEinsumCaches(): void {
  irCache.clear();
  checkedCache.clear();
}

/**
 * Guesses the syntax of an einsum pattern: numpy if there is no '->' (einops requires one); otherwise einops
 * if a term holds several space-separated words, a word with an ASCII character other than a letter ('1', '_'),
 * or parentheses; numpy otherwise
 * (so 'Àb,bc->Àc' and 'a×,×b->ab' are numpy, whose indices are single characters of any script). Where both
 * readings are possible they mean the same thing ('i j -> j i').
 */
export function detectEinsumSyntax(pattern: string): 'numpy' | 'einops' {
  if (!pattern.includes('->')) return 'numpy';
  if (/[()]/.test(pattern)) return 'einops';
  for (const term of pattern.split(/,|->/)) {
    const words = term.split(' ').filter((w) => w.length > 0);
    if (words.length > 1) return 'einops';
    if (words.some((w) => /[^A-Za-z.\x80-\u{10ffff}]/u.test(w))) return 'einops';
  }
  return 'numpy';
}

/**
 * Checks an einsum against operand shapes. `syntax` says how to read the pattern: numpy/torch letters
 * ('bij,bjk->bik', implicit output allowed) or einops named axes ('b i j, b j k -> b i k', output required);
 * 'auto' (the default) guesses with detectEinsumSyntax.
 */
export function checkEinsum(
  pattern: string,
  shapes: readonly (readonly number[])[],
  op = 'einsum',
  syntax: EinsumSyntaxOption = 'auto',
): CheckedEinsum {
  try {
    // The key holds the syntax option as given, so a hit needs no syntax detection.
    const key = syntax + '\u0000' + pattern + '\u0000' + shapesKey(shapes);
    const hit = checkedCache.get(key);
    if (hit !== undefined) return hit;
    assertShapes(shapes, { op, pattern });
    const resolved = syntax === 'auto' ? (typeof pattern === 'string' ? detectEinsumSyntax(pattern) : 'numpy') : syntax;
    const ast = resolved === 'numpy' ? parseNumpyEinsum(pattern, op) : parseEinopsEinsum(pattern, op);
    const build = einsumIR(ast, shapes.map((s) => s.length), op);
    const checked = bindEinsum(build, shapes, op);
    checkedCache.set(key, checked);
    return checked;
  } catch (e) {
    throw asEinjitError(e, { op, pattern, ...shapesContext(shapes) });
  }
}

/** The rank-specialised IR of an einsum (cached by syntax, pattern and ranks). */
export function buildEinsumIR(ast: EinsumAst, ranks: readonly number[], op = 'einsum'): EinsumIR {
  return einsumIR(ast, ranks, op).ir;
}

function einsumIR(ast: EinsumAst, ranks: readonly number[], op: string): EinsumBuild {
  const key = ast.syntax + '\u0000' + ast.pattern + '\u0000' + ranks.join(',');
  const hit = irCache.get(key);
  if (hit !== undefined) return hit;
  const build = makeEinsumIR(ast, ranks, op);
  irCache.set(key, build);
  return build;
}

// ─── AST → terms (shape-free checks) ────────────────────────────────────────────────────────────────────

function err(reason: string, ast: EinsumAst, op: string, span: Span | undefined, hint?: string): EinjitError {
  return new EinjitError(reason, { op, pattern: ast.pattern, ...(span !== undefined ? { span } : {}), ...(hint !== undefined ? { hint } : {}) });
}

/** einops-only rules: no anonymous or unit axes, composite axes already opened; '(...)' is an axis named '…' (as in einops). */
function einopsTerm(expr: ExpressionAst, ast: EinsumAst, op: string): LabelItem[] {
  const items: LabelItem[] = [];
  for (const dim of expr.dims) {
    if (dim.kind === 'name') items.push({ kind: 'name', name: dim.name, span: dim.span });
    else if (dim.kind === 'ellipsis') items.push({ kind: 'ellipsis', span: dim.span });
    else if (dim.kind === 'number') {
      if (dim.value === 1) throw err("unit axes ('1', '()') are not supported in einsum", ast, op, dim.span, 'remove the axis, or squeeze the operand first');
      throw err(`anonymous axis '${dim.value}' is not supported in einsum`, ast, op, dim.span, 'give the axis a name');
    } else {
      const members = dim.members.filter((m) => !(m.kind === 'number' && m.value === 1));
      const anon = members.find((m) => m.kind === 'number');
      if (anon !== undefined) throw err(`anonymous axis '${(anon as { value: number }).value}' is not supported in einsum`, ast, op, anon.span, 'give the axis a name');
      if (members.length === 0) throw err("unit axes ('1', '()') are not supported in einsum", ast, op, dim.span, 'remove the axis, or squeeze the operand first');
      if (members.some((m) => m.kind === 'ellipsis') && members.length > 1) {
        throw err("'...' inside a composite axis is not supported in einsum", ast, op, dim.span, "write '...' outside the parentheses");
      }
      // einsum, einsumPath and compile open composite axes (ir/einsum-groups.ts) before this check; a group here
      // means the caller asked for the check of one axis per dimension.
      if (members.length > 1) throw err('composite axes are opened by einsum, einsumPath and compile, not by checkEinsum', ast, op, dim.span, 'call einsum, einsumPath or compile, or rearrange the operand first');
      const m = members[0]!;
      items.push({ kind: 'name', name: m.kind === 'name' ? m.name : '…', span: m.span });
    }
  }
  return items;
}

function numpyTerm(expr: ExpressionAst): LabelItem[] {
  return expr.dims.map((d) =>
    d.kind === 'name' ? { kind: 'name', name: d.name, span: d.span } : { kind: 'ellipsis', span: d.span },
  );
}

/** Code-point order of one-character labels (UTF-16 order would put '😀' before 'Ｚ'; Python sorts by code point). */
function byCodePoint(a: string, b: string): number {
  return a.codePointAt(0)! - b.codePointAt(0)!;
}

function describeOperand(k: number, ast: EinsumAst): string {
  return ast.inputs.length === 1 ? 'the operand' : `operand ${k}`;
}

/**
 * The refusal of an operand count other than the pattern's number of terms; composite-axis einsums
 * (einsum-groups.ts) raise it too, before their groups are opened.
 */
export function operandCountError(count: number, ast: EinsumAst, op: string): EinjitError {
  if (count === 0) return err('einsum needs at least one operand', ast, op, undefined, 'pass the operands with the pattern');
  const terms = ast.inputs.length;
  return err(`${count > terms ? 'more' : 'fewer'} operands (${count}) than terms in the pattern (${terms})`, ast, op, undefined,
    'the pattern needs one comma-separated term per operand');
}

/**
 * The refusal of operand k, of `rank` dimensions, whose term names `named` axes (a composite group counts as one)
 * besides a '...' when `ellipsis`; raised by composite-axis einsums too.
 */
export function rankError(k: number, rank: number, named: number, ellipsis: boolean, ast: EinsumAst, op: string): EinjitError {
  const hint = !ellipsis && rank > named ? "write one axis per dimension, or '...' for the rest" : 'write one axis per dimension';
  return err(`${describeOperand(k, ast)} has ${rank} dimension${rank === 1 ? '' : 's'} but its term names ${named} ax${named === 1 ? 'is' : 'es'}`,
    ast, op, ast.inputs[k]!.span, hint);
}

// ─── AST + ranks → IR ───────────────────────────────────────────────────────────────────────────────────

function makeEinsumIR(ast: EinsumAst, ranks: readonly number[], op: string): EinsumBuild {
  const einops = ast.syntax === 'einops';
  const terms = ast.inputs.map((t) => (einops ? einopsTerm(t, ast, op) : numpyTerm(t)));
  const outTerm = ast.output === null ? null : einops ? einopsTerm(ast.output, ast, op) : numpyTerm(ast.output);

  // Shape-free checks.
  const seen = new Set<string>();
  for (const [k, term] of terms.entries()) {
    const ells = term.filter((x) => x.kind === 'ellipsis');
    if (ells.length > 1) throw err(`more than one '...' in ${describeOperand(k, ast)}`, ast, op, ells[1]!.span, "each term may contain '...' once");
    for (const x of term) if (x.kind === 'name') seen.add(x.name);
  }
  if (outTerm !== null) {
    const ells = outTerm.filter((x) => x.kind === 'ellipsis');
    if (ells.length > 1) throw err("more than one '...' in the output", ast, op, ells[1]!.span, "the output may contain '...' once");
    const outSeen = new Set<string>();
    for (const x of outTerm) {
      if (x.kind !== 'name') continue;
      if (!seen.has(x.name)) {
        throw err(`output axis '${x.name}' does not appear in any input`, ast, op, x.span, 'every output axis must be an axis of some operand');
      }
      if (outSeen.has(x.name)) throw err(`output axis '${x.name}' appears more than once`, ast, op, x.span, 'each output axis appears once; a diagonal is taken by repeating the axis in an input');
      outSeen.add(x.name);
    }
  }

  // Ranks.
  if (ranks.length !== terms.length) throw operandCountError(ranks.length, ast, op);
  const ellRanks: number[] = [];
  let ellipsisRank = 0;
  for (const [k, term] of terms.entries()) {
    const rank = ranks[k]!;
    const named = term.filter((x) => x.kind === 'name').length;
    const ell = term.find((x) => x.kind === 'ellipsis');
    if (ell !== undefined) {
      if (rank < named) throw rankError(k, rank, named, true, ast, op);
      ellRanks.push(rank - named);
      ellipsisRank = Math.max(ellipsisRank, rank - named);
    } else {
      if (rank !== named) throw rankError(k, rank, named, false, ast, op);
      ellRanks.push(0); // no '...': read only for terms that have one
    }
  }
  const anyEllipsis = terms.some((t) => t.some((x) => x.kind === 'ellipsis'));

  // Resolve the output.
  let output: LabelItem[];
  if (outTerm !== null) {
    if (ellipsisRank > 0 && !outTerm.some((x) => x.kind === 'ellipsis')) {
      throw err(
        `the output has no '...' but the operands' '...' covers ${ellipsisRank} dimension${ellipsisRank === 1 ? '' : 's'}`, ast, op,
        ast.output!.span.start === ast.output!.span.end ? { start: ast.pattern.length, end: ast.pattern.length + 1 } : ast.output!.span,
        "add '...' to the output to keep those dimensions (or sum them with an explicit name)",
      );
    }
    output = outTerm;
  } else {
    // numpy implicit mode: '...' first, then the letters used exactly once, in code-point order (uppercase first).
    const counts = new Map<string, number>();
    for (const t of terms) for (const x of t) if (x.kind === 'name') counts.set(x.name, (counts.get(x.name) ?? 0) + 1);
    const once = [...counts.entries()].filter(([, n]) => n === 1).map(([name]) => name).sort(byCodePoint);
    const none = { start: ast.pattern.length, end: ast.pattern.length };
    output = [...(anyEllipsis ? [{ kind: 'ellipsis' as const, span: none }] : []), ...once.map((name) => ({ kind: 'name' as const, name, span: none }))];
  }

  // Axis ids in order of first appearance; the ellipsis axes are allocated together at the first '...'.
  const axisNames: string[] = [];
  const ids = new Map<string, number>();
  let ellipsisAxes: number[] | null = null;
  const allocateEllipsis = (): number[] => {
    if (ellipsisAxes === null) {
      ellipsisAxes = [];
      for (let i = 0; i < ellipsisRank; i++) {
        ellipsisAxes.push(axisNames.length);
        axisNames.push(`...${i}`);
      }
    }
    return ellipsisAxes;
  };
  const idOf = (name: string): number => {
    let id = ids.get(name);
    if (id === undefined) {
      id = axisNames.length;
      ids.set(name, id);
      axisNames.push(name);
    }
    return id;
  };
  const irTerms: EinsumItem[][] = [];
  const inputs: number[][] = [];
  const spans: Span[][] = [];
  for (const [k, term] of terms.entries()) {
    const items: EinsumItem[] = [];
    const dims: number[] = [];
    const dimSpans: Span[] = [];
    for (const x of term) {
      if (x.kind === 'name') {
        const id = idOf(x.name);
        items.push(Object.freeze({ kind: 'axis', axis: id }));
        dims.push(id);
        dimSpans.push(x.span);
      } else {
        const all = allocateEllipsis();
        const mine = Object.freeze(all.slice(all.length - ellRanks[k]!));
        items.push(Object.freeze({ kind: 'ellipsis', axes: mine }));
        for (const id of mine) {
          dims.push(id);
          dimSpans.push(x.span);
        }
      }
    }
    irTerms.push(items);
    inputs.push(dims);
    spans.push(dimSpans);
  }
  const outItems: EinsumItem[] = [];
  const out: number[] = [];
  const outputNames = new Map<number, Span>();
  for (const x of output) {
    if (x.kind === 'name') {
      const id = ids.get(x.name)!;
      outItems.push(Object.freeze({ kind: 'axis', axis: id }));
      out.push(id);
      outputNames.set(id, x.span);
    } else {
      const all = ellipsisAxes ?? [];
      outItems.push(Object.freeze({ kind: 'ellipsis', axes: Object.freeze([...all]) }));
      out.push(...all);
    }
  }
  const ir: EinsumIR = Object.freeze({
    kind: 'einsum',
    syntax: ast.syntax,
    pattern: ast.pattern,
    axisNames: Object.freeze(axisNames),
    ellipsisAxes: Object.freeze([...(ellipsisAxes ?? [])]),
    terms: Object.freeze(irTerms.map((t) => Object.freeze(t))),
    outputTerm: Object.freeze(outItems),
    inputs: Object.freeze(inputs.map((d) => Object.freeze(d))),
    output: Object.freeze(out),
  });
  return { ir, spans, outputNames };
}

// ─── IR + shapes → checked IR ───────────────────────────────────────────────────────────────────────────

function bindEinsum(build: EinsumBuild, shapes: readonly (readonly number[])[], op: string): CheckedEinsum {
  const { ir, spans } = build;
  const sizes = new Array<number>(ir.axisNames.length).fill(-1);
  const from = new Array<number>(ir.axisNames.length).fill(-1);
  for (const [k, dims] of ir.inputs.entries()) {
    const shape = shapes[k]!;
    const local = new Map<number, number>();
    for (const [d, id] of dims.entries()) {
      const s = shape[d]!;
      const name = ir.axisNames[id]!;
      const label = name.startsWith('...') ? `'...' dimension ${name.slice(3)}` : `axis '${name}'`;
      const prev = local.get(id);
      if (prev !== undefined && prev !== s) {
        throw new EinjitError(`${label} is repeated in operand ${k} with different sizes (${prev} != ${s})`, {
          op, pattern: ir.pattern, span: spans[k]![d]!,
          hint: 'a repeated axis takes a diagonal, so its dimensions must be equal',
        });
      }
      local.set(id, s);
      const bound = sizes[id]!;
      if (bound === -1 || bound === 1) {
        if (bound === -1 || s !== 1) {
          sizes[id] = s;
          from[id] = k;
        }
      } else if (s !== bound && s !== 1) {
        throw new EinjitError(`${label} has size ${bound} in operand ${from[id]} but ${s} in operand ${k}`, {
          op, pattern: ir.pattern, span: spans[k]![d]!,
          hint: 'the sizes of one axis must match, or be 1 to broadcast',
        });
      }
    }
  }
  const axes = ir.axisNames.map((name, i) => Object.freeze({ name, size: sizes[i]! }));
  return Object.freeze({
    pattern: ir.pattern,
    axes: Object.freeze(axes),
    inputs: ir.inputs,
    output: ir.output,
    shapes: Object.freeze(shapes.map((s) => Object.freeze([...s]))),
    outputShape: Object.freeze(ir.output.map((id) => sizes[id]!)),
    ir,
  });
}

// ─── Index lists (numpy's sublist format, opt_einsum's interleaved input) ──────────────────────────────

/** An index in the list format: any JSON value; the string '...' stands for an ellipsis. */
export type IndexId = string | number | boolean | null | readonly IndexId[] | { readonly [key: string]: IndexId };

/** Operand index lists and, optionally, the output's (numpy's implicit output when absent). */
export interface IndexLists {
  readonly inputs: readonly (readonly IndexId[])[];
  readonly output?: readonly IndexId[];
}

/** Code points the lexer reads as whitespace (or cannot appear alone): never used as an index symbol. */
const SKIPPED_CODE_POINTS: readonly (readonly [number, number])[] = [
  [0x1680, 0x1680], [0x2000, 0x200a], [0x2028, 0x2029], [0x202f, 0x202f], [0x205f, 0x205f], [0x3000, 0x3000],
  [0xd800, 0xdfff], [0xfeff, 0xfeff],
];

/**
 * The one-character numpy subscript of index number `i`: 'A'-'Z', 'a'-'z' (numpy's sublist mapping), then the
 * code points from U+00C0 ('À') up, skipping whitespace and surrogates (opt_einsum's `get_symbol` runs through the
 * same 'À', '×', '÷'). Symbols rise in code point with `i`, so an implicit output lists indices in order of `i`.
 * `i` is a position in the sorted list of distinct ids, so a non-negative integer.
 */
function indexSymbol(i: number): string {
  if (i < 26) return String.fromCharCode(65 + i);
  if (i < 52) return String.fromCharCode(97 + i - 26);
  let cp = 0xc0 + (i - 52);
  for (const [lo, hi] of SKIPPED_CODE_POINTS) if (cp >= lo) cp += hi - lo + 1;
  if (cp > 0x10ffff) throw new EinjitError(`too many distinct indices (${i + 1}) for one-character subscripts`, { op: 'einsum' });
  return String.fromCodePoint(cp);
}

/** Sort order of ids: numbers ascending, then strings by code point, then any other JSON value by its text. */
function compareIds(a: { id: IndexId; key: string }, b: { id: IndexId; key: string }): number {
  const rank = (x: IndexId): number => (typeof x === 'number' ? 0 : typeof x === 'string' ? 1 : 2);
  const ra = rank(a.id);
  const rb = rank(b.id);
  if (ra !== rb) return ra - rb;
  if (ra === 0) return (a.id as number) - (b.id as number);
  const sa = ra === 1 ? (a.id as string) : a.key;
  const sb = ra === 1 ? (b.id as string) : b.key;
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

function idKey(id: unknown, op: string, where: string): string {
  const bad = (): EinjitError =>
    new EinjitError(`${where} holds ${typeof id === 'number' ? String(id) : typeof id}, which is not a JSON value`, {
      op, hint: "indices are numbers, strings or other JSON values; '...' is an ellipsis",
    });
  if (typeof id === 'number' && !Number.isFinite(id)) throw bad();
  if (typeof id === 'number' || typeof id === 'string' || typeof id === 'boolean' || id === null) return JSON.stringify(id);
  if (typeof id !== 'object') throw bad();
  let text: string | undefined;
  try {
    text = JSON.stringify(id, (_k, v: unknown) => {
      if (typeof v === 'number' && !Number.isFinite(v)) throw bad();
      if (typeof v === 'bigint' || typeof v === 'function' || typeof v === 'symbol' || v === undefined) throw bad();
      return v;
    });
  } catch (e) {
    if (e instanceof EinjitError) throw e;
    throw bad();
  }
  if (text === undefined) throw bad();
  return text;
}

/**
 * The numpy pattern of an einsum given as index lists: each distinct id gets a one-character subscript
 * (`indexSymbol`) in sorted id order, as opt_einsum maps interleaved input, so an implicit output comes out in
 * that order too. `inputs: [[0, 1], [1, 2]], output: [0, 2]` is 'ab,bc->ac'.
 */
export function patternOfIndexLists(lists: IndexLists, op = 'einsum'): string {
  if (lists === null || typeof lists !== 'object' || !Array.isArray(lists.inputs)) {
    throw new EinjitError('index lists must be { inputs: [[...], ...], output?: [...] }', { op });
  }
  const terms: (readonly IndexId[])[] = [...lists.inputs];
  if (lists.output !== undefined) terms.push(lists.output);
  const ids = new Map<string, IndexId>();
  terms.forEach((term, k) => {
    const where = k === lists.inputs.length ? 'the output list' : `the index list of operand ${k}`;
    if (!Array.isArray(term)) throw new EinjitError(`${where} is not an array`, { op, hint: 'write each operand\'s indices as a list, e.g. [0, 1]' });
    for (const id of term) {
      if (id === '...') continue;
      const key = idKey(id, op, where);
      if (!ids.has(key)) ids.set(key, id);
    }
  });
  const order = [...ids].map(([key, id]) => ({ key, id })).sort(compareIds);
  const symbol = new Map(order.map((x, i) => [x.key, indexSymbol(i)]));
  const text = (term: readonly IndexId[]): string => term.map((id) => (id === '...' ? '...' : symbol.get(idKey(id, op, ''))!)).join('');
  const inputs = lists.inputs.map(text).join(',');
  return lists.output === undefined ? inputs : `${inputs}->${text(lists.output)}`;
}
