/**
 * The backward pass: an iterative topological sort of the graph below `root` (no recursion, so graphs many
 * thousands of nodes deep work), then each node's rule in reverse order. Inputs are visited in their declared
 * order, so the order of gradient sums, and hence every bit of the result, is reproducible.
 */
import { EinjitError, describeValue, formatShape } from '../errors.js';
import type { Tensor } from '../runtime/tensor.js';
import { onesOf } from '../runtime/creation.js';
import { contiguousCopy } from '../runtime/ops.js';
import { keep } from '../runtime/scope.js';
import { noGrad, setGradEnabled } from './record.js';

export interface BackwardOptions {
  /** Keep the graph's saved tensors so backward can run through it again. */
  readonly retainGraph?: boolean;
}

export function backward(root: Tensor, grad?: Tensor, options: BackwardOptions = {}): void {
  if (!root.requiresGrad) {
    throw new EinjitError('element 0 of tensors does not require grad and does not have a grad_fn', {
      op: 'backward',
      shapes: [root.shape],
      hint: 'create the leaves with { requiresGrad: true } and do not wrap the forward pass in noGrad',
    });
  }
  let seed: Tensor;
  if (grad === undefined) {
    if (root.size !== 1) {
      throw new EinjitError('grad can be implicitly created only for scalar outputs', {
        op: 'backward',
        shapes: [root.shape],
        hint: 'reduce to a scalar first (e.g. .sum()), or pass the output gradient: y.backward(grad)',
      });
    }
    seed = onesOf(root.shape, root.dtype, root.device);
  } else {
    const g: unknown = grad;
    if (typeof g !== 'object' || g === null || !Array.isArray((g as { shape?: unknown }).shape) || !('storage' in g)) {
      const looksLikeOptions = typeof g === 'object' && g !== null && 'retainGraph' in g;
      throw new EinjitError(`backward's first argument must be the output's gradient (a Tensor), got ${describeValue(g)}`, {
        op: 'backward',
        shapes: [root.shape],
        hint: looksLikeOptions
          ? 'options go second: y.backward(undefined, { retainGraph: true })'
          : 'pass a tensor of the output shape, e.g. y.backward(onesLike(y)), or nothing for a scalar output',
      });
    }
    if (grad.shape.length !== root.shape.length || grad.shape.some((n, i) => n !== root.shape[i])) {
      throw new EinjitError(`the gradient has shape ${formatShape(grad.shape)} but the output has ${formatShape(root.shape)}`, {
        op: 'backward',
        shapes: [root.shape, grad.shape],
        hint: 'pass a gradient of exactly the output shape',
      });
    }
    if (grad.device !== root.device) {
      throw new EinjitError(`the gradient is on '${grad.device}' but the output is on '${root.device}'`, {
        op: 'backward',
        shapes: [root.shape, grad.shape],
        hint: `move it first: await grad.to('${root.device}')`,
      });
    }
    seed = grad.dtype === root.dtype ? grad.detach() : noGrad(() => grad.cast(root.dtype));
  }

  // Topological order by an explicit-stack depth-first search.
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
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

  // Check the whole graph before touching any gradient, so a refused backward leaves every .grad as it was.
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

  const pending = new Map<Tensor, Tensor>([[root, seed]]);
  const before = setGradEnabled(false);
  try {
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i]!;
      const g = pending.get(t);
      if (g === undefined) continue;
      pending.delete(t);
      const node = t.gradFn;
      if (node === null || t._retainGrad) {
        if (node === null && !t.requiresGrad) continue;
        // A fresh contiguous copy: g may alias the seed, another gradient or a broadcast (stride-0) view.
        // Kept: a gradient outlives any tidy() scope backward runs in.
        t.grad = keep(t.grad === null ? contiguousCopy(g.detach()) : t.grad.add(g));
        if (node === null) continue;
      }
      const inputGrads = node.backward(g);
      if (!options.retainGraph) node.freed = true;
      node.inputs.forEach((input, k) => {
        let ig = inputGrads[k];
        if (input === null || ig === null || ig === undefined) return;
        if (ig.dtype !== input.dtype) ig = ig.cast(input.dtype);
        const prev = pending.get(input);
        pending.set(input, prev === undefined ? ig : prev.add(ig));
      });
    }
  } finally {
    setGradEnabled(before);
  }
}
