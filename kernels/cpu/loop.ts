/**
 * Renders a LoopSpec to a specialised JavaScript function and runs it.
 *
 * The loop structure (how many loops, which are reduced, which operands, the expression) is baked into the
 * source; extents, strides, offsets and the expression's constants arrive in a parameter array, so one compiled
 * function serves every shape and every constant with the same `specKey`. Each loop level walks every operand by
 * adding its stride, so the innermost body is a handful of loads, the expression and one store or fold.
 *
 * Floating-point sums are pairwise, as numpy's are: the innermost reduce loop is cut into blocks of
 * SUM_BLOCK points summed by 8 interleaved accumulators, and block sums are combined pairwise through a binary
 * counter (a stack of pending partial sums), across every reduce loop. The rounding error of a sum of n terms is
 * then at most about (SUM_BLOCK / 8 + 2·log2(n / SUM_BLOCK)) · eps · Σ|x| instead of n · eps · Σ|x|.
 */
import { EinjitError } from '../../src/errors.js';
import type { DType, Expr, LoopSpec, ReduceOp } from '../../src/lower/spec.js';
import { loopConstants, specKey } from '../../src/lower/spec.js';
import { transposeDims, type TransposeDims } from '../../src/lower/loops.js';
import { LruCache } from '../../src/util/lru.js';
import { codegenAllowed, wasmAllowed } from '../../src/platform/index.js';
import { interpretLoop } from './interpret.js';
import { forEachPoint } from './odometer.js';
import { runWasmTranspose, transposeSource, wasmTransposeApplies } from './transpose.js';
import { CAST, SHORT_SUM, SUM_BLOCK, UNARY, binaryIn, scalarHelpers as helpers, type AnyArray, type LoopKernel } from './ops.js';

/**
 * The parameter array a kernel reads: extents, then each input's offset and strides, then the output's, then
 * the expression's constants (exprConstants order; float64 values, so a float64 kernel sees them exactly).
 */
export function loopParams(spec: LoopSpec): number[] {
  const p: number[] = [...spec.sizes];
  const nLoops = spec.sizes.length;
  spec.inputs.forEach((a, k) => p.push(a.offset, ...checkedStrides(a, nLoops, `input ${k}`, spec)));
  p.push(spec.output.offset, ...checkedStrides(spec.output, spec.parallel, 'the output', spec));
  loopConstants(spec, p);
  return p;
}

/**
 * An access's first `n` strides, refused unless it has them all and they and its offset are integers: the kernel
 * unpacks exactly `n` per access, and a missing or fractional one would shift or corrupt every address after it.
 */
function checkedStrides(a: LoopSpec['output'], n: number, what: string, spec: LoopSpec): readonly number[] {
  const strides = a.strides.slice(0, n);
  if (strides.length < n || !Number.isSafeInteger(a.offset) || strides.some((s) => !Number.isSafeInteger(s))) {
    throw new EinjitError(`${what} of '${spec.label}' has offset ${a.offset} and strides [${a.strides.join(', ')}] for ${n} loops`, {
      op: 'loop', hint: 'this is a bug in the caller of the backend',
    });
  }
  return strides;
}

/** Whether the spec's reduction is a floating-point sum, which the kernel sums pairwise. */
function pairwiseSum(spec: LoopSpec): boolean {
  return spec.parallel < spec.sizes.length && (spec.reduceOp ?? 'sum') === 'sum' &&
    (spec.computeType === 'float32' || spec.computeType === 'float64' || spec.computeType === 'float16');
}

/** Edge of the square blocks the transpose kernel copies (64×64 elements: 16 KiB of float32 on each side). */
export const TRANSPOSE_BLOCK = 64;
/** Both blocked loops must be at least this long; shorter ones gain nothing from blocking. */
const TRANSPOSE_MIN_EXTENT = 8;

/** The two loops a blocked transpose walks: `a` (input stride 1) and `b` (output stride 1). */
/** Where a spec is a permute the CPU copies in blocks (see transposeDims). */
export function cpuTransposeDims(spec: LoopSpec): TransposeDims | null {
  return (spec.also?.length ?? 0) > 0 || spec.rows !== undefined ? null : transposeDims(spec, TRANSPOSE_MIN_EXTENT);
}

/** How the CPU runs this loop spec, for explain(): which of the kernels below. */
export function loopKernelKind(spec: LoopSpec): string {
  const dims = cpuTransposeDims(spec);
  if (dims === null) return '';
  return wasmTransposeApplies(spec, dims) ? ', Wasm SIMD 4x4-tile transpose' : ', cache-blocked transpose';
}

/**
 * What runs for this spec: the generated JavaScript, preceded by the Wasm transpose's listing where a permute runs
 * there (the JavaScript then serves views whose input and output share memory).
 */
export function loopSource(spec: LoopSpec): string {
  const js = renderLoop(spec);
  if (!wasmTransposeApplies(spec, cpuTransposeDims(spec))) return js;
  return `// ${spec.label}: a permute of 4-byte elements, run by the WebAssembly SIMD kernel below (kernels/cpu/transpose.ts)\n` +
    '// on chunks copied in and out of its own memory; the JavaScript after it runs when input and output share memory.\n' +
    `${transposeSource().replace(/^/gm, ';; ')}\n${js}`;
}

/**
 * Readable JavaScript for this spec, with a header naming what it computes. With `hoist` (see hoisting()),
 * subexpressions that do not change over the inner loops are computed once where they stop changing.
 */
export function renderLoop(spec: LoopSpec, hoist = true): string {
  const dims = cpuTransposeDims(spec);
  if (dims !== null) return renderTranspose(spec, dims);
  const nLoops = spec.sizes.length;
  const nIn = spec.inputs.length;
  const lines: string[] = [];
  const reduced = nLoops - spec.parallel;
  lines.push(`// einjit CPU kernel: ${spec.label}`);
  lines.push(
    `// ${nLoops} loop${nLoops === 1 ? '' : 's'}: ${spec.parallel} over the output` +
      (reduced > 0 ? `, ${reduced} folded with ${spec.reduceOp}` : '') +
      `; ${spec.inputs.map((a, k) => `x${k}: ${a.dtype}`).join(', ') || 'no inputs'} -> out: ${spec.output.dtype}` +
      ` (computed in ${spec.computeType})`,
  );
  if (spec.rows !== undefined) {
    lines.push(`// row values v${nIn}..v${nIn + spec.rows.values.length - 1}: ${spec.rows.values.map((r) => r.op).join(', ')} over loops ${spec.rows.outer}.. per point of the loops before`);
  }
  // Unpack parameters.
  let at = 0;
  const decl: string[] = [];
  for (let d = 0; d < nLoops; d++) decl.push(`n${d} = p[${at++}]`);
  for (let k = 0; k < nIn; k++) {
    decl.push(`x${k} = ins[${k}]`, `x${k}o = p[${at++}]`);
    for (let d = 0; d < nLoops; d++) decl.push(`x${k}s${d} = p[${at++}]`);
  }
  decl.push(`oo = p[${at++}]`);
  for (let d = 0; d < spec.parallel; d++) decl.push(`os${d} = p[${at++}]`);
  const nConst = loopConstants(spec).length;
  for (let c = 0; c < nConst; c++) decl.push(`c${c} = p[${at++}]`);
  lines.push(`const ${decl.join(', ')};`);
  const ptr = (k: number, d: number): string => (d < 0 ? `x${k}o` : `x${k}_${d}`);
  const outer = spec.rows?.outer ?? spec.parallel;
  // Constants are numbered in traversal order (expr, also, rows), whether or not a subexpression is hoisted.
  const slots = { next: 0 };
  const plan = hoist ? hoisting(spec) : null;
  const defs: HoistedDef[] = [];
  const hoister = (rowValuesAvailable: boolean): ExprVisitor | undefined => (plan === null ? undefined : (e, computeType) => {
    if (e.kind === 'input' || e.kind === 'const') return null;
    const depth = plan.depth(e);
    if (depth > outer || depth >= nLoops) return null;
    const readsRows = plan.readsRows(e);
    if (readsRows && !rowValuesAvailable) return null;
    // The whole subtree is computed where its last varying loop is open: its inputs are read there.
    const load: ExprVisitor = (x) => (x.kind === 'input' && x.index < nIn ? `x${x.index}[${ptr(x.index, depth - 1)}]` : null);
    const name = `h${defs.length}`;
    defs.push({ name, depth, afterRows: readsRows, source: renderExpr(e, computeType, slots, load) });
    return name;
  });
  const exprSource = renderExpr(spec.expr, spec.computeType, slots, hoister(true));
  const alsoSources = (spec.also ?? []).map((st) => renderExpr(st.expr, spec.computeType, slots, hoister(true)));
  const rowSources = (spec.rows?.values ?? []).map((r) => renderExpr(r.expr, spec.computeType, slots, hoister(false)));

  const optr = (d: number): string => (d < 0 ? 'oo' : `o_${d}`);
  const indent = (depth: number): string => '  '.repeat(depth);
  const reduceOp = reduced > 0 ? spec.reduceOp ?? 'sum' : null;
  const isArg = reduceOp === 'argmax' || reduceOp === 'argmin';

  const body: string[] = [];
  const emitLoop = (d: number, depth: number): void => {
    const inits = [`i${d} = 0`];
    const steps = [`i${d}++`];
    for (let k = 0; k < nIn; k++) {
      inits.push(`${ptr(k, d)} = ${ptr(k, d - 1)}`);
      steps.push(`${ptr(k, d)} += x${k}s${d}`);
    }
    if (d < spec.parallel) {
      inits.push(`${optr(d)} = ${optr(d - 1)}`);
      steps.push(`${optr(d)} += os${d}`);
    }
    body.push(`${indent(depth)}for (let ${inits.join(', ')}; i${d} < n${d}; ${steps.join(', ')}) {`);
  };
  const emitValue = (lastLoop: number, depth: number): void => {
    for (let k = 0; k < nIn; k++) body.push(`${indent(depth)}const v${k} = x${k}[${ptr(k, lastLoop)}];`);
    body.push(`${indent(depth)}const v = ${exprSource};`);
  };

  let depth = 0;
  // Hoisted values: each where the last loop it varies over is open (before the row values unless it reads them).
  const emitDefs = (at: number, afterRows: boolean): void => {
    for (const h of defs) if (h.afterRows === afterRows && (afterRows || h.depth === at)) body.push(`${indent(at)}const ${h.name} = ${h.source};`);
  };
  emitDefs(0, false);
  for (let d = 0; d < outer; d++) {
    emitLoop(d, depth++);
    emitDefs(depth, false);
  }
  // Row values (LoopSpec.rows): each folded over the row's loops, reading only the inputs its expression reads,
  // rounded to the compute type as a stored reduction would be, and read by what follows as v<inputs + j>.
  (spec.rows?.values ?? []).forEach((row, j) => {
    const name = `v${nIn + j}`;
    body.push(`${indent(depth)}let ${name};`);
    body.push(`${indent(depth)}{`);
    let at = depth + 1;
    body.push(`${indent(at)}${reduceInit(row.op)}`);
    for (let d = outer; d < nLoops; d++) emitLoop(d, at++);
    const used = new Set<number>();
    inputsOf(row.expr, used);
    for (const k of [...used].filter((k) => k < nIn).sort((a, b) => a - b)) body.push(`${indent(at)}const v${k} = x${k}[${ptr(k, nLoops - 1)}];`);
    body.push(`${indent(at)}const v = ${rowSources[j]};`);
    body.push(`${indent(at)}${reduceFold(row.op, spec.computeType)}`);
    while (at > depth + 1) body.push(`${indent(--at)}}`);
    body.push(`${indent(at)}${name} = ${CAST[spec.computeType].js('acc')};`);
    // RowValue.store: the value written once per row too, where the row's first point reads that input.
    if (row.store !== undefined) body.push(`${indent(at)}x${row.store}[${ptr(row.store, outer - 1)}] = ${name};`);
    body.push(`${indent(depth)}}`);
  });
  emitDefs(depth, true);
  for (let d = outer; d < spec.parallel; d++) emitLoop(d, depth++);
  const outPtr = optr(spec.parallel - 1);
  if (reduceOp === null) {
    emitValue(nLoops - 1, depth);
    // Further stores into inputs (LoopSpec.also): every value from the loads above, then the stores.
    alsoSources.forEach((src, j) => body.push(`${indent(depth)}const w${j} = ${src};`));
    (spec.also ?? []).forEach((st, j) => body.push(`${indent(depth)}x${st.input}[${ptr(st.input, nLoops - 1)}] = w${j};`));
    body.push(`${indent(depth)}out[${outPtr}] = ${storeValue('v', spec)};`);
  } else if (pairwiseSum(spec)) {
    // Blocks of SUM_BLOCK points of the innermost reduce loop, 8 accumulators each; block sums go through a
    // binary counter: block b is added to the pending sums of the blocks it completes a power-of-two run with.
    // Reductions of at most SHORT_SUM points take one plain accumulator: as exact, without the block set-up.
    lines.push('// stk: pending block sums, one per set bit of the block count (a Float64Array(64) made once per kernel)');
    const reduceExtents = Array.from({ length: nLoops - spec.parallel }, (_, j) => `n${spec.parallel + j}`);
    lines.push(`const fewPoints = ${reduceExtents.join(' * ')} <= ${SHORT_SUM};`);
    body.push(`${indent(depth++)}if (fewPoints) {`);
    body.push(`${indent(depth)}let acc = 0;`);
    const base = depth;
    for (let d = spec.parallel; d < nLoops; d++) emitLoop(d, depth++);
    emitValue(nLoops - 1, depth);
    body.push(`${indent(depth)}acc += v;`);
    while (depth > base) body.push(`${indent(--depth)}}`);
    body.push(`${indent(depth)}out[${outPtr}] = ${storeValue('acc', spec)};`);
    body.push(`${indent(depth - 1)}} else {`);
    body.push(`${indent(depth)}let top = 0, blocks = 0;`);
    for (let d = spec.parallel; d < nLoops - 1; d++) emitLoop(d, depth++);
    const L = nLoops - 1;
    const inits = ['b0 = 0'];
    for (let k = 0; k < nIn; k++) inits.push(`${ptr(k, L)} = ${ptr(k, L - 1)}`);
    body.push(`${indent(depth++)}for (let ${inits.join(', ')}; b0 < n${L}; b0 += ${SUM_BLOCK}) {`);
    body.push(`${indent(depth)}const bn = n${L} - b0 < ${SUM_BLOCK} ? n${L} - b0 : ${SUM_BLOCK};`);
    body.push(`${indent(depth)}let a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0, i = 0;`);
    const point = (acc: string, at: number): void => {
      body.push(`${indent(at)}{`);
      emitValue(L, at + 1);
      body.push(`${indent(at + 1)}${acc} += v;${Array.from({ length: nIn }, (_, k) => ` ${ptr(k, L)} += x${k}s${L};`).join('')}`);
      body.push(`${indent(at)}}`);
    };
    body.push(`${indent(depth)}for (; i + 8 <= bn; i += 8) {`);
    for (let j = 0; j < 8; j++) point(`a${j}`, depth + 1);
    body.push(`${indent(depth)}}`);
    body.push(`${indent(depth)}for (; i < bn; i++) {`);
    point('a0', depth + 1);
    body.push(`${indent(depth)}}`);
    body.push(`${indent(depth)}let s = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7));`);
    body.push(`${indent(depth)}for (let k = blocks++; (k & 1) === 1; k >>>= 1) s = stk[--top] + s;`);
    body.push(`${indent(depth)}stk[top++] = s;`);
    body.push(`${indent(--depth)}}`);
    for (let d = nLoops - 2; d >= spec.parallel; d--) body.push(`${indent(--depth)}}`);
    body.push(`${indent(depth)}let acc = 0;`);
    body.push(`${indent(depth)}while (top > 0) acc += stk[--top];`);
    body.push(`${indent(depth)}out[${outPtr}] = ${storeValue('acc', spec)};`);
    body.push(`${indent(--depth)}}`);
  } else {
    body.push(`${indent(depth)}${reduceInit(reduceOp)}`);
    for (let d = spec.parallel; d < nLoops; d++) emitLoop(d, depth++);
    emitValue(nLoops - 1, depth);
    body.push(`${indent(depth)}${reduceFold(reduceOp, spec.computeType)}`);
    if (isArg) body.push(`${indent(depth)}r++;`);
    for (let d = nLoops - 1; d >= spec.parallel; d--) body.push(`${indent(--depth)}}`);
    body.push(`${indent(depth)}out[${outPtr}] = ${isArg ? 'bi' : storeValue('acc', spec)};`);
  }
  for (let d = spec.parallel - 1; d >= 0; d--) body.push(`${indent(--depth)}}`);
  lines.push(...body);
  return lines.join('\n');
}

/**
 * A cache-blocked transpose: the loops other than a and b walk as in the generic kernel; a and b are cut into
 * TRANSPOSE_BLOCK × TRANSPOSE_BLOCK blocks, so the input rows a block reads (along a) stay in L1 while it writes
 * output rows (along b); inside a block, 4×4 tiles are read into locals and written transposed.
 */
function renderTranspose(spec: LoopSpec, { a, b }: TransposeDims): string {
  const nLoops = spec.sizes.length;
  const B = TRANSPOSE_BLOCK;
  const lines: string[] = [];
  lines.push(`// einjit CPU kernel: ${spec.label}`);
  lines.push(
    `// blocked transpose, ${nLoops} loops: loop ${a} contiguous in the input, loop ${b} in the output, ` +
      `${B}x${B} blocks; x0: ${spec.inputs[0]!.dtype} -> out: ${spec.output.dtype} (computed in ${spec.computeType})`,
  );
  let at = 0;
  const decl: string[] = [];
  for (let d = 0; d < nLoops; d++) decl.push(`n${d} = p[${at++}]`);
  decl.push('x0 = ins[0]', `x0o = p[${at++}]`);
  for (let d = 0; d < nLoops; d++) decl.push(`x0s${d} = p[${at++}]`);
  decl.push(`oo = p[${at++}]`);
  for (let d = 0; d < nLoops; d++) decl.push(`os${d} = p[${at++}]`);
  const nConst = loopConstants(spec).length;
  for (let c = 0; c < nConst; c++) decl.push(`c${c} = p[${at++}]`);
  lines.push(`const ${decl.join(', ')};`);
  const others = Array.from({ length: nLoops }, (_, d) => d).filter((d) => d !== a && d !== b);
  const indent = (depth: number): string => '  '.repeat(depth);
  let depth = 0;
  let xPrev = 'x0o';
  let oPrev = 'oo';
  for (const d of others) {
    lines.push(`${indent(depth++)}for (let i${d} = 0, x0_${d} = ${xPrev}, o_${d} = ${oPrev}; i${d} < n${d}; i${d}++, x0_${d} += x0s${d}, o_${d} += os${d}) {`);
    xPrev = `x0_${d}`;
    oPrev = `o_${d}`;
  }
  const L = indent(depth);
  const expr = renderExpr(spec.expr, spec.computeType, { next: 0 });
  // One element: read it at input index `x`, write it at output index `o`.
  const element = (x: string, o: string): string => `{ const v0 = x0[${x}]; const v = ${expr}; out[${o}] = ${storeValue('v', spec)}; }`;
  // A 4×4 tile at input index x (rows along a, contiguous) and output index o (rows along b, contiguous): the 16
  // loads first, then the 16 stores, so the engine keeps the tile in registers (1.4× the element loop, measured).
  const tile: string[] = [];
  for (let db = 0; db < 4; db++) {
    tile.push(`const ${[0, 1, 2, 3].map((da) => `r${db}${da} = x0[x + ${da}${db > 0 ? ` + s${db}` : ''}]`).join(', ')};`);
  }
  for (let da = 0; da < 4; da++) {
    for (let db = 0; db < 4; db++) {
      const at = `o${da > 0 ? ` + t${da}` : ''}${db > 0 ? ` + ${db}` : ''}`;
      tile.push(`{ const v0 = r${db}${da}; const v = ${expr}; out[${at}] = ${storeValue('v', spec)}; }`);
    }
  }
  lines.push(
    // s1..s3: the input's steps along b; t1..t3: the output's along a.
    `const s1 = x0s${b}, s2 = 2 * s1, s3 = 3 * s1, t1 = os${a}, t2 = 2 * t1, t3 = 3 * t1;`,
  );
  lines.push(
    `${L}for (let a0 = 0; a0 < n${a}; a0 += ${B}) {`,
    `${L}  const a1 = Math.min(a0 + ${B}, n${a});`,
    `${L}  for (let b0 = 0; b0 < n${b}; b0 += ${B}) {`,
    `${L}    const b1 = Math.min(b0 + ${B}, n${b});`,
    `${L}    const b4 = b0 + ((b1 - b0) & ~3);`,
    `${L}    let ia = a0;`,
    // Four rows along a at a time: 4×4 tiles across b, then the ragged end of b element by element.
    `${L}    for (; ia + 4 <= a1; ia += 4) {`,
    `${L}      const xr = ${xPrev} + ia, or = ${oPrev} + ia * t1;`,
    `${L}      for (let ib = b0; ib < b4; ib += 4) {`,
    `${L}        const x = xr + ib * s1, o = or + ib;`,
    ...tile.map((t) => `${L}        ${t}`),
    `${L}      }`,
    `${L}      for (let ib = b4; ib < b1; ib++) {`,
    ...[0, 1, 2, 3].map((da) => `${L}        ${element(`xr + ${da} + ib * s1`, `or + ${da} * t1 + ib`)}`),
    `${L}      }`,
    `${L}    }`,
    // The last rows along a (fewer than four), element by element.
    // The input's stride along a and the output's along b are 1 (that is what chose this kernel).
    `${L}    for (; ia < a1; ia++) {`,
    `${L}      for (let ib = b0, xi = ${xPrev} + ia + b0 * s1, oi = ${oPrev} + ia * t1 + b0; ib < b1; ib++, xi += s1, oi++) {`,
    `${L}        ${element('xi', 'oi')}`,
    `${L}      }`,
    `${L}    }`,
    `${L}  }`,
    `${L}}`,
  );
  for (let k = others.length - 1; k >= 0; k--) lines.push(`${indent(k)}}`);
  return lines.join('\n');
}

/** Adds the inputs `e` reads (value-row inputs included) to `out`. */
function inputsOf(e: Expr, out: Set<number>): void {
  switch (e.kind) {
    case 'input': out.add(e.index); return;
    case 'const': return;
    case 'unary': case 'cast': inputsOf(e.arg, out); return;
    case 'binary': inputsOf(e.lhs, out); inputsOf(e.rhs, out); return;
    case 'select': inputsOf(e.cond, out); inputsOf(e.then, out); inputsOf(e.otherwise, out); return;
  }
}

function storeValue(v: string, spec: LoopSpec): string {
  // Typed-array stores round floats and wrap int32; bool outputs need an explicit 0/1.
  return spec.output.dtype === 'bool' ? `(${v} !== 0 ? 1 : 0)` : v;
}

function reduceInit(op: ReduceOp): string {
  switch (op) {
    case 'sum': return 'let acc = 0;';
    case 'prod': return 'let acc = 1;';
    case 'max': return 'let acc = -Infinity;';
    case 'min': return 'let acc = Infinity;';
    case 'argmax': return 'let best = -Infinity, bi = 0, r = 0;';
    case 'argmin': return 'let best = Infinity, bi = 0, r = 0;';
    case 'any': return 'let acc = 0;';
    case 'all': return 'let acc = 1;';
  }
}

function reduceFold(op: ReduceOp, computeType?: DType): string {
  switch (op) {
    case 'sum': return 'acc += v;';
    // int32 products wrap like two's complement (a double product past 2^53 would lose the low bits).
    case 'prod': return computeType === 'int32' ? 'acc = Math.imul(acc, v);' : 'acc *= v;';
    // NaN wins, as in PyTorch: once acc is NaN no comparison replaces it.
    case 'max': return 'if (v > acc || v !== v) acc = v;';
    case 'min': return 'if (v < acc || v !== v) acc = v;';
    // The first extreme wins ties; the first NaN wins outright.
    case 'argmax': return 'if (v > best || (v !== v && best === best)) { best = v; bi = r; }';
    case 'argmin': return 'if (v < best || (v !== v && best === best)) { best = v; bi = r; }';
    case 'any': return 'if (v !== 0) acc = 1;';
    case 'all': return 'if (v === 0) acc = 0;';
  }
}

/** Renders a node itself (returns its source) or leaves it to renderExpr (null). */
type ExprVisitor = (e: Expr, computeType: DType | undefined) => string | null;

interface HoistedDef {
  readonly name: string;
  /** How many outer loops it varies over: it is computed just inside loop `depth - 1` (before all, for 0). */
  readonly depth: number;
  /** It reads a row value, so it follows the row values (at their depth). */
  readonly afterRows: boolean;
  readonly source: string;
}

/**
 * Loop-invariant code motion. An input whose strides are zero from loop d on is the same element for the rest of
 * the nest (a broadcast: batch norm's per-channel statistics, Adam's step count), so any subexpression reading
 * only such inputs, row values and constants varies over the first `depth` loops only, and is computed once
 * there instead of at every point (jit fuses a `pow` of a [48] tensor into a [48, 8, 32] kernel; without this it
 * is 256 pows per channel). The arithmetic is the same, so results are bit for bit those of the interpreter.
 * Inputs the kernel writes (`also`, a row value's `store`) are never treated as invariant, and runLoop runs the
 * kernel without hoisting when a broadcast input shares memory with the output or a written input (a read moved
 * ahead of a write would see the old value). Null when no subexpression would move: the plain kernel is the same.
 */
function hoisting(spec: LoopSpec): Hoisting | null {
  const nLoops = spec.sizes.length;
  const nIn = spec.inputs.length;
  const outer = spec.rows?.outer ?? spec.parallel;
  // Most specs have no row values and broadcast nothing over their innermost loop: done after one look at each input.
  if (spec.rows === undefined && !spec.inputs.some((a) => nLoops > 0 && a.strides[nLoops - 1] === 0)) return null;
  const written = new Set<number>([...(spec.also ?? []).map((st) => st.input), ...(spec.rows?.values ?? []).flatMap((r) => (r.store === undefined ? [] : [r.store]))]);
  const invariantFrom = spec.inputs.map((a, k) => {
    if (written.has(k)) return nLoops;
    let d = nLoops;
    while (d > 0 && a.strides[d - 1] === 0) d--;
    return d;
  });
  const depth = (e: Expr): number => {
    switch (e.kind) {
      case 'input': return e.index < nIn ? invariantFrom[e.index]! : outer;
      case 'const': return 0;
      case 'unary': case 'cast': return depth(e.arg);
      case 'binary': return Math.max(depth(e.lhs), depth(e.rhs));
      case 'select': return Math.max(depth(e.cond), depth(e.then), depth(e.otherwise));
    }
  };
  const readsRows = (e: Expr): boolean => {
    const used = new Set<number>();
    inputsOf(e, used);
    return [...used].some((k) => k >= nIn);
  };
  const moves = (e: Expr): boolean => {
    if (e.kind === 'input' || e.kind === 'const') return false;
    const d = depth(e);
    if (d <= outer && d < nLoops) return true;
    switch (e.kind) {
      case 'unary': case 'cast': return moves(e.arg);
      case 'binary': return moves(e.lhs) || moves(e.rhs);
      case 'select': return moves(e.cond) || moves(e.then) || moves(e.otherwise);
    }
  };
  const exprs = [spec.expr, ...(spec.also ?? []).map((st) => st.expr), ...(spec.rows?.values ?? []).map((r) => r.expr)];
  if (!exprs.some(moves)) return null;
  const broadcast = invariantFrom.flatMap((d, k) => (d < nLoops ? [k] : []));
  return { depth, readsRows, broadcast, written: [...written] };
}

interface Hoisting {
  /** How many outer loops a subexpression varies over. */
  depth(e: Expr): number;
  readsRows(e: Expr): boolean;
  /** The inputs a hoisted subexpression may read (broadcast over some inner loops), and the inputs written. */
  readonly broadcast: readonly number[];
  readonly written: readonly number[];
}

/**
 * JS source for an expression; `computeType` int32 makes products wrap exactly as int32 arithmetic does. With
 * `slots`, constants read the kernel's parameters `c0, c1, ...` (numbered in exprConstants order from
 * `slots.next`); without, they are literals.
 */
function renderExpr(e: Expr, computeType?: DType, slots?: { next: number }, visit?: ExprVisitor): string {
  const named = visit?.(e, computeType);
  if (named !== undefined && named !== null) return named;
  switch (e.kind) {
    case 'input': return `v${e.index}`;
    case 'const':
      if (slots !== undefined) return `c${slots.next++}`;
      if (Number.isNaN(e.value)) return 'NaN';
      if (e.value === Infinity) return 'Infinity';
      if (e.value === -Infinity) return '(-Infinity)';
      return Object.is(e.value, -0) ? '(-0)' : e.value < 0 ? `(${e.value})` : String(e.value);
    case 'unary': return UNARY[e.op].js(renderExpr(e.arg, computeType, slots, visit));
    case 'binary': {
      const l = renderExpr(e.lhs, computeType, slots, visit);
      return binaryIn(e.op, computeType).js(l, renderExpr(e.rhs, computeType, slots, visit));
    }
    case 'select': {
      const [c, t, o] = [e.cond, e.then, e.otherwise].map((x) => renderExpr(x, computeType, slots, visit));
      return `(${c} !== 0 ? ${t} : ${o})`;
    }
    // The operand of a cast has its own type, which the spec does not state: plain JS arithmetic is exact for it.
    case 'cast': return CAST[e.to].js(renderExpr(e.arg, undefined, slots, visit));
  }
}

/** Compiled kernels kept, least recently used evicted first (a training step uses a few dozen). */
export const LOOP_KERNEL_CACHE_CAPACITY = 1024;
const cache = new LruCache<string, LoopKernel>(LOOP_KERNEL_CACHE_CAPACITY);

/** How many compiled loop kernels the cache holds (at most LOOP_KERNEL_CACHE_CAPACITY). */
export function loopKernelCacheSize(): number {
  return cache.size;
}

/**
 * Compiles (once per key) the kernel for this spec; `hoist: false` without loop-invariant code motion (see
 * hoisting(): the kernel for inputs that share memory with the output).
 */
export function compileLoop(spec: LoopSpec, hoist = true): LoopKernel {
  const dims = cpuTransposeDims(spec);
  return compileKernel(spec, dims, hoist && dims === null && hoisting(spec) !== null);
}

function compileKernel(spec: LoopSpec, dims: TransposeDims | null, moves: boolean): LoopKernel {
  // A blocked transpose bakes in which loops it blocks (chosen from the strides); a hoisting kernel, which of its
  // inputs are broadcast over which loops.
  const key = dims !== null ? `${specKey(spec)}|transpose:${dims.a},${dims.b}`
    : moves ? `${specKey(spec)}|hoist:${spec.inputs.map((a) => a.strides.map((st) => (st === 0 ? 0 : 1)).join('')).join(',')}` : specKey(spec);
  let fn = cache.get(key);
  if (fn === undefined) {
    if (codegenAllowed()) {
      const names = Object.keys(helpers);
      // Made once per compiled kernel rather than per call: kernels run synchronously and never re-enter.
      const factory = new Function(...names,
        `const stk = new Float64Array(64);\nreturn function kernel(ins, out, p) {\n${renderLoop(spec, moves)}\n};`);
      fn = factory(...names.map((n) => helpers[n as keyof typeof helpers])) as LoopKernel;
    } else {
      // A Content-Security-Policy without 'unsafe-eval': the same arithmetic, interpreted.
      fn = interpretLoop(spec);
    }
    cache.set(key, fn);
  }
  return fn;
}

/**
 * The kernel and parameters of a spec object already run, so a spec run again (a replayed call, the same step of
 * a training loop) skips the key, the cache lookup and the parameter list. Kept per spec object, with the code
 * generation setting it was compiled under.
 */
const prepared = new WeakMap<LoopSpec, {
  readonly codegen: boolean; readonly wasmOk: boolean; readonly kernel: LoopKernel; readonly params: readonly number[]; readonly empty: boolean; readonly rows: boolean;
  /** The kernel without hoisting, for inputs sharing memory with the output; absent where nothing is hoisted. */
  readonly plain: LoopKernel | null;
  /** Hoisting(): the inputs a hoisted subexpression may read, and those the kernel writes. */
  readonly broadcast: readonly number[];
  readonly written: readonly number[];
  /** The transpose loops when the permute runs on the Wasm SIMD kernel (transpose.ts). */
  readonly wasm: TransposeDims | null;
}>();

export function runLoop(spec: LoopSpec, ins: readonly AnyArray[], out: AnyArray): void {
  const codegen = codegenAllowed();
  const wasmOk = wasmAllowed();
  let p = prepared.get(spec);
  if (p === undefined || p.codegen !== codegen || p.wasmOk !== wasmOk) {
    const empty = spec.sizes.slice(0, spec.parallel).some((n) => n === 0);
    const dims = empty ? null : cpuTransposeDims(spec);
    const plan = !empty && codegen && dims === null ? hoisting(spec) : null;
    const moves = plan !== null;
    // The kernel without hoisting is compiled (or found) only when a call needs it: every eager op is a new spec.
    let plainKernel: LoopKernel | null = null;
    const plain: LoopKernel | null = moves ? (i, o, q) => (plainKernel ??= compileKernel(spec, dims, false))(i, o, q) : null;
    p = { codegen, wasmOk, kernel: empty ? () => {} : compileKernel(spec, dims, moves), plain,
      broadcast: plan?.broadcast ?? [], written: plan?.written ?? [],
      params: empty ? [] : loopParams(spec), empty, rows: !empty && isRowCopy(spec),
      wasm: wasmTransposeApplies(spec, dims) ? dims : null };
    prepared.set(spec, p);
  }
  if (p.empty) return;
  // A copy whose rows are contiguous on both sides moves each row with one TypedArray.set (a memmove) instead of
  // element by element: about 7× faster on a long row. Not when the input and output share memory: the loop's
  // forward order is what an overlapping in-place copy has always done.
  // A permute of 4-byte elements goes to the Wasm SIMD kernel, under the same condition.
  const apart = (ins[0] as RowArray | undefined)?.buffer !== (out as RowArray).buffer;
  if (p.rows && apart) copyRows(spec, ins[0] as RowArray, out as RowArray);
  else if (p.wasm !== null && apart) runWasmTranspose(spec, p.wasm, ins[0] as Float32Array | Int32Array, out as Float32Array | Int32Array);
  else if (p.plain !== null && readsWritten(p.broadcast, p.written, ins, out)) p.plain(ins, out, p.params as number[]);
  else p.kernel(ins, out, p.params as number[]);
}

/** Whether one of the `broadcast` inputs shares memory with the output or with an input the kernel writes. */
function readsWritten(broadcast: readonly number[], written: readonly number[], ins: readonly AnyArray[], out: AnyArray): boolean {
  for (const k of broadcast) {
    const buffer = (ins[k] as RowArray).buffer;
    if (buffer === (out as RowArray).buffer || written.some((w) => (ins[w] as RowArray).buffer === buffer)) return true;
  }
  return false;
}

/** The shortest innermost row worth a `set` call (a subarray is an object; shorter rows go element by element). */
const ROW_COPY_MIN = 32;

type RowArray = Float32Array | Float64Array | Int32Array | Uint8Array;

/**
 * Whether a spec copies its one input unchanged (no reduction, no arithmetic, no cast, not float16, whose array
 * type is a polyfill) with unit strides along a long innermost loop on both sides.
 */
function isRowCopy(spec: LoopSpec): boolean {
  const last = spec.sizes.length - 1;
  const x = spec.inputs[0];
  return last >= 0 && spec.parallel === spec.sizes.length && spec.inputs.length === 1 && x !== undefined && spec.also === undefined && spec.rows === undefined &&
    spec.expr.kind === 'input' && spec.expr.index === 0 && x.dtype === spec.output.dtype && x.dtype !== 'float16' &&
    x.strides[last] === 1 && spec.output.strides[last] === 1 && spec.sizes[last]! >= ROW_COPY_MIN;
}

function copyRows(spec: LoopSpec, x: RowArray, out: RowArray): void {
  const last = spec.sizes.length - 1;
  const n = spec.sizes[last]!;
  const outer = Array.from({ length: last }, (_, d) => d);
  forEachPoint(spec.sizes, outer, spec.inputs[0]!.strides, spec.output.strides, spec.inputs[0]!.offset, spec.output.offset,
    (xi, oi) => out.set(x.subarray(xi, xi + n), oi));
}
