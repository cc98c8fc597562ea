/**
 * Module and Parameter: the nn contract is `parameters()` plus state.
 *
 * A module registers what it owns by plain assignment. `parameters()`, `children()` and `stateDict()` walk the
 * module's own properties in declaration order: a `Parameter` value is a parameter, a `Module` value a child.
 * Buffers (running statistics and other state the optimizer must not touch) are named once with
 * `registerBuffer('runningMean', t)` and then live in the property of that name, so `this.runningMean` reads
 * and assigns them like any field. State-dict keys are PyTorch's: camelCase fields become snake_case keys
 * (`runningMean` → `running_mean`), children are joined with dots (`layer1.0.bn1.running_mean`).
 */
import * as A from '../runtime/args.js';
import { EinjitError, formatShape } from '../errors.js';
import { Tensor } from '../runtime/tensor.js';
import type { Device } from '../runtime/backend.js';
import type { DType } from '../runtime/dtype.js';
import { isFloating } from '../runtime/dtype.js';
import { noGrad } from '../autograd/record.js';
import { keep } from '../runtime/scope.js';

/** A tensor a module learns: a leaf that requires gradients unless told otherwise (PyTorch's nn.Parameter). */
export class Parameter extends Tensor {
  constructor(data: Tensor, requiresGrad = true) {
    A.tensorArg(data, 'Parameter', 'data');
    A.boolArg(requiresGrad, 'Parameter', 'requiresGrad', true);
    const t = data.isContiguous ? data : data.contiguous();
    super(t.storage, t.shape, t.strides, t.offset);
    if (requiresGrad) this.requiresGrad = true;
    // Parameters outlive any tidy() scope they are made in (as TensorFlow.js's variables do).
    keep(this);
  }
}

/** `runningMean` → `running_mean`, `numBatchesTracked` → `num_batches_tracked`. */
export function snakeCase(name: string): string {
  A.stringArg(name, 'snakeCase', 'name');
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/([A-Z])([A-Z][a-z])/g, '$1_$2').toLowerCase();
}

export type StateDict = Record<string, Tensor>;

export interface LoadResult {
  readonly missingKeys: string[];
  readonly unexpectedKeys: string[];
}

type Slots = Record<string, unknown>;

/**
 * The base class of every layer and model. Subclasses define `forward`; the type parameters are its signature,
 * one tensor in and one out by default (what Sequential chains). A module with other inputs or outputs says so:
 * `class Bilinear extends Module<[Tensor, Tensor]>`, `class MultiheadAttention extends Module<[Tensor, Tensor,
 * Tensor, AttentionOptions?], [Tensor, Tensor | null]>`, and a call with the wrong arguments is a type error.
 */
export class Module<Args extends unknown[] = [Tensor], Out = Tensor> {
  /** Training mode (batch statistics, dropout) or evaluation mode (running statistics, no dropout). */
  training = true;
  /** Property names holding buffers, in registration order, and whether each goes into the state dict. */
  private readonly _buffers = new Map<string, boolean>();

  /** The computation; subclasses override it. */
  forward(...args: Args): Out {
    void args;
    throw new EinjitError(`${this.constructor.name} has no forward()`, {
      op: 'Module.forward',
      hint: 'define forward(x) in the subclass',
    });
  }

  private slots(): Slots {
    return this as unknown as Slots;
  }

  /** Fields that hold state: own, public (no leading underscore), in declaration order. */
  private fieldNames(): string[] {
    return Object.keys(this).filter((k) => !k.startsWith('_') && k !== 'training');
  }

  /** Registers a buffer stored in the property `name` (null registers the name with no tensor yet). */
  registerBuffer(name: string, tensor: Tensor | null, persistent = true): void {
    A.stringArg(name, 'registerBuffer', 'name');
    A.optionalTensorArg(tensor, 'registerBuffer', 'tensor');
    A.boolArg(persistent, 'registerBuffer', 'persistent', true);
    if (name.includes('.') || name === '') {
      throw new EinjitError(`buffer name ${JSON.stringify(name)} must be non-empty and contain no '.'`, { op: 'registerBuffer' });
    }
    if (this.slots()[name] instanceof Parameter || this.slots()[name] instanceof Module) {
      throw new EinjitError(`attribute '${name}' already exists as a parameter or module`, { op: 'registerBuffer' });
    }
    if (tensor !== null) keep(tensor); // buffers, like parameters, outlive tidy() scopes
    this._buffers.set(name, persistent);
    this.slots()[name] = tensor;
  }

  /** Assigns a parameter under a computed name (assignment `this.weight = new Parameter(...)` does the same). */
  registerParameter(name: string, param: Parameter | null): void {
    A.stringArg(name, 'registerParameter', 'name');
    if (param !== null && !(param instanceof Parameter)) {
      throw new EinjitError(`param must be a Parameter or null, got ${A.describe(param)}`, { op: 'registerParameter', hint: 'wrap a tensor with new nn.Parameter(t)' });
    }
    this.slots()[name] = param;
  }

  /** Assigns a child module under a computed name ('0', '1', ... in Sequential). */
  addModule(name: string, module: AnyModule | null): void {
    A.stringArg(name, 'addModule', 'name');
    if (module !== null && !(module instanceof Module)) {
      throw new EinjitError(`module must be a Module or null, got ${A.describe(module)}`, { op: 'addModule' });
    }
    this.slots()[name] = module;
  }

  *namedChildren(): Generator<[string, AnyModule]> {
    for (const k of this.fieldNames()) {
      const v = this.slots()[k];
      if (v instanceof Module) yield [k, v];
    }
  }

  *children(): Generator<AnyModule> {
    for (const [, m] of this.namedChildren()) yield m;
  }

  /** This module and every descendant, each once, with dotted names ('' for this one). */
  *namedModules(prefix = ''): Generator<[string, AnyModule]> {
    const seen = new Set<AnyModule>();
    const stack: [string, AnyModule][] = [[prefix, this]];
    while (stack.length > 0) {
      const [name, m] = stack.shift()!;
      if (seen.has(m)) continue;
      seen.add(m);
      yield [name, m];
      const kids = [...m.namedChildren()].map(([k, c]): [string, AnyModule] => [name === '' ? k : `${name}.${k}`, c]);
      stack.unshift(...kids);
    }
  }

  *modules(): Generator<AnyModule> {
    for (const [, m] of this.namedModules()) yield m;
  }

  /** Own parameters (not the children's), as [field, parameter]. */
  private *ownParameters(): Generator<[string, Parameter]> {
    for (const k of this.fieldNames()) {
      const v = this.slots()[k];
      if (v instanceof Parameter) yield [k, v];
    }
  }

  private *ownBuffers(persistentOnly: boolean): Generator<[string, Tensor]> {
    for (const [k, persistent] of this._buffers) {
      const v = this.slots()[k];
      if (v instanceof Tensor && (persistent || !persistentOnly)) yield [k, v];
    }
  }

  /** Every parameter with its dotted PyTorch name (`layer1.0.conv1.weight`); shared parameters appear once. */
  *namedParameters(): Generator<[string, Parameter]> {
    const seen = new Set<Tensor>();
    for (const [prefix, m] of this.namedModules()) {
      for (const [k, p] of m.ownParameters()) {
        if (seen.has(p)) continue;
        seen.add(p);
        yield [joinKey(prefix, k), p];
      }
    }
  }

  /** Every parameter, for an optimizer: `new optim.SGD(model.parameters(), { lr: 0.1 })`. */
  parameters(): Parameter[] {
    return [...this.namedParameters()].map(([, p]) => p);
  }

  *namedBuffers(): Generator<[string, Tensor]> {
    for (const [prefix, m] of this.namedModules()) {
      for (const [k, b] of m.ownBuffers(false)) yield [joinKey(prefix, k), b];
    }
  }

  buffers(): Tensor[] {
    return [...this.namedBuffers()].map(([, b]) => b);
  }

  /** Number of parameter elements (trainable ones only when asked). */
  numParameters(trainableOnly = false): number {
    return this.parameters().filter((p) => !trainableOnly || p.requiresGrad).reduce((n, p) => n + p.size, 0);
  }

  /**
   * Parameters and persistent buffers by PyTorch's key, in PyTorch's order: each module's parameters, then its
   * buffers, then its children. The tensors are the live ones (detached views of them).
   */
  stateDict(): StateDict {
    const out: StateDict = {};
    const visit = (m: AnyModule, prefix: string): void => {
      for (const [k, p] of m.ownParameters()) out[joinKey(prefix, k)] = p.detach();
      for (const [k, b] of m.ownBuffers(true)) out[joinKey(prefix, k)] = b.detach();
      for (const [k, c] of m.namedChildren()) visit(c, joinKey(prefix, k));
    };
    visit(this, '');
    return out;
  }

  /** Every state entry as [key, owner module, field name], for loading. */
  private stateSlots(): [string, AnyModule, string][] {
    const out: [string, AnyModule, string][] = [];
    const visit = (m: AnyModule, prefix: string): void => {
      for (const [k] of m.ownParameters()) out.push([joinKey(prefix, k), m, k]);
      for (const [k] of m.ownBuffers(true)) out.push([joinKey(prefix, k), m, k]);
      for (const [k, c] of m.namedChildren()) visit(c, joinKey(prefix, k));
    };
    visit(this, '');
    return out;
  }

  /**
   * Copies values into the parameters and buffers (each keeps its dtype and device). With `strict` (the default)
   * any missing or unexpected key is an error; a shape mismatch always is. The error lists every difference.
   */
  loadStateDict(state: StateDict | ReadonlyMap<string, Tensor>, strict = true): LoadResult {
    if (!(state instanceof Map)) A.optionsArg(state ?? null, 'loadStateDict', 'the state dict');
    A.boolArg(strict, 'loadStateDict', 'strict', true);
    const entries = state instanceof Map ? new Map(state) : new Map(Object.entries(state as StateDict));
    const slots = this.stateSlots();
    const known = new Set(slots.map(([k]) => k));
    const missingKeys = slots.map(([k]) => k).filter((k) => !entries.has(k));
    const unexpectedKeys = [...entries.keys()].filter((k) => !known.has(k));
    const mismatched: string[] = [];
    for (const [key, m, field] of slots) {
      const src = entries.get(key);
      const dst = m.slots()[field] as Tensor;
      if (src === undefined) continue;
      if (!(src instanceof Tensor)) {
        mismatched.push(`${key}: expected a Tensor, got ${typeof src}`);
      } else if (src.shape.length !== dst.shape.length || src.shape.some((n, i) => n !== dst.shape[i])) {
        mismatched.push(`${key}: checkpoint shape ${formatShape(src.shape)}, model shape ${formatShape(dst.shape)}`);
      }
    }
    const problems: string[] = [];
    if (strict && missingKeys.length > 0) problems.push(`missing keys (${missingKeys.length}): ${listKeys(missingKeys)}`);
    if (strict && unexpectedKeys.length > 0) problems.push(`unexpected keys (${unexpectedKeys.length}): ${listKeys(unexpectedKeys)}`);
    if (mismatched.length > 0) problems.push(`size mismatches (${mismatched.length}): ${listKeys(mismatched)}`);
    if (problems.length > 0) {
      throw new EinjitError(`error(s) in loading the state dict for ${this.constructor.name}:\n    ${problems.join('\n    ')}`, {
        op: 'loadStateDict',
        hint: strict && mismatched.length === 0 ? 'pass strict = false to load a partial state dict' : 'check that the checkpoint matches this architecture',
      });
    }
    noGrad(() => {
      for (const [key, m, field] of slots) {
        const src = entries.get(key);
        if (src === undefined) continue;
        const dst = m.slots()[field] as Tensor;
        if (src.device !== dst.device) {
          throw new EinjitError(`${key} is on '${src.device}' but the module is on '${dst.device}'`, {
            op: 'loadStateDict', hint: 'move the checkpoint tensors or the module first (await module.to(device))',
          });
        }
        dst.copy_(src.dtype === dst.dtype ? src : src.cast(dst.dtype));
      }
    });
    return { missingKeys, unexpectedKeys };
  }

  /** Sets training mode here and in every descendant. */
  train(mode = true): this {
    A.boolArg(mode, 'Module.train', 'mode', true);
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Clears every parameter's gradient (PyTorch's zero_grad with set_to_none). */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /** Replaces every parameter and buffer by `f` of it (parameters stay Parameters with their requiresGrad). */
  private async remap(f: (t: Tensor, isParameter: boolean) => Tensor | Promise<Tensor>): Promise<void> {
    const done = new Map<Tensor, Tensor>();
    for (const m of this.modules()) {
      for (const [k, p] of [...m.ownParameters()]) {
        let q = done.get(p);
        if (q === undefined) {
          const moved = await f(p, true);
          q = moved === p ? p : new Parameter(moved.detach(), p.requiresGrad);
          done.set(p, q);
        }
        m.slots()[k] = q;
      }
      for (const [k, b] of [...m.ownBuffers(false)]) m.slots()[k] = await f(b, false);
    }
  }

  /** Moves every parameter and buffer to `device` (parameters are replaced by new leaves there). */
  async to(device: Device): Promise<this> {
    A.deviceArg(device, 'Module.to');
    await this.remap((t) => t.to(device));
    return this;
  }

  /** Casts floating-point parameters and buffers to `dtype` (integer buffers such as counters keep theirs). */
  cast(dtype: DType): this {
    A.dtypeArg(dtype, 'Module.cast');
    if (!isFloating(dtype)) {
      throw new EinjitError(`modules can only be cast to a floating-point dtype, got ${dtype}`, { op: 'Module.cast' });
    }
    const done = new Map<Tensor, Parameter>();
    for (const m of this.modules()) {
      for (const [k, p] of [...m.ownParameters()]) {
        if (p.dtype === dtype) continue;
        let q = done.get(p);
        if (q === undefined) {
          q = new Parameter(noGrad(() => p.detach().cast(dtype)), p.requiresGrad);
          done.set(p, q);
        }
        m.slots()[k] = q;
      }
      for (const [k, b] of [...m.ownBuffers(false)]) {
        if (isFloating(b.dtype) && b.dtype !== dtype) m.slots()[k] = noGrad(() => b.cast(dtype));
      }
    }
    return this;
  }

  double(): this {
    return this.cast('float64');
  }

  float(): this {
    return this.cast('float32');
  }

  /** A one-line summary per module, like PyTorch's repr. */
  toString(): string {
    const lines: string[] = [];
    const visit = (m: AnyModule, name: string, depth: number): void => {
      const kids = [...m.namedChildren()];
      const head = `${'  '.repeat(depth)}${name === '' ? '' : `(${name}): `}${m.constructor.name}(${m.extraRepr()}`;
      if (kids.length === 0) {
        lines.push(`${head})`);
        return;
      }
      lines.push(head);
      for (const [k, c] of kids) visit(c, k, depth + 1);
      lines.push(`${'  '.repeat(depth)})`);
    };
    visit(this, '', 0);
    return lines.join('\n');
  }

  /** What toString prints inside the parentheses (layer sizes); subclasses override it. */
  extraRepr(): string {
    return '';
  }
}

/** A boolean as PyTorch prints it in a module's repr (`bias=True`). */
export function pyBool(b: boolean): string {
  return b ? 'True' : 'False';
}

/**
 * A float as Python's repr prints it, so printouts read as PyTorch's: the shortest digits that round-trip, in
 * exponent form with a two-digit exponent below 1e-4 or from 1e16 (`1e-05`), and with `.0` on an integer value.
 */
export function pyFloat(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mantissa, exp] = x.toExponential().split('e') as [string, string];
  const e = Number(exp);
  if (e < -4 || e >= 16) return `${mantissa}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  const fixed = x.toFixed(Math.max(0, (mantissa.split('.')[1]?.length ?? 0) - e));
  return Number.isInteger(x) ? `${fixed}.0` : fixed;
}

function joinKey(prefix: string, field: string): string {
  const key = snakeCase(field);
  return prefix === '' ? key : `${prefix}.${key}`;
}

function listKeys(keys: readonly string[]): string {
  const shown = keys.slice(0, 20).map((k) => `"${k}"`).join(', ');
  return keys.length > 20 ? `${shown}, ... (${keys.length - 20} more)` : shown;
}

/** A module whose forward takes one tensor and returns one (what Sequential chains). */
export interface Layer {
  forward(x: Tensor): Tensor;
}

/**
 * A module of any forward signature, for places that only hold or walk modules (ModuleList, addModule).
 * `never` arguments make every `Module<Args, Out>` assignable here (forward is a method, so its parameters
 * compare both ways).
 */
export type AnyModule = Module<never, unknown>;

/**
 * Holds modules in a list without chaining them (PyTorch's nn.ModuleList); children are named '0', '1', ...
 * `M` is the type of its items, inferred from the constructor's list (`new ModuleList([attn1, attn2])` holds
 * attention blocks and `at(i).forward` takes their arguments); an empty list holds any module.
 */
export class ModuleList<M extends AnyModule = AnyModule> extends Module {
  private _length = 0;

  constructor(modules: readonly M[] = []) {
    super();
    if (!Array.isArray(modules)) throw new EinjitError(`modules must be an array of Modules, got ${A.describe(modules)}`, { op: this.constructor.name });
    for (const m of modules) this.append(m);
  }

  append(module: M): this {
    if (!(module instanceof Module)) throw new EinjitError(`expected a Module, got ${A.describe(module)}`, { op: `${this.constructor.name}.append` });
    this.addModule(String(this._length++), module);
    return this;
  }

  get length(): number {
    return this._length;
  }

  /** The i-th child (negative counts from the end). */
  at(index: number): M {
    A.intArg(index, `${this.constructor.name}.at`, 'index');
    const i = index < 0 ? index + this._length : index;
    const m = (this as unknown as Record<string, unknown>)[String(i)];
    if (!(m instanceof Module)) {
      const kind = this.constructor.name;
      throw new EinjitError(`index ${index} is out of range for a ${kind} of length ${this._length}`, { op: `${kind}.at` });
    }
    return m as M;
  }

  [Symbol.iterator](): Iterator<M> {
    return this.children() as Iterator<AnyModule> as Iterator<M>;
  }
}

/** Chains its children's forward in order (PyTorch's nn.Sequential): a ModuleList with a forward. */
export class Sequential extends ModuleList<Module> {
  constructor(...modules: Module[]) {
    super(modules);
  }

  override forward(x: Tensor): Tensor {
    A.tensorArg(x, `${this.constructor.name}.forward`);
    let y = x;
    for (const m of this) y = m.forward(y);
    return y;
  }
}
