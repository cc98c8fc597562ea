/**
 * CST → AST. A CstVisitor subclass (validated at start-up, so a grammar rule without a visit method fails
 * immediately). Besides building records with spans it checks what is lexical but language-dependent:
 * numpy subscripts are ASCII letters or characters outside ASCII; einops axis names are Python identifiers (not starting or ending with
 * '_'), numbers are anonymous axes, and '...' may not touch a name.
 */
import type { CstNode, IToken } from 'chevrotain';
import { EinjitError } from '../errors.js';
import { patternParser } from '../../grammar/index.js';
import type {
  EinopsEinsumCstChildren, ExpressionCstChildren, GroupCstChildren, NumpyEinsumCstChildren, NumpyTermCstChildren,
  PackPatternCstChildren, PatternCstVisitor, ShapePatternCstChildren, TransformCstChildren,
} from '../../grammar/cst.js';
import type {
  DimAst, EinsumAst, ExpressionAst, MemberAst, NameAst, PackAst, PackItemAst, ShapeAst, Span, TransformAst,
} from './ast.js';

/** What the visitor needs to know besides the tree. */
export interface VisitContext {
  readonly pattern: string;
  readonly op: string;
  /** einops allows '_' as a whole name in einsum and parse_shape. */
  readonly allowUnderscore: boolean;
}

type Children = Record<string, (CstNode | IToken)[] | undefined>;

const BaseVisitor = patternParser.getBaseCstVisitorConstructor<VisitContext, unknown>();

function tokenSpan(t: IToken): Span {
  return Object.freeze({ start: t.startOffset, end: t.startOffset + t.image.length });
}

function isToken(x: CstNode | IToken): x is IToken {
  return (x as IToken).tokenType !== undefined;
}

function startOf(x: CstNode | IToken): number {
  if (isToken(x)) return x.startOffset;
  return firstToken(x)?.startOffset ?? 0;
}

function firstToken(node: CstNode): IToken | undefined {
  let best: IToken | undefined;
  for (const list of Object.values(node.children as Children)) {
    for (const x of list ?? []) {
      const t = isToken(x) ? x : firstToken(x);
      if (t !== undefined && (best === undefined || t.startOffset < best.startOffset)) best = t;
    }
  }
  return best;
}

/** Children of several kinds merged back into source order (a CST keeps each kind in its own list). */
function ordered<T extends CstNode | IToken>(...lists: (readonly T[] | undefined)[]): T[] {
  const all: T[] = [];
  for (const list of lists) for (const x of list ?? []) all.push(x);
  return all.sort((a, b) => startOf(a) - startOf(b));
}

const IDENTIFIER = /^[\p{XID_Start}_][\p{XID_Continue}]*$/u;
const DECIMAL = /^\p{Nd}+$/u;
const ND = /\p{Nd}/u;

/** The value of one decimal digit of any script (Unicode lays every Nd digit run out as 0..9). */
function digitValue(ch: string): number {
  if (ch >= '0' && ch <= '9') return ch.charCodeAt(0) - 48;
  let cp = ch.codePointAt(0)!;
  let steps = 0;
  while (steps < 100 && ND.test(String.fromCodePoint(cp - 1))) {
    cp--;
    steps++;
  }
  return steps % 10;
}

/** Python's int() of a string of decimal digits. */
function decimalValue(text: string): number {
  let v = 0;
  for (const ch of text) v = v * 10 + digitValue(ch);
  return v;
}

/** Why `name` is not a valid einops axis name, or undefined if it is. */
export function axisNameProblem(name: string, allowUnderscore: boolean): string | undefined {
  if (!IDENTIFIER.test(name)) return 'it is not a valid identifier (letters, digits and _, not starting with a digit)';
  if (name.startsWith('_') || name.endsWith('_')) {
    if (name === '_' && allowUnderscore) return undefined;
    return "axis names may not start or end with '_'";
  }
  return undefined;
}

class PatternVisitor extends BaseVisitor implements PatternCstVisitor<VisitContext, unknown> {
  constructor() {
    super();
    this.validateVisitor();
  }

  // ─── numpy einsum ───────────────────────────────────────────────────────────────────────────────────
  numpyEinsum(ctx: NumpyEinsumCstChildren, c: VisitContext): EinsumAst {
    const inputs = ctx.inputs.map((n) => this.visit(n, c) as ExpressionAst);
    const output = ctx.output === undefined ? null : (this.visit(ctx.output[0]!, c) as ExpressionAst);
    return Object.freeze({ kind: 'einsum', syntax: 'numpy', pattern: c.pattern, inputs: Object.freeze(inputs), output });
  }

  numpyTerm(ctx: NumpyTermCstChildren, c: VisitContext): ExpressionAst {
    const dims: DimAst[] = [];
    for (const t of ordered(ctx.Name, ctx.IndexSymbol, ctx.Ellipsis)) {
      if (t.tokenType.name === 'Ellipsis') {
        dims.push(Object.freeze({ kind: 'ellipsis', span: tokenSpan(t) }));
        continue;
      }
      // A run like 'bij' is three one-character labels. Outside ASCII every character is a label (opt_einsum's
      // rule, so 'À', '×' and '÷' index as 'a' does); inside ASCII only letters are, as in numpy.
      let offset = t.startOffset;
      for (const ch of t.image) {
        const span = Object.freeze({ start: offset, end: offset + ch.length });
        offset += ch.length;
        if (ch.codePointAt(0)! < 0x80 && !/^[A-Za-z]$/.test(ch)) {
          throw new EinjitError(`invalid subscript '${ch}' in the einsum pattern`, {
            op: c.op, pattern: c.pattern, span,
            hint: "einsum subscripts are single letters a-z and A-Z or characters outside ASCII (for named axes use einops syntax: 'batch i j, batch j k -> batch i k')",
          });
        }
        dims.push(Object.freeze({ kind: 'name', name: ch, span }));
      }
    }
    return this.expressionRecord(dims, c);
  }

  // ─── einops languages ───────────────────────────────────────────────────────────────────────────────
  einopsEinsum(ctx: EinopsEinsumCstChildren, c: VisitContext): EinsumAst {
    const inputs = ctx.inputs.map((n) => this.visit(n, c) as ExpressionAst);
    const output = this.visit(ctx.output[0]!, c) as ExpressionAst;
    return Object.freeze({ kind: 'einsum', syntax: 'einops', pattern: c.pattern, inputs: Object.freeze(inputs), output });
  }

  transform(ctx: TransformCstChildren, c: VisitContext): TransformAst {
    const left = this.visit(ctx.left[0]!, c) as ExpressionAst;
    const right = this.visit(ctx.right[0]!, c) as ExpressionAst;
    const arrow = tokenSpan(ctx.Arrow[0]!);
    return Object.freeze({ kind: 'transform', pattern: c.pattern, left, right, arrow });
  }

  shapePattern(ctx: ShapePatternCstChildren, c: VisitContext): ShapeAst {
    const expression = this.visit(ctx.expression[0]!, c) as ExpressionAst;
    return Object.freeze({ kind: 'shape', pattern: c.pattern, expression });
  }

  packPattern(ctx: PackPatternCstChildren, c: VisitContext): PackAst {
    const tokens = ordered(ctx.Name, ctx.Star);
    const items: PackItemAst[] = [];
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i]!;
      const next = tokens[i + 1];
      // pack splits on whitespace: 'a*' is one word, and not a valid name.
      if (next !== undefined && next.startOffset === t.startOffset + t.image.length) {
        let end = next.startOffset + next.image.length;
        for (let j = i + 2; j < tokens.length && tokens[j]!.startOffset === end; j++) end += tokens[j]!.image.length;
        throw new EinjitError(`invalid axis name '${c.pattern.slice(t.startOffset, end)}' in the ${c.op} pattern`, {
          op: c.op, pattern: c.pattern, span: { start: t.startOffset, end },
          hint: "separate axis names and '*' with spaces",
        });
      }
      if (t.tokenType.name === 'Star') {
        items.push(Object.freeze({ kind: 'star', span: tokenSpan(t) }));
      } else {
        const problem = axisNameProblem(t.image, false);
        if (problem !== undefined) {
          throw new EinjitError(`invalid axis name '${t.image}' in the ${c.op} pattern`, {
            op: c.op, pattern: c.pattern, span: tokenSpan(t), hint: problem,
          });
        }
        items.push(Object.freeze({ kind: 'name', name: t.image, span: tokenSpan(t) }));
      }
    }
    return Object.freeze({ kind: 'pack', pattern: c.pattern, items: Object.freeze(items) });
  }

  expression(ctx: ExpressionCstChildren, c: VisitContext): ExpressionAst {
    const parts = ordered<CstNode | IToken>(ctx.Name, ctx.Ellipsis, ctx.group);
    this.checkEllipsisSpacing(parts, c);
    const dims: DimAst[] = parts.map((p) => (isToken(p) ? this.member(p, c) : (this.visit(p, c) as DimAst)));
    return this.expressionRecord(dims, c);
  }

  group(ctx: GroupCstChildren, c: VisitContext): DimAst {
    const parts = ordered(ctx.Name, ctx.Ellipsis);
    this.checkEllipsisSpacing(parts, c);
    const open = ctx.LParen[0]!;
    const close = ctx.RParen[0]!;
    const members = parts.map((p) => this.member(p, c));
    return Object.freeze({
      kind: 'group', members: Object.freeze(members), span: Object.freeze({ start: open.startOffset, end: close.startOffset + 1 }),
    });
  }

  // ─── helpers ────────────────────────────────────────────────────────────────────────────────────────
  private member(t: IToken, c: VisitContext): MemberAst {
    const span = tokenSpan(t);
    if (t.tokenType.name === 'Ellipsis') return Object.freeze({ kind: 'ellipsis', span });
    const text = t.image;
    if (DECIMAL.test(text)) {
      const value = decimalValue(text);
      if (!Number.isSafeInteger(value)) {
        throw new EinjitError(`anonymous axis length ${text} is too large`, { op: c.op, pattern: c.pattern, span, hint: 'lengths must be below 2^53' });
      }
      return Object.freeze({ kind: 'number', value, span });
    }
    const problem = axisNameProblem(text, c.allowUnderscore);
    if (problem !== undefined) {
      throw new EinjitError(`invalid axis identifier '${text}'`, { op: c.op, pattern: c.pattern, span, hint: problem });
    }
    const named: NameAst = Object.freeze({ kind: 'name', name: text, span });
    return named;
  }

  /** einops reads '...' as one character of an identifier, so 'a...' or '...b' is one invalid name. */
  private checkEllipsisSpacing(parts: readonly (CstNode | IToken)[], c: VisitContext): void {
    for (let i = 0; i + 1 < parts.length; i++) {
      const a = parts[i]!;
      const b = parts[i + 1]!;
      if (!isToken(a) || !isToken(b)) continue;
      const touching = a.startOffset + a.image.length === b.startOffset;
      const names = [a.tokenType.name, b.tokenType.name];
      if (touching && names.includes('Ellipsis') && names.includes('Name')) {
        throw new EinjitError(`invalid axis identifier '${a.image}${b.image}'`, {
          op: c.op, pattern: c.pattern, span: { start: a.startOffset, end: b.startOffset + b.image.length },
          hint: "separate '...' from axis names with a space",
        });
      }
    }
  }

  private expressionRecord(dims: DimAst[], c: VisitContext): ExpressionAst {
    let start = c.pattern.length;
    let end = c.pattern.length;
    if (dims.length > 0) {
      start = dims[0]!.span.start;
      end = dims[dims.length - 1]!.span.end;
    }
    return Object.freeze({ dims: Object.freeze(dims), span: Object.freeze({ start, end }) });
  }
}

/** The single visitor instance. */
export const patternVisitor = new PatternVisitor();
