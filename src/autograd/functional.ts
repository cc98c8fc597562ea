/**
 * The functional face of autograd, named as PyTorch names it: `grad` is `torch.autograd.grad` (gradients of
 * outputs with respect to chosen tensors, returned rather than added into `.grad`), `vjp` and `hvp` are
 * `torch.autograd.functional.vjp` and `.hvp` (a function and the point to differentiate it at), and `jvp` is
 * `torch.func.jvp` (forward mode, computed here by two reverse passes). Higher-order gradients come from
 * `createGraph`: the backward pass is then recorded like any other computation.
 */
import { EinjitError, describeValue, formatShape } from '../errors.js';
import { Tensor } from '../runtime/tensor.js';
import { zerosOf } from '../runtime/creation.js';
import { isFloating } from '../runtime/dtype.js';
import { viewOf } from '../runtime/ops.js';
import { checkOptions, runBackward, seedOf, unusedInput } from './backward.js';
import { enableGrad } from './record.js';

export interface GradOptions {
  /**
   * The gradient of each output (PyTorch's grad_outputs): one tensor per output, or null (or nothing at all) for
   * a scalar output, which gets 1.
   */
  readonly gradOutputs?: Tensor | readonly (Tensor | null)[];
  /** Record the backward pass so the returned gradients can be differentiated again (default false). */
  readonly createGraph?: boolean;
  /** Keep the graph for another backward pass (default: createGraph). */
  readonly retainGraph?: boolean;
  /** Return null for an input the outputs do not depend on, instead of refusing (default false). */
  readonly allowUnused?: boolean;
}

/** One gradient per tensor of `I`, position for position (a tuple for a tuple, so destructuring is typed). */
export type Gradients<I extends readonly Tensor[], G> = { -readonly [K in keyof I]: G };

/** A single tensor or an array of them, checked, as an array. */
function tensorList(v: unknown, op: string, name: string): Tensor[] {
  const list = v instanceof Tensor ? [v] : v;
  if (!Array.isArray(list) || list.length === 0 || list.some((t) => !(t instanceof Tensor))) {
    throw new EinjitError(`${name} must be a Tensor or a non-empty array of Tensors, got ${describeValue(v)}`, {
      op, hint: `e.g. ${op}(loss, [w, b])`,
    });
  }
  return list as Tensor[];
}

/**
 * The gradients of `outputs` with respect to `inputs` (PyTorch's `torch.autograd.grad`): one tensor per input,
 * in order, computed by the same backward pass as `backward()` but returned instead of added into `.grad` (no
 * `.grad` is touched). Non-scalar outputs need `gradOutputs`. With `{ createGraph: true }` the gradients are
 * differentiable tensors, so `grad` can be applied to them again; `retainGraph` defaults to createGraph.
 * An input the outputs do not depend on is an error unless `allowUnused` is set, when its gradient is null.
 *
 * @example
 * const x = tensor([1, 2, 3], { dtype: 'float64', requiresGrad: true });
 * const [g] = grad(x.pow(3).sum(), [x], { createGraph: true });   // 3x²
 * const [h] = grad(g.sum(), [x]);                                  // 6x
 */
export function grad<const I extends readonly Tensor[]>(outputs: Tensor | readonly Tensor[], inputs: I,
  options?: GradOptions & { readonly allowUnused?: false }): Gradients<I, Tensor>;
export function grad<const I extends readonly Tensor[]>(outputs: Tensor | readonly Tensor[], inputs: I, options: GradOptions): Gradients<I, Tensor | null>;
export function grad(outputs: Tensor | readonly Tensor[], inputs: Tensor, options?: GradOptions & { readonly allowUnused?: false }): [Tensor];
export function grad(outputs: Tensor | readonly Tensor[], inputs: Tensor, options: GradOptions): [Tensor | null];
export function grad(outputs: Tensor | readonly Tensor[], inputs: Tensor | readonly Tensor[], options: GradOptions = {}): (Tensor | null)[] {
  const outs = tensorList(outputs, 'grad', 'outputs');
  const ins = tensorList(inputs, 'grad', 'inputs');
  const checked = checkOptions(options, 'grad');
  const allowUnused = options.allowUnused ?? false;
  if (typeof allowUnused !== 'boolean') throw new EinjitError(`allowUnused must be true or false, got ${describeValue(allowUnused)}`, { op: 'grad' });
  const given = options.gradOutputs === undefined ? [] : options.gradOutputs instanceof Tensor ? [options.gradOutputs] : options.gradOutputs;
  if (!Array.isArray(given) || (given.length !== 0 && given.length !== outs.length)) {
    throw new EinjitError(`gradOutputs must hold one gradient per output (${outs.length}), got ${describeValue(options.gradOutputs)}`, {
      op: 'grad', shapes: outs.map((o) => o.shape), hint: 'pass [gradOfOutput0, gradOfOutput1, ...], null for a scalar output',
    });
  }
  outs.forEach((o, i) => {
    if (!o.requiresGrad) {
      throw new EinjitError(`element ${i} of tensors does not require grad and does not have a grad_fn`, {
        op: 'grad', shapes: [o.shape], hint: 'create the leaves with { requiresGrad: true } and do not wrap the forward pass in noGrad',
      });
    }
  });
  ins.forEach((x) => {
    if (!x.requiresGrad) {
      throw new EinjitError('one of the differentiated tensors does not require grad', {
        op: 'grad', shapes: [x.shape], hint: 'ask for gradients only of tensors created with { requiresGrad: true } or computed from them',
      });
    }
  });
  const seeds = outs.map((o, i) => seedOf(o, given[i] as Tensor | null | undefined, checked.createGraph === true, 'grad'));
  const found = runBackward(outs, seeds, checked, ins, allowUnused);
  return ins.map((x) => {
    const g = found.get(x);
    if (g !== undefined) return g.dtype === x.dtype ? g : g.cast(x.dtype);
    // Reached, but through ops that pass it no gradient.
    if (!allowUnused) throw unusedInput(x);
    return null;
  });
}

export interface FunctionalOptions {
  /** Record the computation so the results can be differentiated again (default false: they are detached). */
  readonly createGraph?: boolean;
}

/**
 * The primals as the tensors `f` is differentiated at: fresh leaves that require grad, or, under createGraph,
 * views of primals that already require grad, so the result stays connected to them (PyTorch's preprocessing).
 */
function primalsOf(primals: unknown, op: string, createGraph: boolean): Tensor[] {
  const list = tensorList(primals, op, 'primals');
  return list.map((x, i) => {
    if (!isFloating(x.dtype)) {
      throw new EinjitError(`primal ${i} is ${x.dtype}; only floating-point tensors can be differentiated`, {
        op, shapes: [x.shape], hint: "cast it first, e.g. x.cast('float64')",
      });
    }
    if (createGraph && x.requiresGrad) return viewOf(x, x.shape, x.strides, x.offset, 'alias');
    const leaf = x.detach();
    leaf.requiresGrad = true;
    return leaf;
  });
}

/** The tensors `f` returned, checked. */
function outputOf(f: unknown, xs: readonly Tensor[], op: string): Tensor {
  if (typeof f !== 'function') throw new EinjitError(`${op} needs a function of tensors, got ${describeValue(f)}`, { op, hint: `${op}((x, w) => ..., [x, w], ...)` });
  const y: unknown = (f as (...a: Tensor[]) => unknown)(...xs);
  if (!(y instanceof Tensor)) throw new EinjitError(`the function given to ${op} must return a Tensor, got ${describeValue(y)}`, { op });
  return y;
}

/** Vectors matching the primals one for one, in shape. */
function vectorsFor(v: unknown, xs: readonly Tensor[], op: string, name: string): Tensor[] {
  const list = tensorList(v, op, name);
  if (list.length !== xs.length || list.some((t, i) => t.shape.length !== xs[i]!.shape.length || t.shape.some((n, d) => n !== xs[i]!.shape[d]))) {
    throw new EinjitError(`${name} must hold one tensor per primal, of its shape`, {
      op, shapes: [...xs.map((x) => x.shape), ...list.map((t) => t.shape)],
      hint: `primals have shapes ${xs.map((x) => formatShape(x.shape)).join(', ')}`,
    });
  }
  return list;
}

/** Gradients of y with respect to xs, zeros for the ones y does not depend on (PyTorch's functional API fills them). */
function gradsOrZeros(y: Tensor, xs: readonly Tensor[], seed: Tensor | undefined, createGraph: boolean): Tensor[] {
  const gs = y.requiresGrad
    ? grad([y], xs, { gradOutputs: seed === undefined ? [] : [seed], createGraph, retainGraph: createGraph, allowUnused: true })
    : xs.map(() => null);
  return gs.map((g, i) => g ?? zerosOf(xs[i]!.shape, xs[i]!.dtype, xs[i]!.device));
}

/**
 * The vector-Jacobian product of `f` at `primals` (PyTorch's `torch.autograd.functional.vjp(func, inputs, v)`):
 * returns `[f(...primals), vᵀ·J]`, one gradient per primal. `cotangent` has f's output shape; it may be left out
 * when the output is a scalar. Without createGraph both results are detached.
 *
 * @example
 * const [y, [gx]] = vjp((x) => x.sin(), [x], onesLike(x));   // gx = cos(x)
 */
export function vjp<const P extends readonly Tensor[]>(f: (...primals: Tensor[]) => Tensor, primals: P, cotangent?: Tensor,
  options: FunctionalOptions = {}): [Tensor, Gradients<P, Tensor>] {
  const createGraph = checkOptions(options, 'vjp').createGraph === true;
  return enableGrad(() => {
    const xs = primalsOf(primals, 'vjp', createGraph);
    const y = outputOf(f, xs, 'vjp');
    if (cotangent !== undefined) seedOf(y, cotangent, false, 'vjp');
    else if (y.size !== 1) {
      throw new EinjitError('vjp needs a cotangent for a non-scalar output', {
        op: 'vjp', shapes: [y.shape], hint: 'pass a tensor of the output shape as the third argument',
      });
    }
    const gs = gradsOrZeros(y, xs, cotangent, createGraph);
    return [createGraph ? y : y.detach(), (createGraph ? gs : gs.map((g) => g.detach())) as Gradients<P, Tensor>];
  });
}

/**
 * The Jacobian-vector product of `f` at `primals` along `tangents` (PyTorch's `torch.func.jvp(func, primals,
 * tangents)`): returns `[f(...primals), J·v]`, J·v of f's output shape, where `tangents` holds one tensor per
 * primal, of its shape. einjit has no forward mode, so J·v comes from the double-vjp trick: with a cotangent u of
 * the output's shape, uᵀJ is linear in u, and the gradient of ⟨uᵀJ, v⟩ with respect to u is J·v for every u (two
 * backward passes, the first recorded). Without createGraph both results are detached.
 *
 * @example
 * const [y, jv] = jvp((x) => x.pow(3), [x], [v]);             // jv = 3x²·v
 */
export function jvp<const P extends readonly Tensor[]>(f: (...primals: Tensor[]) => Tensor, primals: P, tangents: Tensor | readonly Tensor[],
  options: FunctionalOptions = {}): [Tensor, Tensor] {
  const createGraph = checkOptions(options, 'jvp').createGraph === true;
  return enableGrad(() => {
    const xs = primalsOf(primals, 'jvp', createGraph);
    const vs = vectorsFor(tangents, xs, 'jvp', 'tangents');
    const y = outputOf(f, xs, 'jvp');
    const out = createGraph ? y : y.detach();
    // An output that does not depend on the primals (or is not floating-point) has a zero derivative.
    if (!y.requiresGrad) return [out, zerosOf(y.shape, y.dtype, y.device)];
    // u's value never matters (uᵀJ is linear in u); zeros keep the first pass from computing anything large.
    const u = zerosOf(y.shape, y.dtype, y.device);
    u.requiresGrad = true;
    const gs = gradsOrZeros(y, xs, u, true);
    let inner = gs[0]!.mul(vs[0]!).sum();
    for (let i = 1; i < gs.length; i++) inner = inner.add(gs[i]!.mul(vs[i]!).sum());
    const [jv] = gradsOrZeros(inner, [u], undefined, createGraph);
    return [out, createGraph ? jv! : jv!.detach()];
  });
}

/**
 * The Hessian-vector product of a scalar function `f` at `primals` (PyTorch's
 * `torch.autograd.functional.hvp(func, inputs, v)`): returns `[f(...primals), H·v]`, where `v` holds one tensor
 * per primal and H is the Hessian with respect to all primals together. Computed as the gradient of ⟨∇f, v⟩
 * (two backward passes, the first recorded), which is H·v because H is symmetric.
 *
 * @example
 * const [, [hv]] = hvp((x) => x.pow(3).sum(), [x], [v]);       // 6·x·v
 */
export function hvp<const P extends readonly Tensor[]>(f: (...primals: Tensor[]) => Tensor, primals: P, v: readonly Tensor[],
  options: FunctionalOptions = {}): [Tensor, Gradients<P, Tensor>] {
  const createGraph = checkOptions(options, 'hvp').createGraph === true;
  return enableGrad(() => {
    const xs = primalsOf(primals, 'hvp', createGraph);
    const vs = vectorsFor(v, xs, 'hvp', 'v');
    const y = outputOf(f, xs, 'hvp');
    if (y.size !== 1) {
      throw new EinjitError(`the function given to hvp must return a single element, got shape ${formatShape(y.shape)}`, {
        op: 'hvp', shapes: [y.shape], hint: 'reduce it to a scalar (e.g. .sum())',
      });
    }
    const gs = gradsOrZeros(y, xs, undefined, true);
    let inner = gs[0]!.mul(vs[0]!).sum();
    for (let i = 1; i < gs.length; i++) inner = inner.add(gs[i]!.mul(vs[i]!).sum());
    const hv = gradsOrZeros(inner, xs, undefined, createGraph);
    return [createGraph ? y : y.detach(), (createGraph ? hv : hv.map((h) => h.detach())) as Gradients<P, Tensor>];
  });
}
