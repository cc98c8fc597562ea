/**
 * Networks with more indices than numpy has letters (53–500): one-character subscripts outside ASCII, numpy's
 * sublist format and einops' named axes describe the same einsum, plan the same path at the same cost, and
 * compute the values of an independent float64 oracle.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { einsum, einsumPath, tensor, type Tensor } from '../../src/index.js';
import { EinjitError } from '../../src/errors.js';
import { checkEinsum } from '../../src/ir/index.js';
import { referenceEinsum } from '../reference/einsum.js';

interface Network {
  /** Each operand's indices (numbers 0..nIdx-1). */
  inputs: number[][];
  output: number[];
  sizes: number[];
  /** A distinct non-ASCII character per index, in a random order. */
  chars: string[];
}

const WHITESPACE = /\s/u;

/** Random networks: 53–500 indices, each on one or two of 2–130 operands; a few indices have size 2 or 3. */
const networkArb: fc.Arbitrary<Network> = fc
  .record({
    nIdx: fc.integer({ min: 53, max: 500 }),
    nOps: fc.integer({ min: 2, max: 130 }),
    seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  })
  .map(({ nIdx, nOps, seed }) => {
    let s = seed;
    const next = (n: number): number => {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      return Math.floor((s / 2 ** 32) * n);
    };
    const inputs: number[][] = Array.from({ length: nOps }, () => []);
    const holders: number[][] = [];
    for (let i = 0; i < nIdx; i++) {
      const a = next(nOps);
      const h = [a];
      if (next(3) > 0) {
        const b = next(nOps);
        if (b !== a) h.push(b);
      }
      for (const t of h) inputs[t]!.push(i);
      holders.push(h);
    }
    // Shuffle each operand's axis order.
    for (const term of inputs) {
      for (let k = term.length - 1; k > 0; k--) {
        const j = next(k + 1);
        [term[k], term[j]] = [term[j]!, term[k]!];
      }
    }
    const output = Array.from({ length: nIdx }, (_, i) => i).filter(() => next(12) === 0);
    // Sizes 1, except up to 10 indices of size 2 or 3 (so that the oracle's full loop stays small).
    const sizes = Array.from({ length: nIdx }, () => 1);
    for (let k = 0; k < 10; k++) sizes[next(nIdx)] = 2 + next(2);
    // Distinct non-ASCII characters from U+00C0..U+2FFF (not whitespace), in random order.
    const pool: string[] = [];
    for (let cp = 0xc0; pool.length < nIdx * 4 && cp < 0x3000; cp++) {
      const ch = String.fromCodePoint(cp);
      if (!WHITESPACE.test(ch)) pool.push(ch);
    }
    const chars: string[] = [];
    for (let i = 0; i < nIdx; i++) chars.push(pool.splice(next(pool.length), 1)[0]!);
    return { inputs, output, sizes, chars };
  });

function unicodePattern(n: Network): string {
  return `${n.inputs.map((t) => t.map((i) => n.chars[i]).join('')).join(',')}->${n.output.map((i) => n.chars[i]).join('')}`;
}

function namedPattern(n: Network): string {
  return `${n.inputs.map((t) => t.map((i) => `ax${i}`).join(' ')).join(', ')} -> ${n.output.map((i) => `ax${i}`).join(' ')}`;
}

/** Operand values from the test's own formula (no einjit code involved). */
function operandData(n: Network, k: number): { shape: number[]; data: Float64Array } {
  const shape = n.inputs[k]!.map((i) => n.sizes[i]!);
  const count = shape.reduce((p, x) => p * x, 1);
  return { shape, data: Float64Array.from({ length: count }, (_, e) => Math.sin(1 + e * 0.7 + k * 1.3)) };
}

describe('networks with 53 to 500 indices', () => {
  it('Unicode subscripts, index lists and named axes plan the same path at the same cost', () => {
    fc.assert(
      fc.property(networkArb, (n) => {
        const shapes = n.inputs.map((t) => t.map((i) => n.sizes[i]!));
        const unicode = einsumPath(unicodePattern(n), shapes, { optimize: 'greedy' });
        const lists = einsumPath({ inputs: n.inputs.map((t) => t.map((i) => `idx-${i}`)), output: n.output.map((i) => `idx-${i}`) }, shapes, { optimize: 'greedy' });
        const named = einsumPath(namedPattern(n), shapes, { optimize: 'greedy' });
        expect(lists.path).toEqual(unicode.path);
        expect(named.path).toEqual(unicode.path);
        expect(lists.cost).toBe(unicode.cost);
        expect(named.cost).toBe(unicode.cost);
        // log10Cost is the log of the same count (finite even past 10^308, where cost is Infinity).
        if (Number.isFinite(unicode.cost) && unicode.cost > 0) expect(Math.abs(unicode.log10Cost - Math.log10(unicode.cost))).toBeLessThan(1e-9);
        expect(Number.isFinite(unicode.log10Cost)).toBe(true);
        // The checked einsum has one axis per index.
        expect(checkEinsum(unicodePattern(n), shapes).axes.length).toBe(new Set(n.inputs.flat()).size);
      }),
      { numRuns: 25 },
    );
  });

  it('the three forms compute the same values as the float64 oracle', () => {
    fc.assert(
      fc.property(networkArb, (n) => {
        const dense = n.inputs.map((_, k) => operandData(n, k));
        const xs: Tensor[] = dense.map((d) => tensor(Float64Array.from(d.data), { dtype: 'float64' }).reshape(d.shape));
        const want = referenceEinsum(unicodePattern(n), dense);
        const interleaved: unknown[] = [];
        xs.forEach((x, k) => interleaved.push(x, n.inputs[k]));
        interleaved.push(n.output);
        const results = [
          einsum(unicodePattern(n), ...xs),
          einsum(...(interleaved as Parameters<typeof einsum>)),
          einsum(...xs, namedPattern(n)),
        ];
        for (const r of results) {
          expect(r.shape).toEqual(want.shape);
          const got = r.dataSync() as Float64Array;
          want.data.forEach((v, e) => expect(Math.abs(got[e]! - v)).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(v))));
        }
      }),
      { numRuns: 15 },
    );
  });

  it('reads opt_einsum-style symbols and keeps numpy errors for ASCII', () => {
    const a = tensor([[1, 2], [3, 4]]);
    const b = tensor([[5, 6], [7, 8]]);
    expect(einsum('À×,×÷->À÷', a, b).toArray()).toEqual([[19, 22], [43, 50]]);
    // Implicit output: the symbols used once, in code-point order ('À' U+00C0 before '÷' U+00F7).
    expect(einsum('À×,×÷', a, b).toArray()).toEqual([[19, 22], [43, 50]]);
    expect(einsum('÷×,×À', a, b).toArray()).toEqual([[19, 43], [22, 50]]);
    for (const bad of ['i1', 'i_', 'i$', 'i\u2003j']) expect(() => einsum(bad, tensor([[1, 2]]))).toThrow(EinjitError);
    expect(() => einsum(a, b, 'a ×, × b -> a b')).toThrow(/unknown character '×'/);
  });

  it('the sublist format: implicit output in index order, any JSON ids, and errors for what is not an index', () => {
    const a = tensor([[1, 2], [3, 4]]);
    const b = tensor([[5, 6], [7, 8]]);
    expect(einsum(a, [0, 1], b, [1, 2], [0, 2]).toArray()).toEqual([[19, 22], [43, 50]]);
    // numpy: einsum(a, [2, 1], b, [1, 0]) has the implicit output [0, 2], i.e. (a @ b).T.
    expect(einsum(a, [2, 1], b, [1, 0]).toArray()).toEqual([[19, 43], [22, 50]]);
    expect(einsum(a, [{ i: 1 }, 'j'], b, ['j', [3]], [{ i: 1 }, [3]]).toArray()).toEqual([[19, 22], [43, 50]]);
    expect(einsum(tensor([[[1, 2], [3, 4]]]), ['...', 0, 1], ['...', 1]).toArray()).toEqual([[4, 6]]);
    for (const bad of [() => einsum(a, [0, Number.NaN]), () => einsum(a, [0, 1], b), () => einsum(a, [0, undefined as unknown as number])]) {
      expect(bad).toThrow(EinjitError);
    }
  });
});
