/**
 * Random valid einsum expressions (up to 6 operands, repeated indices, '...', size-1 axes, implicit output) with
 * random shapes and random non-contiguous layouts: einjit equals the naive oracle for every path optimizer.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { einsum, tensor, type Tensor } from '../../src/index.js';
import { referenceEinsum } from '../reference/einsum.js';

const LETTERS = 'abcdefgIJK';

interface Case {
  pattern: string;
  shapes: number[][];
  data: Float64Array[];
  strided: boolean[];
}

const caseArb: fc.Arbitrary<Case> = fc.record({
  nOps: fc.integer({ min: 1, max: 6 }),
  nLetters: fc.integer({ min: 1, max: 7 }),
  sizes: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 10, maxLength: 10 }),
  seed: fc.integer({ min: 0, max: 2 ** 30 }),
  useEllipsis: fc.boolean(),
  ellShape: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 0, maxLength: 2 }),
  implicit: fc.boolean(),
}).map(({ nOps, nLetters, sizes, seed, useEllipsis, ellShape, implicit }) => {
  let s = seed;
  const rnd = (n: number): number => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return (s >>> 8) % n; };
  const letters = LETTERS.slice(0, nLetters);
  const terms: string[] = [];
  const shapes: number[][] = [];
  for (let k = 0; k < nOps; k++) {
    const len = rnd(4);
    let term = '';
    for (let i = 0; i < len; i++) term += letters[rnd(letters.length)];
    const shape = [...term].map((c) => sizes[LETTERS.indexOf(c)]!);
    if (useEllipsis && rnd(2) === 0) {
      // This operand's ellipsis covers the trailing part of ellShape, some dims broadcast as size 1.
      const covered = ellShape.slice(rnd(ellShape.length + 1)).map((n) => (rnd(3) === 0 ? 1 : n));
      const at = rnd(term.length + 1);
      shape.splice(at, 0, ...covered);
      term = term.slice(0, at) + '...' + term.slice(at);
    }
    terms.push(term);
    shapes.push(shape);
  }
  const used = [...new Set(terms.join('').replace(/\./g, ''))];
  let pattern = terms.join(',');
  if (!implicit) {
    const out = used.filter(() => rnd(2) === 0);
    const anyEll = terms.some((t) => t.includes('...'));
    pattern += '->' + (anyEll ? '...' : '') + out.join('');
  }
  const data = shapes.map((sh) => Float64Array.from({ length: sh.reduce((a, b) => a * b, 1) }, () => rnd(2001) / 1000 - 1));
  const strided = shapes.map(() => rnd(2) === 0);
  return { pattern, shapes, data, strided };
});

function layout(data: Float64Array, shape: number[], strided: boolean): Tensor {
  const t = tensor(data, { shape });
  if (!strided || shape.length < 2) return t;
  const rev = shape.map((_, i) => shape.length - 1 - i);
  return t.permute(rev).contiguous().permute(rev);
}

describe('random einsum expressions equal the naive oracle', () => {
  for (const optimize of ['auto', 'greedy', 'optimal', 'dp', 'branch-2', 'random-greedy']) {
    it(`with optimize '${optimize}'`, () => {
      fc.assert(fc.property(caseArb, (c) => {
        const ops = c.data.map((d, k) => layout(d, c.shapes[k]!, c.strided[k]!));
        const want = referenceEinsum(c.pattern, c.data.map((d, k) => ({ shape: c.shapes[k]!, data: d })));
        const got = einsum(c.pattern, ...ops, { optimize });
        expect(got.shape).toEqual(want.shape);
        const g = got.dataSync();
        for (let i = 0; i < want.data.length; i++) {
          const w = want.data[i]!;
          if (!(Math.abs(g[i]! - w) <= 1e-9 * Math.max(1, Math.abs(w)))) {
            throw new Error(`${c.pattern} ${JSON.stringify(c.shapes)}: element ${i} got ${g[i]} want ${w}`);
          }
        }
      }), { numRuns: optimize === 'auto' ? 500 : 120 });
    });
  }
});
