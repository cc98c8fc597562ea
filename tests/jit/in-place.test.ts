/**
 * In-place updates under jit: an update whose every read of its target is of the element it writes
 * (`w.sub_(g.mul(lr))`, `w.mul_(k)`) is one kernel (on WebGPU the target is read through the output's binding);
 * one that reads other elements of its target (a flip, a transpose) keeps its copy. Random sequences of such
 * updates on a closed-over weight, replayed several times on every device, against a float64 replay of the same
 * updates written here.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jit, tensor, type Device, type Tensor } from '../../src/index.js';
import { DEVICES } from '../helpers/devices.js';

const N = 4;

type Update =
  | { kind: 'sgd'; lr: number }
  | { kind: 'scale'; k: number }
  | { kind: 'flip' }
  | { kind: 'transpose-add' }
  | { kind: 'shifted-rows' };

/** Applies `u` to the [N, N] weight `w` with tensor ops, in place. */
function apply(u: Update, w: Tensor, g: Tensor): void {
  switch (u.kind) {
    case 'sgd': w.sub_(g.mul(u.lr)); return;
    case 'scale': w.mul_(u.k); return;
    case 'flip': w.copy_(w.mul(2).flip(0)); return;
    case 'transpose-add': w.add_(w.t()); return;
    // Row i becomes row i + row (i+1) mod N: reads a neighbour row of the target.
    case 'shifted-rows': w.copy_(w.add(w.roll(-1, 0))); return;
  }
}

/** The same update in float64 on row-major arrays. */
function applyF64(u: Update, w: number[], g: readonly number[]): number[] {
  const at = (i: number, j: number): number => w[i * N + j]!;
  const out = w.slice();
  for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) {
    const k = i * N + j;
    switch (u.kind) {
      case 'sgd': out[k] = at(i, j) - g[k]! * u.lr; break;
      case 'scale': out[k] = at(i, j) * u.k; break;
      case 'flip': out[k] = 2 * at(N - 1 - i, j); break;
      case 'transpose-add': out[k] = at(i, j) + at(j, i); break;
      case 'shifted-rows': out[k] = at(i, j) + at((i + 1) % N, j); break;
    }
  }
  return out;
}

const updateArb: fc.Arbitrary<Update> = fc.oneof(
  fc.double({ min: -1, max: 1, noNaN: true }).map((lr) => ({ kind: 'sgd' as const, lr })),
  fc.double({ min: -1.5, max: 1.5, noNaN: true }).map((k) => ({ kind: 'scale' as const, k })),
  fc.constant({ kind: 'flip' as const }),
  fc.constant({ kind: 'transpose-add' as const }),
  fc.constant({ kind: 'shifted-rows' as const }),
);

describe.each(DEVICES)('in-place updates under jit on %s', (device: Device) => {
  it('an SGD update is one kernel (on WebGPU it reads the weight from the output binding)', async () => {
    const w = tensor([[1, 2], [3, 4]], { device });
    const step = jit((g: Tensor) => { w.sub_(g.mul(0.5)); return w; });
    step(tensor([[2, 2], [2, 2]], { device }));
    step(tensor([[4, 0], [0, 4]], { device }));
    expect(Array.from(await w.data())).toEqual([-2, 1, 2, 1]);
    expect(step.stats()!.launches).toBe(1);
  });

  it('property: random in-place updates of a closed-over weight replay with the float64 values', async () => {
    await fc.assert(fc.asyncProperty(fc.array(updateArb, { minLength: 1, maxLength: 5 }), async (updates) => {
      const w0 = Array.from({ length: N * N }, (_, i) => ((i * 37) % 11) / 5 - 1);
      const w = tensor(w0, { device }).reshape([N, N]);
      const step = jit((g: Tensor) => { for (const u of updates) apply(u, w, g); return w; });
      let want = w0;
      for (let call = 0; call < 3; call++) {
        const g = Array.from({ length: N * N }, (_, i) => ((i + 3 * call) % 7) / 3 - 1);
        step(tensor(g, { device }).reshape([N, N]));
        for (const u of updates) want = applyF64(u, want, g);
      }
      const got = Array.from(await w.data(), Number);
      const scale = Math.max(1, ...want.map(Math.abs));
      got.forEach((v, i) => {
        if (!(Math.abs(v - want[i]!) <= 1e-5 * scale)) throw new Error(`element ${i}: ${v} vs ${want[i]} after ${JSON.stringify(updates)}`);
      });
    }), { numRuns: device === 'cpu' ? 80 : 20 });
  });
});
