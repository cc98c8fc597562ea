/**
 * pack / unpack / parse_shape, following einops 0.9 (and numpy's concatenate/reshape rules it relies on).
 */
import { asEinjitError, EinjitError, formatShape, type Span } from '../errors.js';
import type { PackAst } from '../frontend/ast.js';
import { LruCache } from '../util/lru.js';
import { parsePack, parseShapePattern } from '../frontend/parse.js';
import { assertShape, assertShapes, isDim, product, shapesContext, shapesKey } from './shapes.js';
import type { PackResult, PackSplit, UnpackResult } from './types.js';

/** The shape-free reading of a pack pattern: how many named axes stand before and after '*'. */
interface PackLayout {
  readonly before: number;
  readonly after: number;
}

function layout(ast: PackAst, op: string): PackLayout {
  const c = { op, pattern: ast.pattern };
  const seen = new Set<string>();
  for (const item of ast.items) {
    const key = item.kind === 'star' ? '*' : item.name;
    if (seen.has(key)) {
      throw new EinjitError(`'${key}' appears twice in the ${op} pattern`, { ...c, span: item.span, hint: "name each axis once and write '*' once" });
    }
    seen.add(key);
  }
  const star = ast.items.findIndex((i) => i.kind === 'star');
  if (star === -1) {
    throw new EinjitError(`the ${op} pattern has no '*'`, {
      ...c, span: { start: ast.pattern.length, end: ast.pattern.length + 1 }, hint: "mark the packed axes with '*', e.g. 'b * c'",
    });
  }
  return { before: star, after: ast.items.length - star - 1 };
}

const packCache = new LruCache<string, PackResult>(512);
const unpackCache = new LruCache<string, UnpackResult>(512);
const shapeCache = new LruCache<string, Readonly<Record<string, number>>>(512);

/** Empties the pack/unpack/parse_shape caches. */
export function clearPackCaches(): void {
  packCache.clear();
  unpackCache.clear();
  shapeCache.clear();
}

/**
 * pack: the shapes of the tensors to pack along the axes '*' stands for. Returns the packed shape, each
 * input's packed shape, and how each input splits into [before, packed, after].
 */
export function checkPack(pattern: string, shapes: readonly (readonly number[])[]): PackResult {
  const op = 'pack';
  try {
    const key = pattern + '\u0000' + shapesKey(shapes);
    const hit = packCache.get(key);
    if (hit !== undefined) return copyPack(hit);
    assertShapes(shapes, { op, pattern });
    const ast = parsePack(pattern, op);
    const { before, after } = layout(ast, op);
    const star = ast.items[before]!.span;
    if (shapes.length === 0) throw new EinjitError('pack needs at least one tensor', { op, pattern, hint: 'pass a non-empty list of tensors' });
    const splits: PackSplit[] = [];
    const lengths: number[] = [];
    for (const [i, shape] of shapes.entries()) {
      if (shape.length < before + after) {
        throw new EinjitError(`tensor ${i} has shape ${formatShape(shape)} but the pattern needs at least ${before + after} dimensions`, {
          op, pattern, span: star, hint: "every tensor needs the named axes; '*' may match zero axes",
        });
      }
      const split: PackSplit = Object.freeze({
        before: Object.freeze(shape.slice(0, before)),
        packed: Object.freeze(shape.slice(before, shape.length - after)),
        after: Object.freeze(shape.slice(shape.length - after)),
      });
      // numpy reshapes to (*before, -1, *after), which fails when the known dimensions multiply to 0.
      if (product(split.before) * product(split.after) === 0) {
        throw new EinjitError(`tensor ${i} has shape ${formatShape(shape)}: a zero-length named axis leaves the packed length undefined`, {
          op, pattern, span: star, hint: 'pack tensors whose named axes have non-zero lengths',
        });
      }
      splits.push(split);
      lengths.push(product(split.packed));
    }
    const first = splits[0]!;
    for (const [i, s] of splits.entries()) {
      const same = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((x, j) => x === b[j]);
      if (!same(s.before, first.before) || !same(s.after, first.after)) {
        throw new EinjitError(`tensor ${i} has shape ${formatShape(shapes[i]!)}, whose named axes differ from tensor 0's ${formatShape(shapes[0]!)}`, {
          op, pattern, span: star, hint: "all tensors must agree on every axis except the ones '*' packs",
        });
      }
    }
    const total = lengths.reduce((a, b) => a + b, 0);
    const result: PackResult = Object.freeze({
      outputShape: [...first.before, total, ...first.after],
      packedShapes: splits.map((s) => [...s.packed]),
      splits: Object.freeze(splits),
      axis: before,
      lengths: Object.freeze(lengths),
    });
    packCache.set(key, result);
    return copyPack(result);
  } catch (e) {
    throw asEinjitError(e, { op, pattern, ...shapesContext(shapes) });
  }
}

/** The caller gets its own arrays (they are mutable in the result type, and pack hands packed shapes to users). */
function copyPack(p: PackResult): PackResult {
  return { ...p, outputShape: [...p.outputShape], packedShapes: p.packedShapes.map((s) => [...s]) };
}

function copyUnpack(u: UnpackResult): UnpackResult {
  return { ...u, outputShapes: u.outputShapes.map((s) => [...s]) };
}

/** numpy's reshape of `total` elements into `dims` (at most one -1, the others non-negative). */
function reshape(total: number, dims: readonly number[]): number[] | null {
  let unknown = -1;
  let known = 1;
  for (const [i, d] of dims.entries()) {
    if (d === -1) {
      if (unknown !== -1) return null;
      unknown = i;
    } else if (d < 0) return null;
    else known *= d;
  }
  if (unknown === -1) return known === total ? [...dims] : null;
  if (known === 0 || total % known !== 0) return null;
  const out = [...dims];
  out[unknown] = total / known;
  return out;
}

/** Python's slice bound clamping for an axis of length n. */
function clampIndex(i: number, n: number): number {
  if (i < 0) i += n;
  return Math.min(Math.max(i, 0), n);
}

/**
 * unpack: the packed tensor's shape and the packed shapes (one entry may contain -1) → the output shapes
 * and the ranges of the packed axis each output takes.
 */
export function checkUnpack(pattern: string, shape: readonly number[], packedShapes: readonly (readonly number[])[]): UnpackResult {
  const op = 'unpack';
  try {
    const key = pattern + '\u0000' + (Array.isArray(shape) ? shape.join(',') : '!') + '\u0000' + shapesKey(packedShapes);
    const hit = unpackCache.get(key);
    if (hit !== undefined) return copyUnpack(hit);
    assertShape(shape, 'the input shape', { op, pattern });
    if (!Array.isArray(packedShapes) || !packedShapes.every((s) => Array.isArray(s) && s.every((d) => Number.isSafeInteger(d) && d >= -1))) {
      throw new EinjitError('packed shapes must be a list of shapes', { op, pattern, shapes: [shape], hint: 'pass the packed shapes pack returned: non-negative integers, with -1 for at most one unknown' });
    }
    const ast = parsePack(pattern, op);
    const { before, after } = layout(ast, op);
    const star: Span = ast.items[before]!.span;
    if (shape.length !== before + 1 + after) {
      throw new EinjitError(`the input has shape ${formatShape(shape)} but the pattern needs exactly ${before + 1 + after} dimensions`, {
        op, pattern, span: star, hint: "unpack takes the packed tensor: the named axes plus one axis for '*'",
      });
    }
    const composed = packedShapes.map((p) => (p.includes(-1) ? -1 : product(p)));
    const unknowns = composed.filter((x) => x === -1).length;
    if (unknowns > 1) {
      throw new EinjitError('more than one packed shape contains -1', { op, pattern, span: star, hint: 'at most one packed shape may be inferred' });
    }
    // einops' split positions: known lengths from the front up to the unknown one, then from the back.
    const n = shape[before]!;
    const pos = new Array<number>(packedShapes.length + 1).fill(0);
    pos[packedShapes.length] = n;
    if (unknowns === 0) {
      for (let i = 0; i + 1 < composed.length; i++) pos[i + 1] = pos[i]! + composed[i]!;
    } else {
      const u = composed.indexOf(-1);
      for (let i = 0; i < u; i++) pos[i + 1] = pos[i]! + composed[i]!;
      for (let j = composed.length - 1; j > u; j--) pos[j] = pos[j + 1]! - composed[j]!;
    }
    const outer = product(shape.slice(0, before)) * product(shape.slice(before + 1));
    const ranges: { start: number; stop: number }[] = [];
    const outputShapes: number[][] = [];
    for (const [i, p] of packedShapes.entries()) {
      const start = clampIndex(pos[i]!, n);
      const stop = Math.max(start, clampIndex(pos[i + 1]!, n));
      const dims = reshape(outer * (stop - start), [...shape.slice(0, before), ...p, ...shape.slice(before + 1)]);
      if (dims === null) {
        throw new EinjitError(`cannot split an axis of length ${n} into the packed shapes ${packedShapes.map(formatShape).join(', ')}`, {
          op, pattern, span: star, hint: "the packed shapes' element counts must add up to the axis length",
        });
      }
      ranges.push(Object.freeze({ start, stop }));
      outputShapes.push(dims);
    }
    const result: UnpackResult = Object.freeze({
      outputShapes,
      axis: before,
      ranges: Object.freeze(ranges),
      lengths: Object.freeze(ranges.map((r) => r.stop - r.start)),
    });
    unpackCache.set(key, result);
    return copyUnpack(result);
  } catch (e) {
    throw asEinjitError(e, { op, pattern, ...shapesContext([shape]) });
  }
}

/**
 * parse_shape: names the dimensions of a shape. '_' skips a dimension, '...' any number of them; '1', '()'
 * and numbers check a dimension's length. Keys are in pattern order.
 */
export function parseShape(pattern: string, shape: readonly number[]): Record<string, number> {
  const op = 'parseShape';
  try {
    const key = pattern + '\u0000' + (Array.isArray(shape) ? shape.join(',') : '!');
    const hit = shapeCache.get(key);
    if (hit !== undefined) return { ...hit };
    assertShape(shape, 'the shape', { op, pattern });
    const ast = parseShapePattern(pattern, op);
    const c = { op, pattern };
    // Entries of the composition: a name, a number, a unit, or '...'.
    type Entry = { kind: 'name'; name: string; span: Span } | { kind: 'number'; value: number; span: Span } | { kind: 'unit'; span: Span } | { kind: 'ellipsis'; span: Span };
    const entries: Entry[] = [];
    const seen = new Set<string>();
    let ellipsis = false;
    const note = (name: string, span: Span): void => {
      if (name !== '_' && seen.has(name)) throw new EinjitError(`axis '${name}' appears twice`, { ...c, span, hint: "name each axis once; use '_' to skip dimensions" });
      seen.add(name);
    };
    for (const d of ast.expression.dims) {
      if (d.kind === 'ellipsis') {
        if (ellipsis) throw new EinjitError("more than one '...'", { ...c, span: d.span, hint: "use '...' at most once" });
        ellipsis = true;
        entries.push({ kind: 'ellipsis', span: d.span });
      } else if (d.kind === 'name') {
        note(d.name, d.span);
        entries.push({ kind: 'name', name: d.name, span: d.span });
      } else if (d.kind === 'number') {
        if (d.value === 0) throw new EinjitError('anonymous axis of length 0', { ...c, span: d.span, hint: 'anonymous axes must have a positive length' });
        entries.push(d.value === 1 ? { kind: 'unit', span: d.span } : { kind: 'number', value: d.value, span: d.span });
      } else {
        const members = d.members.filter((m) => !(m.kind === 'number' && m.value === 1));
        for (const m of members) {
          if (m.kind === 'name') note(m.name, m.span);
          if (m.kind === 'number' && m.value === 0) throw new EinjitError('anonymous axis of length 0', { ...c, span: m.span, hint: 'anonymous axes must have a positive length' });
        }
        if (members.length > 1) {
          throw new EinjitError('parse_shape cannot read composite axes', { ...c, span: d.span, hint: 'name each dimension on its own' });
        }
        const m = members[0];
        if (m === undefined) entries.push({ kind: 'unit', span: d.span });
        else if (m.kind === 'ellipsis') {
          throw new EinjitError("'...' inside parentheses", { ...c, span: m.span, hint: "write '...' without parentheses" });
        } else if (m.kind === 'name') entries.push({ kind: 'name', name: m.name, span: m.span });
        else entries.push({ kind: 'number', value: m.value, span: m.span });
      }
    }
    const fixed = entries.filter((e) => e.kind !== 'ellipsis').length;
    if (ellipsis ? shape.length < fixed : shape.length !== fixed) {
      throw new EinjitError(`the shape has ${shape.length} dimension${shape.length === 1 ? '' : 's'} but the pattern ${ellipsis ? 'needs at least' : 'has'} ${fixed}`, {
        ...c, span: ast.expression.span.start === ast.expression.span.end ? { start: 0, end: 1 } : ast.expression.span,
        hint: ellipsis ? 'the pattern names more dimensions than the shape has' : "write one entry per dimension; '_' skips one, '...' any number",
      });
    }
    const result: Record<string, number> = {};
    let dim = 0;
    for (const e of entries) {
      if (e.kind === 'ellipsis') {
        dim += shape.length - fixed;
        continue;
      }
      const length = shape[dim]!;
      if (e.kind === 'unit' && length !== 1) {
        throw new EinjitError(`dimension ${dim} has length ${length}, not 1`, { ...c, span: e.span, hint: "'1' and '()' match only dimensions of length 1" });
      }
      if (e.kind === 'number' && length !== e.value) {
        throw new EinjitError(`dimension ${dim} has length ${length}, not ${e.value}`, { ...c, span: e.span, hint: 'a number in the pattern must equal the dimension it stands for' });
      }
      if (e.kind === 'name' && e.name !== '_') result[e.name] = length;
      dim++;
    }
    shapeCache.set(key, Object.freeze({ ...result }));
    return result;
  } catch (e) {
    throw asEinjitError(e, { op, pattern, ...(Array.isArray(shape) && shape.every(isDim) ? { shapes: [shape] } : {}) });
  }
}
