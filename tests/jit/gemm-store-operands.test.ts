/**
 * A GEMM whose product one elementwise map reads together with other buffers (a bias broadcast over rows, a
 * residual of the product's shape, as a contiguous tensor, a transposed view or a view at an offset) stores that
 * map's values itself under jit (gemm-store.ts): random graphs `scale · gelu(x·W + b) ⊙ r + r'` style, jitted and
 * replayed on new values on every device, against a float64 loop written here and against eager execution, in
 * one launch where eager needs one per op. Then the limits: more operands than a GEMM binds stay a kernel of
 * their own, and an in-place add into a tensor the map also reads is not folded.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jit, tensor, type Device, type Tensor } from '../../src/index.js';
import { DEVICES } from '../helpers/devices.js';

type Layout = 'contiguous' | 'transposed' | 'offset';
type Step =
  | { op: 'bias' }
  | { op: 'residual' | 'gate' }
  | { op: 'scale'; c: number }
  | { op: 'relu' | 'gelu' | 'tanh' };

interface Case {
  /** Leading batch of x (0: x is [M, K]). */
  readonly batch: number;
  readonly m: number;
  readonly k: number;
  readonly n: number;
  readonly residual: Layout;
  readonly chain: readonly Step[];
}

function erf(x: number): number {
  const steps = 200;
  const h = x / steps;
  let s = 1 + Math.exp(-x * x);
  for (let i = 1; i < steps; i++) s += (i % 2 === 1 ? 4 : 2) * Math.exp(-((i * h) ** 2));
  return (2 / Math.sqrt(Math.PI)) * (h / 3) * s;
}

function values(length: number, seed: number): number[] {
  return Array.from({ length }, (_, i) => Math.fround(((((i + 1) * 7919 + seed * 104729) % 2003) / 1001) - 1));
}

/** The inputs of one call: x, W, the bias, the residual's storage (laid out as `residual` says). */
interface Inputs { readonly x: number[]; readonly w: number[]; readonly b: number[]; readonly r: number[] }

function inputs(c: Case, seed: number): Inputs {
  const rows = Math.max(1, c.batch) * c.m;
  const rLength = c.residual === 'offset' ? rows * (c.n + 3) : rows * c.n;
  return { x: values(rows * c.k, seed), w: values(c.k * c.n, seed + 1), b: values(c.n, seed + 2), r: values(rLength, seed + 3) };
}

/** The residual's value at row `row` (batch and m flattened) and column j, read from its storage. */
function residualAt(c: Case, r: readonly number[], row: number, j: number): number {
  switch (c.residual) {
    case 'contiguous': return r[row * c.n + j]!;
    // Stored as [batch, n, m] and transposed in the program.
    case 'transposed': return r[Math.floor(row / c.m) * c.n * c.m + j * c.m + (row % c.m)]!;
    // Stored as [..., m, n + 3], the program narrows the last axis to n columns from column 2.
    case 'offset': return r[row * (c.n + 3) + 2 + j]!;
  }
}

function reference(c: Case, v: Inputs): number[] {
  const rows = Math.max(1, c.batch) * c.m;
  const out: number[] = [];
  for (let row = 0; row < rows; row++) for (let j = 0; j < c.n; j++) {
    let acc = 0;
    for (let p = 0; p < c.k; p++) acc += v.x[row * c.k + p]! * v.w[p * c.n + j]!;
    const r = residualAt(c, v.r, row, j);
    out.push(c.chain.reduce((y, st) => {
      switch (st.op) {
        case 'bias': return y + v.b[j]!;
        case 'residual': return y + r;
        case 'gate': return y * r;
        case 'scale': return y * st.c;
        case 'relu': return Math.max(0, y);
        case 'tanh': return Math.tanh(y);
        case 'gelu': return 0.5 * y * (1 + erf(y / Math.SQRT2));
      }
    }, acc));
  }
  return out;
}

function program(c: Case): (x: Tensor, w: Tensor, b: Tensor, r: Tensor) => Tensor {
  return (x, w, b, rStore) => {
    const lead = c.batch > 0 ? [c.batch] : [];
    const r = c.residual === 'contiguous' ? rStore
      : c.residual === 'transposed' ? rStore.reshape([...lead, c.n, c.m]).transpose(-1, -2)
      : rStore.reshape([...lead, c.m, c.n + 3]).narrow(-1, 2, c.n);
    return c.chain.reduce((y, st) => {
      switch (st.op) {
        case 'bias': return y.add(b);
        case 'residual': return y.add(r);
        case 'gate': return y.mul(r);
        case 'scale': return y.mul(st.c);
        case 'relu': return y.relu();
        case 'tanh': return y.tanh();
        case 'gelu': return y.gelu();
      }
    }, x.matmul(w));
  };
}

function args(c: Case, v: Inputs, device: Device): [Tensor, Tensor, Tensor, Tensor] {
  const lead = c.batch > 0 ? [c.batch] : [];
  const rShape = c.residual === 'offset' ? [v.r.length] : [...lead, c.m, c.n];
  return [
    tensor(v.x, { device }).reshape([...lead, c.m, c.k]),
    tensor(v.w, { device }).reshape([c.k, c.n]),
    tensor(v.b, { device }),
    tensor(v.r, { device }).reshape(c.residual === 'transposed' ? [v.r.length] : rShape),
  ];
}

const caseArb: fc.Arbitrary<Case> = fc.record({
  batch: fc.integer({ min: 0, max: 3 }),
  m: fc.integer({ min: 1, max: 9 }),
  k: fc.integer({ min: 1, max: 24 }),
  n: fc.integer({ min: 1, max: 9 }),
  residual: fc.constantFrom<Layout>('contiguous', 'transposed', 'offset'),
  chain: fc.array(fc.oneof(
    fc.constant<Step>({ op: 'bias' }),
    fc.constantFrom<Step>({ op: 'residual' }, { op: 'gate' }),
    fc.double({ min: -2, max: 2, noNaN: true }).map((x): Step => ({ op: 'scale', c: x })),
    fc.constantFrom<Step>({ op: 'relu' }, { op: 'gelu' }, { op: 'tanh' }),
  ), { minLength: 1, maxLength: 4 }),
});

const close = (got: number, want: number, k: number): boolean => Math.abs(got - want) <= 2e-6 * Math.sqrt(k) * 8 * (1 + Math.abs(want));

describe.each(DEVICES)('GEMM epilogues reading a bias and a residual under jit on %s', (device: Device) => {
  const run = async (c: Case): Promise<{ got: number[]; eager: number[]; want: number[]; f: ReturnType<typeof jit> }> => {
    const f = jit(program(c));
    f(...args(c, inputs(c, 1), device));
    const v = inputs(c, 5);
    const out = f(...args(c, v, device)) as Tensor;
    const eager = program(c)(...args(c, v, device));
    return { got: Array.from(await out.data(), Number), eager: Array.from(await eager.data(), Number), want: reference(c, v), f };
  };

  it('relu(x·W + b) + r: one launch instead of four, the bias and residual bound to the GEMM', async () => {
    const c: Case = { batch: 2, m: 5, k: 7, n: 6, residual: 'contiguous', chain: [{ op: 'bias' }, { op: 'relu' }, { op: 'residual' }] };
    const r = await run(c);
    r.got.forEach((g, i) => expect(close(g, r.want[i]!, c.k)).toBe(true));
    expect(r.f.stats()).toMatchObject({ eagerLaunches: 4, launches: 1 });
    expect(r.f.stats()!.intermediateBytesWithoutReuse).toBe(0);
    expect(r.f.explain()).toMatch(/gemm \d+x7x6 {2}fused 4 ops: matmul .*, add, relu, add/);
    expect(r.f.source()).toMatch(device === 'cpu' ? /epilogue: applied as each packed block of C is stored/ : /epilogue input 2, read at each element of C/);
  });

  // Every case compiles its own kernels, which takes seconds each on a software WebGPU device: fewer runs there.
  it('property: random bias, residual and gate chains with scales and activations equal float64 and eager, in one launch', { timeout: 400_000 }, async () => {
    await fc.assert(fc.asyncProperty(caseArb, async (c) => {
      const r = await run(c);
      expect(r.got).toHaveLength(r.want.length);
      r.got.forEach((g, i) => {
        if (!close(g, r.want[i]!, c.k)) throw new Error(`element ${i}: ${g}, float64 ${r.want[i]}`);
        if (!close(g, r.eager[i]!, c.k)) throw new Error(`element ${i}: ${g}, eager ${r.eager[i]}`);
      });
      const s = r.f.stats()!;
      expect(s.launches).toBe(1);
      expect(s.eagerLaunches).toBeGreaterThan(1);
    }), { numRuns: device === 'cpu' ? 60 : 4 });
  });

  it('five operands beside the product fold; six stay a kernel of their own', async () => {
    const sum = (count: number) => (x: Tensor, w: Tensor, ...rs: Tensor[]): Tensor => rs.slice(0, count).reduce((y, r, i) => (i % 2 === 0 ? y.add(r) : y.sub(r)), x.matmul(w));
    for (const [count, launches] of [[5, 1], [6, 2]] as const) {
      const f = jit(sum(count));
      const data = (seed: number) => [values(12, seed), values(12, seed + 1), ...Array.from({ length: count }, (_, i) => values(9, seed + 2 + i))];
      const call = (seed: number): Tensor => {
        const [x, w, ...rs] = data(seed);
        return f(tensor(x!, { device }).reshape([3, 4]), tensor(w!, { device }).reshape([4, 3]), ...rs.map((r) => tensor(r, { device }).reshape([3, 3])));
      };
      call(1);
      const got = Array.from(await call(7).data(), Number);
      const [x, w, ...rs] = data(7);
      for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
        let v = 0;
        for (let p = 0; p < 4; p++) v += x![i * 4 + p]! * w![p * 3 + j]!;
        rs.forEach((r, e) => { v += (e % 2 === 0 ? 1 : -1) * r[i * 3 + j]!; });
        expect(close(got[i * 3 + j]!, v, 4)).toBe(true);
      }
      expect(f.stats()).toMatchObject({ eagerLaunches: 1 + count, launches });
    }
  });

  it('an in-place add of a product into a closed-over tensor is not folded into the GEMM (it reads what it writes)', async () => {
    const acc = tensor(values(6, 3), { device }).reshape([2, 3]);
    const f = jit((x: Tensor, w: Tensor) => { acc.add_(x.matmul(w).relu()); return acc.mul(1); });
    let want = values(6, 3);
    for (let step = 0; step < 3; step++) {
      const [x, w] = [values(8, 10 + step), values(12, 20 + step)];
      const got = Array.from(await (f(tensor(x, { device }).reshape([2, 4]), tensor(w, { device }).reshape([4, 3])) as Tensor).data(), Number);
      want = want.map((a, e) => {
        const [i, j] = [Math.floor(e / 3), e % 3];
        let v = 0;
        for (let p = 0; p < 4; p++) v += x[i * 4 + p]! * w[p * 3 + j]!;
        return a + Math.max(0, v);
      });
      got.forEach((g, e) => expect(close(g, want[e]!, 4)).toBe(true));
    }
    expect(f.stats()!.launches).toBeGreaterThanOrEqual(2);
  });
});
