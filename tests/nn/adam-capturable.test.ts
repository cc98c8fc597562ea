/**
 * Capturable Adam / AdamW (state and learning rate as device tensors, updated in place) follow PyTorch's rule
 * eagerly and inside `jit`, where a replay must read this step's count and learning rate, not the trace's. The
 * bug classes: a step count or learning rate frozen into the schedule, moments replaced instead of written in
 * place (a replay then reads stale ones), a scheduler's write not reaching the tensors. Every trajectory is
 * checked against PyTorch's rule on float64 numbers (tests/helpers/adam-reference.ts).
 */
import { describe, expect, it } from 'vitest';
import { EinjitError, grad, jit, profile, tensor, type Tensor } from '../../src/index.js';
import { nn, optim } from './nn.js';
import { adamReference } from '../helpers/adam-reference.js';
import { DEVICES } from '../helpers/devices.js';
import { thrown } from '../helpers/thrown.js';

const P0 = [1, -2, 0.5];
const GRADS = [[0.5, -1, 0.1], [0.25, 2, -0.3], [-1, 0.5, 0.7], [0.3, 0.3, -2], [0.9, -0.2, 0.4], [-0.6, 1.1, 0.05]];

async function values(t: Tensor): Promise<number[]> {
  return Array.from(await t.data(), Number);
}

function expectNear(got: readonly number[][], want: readonly number[][], tol: number): void {
  expect(got.length).toBe(want.length);
  got.forEach((row, i) => row.forEach((x, j) => expect(Math.abs(x - want[i]![j]!), `step ${i} element ${j}`).toBeLessThanOrEqual(tol * (1 + Math.abs(want[i]![j]!)))));
}

describe.each(DEVICES)('capturable Adam / AdamW (%s)', (device) => {
  for (const decoupled of [false, true]) {
    const name = decoupled ? 'AdamW' : 'Adam';
    const make = (p: Tensor, extra: object = {}) => new (decoupled ? optim.AdamW : optim.Adam)([p], { lr: 0.05, weightDecay: 0.1, capturable: true, ...extra });

    it(`${name} eagerly, with maximize, follows the rule (in float64 on the CPU)`, async () => {
      const dtype = device === 'cpu' ? 'float64' : 'float32';
      const p = new nn.Parameter(tensor(P0, { dtype, device }));
      const opt = make(p, { maximize: true });
      const got: number[][] = [];
      for (const g of GRADS) {
        p.grad = tensor(g, { dtype, device });
        opt.step();
        got.push(await values(p));
      }
      expectNear(got, adamReference(P0, GRADS, { lr: 0.05, weightDecay: 0.1, maximize: true, decoupled }), dtype === 'float64' ? 1e-12 : 2e-5);
    });

    it(`${name} inside jit: replays read each step's count and the scheduled learning rate`, async () => {
      const p = new nn.Parameter(tensor(P0, { device }));
      const opt = make(p);
      const schedule = new optim.StepLR(opt, { stepSize: 2, gamma: 0.5 });
      // loss = Σ p·x, so the gradient is x: the step's gradient comes in as the argument.
      const step = jit((x: Tensor) => {
        const loss = p.mul(x).sum();
        const [gp] = grad(loss, [p]);
        p.grad = gp!;
        opt.step();
        return loss;
      });
      const got: number[][] = [];
      const lrs: number[] = [];
      for (const g of GRADS) {
        lrs.push(opt.paramGroups[0]!.options.lr);
        step(tensor(g, { device }));
        schedule.step();
        got.push(await values(p));
      }
      expect(step.stats()!.traces).toBe(1);
      expect(new Set(lrs).size).toBeGreaterThan(1);
      expectNear(got, adamReference(P0, GRADS, { lr: lrs, weightDecay: 0.1, decoupled }), 2e-5);
    });
  }

  it('an eager step is a handful of launches (the count, two moments written back, the parameter)', async () => {
    const p = new nn.Parameter(tensor(P0, { device }));
    const opt = new optim.AdamW([p], { lr: 0.01, capturable: true });
    p.grad = tensor(GRADS[0]!, { device });
    opt.step();
    p.grad = tensor(GRADS[1]!, { device });
    const prof = await profile(() => opt.step());
    expect(prof.launches).toBeLessThanOrEqual(8);
  });
});

describe('capturable Adam refuses what it cannot keep on the device', () => {
  it('a float16 parameter, and a gradient of another dtype', () => {
    const half = new nn.Parameter(tensor(P0, { dtype: 'float16' }));
    expect(thrown(() => new optim.Adam([half], { lr: 0.1, capturable: true })).message).toMatch(/floating parameters only, got float16/);
    const p = new nn.Parameter(tensor(P0));
    const opt = new optim.AdamW([p], { lr: 0.1, capturable: true });
    p.grad = tensor(GRADS[0]!, { dtype: 'float64' });
    const err = thrown(() => opt.step());
    expect(err).toBeInstanceOf(EinjitError);
    expect(err.message).toMatch(/gradient of its parameter's dtype/);
  });
});
