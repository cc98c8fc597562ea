/**
 * IR corners found by mutation testing (seed 20261224's sample of src/ir):
 * - an einops einsum's '(...)' (one axis named '…', as in einops) prints back as '(...)';
 * - index lists' ids take their symbols in sorted order: strings by code point (not by their JSON text, where
 *   '"' is escaped), other JSON values by their text (objects compare equal as JavaScript strings);
 * - a shapes argument that is not an array gets the shapes check's message, not a crash in the cache key.
 */
import { describe, expect, it } from 'vitest';
import { EinjitError } from '../../src/errors.js';
import { checkEinsum, checkPack, patternOfIndexLists, printEinsum } from '../../src/ir/index.js';

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
