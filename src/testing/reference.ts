/**
 * A naive einsum oracle, written independently of einjit's parser, planner and kernels: it reads the pattern
 * itself and sums the product of the operands over every combination of axis values, in float64, with plain
 * loops. It is slow on purpose (the cost is the product of every axis length) and meant for small cases.
 */
import { EinjitError } from '../errors.js';
import { Tensor } from '../runtime/tensor.js';

/** Row-major values with their shape: what the oracle reads and returns. */
export interface DenseArray {
  readonly shape: readonly number[];
  readonly data: ArrayLike<number>;
}

export interface ReferenceEinsumOptions {
  /**
   * How to read the pattern: 'numpy' (one character per axis, `'bij,bjk->bik'`, implicit output allowed; the form
   * `einsum(pattern, ...operands)` takes) or 'einops' (space-separated names, `'b i j, b j k -> b i k'`, output
   * required; the form `einsum(...operands, pattern)` takes). Default 'numpy'.
   */
  readonly syntax?: 'numpy' | 'einops';
}

/** A CPU tensor's values (row-major) or a dense array as it is. */
export function dense(x: Tensor | DenseArray, op = 'referenceEinsum'): DenseArray {
  if (x instanceof Tensor) {
    if (x.device !== 'cpu') {
      throw new EinjitError(`${op} reads tensors synchronously, but this one is on '${x.device}'`, {
        op, hint: "move it first: await t.to('cpu')",
      });
    }
    return { shape: x.shape.slice(), data: x.dataSync() };
  }
  if (x === null || typeof x !== 'object' || !Array.isArray(x.shape) || x.data === undefined) {
    throw new EinjitError('expected a Tensor or { shape, data }', { op, hint: 'pass a CPU tensor or a row-major array with its shape' });
  }
  return x;
}

function fail(reason: string, pattern: string): EinjitError {
  return new EinjitError(reason, { op: 'referenceEinsum', pattern, hint: 'the oracle takes valid einsum patterns only' });
}

/** One term as a list of labels, with '...' kept as one item. */
function readTerm(term: string, syntax: 'numpy' | 'einops', pattern: string): string[] {
  if (syntax === 'einops') {
    if (/[()]/.test(term)) throw fail('the oracle does not compose axes (parentheses)', pattern);
    return term.split(/\s+/).filter((w) => w.length > 0).flatMap((w) => {
      if (w === '...') return ['...'];
      if (w.includes('...')) {
        const [a, b] = w.split('...') as [string, string];
        return [...(a ? [a] : []), '...', ...(b ? [b] : [])];
      }
      return [w];
    });
  }
  const text = term.replace(/\s+/g, '');
  const out: string[] = [];
  for (let i = 0; i < text.length;) {
    if (text.startsWith('...', i)) {
      out.push('...');
      i += 3;
    } else {
      const cp = text.codePointAt(i)!;
      out.push(String.fromCodePoint(cp));
      i += cp > 0xffff ? 2 : 1;
    }
  }
  return out;
}

/**
 * `einsum(pattern, ...operands)` computed with loops in float64. Operands are CPU tensors (any dtype, any
 * strides; read with dataSync) or `{ shape, data }` arrays. Size-1 axes broadcast against any length, as numpy
 * allows; '...' stands for the leading or inner axes, right-aligned across operands.
 *
 * @example
 * const want = referenceEinsum('ij,jk->ik', [a, b]);
 * assertClose(einsum('ij,jk->ik', a, b), want);
 */
export function referenceEinsum(pattern: string, operands: readonly (Tensor | DenseArray)[], options: ReferenceEinsumOptions = {}): { shape: number[]; data: Float64Array } {
  if (typeof pattern !== 'string') throw new EinjitError('the pattern must be a string', { op: 'referenceEinsum', hint: "write e.g. 'ij,jk->ik'" });
  const syntax = options.syntax ?? 'numpy';
  const ops = operands.map((o) => dense(o));
  const arrow = pattern.indexOf('->');
  const lhs = arrow < 0 ? pattern : pattern.slice(0, arrow);
  const rhs = arrow < 0 ? undefined : pattern.slice(arrow + 2);
  if (rhs === undefined && syntax === 'einops') throw fail("einops syntax needs an output ('->')", pattern);
  const terms = lhs.split(',').map((t) => readTerm(t, syntax, pattern));
  if (terms.length !== ops.length) throw fail(`the pattern has ${terms.length} operands but ${ops.length} were given`, pattern);

  // '...' expands to labels '.0', '.1', ... right-aligned over the broadcast dims.
  let ellipsisRank = 0;
  terms.forEach((t, k) => {
    if (t.includes('...')) ellipsisRank = Math.max(ellipsisRank, ops[k]!.shape.length - (t.length - 1));
  });
  const ell = Array.from({ length: ellipsisRank }, (_, i) => `.${i}`);
  const expand = (t: readonly string[], rank: number): string[] => {
    const at = t.indexOf('...');
    if (at < 0) return t.slice();
    const n = rank - (t.length - 1);
    if (n < 0) throw fail('an operand has fewer dimensions than its term names', pattern);
    return [...t.slice(0, at), ...ell.slice(ellipsisRank - n), ...t.slice(at + 1)];
  };
  const labels = terms.map((t, k) => {
    const ls = expand(t, ops[k]!.shape.length);
    if (ls.length !== ops[k]!.shape.length) throw fail(`operand ${k} has ${ops[k]!.shape.length} dimensions but its term names ${ls.length}`, pattern);
    return ls;
  });
  let out: string[];
  if (rhs === undefined) {
    const counts = new Map<string, number>();
    for (const l of terms) for (const c of l) if (c !== '...') counts.set(c, (counts.get(c) ?? 0) + 1);
    const once = [...counts].filter(([, n]) => n === 1).map(([c]) => c).sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
    out = [...(terms.some((t) => t.includes('...')) ? ell : []), ...once];
  } else {
    const r = readTerm(rhs, syntax, pattern);
    out = expand(r, r.length - (r.includes('...') ? 1 : 0) + (r.includes('...') ? ellipsisRank : 0));
  }

  // Sizes: the largest size seen (size 1 broadcasts).
  const size = new Map<string, number>();
  labels.forEach((ls, k) => ls.forEach((c, d) => {
    const n = ops[k]!.shape[d]!;
    const prev = size.get(c);
    if (prev === undefined || prev === 1) size.set(c, n);
    else if (n !== 1 && n !== prev) throw fail(`axis '${c}' has lengths ${prev} and ${n}`, pattern);
  }));
  for (const c of out) {
    if (!size.has(c)) throw fail(`the output axis '${c}' is in no operand`, pattern);
  }
  const all = [...size.keys()];
  const outShape = out.map((c) => size.get(c)!);
  const result = new Float64Array(outShape.reduce((a, b) => a * b, 1));
  const strides = ops.map((o) => {
    const s: number[] = new Array<number>(o.shape.length);
    let acc = 1;
    for (let d = o.shape.length - 1; d >= 0; d--) {
      s[d] = acc;
      acc *= o.shape[d]!;
    }
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
    ops.forEach((o, k) => {
      let at = 0;
      labels[k]!.forEach((c, d) => { at += (o.shape[d] === 1 ? 0 : value.get(c)!) * strides[k]![d]!; });
      prod *= Number(o.data[at]!);
    });
    let o = 0;
    out.forEach((c) => { o = o * size.get(c)! + value.get(c)!; });
    result[o] = result[o]! + prod;
  }
  return { shape: outShape, data: result };
}
