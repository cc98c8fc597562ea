/**
 * einops' layers: Rearrange, Reduce and EinMix as modules, so patterns can sit inside a Sequential.
 *
 * They follow einops' PyTorch layers (einops/layers/torch.py and _einmix.py): the pattern is checked when the
 * layer is built, not at the first forward; Rearrange and Reduce hold no state; EinMix holds `weight` (shaped
 * as `weightShape` lists its axes) and, when a bias shape is given, `bias` (one entry per output axis, 1 where
 * the bias does not vary), initialised uniformly in ±√(3/fan_in) and ±√(1/fan_in), where fan_in is the product
 * of the weight axes that do not reach the output. The state-dict keys are therefore `weight` and `bias`, as
 * einops names them.
 *
 * @example
 * const patchEmbed = new nn.Sequential(
 *   new nn.Rearrange('b c (h p1) (w p2) -> b (h w) (p1 p2 c)', { p1: 4, p2: 4 }),
 *   new nn.Linear(4 * 4 * 3, 64),
 * );
 */
import { EinjitError } from '../errors.js';
import * as A from '../runtime/args.js';
import { MAX_ELEMENTS } from '../runtime/shape.js';
import type { Tensor } from '../runtime/tensor.js';
import { empty } from '../runtime/creation.js';
import { parseShapePattern, parseTransform } from '../frontend/parse.js';
import type { ExpressionAst } from '../frontend/ast.js';
import { buildTransformIR, type EinopsOp } from '../ir/index.js';
import { rearrange, reduce, type AxesLengths, type Reduction } from '../api/einops.js';
import { einsum } from '../api/einsum.js';
import { Module, Parameter } from './module.js';
import type { FactoryOptions } from './layers.js';
import * as init from './init.js';

const BUILD_HINT = "the layer checks its pattern when it is built, as einops' layers do";

function lengthsArg(v: unknown, op: string): Record<string, number> {
  const o = A.optionsArg<Record<string, unknown>>(v, op, 'axesLengths');
  const out: Record<string, number> = {};
  for (const k of Object.keys(o)) out[k] = A.intArg(o[k], op, `axesLengths.${k}`, 0, MAX_ELEMENTS);
  return Object.freeze(out);
}

/** The same error, told as the layer's: op is the layer's name and the pattern is the layer's. */
function asLayerError(e: unknown, layer: string, pattern: string): unknown {
  if (!(e instanceof EinjitError)) return e;
  const samePattern = e.pattern === pattern;
  return new EinjitError(e.reason, {
    op: layer,
    pattern,
    ...(samePattern && e.span !== undefined ? { span: e.span } : {}),
    hint: e.hint ?? BUILD_HINT,
  });
}

/** Checks what einops checks when it prepares a layer's recipes: everything that does not depend on a shape. */
function prepare(layer: string, op: EinopsOp, pattern: string, reduction: string | undefined, lengths: AxesLengths): void {
  try {
    const ast = parseTransform(pattern, op);
    const fixed = ast.left.dims.filter((d) => d.kind !== 'ellipsis').length;
    buildTransformIR(ast, op, reduction, Object.keys(lengths), fixed);
  } catch (e) {
    throw asLayerError(e, layer, pattern);
  }
}

function reprLengths(lengths: AxesLengths): string {
  return Object.entries(lengths).map(([k, v]) => `, ${k}=${v}`).join('');
}

/** einops' Rearrange layer: `forward(x)` is `rearrange(x, pattern, axesLengths)`. */
export class Rearrange extends Module {
  readonly pattern: string;
  readonly axesLengths: AxesLengths;

  constructor(pattern: string, axesLengths: AxesLengths = {}) {
    super();
    this.pattern = A.patternArg(pattern, 'Rearrange');
    this.axesLengths = lengthsArg(axesLengths, 'Rearrange');
    prepare('Rearrange', 'rearrange', this.pattern, undefined, this.axesLengths);
  }

  override forward(x: Tensor): Tensor {
    A.tensorArg(x, `${this.constructor.name}.forward`);
    return rearrange(x, this.pattern, this.axesLengths);
  }

  override extraRepr(): string {
    return `'${this.pattern}'${reprLengths(this.axesLengths)}`;
  }
}

/** einops' Reduce layer: `forward(x)` is `reduce(x, pattern, reduction, axesLengths)`. */
export class Reduce extends Module {
  readonly pattern: string;
  readonly reduction: Reduction;
  readonly axesLengths: AxesLengths;

  constructor(pattern: string, reduction: Reduction, axesLengths: AxesLengths = {}) {
    super();
    this.pattern = A.patternArg(pattern, 'Reduce');
    if (typeof reduction !== 'function') A.stringArg(reduction, 'Reduce', 'the reduction');
    this.reduction = reduction;
    this.axesLengths = lengthsArg(axesLengths, 'Reduce');
    prepare('Reduce', 'reduce', this.pattern, typeof reduction === 'function' ? 'custom' : reduction, this.axesLengths);
  }

  override forward(x: Tensor): Tensor {
    A.tensorArg(x, `${this.constructor.name}.forward`);
    return reduce(x, this.pattern, this.reduction, this.axesLengths);
  }

  override extraRepr(): string {
    const r = typeof this.reduction === 'function' ? (this.reduction.name || 'custom') : this.reduction;
    return `'${this.pattern}', '${r}'${reprLengths(this.axesLengths)}`;
  }
}

// ─── EinMix ──────────────────────────────────────────────────────────────────────────────────────────────

const ELLIPSIS = '…';

/** One side as einops' ParsedExpression sees it: a composition (a list of axis-name lists, or the ellipsis). */
interface Parsed {
  readonly composition: readonly (readonly string[] | typeof ELLIPSIS)[];
  readonly identifiers: ReadonlySet<string>;
  readonly hasEllipsis: boolean;
  readonly ellipsisInGroup: boolean;
  readonly anonymous: readonly number[];
  readonly hasGroup: boolean;
}

function readExpression(expr: ExpressionAst, what: string, fail: (reason: string, hint: string) => EinjitError): Parsed {
  const composition: (string[] | typeof ELLIPSIS)[] = [];
  const identifiers = new Set<string>();
  const anonymous: number[] = [];
  let hasEllipsis = false;
  let ellipsisInGroup = false;
  let hasGroup = false;
  const name = (n: string): string => {
    if (n === '_') throw fail(`'_' is not an axis name in ${what}`, 'name every axis');
    if (identifiers.has(n)) throw fail(`axis '${n}' appears twice in ${what}`, 'each axis appears at most once per expression');
    identifiers.add(n);
    return n;
  };
  for (const d of expr.dims) {
    if (d.kind === 'ellipsis') {
      hasEllipsis = true;
      identifiers.add(ELLIPSIS);
      composition.push(ELLIPSIS);
    } else if (d.kind === 'name') {
      composition.push([name(d.name)]);
    } else if (d.kind === 'number') {
      if (d.value !== 1) anonymous.push(d.value);
      composition.push([]);
    } else {
      hasGroup = true;
      const members: string[] = [];
      for (const m of d.members) {
        if (m.kind === 'ellipsis') {
          hasEllipsis = true;
          ellipsisInGroup = true;
          identifiers.add(ELLIPSIS);
          members.push(ELLIPSIS);
        } else if (m.kind === 'name') {
          members.push(name(m.name));
        } else if (m.value !== 1) {
          anonymous.push(m.value);
        }
      }
      composition.push(members);
    }
  }
  return { composition, identifiers, hasEllipsis, ellipsisInGroup, anonymous, hasGroup };
}

function flatNames(p: Parsed): string[] {
  const out: string[] = [];
  for (const g of p.composition) {
    if (g === ELLIPSIS) out.push('...');
    else for (const n of g) out.push(n === ELLIPSIS ? '...' : n);
  }
  return out;
}

function listAxes(axes: Iterable<string>): string {
  return [...axes].map((a) => (a === ELLIPSIS ? "'...'" : `'${a}'`)).join(', ');
}

/**
 * einops' EinMix: an einsum of the input with a weight the layer owns, with rearranges before and after so
 * either side may compose axes, and an optional bias.
 *
 * - `pattern`: input axes -> output axes, e.g. `'t b (head cin) -> t b (head cout)'`;
 * - `weightShape`: the weight's axes, e.g. `'head cin cout'` (every one needs a length);
 * - `biasShape`: the output axes the bias varies along, e.g. `'head cout'`, or null for no bias;
 * - `axesLengths`: the length of every weight and bias axis (and of any other axis the rearranges need).
 *
 * @example
 * const mix = new nn.EinMix('t b cin -> t b cout', 'cin cout', 'cout', { cin: 10, cout: 20 });
 * // a per-channel scale without bias: new nn.EinMix('t b c -> t b c', 'c', null, { c: 128 })
 */
export class EinMix extends Module {
  readonly pattern: string;
  readonly weightShape: string;
  readonly biasShape: string | null;
  readonly axesLengths: AxesLengths;
  /** The einsum this layer runs, in single letters as einops writes it: `'abc,cd->abd'`. */
  readonly einsumPattern: string;
  weight: Parameter;
  bias: Parameter | null;
  private readonly _pre: Rearrange | null;
  private readonly _post: Rearrange | null;

  constructor(pattern: string, weightShape: string, biasShape: string | null = null, axesLengths: AxesLengths = {}, options: FactoryOptions = {}) {
    super();
    const op = 'EinMix';
    this.pattern = A.patternArg(pattern, op);
    this.weightShape = A.stringArg(weightShape, op, 'weightShape');
    if (biasShape !== null && biasShape !== undefined) A.stringArg(biasShape, op, 'biasShape');
    this.biasShape = biasShape ?? null;
    this.axesLengths = lengthsArg(axesLengths, op);
    const o = A.optionsArg<FactoryOptions>(options, op);
    const factory = {
      ...(o.dtype !== undefined ? { dtype: A.dtypeArg(o.dtype, op) } : {}),
      ...(o.device !== undefined ? { device: A.deviceArg(o.device, op) } : {}),
    };
    const lengths = this.axesLengths;
    const fail = (reason: string, hint: string): EinjitError => new EinjitError(reason, { op, pattern: this.pattern, hint });

    let left: Parsed;
    let right: Parsed;
    let weight: Parsed;
    let leftText: string;
    let rightText: string;
    try {
      const ast = parseTransform(this.pattern, op);
      leftText = this.pattern.slice(0, ast.arrow.start);
      rightText = this.pattern.slice(ast.arrow.end);
      left = readExpression(ast.left, 'the left side', fail);
      right = readExpression(ast.right, 'the right side', fail);
    } catch (e) {
      throw asLayerError(e, op, this.pattern);
    }
    try {
      weight = readExpression(parseShapePattern(this.weightShape, op).expression, 'the weight shape', fail);
    } catch (e) {
      if (e instanceof EinjitError && e.pattern === this.weightShape) {
        throw new EinjitError(`in the weight shape '${this.weightShape}': ${e.reason}`, { op, pattern: this.pattern, hint: e.hint ?? "write the weight's axes as names separated by spaces, e.g. 'cin cout'" });
      }
      throw e;
    }

    // The checks of einops' EinMix, in its order.
    const known = new Set([...left.identifiers, ...weight.identifiers]);
    const unknownRight = [...right.identifiers].filter((a) => !known.has(a));
    if (unknownRight.length > 0) {
      throw fail(`unrecognized identifiers on the right side: ${listAxes(unknownRight)}`, 'every output axis comes from the input or from the weight');
    }
    if (weight.hasEllipsis) throw fail("'...' in the weight shape", "the weight's shape must be fully specified");
    if (left.hasEllipsis || right.hasEllipsis) {
      if (!(left.hasEllipsis && right.hasEllipsis)) throw fail("'...' must appear on both sides or on neither", "write '...' on the left and on the right");
      if (left.ellipsisInGroup) throw fail("'...' inside parentheses on the left side", "on the left, '...' must stand alone");
    }
    const anon = [...left.anonymous, ...right.anonymous, ...weight.anonymous];
    if (anon.length > 0) throw fail(`anonymous axis '${anon[0]}' in EinMix`, 'name the axis and give its length in axesLengths');
    if (weight.hasGroup || weight.composition.some((g) => g !== ELLIPSIS && g.length !== 1)) throw fail(`the weight shape '${this.weightShape}' may only list axis names (no parentheses, no '1')`, "list the weight's axes one by one");

    // As in einops, a top-level '...' is one entry (it needs no rearrange); a group, '()' or '1' is not.
    const leftComposed = left.composition.some((g) => g !== ELLIPSIS && g.length !== 1);
    let prePattern: string | null = null;
    let preLengths: Record<string, number> = {};
    const leftFlat = flatNames(left);
    if (leftComposed) {
      prePattern = `${leftText}-> ${leftFlat.join(' ')}`;
      preLengths = Object.fromEntries(Object.entries(lengths).filter(([k]) => left.identifiers.has(k)));
    }
    const rightFlat = flatNames(right);
    let postPattern: string | null = null;
    if (right.composition.some((g) => g !== ELLIPSIS && g.length !== 1) || right.ellipsisInGroup) {
      postPattern = `${rightFlat.join(' ')} ->${rightText}`;
    }
    try {
      this._pre = prePattern === null ? null : new Rearrange(prePattern, preLengths);
      this._post = postPattern === null ? null : new Rearrange(postPattern, {});
    } catch (e) {
      throw asLayerError(e, op, this.pattern);
    }

    for (const a of weight.identifiers) {
      if (!(a in lengths)) throw fail(`the length of the weight axis '${a}' is not given`, `give it: { ${a}: <length> }`);
    }
    const unused = Object.keys(lengths).filter((k) => !left.identifiers.has(k) && !weight.identifiers.has(k));
    if (unused.length > 0) throw fail(`axes ${listAxes(unused)} have lengths but are not used in the pattern or the weight`, 'remove them from axesLengths');
    const redundant = [...weight.identifiers].filter((a) => !left.identifiers.has(a) && !right.identifiers.has(a));
    if (redundant.length > 0) throw fail(`weight axes ${listAxes(redundant)} are redundant (on neither side of the pattern)`, 'every weight axis must appear in the input or the output');

    const weightAxes = flatNames(weight);
    const wShape = weightAxes.map((a) => lengths[a]!);
    const fanIn = weightAxes.filter((a) => !right.identifiers.has(a)).reduce((p, a) => p * lengths[a]!, 1);

    let bShape: number[] | null = null;
    if (this.biasShape !== null) {
      let bias: Parsed;
      try {
        bias = readExpression(parseShapePattern(this.biasShape, op).expression, 'the bias shape', fail);
      } catch (e) {
        if (e instanceof EinjitError && e.pattern === this.biasShape) {
          throw new EinjitError(`in the bias shape '${this.biasShape}': ${e.reason}`, { op, pattern: this.pattern, hint: e.hint ?? "write the bias's axes as names, e.g. 'cout'" });
        }
        throw e;
      }
      if (bias.anonymous.length > 0) throw fail(`anonymous axis '${bias.anonymous[0]}' in the bias shape`, 'the bias shape names output axes');
      const absent = [...bias.identifiers].filter((a) => !right.identifiers.has(a));
      if (absent.length > 0) throw fail(`bias axes ${listAxes(absent)} are not present in the output`, 'the bias varies only along output axes');
      const noSize = [...bias.identifiers].filter((a) => !(a in lengths));
      if (noSize.length > 0) throw fail(`sizes are not provided for bias axes ${listAxes(noSize)}`, 'give each bias axis a length in axesLengths');
      bShape = [];
      let used = false;
      const afterEllipsis = (): EinjitError => fail('all bias dimensions should go after the ellipsis in the output', "move the bias axes after '...' on the right side");
      for (const g of right.composition) {
        if (g === ELLIPSIS) {
          if (used) throw afterEllipsis();
          continue;
        }
        for (const a of g) {
          if (a === ELLIPSIS) {
            if (used) throw afterEllipsis();
          } else if (bias.identifiers.has(a)) {
            bShape.push(lengths[a]!);
            used = true;
          } else {
            bShape.push(1);
          }
        }
      }
    }

    // The einsum in single letters, in einops' order (sorted names get a, b, c, ...).
    const names = [...new Set([...left.identifiers, ...right.identifiers, ...weight.identifiers])].filter((a) => a !== ELLIPSIS).sort();
    if (names.length > 26) throw fail(`${names.length} axes, more than the 26 letters einops maps them to`, 'use at most 26 distinct axis names');
    const letter = new Map(names.map((n, i) => [n, String.fromCharCode(97 + i)]));
    const write = (flat: readonly string[]): string => flat.map((a) => (a === '...' ? '...' : letter.get(a)!)).join('');
    this.einsumPattern = `${write(leftFlat)},${write(weightAxes)}->${write(rightFlat)}`;

    this.weight = new Parameter(empty(wShape, factory));
    this.bias = bShape === null ? null : new Parameter(empty(bShape, factory));
    const wBound = Math.sqrt(3 / fanIn);
    init.uniform_(this.weight, -wBound, wBound);
    if (this.bias !== null) {
      const bBound = Math.sqrt(1 / fanIn);
      init.uniform_(this.bias, -bBound, bBound);
    }
  }

  override forward(x: Tensor): Tensor {
    A.tensorArg(x, `${this.constructor.name}.forward`);
    let t = this._pre === null ? x : this._pre.forward(x);
    t = einsum(this.einsumPattern, t, this.weight);
    if (this.bias !== null) t = t.add(this.bias);
    return this._post === null ? t : this._post.forward(t);
  }

  override extraRepr(): string {
    const bias = this.biasShape === null ? '' : `, '${this.biasShape}'`;
    return `'${this.pattern}', '${this.weightShape}'${bias}${reprLengths(this.axesLengths)}`;
  }
}
