/**
 * Gradients through jit: a function that computes a loss and takes its gradients with grad() (or vjp) traces the
 * forward and backward passes into one schedule and replays it. Expected values are float64 loops written here
 * (the loss, its gradient by hand, and central differences of the jitted loss), and a whole MLP training step
 * is replayed for several steps against a float64 training loop.
 */
import { describe, expect, it } from 'vitest';
import { EinjitError, grad, jit, noGrad, randn, tensor, vjp, type Tensor } from '../../src/index.js';
import { DEVICES } from '../helpers/devices.js';

async function values(t: Tensor): Promise<number[]> {
  return Array.from(await t.data(), Number);
}

function expectNear(got: readonly number[], want: readonly number[], tol: number, what: string): void {
  expect(got.length, what).toBe(want.length);
  got.forEach((g, i) => {
    if (!(Math.abs(g - want[i]!) <= tol * (1 + Math.abs(want[i]!)))) throw new Error(`${what} element ${i}: got ${g}, expected ${want[i]}`);
  });
}

/** Row-major [r, c] · [c, k] in float64. */
function matmul(a: readonly number[], b: readonly number[], r: number, c: number, k: number): number[] {
  const out = new Array<number>(r * k).fill(0);
  for (let i = 0; i < r; i++) for (let j = 0; j < k; j++) for (let p = 0; p < c; p++) out[i * k + j]! += a[i * c + p]! * b[p * k + j]!;
  return out;
}

function transpose(a: readonly number[], r: number, c: number): number[] {
  return Array.from({ length: r * c }, (_, i) => a[(i % r) * c + Math.floor(i / r)]!);
}

/**
 * loss = Σ tanh(x·w) ⊙ c over x [n, k], w [k, m], c [n, m], and its gradients by hand:
 * dh = c ⊙ (1 − tanh²), dL/dx = dh·wᵀ, dL/dw = xᵀ·dh.
 */
function tanhLossF64(x: number[], w: number[], c: number[], n: number, k: number, m: number): { loss: number; gx: number[]; gw: number[] } {
  const t = matmul(x, w, n, k, m).map(Math.tanh);
  const dh = t.map((v, i) => c[i]! * (1 - v * v));
  return {
    loss: t.reduce((s, v, i) => s + v * c[i]!, 0),
    gx: matmul(dh, transpose(w, k, m), n, m, k),
    gw: matmul(transpose(x, n, k), dh, k, n, m),
  };
}

const tanhLoss = (x: Tensor, w: Tensor, c: Tensor): Tensor => x.matmul(w).tanh().mul(c).sum();

describe.each(DEVICES)('gradients through jit on %s', (device) => {
  const rand = (shape: number[], requiresGrad = false): Tensor => randn(shape, { device, requiresGrad });

  it('grad() inside the function: the loss and both gradients replay against float64 loops, in one schedule', async () => {
    const step = jit((x: Tensor, w: Tensor, c: Tensor) => {
      const loss = tanhLoss(x, w, c);
      return [loss, ...grad(loss, [x, w])];
    });
    for (let call = 0; call < 3; call++) {
      const [x, w, c] = [rand([4, 3], true), rand([3, 5], true), rand([4, 5])];
      const [loss, gx, gw] = step(x, w, c) as Tensor[];
      const want = tanhLossF64(await values(x), await values(w), await values(c), 4, 3, 5);
      expectNear(await values(loss!), [want.loss], 1e-5, 'loss');
      expectNear(await values(gx!), want.gx, 1e-5, 'dL/dx');
      expectNear(await values(gw!), want.gw, 1e-5, 'dL/dw');
      // The results carry no graph and the caller's tensors gain no .grad.
      expect([loss!.requiresGrad, gx!.requiresGrad, x.grad, w.grad]).toEqual([false, false, null, null]);
    }
    const s = step.stats()!;
    expect(s.traces).toBe(1);
    expect(s.launches).toBeLessThan(s.eagerLaunches);
  });

  it('vjp inside the function is value-and-grad, and needs no argument that requires grad', async () => {
    const valueAndGrad = jit((x: Tensor, w: Tensor, c: Tensor) => vjp((xx, ww) => tanhLoss(xx, ww, c), [x, w]));
    for (let call = 0; call < 2; call++) {
      const [x, w, c] = [rand([2, 3]), rand([3, 4]), rand([2, 4])];
      const [loss, [gx, gw]] = valueAndGrad(x, w, c) as [Tensor, Tensor[]];
      const want = tanhLossF64(await values(x), await values(w), await values(c), 2, 3, 4);
      expectNear(await values(loss), [want.loss], 1e-5, 'loss');
      expectNear(await values(gx!), want.gx, 1e-5, 'dL/dx');
      expectNear(await values(gw!), want.gw, 1e-5, 'dL/dw');
    }
    expect(valueAndGrad.stats()!.traces).toBe(1);
  });

  it('a gradient is taken from the arguments, never through the graph the caller built before the call', async () => {
    const base = rand([3], true);
    const scaled = base.mul(2);
    const f = jit((v: Tensor) => grad(v.square().sum(), [v])[0]!);
    const g = f(scaled) as Tensor;
    expectNear(await values(g), (await values(scaled)).map((v) => 2 * v), 1e-6, 'd(Σv²)/dv');
    expect(base.grad).toBeNull();
    // The caller's graph is intact: it still differentiates outside.
    scaled.sum().backward();
    expectNear(await values(base.grad!), [2, 2, 2], 0, 'base.grad');
  });

  it('an MLP training step (forward, backward, SGD on closed-over weights) replays 5 steps like a float64 training loop', async () => {
    const [n, d, h, o, lr] = [8, 3, 6, 2, 0.1];
    const params = [rand([d, h], true), rand([h], true), rand([h, o], true), rand([o], true)];
    const [w1, b1, w2, b2] = params as [Tensor, Tensor, Tensor, Tensor];
    const step = jit((x: Tensor, y: Tensor) => {
      const out = x.matmul(w1).add(b1).tanh().matmul(w2).add(b2);
      const loss = out.sub(y).square().mean();
      const grads = grad(loss, params);
      noGrad(() => params.forEach((p, i) => p.sub_(grads[i]!.mul(lr))));
      return loss;
    });
    // The float64 reference: the same network and update, by hand.
    const ref = await Promise.all(params.map(values));
    for (let s = 0; s < 5; s++) {
      const [x, y] = [rand([n, d]), rand([n, o])];
      const loss = step(x, y) as Tensor;
      const [xv, yv] = [await values(x), await values(y)];
      const [rw1, rb1, rw2, rb2] = ref as [number[], number[], number[], number[]];
      const hid = matmul(xv, rw1, n, d, h).map((v, i) => Math.tanh(v + rb1[i % h]!));
      const out = matmul(hid, rw2, n, h, o).map((v, i) => v + rb2[i % o]!);
      const dout = out.map((v, i) => (2 * (v - yv[i]!)) / (n * o));
      const dz = matmul(dout, transpose(rw2, h, o), n, o, h).map((v, i) => v * (1 - hid[i]! ** 2));
      const sums = (g: number[], cols: number): number[] => Array.from({ length: cols }, (_, j) => g.filter((_, i) => i % cols === j).reduce((a, b) => a + b, 0));
      const grads = [matmul(transpose(xv, n, d), dz, d, n, h), sums(dz, h), matmul(transpose(hid, n, h), dout, h, n, o), sums(dout, o)];
      expectNear(await values(loss), [out.reduce((a, v, i) => a + (v - yv[i]!) ** 2, 0) / (n * o)], 1e-5, `loss at step ${s}`);
      ref.forEach((p, i) => p.forEach((v, j) => { p[j] = v - lr * grads[i]![j]!; }));
      for (let i = 0; i < 4; i++) expectNear(await values(params[i]!), ref[i]!, 1e-5, `parameter ${i} after step ${s}`);
    }
    const st = step.stats()!;
    expect(st.traces).toBe(1);
    expect(st.launches).toBeLessThan(st.eagerLaunches);
    expect(params.every((p) => p.grad === null)).toBe(true);
  });
});

describe('gradients through jit: checks and refusals', () => {
  it('gradcheck: central differences in float64 of the replayed loss match the replayed gradients', async () => {
    const f = jit((x: Tensor, w: Tensor, c: Tensor) => {
      const loss = tanhLoss(x, w, c);
      return [loss, ...grad(loss, [x, w])];
    });
    const opts = { dtype: 'float64' as const };
    const [xv, wv, cv] = [[0.3, -0.7, 1.1, 0.2, -0.4, 0.9], [0.5, -1.2, 0.8, 0.1, -0.3, 0.6], [1, -0.5, 0.25, 2]];
    const call = (x: number[], w: number[]): Tensor[] => f(tensor(x, { ...opts, shape: [2, 3], requiresGrad: true }),
      tensor(w, { ...opts, shape: [3, 2], requiresGrad: true }), tensor(cv, { ...opts, shape: [2, 2] })) as Tensor[];
    const [, gx, gw] = call(xv, wv);
    const eps = 1e-6;
    const central = (moved: (d: number) => number[][]): number => {
      const [xp, wp] = moved(eps) as [number[], number[]];
      const [xm, wm] = moved(-eps) as [number[], number[]];
      return (call(xp, wp)[0]!.item() - call(xm, wm)[0]!.item()) / (2 * eps);
    };
    const nx = xv.map((_, i) => central((d) => [xv.map((v, j) => (j === i ? v + d : v)), wv]));
    const nw = wv.map((_, i) => central((d) => [xv, wv.map((v, j) => (j === i ? v + d : v))]));
    expectNear(await values(gx!), nx, 1e-7, 'dL/dx');
    expectNear(await values(gw!), nw, 1e-7, 'dL/dw');
    // And both against the float64 formula.
    const want = tanhLossF64(xv, wv, cv, 2, 3, 2);
    expectNear(await values(gx!), want.gx, 1e-12, 'dL/dx, by hand');
    expect(f.stats()!.traces).toBe(1);
  });

  it('requiresGrad is part of the signature', () => {
    let calls = 0;
    const f = jit((x: Tensor) => {
      calls++;
      return x.requiresGrad ? grad(x.exp().sum(), [x])[0]! : x.exp();
    });
    const x = randn([3]);
    f(x);
    f(x.detach().requiresGrad_());
    f(randn([3]));
    f(randn([3], { requiresGrad: true }));
    expect([calls, f.stats()!.traces]).toEqual([2, 2]);
  });

  it('backward() inside the function is refused: .grad is host state a replay cannot update', () => {
    const f = jit((x: Tensor) => {
      const loss = x.square().sum();
      loss.backward();
      return loss;
    });
    const x = randn([3], { requiresGrad: true });
    expect(() => f(x)).toThrow(EinjitError);
    expect(() => f(x)).toThrow(/backward\(\) inside a jitted function writes \.grad/);
    expect(x.grad).toBeNull();
    expect(f.stats()).toBeNull();
  });
});
