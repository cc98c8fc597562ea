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
