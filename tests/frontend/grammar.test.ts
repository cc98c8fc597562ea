/**
 * The grammar layer on its own: tokens, the entry rules, the visitor's validation, the EBNF and the
 * generated syntax diagrams staying in step with the parser.
 */
import { readFileSync } from 'node:fs';
import { createSyntaxDiagramsCode } from 'chevrotain';
import { describe, expect, it } from 'vitest';
import { cstDeclarations } from '../../grammar/generate-cst.js';
import { parsePattern, patternParser, tokenize } from '../../grammar/index.js';
import { parseEinopsEinsum, parseNumpyEinsum, parsePack, parseShapePattern, parseTransform } from '../../src/frontend/index.js';

const names = (p: string): string[] => tokenize(p).tokens.map((t) => t.tokenType.name);

describe('tokens', () => {
  it('reads arrows, commas, parentheses, ellipses, stars and names', () => {
    expect(names('a (b c) ... , * ->')).toEqual(['Name', 'LParen', 'Name', 'Name', 'RParen', 'Ellipsis', 'Comma', 'Star', 'Arrow']);
  });

  it('reads a run of letters, digits and underscores as one name, in any script', () => {
    expect(tokenize('x_1 αβ 2a').tokens.map((t) => t.image)).toEqual(['x_1', 'αβ', '2a']);
  });

  it('skips plain spaces and keeps other whitespace aside', () => {
    const t = tokenize('a \tb\n');
    expect(t.tokens.map((x) => x.image)).toEqual(['a', 'b']);
    expect(t.otherSpace.map((x) => x.image)).toEqual(['\t', '\n']);
  });

  it('reports characters it cannot read with their offsets', () => {
    expect(tokenize('a-b').problems).toEqual([{ offset: 1, length: 1 }]);
    expect(tokenize('. ..').problems.map((p) => p.offset)).toEqual([0, 2]);
  });
});

describe('parser entry rules', () => {
  it('parses each language with its own entry rule', () => {
    for (const [p, rule] of [
      ['bij,bjk->bik', 'numpyEinsum'], ['ij,jk', 'numpyEinsum'], ['', 'numpyEinsum'],
      ['b i j, b j k -> b i k', 'einopsEinsum'], ['b (h w) c -> b h w c', 'transform'], [' -> ', 'transform'],
      ['b * c', 'packPattern'], ['b _ (c) ...', 'shapePattern'],
    ] as const) {
      const r = parsePattern(p, rule);
      expect(r.parseProblems, `${rule}: ${p}`).toEqual([]);
      expect(r.cst).toBeDefined();
    }
  });

  it('rejects what a language does not allow', () => {
    expect(parsePattern('(ij)->i', 'numpyEinsum').parseProblems.length).toBe(1);
    expect(parsePattern('a b', 'transform').parseProblems.length).toBe(1);
    expect(parsePattern('a -> b -> c', 'transform').parseProblems.length).toBe(1);
    expect(parsePattern('a, b -> c', 'transform').parseProblems.length).toBe(1);
    expect(parsePattern('(a (b)) -> a b', 'transform').parseProblems.length).toBe(1);
    expect(parsePattern('a (b) *', 'packPattern').parseProblems.length).toBe(1);
  });

  it('reuses one parser instance across calls', () => {
    parsePattern('a -> a', 'transform');
    const first = patternParser;
    parsePattern('b -> b', 'transform');
    expect(patternParser).toBe(first);
  });
});

describe('CST to AST', () => {
  it('splits numpy subscripts into one-letter labels with spans', () => {
    const ast = parseNumpyEinsum('ij,jk->ik');
    expect(ast.inputs[0]!.dims.map((d) => (d.kind === 'name' ? d.name : d.kind))).toEqual(['i', 'j']);
    expect(ast.inputs[1]!.dims[1]!.span).toEqual({ start: 4, end: 5 });
    expect(ast.output!.dims.length).toBe(2);
    expect(parseNumpyEinsum('ij').output).toBeNull();
  });

  it('keeps einops names, numbers, groups and ellipses in source order', () => {
    const ast = parseTransform('a (b 2) ... 1 -> a b');
    expect(ast.left.dims.map((d) => d.kind)).toEqual(['name', 'group', 'ellipsis', 'number']);
    const group = ast.left.dims[1]!;
    expect(group.kind === 'group' && group.members.map((m) => m.kind)).toEqual(['name', 'number']);
    expect(group.span).toEqual({ start: 2, end: 7 });
  });

  it("allows '_' as a name only in einsum and parse_shape", () => {
    expect(() => parseEinopsEinsum('a _ -> a')).not.toThrow();
    expect(() => parseShapePattern('_ a')).not.toThrow();
    expect(() => parseTransform('_ a -> a _')).toThrow();
    expect(() => parsePack('_ *')).toThrow();
  });

  it('freezes the AST records', () => {
    const ast = parseTransform('a b -> b a');
    expect(Object.isFrozen(ast)).toBe(true);
    expect(Object.isFrozen(ast.left.dims)).toBe(true);
    expect(Object.isFrozen(ast.left.dims[0])).toBe(true);
  });
});

describe('grammar documents', () => {
  const serialized = patternParser.getSerializedGastProductions();
  const rules = serialized.map((r) => (r as unknown as { name: string }).name);

  it('states every parser rule in the EBNF', () => {
    const ebnf = readFileSync(new URL('../../grammar/pattern.ebnf', import.meta.url), 'utf8');
    for (const rule of rules) expect(ebnf).toMatch(new RegExp(`^${rule}\\s*=`, 'm'));
  });

  it('keeps the typed CST declarations generated from the current grammar', () => {
    const dts = readFileSync(new URL('../../grammar/cst.ts', import.meta.url), 'utf8');
    expect(dts).toBe(cstDeclarations());
  });

  it('keeps the syntax diagrams generated from the current grammar', () => {
    const html = readFileSync(new URL('../../docs/diagrams/pattern.html', import.meta.url), 'utf8');
    expect(html).toBe(createSyntaxDiagramsCode(serialized));
  });
});
