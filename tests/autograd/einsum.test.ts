/**
 * The einsum gradient rule on random expressions: up to four operands, repeated indices (diagonals), '...'
 * with broadcasting, size-1 axes broadcast against larger ones, indices summed in one operand only, implicit
 * and explicit outputs. Every operand's gradient is checked against finite differences.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { einsum, type Tensor } from '../../src/index.js';
import { gradcheck, nonContiguous, randomTensor } from './gradcheck.js';

interface Expression {
  readonly pattern: string;
  readonly shapes: number[][];
}

const LETTERS = 'abcdef';

/**
 * A random valid einsum: each operand draws letters with replacement (so indices repeat), may carry '...'
 * (standing for a suffix of the shared ellipsis shape, with some sizes lowered to 1), and may see a letter at
 * size 1 where the others see it at full size. The output is implicit, or a shuffled subset of the letters.
 */
const expressionArb: fc.Arbitrary<Expression> = fc.record({
  sizes: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: LETTERS.length, maxLength: LETTERS.length }),
  ellipsis: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 0, maxLength: 2 }),
  operands: fc.array(fc.record({
    letters: fc.array(fc.integer({ min: 0, max: LETTERS.length - 1 }), { minLength: 0, maxLength: 3 }),
    ellipsisAt: fc.option(fc.integer({ min: 0, max: 3 }), { freq: 2 }),
    ellipsisRank: fc.integer({ min: 0, max: 2 }),
    ones: fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
    broadcastLetter: fc.option(fc.integer({ min: 0, max: LETTERS.length - 1 }), { freq: 4 }),
  }), { minLength: 1, maxLength: 4 }),
  explicit: fc.boolean(),
  keep: fc.array(fc.boolean(), { minLength: LETTERS.length, maxLength: LETTERS.length }),
  order: fc.array(fc.nat(), { minLength: LETTERS.length + 1, maxLength: LETTERS.length + 1 }),
}).map(({ sizes, ellipsis, operands, explicit, keep, order }) => {
  let usesEllipsis = false;
  const terms: string[] = [];
  const shapes: number[][] = [];
  for (const op of operands) {
    const shape = op.letters.map((l) => (op.broadcastLetter === l ? 1 : sizes[l]!));
    let term = op.letters.map((l) => LETTERS[l]!).join('');
    if (op.ellipsisAt !== null && ellipsis.length > 0) {
      usesEllipsis = true;
      const rank = Math.min(op.ellipsisRank, ellipsis.length);
      const dims = ellipsis.slice(ellipsis.length - rank).map((n, i) => (op.ones[i] ? 1 : n));
      const at = Math.min(op.ellipsisAt, op.letters.length);
      term = `${term.slice(0, at)}...${term.slice(at)}`;
      shape.splice(at, 0, ...dims);
    }
    terms.push(term);
    shapes.push(shape);
  }
  if (!explicit) return { pattern: terms.join(','), shapes };
  const used = [...new Set(operands.flatMap((op) => op.letters))].filter((l) => keep[l]);
  const outTerms = used.map((l) => LETTERS[l]!);
  if (usesEllipsis) outTerms.push('...');
  const ranked = outTerms.map((t, i) => ({ t, k: order[i]! }));
  ranked.sort((x, y) => x.k - y.k);
  return { pattern: `${terms.join(',')}->${ranked.map((r) => r.t).join('')}`, shapes };
});

function operandsOf(e: Expression, seed: number, layout: number): Tensor[] {
  return e.shapes.map((s, i) => {
    const t = randomTensor(s, seed + i);
    const l = (layout + i) % 3;
    return l === 0 ? t : nonContiguous(t, l === 2);
  });
}

describe('einsum gradients', () => {
  it('pass gradcheck for every operand of random expressions', () => {
    fc.assert(fc.property(expressionArb, fc.integer({ min: 1, max: 2 ** 30 }), fc.integer({ min: 0, max: 2 }), (e, seed, layout) => {
      try {
        gradcheck((...xs) => einsum(e.pattern, ...xs), operandsOf(e, seed, layout));
      } catch (err) {
        throw new Error(`${e.pattern} with shapes ${JSON.stringify(e.shapes)}: ${(err as Error).message}`);
      }
    }), { numRuns: 300 });
  });

  const table: [string, number[][]][] = [
    ['ii->i', [[3, 3]]],
    ['ii', [[3, 3]]],
    ['iij->ji', [[2, 2, 3]]],
    ['iji->j', [[2, 3, 2]]],
    ['iii->', [[2, 2, 2]]],
    ['ii,i->i', [[3, 3], [1]]],
    ['ij,k->k', [[2, 3], [4]]],
    ['ijk->', [[2, 3, 2]]],
    ['i,j->ij', [[3], [2]]],
    ['ij,ij->', [[2, 3], [1, 3]]],
    ['ij,jk,kl->il', [[2, 3], [3, 4], [4, 2]]],
    ['ij,jk,kl,lm', [[2, 3], [3, 2], [2, 2], [2, 3]]],
    ['...ij,...jk->...ik', [[2, 1, 2, 3], [4, 3, 2]]],
    ['...ii->...i', [[2, 3, 3]]],
    ['b...,b...->...b', [[2, 3, 1], [2, 1, 4]]],
    ['i...->...', [[3, 2, 2]]],
    ['ab,ab,ab->ab', [[2, 1], [1, 3], [2, 3]]],
    ['ij,jk', [[2, 1], [3, 2]]],
    ['ba,ca,da->bcd', [[2, 3], [2, 3], [1, 3]]],
    [',i->i', [[], [3]]],
  ];
  for (const [pattern, shapes] of table) {
    it(`${pattern} with shapes ${JSON.stringify(shapes)}`, () => {
      for (let layout = 0; layout < 3; layout++) {
        gradcheck((...xs) => einsum(pattern, ...xs), operandsOf({ pattern, shapes }, 17 + layout, layout));
      }
    });
  }

  it('the einops syntax has the same gradients', () => {
    const a = randomTensor([2, 3], 1);
    const b = randomTensor([3, 4], 2);
    const r1 = gradcheck((x, y) => einsum(x, y, 'batch i, i j -> batch j'), [a, b]);
    const r2 = gradcheck((x, y) => einsum('bi,ij->bj', x, y), [a, b]);
    expect(r1.analytic).toEqual(r2.analytic);
  });

  it('the same operand twice gets both contributions', () => {
    gradcheck((x) => einsum('ij,jk->ik', x, x), [randomTensor([3, 3], 5)]);
    gradcheck((x) => einsum('ij,ij,ji->', x, x, x), [nonContiguous(randomTensor([2, 2], 6), true)]);
  });

  it('operands that do not require grad get none, and the others still do', () => {
    const a = randomTensor([2, 3], 1);
    const b = randomTensor([3], 2);
    gradcheck((x, y) => einsum('ij,j->i', x, y), [a, b], { constant: [1] });
    const w = b.detach();
    w.requiresGrad = true;
    einsum('ij,j->i', a, w).sum().backward();
    expect(a.grad).toBeNull();
    expect(w.grad).not.toBeNull();
  });
});
