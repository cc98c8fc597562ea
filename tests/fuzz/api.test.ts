/**
 * Fuzz of the whole public API: every function, class and namespace member that src/index.ts exports (found by
 * walking the module, so a new export is fuzzed without touching this file), called with arbitrary JS values:
 * numbers (NaN, ±Infinity, fractions, huge), strings, null/undefined, Symbols, BigInts, arrays, nested arrays,
 * plain and null-prototype objects, typed arrays, functions and small real CPU tensors. Whatever a call returns
 * that has methods (a Tensor, a Module, an optimizer) is then called again through a random method.
 *
 * The only allowed outcomes are a result (or a resolved promise) and an EinjitError that is not an "internal
 * error" (docs/errors.md calls those bugs) and names an operation. Sizes are bounded (small integers, or sizes
 * far over einjit's element limit, which must be refused) so no call can allocate much or run long; the seed is
 * fixed so a failure replays.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as einjit from '../../src/index.js';
import { EinjitError } from '../../src/index.js';

const SEED = 20261204;

/** Exports not called, each with the reason. Nothing else is skipped. */
const SKIP: Readonly<Record<string, string>> = {
  shutdown: 'destroys the CPU worker pool and the GPU device every other call in this file uses',
  'nn.safetensors.saveFile': 'writes a file at the fuzzed path',
  'nn.models.resnet18': 'builds 11.7 million parameters per call, too slow to call thousands of times',
  'nn.models.resnet34': 'builds 21.8 million parameters per call, too slow to call thousands of times',
  'nn.models.ResNet': 'any valid call builds millions of parameters (64 to 512 channels), too slow to call thousands of times',
  Tensor: 'its constructor takes a backend storage handle (tensors come from the factories, which are fuzzed); its methods are fuzzed',
  EinjitError: 'the error class itself; its constructor is what einjit calls to report',
};

/** Methods not called on results: TypeScript-private helpers (not API; TS refuses calls to them). */
const SKIP_METHODS: ReadonlySet<string> = new Set([
  'constructor', 'inPlaceResult', 'readHost', 'fieldNames', 'slots', 'stateSlots', 'ownParameters', 'ownBuffers', 'remap',
  'addToken', 'update', 'lrAt',
]);

interface Target {
  readonly name: string;
  readonly fn: (...args: unknown[]) => unknown;
  readonly isClass: boolean;
}

function exportedTargets(): Target[] {
  const out: Target[] = [];
  const walk = (ns: Record<string, unknown>, prefix: string): void => {
    for (const key of Object.keys(ns).sort()) {
      const v = ns[key];
      const name = prefix + key;
      if (typeof v === 'function') {
        if (name in SKIP) continue;
        const isClass = /^class\b/.test(Function.prototype.toString.call(v));
        out.push({ name, fn: v as (...args: unknown[]) => unknown, isClass });
      } else if (v !== null && typeof v === 'object' && (v as { [Symbol.toStringTag]?: string })[Symbol.toStringTag] === 'Module') {
        walk(v as Record<string, unknown>, `${name}.`);
      }
    }
  };
  walk(einjit as unknown as Record<string, unknown>, '');
  return out;
}

const TARGETS = exportedTargets();
/** The prototypes of every exported class: a result whose prototype chain meets one is an einjit object. */
const EXPORTED_PROTOTYPES = new Set<unknown>(TARGETS.map((t) => t.fn.prototype).filter((p) => p !== undefined));
EXPORTED_PROTOTYPES.add(einjit.Tensor.prototype);

function isEinjitObject(v: unknown): v is object {
  if (v === null || typeof v !== 'object') return false;
  for (let p = Object.getPrototypeOf(v) as unknown; p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    if (EXPORTED_PROTOTYPES.has(p)) return true;
  }
  return false;
}

/** The callable members of an object, along its prototype chain (getters included: reading them is a call). */
function methodsOf(obj: object): string[] {
  const names = new Set<string>();
  for (let p = Object.getPrototypeOf(obj) as object | null; p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
    for (const k of Object.getOwnPropertyNames(p)) {
      if (SKIP_METHODS.has(k)) continue;
      const d = Object.getOwnPropertyDescriptor(p, k)!;
      if (typeof d.value === 'function' || d.get !== undefined) names.add(k);
    }
  }
  return [...names].sort();
}

// ---------------------------------------------------------------------------------------------------------------
// Values

const INTEGERS = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: -3, max: 6 }) },
  { weight: 1, arbitrary: fc.constantFrom(2 ** 32, 2 ** 53, 1e10, 1e300, -(2 ** 31), Number.MAX_SAFE_INTEGER) },
);
const NUMBERS = fc.oneof(
  { weight: 4, arbitrary: INTEGERS },
  { weight: 2, arbitrary: fc.constantFrom(NaN, Infinity, -Infinity, -0, 0.5, -0.5, 2.5, 1e-300, 0.1) },
  { weight: 1, arbitrary: fc.double() },
);
const STRINGS = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      'i,i->', 'ij,jk->ik', 'ij->ji', 'ii->i', '...ij->...ji', 'i', 'b c -> c b', 'b (h w) -> b h w', 'a b -> a', 'a b -> b a c',
      '* c', 'b *', 'a *', '(a b) c', 'a b c', '', ' ', '->',
      'float32', 'float64', 'float16', 'int32', 'bool', 'int64', 'cpu', 'cuda',
      'mean', 'sum', 'none', 'max', 'min', 'prod', 'any', 'all', 'bogus', 'relu', 'tanh', 'leaky_relu', 'linear',
      'optimal', 'greedy', 'dp', 'auto', 'size', 'flops', 'max_input', 'weight', 'bias', '__proto__', 'constructor',
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
);
const OPTION_KEYS = fc.constantFrom(
  'dtype', 'device', 'requiresGrad', 'shape', 'reduction', 'ignoreIndex', 'labelSmoothing', 'weight', 'stride',
  'padding', 'dilation', 'groups', 'bias', 'kernelSize', 'lr', 'momentum', 'weightDecay', 'betas', 'eps',
  'optimize', 'memoryLimit', 'minimize', 'seed', 'trials', 'timeBudgetMs', 'params', 'mode', 'nonlinearity',
  'a', 'b', 'c', 'h', 'w', 'stepSize', 'gamma', 'tMax', 'etaMin', 'outputSize', 'ceilMode', 'countIncludePad',
  'affine', 'trackRunningStats', 'elementwiseAffine', 'nesterov', 'dampening', 'amsgrad', 'maximize',
  'hidden', 'layers', 'numClasses', 'inChannels', 'vocabSize', 'retainGraph', 'toString', 'valueOf',
);

const SHAPES: number[][] = [[], [1], [3], [2, 3], [3, 3], [2, 1, 3], [0], [0, 2], [1, 4], [2, 2, 2], [1, 3, 4, 4], [2, 2, 2, 2]];
const DTYPES = ['float32', 'float64', 'float16', 'int32', 'bool'] as const;

/** A fresh small CPU tensor: random floats, indices in [0, 3) for int32, random bools; sometimes requiring grad. */
const TENSORS = fc.record({
  shape: fc.constantFrom(...SHAPES),
  dtype: fc.constantFrom(...DTYPES),
  grad: fc.boolean(),
}).map(({ shape, dtype, grad }) => {
  const t = dtype === 'int32' ? einjit.randint(0, 3, shape)
    : dtype === 'bool' ? einjit.rand(shape).gt(0.5)
    : einjit.randn(shape, { dtype });
  if (grad && dtype !== 'int32' && dtype !== 'bool') t.requiresGrad = true;
  return t;
});

const FUNCTIONS = fc.constantFrom<unknown>(
  () => undefined,
  (x: unknown) => x,
  () => 1,
  () => einjit.ones([2]),
);
const TYPED = fc.constantFrom<() => unknown>(
  () => new Float32Array([1, 2, 3]),
  () => new Float64Array(0),
  () => new Int32Array([0, 1, 2, 3]),
  () => new Uint8Array([1, 0]),
  () => new Uint16Array(2),
  () => new ArrayBuffer(8),
).map((f) => f());

/** Lists nested far deeper than any tensor: must be refused without overflowing the stack. */
const DEEP = fc.integer({ min: 2000, max: 20000 }).map((depth) => {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
});

const LEAVES: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: NUMBERS },
  { weight: 4, arbitrary: STRINGS },
  { weight: 6, arbitrary: TENSORS },
  { weight: 4, arbitrary: fc.constantFrom(...SHAPES) },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 2, arbitrary: fc.constantFrom(null, undefined) },
  { weight: 1, arbitrary: fc.constantFrom(Symbol('s'), Symbol.iterator) },
  { weight: 1, arbitrary: fc.bigInt({ min: -3n, max: 3n }) },
  { weight: 1, arbitrary: FUNCTIONS },
  { weight: 1, arbitrary: TYPED },
  { weight: 1, arbitrary: fc.constant(new Date(0)) },
);

const { value: VALUES } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 3 },
    { weight: 8, arbitrary: LEAVES },
    { weight: 3, arbitrary: fc.array(tie('value'), { maxLength: 4 }) },
    { weight: 2, arbitrary: fc.dictionary(OPTION_KEYS, tie('value'), { maxKeys: 3 }) },
    { weight: 1, arbitrary: fc.dictionary(OPTION_KEYS, tie('value'), { maxKeys: 3 }).map((o) => Object.assign(Object.create(null) as object, o)) },
    { weight: 1, arbitrary: fc.constantFrom(...SHAPES).map((s) => [s, s]) },
  ),
}));
const ARG = fc.oneof({ weight: 30, arbitrary: VALUES }, { weight: 1, arbitrary: DEEP });
const ARGS = fc.array(ARG, { maxLength: 5 });

// ---------------------------------------------------------------------------------------------------------------
// Calls

let calls = 0;

function describeValue(v: unknown): string {
  try {
    if (typeof v === 'symbol') return v.toString();
    if (v instanceof einjit.Tensor) return `Tensor(${v.dtype} [${v.shape.join(',')}])`;
    if (typeof v === 'function') return 'fn';
    const s = JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : typeof x === 'number' && !Number.isFinite(x) ? String(x) : x));
    return s === undefined ? String(v) : s.length > 200 ? `${s.slice(0, 200)}…` : s;
  } catch {
    return Object.prototype.toString.call(v);
  }
}

/** Throws (failing the property) unless `e` is an EinjitError that is not a bug and names an op. */
function checkThrown(e: unknown, where: string): void {
  if (!(e instanceof EinjitError)) {
    const name = e instanceof Error ? e.constructor.name : typeof e;
    throw new Error(`${where} threw ${name}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  if (e.reason.startsWith('internal error')) throw new Error(`${where} raised a bug: ${e.message}`, { cause: e });
  if (e.op === undefined) throw new Error(`${where} raised an error that names no function: ${e.message}`);
  if (e.message.includes('[object ')) throw new Error(`${where} printed an object as [object ...]: ${e.message}`);
}

async function settle(where: string, f: () => unknown): Promise<unknown> {
  calls++;
  try {
    const r = f();
    return r instanceof Promise ? await r : r;
  } catch (e) {
    checkThrown(e, where);
    return undefined;
  }
}

async function callTarget(t: Target, args: unknown[], methodPick: number, methodArgs: unknown[]): Promise<void> {
  const where = `${t.name}(${args.map(describeValue).join(', ')})`;
  const result = await settle(where, () => (t.isClass ? Reflect.construct(t.fn, args) : t.fn(...args)));
  if (!isEinjitObject(result) || result instanceof EinjitError) return;
  const methods = methodsOf(result);
  if (methods.length === 0) return;
  const m = methods[methodPick % methods.length]!;
  await settle(`${where}.${m}(${methodArgs.map(describeValue).join(', ')})`, () => {
    const member = (result as Record<string, unknown>)[m];
    return typeof member === 'function' ? (member as (...a: unknown[]) => unknown).apply(result, methodArgs) : member;
  });
}

describe('fuzzing the public API with arbitrary JS values', () => {
  it('finds the exports to fuzz', () => {
    expect(TARGETS.length).toBeGreaterThan(100);
    for (const name of ['einsum', 'zeros', 'nn.functional.mseLoss', 'nn.Linear', 'optim.Adam', 'nn.safetensors.loadSafetensors']) {
      expect(TARGETS.map((t) => t.name)).toContain(name);
    }
  });

  it('every export either returns or throws an EinjitError', async () => {
    const before = calls;
    await fc.assert(
      fc.asyncProperty(fc.nat(TARGETS.length - 1), ARGS, fc.nat(), ARGS, async (i, args, pick, methodArgs) => {
        await callTarget(TARGETS[i]!, args, pick, methodArgs);
      }),
      { seed: SEED, numRuns: 11000 },
    );
    expect(calls - before).toBeGreaterThanOrEqual(11000);
  });

  it('every Tensor method either returns or throws an EinjitError', async () => {
    const before = calls;
    const methods = methodsOf(einjit.ones([1]));
    expect(methods).toContain('expand');
    await fc.assert(
      fc.asyncProperty(TENSORS, fc.nat(methods.length - 1), ARGS, async (x, i, args) => {
        const m = methods[i]!;
        await settle(`Tensor(${x.dtype} [${x.shape.join(',')}]).${m}(${args.map(describeValue).join(', ')})`, () => {
          const member = (x as unknown as Record<string, unknown>)[m];
          return typeof member === 'function' ? (member as (...a: unknown[]) => unknown).apply(x, args) : member;
        });
      }),
      { seed: SEED + 1, numRuns: 9500 },
    );
    expect(calls - before).toBeGreaterThanOrEqual(9500);
  });

  it('made at least 20,000 calls', () => {
    expect(calls).toBeGreaterThanOrEqual(20_000);
  });
});
