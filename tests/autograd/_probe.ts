import fc from 'fast-check';
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


const xs = fc.sample(expressionArb, 300);
let rep=0, ell=0, b1=0, impl=0, four=0;
for (const e of xs) { const terms=e.pattern.split('->')[0]!.split(',');
 if (terms.some(t=>{const l=t.replace('...','').split(''); return new Set(l).size<l.length;})) rep++;
 if (e.pattern.includes('...')) ell++; if (!e.pattern.includes('->')) impl++; if (terms.length===4) four++;
 if (e.shapes.some(s=>s.includes(1))) b1++; }
console.log({rep, ell, b1, impl, four}); console.log(xs.slice(0,8).map(e=>e.pattern+' '+JSON.stringify(e.shapes)).join('\n'));
