/** The pattern grammar: tokens, lexer and parser. Syntax only; imports nothing from src/. */
export * from './tokens.js';
export { PatternParser, patternParser, parsePattern, type EntryRule, type ParseProblem, type ParseResult } from './parser.js';
export type * from './cst.js';
