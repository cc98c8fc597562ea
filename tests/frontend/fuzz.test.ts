/**
 * Fuzz: random strings (printable ASCII, arbitrary Unicode, and soups of pattern-like tokens) through every
 * entry point. Each call must either succeed or throw EinjitError — never another exception, never hang.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EinjitError } from '../../src/errors.js';
import { checkEinops, checkEinsum, checkPack, checkUnpack, clearFrontendCaches, parseShape } from '../../src/ir/index.js';

const SHAPES: number[][][] = [[[2, 3]], [[2, 3, 4]], [[2, 3], [3, 4]], [[]], [[1, 2, 3, 4]]];

/** Every entry point, each fed one pattern. */
const ENTRY_POINTS: readonly ((p: string, i: number) => unknown)[] = [
  (p, i) => checkEinsum(p, SHAPES[i % SHAPES.length]!, 'einsum', 'numpy'),
  (p, i) => checkEinsum(p, SHAPES[i % SHAPES.length]!, 'einsum', 'einops'),
  (p, i) => checkEinsum(p, SHAPES[i % SHAPES.length]!),
  (p, i) => checkEinops('rearrange', p, SHAPES[i % SHAPES.length]![0]!, i % 2 === 0 ? {} : { a: 2, b: 3 }),
  (p, i) => checkEinops('reduce', p, SHAPES[i % SHAPES.length]![0]!, {}, i % 3 === 0 ? 'sum' : 'mean'),
  (p, i) => checkEinops('repeat', p, SHAPES[i % SHAPES.length]![0]!, { c: 2, a: 2 }),
  (p, i) => checkPack(p, SHAPES[i % SHAPES.length]!),
  (p, i) => checkUnpack(p, SHAPES[i % SHAPES.length]![0]!, [[1], [-1]]),
  (p, i) => parseShape(p, SHAPES[i % SHAPES.length]![0]!),
];

let calls = 0;
function survives(pattern: string): boolean {
  for (const [i, f] of ENTRY_POINTS.entries()) {
    calls++;
    try {
      f(pattern, i + pattern.length);
    } catch (e) {
      if (!(e instanceof EinjitError)) throw e;
      // An internal error is a bug dressed as an EinjitError: fail loudly.
      if (e.reason.startsWith('internal error')) throw e;
    }
  }
  return true;
}

const TOKENS = [
  'a', 'b', 'c', 'ij', 'jk', 'batch', 'h2', '_', 'x_', '1', '2', '0', '10', '(', ')', '()', '...', '..', '.', '->', '-', '>',
  ',', '*', ' ', ' ', '  ', '\t', '\n', 'α', '…', 'é', '😀', '٣', '=>', '<-',
];

describe('fuzzing every entry point', () => {
  it('printable ASCII strings either check or throw EinjitError', () => {
    fc.assert(fc.property(fc.string({ maxLength: 24 }), survives), { numRuns: 4000 });
  });

  it('arbitrary Unicode strings either check or throw EinjitError', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 16 }), survives), { numRuns: 2500 });
  });

  it('soups of pattern-like tokens either check or throw EinjitError', () => {
    const soup = fc.array(fc.constantFrom(...TOKENS), { maxLength: 14 }).map((xs) => xs.join(''));
    fc.assert(fc.property(soup, survives), { numRuns: 4000 });
    clearFrontendCaches();
  });

  it('ran at least 10,000 random strings through each entry point', () => {
    expect(calls).toBeGreaterThanOrEqual(10_000 * ENTRY_POINTS.length);
  });

  it('handles long patterns without blowing up', () => {
    const n = 2000;
    const names = Array.from({ length: n }, (_, i) => `a${i}`);
    const start = performance.now();
    const r = checkEinops('rearrange', `${names.join(' ')} -> ${[...names].reverse().join(' ')}`, Array<number>(n).fill(1));
    expect(r.outputShape.length).toBe(n);
    expect(checkEinsum('a'.repeat(n) + '->a', [Array<number>(n).fill(2)]).outputShape).toEqual([2]);
    expect(() => checkEinops('rearrange', '('.repeat(n), [2])).toThrow(EinjitError);
    expect(() => checkEinsum('...'.repeat(n), [[2]])).toThrow(EinjitError);
    expect(performance.now() - start).toBeLessThan(10_000);
  });

  it('rejects non-string patterns and malformed shapes with EinjitError', () => {
    const bad: (() => unknown)[] = [
      () => checkEinsum(undefined as unknown as string, [[2]]),
      () => checkEinsum('i', [[2.5]]),
      () => checkEinsum('i', [[-1]]),
      () => checkEinsum('i', 'nope' as unknown as number[][]),
      () => checkEinsum('i', [3] as unknown as number[][]),
      () => checkEinops('rearrange', null as unknown as string, [2]),
      () => checkEinops('rearrange', 'a -> a', [Number.NaN]),
      () => checkEinops('repeat', 'a -> a b', [2], { b: 1.5 }),
      () => checkEinops('repeat', 'a -> a b', [2], { b: -1 }),
      () => checkPack('a *', [[2], 'x' as unknown as number[]]),
      () => checkUnpack('a *', [2, 3], [[1, -2]]),
      () => parseShape('a', {} as unknown as number[]),
    ];
    for (const f of bad) expect(f).toThrow(EinjitError);
  });
});
