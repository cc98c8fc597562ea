/**
 * The playground: everything einjit decides about a pattern, live, and a Run button on the page's WebGPU or CPU.
 * It uses the same explain code as `einjit explain` (src/explain.ts) and the public API for running.
 */
import {
  EinjitError, capabilities, deviceInfo, einsum, rearrange, reduce, repeat, tensor, type Reduction, type Tensor,
} from '../src/index.js';
import { explainPattern } from '../src/explain.js';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const op = $<HTMLSelectElement>('op');
const pattern = $<HTMLInputElement>('pattern');
const shapes = $<HTMLInputElement>('shapes');
const axes = $<HTMLInputElement>('axes');
const reduction = $<HTMLSelectElement>('reduction');
const device = $<HTMLSelectElement>('device');
const explainOut = $<HTMLPreElement>('explain');
const kernelsOut = $<HTMLPreElement>('kernels');
const resultOut = $<HTMLPreElement>('result');
const status = $<HTMLParagraphElement>('status');

function parseShapes(text: string): number[][] {
  if (text.trim() === '') return [];
  return text.split(',').map((part) => {
    const s = part.trim();
    if (s === '' || s === '()') return [];
    const dims = s.split('x').map(Number);
    if (dims.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new EinjitError(`'${s}' is not a shape`, { op: 'playground', hint: 'write sizes joined by x, e.g. 8x32x64; separate operands with commas' });
    }
    return dims;
  });
}

function parseAxes(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const pair of text.split(',')) {
    if (pair.trim() === '') continue;
    const m = /^\s*([^=\s]+)\s*=\s*(\d+)\s*$/.exec(pair);
    if (m === null) throw new EinjitError(`'${pair.trim()}' is not an axis length`, { op: 'playground', hint: 'write name=size, e.g. h=2' });
    out[m[1]!] = Number(m[2]);
  }
  return out;
}

function showError(target: HTMLPreElement, e: unknown): void {
  target.classList.add('error');
  target.textContent = e instanceof EinjitError ? e.message : `${e instanceof Error ? e.name : 'Error'}: ${String(e instanceof Error ? e.message : e)}`;
}

let generation = 0;

async function update(): Promise<void> {
  const mine = ++generation;
  try {
    const text = await explainPattern({
      pattern: pattern.value, shapes: parseShapes(shapes.value), device: device.value, optimize: 'auto', op: op.value,
      reduction: reduction.value, axes: parseAxes(axes.value), source: true,
    });
    if (mine !== generation) return;
    const cut = text.indexOf('\n── ');
    explainOut.classList.remove('error');
    kernelsOut.classList.remove('error');
    explainOut.textContent = cut < 0 ? text : text.slice(0, cut);
    kernelsOut.textContent = cut < 0 ? '(no kernels: the result is a view of the input)' : text.slice(cut + 1);
  } catch (e) {
    if (mine !== generation) return;
    showError(explainOut, e);
    kernelsOut.classList.remove('error');
    kernelsOut.textContent = '';
  }
}

function input(shape: readonly number[], k: number, dev: 'cpu' | 'webgpu'): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tensor(Array.from({ length: n }, (_, i) => ((i + k) % 7) - 3), { shape: [...shape], dtype: 'float32', device: dev });
}

async function run(): Promise<void> {
  const dev = device.value as 'cpu' | 'webgpu';
  resultOut.classList.remove('error');
  resultOut.textContent = 'running…';
  try {
    const ops = parseShapes(shapes.value).map((s, k) => input(s, k, dev));
    const t0 = performance.now();
    let out: Tensor;
    switch (op.value) {
      case 'einsum': out = einsum(pattern.value, ...ops); break;
      case 'rearrange': out = rearrange(ops[0]!, pattern.value, parseAxes(axes.value)); break;
      case 'reduce': out = reduce(ops[0]!, pattern.value, reduction.value as Reduction, parseAxes(axes.value)); break;
      default: out = repeat(ops[0]!, pattern.value, parseAxes(axes.value));
    }
    const data = Array.from((await out.data()) as ArrayLike<number>);
    const ms = performance.now() - t0;
    const head = data.slice(0, 64).map((v) => Number(v.toPrecision(6)));
    resultOut.textContent = `device ${dev}, shape [${out.shape.join(', ')}], ${data.length} elements, ${ms.toFixed(2)} ms ` +
      '(first run includes compiling the kernels)\n' +
      `values${data.length > 64 ? ' (first 64)' : ''}: ${JSON.stringify(head)}`;
    resultOut.dataset['values'] = JSON.stringify(data.slice(0, 4096));
  } catch (e) {
    showError(resultOut, e);
  }
}

async function start(): Promise<void> {
  const caps = capabilities();
  const gpu = await deviceInfo('webgpu');
  const gpuOption = device.querySelector<HTMLOptionElement>('option[value=webgpu]')!;
  if (gpu.available) {
    const a = gpu.adapter!;
    gpuOption.textContent = `webgpu (${[a.vendor, a.architecture].filter((s) => s !== '').join(' ')}${a.software ? ', software' : ''})`;
    device.value = 'webgpu';
  } else {
    gpuOption.disabled = true;
    gpuOption.textContent = 'webgpu (unavailable)';
  }
  status.textContent = `CPU: ${caps.threads} thread(s), ${caps.sharedMemory ? 'shared memory' : 'plain ArrayBuffer storage'}` +
    `${caps.notes.length > 0 ? ` — ${caps.notes.join('; ')}` : ''}. WebGPU: ${gpu.available ? 'available' : gpu.reason ?? 'unavailable'}.`;
  for (const el of [op, pattern, shapes, axes, reduction, device]) el.addEventListener('input', () => void update());
  $<HTMLFormElement>('form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    void run();
  });
  await update();
  document.body.dataset['ready'] = 'true';
}

void start();
