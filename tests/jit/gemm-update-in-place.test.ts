/**
 * An update in place of a GEMM's product under jit: `w -= lr·(xᵀ·dy)`, as SGD applies a weight gradient, becomes
 * one GEMM whose epilogue reads C's old value (`epilogueReadsC`, gemm-store.ts). Random sizes, learning rates and
 * update forms; a read of the old weight between the product and the update (which must still see the old
 * values, so the update may not move before it), and a read after it (which must see the new ones); two replays,
 * so the second starts from the first's weights. Every result against a float64 loop written here, on every
 * device.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jit, noGrad, tensor, type Device, type Tensor } from '../../src/index.js';
import { DEVICES } from '../helpers/devices.js';
import { redirectGemmStores } from '../../src/jit/gemm-store.js';
import type { GraphBuffer, Launch } from '../../src/jit/trace.js';
import { ex, type Access, type Expr } from '../../src/lower/spec.js';

interface Case {
  readonly b: number;
  readonly i: number;
  readonly o: number;
  readonly lr: number;
  /**
   * 'sgd': w - lr·g; 'decay': w·(1 - lr·wd) - lr·g (two in-place ops); 'twice': w - lr·(g + wd·w) (w named twice);
   * 'flip': w flipped along its rows - lr·g (w read at another element than the one written: not an update in place).
   */
  readonly form: 'sgd' | 'decay' | 'twice' | 'flip';
  /** Read w (x·w) after the product and before the update, and return it. */
  readonly before: boolean;
  /** Read w (x·w) after the update, and return it. */
  readonly after: boolean;
}

const WD = 0.1;

function values(n: number, seed: number): number[] {
  return Array.from({ length: n }, (_, k) => ((((k + 1) * 7919 + seed * 104729) % 2003) / 1001) - 1);
}

/** x·w for x [b, i] and w [i, o], row-major, in float64. */
function matmul(x: readonly number[], w: readonly number[], c: Case): number[] {
  const out = new Array<number>(c.b * c.o).fill(0);
  for (let r = 0; r < c.b; r++) for (let q = 0; q < c.o; q++) {
    let acc = 0;
    for (let p = 0; p < c.i; p++) acc += x[r * c.i + p]! * w[p * c.o + q]!;
    out[r * c.o + q] = acc;
  }
  return out;
}

/** One step in float64: the returned reads and the new weights. */
function step(c: Case, x: readonly number[], dy: readonly number[], w: readonly number[]): { reads: number[][]; w: number[] } {
  const g = new Array<number>(c.i * c.o).fill(0);
  for (let p = 0; p < c.i; p++) for (let q = 0; q < c.o; q++) {
    let acc = 0;
    for (let r = 0; r < c.b; r++) acc += x[r * c.i + p]! * dy[r * c.o + q]!;
    g[p * c.o + q] = acc;
  }
  const reads: number[][] = [];
  if (c.before) reads.push(matmul(x, w, c));
  const next = w.map((v, k) => {
    switch (c.form) {
      case 'sgd': return v - c.lr * g[k]!;
      case 'decay': return v * (1 - c.lr * WD) - c.lr * g[k]!;
      case 'twice': return v - c.lr * (g[k]! + WD * v);
      case 'flip': return w[(c.i - 1 - Math.floor(k / c.o)) * c.o + (k % c.o)]! - c.lr * g[k]!;
    }
  });
  if (c.after) reads.push(matmul(x, next, c));
  return { reads, w: next };
}

function program(c: Case, w: Tensor): (x: Tensor, dy: Tensor) => Tensor[] {
  return (x, dy) => noGrad(() => {
    const g = x.transpose(0, 1).matmul(dy);
    const reads: Tensor[] = [];
    if (c.before) reads.push(x.matmul(w));
    switch (c.form) {
      case 'sgd': w.sub_(g.mul(c.lr)); break;
      case 'decay': w.mul_(1 - c.lr * WD).sub_(g.mul(c.lr)); break;
      case 'twice': w.sub_(g.add(w.mul(WD)).mul(c.lr)); break;
      case 'flip': w.copy_(w.flip(0).sub(g.mul(c.lr))); break;
    }
    if (c.after) reads.push(x.matmul(w));
    return [...reads, dy.sum()];
  });
}

const caseArb: fc.Arbitrary<Case> = fc.record({
  b: fc.integer({ min: 1, max: 40 }),
  i: fc.integer({ min: 1, max: 24 }),
  o: fc.integer({ min: 1, max: 24 }),
  lr: fc.double({ min: 0.01, max: 0.5, noNaN: true }),
  form: fc.constantFrom('sgd' as const, 'decay' as const, 'twice' as const, 'flip' as const),
  before: fc.boolean(),
  after: fc.boolean(),
});

function close(got: ArrayLike<number>, want: readonly number[], scale: number, what: string): void {
  if (got.length !== want.length) throw new Error(`${what}: ${got.length} elements, expected ${want.length}`);
  for (let k = 0; k < want.length; k++) {
    const g = Number(got[k]);
    if (!(Math.abs(g - want[k]!) <= 2e-6 * scale * (1 + Math.abs(want[k]!)))) throw new Error(`${what}: element ${k} is ${g}, expected ${want[k]}`);
  }
}

describe.each(DEVICES)('an update in place of a GEMM product under jit on %s', (device: Device) => {
  /** Two replays after the trace call; each call's reads and weights against float64. */
  const check = async (c: Case): Promise<ReturnType<typeof jit>> => {
    let w64 = values(c.i * c.o, 1);
    const w = tensor(w64, { device }).reshape([c.i, c.o]);
    const f = jit(program(c, w));
    for (let call = 0; call < 3; call++) {
      const x = values(c.b * c.i, 10 + call);
      const dy = values(c.b * c.o, 20 + call);
      const want = step(c, x, dy, w64);
      const out = f(tensor(x, { device }).reshape([c.b, c.i]), tensor(dy, { device }).reshape([c.b, c.o])) as Tensor[];
      const scale = c.b + c.i;
      for (let r = 0; r < want.reads.length; r++) close(await out[r]!.data(), want.reads[r]!, scale, `call ${call}, read ${r} of ${JSON.stringify(c)}`);
      close(await w.data(), want.w, scale, `call ${call}, the weights of ${JSON.stringify(c)}`);
      w64 = want.w;
    }
    return f;
  };

  it('SGD on a weight gradient: the update is the GEMM epilogue, one launch fewer, the product never written', async () => {
    const c: Case = { b: 33, i: 20, o: 17, lr: 0.05, form: 'sgd', before: false, after: false };
    const f = await check(c);
    // Eager runs five kernels, the product, its scale and the update among them; jit the GEMM with the update, and the sum.
    expect(f.stats()).toMatchObject({ eagerLaunches: 5, launches: 2, intermediateBytesWithoutReuse: 0 });
    expect(f.explain()).toMatch(/gemm .*fused \d+ ops: .*mul scalar, sub, copy_/);
    expect(f.source()).toMatch(device === 'cpu' ? /epilogue \(reads C's old value\)/ : /let e0 = c\[c_base \+ m \* params\.c_row_stride/);
  });

  it("a read of the old weights between the product and the update still sees them; a read after sees the new", async () => {
    await check({ b: 9, i: 7, o: 5, lr: 0.3, form: 'sgd', before: true, after: true });
    await check({ b: 9, i: 7, o: 5, lr: 0.3, form: 'decay', before: true, after: false });
    await check({ b: 9, i: 7, o: 5, lr: 0.3, form: 'flip', before: false, after: true });
  });

  it('property: random sizes, rates, update forms and reads around the update', async () => {
    await fc.assert(fc.asyncProperty(caseArb, async (c) => { await check(c); }), { numRuns: device === 'cpu' ? 60 : 12 });
  });
});

describe('redirectGemmStores on a graph built by hand', () => {
  // g = x·dy (a [4, 3] product), then w = f(w, g) over [4, 3]: w read through the accesses under test.
  const buffers: GraphBuffer[] = [
    { id: 0, device: 'cpu', dtype: 'float32', length: 20, origin: { kind: 'input', leaf: 0 } },
    { id: 1, device: 'cpu', dtype: 'float32', length: 15, origin: { kind: 'input', leaf: 1 } },
    { id: 2, device: 'cpu', dtype: 'float32', length: 12, origin: { kind: 'input', leaf: 2 } },
    { id: 3, device: 'cpu', dtype: 'float32', length: 12, origin: { kind: 'alloc', zeroed: false } },
  ];
  const gemm: Launch = {
    device: 'cpu', inputs: [0, 1], output: 3, ops: ['matmul'],
    spec: {
      kind: 'gemm', label: 'x·dy', dtype: 'float32', batch: [], m: 4, n: 3, k: 5,
      a: { offset: 0, batchStrides: [], rowStride: 5, colStride: 1 },
      b: { offset: 0, batchStrides: [], rowStride: 3, colStride: 1 },
      c: { offset: 0, batchStrides: [], rowStride: 3, colStride: 1 },
    },
  };
  const plain: Access = { dtype: 'float32', offset: 0, strides: [3, 1] };
  const update = (reads: readonly Access[]): Launch => {
    const expr = reads.reduce<Expr>((e, _, i) => ex.binary('add', e, ex.input(i + 1)), ex.binary('mul', ex.input(0), ex.const(-0.1)));
    return {
      device: 'cpu', inputs: [3, ...reads.map(() => 2)], output: 2, ops: ['update'],
      spec: { kind: 'loop', label: 'update', sizes: [4, 3], parallel: 2, reduceOp: null, inputs: [plain, ...reads], output: plain, expr, computeType: 'float32' },
    };
  };
  const redirect = (reads: readonly Access[]): readonly Launch[] =>
    redirectGemmStores({ buffers, launches: [gemm, update(reads)] }, new Set()).launches;

  it('w read at the element written becomes the epilogue read of C', () => {
    const out = redirect([plain]);
    expect(out).toHaveLength(1);
    expect(out[0]!.spec).toMatchObject({ kind: 'gemm', epilogueReadsC: true, c: { offset: 0, rowStride: 3, colStride: 1 } });
    expect(out[0]!.inputs).toEqual([0, 1]);
    expect(out[0]!.output).toBe(2);
  });

  it('w read at another element (flipped rows, transposed) or through two accesses is not an update in place', () => {
    expect(redirect([{ dtype: 'float32', offset: 9, strides: [-3, 1] }])).toHaveLength(2);
    expect(redirect([{ dtype: 'float32', offset: 0, strides: [1, 4] }])).toHaveLength(2);
    expect(redirect([plain, { dtype: 'float32', offset: 9, strides: [-3, 1] }])).toHaveLength(2);
  });
});
