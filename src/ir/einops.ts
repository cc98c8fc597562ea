/**
 * rearrange / reduce / repeat: AST → IR (specialised to the input rank and the names given lengths) →
 * recipe (lengths bound from the shape). The rules follow einops 0.9, quirks included (see docs/einops.md).
 * Caches: (op, reduction kind, pattern, rank, given names) → IR; plus the shape and the lengths → recipe.
 */
import { asEinjitError, EinjitError, type Span } from '../errors.js';
import type { ExpressionAst, TransformAst } from '../frontend/ast.js';
import { LruCache } from '../util/lru.js';
import { parseTransform } from '../frontend/parse.js';
import { axisNameProblem } from '../frontend/visitor.js';
import { assertShape, isDim, shapesContext } from './shapes.js';
import type {
  EinopsOp, EinopsRecipe, ElementaryAxis, OutputAxis, TransformDim, TransformIR, WrittenMember,
} from './types.js';

const REDUCTIONS: readonly string[] = Object.freeze(['min', 'max', 'sum', 'mean', 'prod', 'any', 'all']);

// ─── One side, as einops' ParsedExpression sees it ─────────────────────────────────────────────────────

/** An identifier: a name, an anonymous axis (never equal to another one), or '...'. */
type Ident =
  | { readonly kind: 'named'; readonly key: string; readonly name: string; readonly span: Span }
  | { readonly kind: 'anonymous'; readonly key: string; readonly value: number; readonly span: Span }
  | { readonly kind: 'ellipsis'; readonly key: '…'; readonly span: Span };

type AnonymousIdent = Extract<Ident, { kind: 'anonymous' }>;

type SideDim =
  | { readonly kind: 'ellipsis'; readonly span: Span }
  | {
      readonly kind: 'group';
      readonly form: 'axis' | 'group' | 'unit';
      readonly written: readonly (Ident | 'unit')[];
      readonly span: Span;
    };

interface Side {
  readonly dims: readonly SideDim[];
  /** Identifiers by key, in order of appearance. */
  readonly idents: ReadonlyMap<string, Ident>;
  readonly ellipsis: Span | null;
  readonly ellipsisInGroup: boolean;
  readonly anonymous: readonly AnonymousIdent[];
}

interface Ctx {
  readonly op: string;
  readonly pattern: string;
}

function fail(reason: string, c: Ctx, span?: Span, hint?: string): EinjitError {
  return new EinjitError(reason, { op: c.op, pattern: c.pattern, ...(span !== undefined ? { span } : {}), ...(hint !== undefined ? { hint } : {}) });
}

function readSide(expr: ExpressionAst, c: Ctx, uid: { next: number }): Side {
  const dims: SideDim[] = [];
  const idents = new Map<string, Ident>();
  const anonymous: AnonymousIdent[] = [];
  let ellipsis: Span | null = null;
  let ellipsisInGroup = false;
  const add = (m: ExpressionAst['dims'][number], inGroup: boolean): Ident | 'unit' => {
    if (m.kind === 'ellipsis') {
      if (ellipsis !== null) throw fail("more than one '...' on one side", c, m.span, "use '...' at most once per side");
      ellipsis = m.span;
      ellipsisInGroup = inGroup;
      const id: Ident = { kind: 'ellipsis', key: '…', span: m.span };
      idents.set('…', id);
      return id;
    }
    if (m.kind === 'number') {
      if (m.value === 1) return 'unit';
      if (m.value === 0) throw fail('anonymous axis of length 0', c, m.span, 'anonymous axes must have a positive length');
      const id: AnonymousIdent = { kind: 'anonymous', key: `#${uid.next++}`, value: m.value, span: m.span };
      idents.set(id.key, id);
      anonymous.push(id);
      return id;
    }
    if (m.kind === 'name') {
      if (idents.has(m.name)) throw fail(`axis '${m.name}' appears twice on one side`, c, m.span, 'each axis appears at most once per side');
      const id: Ident = { kind: 'named', key: m.name, name: m.name, span: m.span };
      idents.set(m.name, id);
      return id;
    }
    throw fail('parentheses cannot nest', c, m.span);
  };
  for (const d of expr.dims) {
    if (d.kind === 'group') {
      const written = d.members.map((m) => add(m, true));
      dims.push({ kind: 'group', form: written.length === 0 ? 'unit' : 'group', written, span: d.span });
    } else {
      const one = add(d, false);
      if (one === 'unit') dims.push({ kind: 'group', form: 'unit', written: [], span: d.span });
      else if (one.kind === 'ellipsis') dims.push({ kind: 'ellipsis', span: d.span });
      else dims.push({ kind: 'group', form: 'axis', written: [one], span: d.span });
    }
  }
  return { dims, idents, ellipsis, ellipsisInGroup, anonymous };
}

function describe(id: Ident): string {
  return id.kind === 'ellipsis' ? "'...'" : id.kind === 'anonymous' ? `anonymous axis '${id.value}'` : `axis '${id.name}'`;
}

// ─── Caches ─────────────────────────────────────────────────────────────────────────────────────────────

interface TransformBuild {
  readonly ir: TransformIR;
  /** Per input dimension, the span to point at. */
  readonly leftSpans: readonly Span[];
}

const irCache = new LruCache<string, TransformBuild>(512);
const recipeCache = new LruCache<string, EinopsRecipe>(1024);

/** Empties the transform IR and recipe caches (tests and benchmarks). */
export function clearEinopsCaches(): void {
  irCache.clear();
  recipeCache.clear();
}

function lengthsKey(axesLengths: Readonly<Record<string, number>> | undefined): string {
  if (axesLengths === undefined) return '';
  let key = '';
  for (const name in axesLengths) key += name + '=' + String(axesLengths[name]) + ';';
  return key;
}

/**
 * Checks a rearrange/reduce/repeat call and returns the recipe the executor follows. `reduction` is
 * validated for reduce ('custom' stands for a function); as in einops, reduce with 'rearrange' or 'repeat'
 * behaves as that operation.
 */
export function checkEinops(
  op: EinopsOp,
  pattern: string,
  shape: readonly number[],
  axesLengths?: Readonly<Record<string, number>>,
  reduction?: string,
): EinopsRecipe {
  try {
    const key = op + '\u0000' + String(reduction) + '\u0000' + pattern + '\u0000' + (Array.isArray(shape) ? shape.join(',') : '!') + '\u0000' + lengthsKey(axesLengths);
    const hit = recipeCache.get(key);
    if (hit !== undefined) return hit;
    assertShape(shape, 'the input shape', { op, pattern });
    const lengths = axesLengths ?? {};
    if (typeof lengths !== 'object' || Array.isArray(lengths)) {
      throw new EinjitError('axis lengths must be an object such as { h: 2 }', { op, pattern });
    }
    const names = Object.keys(lengths);
    const ast = parseTransform(pattern, op);
    const build = transformIR(ast, op, reduction, names, shape.length);
    const recipe = bindTransform(build, shape, lengths, op);
    recipeCache.set(key, recipe);
    return recipe;
  } catch (e) {
    throw asEinjitError(e, { op, pattern, ...shapesContext([shape]) });
  }
}

/** The shape-free IR of a transform for an input rank and the names given lengths (cached). */
export function buildTransformIR(ast: TransformAst, op: EinopsOp, reduction: string | undefined, lengthNames: readonly string[], ndim: number): TransformIR {
  return transformIR(ast, op, reduction, lengthNames, ndim).ir;
}

function transformIR(ast: TransformAst, op: EinopsOp, reduction: string | undefined, lengthNames: readonly string[], ndim: number): TransformBuild {
  const key = op + '\u0000' + String(reduction) + '\u0000' + ast.pattern + '\u0000' + ndim + '\u0000' + lengthNames.join(',');
  const hit = irCache.get(key);
  if (hit !== undefined) return hit;
  const build = makeTransformIR(ast, op, reduction, lengthNames, ndim);
  irCache.set(key, build);
  return build;
}

// ─── AST → IR ───────────────────────────────────────────────────────────────────────────────────────────

function makeTransformIR(ast: TransformAst, requested: EinopsOp, reduction: string | undefined, lengthNames: readonly string[], ndim: number): TransformBuild {
  const c: Ctx = { op: requested, pattern: ast.pattern };
  const uid = { next: 0 };
  const left = readSide(ast.left, c, uid);
  const right = readSide(ast.right, c, uid);

  // Which operation: reduce(x, p, 'rearrange') is rearrange, as in einops.
  let op: EinopsOp = requested;
  let red: string | null = null;
  if (requested === 'reduce') {
    if (reduction === 'rearrange' || reduction === 'repeat') op = reduction;
    else if (reduction !== undefined && (REDUCTIONS.includes(reduction) || reduction === 'custom')) red = reduction;
    else {
      throw fail(`unknown reduction '${String(reduction)}'`, c, undefined, `use one of ${REDUCTIONS.map((r) => `'${r}'`).join(', ')}, or a function`);
    }
  }

  if (left.ellipsis === null && right.ellipsis !== null) {
    throw fail("'...' appears on the right side but not on the left", c, right.ellipsis, "'...' stands for input dimensions, so it must appear on the left too");
  }
  if (left.ellipsis !== null && left.ellipsisInGroup) {
    throw fail("'...' inside parentheses on the left side", c, left.ellipsis, "on the left, '...' must stand alone; '(...)' is allowed on the right");
  }
  const onlyLeft = [...left.idents.values()].filter((id) => !right.idents.has(id.key));
  const onlyRight = [...right.idents.values()].filter((id) => !left.idents.has(id.key));
  const p = ast.pattern;
  if (op === 'rearrange') {
    const anon = [...left.anonymous, ...right.anonymous][0];
    if (anon !== undefined) {
      throw fail(`anonymous axis '${anon.value}' in rearrange`, c, anon.span,
        `rearrange only moves axes; to add an axis of length ${anon.value} use repeat, to remove one use reduce (only '1' may appear in rearrange)`);
    }
    const first = onlyLeft[0];
    if (first !== undefined) {
      const name = first.kind === 'named' ? first.name : '...';
      throw fail(`${first.kind === 'ellipsis' ? "'...'" : `axis '${name}'`} appears only on the left side of '${p}'`, c, first.span,
        `every axis must appear on both sides; to drop it, use reduce(x, '${p}', 'sum')`);
    }
    const firstR = onlyRight[0];
    if (firstR !== undefined) {
      const name = firstR.kind === 'named' ? firstR.name : '...';
      throw fail(`axis '${name}' appears only on the right side of '${p}'`, c, firstR.span,
        `every axis must appear on both sides; to add it, use repeat(x, '${p}', { ${name}: <length> })`);
    }
  } else if (op === 'repeat') {
    const first = onlyLeft[0];
    if (first !== undefined) {
      throw fail(`${describe(first)} appears only on the left side of '${p}'`, c, first.span,
        first.kind === 'anonymous'
          ? 'anonymous axes never match each other across sides; name the axis and give its length'
          : 'repeat cannot remove axes; use reduce to drop it');
    }
    const missing = onlyRight.find((id) => id.kind === 'named' && !lengthNames.includes(id.name));
    if (missing !== undefined && missing.kind === 'named') {
      throw fail(`no length given for the new axis '${missing.name}'`, c, missing.span, `give it: repeat(x, '${p}', { ${missing.name}: <length> })`);
    }
  } else {
    const first = onlyRight[0];
    if (first !== undefined) {
      throw fail(`${describe(first)} appears only on the right side of '${p}'`, c, first.span,
        'reduce cannot create axes; use repeat to add one');
    }
  }

  // Rank: expand '...' into as many elementary axes as the input has left over.
  const others = left.dims.filter((d) => d.kind !== 'ellipsis').length;
  if (left.ellipsis !== null ? ndim < others : ndim !== others) {
    throw fail(
      `the input has ${ndim} dimension${ndim === 1 ? '' : 's'} but the left side of the pattern has ${left.ellipsis !== null ? 'at least ' : ''}${others}`,
      c, ast.left.span.start === ast.left.span.end ? { start: 0, end: 1 } : ast.left.span,
      left.ellipsis !== null ? 'the pattern names more dimensions than the input has' : "write one entry per input dimension, or use '...' for the rest",
    );
  }
  const ellRank = ndim - others;

  const axes: ElementaryAxis[] = [];
  const idOf = new Map<string, number>();
  const ellIds: number[] = [];
  /** A new axis; `key` (an ident's) finds it again. Ellipsis axes have none: they are reached through `ellIds`. */
  const newAxis = (key: string | null, axis: ElementaryAxis): number => {
    const id = axes.length;
    axes.push(Object.freeze(axis));
    if (key !== null) idOf.set(key, id);
    return id;
  };
  const sideOf = (key: string): ElementaryAxis['side'] => (left.idents.has(key) ? (right.idents.has(key) ? 'both' : 'left') : 'right');
  const register = (id: Ident): number => {
    const known = idOf.get(id.key);
    if (known !== undefined) return known;
    if (id.kind === 'named') return newAxis(id.key, { name: id.name, kind: 'named', value: null, side: sideOf(id.key) });
    return newAxis(id.key, { name: String((id as { value: number }).value), kind: 'anonymous', value: (id as { value: number }).value, side: sideOf(id.key) });
  };
  const ellipsisAxes = (): number[] => {
    if (ellIds.length === 0 && ellRank > 0) {
      const side = sideOf('…');
      for (let i = 0; i < ellRank; i++) ellIds.push(newAxis(null, { name: `...${i}`, kind: 'ellipsis', value: null, side }));
    }
    return ellIds;
  };

  let leftEllipsisAt: number | null = null;
  let rightEllipsisAt: number | null = null;
  const leftDims: TransformDim[] = [];
  const leftSpans: Span[] = [];
  for (const d of left.dims) {
    if (d.kind === 'ellipsis') {
      leftEllipsisAt = leftDims.length;
      for (const id of ellipsisAxes()) {
        leftDims.push(Object.freeze({ axes: Object.freeze([id]), form: 'ellipsis', written: Object.freeze([]) }));
        leftSpans.push(d.span);
      }
    } else {
      leftDims.push(dimRecord(d, register, ellipsisAxes));
      leftSpans.push(d.span);
    }
  }
  const rightDims: TransformDim[] = [];
  for (const d of right.dims) {
    if (d.kind === 'ellipsis') {
      rightEllipsisAt = rightDims.length;
      for (const id of ellipsisAxes()) rightDims.push(Object.freeze({ axes: Object.freeze([id]), form: 'ellipsis', written: Object.freeze([]) }));
    } else {
      rightDims.push(dimRecord(d, register, ellipsisAxes));
    }
  }

  // Lengths given by name.
  const given: number[] = [];
  for (const name of lengthNames) {
    const problem = axisNameProblem(name, false);
    if (problem !== undefined) throw fail(`invalid axis name '${name}' in the axis lengths`, c, undefined, problem);
    const id = idOf.get(name);
    if (id === undefined) {
      throw fail(`axis '${name}' has a length but does not appear in '${p}'`, c, undefined, 'remove it from the axis lengths, or use it in the pattern');
    }
    given.push(id);
  }
  // At most one unknown length per input dimension.
  for (const [i, d] of leftDims.entries()) {
    const unknown = d.axes.filter((id) => axes[id]!.kind !== 'anonymous' && !given.includes(id));
    if (unknown.length > 1) {
      const names = unknown.map((id) => `'${axes[id]!.name}'`).join(' and ');
      throw fail(`cannot infer the lengths of ${names} from one dimension`, c, leftSpans[i],
        `give all but one of them, e.g. ${requested}(x, '${p}'${requested === 'reduce' ? `, '${String(reduction)}'` : ''}, { ${axes[unknown[0]!]!.name}: <length> })`);
    }
  }

  const ir: TransformIR = Object.freeze({
    kind: 'transform',
    op,
    pattern: ast.pattern,
    axes: Object.freeze(axes),
    left: Object.freeze(leftDims),
    right: Object.freeze(rightDims),
    given: Object.freeze(given),
    reduction: op === 'reduce' ? red : null,
    leftEllipsisAt,
    rightEllipsisAt,
  });
  return { ir, leftSpans };
}

function dimRecord(d: Extract<SideDim, { kind: 'group' }>, register: (id: Ident) => number, ellipsisAxes: () => number[]): TransformDim {
  const axes: number[] = [];
  const written: WrittenMember[] = [];
  for (const w of d.written) {
    if (w === 'unit') written.push(Object.freeze({ kind: 'unit' }));
    else if (w.kind === 'ellipsis') {
      const ids = ellipsisAxes();
      axes.push(...ids);
      written.push(Object.freeze({ kind: 'ellipsis', axes: Object.freeze([...ids]) }));
    } else {
      const id = register(w);
      axes.push(id);
      written.push(Object.freeze({ kind: 'axis', axis: id }));
    }
  }
  return Object.freeze({ axes: Object.freeze(axes), form: d.form, written: Object.freeze(written) });
}

// ─── IR + shape → recipe ────────────────────────────────────────────────────────────────────────────────

function bindTransform(build: TransformBuild, shape: readonly number[], lengths: Readonly<Record<string, number>>, op: string): EinopsRecipe {
  const { ir, leftSpans } = build;
  const c: Ctx = { op, pattern: ir.pattern };
  const sizes = ir.axes.map((a) => (a.kind === 'anonymous' ? a.value! : -1));
  for (const id of ir.given) {
    const name = ir.axes[id]!.name;
    const v = lengths[name];
    if (!isDim(v)) throw fail(`the length of axis '${name}' must be a non-negative integer, got ${String(v)}`, c, undefined, `pass e.g. { ${name}: 2 }`);
    sizes[id] = v;
  }
  const groupText = (i: number): string => ir.pattern.slice(leftSpans[i]!.start, leftSpans[i]!.end);
  for (const [i, d] of ir.left.entries()) {
    const length = shape[i]!;
    let known = 1;
    let unknown = -1;
    for (const id of d.axes) {
      if (sizes[id] === -1) unknown = id;
      else known *= sizes[id]!;
    }
    if (unknown === -1) {
      if (length !== known) {
        throw fail(`input dimension ${i} has length ${length} but '${groupText(i)}' needs ${known}`, c, leftSpans[i],
          d.axes.length === 0 ? "'1' and '()' match only dimensions of length 1" : 'the axis lengths given must match the input shape');
      }
    } else {
      if (known === 0 || length % known !== 0) {
        throw fail(`input dimension ${i} of length ${length} cannot be split into '${groupText(i)}'`, c, leftSpans[i],
          `the length ${length} is not divisible by ${known}, the product of the known lengths`);
      }
      sizes[unknown] = length / known;
    }
  }
  // Elementary input axes in order; the rest are new (repeat) axes.
  const elementary: number[] = [];
  for (const d of ir.left) elementary.push(...d.axes);
  const position = new Map<number, number>();
  elementary.forEach((id, i) => position.set(id, i));
  const outputAxes: OutputAxis[] = [];
  const outputShape: number[] = [];
  const kept = new Set<number>();
  for (const d of ir.right) {
    let size = 1;
    for (const id of d.axes) {
      size *= sizes[id]!;
      const pos = position.get(id);
      if (pos !== undefined) {
        outputAxes.push(Object.freeze({ kind: 'input', axis: pos }));
        kept.add(id);
      } else {
        outputAxes.push(Object.freeze({ kind: 'new', size: sizes[id]! }));
      }
    }
    outputShape.push(size);
  }
  const reducedAxes: number[] = [];
  elementary.forEach((id, i) => {
    if (!kept.has(id)) reducedAxes.push(i);
  });
  return Object.freeze({
    op: ir.op,
    pattern: ir.pattern,
    inputShape: Object.freeze([...shape]),
    elementaryShape: Object.freeze(elementary.map((id) => sizes[id]!)),
    reducedAxes: Object.freeze(reducedAxes),
    outputAxes: Object.freeze(outputAxes),
    outputShape: Object.freeze(outputShape),
    reduction: ir.reduction,
    ir,
  });
}
