/**
 * Random tensor programs (elementwise maps, broadcasts, selects, reductions, einsum and matmul) run three ways:
 * eager, jitted (the trace call and a replay on fresh inputs), and by a float64 interpreter written here. The
 * jitted results match the oracle within float32 tolerance on every device (and within float64 tolerance in
 * float64 on the CPU), and a replay never launches more kernels than eager execution.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { einsum, jit, profile, tensor, where, type Device, type Tensor } from '../../src/index.js';
import { DEVICES } from '../helpers/devices.js';
import { prng } from '../helpers/random.js';

/** Every value is [a, b] ('full'), [a, 1] ('col') or [1, b] ('row'); the row input is 1-D [b], as broadcasting allows. */
type Kind = 'full' | 'col' | 'row';

type Node =
  | { readonly op: 'unary'; readonly fn: Unary; readonly x: number }
  | { readonly op: 'scalar'; readonly fn: 'mul' | 'add'; readonly x: number; readonly c: number }
  | { readonly op: 'binary'; readonly fn: Binary; readonly x: number; readonly y: number }
  | { readonly op: 'where'; readonly x: number; readonly y: number }
  | { readonly op: 'sum1' | 'mean0' | 'max1' | 'einsum' | 'matmul' | 'lastRow' | 'lastCol' | 'transpose' | 'flip' | 'twist'; readonly x: number };

const UNARY = ['tanh', 'sigmoid', 'relu', 'neg', 'abs', 'sin', 'cos', 'square'] as const;
type Unary = (typeof UNARY)[number];
const BINARY = ['add', 'sub', 'mul', 'maximum', 'minimum'] as const;
type Binary = (typeof BINARY)[number];

/** Inputs: 0 X [a, b] (contiguous or a transposed view), 1 P [a, b], 2 Y [b], 3 Z [a, 1], 4 W [b, b]. */
const INPUTS = 5;

interface Program {
  readonly a: number;
  readonly b: number;
  readonly transposedX: boolean;
  readonly nodes: readonly Node[];
  /** Values returned: the last node and one earlier value, which must then stay materialised. */
  readonly outputs: readonly number[];
}

const f32 = Math.fround;

function makeProgram(seed: number): Program {
  const rand = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const a = 1 + Math.floor(rand() * 5);
  const b = 1 + Math.floor(rand() * 5);
  const kinds: Kind[] = ['full', 'full', 'row', 'col'];
  const nodes: Node[] = [];
  const values = (): number[] => Array.from({ length: INPUTS - 1 + nodes.length }, (_, i) => (i < 4 ? i : i + 1));
  const kindOf = (v: number): Kind => (v < INPUTS ? kinds[v]! : kinds[v - 1]!);
  const count = 1 + Math.floor(rand() * 8);
  for (let i = 0; i < count; i++) {
    // Lean on the newest value so chains form.
    const x = rand() < 0.6 && nodes.length > 0 ? INPUTS + nodes.length - 1 : pick(values());
    const r = rand();
    let node: Node;
    if (r < 0.3) node = { op: 'unary', fn: pick(UNARY), x };
    else if (r < 0.45) node = { op: 'scalar', fn: pick(['mul', 'add'] as const), x, c: pick([0.5, -1.25, 2, 3]) };
    else if (r < 0.7) node = { op: 'binary', fn: pick(BINARY), x, y: pick(values()) };
    else if (r < 0.78) node = { op: 'where', x, y: pick(values()) };
    else if (kindOf(x) === 'full') {
      // Views of a value (slices with an offset, a transpose, a flip) make later reads of it strided.
      // twist reads a value through a reshape beside a transposed operand, so its loops cut across the producer's.
      const views = a === b ? ['lastRow', 'lastCol', 'transpose', 'flip'] as const : ['lastRow', 'lastCol', 'flip', 'twist', 'twist'] as const;
      node = { op: pick([...views, 'sum1', 'mean0', 'max1', 'einsum', 'matmul'] as const), x };
    }
    else node = { op: 'unary', fn: pick(UNARY), x };
    nodes.push(node);
    kinds.push(kindAfter(node, kindOf));
  }
  const last = INPUTS + nodes.length - 1;
  return { a, b, transposedX: rand() < 0.4, nodes, outputs: [last, pick(values())] };
}

function kindAfter(n: Node, kindOf: (v: number) => Kind): Kind {
  const join = (...ks: Kind[]): Kind => (ks.includes('full') || (ks.includes('row') && ks.includes('col')) ? 'full' : ks[0]!);
  switch (n.op) {
    case 'unary': case 'scalar': return kindOf(n.x);
    case 'binary': return join(kindOf(n.x), kindOf(n.y));
    case 'where': return 'full';
    case 'sum1': case 'max1': case 'lastCol': return 'col';
    case 'mean0': case 'lastRow': return 'row';
    case 'einsum': case 'matmul': case 'transpose': case 'flip': case 'twist': return 'full';
  }
}

// -------------------------------------------------------------------------------------------------------------
// The program on tensors

function runTensors(p: Program, inputs: readonly Tensor[]): Tensor[] {
  const vals: Tensor[] = [...inputs];
  for (const n of p.nodes) vals.push(step(n, vals));
  return p.outputs.map((v) => vals[v]!);
}

function step(n: Node, v: readonly Tensor[]): Tensor {
  const x = v[n.x]!;
  switch (n.op) {
    case 'unary': return x[n.fn]();
    case 'scalar': return x[n.fn](n.c);
    case 'binary': return x[n.fn](v[n.y]!);
    // The condition compares two inputs, exact in float32 and float64 alike, so no rounding flips a branch.
    case 'where': return where(v[0]!.gt(v[1]!), x, v[n.y]!);
    case 'sum1': return x.sum(1, true);
    case 'max1': return x.max(1, true);
    case 'mean0': return x.mean(0, true);
    case 'einsum': return einsum('ij,jk->ik', x, v[4]!);
    case 'matmul': return x.matmul(v[4]!);
    case 'lastRow': return x.narrow(0, x.shape[0]! - 1, 1);
    case 'lastCol': return x.narrow(1, x.shape[1]! - 1, 1);
    case 'transpose': return x.transpose(0, 1);
    case 'flip': return x.flip(1);
    case 'twist': {
      const [a, b] = x.shape as [number, number];
      return x.reshape(b, a).add(v[1]!.transpose(0, 1)).reshape(a, b);
    }
  }
}

// -------------------------------------------------------------------------------------------------------------
// The float64 oracle: every value is an [a, b], [a, 1] or [1, b] array, row-major.

interface Value { readonly rows: number; readonly cols: number; readonly data: Float64Array }

function at(v: Value, i: number, j: number): number {
  return v.data[(v.rows === 1 ? 0 : i) * v.cols + (v.cols === 1 ? 0 : j)]!;
}

function build(rows: number, cols: number, f: (i: number, j: number) => number): Value {
  const data = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) data[i * cols + j] = f(i, j);
  return { rows, cols, data };
}

const UNARY_F64: Record<Unary, (x: number) => number> = {
  tanh: Math.tanh, sigmoid: (x) => 1 / (1 + Math.exp(-x)), relu: (x) => Math.max(x, 0), neg: (x) => -x,
  abs: Math.abs, sin: Math.sin, cos: Math.cos, square: (x) => x * x,
};
const BINARY_F64: Record<Binary, (x: number, y: number) => number> = {
  add: (x, y) => x + y, sub: (x, y) => x - y, mul: (x, y) => x * y, maximum: Math.max, minimum: Math.min,
};

/** The outputs, and the largest magnitude of any value on the way (float32 errors scale with it). */
function runOracle(p: Program, inputs: readonly Value[]): { outputs: Value[]; scale: number } {
  const { a, b } = p;
  const vals: Value[] = [...inputs];
  const zip = (x: Value, y: Value, f: (s: number, t: number) => number): Value =>
    build(Math.max(x.rows, y.rows), Math.max(x.cols, y.cols), (i, j) => f(at(x, i, j), at(y, i, j)));
  for (const n of p.nodes) {
    const x = vals[n.x]!;
    let out: Value;
    switch (n.op) {
      case 'unary': out = build(x.rows, x.cols, (i, j) => UNARY_F64[n.fn](at(x, i, j))); break;
      case 'scalar': out = build(x.rows, x.cols, (i, j) => (n.fn === 'mul' ? at(x, i, j) * n.c : at(x, i, j) + n.c)); break;
      case 'binary': out = zip(x, vals[n.y]!, BINARY_F64[n.fn]); break;
      case 'where': {
        const cond = zip(vals[0]!, vals[1]!, (s, t) => (s > t ? 1 : 0));
        out = build(a, b, (i, j) => (at(cond, i, j) !== 0 ? at(x, i, j) : at(vals[n.y]!, i, j)));
        break;
      }
      case 'sum1': out = build(a, 1, (i) => { let s = 0; for (let j = 0; j < b; j++) s += at(x, i, j); return s; }); break;
      case 'max1': out = build(a, 1, (i) => { let m = -Infinity; for (let j = 0; j < b; j++) m = Math.max(m, at(x, i, j)); return m; }); break;
      case 'mean0': out = build(1, b, (_, j) => { let s = 0; for (let i = 0; i < a; i++) s += at(x, i, j); return s / a; }); break;
      case 'lastRow': out = build(1, b, (_, j) => at(x, a - 1, j)); break;
      case 'lastCol': out = build(a, 1, (i) => at(x, i, b - 1)); break;
      case 'transpose': out = build(a, b, (i, j) => at(x, j, i)); break;
      case 'flip': out = build(a, b, (i, j) => at(x, i, b - 1 - j)); break;
      case 'twist': {
        // Element f of x read as [b, a] at (f / a, f % a), plus input P transposed there.
        const pin = vals[1]!;
        out = build(a, b, (i, j) => { const f = i * b + j; return x.data[f]! + at(pin, f % a, Math.floor(f / a)); });
        break;
      }
      case 'einsum': case 'matmul': {
        const w = vals[4]!;
        out = build(a, b, (i, k) => { let s = 0; for (let j = 0; j < b; j++) s += at(x, i, j) * at(w, j, k); return s; });
        break;
      }
    }
    vals.push(out);
  }
  const scale = vals.reduce((m, v) => v.data.reduce((n, x) => Math.max(n, Math.abs(x)), m), 1);
  return { outputs: p.outputs.map((v) => vals[v]!), scale };
}

// -------------------------------------------------------------------------------------------------------------

/** Inputs for one call: float32-exact values in [-1.5, 1.5], as tensors on the device and as oracle arrays. */
function makeInputs(p: Program, seed: number, device: Device, dtype: 'float32' | 'float64' = 'float32'): { tensors: Tensor[]; values: Value[] } {
  const rand = prng(seed);
  const { a, b } = p;
  const fill = (rows: number, cols: number): Value => build(rows, cols, () => f32(rand() * 3 - 1.5));
  const values = [fill(a, b), fill(a, b), fill(1, b), fill(a, 1), fill(b, b)];
  const array = (v: Value): Float32Array | Float64Array => (dtype === 'float32' ? Float32Array.from(v.data) : Float64Array.from(v.data));
  const t = (v: Value, shape: number[]): Tensor => tensor(array(v), { shape, device });
  const X = p.transposedX
    ? tensor(array(build(b, a, (j, i) => at(values[0]!, i, j))), { shape: [b, a], device }).transpose(0, 1)
    : t(values[0]!, [a, b]);
  const tensors = [X, t(values[1]!, [a, b]), t(values[2]!, [b]), t(values[3]!, [a, 1]), t(values[4]!, [b, b])];
  return { tensors, values };
}

async function expectMatches(
  got: readonly Tensor[], oracle: ReturnType<typeof runOracle>, p: Program, what: string, unit = 1e-6,
): Promise<void> {
  // Rounding errors, a few units of 2^-24 (float32) per op relative to the largest value on the way (a sin of a
  // large value keeps its argument's absolute error); fused kernels skip the roundings of intermediates.
  const tol = unit * (1 + p.nodes.length) * oracle.scale;
  for (let k = 0; k < oracle.outputs.length; k++) {
    const w = oracle.outputs[k]!;
    const g = await got[k]!.data();
    expect(g.length, `${what} output ${k} size`).toBe(w.data.length);
    for (let i = 0; i < w.data.length; i++) {
      if (!(Math.abs(Number(g[i]) - w.data[i]!) <= tol)) {
        throw new Error(`${what} output ${k} element ${i}: got ${g[i]}, float64 oracle ${w.data[i]}`);
      }
    }
  }
}

async function launches(fn: () => unknown): Promise<number> {
  return (await profile(fn)).launches;
}

describe.each(DEVICES)('random programs jitted on %s', (device) => {
  it('match the float64 oracle on the trace call and on replays, with no more launches than eager', async () => {
    let runs = 0;
    let fewer = 0;
    await fc.assert(
      fc.asyncProperty(fc.noShrink(fc.integer()), async (seed) => {
        const p = makeProgram(seed);
        const what = `seed ${seed} ${JSON.stringify(p)}`;
        const f = jit((...xs: Tensor[]) => runTensors(p, xs));
        const first = makeInputs(p, seed + 1, device);
        await expectMatches(f(...first.tensors), runOracle(p, first.values), p, `${what} (trace)`);
        const second = makeInputs(p, seed + 2, device);
        const oracle = runOracle(p, second.values);
        await expectMatches(f(...second.tensors), oracle, p, `${what} (replay)`);
        await expectMatches(runTensors(p, second.tensors), oracle, p, `${what} (eager)`);
        const jitted = await launches(() => f(...second.tensors));
        const eager = await launches(() => runTensors(p, second.tensors));
        expect(jitted, what).toBeLessThanOrEqual(eager);
        expect(f.stats()!.traces, what).toBe(1);
        runs++;
        if (jitted < eager) fewer++;
      }),
      { numRuns: device === 'cpu' ? 300 : 40, seed: 20261207 },
    );
    // Not vacuous: most programs have a chain to fuse.
    expect(fewer).toBeGreaterThan(runs / 3);
  }, 120_000);
});

describe('random programs jitted in float64 on cpu', () => {
  it('match the float64 oracle to float64 precision', async () => {
    await fc.assert(
      fc.asyncProperty(fc.noShrink(fc.integer()), async (seed) => {
        const p = makeProgram(seed);
        const what = `seed ${seed} ${JSON.stringify(p)}`;
        const f = jit((...xs: Tensor[]) => runTensors(p, xs));
        for (const k of [1, 2]) {
          const inputs = makeInputs(p, seed + k, 'cpu', 'float64');
          const got = f(...inputs.tensors) as Tensor[];
          expect(got.every((t) => t.dtype === 'float64'), what).toBe(true);
          await expectMatches(got, runOracle(p, inputs.values), p, `${what} (call ${k})`, 1e-14);
        }
      }),
      { numRuns: 150 },
    );
  }, 120_000);
});
