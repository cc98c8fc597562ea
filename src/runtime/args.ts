/**
 * Argument checks for the public boundary. Every exported function checks what it was given with these before
 * doing anything else, so a wrong argument is an EinjitError that names the function the caller called, the
 * argument and what it got, never a TypeError from deep inside. TypeScript's types say the same thing at
 * compile time; these say it at run time, for JS callers and for values that arrive through `any`.
 */
import { EinjitError, describeValue } from '../errors.js';
import { checkDevice, type Device } from './backend.js';
import { checkDType, type DType } from './dtype.js';
import { checkShape } from './shape.js';
import { Tensor } from './tensor.js';

/** How a value is named in a message (see describeValue). */
export const describe = describeValue;

function fail(op: string, what: string, v: unknown, hint?: string): never {
  throw new EinjitError(`${what}, got ${describe(v)}`, { op, ...(hint !== undefined ? { hint } : {}) });
}

export function tensorArg(v: unknown, op: string, name = 'input'): Tensor {
  if (v instanceof Tensor) return v;
  return fail(op, `${name} must be a Tensor`, v, 'wrap JS data with tensor(...) first');
}

/** A Tensor, or null/undefined where the argument is optional (a bias). */
export function optionalTensorArg(v: unknown, op: string, name: string): Tensor | null {
  if (v === null || v === undefined) return null;
  return tensorArg(v, op, name);
}

/** A Tensor or a JS number (or boolean), as elementwise ops accept. */
export function tensorOrScalarArg(v: unknown, op: string, name = 'other'): Tensor | number | boolean {
  if (v instanceof Tensor || typeof v === 'number' || typeof v === 'boolean') return v;
  return fail(op, `${name} must be a Tensor or a number`, v);
}

/** An array of Tensors (any iterable is refused: PyTorch takes a sequence). */
export function tensorListArg(v: unknown, op: string, name = 'tensors', options: { nonEmpty?: boolean } = {}): Tensor[] {
  if (!Array.isArray(v)) return fail(op, `${name} must be an array of Tensors`, v);
  if (options.nonEmpty && v.length === 0) {
    throw new EinjitError(`${name} must be a non-empty array of Tensors`, { op });
  }
  v.forEach((t, i) => {
    if (!(t instanceof Tensor)) fail(op, `${name}[${i}] must be a Tensor`, t, 'wrap JS data with tensor(...) first');
  });
  return v.slice() as Tensor[];
}

/** A shape: an array of non-negative integers whose element count einjit can hold (see `checkShape`). */
export function shapeArg(v: unknown, op: string, name = 'shape'): number[] {
  return checkShape(v, op, name);
}

/** A list of shapes (einsumPath, compile, unpack). */
export function shapeListArg(v: unknown, op: string, name = 'shapes'): number[][] {
  if (!Array.isArray(v)) return fail(op, `${name} must be an array of shapes (arrays of non-negative integers)`, v);
  return v.map((s, i) => checkShape(s, op, `${name}[${i}]`));
}

export function stringArg(v: unknown, op: string, name: string): string {
  if (typeof v === 'string') return v;
  return fail(op, `${name} must be a string`, v);
}

/** A pattern string (a Symbol, a String object or a null-prototype object are not). */
export function patternArg(v: unknown, op: string): string {
  return stringArg(v, op, 'the pattern');
}

export function numberArg(v: unknown, op: string, name: string, options: { finite?: boolean } = {}): number {
  if (typeof v !== 'number' || (options.finite && !Number.isFinite(v)) || (!options.finite && Number.isNaN(v))) {
    return fail(op, `${name} must be a ${options.finite ? 'finite ' : ''}number`, v);
  }
  return v;
}

/** An integer within [min, max] (both inclusive; defaults: any safe integer). */
export function intArg(v: unknown, op: string, name: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    const range = min === Number.MIN_SAFE_INTEGER ? (max === Number.MAX_SAFE_INTEGER ? 'an integer' : `an integer <= ${max}`)
      : max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`;
    return fail(op, `${name} must be ${range}`, v);
  }
  return v;
}

/** An array of integers (padding amounts, permutations). */
export function intListArg(v: unknown, op: string, name: string): number[] {
  if (!Array.isArray(v)) return fail(op, `${name} must be an array of integers`, v);
  return v.map((d, i) => intArg(d, op, `${name}[${i}]`));
}

export function boolArg(v: unknown, op: string, name: string, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  if (typeof v === 'boolean') return v;
  return fail(op, `${name} must be true or false`, v);
}

/** A dimension index (range is checked later against the tensor's rank). */
export function dimArg(v: unknown, op: string, name = 'dim'): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  return fail(op, `${name} must be an integer`, v, 'negative dims count from the end');
}

/** One of a fixed set of strings (reductions, modes, nonlinearity names). */
export function choiceArg<T extends string>(v: unknown, op: string, name: string, choices: readonly T[]): T {
  if (typeof v === 'string' && (choices as readonly string[]).includes(v)) return v as T;
  return fail(op, `${name} must be one of ${choices.map((c) => `'${c}'`).join(', ')}`, v);
}

export function dtypeArg(v: unknown, op: string): DType {
  return checkDType(v, op);
}

export function deviceArg(v: unknown, op: string): Device {
  return checkDevice(v, op);
}

/**
 * An options object: undefined becomes {}, anything that is not a plain object (an array, a number, a Tensor,
 * a function) is refused. A null-prototype object is accepted; its fields are read as own properties only.
 */
export function optionsArg<T extends object>(v: unknown, op: string, name = 'options'): Partial<T> {
  if (v === undefined) return {};
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Tensor) && !ArrayBuffer.isView(v)) {
    const proto = Object.getPrototypeOf(v) as unknown;
    if (proto === null || proto === Object.prototype) return v as Partial<T>;
  }
  return fail(op, `${name} must be an object`, v);
}

/** The creation options every factory takes ({dtype, device, requiresGrad}), each checked. */
export interface CheckedCreateOptions {
  readonly dtype: DType | undefined;
  readonly device: Device | undefined;
  readonly requiresGrad: boolean;
}
export function createOptionsArg(v: unknown, op: string): CheckedCreateOptions {
  const o = optionsArg<{ dtype: unknown; device: unknown; requiresGrad: unknown }>(v, op);
  return {
    dtype: o.dtype === undefined ? undefined : dtypeArg(o.dtype, op),
    device: o.device === undefined ? undefined : deviceArg(o.device, op),
    requiresGrad: boolArg(o.requiresGrad, op, 'requiresGrad', false),
  };
}

