/**
 * The page the browser suite loads (bundled by esbuild for the browser, as a user's bundler would): it reports
 * what einjit detected, then runs the public conformance corpus (every valid einsum and einops case, with the
 * values numpy and einops computed) on the CPU and, when the page has WebGPU, on the GPU, and publishes the
 * counts on `window.__einjit` and in the page itself.
 */
import {
  capabilities, compile, deviceInfo, einsum, pack, parseShape, rearrange, reduce, repeat, tensor, unpack,
  type Device, type Tensor,
} from '../../src/index.js';
import { gemmCapabilities } from '../../kernels/cpu/gemm.js';
import einsumJson from '../conformance/einsum.json' with { type: 'json' };
import einopsJson from '../conformance/einops.json' with { type: 'json' };

/* eslint-disable @typescript-eslint/no-explicit-any -- the corpora are JSON written by Python scripts */
const einsumCorpus = einsumJson as unknown as { cases: any[] };
const einopsCorpus = einopsJson as unknown as { cases: any[] };
const page = globalThis as unknown as {
  location: { search: string };
  document: { getElementById(id: string): { textContent: string | null } | null };
  crossOriginIsolated?: boolean;
  __einjit?: unknown;
};

interface Outcome {
  device: Device;
  passed: number;
  failed: number;
  failures: string[];
  seconds: number;
}

// ?cpu=N&webgpu=N runs every N-th case on that device (0: none); 1, every case, is the default.
const query = new URLSearchParams(page.location.search);
const stride = (device: Device): number => Number(query.get(device) ?? '1');

const numel = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

// The corpus inputs, exactly as tests/conformance/values.test.ts regenerates them.
function einsumValue(i: number, k: number): number {
  let t = i * 0.37;
  t = t + 1.3;
  t = t + 0.11 * k;
  t = t % 7;
  return t - 3.1;
}
function einopsValue(k: number, offset: number): number {
  return Math.fround((((k + offset) * 0.37 + 1.3) % 7) - 3.1);
}

async function values(t: Tensor): Promise<number[]> {
  return Array.from((await t.data()) as ArrayLike<number>);
}

function compare(got: number[], want: number[], ok: (g: number, w: number) => boolean): string | null {
  if (got.length !== want.length) return `length ${got.length}, want ${want.length}`;
  for (let i = 0; i < got.length; i++) if (!ok(got[i]!, want[i]!)) return `element ${i}: got ${got[i]}, want ${want[i]}`;
  return null;
}

async function runEinsum(device: Device, c: any): Promise<string | null> {
  const dtype = device === 'cpu' ? 'float64' : 'float32';
  const ops = c.shapes.map((s: number[], k: number) => {
    const t = tensor(Array.from({ length: numel(s) }, (_, i) => einsumValue(i, k)), { shape: s, dtype });
    return device === 'cpu' ? t : t.to(device);
  });
  const out = await Promise.all(ops).then((o) => einsum(c.subscripts as string, ...o));
  if (JSON.stringify(out.shape) !== JSON.stringify(c.expected!.shape)) return `shape ${JSON.stringify(out.shape)}`;
  const tol = 1e-4 * Math.max(c.abs_scale as number, 1e-3) + 1e-6;
  return compare(await values(out), c.expected!.values as number[], (g, w) => Math.abs(g - w) <= tol);
}

type EinopsCase = any;

async function runEinops(device: Device, c: EinopsCase): Promise<string | null> {
  const inputs = await Promise.all(c.inputs.map((inp: { shape: number[]; offset: number }) => {
    const t = tensor(Array.from({ length: numel(inp.shape) }, (_, k) => einopsValue(k, inp.offset)), { shape: inp.shape, dtype: 'float32' });
    return device === 'cpu' ? t : t.to(device);
  }));
  const x: any = c.list_input ? inputs : inputs[0];
  const exact = (g: number, w: number): boolean => Number(g.toPrecision(6)) === w || Math.abs(g - w) <= 1e-5 * Math.max(1, Math.abs(w));
  const loose = (g: number, w: number): boolean => Math.abs(g - w) <= 1e-4 + 1e-4 * Math.abs(w);
  const check = async (t: Tensor, shape: number[], want: number[], ok: (g: number, w: number) => boolean): Promise<string | null> => {
    if (JSON.stringify(t.shape) !== JSON.stringify(shape)) return `shape ${JSON.stringify(t.shape)}, want ${JSON.stringify(shape)}`;
    return compare(await values(t), want, ok);
  };
  const e = c.expected;
  switch (c.op) {
    case 'rearrange': return check(rearrange(x, c.pattern, c.axes_lengths), e.shape, e.values, exact);
    case 'repeat': return check(repeat(x, c.pattern, c.axes_lengths), e.shape, e.values, exact);
    case 'reduce': {
      const ok = ['max', 'min', 'any', 'all'].includes(c.reduction) ? exact : loose;
      return check(reduce(x, c.pattern, c.reduction, c.axes_lengths), e.shape, e.values, ok);
    }
    case 'einsum': return check(einsum(...(inputs as [Tensor]), c.pattern as string), e.shape, e.values, loose);
    case 'pack': {
      const [packed, shapes] = pack(inputs, c.pattern);
      if (JSON.stringify(shapes) !== JSON.stringify(e.packed_shapes)) return `packed shapes ${JSON.stringify(shapes)}`;
      return check(packed, e.shape, e.values, exact);
    }
    case 'unpack': {
      const outs = unpack(inputs[0]!, c.packed_shapes, c.pattern);
      for (let i = 0; i < outs.length; i++) {
        const r = await check(outs[i]!, e.shapes[i], e.values[i], exact);
        if (r !== null) return `output ${i}: ${r}`;
      }
      return null;
    }
    case 'parse_shape': {
      const got = parseShape(inputs[0]!, c.pattern);
      return JSON.stringify(got) === JSON.stringify(e.dict) ? null : `got ${JSON.stringify(got)}`;
    }
    default: return `unknown op ${c.op}`;
  }
}

async function runDevice(device: Device): Promise<Outcome> {
  const outcome: Outcome = { device, passed: 0, failed: 0, failures: [], seconds: 0 };
  const every = stride(device);
  const start = performance.now();
  let n = 0;
  const record = (id: string, r: string | null): void => {
    if (r === null) outcome.passed++;
    else {
      outcome.failed++;
      if (outcome.failures.length < 20) outcome.failures.push(`${id}: ${r}`);
    }
  };
  for (const c of einsumCorpus.cases) {
    if (!c.valid || n++ % every !== 0) continue;
    try {
      record(c.id, await runEinsum(device, c));
    } catch (e) {
      record(c.id, e instanceof Error ? e.message.split('\n').slice(0, 3).join(' | ') : String(e));
    }
  }
  for (const c of einopsCorpus.cases as EinopsCase[]) {
    if (c.error || n++ % every !== 0) continue;
    try {
      record(c.id, await runEinops(device, c));
    } catch (e) {
      record(c.id, e instanceof Error ? e.message.split('\n').slice(0, 3).join(' | ') : String(e));
    }
  }
  outcome.seconds = Math.round((performance.now() - start) / 100) / 10;
  return outcome;
}

async function main(): Promise<void> {
  const out = page.document.getElementById('out')!;
  const caps = capabilities();
  const gpu = await deviceInfo('webgpu');
  const outcomes: Outcome[] = [];
  if (stride('cpu') > 0) outcomes.push(await runDevice('cpu'));
  if (gpu.available && stride('webgpu') > 0) outcomes.push(await runDevice('webgpu'));
  // A GEMM large enough for the worker pool, checked against a naive product computed here.
  const n = 192;
  const av = Array.from({ length: n * n }, (_, i) => ((i * 7) % 11) - 5);
  const bv = Array.from({ length: n * n }, (_, i) => ((i * 5) % 13) - 6);
  const big = einsum('ij,jk->ik', tensor(av, { shape: [n, n] }), tensor(bv, { shape: [n, n] })).dataSync();
  let bigErrors = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < n; t++) s += av[i * n + t]! * bv[t * n + j]!;
      if (big[i * n + j] !== s) bigErrors++;
    }
  }
  // (The packed GEMM's state is generated code: under a strict CSP it is never built, and neither is asked for.)
  const gemm = capabilities().codegen ? { ...gemmCapabilities(), errors: bigErrors } : { errors: bigErrors };
  // What explain()/source() say about the CPU kernels of a matmul and a sum.
  const cpuSource = compile('ij,jk->ik', [[40, 40], [40, 40]]).source() + '\n' + compile('ij->i', [[3, 4]]).source();
  const report = { capabilities: caps, webgpu: gpu, crossOriginIsolated: page.crossOriginIsolated, outcomes, cpuSource, gemm };
  out.textContent = JSON.stringify(report, null, 2);
  page.__einjit = { done: true, ...report };
}

main().catch((e: unknown) => {
  const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  page.document.getElementById('out')!.textContent = `ERROR ${text}`;
  page.__einjit = { done: true, error: text };
});
