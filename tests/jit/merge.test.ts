/**
 * Merged updates under jit (src/jit/merge.ts): an update whose result a later update reads point for point is
 * computed inside the later kernel and stored from there (Adam's moments inside the parameter's kernel). The bug
 * class is a merge that changes what some point reads: a later kernel reading the written buffer at another
 * element (a transpose, a roll), a launch in between reading or writing it, or a write moved past a reader.
 * Random sequences of updates across three closed-over weights, replayed several times on every device, against
 * a float64 replay of the same updates written here; and the Adam-shaped chain counted in launches.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jit, tensor, type Device, type Tensor } from '../../src/index.js';
import { DEVICES } from '../helpers/devices.js';

const N = 4;

type Update =
  | { kind: 'axpy'; t: number; s: number; k: number }
  | { kind: 'add-transposed'; t: number; s: number }
  | { kind: 'add-rolled'; t: number; s: number }
  | { kind: 'sgd'; t: number; lr: number }
  | { kind: 'from'; t: number; s: number }
  | { kind: 'mix'; t: number; s: number; u: number; v: number };

function apply(u: Update, w: readonly Tensor[], g: Tensor): void {
  const t = w[u.t]!;
  switch (u.kind) {
    case 'axpy': t.copy_(t.mul(u.k).add(w[u.s]!)); return;
    case 'add-transposed': t.add_(w[u.s]!.t()); return;
    case 'add-rolled': t.copy_(t.add(w[u.s]!.roll(-1, 0))); return;
    case 'sgd': t.sub_(g.mul(u.lr)); return;
    // A fresh value into t from s alone (t's old value unread).
    case 'from': t.copy_(w[u.s]!.mul(0.5).sub(1)); return;
    case 'mix': t.copy_(w[u.s]!.add(w[u.u]!).mul(0.5).add(w[u.v]!.t())); return;
  }
}

function applyF64(u: Update, w: readonly number[][], g: readonly number[]): number[][] {
  const next = w.map((x) => x.slice());
  const at = (x: readonly number[], i: number, j: number): number => x[i * N + j]!;
  const t = w[u.t]!;
  for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) {
    const k = i * N + j;
    switch (u.kind) {
      case 'axpy': next[u.t]![k] = at(t, i, j) * u.k + at(w[u.s]!, i, j); break;
      case 'add-transposed': next[u.t]![k] = at(t, i, j) + at(w[u.s]!, j, i); break;
      case 'add-rolled': next[u.t]![k] = at(t, i, j) + at(w[u.s]!, (i + 1) % N, j); break;
      case 'sgd': next[u.t]![k] = at(t, i, j) - g[k]! * u.lr; break;
      case 'from': next[u.t]![k] = at(w[u.s]!, i, j) * 0.5 - 1; break;
      case 'mix': next[u.t]![k] = (at(w[u.s]!, i, j) + at(w[u.u]!, i, j)) * 0.5 + at(w[u.v]!, j, i); break;
    }
  }
  return next;
}

const which = fc.integer({ min: 0, max: 2 });
const updateArb: fc.Arbitrary<Update> = fc.oneof(
  fc.record({ kind: fc.constant('axpy' as const), t: which, s: which, k: fc.constantFrom(0.5, -0.75, 0.25) }),
  // Twice as likely: transposed reads keep kernels on [N, N] loops, where merges and their hazards meet.
  { arbitrary: fc.record({ kind: fc.constant('add-transposed' as const), t: which, s: which }), weight: 2 },
  fc.record({ kind: fc.constant('add-rolled' as const), t: which, s: which }),
  fc.record({ kind: fc.constant('sgd' as const), t: which, lr: fc.constantFrom(0.5, -0.25) }),
  fc.record({ kind: fc.constant('from' as const), t: which, s: which }),
  fc.record({ kind: fc.constant('mix' as const), t: which, s: which, u: which, v: which }),
);

describe.each(DEVICES)('merged updates under jit on %s', (device: Device) => {
  it('an Adam-shaped chain (two moments, then the weight that reads them) is one kernel', async () => {
    const w = tensor([[0.5, -1], [2, 0.25]], { device });
    const m = tensor([[0, 0], [0, 0]], { device });
    const v = tensor([[1, 1], [1, 1]], { device });
    const step = jit((g: Tensor) => {
      m.copy_(m.mul(0.9).add(g.mul(0.1)));
      v.copy_(v.mul(0.99).add(g.mul(g).mul(0.01)));
      w.sub_(m.div(v.sqrt().add(1e-8)).mul(0.1));
      return w;
    });
    let [W, M, V] = [[0.5, -1, 2, 0.25], [0, 0, 0, 0], [1, 1, 1, 1]];
    for (const grad of [[1, -2, 0.5, 4], [-1, 1, 2, -0.5], [0.25, 0, -3, 1]]) {
      step(tensor(grad, { device }).reshape([2, 2]));
      M = M.map((x, i) => 0.9 * x + 0.1 * grad[i]!);
      V = V.map((x, i) => 0.99 * x + 0.01 * grad[i]! * grad[i]!);
      W = W.map((x, i) => x - (M[i]! / (Math.sqrt(V[i]!) + 1e-8)) * 0.1);
    }
    for (const [got, want] of [[w, W], [m, M], [v, V]] as const) {
      Array.from(await got.data(), Number).forEach((x, i) => expect(Math.abs(x - want[i]!)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(want[i]!))));
    }
    expect(step.stats()!.launches).toBe(1);
  });

  it('a weight read transposed (or read transposed by the earlier update) right after it is written stays apart', async () => {
    const start = (s: number): number[] => Array.from({ length: N * N }, (_, i) => (((i + 5 * s) * 37) % 11) / 5 - 1);
    // Every kernel here reads something transposed, so all run over the same [N, N] loops.
    const cases: Update[][] = [
      // The second reads w1 at (j, i) while the first writes w1 at (i, j).
      [{ kind: 'add-transposed', t: 1, s: 0 }, { kind: 'add-transposed', t: 2, s: 1 }],
      // The third reads w0 and w1 where they are written; once w1's update is merged into it, the first (w0's)
      // may not join: it reads w1 at (j, i), which the merged kernel overwrites point by point.
      [{ kind: 'add-transposed', t: 0, s: 1 }, { kind: 'add-transposed', t: 1, s: 3 }, { kind: 'mix', t: 2, s: 0, u: 1, v: 3 }],
    ];
    for (const updates of cases) {
      const w = [0, 1, 2, 3].map((s) => tensor(start(s), { device }).reshape([N, N]));
      const step = jit((g: Tensor) => { for (const u of updates) apply(u, w, g); return g; });
      // The first call traces (and runs eagerly); the next two replay the merged schedule.
      let want = [0, 1, 2, 3].map(start);
      for (let call = 0; call < 3; call++) {
        const g = Array.from({ length: N * N }, (_, i) => (i + call) / 8);
        step(tensor(g, { device }).reshape([N, N]));
        want = updates.reduce((x, u) => applyF64(u, x, g), want);
      }
      for (let s = 0; s < 4; s++) {
        Array.from(await w[s]!.data(), Number).forEach((x, i) => {
          if (!(Math.abs(x - want[s]![i]!) <= 1e-5 * (1 + Math.abs(want[s]![i]!)))) {
            throw new Error(`weight ${s} element ${i}: ${x} vs ${want[s]![i]} after ${JSON.stringify(updates)}`);
          }
        });
      }
    }
  });

  it('a returned map merged into a later one is still stored', async () => {
    const w = tensor(Array.from({ length: N * N }, (_, i) => i / 4 - 1), { device }).reshape([N, N]);
    const step = jit((g: Tensor) => {
      const a = g.mul(2).add(w.t());
      return [a, a.mul(3).add(w.t())];
    });
    for (let call = 0; call < 3; call++) {
      const g = Array.from({ length: N * N }, (_, i) => (i * 3 + call) % 5 - 2);
      const [a, c] = step(tensor(g, { device }).reshape([N, N])) as Tensor[];
      const wT = (i: number): number => ((i % N) * N + Math.floor(i / N)) / 4 - 1;
      expect(Array.from(await a!.data(), Number)).toEqual(g.map((x, i) => 2 * x + wT(i)));
      expect(Array.from(await c!.data(), Number)).toEqual(g.map((x, i) => 3 * (2 * x + wT(i)) + wT(i)));
    }
    if (device === 'cpu') expect(step.stats()!.launches).toBe(1);
  });

  it('two int32 counters updated apart (batch norm\'s num_batches_tracked) share a kernel, and wrap as int32', async () => {
    const c1 = tensor([2147483646], { device, dtype: 'int32' });
    const c2 = tensor([5, -7], { device, dtype: 'int32' });
    const c3 = tensor([1, 2], { device, dtype: 'int32' });
    const step = jit((x: Tensor) => {
      c1.add_(1);
      const y = x.mul(2);
      c2.add_(3);
      c3.add_(c3);
      return y;
    });
    const wrap = (v: number): number => ((((v + 2 ** 31) % 2 ** 32) + 2 ** 32) % 2 ** 32) - 2 ** 31;
    let [C1, C2, C3] = [[2147483646], [5, -7], [1, 2]];
    for (let call = 0; call < 3; call++) {
      const y = step(tensor([call, 0.5], { device }));
      expect(Array.from(await y.data(), Number)).toEqual([2 * call, 1]);
      [C1, C2, C3] = [C1.map((v) => wrap(v + 1)), C2.map((v) => wrap(v + 3)), C3.map((v) => wrap(2 * v))];
    }
    expect(Array.from(await c1.data(), Number)).toEqual(C1);
    expect(Array.from(await c2.data(), Number)).toEqual(C2);
    expect(Array.from(await c3.data(), Number)).toEqual(C3);
    // The [2] counters in one kernel; the [1] counter and the float map apart (other loops, another type).
    expect(step.stats()!.launches).toBe(3);
  });

  it('an int32 update read back by the next map stays its own kernel (the CPU would read it unwrapped)', async () => {
    const a = tensor([2147483647, 5], { device, dtype: 'int32' });
    const b = tensor([7, 7], { device, dtype: 'int32' });
    const step = jit((x: Tensor) => {
      a.add_(1);
      b.copy_(a.gt(0).int());
      return x;
    });
    step(tensor([1], { device }));
    // 2147483647 + 1 wraps to -2147483648, which is not > 0.
    expect(Array.from(await a.data(), Number)).toEqual([-2147483648, 6]);
    expect(Array.from(await b.data(), Number)).toEqual([0, 1]);
    a.copy_(tensor([2147483647, -9], { device, dtype: 'int32' }));
    step(tensor([1], { device }));
    expect(Array.from(await a.data(), Number)).toEqual([-2147483648, -8]);
    expect(Array.from(await b.data(), Number)).toEqual([0, 0]);
    expect(step.stats()!.launches).toBe(2);
  });

  it('maps over the same elements with loops merged differently ([3, 4] and [12]) share a kernel', async () => {
    const start = (s: number, n: number): number[] => Array.from({ length: n }, (_, i) => (((i + 5 * s) * 37) % 11) / 5 - 1);
    const w1 = tensor(start(1, 12), { device }).reshape([3, 4]);
    const w2 = tensor(start(2, 12), { device });
    const m = tensor(start(3, 12), { device }).reshape([3, 4]);
    const w3 = tensor(start(4, 12), { device });
    // Independent: w1 reads its gradient transposed (loops [3, 4]), w2 its own contiguously (loops [12]). Then a
    // moment over [3, 4] (read transposed) and a weight over [12] that reads it where it is written.
    const step = jit((g: Tensor, h: Tensor) => {
      w1.sub_(g.t().mul(0.5));
      w2.sub_(h.mul(0.25));
      m.copy_(m.mul(0.9).add(g.t()));
      w3.sub_(m.reshape([12]).mul(0.1));
      return h;
    });
    let [W1, W2, M, W3] = [start(1, 12), start(2, 12), start(3, 12), start(4, 12)];
    for (let call = 0; call < 3; call++) {
      const g = start(5 + call, 12);
      const h = start(9 + call, 12);
      // g is [4, 3]: element (i, j) of g.t() is g[j * 3 + i].
      const gT = (k: number): number => g[(k % 4) * 3 + Math.floor(k / 4)]!;
      step(tensor(g, { device }).reshape([4, 3]), tensor(h, { device }));
      W1 = W1.map((x, k) => x - gT(k) * 0.5);
      W2 = W2.map((x, k) => x - h[k]! * 0.25);
      M = M.map((x, k) => x * 0.9 + gT(k));
      W3 = W3.map((x, k) => x - M[k]! * 0.1);
    }
    for (const [got, want] of [[w1, W1], [w2, W2], [m, M], [w3, W3]] as const) {
      Array.from(await got.data(), Number).forEach((x, i) => expect(Math.abs(x - want[i]!)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(want[i]!))));
    }
    expect(step.stats()!.launches).toBe(1);
  });

  it('maps over loops with no common split ([2, 3] and [3, 2], both read transposed) stay apart', async () => {
    const a = tensor([1, 2, 3, 4, 5, 6], { device }).reshape([2, 3]);
    const b = tensor([-1, -2, -3, -4, -5, -6], { device }).reshape([3, 2]);
    const step = jit((g: Tensor, h: Tensor) => {
      a.add_(g.t());
      b.add_(h.t().mul(2));
      return g;
    });
    let [A, B] = [[1, 2, 3, 4, 5, 6], [-1, -2, -3, -4, -5, -6]];
    for (let call = 0; call < 2; call++) {
      const g = [0, 1, 2, 3, 4, 5].map((v) => v + 10 * call);
      const h = [3, 1, 4, 1, 5, 9].map((v) => v - 7 * call);
      step(tensor(g, { device }).reshape([3, 2]), tensor(h, { device }).reshape([2, 3]));
      // a (2, 3) at (i, j) reads g (3, 2) at (j, i); b (3, 2) at (i, j) reads h (2, 3) at (j, i).
      A = A.map((x, k) => x + g[(k % 3) * 2 + Math.floor(k / 3)]!);
      B = B.map((x, k) => x + 2 * h[(k % 2) * 3 + Math.floor(k / 2)]!);
    }
    expect(Array.from(await a.data(), Number)).toEqual(A);
    expect(Array.from(await b.data(), Number)).toEqual(B);
    expect(step.stats()!.launches).toBe(2);
  });

  it('a moment does not move up into an earlier map of other loops, away from the update that reads it', async () => {
    const c = tensor(new Array<number>(12).fill(0), { device });
    const m = tensor(Array.from({ length: 12 }, (_, k) => k / 4), { device }).reshape([3, 4]);
    const w = tensor(Array.from({ length: 12 }, (_, k) => 1 - k / 8), { device }).reshape([3, 4]);
    // c's copy (loops [12]) cannot move down past the sum that reads it; the weight's update reads the sum, so it
    // cannot move up. The moment (loops [3, 4], g read transposed) merges down into the update, not up into the copy.
    const step = jit((g: Tensor, h: Tensor) => {
      c.copy_(h);
      const s = c.mul(c).sum();
      m.copy_(m.mul(0.9).add(g.t()));
      w.sub_(m.mul(s));
      return s;
    });
    let [M, W] = [Array.from({ length: 12 }, (_, k) => k / 4), Array.from({ length: 12 }, (_, k) => 1 - k / 8)];
    for (let call = 0; call < 3; call++) {
      const g = Array.from({ length: 12 }, (_, k) => ((k * 5 + call) % 7) / 8 - 0.25);
      const h = Array.from({ length: 12 }, (_, k) => ((k + call) % 3) / 4);
      const s = step(tensor(g, { device }).reshape([4, 3]), tensor(h, { device }));
      const S = h.reduce((acc, x) => acc + x * x, 0);
      M = M.map((x, k) => x * 0.9 + g[(k % 4) * 3 + Math.floor(k / 4)]!);
      W = W.map((x, k) => x - M[k]! * S);
      expect(Math.abs(Array.from(await s.data(), Number)[0]! - S)).toBeLessThanOrEqual(1e-5 * (1 + S));
    }
    for (const [got, want] of [[m, M], [w, W]] as const) {
      Array.from(await got.data(), Number).forEach((x, i) => expect(Math.abs(x - want[i]!)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(want[i]!))));
    }
    expect(step.stats()!.launches).toBe(3);
    // The last kernel stores both the moment and the weight (two copies), the first is c's copy alone.
    const lines = step.explain().split('\n').filter((l) => /^ +\d+\./.test(l));
    expect(lines[0]).toMatch(/ copy_$/);
    expect(lines[2]!.match(/copy_/g)).toHaveLength(2);
  });

  it('property: random updates across three weights replay with the float64 values', async () => {
    await fc.assert(fc.asyncProperty(fc.array(updateArb, { minLength: 2, maxLength: 6 }), async (updates) => {
      const w0 = [0, 1, 2].map((s) => Array.from({ length: N * N }, (_, i) => (((i + 5 * s) * 37) % 11) / 5 - 1));
      const w = w0.map((x) => tensor(x, { device }).reshape([N, N]));
      const step = jit((g: Tensor) => { for (const u of updates) apply(u, w, g); return g; });
      let want = w0;
      for (let call = 0; call < 3; call++) {
        const g = Array.from({ length: N * N }, (_, i) => ((i + 3 * call) % 7) / 3 - 1);
        step(tensor(g, { device }).reshape([N, N]));
        for (const u of updates) want = applyF64(u, want, g);
      }
      for (let s = 0; s < 3; s++) {
        const got = Array.from(await w[s]!.data(), Number);
        const scale = Math.max(1, ...want[s]!.map(Math.abs));
        got.forEach((x, i) => {
          if (!(Math.abs(x - want[s]![i]!) <= 1e-5 * scale)) {
            throw new Error(`weight ${s} element ${i}: ${x} vs ${want[s]![i]} after ${JSON.stringify(updates)}`);
          }
        });
      }
    }), { numRuns: device === 'cpu' ? 120 : 25 });
  });
});
