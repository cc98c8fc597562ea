/**
 * IR corners found by mutation testing (seed 20261224's sample of src/ir):
 * - an einops einsum's '(...)' (one axis named '…', as in einops) prints back as '(...)';
 * - index lists' ids take their symbols in sorted order: strings by code point (not by their JSON text, where
 *   '"' is escaped), other JSON values by their text (objects compare equal as JavaScript strings);
 * - a shapes argument that is not an array gets the shapes check's message, not a crash in the cache key;
 * - (seed 20261225) pack names '*' when it is written twice; unpack's cache tells apart calls whose pattern and
 *   shape would run together ('* a' of [12, 3] and '* a1' of [2, 3]) or whose shapes would ([1, 23], [12, 3]);
 *   parseShape's errors carry the pattern and the shape when each is one.
 */
import { describe, expect, it } from 'vitest';
import { EinjitError } from '../../src/errors.js';
import { checkEinsum, checkPack, checkUnpack, clearFrontendCaches, parseShape, patternOfIndexLists, printEinsum } from '../../src/ir/index.js';
import { thrown } from '../helpers/thrown.js';

describe('printing an einsum IR', () => {
  it("prints an einops '(...)' axis as '(...)'", () => {
    const c = checkEinsum('(...) i, i -> (...)', [[2, 3], [3]], 'einsum', 'einops');
    expect(c.outputShape).toEqual([2]);
    expect(printEinsum(c.ir)).toBe('(...) i, i -> (...)');
  });
});

describe('index lists in sorted id order', () => {
  it('sorts string ids by code point, not by their JSON text', () => {
    // '"' (U+0022) sorts before '#' (U+0023); as JSON text '"\\""' sorts after '"#"' ('\\' is U+005C).
    expect(patternOfIndexLists({ inputs: [['#', '"']] })).toBe('BA');
    expect(patternOfIndexLists({ inputs: [['"', '#']] })).toBe('AB');
    expect(patternOfIndexLists({ inputs: [['c', 'a', 'd', 'b'], ['b', 'e']] })).toBe('CADB,BE');
  });

  it('sorts other JSON values by their JSON text', () => {
    // As JavaScript strings both objects read '[object Object]' (a tie); their texts differ.
    expect(patternOfIndexLists({ inputs: [[{ b: 1 }, { a: 1 }]] })).toBe('BA');
    expect(patternOfIndexLists({ inputs: [[null, false]] })).toBe('BA');
    expect(patternOfIndexLists({ inputs: [[[10], [9]]] })).toBe('AB');
  });
});

describe('a shapes argument that is not an array', () => {
  it.each([undefined, 5, null])('is refused by the shapes check (%s), in einsum and pack', (shapes) => {
    for (const call of [() => checkEinsum('ij->i', shapes as never), () => checkPack('i *', shapes as never)]) {
      expect(call).toThrow(EinjitError);
      expect(call).toThrow('the operand shapes must be an array of shapes');
    }
  });
});

describe('pack and unpack', () => {
  it("names '*' when the pack pattern writes it twice", () => {
    expect(thrown(() => checkPack('a * *', [[2, 3]])).reason).toBe("'*' appears twice in the pack pattern");
  });

  it('keeps apart unpack calls whose pattern, shape and packed shapes would run together', () => {
    clearFrontendCaches();
    expect(checkUnpack('* a', [12, 3], [[-1]]).outputShapes).toEqual([[12, 3]]);
    expect(checkUnpack('* a1', [2, 3], [[-1]]).outputShapes).toEqual([[2, 3]]);
    expect(checkUnpack('a *', [1, 23], [[-1]]).outputShapes).toEqual([[1, 23]]);
    expect(checkUnpack('a *', [12, 3], [[-1]]).outputShapes).toEqual([[12, 3]]);
    const e = thrown(() => checkUnpack('a *', 'x' as never, [[-1]]));
    expect([e.op, e.reason]).toEqual(['unpack', 'the input shape must be an array of dimension sizes']);
  });
});

describe("parseShape's errors", () => {
  const context = (pattern: unknown, shape: unknown) => {
    const e = thrown(() => parseShape(pattern as never, shape as never));
    return { pattern: e.pattern, shapes: e.shapes };
  };

  it('carry the pattern when it is a string and the shape when every dimension is one', () => {
    expect(context('a b c', [2, 3])).toEqual({ pattern: 'a b c', shapes: [[2, 3]] });
    expect(context('a b', [2, -1])).toEqual({ pattern: 'a b', shapes: undefined });
    expect(context(5, [2, 3])).toEqual({ pattern: undefined, shapes: [[2, 3]] });
    expect(context('a b', 'x')).toEqual({ pattern: 'a b', shapes: undefined });
  });
});
