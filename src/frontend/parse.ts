/**
 * Pattern string → AST, one function per language, with an LRU cache keyed by (language, pattern string).
 * Lexing and parsing problems become EinjitErrors that point at the offending character.
 */
import type { IToken } from 'chevrotain';
import { EinjitError, type Span } from '../errors.js';
import { parsePattern, type EntryRule, type ParseProblem, type ParseResult } from '../../grammar/index.js';
import type { EinsumAst, PackAst, PatternAst, ShapeAst, TransformAst } from './ast.js';
import { LruCache } from '../util/lru.js';
import { patternVisitor, type VisitContext } from './visitor.js';

const astCache = new LruCache<string, PatternAst>(1024);
let parses = 0;

/** How many times a pattern string was actually parsed (cache misses). Exported for tests. */
export function parseCount(): number {
  return parses;
}

/** Empties the AST cache (tests and benchmarks). */
export function clearAstCache(): void {
  astCache.clear();
}

/** Which grammar rule and naming rules a language uses. */
const LANGUAGES = {
  numpyEinsum: { allowUnderscore: false, what: 'einsum' },
  einopsEinsum: { allowUnderscore: true, what: 'einsum' },
  transform: { allowUnderscore: false, what: 'einops' },
  shapePattern: { allowUnderscore: true, what: 'parse_shape' },
  packPattern: { allowUnderscore: false, what: 'pack' },
} as const satisfies Record<EntryRule, { allowUnderscore: boolean; what: string }>;

function parseCached(pattern: string, rule: EntryRule, op: string): PatternAst {
  if (typeof pattern !== 'string') {
    throw new EinjitError(`the pattern must be a string, got ${pattern === null ? 'null' : typeof pattern}`, { op, hint: "pass the pattern as a string, e.g. 'b c h w -> b h w c'" });
  }
  const key = rule + '\u0000' + pattern;
  const hit = astCache.get(key);
  if (hit !== undefined) return hit;
  parses++;
  const result = parsePattern(pattern, rule);
  throwSyntaxProblem(pattern, rule, op, result);
  const context: VisitContext = { pattern, op, allowUnderscore: LANGUAGES[rule].allowUnderscore };
  const ast = patternVisitor.visit(result.cst!, context) as PatternAst;
  astCache.set(key, ast);
  return ast;
}

/** numpy/torch einsum syntax: 'bij,bjk->bik', implicit output when there is no '->'. */
export function parseNumpyEinsum(pattern: string, op = 'einsum'): EinsumAst {
  return parseCached(pattern, 'numpyEinsum', op) as EinsumAst;
}

/** einops einsum syntax: 'batch i j, batch j k -> batch i k'. */
export function parseEinopsEinsum(pattern: string, op = 'einsum'): EinsumAst {
  return parseCached(pattern, 'einopsEinsum', op) as EinsumAst;
}

/** rearrange / reduce / repeat. */
export function parseTransform(pattern: string, op = 'rearrange'): TransformAst {
  return parseCached(pattern, 'transform', op) as TransformAst;
}

/** pack / unpack. */
export function parsePack(pattern: string, op = 'pack'): PackAst {
  return parseCached(pattern, 'packPattern', op) as PackAst;
}

/** parse_shape. */
export function parseShapePattern(pattern: string, op = 'parseShape'): ShapeAst {
  return parseCached(pattern, 'shapePattern', op) as ShapeAst;
}

// ─── Syntax errors in the domain's words ──────────────────────────────────────────────────────────────

function printable(ch: string): string {
  const escaped = JSON.stringify(ch).slice(1, -1);
  return escaped;
}

function throwSyntaxProblem(pattern: string, rule: EntryRule, op: string, result: ParseResult): void {
  const numpy = rule === 'numpyEinsum';
  const lex = result.lexProblems[0];
  // Tabs and newlines are errors too (except in pack patterns); report whichever problem comes first.
  const ws = rule === 'packPattern' ? undefined : result.otherSpace[0];
  if (ws !== undefined && (lex === undefined || ws.startOffset < lex.offset)) {
    const ch = ws.image[0]!;
    throw new EinjitError(`unknown character '${printable(ch)}'`, {
      op, pattern, span: { start: ws.startOffset, end: ws.startOffset + 1 },
      hint: 'only the plain space separates axes (no tabs or newlines)',
    });
  }
  if (lex !== undefined) {
    const ch = String.fromCodePoint(pattern.codePointAt(lex.offset)!);
    const span = { start: lex.offset, end: lex.offset + ch.length };
    if (ch === '.') {
      throw new EinjitError("'.' outside an ellipsis", {
        op, pattern, span: { start: lex.offset, end: lex.offset + lex.length },
        hint: "dots may only appear as an ellipsis, exactly three in a row: '...'",
      });
    }
    if (ch === '-' || ch === '>') {
      throw new EinjitError(`stray '${ch}'`, { op, pattern, span, hint: "the arrow is written '->', with no space inside" });
    }
    throw new EinjitError(`unknown character '${printable(ch)}'`, {
      op, pattern, span,
      hint: numpy
        ? "einsum subscripts are letters a-z, A-Z, ',', '->', '...' and spaces"
        : "axis names are letters, digits and '_', separated by single spaces",
    });
  }
  const problem = result.parseProblems[0];
  if (problem !== undefined) throw syntaxError(pattern, rule, op, problem, result.tokens);
}

function spanOf(pattern: string, token: IToken, isEof: boolean): Span {
  if (isEof) return { start: pattern.length, end: pattern.length + 1 };
  return { start: token.startOffset, end: token.startOffset + token.image.length };
}

function syntaxError(pattern: string, rule: EntryRule, op: string, p: ParseProblem, tokens: readonly IToken[]): EinjitError {
  const span = spanOf(pattern, p.token, p.isEof);
  const kind = p.isEof ? 'EOF' : p.token.tokenType.name;
  const inGroup = p.ruleStack.includes('group');
  const where = LANGUAGES[rule].what;
  if (inGroup && (p.isEof || kind === 'Arrow' || kind === 'Comma')) {
    let open: IToken | undefined;
    for (const t of tokens) {
      if (t.startOffset >= span.start) break;
      if (t.tokenType.name === 'LParen') open = t;
      if (t.tokenType.name === 'RParen') open = undefined;
    }
    return new EinjitError("unbalanced parentheses: '(' is never closed", {
      op, pattern, span: open !== undefined ? { start: open.startOffset, end: open.startOffset + 1 } : span,
      hint: "close every '(' with ')' on the same side of '->'",
    });
  }
  switch (kind) {
    case 'IndexSymbol':
      // Only numpy einsum takes these characters as indices; to every other language they are unknown.
      return new EinjitError(`unknown character '${printable(p.token.image)}'`, {
        op, pattern, span, hint: "axis names are letters, digits and '_', separated by single spaces",
      });
    case 'LParen':
      if (inGroup) {
        return new EinjitError('parentheses cannot nest', {
          op, pattern, span, hint: "axis composition is one level deep: write '(a b c)', not '(a (b c))'",
        });
      }
      break;
    case 'RParen':
      if (rule !== 'numpyEinsum' && rule !== 'packPattern') {
        return new EinjitError("unbalanced parentheses: ')' without '('", { op, pattern, span, hint: "remove the ')' or add the missing '('" });
      }
      break;
    case 'Arrow':
      if (rule === 'numpyEinsum' || rule === 'einopsEinsum' || rule === 'transform') {
        return new EinjitError("more than one '->'", { op, pattern, span, hint: "a pattern has exactly one '->' between inputs and output" });
      }
      return new EinjitError(`'->' is not allowed in a ${where} pattern`, { op, pattern, span, hint: `a ${where} pattern describes one tensor` });
    case 'Comma':
      if (rule === 'transform') {
        return new EinjitError(`',' is not allowed in a ${op} pattern`, {
          op, pattern, span, hint: `${op} takes one tensor (pass a list to stack several on a new leading axis)`,
        });
      }
      if (rule === 'einopsEinsum' || rule === 'numpyEinsum') {
        return new EinjitError("',' in the output", { op, pattern, span, hint: 'einsum has exactly one output' });
      }
      return new EinjitError(`',' is not allowed in a ${where} pattern`, { op, pattern, span, hint: 'separate axis names with spaces' });
    case 'Star':
      return new EinjitError("'*' is only allowed in pack and unpack patterns", { op, pattern, span, hint: "name the axes, or use '...' for any number of them" });
    case 'Ellipsis':
      if (rule === 'packPattern') {
        return new EinjitError(`'...' is not allowed in ${op} patterns`, { op, pattern, span, hint: "'*' stands for the packed axes; name the others" });
      }
      break;
    case 'EOF':
      if (rule === 'transform' || rule === 'einopsEinsum') {
        return new EinjitError("the pattern has no '->'", {
          op, pattern, span, hint: rule === 'transform' ? "write the input axes, '->', then the output axes" : "einops-style einsum needs an explicit output: 'i j, j k -> i k'",
        });
      }
      break;
  }
  if (kind === 'LParen' || kind === 'RParen') {
    return new EinjitError(
      rule === 'numpyEinsum' ? `invalid subscript '${p.token.image}' in the einsum pattern` : `parentheses are not allowed in a ${op} pattern`,
      { op, pattern, span, hint: rule === 'numpyEinsum' ? 'numpy einsum has no composite axes; reshape the operand first' : 'pack patterns list plain axis names and one *' },
    );
  }
  return new EinjitError(`unexpected ${p.isEof ? 'end of pattern' : `'${p.token.image}'`}`, { op, pattern, span });
}
