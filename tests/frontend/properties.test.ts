/**
 * Property tests on random valid patterns: the checked output shape equals an independent computation
 * written here; parse → print → parse gives the same IR; every IR passes the invariant checker.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseEinopsEinsum, parseNumpyEinsum, parseTransform } from '../../src/frontend/index.js';
import {
  buildEinsumIR, buildTransformIR, checkEinops, checkEinsum, checkPack, checkUnpack, printEinsum, printTransform, verify,
} from '../../src/ir/index.js';
import { einopsEinsumCase, einopsTransformCase, numpyEinsumCase, packCase, type EinsumCase } from './arbitraries.js';

/** Runs per property; raise with EINJIT_PROPERTY_RUNS for a longer soak. */
const RUNS = Number(process.env['EINJIT_PROPERTY_RUNS'] ?? 400);

/** Splits a term into labels: letters for numpy, words for einops; '...' stays one item. */
function labelsOf(term: string, syntax: 'numpy' | 'einops'): string[] {
  if (syntax === 'einops') return term.trim().split(/ +/).filter((w) => w.length > 0);
  const out: string[] = [];
  for (let i = 0; i < term.length; i++) {
    if (term.startsWith('...', i)) {
      out.push('...');
      i += 2;
    } else if (term[i] !== ' ') out.push(term[i]!);
  }
  return out;
}

/** numpy broadcasting of two sizes (1 yields to anything, including 0). */
const broadcast = (a: number, b: number): number => (a === 1 ? b : a);

/** The output shape of an einsum, computed directly from the pattern text and the shapes. */
function expectedEinsumShape(c: EinsumCase): number[] {
  const [lhs, rhs] = c.pattern.split('->') as [string, string | undefined];
  const terms = lhs.split(',').map((t) => labelsOf(t, c.syntax));
  const size = new Map<string, number>();
  let ell: number[] = [];
  terms.forEach((t, k) => {
    const shape = c.shapes[k]!;
    const at = t.indexOf('...');
    const ellRank = shape.length - (t.length - (at >= 0 ? 1 : 0));
    let d = 0;
    for (const label of t) {
      if (label === '...') {
        const dims = shape.slice(d, d + ellRank);
        const n = Math.max(ell.length, dims.length);
        const a = [...Array<number>(n - ell.length).fill(1), ...ell];
        const b = [...Array<number>(n - dims.length).fill(1), ...dims];
        ell = a.map((x, i) => broadcast(x, b[i]!));
        d += ellRank;
      } else {
        size.set(label, broadcast(size.get(label) ?? 1, shape[d]!));
        d++;
      }
    }
  });
  let out: string[];
  if (rhs !== undefined) out = labelsOf(rhs, c.syntax);
  else {
    const all = terms.flat().filter((l) => l !== '...');
    const once = [...new Set(all)].filter((l) => all.indexOf(l) === all.lastIndexOf(l)).sort();
    out = [...(terms.some((t) => t.includes('...')) ? ['...'] : []), ...once];
  }
  return out.flatMap((l) => (l === '...' ? ell : [size.get(l)!]));
}

/** Strips the pattern text so IRs built from different spellings compare equal. */
function withoutPattern(ir: unknown): unknown {
  return JSON.parse(JSON.stringify(ir, (k, v: unknown) => (k === 'pattern' ? undefined : v)));
}

describe('einsum on random valid patterns', () => {
  for (const [name, arb] of [['numpy', numpyEinsumCase()], ['einops', einopsEinsumCase()]] as const) {
    it(`gives the output shape computed independently (${name} syntax)`, () => {
      fc.assert(
        fc.property(arb, (c) => {
          const checked = checkEinsum(c.pattern, c.shapes, 'einsum', c.syntax);
          verify(checked);
          expect([...checked.outputShape]).toEqual(expectedEinsumShape(c));
          expect(checked.output.map((id) => checked.axes[id]!.size)).toEqual(expectedEinsumShape(c));
        }),
        { numRuns: RUNS },
      );
    });

    it(`prints to a pattern that parses back to the same IR (${name} syntax)`, () => {
      fc.assert(
        fc.property(arb, (c) => {
          const parse = c.syntax === 'numpy' ? parseNumpyEinsum : parseEinopsEinsum;
          const ranks = c.shapes.map((s) => s.length);
          const ir = buildEinsumIR(parse(c.pattern), ranks);
          verify(ir);
          const printed = printEinsum(ir);
          const again = buildEinsumIR(parse(printed), ranks);
          verify(again);
          expect(withoutPattern(again)).toEqual(withoutPattern(ir));
          expect(printEinsum(again)).toBe(printed);
        }),
        { numRuns: RUNS },
      );
    });
  }
});

describe('rearrange, reduce and repeat on random valid patterns', () => {
  /** The output shape from the pattern text: each right entry is the product of its members' lengths. */
  function expectedShape(c: ReturnType<typeof einopsTransformCase> extends fc.Arbitrary<infer T> ? T : never): number[] {
    const [lhs, rhs] = c.pattern.split('->') as [string, string];
    const tokens = (s: string): string[] => s.replace(/\(/g, ' ( ').replace(/\)/g, ' ) ').trim().split(/ +/).filter((x) => x.length > 0);
    const lengths = new Map<string, number>(Object.entries(c.axesLengths));
    let ell: number[] = [];
    // Left: bind each entry to its dimension.
    const left = tokens(lhs);
    const entries: string[][] = [];
    for (let i = 0; i < left.length; i++) {
      if (left[i] === '(') {
        const g: string[] = [];
        while (left[++i] !== ')') g.push(left[i]!);
        entries.push(g);
      } else entries.push([left[i]!]);
    }
    const fixed = entries.filter((e) => !(e.length === 1 && e[0] === '...')).length;
    let d = 0;
    for (const e of entries) {
      if (e.length === 1 && e[0] === '...') {
        ell = c.shape.slice(d, d + c.shape.length - fixed);
        d += ell.length;
        continue;
      }
      const len = c.shape[d++]!;
      const members = e.filter((m) => m !== '1' && m !== '()');
      const unknown = members.filter((m) => !lengths.has(m) && !/^\d+$/.test(m));
      const known = members.filter((m) => !unknown.includes(m)).reduce((p, m) => p * (lengths.get(m) ?? Number(m)), 1);
      if (unknown.length === 1) lengths.set(unknown[0]!, len / known);
    }
    const right = tokens(rhs);
    const out: number[] = [];
    const sizeOf = (m: string): number[] => (m === '...' ? ell : m === '1' ? [1] : /^\d+$/.test(m) ? [Number(m)] : [lengths.get(m)!]);
    for (let i = 0; i < right.length; i++) {
      if (right[i] === '(') {
        let p = 1;
        while (right[++i] !== ')') p *= sizeOf(right[i]!).reduce((a, b) => a * b, 1);
        out.push(p);
      } else if (right[i] === '...') out.push(...ell);
      else out.push(...sizeOf(right[i]!));
    }
    return out;
  }

  it('gives the output shape computed independently', () => {
    fc.assert(
      fc.property(einopsTransformCase(), (c) => {
        const recipe = checkEinops(c.op, c.pattern, c.shape, c.axesLengths, c.reduction);
        verify(recipe);
        expect([...recipe.outputShape]).toEqual(expectedShape(c));
      }),
      { numRuns: RUNS },
    );
  });

  it('prints to a pattern that parses back to the same IR', () => {
    fc.assert(
      fc.property(einopsTransformCase(), (c) => {
        const names = Object.keys(c.axesLengths);
        const ir = buildTransformIR(parseTransform(c.pattern), c.op, c.reduction, names, c.shape.length);
        verify(ir);
        const printed = printTransform(ir);
        const again = buildTransformIR(parseTransform(printed), c.op, c.reduction, names, c.shape.length);
        expect(withoutPattern(again)).toEqual(withoutPattern(ir));
        expect(checkEinops(c.op, printed, c.shape, c.axesLengths, c.reduction).outputShape).toEqual(
          checkEinops(c.op, c.pattern, c.shape, c.axesLengths, c.reduction).outputShape,
        );
      }),
      { numRuns: RUNS },
    );
  });
});

describe('pack and unpack on random valid shapes', () => {
  it('unpack inverts pack', () => {
    fc.assert(
      fc.property(packCase(), (c) => {
        // numpy cannot reshape to -1 when a named axis has length 0; the generator keeps them positive.
        const packed = checkPack(c.pattern, c.shapes);
        verify(packed);
        const total = packed.packedShapes.reduce((s, p) => s + p.reduce((a, b) => a * b, 1), 0);
        expect(packed.outputShape[packed.axis]).toBe(total);
        const unpacked = checkUnpack(c.pattern, packed.outputShape, packed.packedShapes);
        verify(unpacked);
        expect(unpacked.outputShapes).toEqual(c.shapes);
      }),
      { numRuns: RUNS },
    );
  });
});
