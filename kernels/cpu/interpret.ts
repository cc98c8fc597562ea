/**
 * LoopSpecs without generated code: where the page's Content-Security-Policy refuses `new Function` (no
 * 'unsafe-eval'), `compileLoop` returns a kernel built here instead. The expression becomes a tree of closures,
 * built once per spec; the loop nest is walked with an odometer over the same parameter array the generated
 * kernels read (`loopParams`). The arithmetic is the generated kernels' own, operation for operation: each op's
 * row in the op table (ops.ts) holds the generated source beside the function called here; int32 products use
 * `Math.imul`, max/min and argmax/argmin follow the same NaN rules, and floating-point sums use the same pairwise
 * order (one accumulator up to SHORT_SUM points, else blocks of SUM_BLOCK points on 8 accumulators combined
 * through a binary counter), so an interpreted kernel gives the generated kernel's results, only slower.
 * tests/kernels/interpret.test.ts holds the two to that; a change to the generated kernels' arithmetic needs the
 * same change here.
 */
import type { DType, Expr, LoopSpec } from '../../src/lower/spec.js';
import { loopConstants } from '../../src/lower/spec.js';
import { CAST, SHORT_SUM, SUM_BLOCK, UNARY, binaryIn, type LoopKernel } from './ops.js';

type Scalar = (v: Float64Array, c: readonly number[]) => number;

function expr(e: Expr, computeType: DType | undefined, slots: { next: number }): Scalar {
  switch (e.kind) {
    case 'input': {
      const i = e.index;
      return (v) => v[i]!;
    }
    case 'const': {
      const k = slots.next++;
      return (_v, c) => c[k]!;
    }
    case 'unary': {
      const a = expr(e.arg, computeType, slots);
      const f = UNARY[e.op].fn;
      return (v, c) => f(a(v, c));
    }
    case 'binary': {
      const l = expr(e.lhs, computeType, slots);
      const r = expr(e.rhs, computeType, slots);
      const f = binaryIn(e.op, computeType).fn;
      return (v, c) => f(l(v, c), r(v, c));
    }
    case 'select': {
      const cond = expr(e.cond, computeType, slots);
      const then = expr(e.then, computeType, slots);
      const otherwise = expr(e.otherwise, computeType, slots);
      return (v, c) => (cond(v, c) !== 0 ? then(v, c) : otherwise(v, c));
    }
    case 'cast': {
      // As renderExpr does: the argument of a cast is not computed in the kernel's compute type.
      const a = expr(e.arg, undefined, slots);
      if (e.to === 'float64') return a;
      const f = CAST[e.to].fn;
      return (v, c) => f(a(v, c));
    }
  }
}

type AnyArray = { [i: number]: number; readonly length: number };

/** The kernel `compileLoop` returns where generated code is refused. Same signature and parameters. */
export function interpretLoop(spec: LoopSpec): LoopKernel {
  const nLoops = spec.sizes.length;
  const nIn = spec.inputs.length;
  const parallel = spec.parallel;
  const reduced = nLoops - parallel;
  const op = reduced > 0 ? spec.reduceOp ?? 'sum' : null;
  const pairwise = op === 'sum' && (spec.computeType === 'float32' || spec.computeType === 'float64' || spec.computeType === 'float16');
  const slots = { next: 0 };
  const f = expr(spec.expr, spec.computeType, slots);
  const also = (spec.also ?? []).map((st) => ({ input: st.input, f: expr(st.expr, spec.computeType, slots) }));
  const rows = (spec.rows?.values ?? []).map((r) => ({ op: r.op, store: r.store, f: expr(r.expr, spec.computeType, slots) }));
  const outer = spec.rows?.outer ?? parallel;
  const round = CAST[spec.computeType].fn;
  const nConst = loopConstants(spec).length;
  const boolOut = spec.output.dtype === 'bool';

  return (ins: readonly AnyArray[], out: AnyArray, p: readonly number[]): void => {
    // Unpack the parameters exactly as loopParams lays them out.
    let at = 0;
    const n = p.slice(at, (at += nLoops));
    const xo: number[] = [];
    const xs: number[][] = [];
    for (let k = 0; k < nIn; k++) {
      xo.push(p[at++]!);
      xs.push(p.slice(at, (at += nLoops)));
    }
    const oo = p[at++]!;
    const os = p.slice(at, (at += parallel));
    const consts = p.slice(at, at + nConst);
    const v = new Float64Array(nIn + rows.length);
    const idx = new Array<number>(nLoops).fill(0);
    const store = (o: number, x: number): void => {
      out[o] = boolOut ? (x !== 0 ? 1 : 0) : x;
    };
    // Value of the expression at the point whose input positions are ptr.
    const ptr = new Array<number>(nIn).fill(0);
    const valueAt = (): number => {
      for (let k = 0; k < nIn; k++) v[k] = ins[k]![ptr[k]!]!;
      return f(v, consts);
    };
    // Positions of the inputs at the current reduce point, from the current parallel base.
    const base = new Array<number>(nIn).fill(0);
    const setPtr = (): void => {
      for (let k = 0; k < nIn; k++) {
        let q = base[k]!;
        for (let d = parallel; d < nLoops; d++) q += idx[d]! * xs[k]![d]!;
        ptr[k] = q;
      }
    };
    const outerTotal = n.slice(0, parallel).reduce((a, b) => a * b, 1);
    if (outerTotal === 0) return;
    const innerSizes = n.slice(parallel);
    const innerTotal = innerSizes.reduce((a, b) => a * b, 1);
    const rowTotal = n.slice(outer).reduce((a, b) => a * b, 1);
    // The row values (LoopSpec.rows) of the row that starts at the current point (its loops from `outer` at 0):
    // each folded in the order the generated kernel folds it, rounded to the compute type, kept after the inputs.
    const rowValues = (): void => {
      rows.forEach((row, j) => {
        let acc = row.op === 'prod' ? 1 : row.op === 'max' ? -Infinity : row.op === 'min' ? Infinity : 0;
        for (let t = 0; t < rowTotal; t++) {
          for (let k = 0; k < nIn; k++) {
            let q = base[k]!;
            for (let d = outer; d < nLoops; d++) q += idx[d]! * xs[k]![d]!;
            v[k] = ins[k]![q]!;
          }
          acc = foldOne(row.op, acc, row.f(v, consts), spec.computeType);
          advance(idx, outer, nLoops, n);
        }
        v[nIn + j] = round(acc);
        // RowValue.store: at the row's first point (its loops from `outer` at 0, where base points).
        if (row.store !== undefined) ins[row.store]![base[row.store]!] = v[nIn + j]!;
      });
    };
    // Odometer over the parallel loops.
    for (let d = 0; d < parallel; d++) idx[d] = 0;
    for (let t = 0; t < outerTotal; t++) {
      let o = oo;
      for (let d = 0; d < parallel; d++) o += idx[d]! * os[d]!;
      for (let k = 0; k < nIn; k++) {
        let q = xo[k]!;
        for (let d = 0; d < parallel; d++) q += idx[d]! * xs[k]![d]!;
        base[k] = q;
      }
      if (rows.length > 0 && idx.slice(outer, parallel).every((i) => i === 0)) rowValues();
      if (op === null) {
        setPtr();
        const x = valueAt();
        // Further stores into inputs (LoopSpec.also), from the values loaded above.
        if (also.length > 0) {
          const w = also.map((st) => st.f(v, consts));
          also.forEach((st, j) => { ins[st.input]![ptr[st.input]!] = w[j]!; });
        }
        store(o, x);
      } else if (pairwise && innerTotal > SHORT_SUM) {
        store(o, pairwiseFold(n, parallel, nLoops, idx, setPtr, valueAt, innerTotal));
      } else {
        const r = fold(op, idx, parallel, nLoops, n, setPtr, valueAt, innerTotal, spec.computeType);
        // The generated kernels store an arg index as it is, and every other fold through storeValue.
        if (op === 'argmax' || op === 'argmin') out[o] = r;
        else store(o, r);
      }
      for (let d = parallel - 1; d >= 0; d--) {
        if (++idx[d]! < n[d]!) break;
        idx[d] = 0;
      }
    }
  };
}

/** One step of a row value's fold (the generated kernels' reduceFold). */
function foldOne(op: string, acc: number, v: number, computeType: DType): number {
  switch (op) {
    case 'sum': return acc + v;
    case 'prod': return computeType === 'int32' ? Math.imul(acc, v) : acc * v;
    case 'max': return v > acc || v !== v ? v : acc;
    case 'min': return v < acc || v !== v ? v : acc;
    default: throw new Error(`not a row op: ${op}`);
  }
}

function advance(idx: number[], from: number, to: number, n: readonly number[]): void {
  for (let d = to - 1; d >= from; d--) {
    if (++idx[d]! < n[d]!) return;
    idx[d] = 0;
  }
}

function fold(op: string, idx: number[], parallel: number, nLoops: number, n: readonly number[], setPtr: () => void,
  valueAt: () => number, total: number, computeType: DType): number {
  for (let d = parallel; d < nLoops; d++) idx[d] = 0;
  let acc = op === 'prod' || op === 'all' ? 1 : op === 'max' ? -Infinity : op === 'min' ? Infinity : 0;
  let best = op === 'argmin' ? Infinity : -Infinity;
  let bi = 0;
  for (let r = 0; r < total; r++) {
    setPtr();
    const v = valueAt();
    switch (op) {
      case 'sum': acc += v; break;
      case 'prod': acc = computeType === 'int32' ? Math.imul(acc, v) : acc * v; break;
      case 'max': if (v > acc || v !== v) acc = v; break;
      case 'min': if (v < acc || v !== v) acc = v; break;
      case 'argmax': if (v > best || (v !== v && best === best)) { best = v; bi = r; } break;
      case 'argmin': if (v < best || (v !== v && best === best)) { best = v; bi = r; } break;
      case 'any': if (v !== 0) acc = 1; break;
      case 'all': if (v === 0) acc = 0; break;
    }
    advance(idx, parallel, nLoops, n);
  }
  return op === 'argmax' || op === 'argmin' ? bi : acc;
}

/** The generated kernels' pairwise sum: the same blocks, accumulators and binary counter. */
function pairwiseFold(n: readonly number[], parallel: number, nLoops: number, idx: number[], setPtr: () => void,
  valueAt: () => number, total: number): number {
  const L = nLoops - 1;
  const inner = n[L]!;
  const stk: number[] = [];
  let blocks = 0;
  for (let d = parallel; d < nLoops; d++) idx[d] = 0;
  const outer = inner === 0 ? 0 : total / inner;
  for (let t = 0; t < outer; t++) {
    for (let b0 = 0; b0 < inner; b0 += SUM_BLOCK) {
      const bn = Math.min(SUM_BLOCK, inner - b0);
      const a = [0, 0, 0, 0, 0, 0, 0, 0];
      let i = 0;
      for (; i + 8 <= bn; i += 8) {
        for (let j = 0; j < 8; j++) {
          idx[L] = b0 + i + j;
          setPtr();
          a[j]! += valueAt();
        }
      }
      for (; i < bn; i++) {
        idx[L] = b0 + i;
        setPtr();
        a[0]! += valueAt();
      }
      let s = ((a[0]! + a[1]!) + (a[2]! + a[3]!)) + ((a[4]! + a[5]!) + (a[6]! + a[7]!));
      for (let k = blocks++; (k & 1) === 1; k >>>= 1) s = stk.pop()! + s;
      stk.push(s);
    }
    idx[L] = inner - 1;
    advance(idx, parallel, nLoops, n);
  }
  let acc = 0;
  while (stk.length > 0) acc += stk.pop()!;
  return acc;
}
