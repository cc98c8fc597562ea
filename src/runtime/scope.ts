/**
 * Scopes for deterministic release (TensorFlow.js's tidy): `tidy(fn)` releases, when `fn` returns, the storage
 * of every tensor created inside it that the result does not need. A scope owns the storages allocated while it
 * is the innermost open one (backends report each allocation through `noteAllocation`), so views of tensors from
 * outside are never freed by it. Storages the result needs move to the enclosing scope, if any.
 *
 * "Needed by the result" means reachable from the returned value: tensors in it (through arrays, plain objects,
 * Maps and Sets), their `.grad`, and the autograd graph behind them (saved tensors and inputs), so
 * `tidy(() => loss(model(x))).backward()` still works. `keep(t)` exempts a tensor explicitly; gradients that
 * backward stores in `.grad`, optimizer state, parameters and module buffers are kept that way.
 */
import { EinjitError } from '../errors.js';
import { disposeStorage, type Storage } from './backend.js';
import type { Tensor } from './tensor.js';

interface Scope {
  readonly storages: Set<Storage>;
}

const scopes: Scope[] = [];

/** @internal Backends call this for every storage they create. */
export function noteAllocation(storage: Storage): void {
  scopes[scopes.length - 1]?.storages.add(storage);
}

/**
 * Runs `fn` and releases every tensor created inside it that its result does not need; returns the result.
 * Scopes nest. `fn` must be synchronous (a tensor created after an `await` would escape the scope).
 *
 * @example
 * const x = randn([64, 64]);
 * const y = tidy(() => x.mul(2).add(1).relu().sum());  // the three intermediates are released here
 */
export function tidy<T>(fn: () => T): T {
  if (typeof fn !== 'function') {
    throw new EinjitError(`tidy expects a function, got ${fn === null ? 'null' : typeof fn}`, {
      op: 'tidy',
      hint: 'write tidy(() => { ...; return result; })',
    });
  }
  const scope: Scope = { storages: new Set() };
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    closeScope(scope);
    for (const s of scope.storages) disposeStorage(s);
    throw e;
  }
  closeScope(scope);
  if (result instanceof Promise) {
    for (const s of scope.storages) disposeStorage(s);
    throw new EinjitError('tidy() got an async function: tensors created after its first await would escape the scope', {
      op: 'tidy',
      hint: 'keep the tidy() callback synchronous, and await outside it: const y = tidy(() => f(x)); await y.data()',
    });
  }
  const needed = new Set<Storage>();
  collect(result, needed, new Set());
  const parent = scopes[scopes.length - 1];
  for (const s of scope.storages) {
    if (needed.has(s)) parent?.storages.add(s);
    else disposeStorage(s);
  }
  return result;
}

/**
 * Exempts `t` (and the storage it views) from every open tidy() scope: it stays usable after them, until
 * `t.dispose()` or the garbage collector. Returns `t`.
 *
 * @example
 * let state: Tensor | null = null;
 * tidy(() => { state = keep(randn([4]).mul(2)); });
 * state!.shape;                                   // [4]
 */
export function keep<T extends Tensor>(t: T): T {
  for (const scope of scopes) scope.storages.delete(t.storage);
  return t;
}

function closeScope(scope: Scope): void {
  const at = scopes.lastIndexOf(scope);
  if (at >= 0) scopes.splice(at, 1);
}

/** Adds the storages `value` needs: tensors, their gradients and the autograd graph behind them. */
function collect(value: unknown, out: Set<Storage>, seen: Set<unknown>): void {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object' || seen.has(v)) continue;
    seen.add(v);
    if (isTensor(v)) {
      out.add(v.storage);
      if (v.grad !== null) stack.push(v.grad);
      const node = v.gradFn;
      if (node !== null) {
        for (const s of node.saved) stack.push(s.tensor);
        for (const input of node.inputs) if (input !== null) stack.push(input);
      }
    } else if (Array.isArray(v)) {
      for (const x of v) stack.push(x);
    } else if (v instanceof Map) {
      for (const [k, x] of v) stack.push(k, x);
    } else if (v instanceof Set) {
      for (const x of v) stack.push(x);
    } else if (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null) {
      for (const x of Object.values(v)) stack.push(x);
    }
  }
}

function isTensor(v: object): v is Tensor {
  return 'storage' in v && 'shape' in v && 'gradFn' in v;
}
