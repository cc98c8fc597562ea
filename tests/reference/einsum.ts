/**
 * A naive einsum oracle, written independently of einjit's parser and planner: it reads a numpy-style pattern
 * itself and sums the product over every combination of axis values, in float64.
 */
export interface DenseArray {
  readonly shape: readonly number[];
  readonly data: ArrayLike<number>;
}

export function referenceEinsum(pattern: string, operands: readonly DenseArray[]): { shape: number[]; data: Float64Array } {
  const compact = pattern.replace(/\s+/g, '');
  const [lhs, rhsGiven] = compact.includes('->') ? compact.split('->') as [string, string] : [compact, undefined];
  const terms = lhs.split(',');
  if (terms.length !== operands.length) throw new Error('operand count');
  // Each term as a list of labels; '...' expands to '.0', '.1', ... right-aligned over the broadcast dims.
  let ellipsisRank = 0;
  terms.forEach((t, k) => {
    if (t.includes('...')) ellipsisRank = Math.max(ellipsisRank, operands[k]!.shape.length - t.replace('...', '').length);
  });
  const ell = Array.from({ length: ellipsisRank }, (_, i) => `.${i}`);
  const expand = (t: string, rank: number): string[] => {
    if (!t.includes('...')) return [...t];
    const [a, b] = t.split('...') as [string, string];
    const n = rank - a.length - b.length;
    return [...a, ...ell.slice(ellipsisRank - n), ...b];
  };
  const labels = terms.map((t, k) => expand(t, operands[k]!.shape.length));
  let out: string[];
  if (rhsGiven === undefined) {
    const counts = new Map<string, number>();
    for (const l of labels) for (const c of l) if (!c.startsWith('.')) counts.set(c, (counts.get(c) ?? 0) + 1);
    const once = [...counts].filter(([, n]) => n === 1).map(([c]) => c).sort();
    out = [...(terms.some((t) => t.includes('...')) ? ell : []), ...once];
  } else {
    out = expand(rhsGiven, rhsGiven.replace('...', '').length + (rhsGiven.includes('...') ? ellipsisRank : 0));
  }
  // Sizes: the largest size seen (size 1 broadcasts).
  const size = new Map<string, number>();
  labels.forEach((ls, k) => ls.forEach((c, d) => {
    const n = operands[k]!.shape[d]!;
    const prev = size.get(c);
    if (prev === undefined || prev === 1) size.set(c, n);
    else if (n !== 1 && n !== prev) throw new Error(`size mismatch for ${c}`);
  }));
  for (const c of out) if (!size.has(c)) size.set(c, 1);
  const all = [...size.keys()];
  const outShape = out.map((c) => size.get(c)!);
  const result = new Float64Array(outShape.reduce((a, b) => a * b, 1));
  const strides = operands.map((o) => {
    const s: number[] = new Array(o.shape.length);
    let acc = 1;
    for (let d = o.shape.length - 1; d >= 0; d--) { s[d] = acc; acc *= o.shape[d]!; }
    return s;
  });
  const value = new Map<string, number>(all.map((c) => [c, 0]));
  const total = all.reduce((n, c) => n * size.get(c)!, 1);
  for (let idx = 0; idx < total; idx++) {
    let rem = idx;
    for (let i = all.length - 1; i >= 0; i--) {
      const c = all[i]!;
      const n = size.get(c)!;
      value.set(c, rem % n);
      rem = Math.floor(rem / n);
    }
    let prod = 1;
    operands.forEach((o, k) => {
      let at = 0;
      labels[k]!.forEach((c, d) => { at += (o.shape[d] === 1 ? 0 : value.get(c)!) * strides[k]![d]!; });
      prod *= o.data[at]!;
    });
    let o = 0;
    out.forEach((c) => { o = o * size.get(c)! + value.get(c)!; });
    result[o] = result[o]! + prod;
  }
  return { shape: outShape, data: result };
}
