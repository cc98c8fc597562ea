/**
 * jit's contract: which calls retrace, that a replay does not run the function's JavaScript, what is refused
 * inside a trace (host reads; results carry no graph), what fusion does to launch counts and intermediates, and the cases
 * where a chain must stay split (a value also returned, read twice, read through a reshape that cuts across
 * the producer's loops, written in between, updated in place). Expected values are plain float64 loops.
 */
import { describe, expect, it } from 'vitest';
import {
  EinjitError, full, jit, nn, noGrad, profile, randn, tensor, tidy, zeros, type Tensor,
} from '../../src/index.js';
import { getBackend } from '../../src/runtime/backend.js';
import { DEVICES } from '../helpers/devices.js';

const GELU_C = Math.sqrt(2 / Math.PI);

/** Float64 reference of an elementwise function over a tensor's row-major values. */
function mapF64(t: Tensor, f: (x: number, i: number) => number): Float64Array {
  return Float64Array.from(t.dataSync(), (x, i) => f(Number(x), i));
}

async function expectClose(t: Tensor, want: ArrayLike<number>, tol = 1e-5): Promise<void> {
  const got = await t.data();
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(Number(got[i]) - want[i]!) <= tol * (1 + Math.abs(want[i]!)))) {
      throw new Error(`element ${i}: got ${got[i]}, expected ${want[i]}`);
    }
  }
}

/** erf in float64: its Maclaurin series below 2.5, the continued fraction of erfc above (both to ~1e-15). */
function erf(x: number): number {
  const z = Math.abs(x);
  let r: number;
  if (z < 2.5) {
    // Maclaurin series: 2/√π Σ (-1)^n z^(2n+1) / (n! (2n+1)).
    let term = z;
    let sum = z;
    for (let n = 1; n < 60; n++) {
      term *= -z * z / n;
      sum += term / (2 * n + 1);
    }
    r = (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    // Continued fraction for erfc, evaluated from the tail.
    let f = 0;
    for (let n = 60; n >= 1; n--) f = (n / 2) / (z + f);
    r = 1 - Math.exp(-z * z) / Math.sqrt(Math.PI) / (z + f);
  }
  return x < 0 ? -r : r;
}

async function launches(fn: () => unknown): Promise<number> {
  return (await profile(fn)).launches;
}

describe('retracing', () => {
  it('replays without running the function, and retraces on a new shape, dtype, layout, offset, alias, grad mode or primitive', () => {
    let calls = 0;
    const f = jit((x: Tensor, y: Tensor, k: number) => {
      calls++;
      return x.mul(k).add(y);
    });
    const x = randn([3, 4]);
    const y = randn([3, 4]);
    f(x, y, 2);
    f(randn([3, 4]), randn([3, 4]), 2);
    f(x, y, 2);
    expect([calls, f.stats()!.traces]).toEqual([1, 1]);
    const retraces: [string, () => unknown][] = [
      ['shape', () => f(randn([4, 3]), randn([4, 3]), 2)],
      ['dtype', () => f(randn([3, 4], { dtype: 'float64' }), randn([3, 4], { dtype: 'float64' }), 2)],
      ['strides', () => f(randn([4, 3]).transpose(0, 1), y, 2)],
      ['offset', () => f(randn([4, 4]).narrow(0, 1, 3), y, 2)],
      ['storage size', () => f(randn([4, 4]).narrow(0, 0, 3), y, 2)],
      ['aliasing', () => f(x, x, 2)],
      ['primitive', () => f(x, y, 3)],
      ['grad mode', () => noGrad(() => f(x, y, 2))],
    ];
    for (const [what, call] of retraces) {
      const before = f.stats()!.traces;
      call();
      expect(f.stats()!.traces, what).toBe(before + 1);
      call();
      expect(f.stats()!.traces, `${what}, called again`).toBe(before + 1);
    }
    expect(calls).toBe(1 + retraces.length);
  });

  it('replays compute from the new arguments, and keep the argument and result trees', async () => {
    const f = jit((args: { a: Tensor; b: [Tensor, number] }) => ({ sum: args.a.add(args.b[0]).mul(args.b[1]), tag: 'x', a: args.a }));
    for (let i = 0; i < 3; i++) {
      const a = randn([5]);
      const b = randn([5]);
      const r = f({ a, b: [b, 0.5] }) as { sum: Tensor; tag: string; a: Tensor };
      const bv = b.dataSync();
      await expectClose(r.sum, mapF64(a, (v, j) => (v + Number(bv[j])) * 0.5));
      expect(r.tag).toBe('x');
      // A returned argument is that argument's storage, not a copy.
      expect(r.a.storage).toBe(a.storage);
    }
    expect(f.stats()!.traces).toBe(1);
  });

  it('reads closed-over tensors at every replay and repeats in-place updates of them', async () => {
    const w = tensor([1, 2, 3]);
    const step = jit((g: Tensor) => w.sub_(g.mul(0.5)));
    const g = tensor([2, 4, 6]);
    for (let i = 1; i <= 3; i++) {
      const r = step(g) as Tensor;
      expect(r.storage).toBe(w.storage);
      await expectClose(w, [1 - i, 2 - 2 * i, 3 - 3 * i]);
    }
    // g · 0.5 folds into the subtraction, and the subtraction into the copy into w: on the CPU one kernel reads
    // each element of w and writes it back (WebGPU keeps the copy: tests/jit's fusion suite).
    expect(step.stats()!.launches).toBe(1);
    expect(await launches(() => step(g))).toBe(1);
  });

  it('keeps tensors made from host values inside the function as constants of the trace', async () => {
    const f = jit((x: Tensor) => x.add(tensor([10, 20])));
    f(tensor([1, 2]));
    await expectClose(f(tensor([3, 4])) as Tensor, [13, 24]);
  });

  it('keeps those constants when the trace call ran inside tidy()', async () => {
    const f = jit((x: Tensor) => x.add(tensor([10, 20])).mul(full([2], 3)));
    tidy(() => f(tensor([1, 2])));
    await expectClose(tidy(() => f(tensor([3, 4])) as Tensor), [39, 72]);
  });
});

describe('what a trace refuses', () => {
  it('host reads inside the function, with a hint, and caches nothing', () => {
    const reads: [string, (x: Tensor) => unknown][] = [
      ['item', (x) => x.sum().item()],
      ['toArray', (x) => x.toArray()],
      ['dataSync', (x) => x.dataSync()],
      // A read the function does not even await is refused when the function returns (on the CPU, data() reads
      // through dataSync).
      ['(data|dataSync)', (x) => { x.data().catch(() => undefined); return x.exp(); }],
    ];
    for (const [op, body] of reads) {
      const f = jit(body);
      const call = (): unknown => f(randn([2]));
      expect(call, op).toThrow(EinjitError);
      expect(call, op).toThrow(new RegExp(`${op}\\(\\) reads tensor values on the host inside a jitted function`));
      try {
        call();
      } catch (e) {
        expect((e as EinjitError).hint).toMatch(/return the tensor and read it outside/);
      }
      expect(f.stats(), op).toBeNull();
    }
  });

  it('gradients: results carry no graph, also when computed from closed-over weights that require grad', async () => {
    const w = randn([3], { requiresGrad: true });
    const g = jit((x: Tensor) => x.mul(w));
    for (let i = 0; i < 2; i++) {
      const x = randn([3]);
      const r = g(x) as Tensor;
      expect(r.requiresGrad).toBe(false);
      const [xv, wv] = [x.dataSync(), w.dataSync()];
      expect(Array.from(r.dataSync())).toEqual(Array.from(xv, (v, j) => Math.fround(v * wv[j]!)));
    }
    expect(g.stats()!.traces).toBe(1);
  });

  it('values it cannot key on: functions and promises, and a non-function', () => {
    expect(() => jit((x: Tensor, _k: unknown) => x)(randn([1]), () => 1)).toThrow(/got a function/);
    expect(() => jit(async (x: Tensor) => x)(randn([1]))).toThrow(/must be synchronous/);
    expect(() => jit(3 as never)).toThrow(/jit expects a function, got number/);
  });
});

describe.each(DEVICES)('fusion on %s', (device) => {
  const rand = (shape: number[]): Tensor => randn(shape, { device });

  it('a GELU chain is one kernel with no intermediates, against a float64 loop', async () => {
    const gelu = (x: Tensor): Tensor => x.mul(0.5).mul(x.add(x.pow(3).mul(0.044715)).mul(GELU_C).tanh().add(1));
    const f = jit(gelu);
    const x = rand([37, 19]);
    f(x);
    const eager = await launches(() => gelu(x));
    const jitted = await launches(() => f(x));
    expect(jitted).toBe(1);
    expect(eager).toBeGreaterThan(5);
    const s = f.stats()!;
    expect([s.launches, s.eagerLaunches, s.intermediateBytes]).toEqual([1, eager, 0]);
    expect(s.eagerIntermediateBytes).toBe((eager - 1) * 37 * 19 * 4);
    const xs = await x.to('cpu');
    await expectClose(f(x) as Tensor, mapF64(xs, (v) => 0.5 * v * (1 + Math.tanh(GELU_C * (v + 0.044715 * v ** 3)))));
  });

  it('broadcasts fuse: (x · y[j]).exp() + z[i] is one kernel', async () => {
    const f = jit((x: Tensor, y: Tensor, z: Tensor) => x.mul(y).exp().add(z));
    const [x, y, z] = [rand([4, 6]), rand([6]), rand([4, 1])];
    f(x, y, z);
    expect(f.stats()!.launches).toBe(1);
    const [xv, yv, zv] = await Promise.all([x.data(), y.data(), z.data()]);
    await expectClose(f(x, y, z) as Tensor, Array.from(xv, (v, k) => Math.exp(v * yv[k % 6]!) + zv[Math.floor(k / 6)]!));
  });

  it('a value also returned stays materialised; one read twice is computed once', async () => {
    const f = jit((x: Tensor) => {
      const u = x.exp();
      return [u, u.add(1).mul(u.sin())];
    });
    // In (-1, 1): sin's argument e^x stays below π, where WGSL's sin is accurate (a normal draw of 3 made it 20, and
    // lavapipe's sin of that missed the float64 value by 3.4·10⁻⁵ relative once).
    const x = rand([10]).tanh();
    f(x);
    // exp (returned, and read by two kernels) stays; add and sin fold into mul.
    expect(f.stats()!.launches).toBe(2);
    const [u, v] = f(x) as Tensor[];
    const xs = await x.to('cpu');
    await expectClose(u!, mapF64(xs, Math.exp));
    await expectClose(v!, mapF64(xs, (t) => (Math.exp(t) + 1) * Math.sin(Math.exp(t))));
  });

  it('a reduction reads the maps before it inside its loop; GEMMs stay their own kernels', async () => {
    const f = jit((x: Tensor, w: Tensor) => x.matmul(w).relu().mul(2).sum(1).sqrt().add(1));
    const [x, w] = [rand([3, 4]), rand([4, 5])];
    f(x, w);
    expect(f.explain().split('\n').slice(3).map((l) => l.replace(/^ +\d+\. \w+ /, ''))).toEqual([
      'gemm 3x4x5  matmul [3, 4] @ [4, 5]',
      'loop [3, 5]  fused 3 ops: relu, mul scalar, sum over dims [1] of [3, 5]',
      'loop [3]  fused 2 ops: sqrt, add scalar',
    ]);
    const [xv, wv] = [await x.data(), await w.data()];
    const want = Array.from({ length: 3 }, (_, i) => {
      let s = 0;
      for (let j = 0; j < 5; j++) {
        let m = 0;
        for (let k = 0; k < 4; k++) m += xv[i * 4 + k]! * wv[k * 5 + j]!;
        s += Math.max(m, 0) * 2;
      }
      return Math.sqrt(s) + 1;
    });
    await expectClose(f(x, w) as Tensor, want);
  });

  it('softmax: the shifted exp written once on the CPU, recomputed by its two readers on a GPU, against a float64 loop', async () => {
    const f = jit((x: Tensor) => x.softmax(1));
    const x = rand([4, 9]);
    f(x);
    // CPU: exp(x - max) with the max as a row value (materialised: the sum and the division read it, and
    // recomputing exp costs more than reading it back); the division with the sum as a row value. GPU: one kernel
    // per row (max, sum of exp(x - max), then exp(x - max) / sum). Eager: max, sub, exp, sum, div.
    expect(f.explain().split('\n').slice(1, 2)).toEqual([device === 'cpu' ? 'launches: 2 (eager 5)' : 'launches: 1 (eager 5)']);
    const xv = await x.data();
    const want = Array.from({ length: 36 }, (_, k) => {
      const row = Array.from(xv.subarray(Math.floor(k / 9) * 9, Math.floor(k / 9) * 9 + 9), Number);
      const m = Math.max(...row);
      return Math.exp(xv[k]! - m) / row.reduce((acc, v) => acc + Math.exp(v - m), 0);
    });
    await expectClose(f(x) as Tensor, want);
  });

  it('long reductions of a fused expression (every reduce path of both backends) against a float64 sum', async () => {
    const f = jit((x: Tensor) => [x.mul(0.5).add(1).square().sum(1), x.abs().sum()]);
    const x = rand([3, 70_000]);
    f(x);
    expect(f.stats()!.launches).toBe(2);
    const xv = await x.data();
    const rows = [0, 1, 2].map((i) => {
      let s = 0;
      for (let j = 0; j < 70_000; j++) s += (xv[i * 70_000 + j]! * 0.5 + 1) ** 2;
      return s;
    });
    const all = Array.from(xv, Number).reduce((acc, v) => acc + Math.abs(v), 0);
    const [r, t] = f(x) as Tensor[];
    await expectClose(r!, rows, 1e-4);
    await expectClose(t!, [all], 1e-4);
  });

  it('argmax, max, prod and a sum along a transposed read fold their producers and keep their meaning', async () => {
    const f = jit((x: Tensor) => [x.square().neg().argmax(1), x.square().max(0), x.mul(0.5).add(1).prod(1), x.exp().transpose(0, 1).sum(1)]);
    const x = tensor([[0.5, -0.25, 2, -0.25], [1, -1, 0.125, 3], [-2, 0.5, 0.75, 1.5]], { device });
    f(x);
    // The max over dim 0 and the transposed sum fold the same rows (4 of 3): one kernel, the max a stored row value.
    expect(f.stats()!.launches).toBe(3);
    const xs = [[0.5, -0.25, 2, -0.25], [1, -1, 0.125, 3], [-2, 0.5, 0.75, 1.5]];
    const [am, mx, pr, sm] = f(x) as Tensor[];
    // -x² is largest where |x| is smallest; the first of equal values wins.
    expect(Array.from(await am!.data(), Number)).toEqual([1, 2, 1]);
    await expectClose(mx!, [0, 1, 2, 3].map((j) => Math.max(...xs.map((r) => r[j]! ** 2))));
    await expectClose(pr!, xs.map((r) => r.reduce((acc, v) => acc * (v * 0.5 + 1), 1)));
    await expectClose(sm!, [0, 1, 2, 3].map((j) => xs.reduce((acc, r) => acc + Math.exp(r[j]!), 0)));
  });

  it('a read through a reshape that cuts across the producer\'s loops stays split and correct', async () => {
    // u is written as [5, 2] (a broadcast keeps both loops); read as [2, 5] beside a transposed operand, the
    // consumer's inner loop of 5 crosses u's row boundary every 2 elements, which no strides express.
    const f = jit((c: Tensor, r: Tensor, q: Tensor) => c.add(r).reshape(2, 5).add(q.transpose(0, 1)));
    const [c, r, q] = [rand([5, 1]), rand([2]), rand([5, 2])];
    f(c, r, q);
    expect(f.stats()!.launches).toBe(2);
    const [cv, rv, qv] = [await c.data(), await r.data(), await q.data()];
    const want = Array.from({ length: 10 }, (_, flat) => {
      const [i, j] = [Math.floor(flat / 5), flat % 5];
      return cv[Math.floor(flat / 2)]! + rv[flat % 2]! + qv[j * 2 + i]!;
    });
    await expectClose(f(c, r, q) as Tensor, want);
  });

  it('a transposed read of a fused producer composes its strides', async () => {
    const f = jit((x: Tensor, y: Tensor) => x.sigmoid().transpose(0, 1).mul(y));
    const [x, y] = [rand([3, 7]), rand([7, 3])];
    f(x, y);
    expect(f.stats()!.launches).toBe(1);
    const [xv, yv] = [await x.data(), await y.data()];
    const want = Array.from({ length: 21 }, (_, flat) => {
      const [i, j] = [Math.floor(flat / 3), flat % 3];
      return yv[flat]! / (1 + Math.exp(-xv[j * 7 + i]!));
    });
    await expectClose(f(x, y) as Tensor, want);
  });

  it('a write between a producer and its consumer keeps the producer where it was', async () => {
    // u reads x before x is doubled in place; folding exp into the add would read the doubled x.
    const f = jit((x: Tensor) => {
      const u = x.exp();
      x.mul_(2);
      return u.add(1);
    });
    const x0 = [0.5, -1, 2];
    f(tensor(x0, { device }));
    const x = tensor(x0, { device });
    const r = f(x) as Tensor;
    await expectClose(r, x0.map((v) => Math.exp(v) + 1));
    await expectClose(x, x0.map((v) => 2 * v));
    // exp stays before the in-place doubling, or runs in one kernel with it (merge.ts: each point reads x before
    // it stores 2x; on WebGPU, where one buffer cannot be bound both ways, the doubling is a mul into a temporary
    // whose copy into x runs in the add's kernel); the add folds nothing across it.
    expect(f.stats()!.launches).toBe(2);
  });

  it('an in-place update that reads other elements of its target is not folded', async () => {
    const f = jit((w: Tensor) => w.copy_(w.mul(2).flip(0)));
    f(tensor([1, 2, 3, 4], { device }));
    const w = tensor([1, 2, 3, 4], { device });
    f(w);
    await expectClose(w, [8, 6, 4, 2]);
  });

  it('a jitted function called inside another traces and replays with it', async () => {
    const inner = jit((x: Tensor) => x.mul(3).add(1));
    const outer = jit((x: Tensor) => inner(x.neg()).relu());
    const x = tensor([-2, -0.5, 1], { device });
    for (let i = 0; i < 3; i++) await expectClose(outer(x) as Tensor, [7, 2.5, 0]);
    expect(outer.stats()!.launches).toBe(1);
  });

  it('int32 and bool chains fuse in their own compute types; a float16 store, which rounds, is not folded', async () => {
    const ints = jit((x: Tensor, y: Tensor) => x.mul(3).add(y).neg().abs());
    const xi = tensor([1, -4, 7, 0], { device, dtype: 'int32' });
    const yi = tensor([2, 2, -30, 5], { device, dtype: 'int32' });
    ints(xi, yi);
    const ri = ints(xi, yi) as Tensor;
    expect(ri.dtype).toBe('int32');
    expect(Array.from(await ri.data())).toEqual([5, 10, 9, 5]);
    expect(ints.stats()!.launches).toBe(1);

    const bools = jit((a: Tensor, b: Tensor) => a.gt(0).logicalAnd(b.lt(0)).logicalOr(a.eq(b)).logicalNot());
    const [a, b] = [tensor([1, -1, 2, 0], { device }), tensor([-1, -1, 3, 0], { device })];
    bools(a, b);
    const rb = bools(a, b) as Tensor;
    expect(rb.dtype).toBe('bool');
    // (a > 0 && b < 0) || a == b, negated.
    expect(Array.from(await rb.data(), Number)).toEqual([0, 0, 1, 0]);
    expect(bools.stats()!.launches).toBeLessThan(bools.stats()!.eagerLaunches);

    const halves = jit((x: Tensor) => x.mul(2).add(1));
    const xh = tensor([0.5, -2, 1024], { device, dtype: 'float16' });
    halves(xh);
    // 2·1024 + 1 = 2049 is a tie between float16's 2048 and 2050 and rounds to even.
    expect(Array.from(await (halves(xh) as Tensor).data(), Number)).toEqual([2, -3, 2048]);
    expect(halves.stats()!.launches).toBe(2);
  });

  it('a replay holds only what it returns: materialised intermediates are released when it ends', () => {
    const f = jit((x: Tensor) => {
      const u = x.exp();
      return u.sum().add(u.max()).add(u.min()).add(u.abs().sum());
    });
    const x = rand([1000]);
    f(x);
    // u is read by four reductions (more readers than a map is recomputed in), so it is materialised (4000 bytes),
    // beside the four scalars the adds read.
    expect(f.stats()!.intermediateBytes).toBe(4000 + 4 * 4);
    const backend = getBackend(device, 'test');
    backend.liveBytes();
    // What one scalar result holds on this device (a GPU buffer has a minimum size).
    const start = backend.liveBytes();
    const scalar = x.sum();
    const one = backend.liveBytes() - start;
    const before = backend.liveBytes();
    const outs = [f(x), f(x), f(x)] as Tensor[];
    expect(backend.liveBytes() - before).toBe(3 * one);
    expect([scalar, ...outs].every((t) => t.size === 1)).toBe(true);
  });

  it('an nn MLP with a layer norm, jitted for inference under noGrad, against float64 loops over its weights', async () => {
    const [l1, norm, l2] = [new nn.Linear(6, 8, { device }), new nn.LayerNorm(8, { device }), new nn.Linear(8, 3, { device })];
    const model = new nn.Sequential(l1, norm, new nn.GELU(), l2);
    const f = jit((x: Tensor) => model.forward(x));
    const x = rand([5, 6]);
    const out = noGrad(() => { f(rand([5, 6])); return f(x) as Tensor; });
    expect(f.stats()!.launches).toBeLessThan(f.stats()!.eagerLaunches);
    const read = async (t: Tensor): Promise<number[]> => Array.from(await t.data(), Number);
    const [xv, w1, b1, w2, b2] = [await read(x), await read(l1.weight), await read(l1.bias!), await read(l2.weight), await read(l2.bias!)];
    const linear = (v: number[], w: readonly number[], b: readonly number[], n: number): number[] =>
      Array.from({ length: n }, (_, o) => v.reduce((acc, vi, i) => acc + vi * w[o * v.length + i]!, b[o]!));
    const gelu = (v: number): number => 0.5 * v * (1 + erf(v / Math.SQRT2));
    const want = [0, 1, 2, 3, 4].flatMap((r) => {
      const h = linear(xv.slice(r * 6, r * 6 + 6), w1, b1, 8);
      const mean = h.reduce((a, v) => a + v, 0) / 8;
      const variance = h.reduce((a, v) => a + (v - mean) ** 2, 0) / 8;
      return linear(h.map((v) => gelu((v - mean) / Math.sqrt(variance + 1e-5))), w2, b2, 3);
    });
    await expectClose(out, want, 1e-4);
  });

  it('explain lists each fused kernel with the ops it absorbed, and launches and bytes against eager', () => {
    const f = jit((x: Tensor) => x.mul(2).exp().add(1));
    expect(f.explain()).toMatch(/not called yet/);
    f(zeros([8], { device }));
    expect(f.explain()).toBe([
      "jit: 1 signature traced; the last call's schedule:",
      'launches: 1 (eager 3)',
      'intermediate bytes: 0 (0 without reuse; eager 64)',
      `  1. ${device} loop [8]  fused 3 ops: mul scalar, exp, add scalar`,
    ].join('\n'));
    expect(f.source()).toMatch(device === 'cpu' ? /fused mul scalar, exp, add scalar/ : /@compute/);
  });
});
