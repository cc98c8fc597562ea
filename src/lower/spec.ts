/**
 * Kernel specs: the backend-neutral description of one kernel launch.
 *
 * Every op in einjit — an elementwise map, a reduction, a permute, a step of an einsum plan — lowers to one of
 * two kinds of spec, and every backend renders exactly these two kinds:
 *
 * - `LoopSpec`: a strided loop nest. For every point `p` of the iteration space, the expression `expr` is
 *   evaluated over the operands read at `offset + Σ p[d]·strides[d]`, and the result is written (or, over the
 *   trailing `reduce` loops, folded with `reduceOp`) into the output at `offset + Σ p[d]·strides[d]` of the
 *   leading `parallel` loops. Maps, broadcasts, copies/permutes, diagonals, traces, Hadamard and outer
 *   products and all reductions are loop specs.
 * - `GemmSpec`: a batched matrix product with arbitrary strides, the step a contraction plan spends its time in.
 *
 * Sizes, strides, offsets and the values of scalar constants are data, not part of the kernel's identity:
 * `specKey` names the compiled kernel, and one compiled kernel (a JS function, a WGSL pipeline) serves every
 * shape and every constant with the same key (`x.mul(0.9)` and `x.mul(0.999)` share one). Backends pass the
 * constants of `exprConstants` as parameters, as they pass shapes. Backends import only these types from src/.
 */

export type DType = 'float32' | 'float64' | 'float16' | 'int32' | 'bool';

/**
 * What the runtime needs to know about an elementwise op besides its kernel: one row per op, and the op unions
 * are this table's keys, so a new op starts here and the type checker then names every renderer table and the
 * autograd table that lack its row.
 */
export interface UnaryTraits {
  /** An integer or bool input is computed (and returned) as float32 (`exp`, `sin`, ...). */
  readonly floatResult: boolean;
  /** The result is bool (`not`, `isnan`). */
  readonly boolResult: boolean;
}

export const UNARY_OPS = {
  neg: { floatResult: false, boolResult: false },
  abs: { floatResult: false, boolResult: false },
  exp: { floatResult: true, boolResult: false },
  log: { floatResult: true, boolResult: false },
  sqrt: { floatResult: true, boolResult: false },
  rsqrt: { floatResult: true, boolResult: false },
  relu: { floatResult: false, boolResult: false },
  sigmoid: { floatResult: true, boolResult: false },
  tanh: { floatResult: true, boolResult: false },
  gelu: { floatResult: true, boolResult: false },
  erf: { floatResult: true, boolResult: false },
  sin: { floatResult: true, boolResult: false },
  cos: { floatResult: true, boolResult: false },
  floor: { floatResult: false, boolResult: false },
  ceil: { floatResult: false, boolResult: false },
  round: { floatResult: false, boolResult: false },
  sign: { floatResult: false, boolResult: false },
  reciprocal: { floatResult: true, boolResult: false },
  not: { floatResult: false, boolResult: true },
  square: { floatResult: false, boolResult: false },
  isnan: { floatResult: false, boolResult: true },
} as const satisfies Record<string, UnaryTraits>;

export type UnaryOp = keyof typeof UNARY_OPS;

export interface BinaryTraits {
  /** `eq`, `lt`, ...: the operands are compared in their promoted type and the result is bool. */
  readonly comparison: boolean;
  /** `and`, `or`, `xor`: the operands are read as truth values in their own dtype and the result is bool. */
  readonly logical: boolean;
}

export const BINARY_OPS = {
  add: { comparison: false, logical: false },
  sub: { comparison: false, logical: false },
  mul: { comparison: false, logical: false },
  div: { comparison: false, logical: false },
  pow: { comparison: false, logical: false },
  max: { comparison: false, logical: false },
  min: { comparison: false, logical: false },
  mod: { comparison: false, logical: false },
  floordiv: { comparison: false, logical: false },
  eq: { comparison: true, logical: false },
  ne: { comparison: true, logical: false },
  lt: { comparison: true, logical: false },
  le: { comparison: true, logical: false },
  gt: { comparison: true, logical: false },
  ge: { comparison: true, logical: false },
  and: { comparison: false, logical: true },
  or: { comparison: false, logical: true },
  xor: { comparison: false, logical: true },
} as const satisfies Record<string, BinaryTraits>;

export type BinaryOp = keyof typeof BINARY_OPS;

/** Scalar expression evaluated at each point of a loop nest. Values of bool operands are 0 or 1. */
export type Expr =
  | { readonly kind: 'input'; readonly index: number }
  | { readonly kind: 'const'; readonly value: number }
  | { readonly kind: 'unary'; readonly op: UnaryOp; readonly arg: Expr }
  | { readonly kind: 'binary'; readonly op: BinaryOp; readonly lhs: Expr; readonly rhs: Expr }
  | { readonly kind: 'select'; readonly cond: Expr; readonly then: Expr; readonly otherwise: Expr }
  /** Converts to the given dtype's value set: truncation toward zero for int32, `!= 0` for bool. */
  | { readonly kind: 'cast'; readonly to: DType; readonly arg: Expr };

/**
 * How the trailing reduce loops fold values. `argmax`/`argmin` write the row-major index over the reduce loops
 * of the first extreme value (PyTorch's tie rule); NaN wins max/min as in PyTorch.
 */
export const REDUCE_OPS = ['sum', 'prod', 'max', 'min', 'argmax', 'argmin', 'any', 'all'] as const;
export type ReduceOp = (typeof REDUCE_OPS)[number];

/** One operand of a kernel: where its first element is and how each loop moves through it. */
export interface Access {
  readonly dtype: DType;
  /** Element offset of the point p = 0 into the operand's storage. */
  readonly offset: number;
  /** Element stride per loop (one entry per loop; 0 broadcasts). For the output, one entry per parallel loop. */
  readonly strides: readonly number[];
}

export interface LoopSpec {
  readonly kind: 'loop';
  /** What this kernel computes, for the header comment of the generated source ('sum over j of ij->i'). */
  readonly label: string;
  /** Loop extents, outermost first: `parallel` output loops, then the reduce loops. */
  readonly sizes: readonly number[];
  /** How many of the leading loops index the output; the rest are reduced with `reduceOp`. */
  readonly parallel: number;
  /** Required when some loops are reduced; ignored otherwise. */
  readonly reduceOp: ReduceOp | null;
  readonly inputs: readonly Access[];
  readonly output: Access;
  readonly expr: Expr;
  /** dtype the expression is evaluated and reduced in (PyTorch computes float16 in float32). */
  readonly computeType: DType;
  /**
   * Further stores of a map (no reduce loops; jit's merged updates): at every point, after all inputs are read and
   * every expression is evaluated, `expr` is stored into input `input` at the element that point reads of it, in
   * order, before the output. A target's dtype is the compute type, its access writes each point's element once,
   * and no other input reads its buffer elsewhere (the jit checks this when it builds such a spec).
   */
  readonly also?: readonly LoopStore[];
  /**
   * Row reductions computed before the kernel's own values (jit's fused softmax and layer norm): for every point of
   * the first `outer` loops, value j is `values[j].expr` folded with `values[j].op` over the remaining loops (the
   * row), rounded to the compute type. Expressions read value j as input `inputs.length + j`; value j may read
   * values before it. The kernel then runs as without rows, reading them as inputs: a map writes the row's points
   * (`outer` < `parallel`), a reduction folds over the same loops (`outer` = `parallel`). Not with `also`. A value
   * with a `store` is also written, once per row, into that input (see RowValue.store).
   */
  readonly rows?: LoopRows;
}

/** The row reductions of a loop spec (see LoopSpec.rows). */
export interface LoopRows {
  readonly outer: number;
  readonly values: readonly RowValue[];
}

/** Folds whose result does not depend on the order of the row's points (up to rounding). */
export type RowOp = 'sum' | 'prod' | 'max' | 'min';

export interface RowValue {
  readonly op: RowOp;
  readonly expr: Expr;
  /**
   * An input the value is also stored into (jit: a reduction read both as a row value and directly later on), at
   * the element the row's first point names of it, once per row before anything else of the row is stored. The
   * input's access is broadcast (stride 0) over the row's loops and names a different element for every row, its
   * dtype is the compute type, and no expression reads it (the jit checks this when it builds such a spec).
   */
  readonly store?: number;
}

/** A store of a map kernel into one of its inputs (see LoopSpec.also). */
export interface LoopStore {
  readonly input: number;
  readonly expr: Expr;
}

/** An operand of a GEMM: batch strides, then the strides of its two matrix dimensions. */
export interface MatrixAccess {
  readonly offset: number;
  readonly batchStrides: readonly number[];
  /** A: stride along m; B: along k; C: along m. */
  readonly rowStride: number;
  /** A: stride along k; B: along n; C: along n. */
  readonly colStride: number;
}

/** C[b, m, n] = Σ_k A[b, m, k] · B[b, k, n], every operand read and written through its strides. */
export interface GemmSpec {
  readonly kind: 'gemm';
  readonly label: string;
  readonly dtype: 'float32' | 'float64';
  readonly batch: readonly number[];
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly a: MatrixAccess;
  readonly b: MatrixAccess;
  readonly c: MatrixAccess;
  /**
   * Applied to each element of the product before it is stored (jit folds a scale or an activation after the
   * GEMM here): input 0 is the product, computed and stored in `dtype`; constants travel as data, as in a loop.
   * Absent: C is the product.
   */
  readonly epilogue?: Expr;
  /**
   * The epilogue's other operands (a bias, a residual): input `1 + i` of the epilogue is `epilogueInputs[i]` read
   * at the same element of the GEMM's index space as C, one stride per dimension [batch..., m, n] (0 broadcasts:
   * a bias over n is strides 0, ..., 0, 1). Stored in `dtype`; the backend passes their storages after A and B.
   * None may share storage with C (C is written before or while they are read). Only with an `epilogue`; at most
   * MAX_EPILOGUE_INPUTS, so that A, B, C and these fit the 8 storage buffers WebGPU guarantees a shader stage.
   */
  readonly epilogueInputs?: readonly Access[];
  /**
   * The epilogue also reads C's own element as it was before the launch, as its input `1 + epilogueInputs.length`
   * (an update in place: jit folds `p -= lr·g` into the GEMM computing `g`). Only with an `epilogue`. C is then not
   * overwritten by the product first: WebGPU reads the element in the invocation that stores it, the CPU stages
   * the product a few rows at a time (kernels/cpu/gemm.ts) and applies the epilogue as it writes those rows.
   */
  readonly epilogueReadsC?: boolean;
}

/** Operands of a GEMM epilogue besides the product: with A, B and C, 8 storage bindings. */
export const MAX_EPILOGUE_INPUTS = 5;

/** The storages a backend's `run` takes for `spec`: a loop's inputs, or A, B and the epilogue's other operands. */
export function specInputCount(spec: KernelSpec): number {
  return spec.kind === 'loop' ? spec.inputs.length : 2 + (spec.epilogueInputs?.length ?? 0);
}

export type KernelSpec = LoopSpec | GemmSpec;

/**
 * The epilogue of `spec` as the in-place map over C it is equivalent to (the same element read and written, so
 * a backend may run it as a pass over C after the product; inputs: C, then the epilogue's other operands), or
 * null when the GEMM has none or its epilogue reads C's old value (which the product would have overwritten).
 */
export function gemmEpilogueLoop(spec: GemmSpec): LoopSpec | null {
  if (spec.epilogue === undefined || spec.epilogueReadsC === true) return null;
  const c: Access = { dtype: spec.dtype, offset: spec.c.offset, strides: [...spec.c.batchStrides, spec.c.rowStride, spec.c.colStride] };
  const sizes = [...spec.batch, spec.m, spec.n];
  const inputs = [c, ...(spec.epilogueInputs ?? [])];
  return { kind: 'loop', label: `epilogue of ${spec.label}`, sizes, parallel: sizes.length, reduceOp: null, inputs, output: c, expr: spec.epilogue, computeType: spec.dtype };
}

/** The kernel's identity: everything that changes generated code, nothing that travels as data (shapes, constants). */
export function specKey(spec: KernelSpec): string {
  if (spec.kind === 'gemm') {
    const extra = spec.epilogueInputs?.length ?? 0;
    return `gemm:${spec.dtype}:b${spec.batch.length}${spec.epilogue === undefined ? '' : `:${exprKey(spec.epilogue)}`}${extra === 0 ? '' : `:+${extra}`}` +
      (spec.epilogueReadsC === true ? ':c' : '');
  }
  const ins = spec.inputs.map((a) => a.dtype).join(',');
  return `loop:${spec.sizes.length}:${spec.parallel}:${spec.parallel < spec.sizes.length ? spec.reduceOp : '-'}` +
    `:${ins}->${spec.output.dtype}:${spec.computeType}:${exprKey(spec.expr)}` +
    (spec.also ?? []).map((st) => `;${st.input}=${exprKey(st.expr)}`).join('') +
    (spec.rows === undefined ? '' : `|rows${spec.rows.outer}:${spec.rows.values.map((r) => `${r.op}(${exprKey(r.expr)})${r.store === undefined ? '' : `>${r.store}`}`).join(',')}`);
}

/**
 * The constants of a loop spec's every expression, in the order its kernels number them: `expr`, then `also`,
 * then the row values'.
 */
export function loopConstants(spec: LoopSpec, out: number[] = []): number[] {
  exprConstants(spec.expr, out);
  for (const st of spec.also ?? []) exprConstants(st.expr, out);
  for (const r of spec.rows?.values ?? []) exprConstants(r.expr, out);
  return out;
}

function exprKey(e: Expr): string {
  switch (e.kind) {
    case 'input': return `$${e.index}`;
    // A constant's value is a parameter of the launch (exprConstants), so only its position is in the key.
    case 'const': return 'c';
    case 'unary': return `${e.op}(${exprKey(e.arg)})`;
    case 'binary': return `${e.op}(${exprKey(e.lhs)},${exprKey(e.rhs)})`;
    case 'select': return `sel(${exprKey(e.cond)},${exprKey(e.then)},${exprKey(e.otherwise)})`;
    case 'cast': return `${e.to}(${exprKey(e.arg)})`;
  }
}

/**
 * The values of the expression's constants in the order renderers number them: depth first, operands left to
 * right (unary/cast argument; binary lhs, rhs; select cond, then, otherwise), one slot per occurrence. Constant
 * `k` of the rendered kernel reads slot k of the launch's parameters.
 */
export function exprConstants(e: Expr, out: number[] = []): number[] {
  switch (e.kind) {
    case 'input': break;
    case 'const': out.push(e.value); break;
    case 'unary': case 'cast': exprConstants(e.arg, out); break;
    case 'binary': exprConstants(e.lhs, out); exprConstants(e.rhs, out); break;
    case 'select': exprConstants(e.cond, out); exprConstants(e.then, out); exprConstants(e.otherwise, out); break;
  }
  return out;
}

/** Shorthands for building expressions. */
export const ex = {
  input: (index: number): Expr => ({ kind: 'input', index }),
  const: (value: number): Expr => ({ kind: 'const', value }),
  unary: (op: UnaryOp, arg: Expr): Expr => ({ kind: 'unary', op, arg }),
  binary: (op: BinaryOp, lhs: Expr, rhs: Expr): Expr => ({ kind: 'binary', op, lhs, rhs }),
  select: (cond: Expr, then: Expr, otherwise: Expr): Expr => ({ kind: 'select', cond, then, otherwise }),
  cast: (to: DType, arg: Expr): Expr => ({ kind: 'cast', to, arg }),
};
