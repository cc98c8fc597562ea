/**
 * A float64 einsum written out as loops, for tests that check einjit's einsum against something independent of it:
 * every index assignment visited, the product of the operands' values summed into the output element.
 */

/** The input terms and the output term of an explicit numpy-style pattern ('ij,jk->ik'). */
export const termsOf = (pattern: string): { inputs: string[]; output: string } => {
  const [lhs, output] = pattern.split('->') as [string, string];
  return { inputs: lhs.split(','), output };
};

/** Σ over every index assignment of Π operands, in float64, from the operands' values read as nested indices. */
export function reference(pattern: string, sizes: Record<string, number>, values: readonly ((idx: number[]) => number)[]): Float64Array {
  const { inputs, output } = termsOf(pattern);
  const letters = [...new Set([...inputs.join(''), ...output])];
  const out = new Float64Array(Math.max(1, [...output].reduce((n, c) => n * sizes[c]!, 1)));
  const at: Record<string, number> = {};
  const walk = (d: number): void => {
    if (d === letters.length) {
      let p = 1;
      inputs.forEach((term, k) => { p *= values[k]!([...term].map((c) => at[c]!)); });
      let flat = 0;
      for (const c of output) flat = flat * sizes[c]! + at[c]!;
      out[flat]! += p;
      return;
    }
    for (let v = 0; v < sizes[letters[d]!]!; v++) {
      at[letters[d]!] = v;
      walk(d + 1);
    }
  };
  walk(0);
  return out;
}
