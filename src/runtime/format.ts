/**
 * `toString()` that prints like PyTorch: `tensor([[1., 2.],\n        [3., 4.]])`, four decimals for
 * non-integral floats, scientific notation for wide ranges, summarised with '...' past 1000 elements. The
 * suffixes name things as einjit's API does (`dtype=float64`, `requiresGrad=true`), so a printed tensor shows
 * what to write to make it.
 */
import type { Tensor } from './tensor.js';
import { isFloating } from './dtype.js';

/** Node's `util.inspect.custom`, by its registered name, so the browser build needs no node:util. */
export const INSPECT_CUSTOM: unique symbol = Symbol.for('nodejs.util.inspect.custom');

const THRESHOLD = 1000;
const EDGE = 3;
const LINE_WIDTH = 80;

export function formatTensor(t: Tensor): string {
  const suffix: string[] = [];
  if (t.device !== 'cpu') suffix.push(`device='${t.device}'`);
  if (t.dtype !== 'float32' && t.dtype !== 'int32' && t.dtype !== 'bool') suffix.push(`dtype=${t.dtype}`);
  if (t.gradFn !== null) suffix.push(`grad_fn=<${t.gradFn.op}>`);
  else if (t.requiresGrad) suffix.push('requiresGrad=true');
  const tail = suffix.length > 0 ? `, ${suffix.join(', ')}` : '';
  if (t.device !== 'cpu') return `tensor(<${t.size} elements on ${t.device}; await t.to('cpu') to print>, shape=[${t.shape.join(', ')}]${tail})`;
  if (t.size === 0) {
    // An empty tensor has no elements to tell its dtype by, so every dtype but the default float32 is named.
    const dtypeSuffix = t.dtype === 'int32' || t.dtype === 'bool' ? [`dtype=${t.dtype}`] : [];
    return addSuffixes('tensor([]', [...(t.ndim !== 1 ? [`size=(${t.shape.join(', ')})`] : []), ...dtypeSuffix, ...suffix]);
  }
  const flat = t.dataSync();
  const summarize = t.size > THRESHOLD;
  const fmt = elementFormatter(t, flat, summarize);
  const prefix = 'tensor(';
  const body = formatDims(t.shape, flat, 0, 0, fmt, prefix.length + 1, summarize);
  return addSuffixes(`${prefix}${body}`, suffix);
}

/** Appends `, suffix` items, moving one to a new line when the last line would pass the line width (PyTorch's rule). */
function addSuffixes(text: string, suffixes: readonly string[]): string {
  const indent = 'tensor('.length;
  // PyTorch counts the last line two characters longer than it is; kept so line breaks fall where PyTorch's do.
  let lastLine = text.length - text.lastIndexOf('\n') + 1;
  let out = text;
  for (const s of suffixes) {
    if (lastLine + s.length + 2 > LINE_WIDTH) {
      out += `,\n${' '.repeat(indent)}${s}`;
      lastLine = indent + s.length;
    } else {
      out += `, ${s}`;
      lastLine += s.length + 2;
    }
  }
  return `${out})`;
}

type Fmt = { readonly width: number; readonly format: (v: number) => string };

function shownValues(shape: readonly number[], flat: ArrayLike<number>, summarize: boolean): number[] {
  if (!summarize) return Array.from(flat);
  const out: number[] = [];
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const walk = (dim: number, base: number): void => {
    if (dim === shape.length) {
      out.push(flat[base]!);
      return;
    }
    const n = shape[dim]!;
    const idx = n > 2 * EDGE ? [...range(0, EDGE), ...range(n - EDGE, n)] : range(0, n);
    for (const i of idx) walk(dim + 1, base + i * strides[dim]!);
  };
  walk(0, 0);
  return out;
}

function range(a: number, b: number): number[] {
  return Array.from({ length: b - a }, (_, i) => a + i);
}

function elementFormatter(t: Tensor, flat: ArrayLike<number>, summarize: boolean): Fmt {
  const values = shownValues(t.shape, flat, summarize);
  let format: (v: number) => string;
  if (t.dtype === 'bool') {
    format = (v) => (v ? 'True' : 'False');
  } else if (!isFloating(t.dtype)) {
    format = (v) => String(v);
  } else {
    const finite = values.filter((v) => Number.isFinite(v));
    const nonzero = finite.filter((v) => v !== 0).map(Math.abs);
    const intMode = finite.every((v) => Number.isInteger(v));
    const maxAbs = nonzero.length ? Math.max(...nonzero) : 0;
    const minAbs = nonzero.length ? Math.min(...nonzero) : 0;
    let sci = false;
    if (intMode) sci = nonzero.length > 0 && (maxAbs / minAbs > 1000 || maxAbs > 1e8);
    else if (nonzero.length) sci = maxAbs / minAbs > 1000 || maxAbs > 1e8 || minAbs < 1e-4;
    const special = (v: number): string | null =>
      Number.isNaN(v) ? 'nan' : v === Infinity ? 'inf' : v === -Infinity ? '-inf' : null;
    if (sci) format = (v) => special(v) ?? sciString(v);
    else if (intMode) format = (v) => special(v) ?? `${Object.is(v, -0) ? '-0' : v.toFixed(0)}.`;
    else format = (v) => special(v) ?? `${Object.is(v, -0) ? '-' : ''}${fixed4(v)}`;
    // PyTorch sizes the columns by the nonzero finite values only (zeros and inf/nan are never wider).
    const widest = Math.max(1, ...finite.filter((v) => v !== 0).map((v) => format(v).length));
    return { width: widest, format };
  }
  const width = Math.max(...values.map((v) => format(v).length));
  return { width, format };
}

/**
 * `v` with four decimals, rounding an exact tie to even as Python's '%.4f' does (toFixed rounds it away from
 * zero). A double is an exact tie at the fourth decimal only when 32·v is an odd integer.
 */
function fixed4(v: number): string {
  const n = v * 32;
  if (!Number.isInteger(n) || n % 2 === 0 || Math.abs(n) > 2 ** 40) return v.toFixed(4);
  const lo = Math.floor((Math.abs(n) * 625) / 2);
  const k = lo % 2 === 0 ? lo : lo + 1;
  return `${v < 0 ? '-' : ''}${Math.floor(k / 10000)}.${String(k % 10000).padStart(4, '0')}`;
}

function sciString(v: number): string {
  const [m, e] = v.toExponential(4).split('e');
  const exp = Number(e);
  return `${Object.is(v, -0) ? '-' : ''}${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
}

function formatDims(shape: readonly number[], flat: ArrayLike<number>, dim: number, base: number, fmt: Fmt, indent: number,
  summarize: boolean): string {
  if (shape.length === 0) return fmt.format(flat[0]!);
  const n = shape[dim]!;
  const stride = shape.slice(dim + 1).reduce((a, b) => a * b, 1);
  const idx: (number | null)[] = summarize && n > 2 * EDGE ? [...range(0, EDGE), null, ...range(n - EDGE, n)] : range(0, n);
  if (dim === shape.length - 1) {
    // A summarised row shows ' ...' as one more element, so it reads '2.,  ..., 7.' as in PyTorch.
    const items = idx.map((i) => (i === null ? ' ...' : fmt.format(flat[base + i]!).padStart(fmt.width)));
    // `indent` is where continuation lines start, one past the bracket PyTorch measures the line width from.
    const perLine = Math.max(1, Math.floor((LINE_WIDTH - (indent - 1)) / (fmt.width + 2)));
    const lines: string[] = [];
    for (let i = 0; i < items.length; i += perLine) lines.push(items.slice(i, i + perLine).join(', '));
    return `[${lines.join(`,\n${' '.repeat(indent)}`)}]`;
  }
  const sep = `,${'\n'.repeat(shape.length - dim - 1)}${' '.repeat(indent)}`;
  const parts = idx.map((i) => (i === null ? '...' : formatDims(shape, flat, dim + 1, base + i * stride, fmt, indent + 1, summarize)));
  return `[${parts.join(sep)}]`;
}
