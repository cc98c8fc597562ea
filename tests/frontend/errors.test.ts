/**
 * One sentence-named test per error the front half raises: the right headline, the op, the pattern, a caret
 * under the right part of it, the shapes, and a hint.
 */
import { describe, expect, it } from 'vitest';
import { checkEinops, checkEinsum, checkPack, checkUnpack, parseShape } from '../../src/ir/index.js';
import { resolveEinsumGroups } from '../../src/ir/einsum-groups.js';
import { thrown } from '../helpers/thrown.js';

interface Case {
  /** What the caller did wrong, as a sentence. */
  readonly name: string;
  readonly call: () => unknown;
  /** A fragment of the headline. */
  readonly reason: string;
  /** The text under the caret, when the error points at the pattern. */
  readonly caret?: string;
}

const rearrange = (p: string, shape: number[], lengths: Record<string, number> = {}) => () => checkEinops('rearrange', p, shape, lengths);
const reduce = (p: string, shape: number[], r = 'sum', lengths: Record<string, number> = {}) => () => checkEinops('reduce', p, shape, lengths, r);
const repeat = (p: string, shape: number[], lengths: Record<string, number> = {}) => () => checkEinops('repeat', p, shape, lengths);
const numpy = (p: string, shapes: number[][]) => () => checkEinsum(p, shapes, 'einsum', 'numpy');
const einops = (p: string, shapes: number[][]) => () => checkEinsum(p, shapes, 'einsum', 'einops');
const grouped = (p: string, shapes: number[][], sizes: Record<string, number> = {}) => () => resolveEinsumGroups(p, shapes, sizes);

const CASES: readonly Case[] = [
  // ─── lexing and parsing ───────────────────────────────────────────────────────────────────────────
  { name: 'an unknown character is pointed at', call: rearrange('a ! b -> a b', [2, 3]), reason: "unknown character '!'", caret: '!' },
  { name: 'a tab is not a separator', call: rearrange('a\tb -> a b', [2, 3]), reason: "unknown character '\\t'" },
  { name: 'a dot outside an ellipsis is rejected', call: rearrange('a.b -> a b', [2, 3]), reason: "'.' outside an ellipsis", caret: '.' },
  { name: 'a lone dash is not an arrow', call: numpy('i- >i', [[3]]), reason: "stray '-'", caret: '-' },
  { name: 'a pattern without an arrow is rejected by rearrange', call: rearrange('a b', [2, 3]), reason: "the pattern has no '->'" },
  { name: 'einops-style einsum needs an arrow', call: einops('i j', [[2, 3]]), reason: "the pattern has no '->'" },
  { name: 'two arrows are rejected', call: numpy('i->i->i', [[3]]), reason: "more than one '->'", caret: '->' },
  { name: 'an unclosed parenthesis is pointed at', call: rearrange('a (b c -> a b c', [2, 12]), reason: "'(' is never closed", caret: '(' },
  { name: 'a closing parenthesis without an opening one is rejected', call: rearrange('a b) -> a b', [2, 3]), reason: "')' without '('", caret: ')' },
  { name: 'nested parentheses are rejected', call: rearrange('(a (b c)) -> a b c', [24], { a: 2, b: 3 }), reason: 'parentheses cannot nest', caret: '(' },
  { name: 'a comma in rearrange is rejected', call: rearrange('a b, c -> a', [2, 3]), reason: "',' is not allowed in a rearrange pattern", caret: ',' },
  { name: 'a comma in the einsum output is rejected', call: numpy('ij->i,j', [[2, 3]]), reason: "',' in the output", caret: ',' },
  { name: 'a star outside pack is rejected', call: rearrange('a * -> a', [2, 3]), reason: "'*' is only allowed in pack and unpack patterns", caret: '*' },
  { name: 'an arrow in parse_shape is rejected', call: () => parseShape('a -> a', [2]), reason: "'->' is not allowed in a parse_shape pattern" },
  { name: 'an ellipsis in pack is rejected', call: () => checkPack('a ... *', [[3, 4]]), reason: "'...' is not allowed in pack patterns", caret: '...' },
  { name: 'parentheses in numpy einsum are rejected', call: numpy('(ij)->i', [[2, 3]]), reason: "invalid subscript '('", caret: '(' },
  { name: 'parentheses in pack are rejected', call: () => checkPack('(a) *', [[3, 4]]), reason: 'parentheses are not allowed in a pack pattern' },
  // ─── names ────────────────────────────────────────────────────────────────────────────────────────
  { name: 'ASCII numpy subscripts must be letters', call: numpy('i1', [[2, 3]]), reason: "invalid subscript '1'", caret: '1' },
  { name: 'an axis name may not start with a digit', call: rearrange('2a b -> b 2a', [2, 3]), reason: "invalid axis identifier '2a'", caret: '2a' },
  { name: 'an axis name may not start or end with an underscore', call: rearrange('a_ b -> b a_', [2, 3]), reason: "invalid axis identifier 'a_'" },
  { name: 'an ellipsis touching a name is one invalid name', call: rearrange('a... -> a...', [2, 3]), reason: "invalid axis identifier 'a...'" },
  { name: 'a pack word glued to the star is invalid', call: () => checkPack('a*', [[3, 4]]), reason: "invalid axis name 'a*'" },
  { name: 'a pack axis name must be a valid identifier', call: () => checkPack('h_ w *', [[3, 4]]), reason: "invalid axis name 'h_'", caret: 'h_' },
  { name: 'a huge anonymous axis is rejected', call: repeat('a -> a 99999999999999999999', [2]), reason: 'is too large' },
  { name: 'a non-string pattern is rejected', call: () => checkEinsum(7 as unknown as string, [[2]]), reason: 'the pattern must be a string' },
  // ─── einsum ───────────────────────────────────────────────────────────────────────────────────────
  { name: 'two ellipses in one operand are rejected', call: numpy('...i...', [[2, 3]]), reason: "more than one '...' in the operand" },
  { name: 'two ellipses in the output are rejected', call: numpy('...->......', [[2, 3]]), reason: "more than one '...' in the output" },
  { name: 'an output axis must come from an input', call: numpy('ij->ik', [[2, 3]]), reason: "output axis 'k' does not appear in any input", caret: 'k' },
  { name: 'an output axis may appear once', call: numpy('i->ii', [[3]]), reason: "output axis 'i' appears more than once" },
  { name: 'einsum needs an operand', call: numpy('i->i', []), reason: 'einsum needs at least one operand' },
  { name: 'more operands than terms are rejected', call: numpy('i', [[2], [3]]), reason: 'more operands (2) than terms in the pattern (1)' },
  { name: 'fewer operands than terms are rejected', call: numpy('i,j', [[2]]), reason: 'fewer operands (1) than terms in the pattern (2)' },
  { name: 'a term naming too many axes is rejected', call: numpy('ijk', [[2, 3]]), reason: 'the operand has 2 dimensions but its term names 3 axes' },
  { name: 'a term naming too few axes without an ellipsis is rejected', call: numpy('i', [[2, 3]]), reason: 'the operand has 2 dimensions but its term names 1 axis' },
  { name: 'an ellipsis cannot cover a negative number of dimensions', call: numpy('...ij', [[3]]), reason: 'the operand has 1 dimension but its term names 2 axes' },
  { name: 'dropping ellipsis dimensions needs an ellipsis in the output', call: numpy('...i->i', [[2, 3]]), reason: "the output has no '...'" },
  { name: 'a repeated axis must have equal dimensions', call: numpy('ii', [[2, 3]]), reason: "axis 'i' is repeated in operand 0 with different sizes (2 != 3)" },
  { name: 'an axis with two different sizes is rejected', call: numpy('ij,jk', [[2, 3], [4, 5]]), reason: "axis 'j' has size 3 in operand 0 but 4 in operand 1", caret: 'j' },
  { name: 'ellipsis dimensions must broadcast', call: numpy('...,...', [[2], [3]]), reason: "'...' dimension 0 has size 2 in operand 0 but 3 in operand 1" },
  { name: 'checkEinsum leaves composite axes to einsum', call: einops('(a b) -> a b', [[6]]), reason: 'composite axes are opened by einsum, einsumPath and compile', caret: '(a b)' },
  { name: 'a composite axis of einsum may have one unknown length', call: grouped('b (h w) c -> b h', [[2, 6, 2]]), reason: "composite axis (h w) has 2 axes of unknown length ('h', 'w')", caret: '(h w)' },
  { name: 'a composite axis of einsum must divide by its known lengths', call: grouped('b (h w) c -> b h', [[2, 6, 2]], { h: 4 }), reason: 'composite axis (h w) of length 6 is not divisible by 4', caret: '(h w)' },
  { name: "a composite axis of einsum must equal its axes' product", call: grouped('b (h w), h w -> b', [[2, 6], [2, 4]]), reason: 'composite axis (h w) has length 6 but its axes multiply to 8', caret: '(h w)' },
  { name: 'an einsum size must name an axis of the pattern', call: grouped('b (h w) -> b', [[2, 6]], { h: 2, z: 3 }), reason: "axis 'z' is given a size but does not appear in the pattern" },
  { name: 'an einsum size must agree with a plain dimension', call: grouped('b (h w), h -> b', [[2, 6], [3]], { h: 2 }), reason: "axis 'h' has length 3 but is given size 2", caret: 'h' },
  { name: 'einops einsum rejects anonymous axes', call: einops('i 2 -> i', [[5, 2]]), reason: "anonymous axis '2' is not supported in einsum", caret: '2' },
  { name: 'einops einsum rejects unit axes', call: einops('i j -> i 1', [[5, 3]]), reason: "unit axes ('1', '()') are not supported in einsum", caret: '1' },
  // ─── rearrange / reduce / repeat ──────────────────────────────────────────────────────────────────
  { name: 'rearrange rejects an axis only on the left', call: rearrange('b h w -> b w', [2, 3, 4]), reason: "axis 'h' appears only on the left side of 'b h w -> b w'", caret: 'h' },
  { name: 'rearrange rejects an axis only on the right', call: rearrange('a b -> a b c', [2, 3], { c: 2 }), reason: "axis 'c' appears only on the right side", caret: 'c' },
  { name: 'rearrange rejects an ellipsis only on the left', call: rearrange('a ... -> a', [2, 3]), reason: "'...' appears only on the left side" },
  { name: 'rearrange rejects anonymous axes other than 1', call: rearrange('a b -> a b 3', [2, 3]), reason: "anonymous axis '3' in rearrange", caret: '3' },
  { name: 'an ellipsis on the right needs one on the left', call: rearrange('a b c -> ... a b c', [2, 3, 4]), reason: "'...' appears on the right side but not on the left", caret: '...' },
  { name: 'an ellipsis may not be parenthesised on the left', call: rearrange('(a ...) -> a ...', [2, 3, 4]), reason: "'...' inside parentheses on the left side" },
  { name: 'two ellipses on one side are rejected', call: reduce('a ... ... -> a', [2, 3, 4]), reason: "more than one '...' on one side" },
  { name: 'an axis may appear once per side', call: repeat('a b -> a b b', [3, 4], { b: 4 }), reason: "axis 'b' appears twice on one side" },
  { name: 'an anonymous axis of length 0 is rejected', call: rearrange('a 0 -> a', [2, 1]), reason: 'anonymous axis of length 0', caret: '0' },
  { name: 'reduce rejects an unknown reduction', call: reduce('a b -> a', [3, 4], 'median'), reason: "unknown reduction 'median'" },
  { name: 'reduce cannot create axes', call: reduce('a b -> a c', [3, 4]), reason: "axis 'c' appears only on the right side" },
  { name: 'repeat cannot remove axes', call: repeat('a b -> a', [3, 4]), reason: "axis 'b' appears only on the left side" },
  { name: 'repeat needs the length of every new axis', call: repeat('a -> a b', [3]), reason: "no length given for the new axis 'b'", caret: 'b' },
  { name: 'repeat names a new axis without a length even after a numbered one', call: repeat('a -> a 2 b', [3]), reason: "no length given for the new axis 'b'", caret: 'b' },
  { name: 'the input rank must match the pattern', call: rearrange('a b c -> a b c', [2, 3]), reason: 'the input has 2 dimensions but the left side of the pattern has 3' },
  { name: 'the input needs at least the named dimensions', call: rearrange('a b c d ... -> a b c d ...', [2, 3, 4]), reason: 'has at least 4' },
  { name: 'a length for an unused axis is rejected', call: rearrange('a b -> b a', [2, 3], { c: 3 }), reason: "axis 'c' has a length but does not appear" },
  { name: 'a length under an invalid name is rejected', call: rearrange('a b -> b a', [2, 3], { _c: 3 }), reason: "invalid axis name '_c' in the axis lengths" },
  { name: 'two unknown lengths in one group are rejected', call: rearrange('(a b) c -> a b c', [6, 2]), reason: "cannot infer the lengths of 'a' and 'b'", caret: '(a b)' },
  { name: 'a negative axis length is rejected', call: rearrange('(a b) c -> a b c', [6, 4], { b: -2 }), reason: "the length of axis 'b' must be a non-negative integer" },
  { name: 'a dimension that does not split evenly is rejected', call: rearrange('(a b) c -> a b c', [6, 2], { a: 4 }), reason: "input dimension 0 of length 6 cannot be split into '(a b)'", caret: '(a b)' },
  { name: 'a given length must match the shape', call: rearrange('a b -> b a', [2, 3], { a: 3 }), reason: "input dimension 0 has length 2 but 'a' needs 3", caret: 'a' },
  { name: 'a unit axis must have length 1', call: rearrange('a 1 b -> a b', [2, 3, 4]), reason: "input dimension 1 has length 3 but '1' needs 1", caret: '1' },
  { name: 'an invalid shape is rejected', call: rearrange('a -> a', [-1]), reason: 'the input shape has an invalid dimension -1' },
  // ─── pack / unpack / parse_shape ──────────────────────────────────────────────────────────────────
  { name: 'pack needs a star', call: () => checkPack('h w', [[3, 4]]), reason: "the pack pattern has no '*'" },
  { name: 'pack names each axis once', call: () => checkPack('h h *', [[3, 4, 5]]), reason: "'h' appears twice in the pack pattern" },
  { name: 'pack needs a tensor', call: () => checkPack('a *', []), reason: 'pack needs at least one tensor' },
  { name: 'pack needs the named dimensions', call: () => checkPack('a b *', [[3]]), reason: 'tensor 0 has shape [3] but the pattern needs at least 2 dimensions' },
  { name: 'pack needs equal named axes', call: () => checkPack('h *', [[2, 3], [4, 3]]), reason: "tensor 1 has shape [4, 3], whose named axes differ from tensor 0's [2, 3]" },
  { name: 'pack cannot infer the packed length past a zero-length named axis', call: () => checkPack('a *', [[0, 3]]), reason: 'a zero-length named axis' },
  { name: 'unpack needs exactly the named dimensions plus one', call: () => checkUnpack('a *', [2, 3, 4], [[3], [1]]), reason: 'the pattern needs exactly 2 dimensions' },
  { name: 'unpack allows one inferred packed shape', call: () => checkUnpack('*', [5], [[-1], [-1]]), reason: 'more than one packed shape contains -1' },
  { name: 'unpack packed shapes must fill the axis', call: () => checkUnpack('*', [5], [[2], [1], [1]]), reason: 'cannot split an axis of length 5 into the packed shapes [2], [1], [1]' },
  { name: 'unpack rejects malformed packed shapes', call: () => checkUnpack('*', [5], [[-2]]), reason: 'packed shapes must be a list of shapes' },
  { name: 'parse_shape rejects composite axes', call: () => parseShape('(a b) c', [6, 4]), reason: 'parse_shape cannot read composite axes', caret: '(a b)' },
  { name: 'parse_shape rejects a parenthesised ellipsis', call: () => parseShape('(...)', [2, 3]), reason: "'...' inside parentheses" },
  { name: 'parse_shape rejects duplicate names', call: () => parseShape('a a', [2, 3]), reason: "axis 'a' appears twice" },
  { name: 'parse_shape rejects two ellipses', call: () => parseShape('... a ...', [2, 3]), reason: "more than one '...'" },
  { name: 'parse_shape needs the right number of dimensions', call: () => parseShape('a b c', [1, 2, 3, 4]), reason: 'the shape has 4 dimensions but the pattern has 3' },
  { name: 'parse_shape checks unit axes', call: () => parseShape('a b c ()', [1, 2, 3, 4]), reason: 'dimension 3 has length 4, not 1', caret: '()' },
  { name: 'parse_shape checks numbers', call: () => parseShape('2 a b c', [1, 2, 3, 4]), reason: 'dimension 0 has length 1, not 2', caret: '2' },
  { name: 'parse_shape rejects a zero anonymous axis', call: () => parseShape('a 0', [2, 3]), reason: 'anonymous axis of length 0' },
];

describe('every front-half error', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const e = thrown(c.call);
    expect(e.reason).toContain(c.reason);
    expect(e.op).toBeDefined();
    expect(e.message.split('\n')[0]).toBe(`${e.op}: ${e.reason}`);
    if (c.caret !== undefined) {
      expect(e.pattern).toBeDefined();
      expect(e.span).toBeDefined();
      expect(e.pattern!.slice(e.span!.start, e.span!.end)).toBe(c.caret);
    }
    expect(e.hint ?? '').toMatch(/^[a-z'(]/);
  });

  it('renders the pattern, a caret, the shapes and the hint', () => {
    const e = thrown(rearrange('b h w -> b w', [2, 3, 4]));
    expect(e.message).toBe(
      [
        "rearrange: axis 'h' appears only on the left side of 'b h w -> b w'",
        '  b h w -> b w',
        '    ^',
        "  input shape [2, 3, 4]. Every axis must appear on both sides; to drop it, use reduce(x, 'b h w -> b w', 'sum')",
      ].join('\n'),
    );
  });

  it('names the op the caller passed', () => {
    expect(thrown(() => checkEinsum('ij,jk', [[2, 3], [4, 5]], 'matmul')).op).toBe('matmul');
  });

  it('lists every operand shape for a multi-operand error', () => {
    expect(thrown(numpy('ij,jk', [[2, 3], [4, 5]])).message).toContain('operand shapes [2, 3], [4, 5]');
  });
});
