/**
 * Tokens of the pattern languages (numpy einsum, einops einsum, rearrange/reduce/repeat, pack/unpack,
 * parse_shape). One lexer serves all of them; which token sequences are legal is the parser's business.
 *
 * Decisions worth knowing:
 * - `Name` is a maximal run of letters, digits and underscores (Unicode-aware, like Python's str.isalnum).
 *   Whether a run is an axis name, a number, or (in numpy einsum) a string of one-letter labels is decided
 *   after parsing, because the answer depends on the language.
 * - `IndexSymbol` is one character outside ASCII that is neither a letter, a digit nor whitespace ('×', '÷', '∑', an
 *   emoji): numpy einsum takes it as an index, as opt_einsum does; the einops languages reject it.
 * - `...` is one token, so `. ..` or `..` never form an ellipsis.
 * - Only the plain space separates; it is skipped. Other whitespace (tab, newline, ...) is kept in a token
 *   group of its own: einops and numpy reject it, while pack/unpack (which split on any whitespace) accept it.
 */
import { createToken, Lexer, type TokenType, type IToken } from 'chevrotain';

// ─── Punctuation ────────────────────────────────────────────────────────────────────────────────────────
export const Arrow = createToken({ name: 'Arrow', pattern: /->/, label: "'->'" });
export const Comma = createToken({ name: 'Comma', pattern: /,/, label: "','" });
export const LParen = createToken({ name: 'LParen', pattern: /\(/, label: "'('" });
export const RParen = createToken({ name: 'RParen', pattern: /\)/, label: "')'" });
export const Ellipsis = createToken({ name: 'Ellipsis', pattern: /\.\.\./, label: "'...'" });
export const Star = createToken({ name: 'Star', pattern: /\*/, label: "'*'" });

// ─── Names ──────────────────────────────────────────────────────────────────────────────────────────────
const NAME_RUN = /[\p{L}\p{N}_]+/uy;

/** Letters/digits/underscore, any script. A custom matcher because the Unicode classes need the `u` flag. */
export const Name = createToken({
  name: 'Name',
  pattern: {
    exec: (text: string, offset: number) => {
      NAME_RUN.lastIndex = offset;
      return NAME_RUN.exec(text);
    },
  },
  line_breaks: false,
  label: 'axis name',
});

const SYMBOL = /[^\x00-\x7f\p{L}\p{N}\s\u0085]/uy;

/** One non-ASCII character that is not a letter, digit or whitespace (a numpy einsum index). */
export const IndexSymbol = createToken({
  name: 'IndexSymbol',
  pattern: {
    exec: (text: string, offset: number) => {
      SYMBOL.lastIndex = offset;
      return SYMBOL.exec(text);
    },
  },
  line_breaks: false,
  label: 'index symbol',
});

// ─── Whitespace ─────────────────────────────────────────────────────────────────────────────────────────
export const Space = createToken({ name: 'Space', pattern: / +/, group: Lexer.SKIPPED });

const OTHER_SPACE = /[\t\n\v\f\r\x1c-\x1f\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/y;

/** Whitespace other than ' ' (Python's str.split() whitespace). Collected in the 'otherSpace' group. */
export const OtherSpace = createToken({
  name: 'OtherSpace',
  pattern: {
    exec: (text: string, offset: number) => {
      OTHER_SPACE.lastIndex = offset;
      return OTHER_SPACE.exec(text);
    },
  },
  line_breaks: true,
  group: 'otherSpace',
});

/** Every token, in matching order. */
export const allTokens: TokenType[] = [Space, OtherSpace, Arrow, Comma, LParen, RParen, Ellipsis, Star, Name, IndexSymbol];

/** The lexer, built once. Optimisations are not required: patterns are short and the result is cached. */
export const patternLexer = new Lexer(allTokens, {
  positionTracking: 'onlyOffset',
  ensureOptimizations: false,
  skipValidations: true,
});

/** A character the lexer could not match. */
export interface LexProblem {
  readonly offset: number;
  readonly length: number;
}

export interface Tokens {
  readonly tokens: IToken[];
  /** Whitespace other than the plain space, in order of appearance. */
  readonly otherSpace: IToken[];
  readonly problems: readonly LexProblem[];
}

/** Splits a pattern into tokens. */
export function tokenize(pattern: string): Tokens {
  const result = patternLexer.tokenize(pattern);
  return {
    tokens: result.tokens,
    otherSpace: (result.groups['otherSpace'] ?? []) as IToken[],
    problems: result.errors.map((e) => ({ offset: e.offset, length: e.length })),
  };
}
