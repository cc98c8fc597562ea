/**
 * Corners of the IR layer that the broader frontend tests pass over: numpy's implicit output with an ellipsis,
 * rank lists and patterns that read alike without separators, parse_shape given something that is not a shape,
 * and printing a transform whose '...' sits between other dimensions or that holds a unit axis '()'.
 */
import { describe, expect, it } from 'vitest';
import { EinjitError } from '../../src/errors.js';
import { checkEinops, checkEinsum, clearFrontendCaches, parseShape, printEinsum, printTransform, verify } from '../../src/ir/index.js';

describe('numpy implicit output with an ellipsis', () => {
  it("puts the broadcast '...' dimensions first, then the letters used once", () => {
    const c = checkEinsum('...ij,...jk', [[7, 2, 3], [7, 3, 4]]);
    verify(c);
    expect(c.outputShape).toEqual([7, 2, 4]);
    expect(c.output.map((id) => c.axes[id]!.name)).toEqual(['...0', 'i', 'k']);
    expect(printEinsum(c.ir)).toBe('...ij,...jk->...ik');
  });

  it("writes no '...' when no operand has one", () => {
    const c = checkEinsum('ij,jk', [[2, 3], [3, 4]]);
    expect(c.ir.outputTerm).toEqual([{ kind: 'axis', axis: 0 }, { kind: 'axis', axis: 2 }]);
    expect(printEinsum(c.ir)).toBe('ij,jk->ik');
  });
});

describe('the einsum IR cache', () => {
  it('keeps rank lists apart that would read the same without a separator ([1, 11] and [11, 1])', () => {
    clearFrontendCaches();
    const ones = (n: number): number[] => Array.from({ length: n }, () => 1);
    const a = checkEinsum('...,...->...', [[2], [...ones(10), 2]]);
    const b = checkEinsum('...,...->...', [[...ones(10), 2], [2]]);
    verify(a);
    verify(b);
    expect(a.inputs.map((d) => d.length)).toEqual([1, 11]);
    expect(b.inputs.map((d) => d.length)).toEqual([11, 1]);
    expect(b.outputShape).toEqual([...ones(10), 2]);
  });

  it("keeps a pattern apart from its ranks ('x1 -> x1' with rank 1 against 'x1 -> x' with rank 11)", () => {
    clearFrontendCaches();
    const ones = (n: number): number[] => Array.from({ length: n }, () => 1);
    expect(checkEinsum('x1 -> x1', [[5]]).outputShape).toEqual([5]);
    // Joined without a separator both read 'x1 -> x11'; the second is not a valid call and must not hit the first.
    expect(() => checkEinsum('x1 -> x', [ones(11)])).toThrow(EinjitError);
  });
});

describe('parse_shape given something that is not a shape', () => {
  it('names the shape, the operation and the pattern', () => {
    let err: unknown;
    try {
      parseShape('a b', 'not a shape' as unknown as number[]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EinjitError);
    const e = err as EinjitError;
    expect(e.reason).toBe('the shape must be an array of dimension sizes');
    expect(e.op).toBe('parseShape');
    expect(e.pattern).toBe('a b');
  });

  it('names the bad dimension', () => {
    expect(() => parseShape('a b', [2, -1])).toThrow(/the shape has an invalid dimension -1/);
  });
});

describe('printing a transform', () => {
  it("prints '...' once where it stood, covering any number of dimensions", () => {
    expect(printTransform(checkEinops('rearrange', 'b ... c -> c ... b', [2, 3, 4, 5]).ir)).toBe('b ... c -> c ... b');
    expect(printTransform(checkEinops('rearrange', 'b ... c -> c ... b', [2, 5]).ir)).toBe('b ... c -> c ... b');
    expect(printTransform(checkEinops('reduce', '... (h 2) -> ... h', [3, 4, 6], {}, 'max').ir)).toBe('... (h 2) -> ... h');
  });

  it("prints a unit axis '()' where it was written", () => {
    expect(printTransform(checkEinops('rearrange', 'a b -> a () b', [2, 3]).ir)).toBe('a b -> a () b');
    expect(printTransform(checkEinops('rearrange', 'a () b -> b a', [2, 1, 3]).ir)).toBe('a () b -> b a');
  });
});
