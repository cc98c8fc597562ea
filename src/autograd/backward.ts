/**
 * The backward pass: an iterative topological sort of the graph below the roots (no recursion, so graphs many
 * thousands of nodes deep work), then each node's rule in reverse order. Inputs are visited in their declared
 * order, so the order of gradient sums, and hence every bit of the result, is reproducible. The same walk serves
 * backward() (gradients added into `.grad`) and grad() (gradients of chosen tensors returned); under createGraph
 * the rules run with recording on, so the gradients are differentiable in turn.
 */
import { EinjitError, describeValue, formatShape } from '../errors.js';
import * as A from '../runtime/args.js';
import type { Tensor } from '../runtime/tensor.js';
import { onesOf } from '../runtime/creation.js';
import { contiguousCopy } from '../runtime/ops.js';
import { keep } from '../runtime/scope.js';
import { noGrad, setGradEnabled } from './record.js';

export interface BackwardOptions {
  /**
   * Keep the graph's saved tensors so backward can run through it again (default: the value of createGraph,
   * as PyTorch's retain_graph).
   */
  readonly retainGraph?: boolean;
  /**
   * Record the backward pass itself, so the gradients are tensors with a graph of their own that can be
   * differentiated again (gradients of gradients, Hessian-vector products, gradient penalties). Off by default:
   * the pass then records nothing and its gradients are plain tensors.
   */
  readonly createGraph?: boolean;
}

export function backward(root: Tensor, grad?: Tensor, options: BackwardOptions = {}): void {
  if (!root.requiresGrad) {
    throw new EinjitError('element 0 of tensors does not require grad and does not have a grad_fn', {
      op: 'backward',
      shapes: [root.shape],
      hint: 'create the leaves with { requiresGrad: true } and do not wrap the forward pass in noGrad',
    });
  }
  const checked = checkOptions(options, 'backward');
  runBackward([root], [seedOf(root, grad, checked.createGraph === true, 'backward')], checked, null);
}

/** retainGraph and createGraph, each true, false or absent. */
export function checkOptions(options: BackwardOptions, op: string): BackwardOptions {
  const o = A.optionsArg<BackwardOptions>(options, op);
  const createGraph = A.boolArg(o.createGraph, op, 'createGraph', false);
  return { createGraph, retainGraph: A.boolArg(o.retainGraph, op, 'retainGraph', createGraph) };
}

/**
 * The gradient the walk starts from: ones for a scalar, else the caller's tensor, checked against the output.
 * With createGraph the caller's gradient stays in the graph (its own gradient is then defined, as in PyTorch's
 * double backward, where grad_outputs may require grad).
 */
export function seedOf(root: Tensor, grad: Tensor | undefined | null, createGraph: boolean, op: string): Tensor {
  if (grad === undefined || grad === null) {
    if (root.size !== 1) {
      throw new EinjitError('grad can be implicitly created only for scalar outputs', {
        op,
        shapes: [root.shape],
        hint: op === 'backward'
          ? 'reduce to a scalar first (e.g. .sum()), or pass the output gradient: y.backward(grad)'
          : 'reduce to a scalar first (e.g. .sum()), or pass the output gradient in gradOutputs',
      });
    }
    return onesOf(root.shape, root.dtype, root.device);
  }
  const g: unknown = grad;
  if (typeof g !== 'object' || g === null || !Array.isArray((g as { shape?: unknown }).shape) || !('storage' in g)) {
    const looksLikeOptions = typeof g === 'object' && g !== null && ('retainGraph' in g || 'createGraph' in g);
    throw new EinjitError(`${op === 'backward' ? "backward's first argument" : 'a gradient output'} must be the output's gradient (a Tensor), got ${describeValue(g)}`, {
      op,
      shapes: [root.shape],
      hint: looksLikeOptions
        ? 'options go second: y.backward(undefined, { retainGraph: true })'
        : 'pass a tensor of the output shape, e.g. y.backward(onesLike(y)), or nothing for a scalar output',
    });
  }
  if (grad.shape.length !== root.shape.length || grad.shape.some((n, i) => n !== root.shape[i])) {
    throw new EinjitError(`the gradient has shape ${formatShape(grad.shape)} but the output has ${formatShape(root.shape)}`, {
      op,
      shapes: [root.shape, grad.shape],
      hint: 'pass a gradient of exactly the output shape',
    });
  }
  if (grad.device !== root.device) {
    throw new EinjitError(`the gradient is on '${grad.device}' but the output is on '${root.device}'`, {
      op,
      shapes: [root.shape, grad.shape],
      hint: `move it first: await grad.to('${root.device}')`,
    });
  }
  if (createGraph) return grad.cast(root.dtype);
  return grad.dtype === root.dtype ? grad.detach() : noGrad(() => grad.cast(root.dtype));
}

/** Topological order of the graph below `roots` (inputs before the tensors made from them), by an explicit-stack DFS. */
function topologicalOrder(roots: readonly Tensor[]): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  for (const root of roots) {
    if (visited.has(root)) continue;
    const stack: { t: Tensor; next: number }[] = [{ t: root, next: 0 }];
    visited.add(root);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const inputs = top.t.gradFn?.inputs ?? [];
      if (top.next < inputs.length) {
        const child = inputs[top.next++];
        if (child !== null && child !== undefined && !visited.has(child)) {
          visited.add(child);
          stack.push({ t: child, next: 0 });
        }
      } else {
        order.push(top.t);
        stack.pop();
      }
    }
  }
  return order;
}

/** The tensors of `order` some target is reachable from (targets included): the only ones a grad() call walks. */
function leadingTo(order: readonly Tensor[], targets: ReadonlySet<Tensor>): Set<Tensor> {
  const out = new Set<Tensor>();
  for (const t of order) {
    if (targets.has(t) || (t.gradFn?.inputs.some((i) => i !== null && out.has(i)) ?? false)) out.add(t);
  }
  return out;
}

/** Refuses a walk through freed, disposed or overwritten saved tensors before any gradient is touched. */
function checkGraph(order: readonly Tensor[]): void {
  for (const t of order) {
    const node = t.gradFn;
    if (node === null) continue;
    if (node.freed && node.saved.length > 0) {
      throw new EinjitError(`trying to backward through the graph a second time (the saved tensors of '${node.op}' were freed)`, {
        op: 'backward',
        shapes: [t.shape],
        hint: 'pass { retainGraph: true } to the first call, y.backward(undefined, { retainGraph: true }), or recompute the forward pass',
      });
    }
    for (const s of node.saved) {
      if (s.tensor.isDisposed) {
        throw new EinjitError(`a tensor needed to compute the gradient of '${node.op}' was disposed`, {
          op: 'backward',
          shapes: [s.tensor.shape],
          hint: 'dispose intermediates only after backward(), or call backward() inside the tidy() that made them',
        });
      }
      if (s.tensor._version.value !== s.version) {
        throw new EinjitError(
          `a tensor needed to compute the gradient of '${node.op}' was modified by an in-place operation ` +
          `(it is at version ${s.tensor._version.value}, the graph saved version ${s.version})`,
          {
            op: 'backward',
            shapes: [s.tensor.shape],
            hint: 'avoid in-place writes (x.add_(...), x.copy_(...)) to tensors the graph still needs, or to views of them; ' +
              'write x = x.add(...) instead, or clone() before writing',
          },
        );
      }
    }
  }
}

/**
 * @internal The walk behind backward() and grad(): runs each node's rule in reverse topological order from
 * `roots` (seeded with `seeds`). With `targets` null, gradients are added into the `.grad` of leaves (and of
 * tensors that called retainGrad); with targets, only the part of the graph that leads to them is walked, their
 * gradients are returned and no `.grad` is touched. Rules run with recording on only under createGraph.
 */
export function runBackward(roots: readonly Tensor[], seeds: readonly Tensor[], options: BackwardOptions,
  targets: readonly Tensor[] | null, allowUnused = true): Map<Tensor, Tensor> {
  const createGraph = options.createGraph === true;
  const retainGraph = options.retainGraph ?? createGraph;
  const all = topologicalOrder(roots);
  const targetSet = new Set(targets ?? []);
  const wanted = targets === null ? null : leadingTo(all, targetSet);
  // Refused before any rule runs, so the graph is not freed by a call that fails.
  const unused = allowUnused || wanted === null ? undefined : targets!.find((t) => !wanted.has(t));
  if (unused !== undefined) throw unusedInput(unused);
  const order = wanted === null ? all : all.filter((t) => wanted.has(t));
  // Check the whole graph before touching any gradient, so a refused backward leaves every .grad as it was.
  checkGraph(order);

  const found = new Map<Tensor, Tensor>();
  const pending = new Map<Tensor, Tensor>();
  roots.forEach((root, i) => {
    const prev = pending.get(root);
    pending.set(root, prev === undefined ? seeds[i]! : prev.add(seeds[i]!));
  });
  const before = setGradEnabled(createGraph);
  try {
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i]!;
      const g = pending.get(t);
      if (g === undefined) continue;
      pending.delete(t);
      const node = t.gradFn;
      if (wanted !== null) {
        if (targetSet.has(t)) found.set(t, g);
      } else if (node === null || t._retainGrad) {
        if (node === null && !t.requiresGrad) continue;
        // A fresh contiguous copy: g may alias the seed, another gradient or a broadcast (stride-0) view.
        // Kept: a gradient outlives any tidy() scope backward runs in. Under createGraph it stays in the graph.
        const copy = createGraph ? contiguousCopy(g) : contiguousCopy(g.detach());
        t.grad = keep(t.grad === null ? copy : t.grad.add(g));
      }
      if (node === null) continue;
      // A target with no other target below it needs no rule run.
      if (wanted !== null && !node.inputs.some((input) => input !== null && wanted.has(input))) continue;
      const inputGrads = node.backward(g);
      if (!retainGraph) node.freed = true;
      node.inputs.forEach((input, k) => {
        let ig = inputGrads[k];
        if (input === null || ig === null || ig === undefined) return;
        if (wanted !== null && !wanted.has(input)) return;
        if (ig.dtype !== input.dtype) ig = ig.cast(input.dtype);
        const prev = pending.get(input);
        pending.set(input, prev === undefined ? ig : prev.add(ig));
      });
    }
  } finally {
    setGradEnabled(before);
  }
  return found;
}

/** @internal grad()'s refusal of an input the outputs do not depend on. */
export function unusedInput(t: Tensor): EinjitError {
  return new EinjitError('one of the differentiated tensors appears to not have been used in the graph', {
    op: 'grad', shapes: [t.shape], hint: 'pass { allowUnused: true } to get null for it',
  });
}
