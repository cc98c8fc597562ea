/**
 * The parser of the pattern languages: a pure Chevrotain CstParser (no semantic actions). Rules are class
 * fields so a misspelt rule is a compile error; `performSelfAnalysis` runs once, on the single instance below.
 *
 * Entry rules, one per language:
 *   numpyEinsum    'bij,bjk->bik', 'ij,jk' (implicit output), '...ij->...ji', 'a×,×b->ab' (any non-ASCII index)
 *   einopsEinsum   'batch i j, batch j k -> batch i k'
 *   transform      rearrange / reduce / repeat: 'b (h w) c -> b h w c'
 *   packPattern    pack / unpack: 'b * c'
 *   shapePattern   parse_shape: 'b c _ _'
 * grammar/pattern.ebnf states the same grammar in EBNF.
 */
import { CstParser, EOF, type CstNode, type IRecognitionException, type IToken } from 'chevrotain';
import { allTokens, Arrow, Comma, Ellipsis, LParen, Name, RParen, Star, IndexSymbol, tokenize, type LexProblem } from './tokens.js';

export class PatternParser extends CstParser {
  constructor() {
    super(allTokens, { recoveryEnabled: false, maxLookahead: 1, skipValidations: false });
    this.performSelfAnalysis();
  }

  // ─── numpy einsum: letters and '...', no parentheses; the output side is optional ───────────────────
  numpyEinsum = this.RULE('numpyEinsum', () => {
    this.SUBRULE(this.numpyTerm, { LABEL: 'inputs' });
    this.MANY(() => {
      this.CONSUME(Comma);
      this.SUBRULE2(this.numpyTerm, { LABEL: 'inputs' });
    });
    this.OPTION(() => {
      this.CONSUME(Arrow);
      this.SUBRULE3(this.numpyTerm, { LABEL: 'output' });
    });
  });

  numpyTerm = this.RULE('numpyTerm', () => {
    this.MANY(() => {
      this.OR([{ ALT: () => this.CONSUME(Name) }, { ALT: () => this.CONSUME(IndexSymbol) }, { ALT: () => this.CONSUME(Ellipsis) }]);
    });
  });

  // ─── einops einsum: named axes, comma-separated inputs, the output side is required ─────────────────
  einopsEinsum = this.RULE('einopsEinsum', () => {
    this.SUBRULE(this.expression, { LABEL: 'inputs' });
    this.MANY(() => {
      this.CONSUME(Comma);
      this.SUBRULE2(this.expression, { LABEL: 'inputs' });
    });
    this.CONSUME(Arrow);
    this.SUBRULE3(this.expression, { LABEL: 'output' });
  });

  // ─── rearrange / reduce / repeat: exactly one arrow ──────────────────────────────────────────────────
  transform = this.RULE('transform', () => {
    this.SUBRULE(this.expression, { LABEL: 'left' });
    this.CONSUME(Arrow);
    this.SUBRULE2(this.expression, { LABEL: 'right' });
  });

  // ─── parse_shape: one side ───────────────────────────────────────────────────────────────────────────
  shapePattern = this.RULE('shapePattern', () => {
    this.SUBRULE(this.expression);
  });

  // ─── pack / unpack: names and one '*' ('*' count is checked after parsing) ───────────────────────────
  packPattern = this.RULE('packPattern', () => {
    this.MANY(() => {
      this.OR([{ ALT: () => this.CONSUME(Name) }, { ALT: () => this.CONSUME(Star) }]);
    });
  });

  // ─── one side of an einops pattern: axes, '...', and one level of parentheses ───────────────────────
  expression = this.RULE('expression', () => {
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(Name) },
        { ALT: () => this.CONSUME(Ellipsis) },
        { ALT: () => this.SUBRULE(this.group) },
      ]);
    });
  });

  group = this.RULE('group', () => {
    this.CONSUME(LParen);
    this.MANY(() => {
      this.OR([{ ALT: () => this.CONSUME(Name) }, { ALT: () => this.CONSUME(Ellipsis) }]);
    });
    this.CONSUME(RParen);
  });
}

/** The single parser instance (Chevrotain parsers are reusable: set `input`, call an entry rule). */
export const patternParser = new PatternParser();

/** The entry rules, by language. */
export type EntryRule = 'numpyEinsum' | 'einopsEinsum' | 'transform' | 'shapePattern' | 'packPattern';

/** A syntax error found by the parser: the offending token (EOF at the end) and the rule stack at the time. */
export interface ParseProblem {
  readonly token: IToken;
  readonly isEof: boolean;
  readonly ruleStack: readonly string[];
  readonly message: string;
}

export interface ParseResult {
  readonly cst: CstNode | undefined;
  readonly tokens: readonly IToken[];
  /** Whitespace other than ' ' found in the pattern (tab, newline, ...). */
  readonly otherSpace: readonly IToken[];
  readonly lexProblems: readonly LexProblem[];
  readonly parseProblems: readonly ParseProblem[];
}

/** Tokenizes and parses `pattern` with the entry rule of one language. Never throws for bad input. */
export function parsePattern(pattern: string, rule: EntryRule): ParseResult {
  const lexed = tokenize(pattern);
  if (lexed.problems.length > 0) {
    return { cst: undefined, tokens: lexed.tokens, otherSpace: lexed.otherSpace, lexProblems: lexed.problems, parseProblems: [] };
  }
  // Chevrotain reports a syntax error by throwing an exception inside the parser and catching it again; its
  // stack trace is never looked at, so skip capturing one (a large part of the cost of a bad pattern).
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  let cst: CstNode | undefined;
  try {
    patternParser.input = lexed.tokens;
    cst = patternParser[rule]();
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
  const parseProblems = patternParser.errors.map((e: IRecognitionException) => ({
    token: e.token,
    isEof: e.token.tokenType === EOF,
    ruleStack: e.context.ruleStack,
    message: e.message,
  }));
  return { cst, tokens: lexed.tokens, otherSpace: lexed.otherSpace, lexProblems: [], parseProblems };
}

export { Arrow, Comma, Ellipsis, LParen, Name, RParen, Star, IndexSymbol };
