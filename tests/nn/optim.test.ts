import { describe, expect, it } from 'vitest';
import { manualSeed, profile, randn, tensor, zeros, EinjitError } from '../../src/index.js';
import { nn, optim } from './nn.js';

/** One parameter with a fixed gradient, stepped n times; returns the trajectory. */
function trajectory(make: (p: nn.Parameter) => { step(): void }, grads: number[][]): number[][] {
  const p = new nn.Parameter(tensor([1, -2], { dtype: 'float64' }));
  const opt = make(p);
  const out: number[][] = [];
  for (const g of grads) {
    p.grad = tensor(g, { dtype: 'float64' });
    opt.step();
    out.push(p.toArray() as number[]);
  }
  return out;
}

/** PyTorch's algorithms written out on plain numbers. */
function sgdRef(grads: number[][], o: { lr: number; momentum?: number; dampening?: number; weightDecay?: number; nesterov?: boolean }): number[][] {
  let p = [1, -2];
  let buf: number[] | null = null;
  const out: number[][] = [];
  for (const g0 of grads) {
    let g = g0.map((v, i) => v + (o.weightDecay ?? 0) * p[i]!);
    const mu = o.momentum ?? 0;
    if (mu !== 0) {
      buf = buf === null ? g.slice() : buf.map((b, i) => mu * b + (1 - (o.dampening ?? 0)) * g[i]!);
      g = o.nesterov ? g.map((v, i) => v + mu * buf![i]!) : buf.slice();
    }
    p = p.map((v, i) => v - o.lr * g[i]!);
    out.push(p);
  }
  return out;
}

function adamRef(grads: number[][], o: { lr: number; weightDecay?: number; decoupled: boolean }): number[][] {
  let p = [1, -2];
  let m = [0, 0];
  let v = [0, 0];
  const [b1, b2, eps] = [0.9, 0.999, 1e-8];
  const out: number[][] = [];
  grads.forEach((g0, k) => {
    const t = k + 1;
    const wd = o.weightDecay ?? (o.decoupled ? 0.01 : 0);
    if (o.decoupled) p = p.map((x) => x * (1 - o.lr * wd));
    const g = o.decoupled ? g0 : g0.map((x, i) => x + wd * p[i]!);
    m = m.map((x, i) => b1 * x + (1 - b1) * g[i]!);
    v = v.map((x, i) => b2 * x + (1 - b2) * g[i]! * g[i]!);
    p = p.map((x, i) => x - o.lr * (m[i]! / (1 - b1 ** t)) / (Math.sqrt(v[i]! / (1 - b2 ** t)) + eps));
    out.push(p);
  });
  return out;
}

const GRADS = [[0.5, -1], [0.25, 2], [-1, 0.5], [0.3, 0.3]];

function expectClose(a: number[][], b: number[][]): void {
  a.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(b[i]![j]!, 12)));
}

describe('optimizers follow PyTorch update rules', () => {
  for (const o of [
    { lr: 0.1 },
    { lr: 0.1, momentum: 0.9 },
    { lr: 0.1, momentum: 0.9, dampening: 0.5, weightDecay: 0.01 },
    { lr: 0.05, momentum: 0.8, nesterov: true, weightDecay: 0.1 },
  ]) {
    it(`SGD ${JSON.stringify(o)}`, () => {
      expectClose(trajectory((p) => new optim.SGD([p], o), GRADS), sgdRef(GRADS, o));
    });
  }

  it('Adam (L2 weight decay) and AdamW (decoupled)', () => {
    expectClose(trajectory((p) => new optim.Adam([p], { lr: 0.01 }), GRADS), adamRef(GRADS, { lr: 0.01, decoupled: false }));
    expectClose(trajectory((p) => new optim.Adam([p], { lr: 0.01, weightDecay: 0.1 }), GRADS), adamRef(GRADS, { lr: 0.01, weightDecay: 0.1, decoupled: false }));
    expectClose(trajectory((p) => new optim.AdamW([p], { lr: 0.01 }), GRADS), adamRef(GRADS, { lr: 0.01, decoupled: true }));
  });

  it('Adam with maximize ascends: the same steps as on the negated gradients', () => {
    const negated = GRADS.map((g) => g.map((v) => -v));
    expectClose(trajectory((p) => new optim.Adam([p], { lr: 0.01, maximize: true }), GRADS), adamRef(negated, { lr: 0.01, decoupled: false }));
    expectClose(trajectory((p) => new optim.AdamW([p], { lr: 0.01, maximize: true, weightDecay: 0.05 }), GRADS),
      adamRef(negated, { lr: 0.01, weightDecay: 0.05, decoupled: true }));
  });

  it('a float32 Adam/AdamW step is a few fused kernels per parameter and follows the float64 rule within float32 rounding', async () => {
    for (const decoupled of [false, true]) {
      const p = new nn.Parameter(tensor([1, -2]));
      const opt = decoupled ? new optim.AdamW([p], { lr: 0.01, weightDecay: 0.1 }) : new optim.Adam([p], { lr: 0.01, weightDecay: 0.1 });
      const got: number[][] = [];
      for (const [k, g] of GRADS.entries()) {
        p.grad = tensor(g);
        if (k === 1) {
          // m, v and the new parameter: one kernel each, then the copy into the parameter.
          const prof = await profile(() => opt.step());
          expect(prof.launches).toBe(4);
        } else {
          opt.step();
        }
        got.push(p.toArray() as number[]);
      }
      const want = adamRef(GRADS, { lr: 0.01, weightDecay: 0.1, decoupled });
      got.forEach((row, i) => row.forEach((v, j) => expect(Math.abs(v - want[i]![j]!)).toBeLessThanOrEqual(2e-6 * (1 + Math.abs(want[i]![j]!)))));
    }
  });

  it('works with and without new, skips parameters without gradients and clears them with zeroGrad', () => {
    const p = new nn.Parameter(zeros([2]));
    const q = new nn.Parameter(zeros([2]));
    const opt = optim.SGD([p, q], { lr: 1 });
    expect(opt).toBeInstanceOf(optim.SGD);
    p.grad = tensor([1, 2]);
    opt.step();
    expect(p.toArray()).toEqual([-1, -2]);
    expect(q.toArray()).toEqual([0, 0]);
    opt.zeroGrad();
    expect(p.grad).toBeNull();
    expect(optim.Adam([p], { lr: 1e-3 })).toBeInstanceOf(optim.Adam);
    expect(() => new optim.SGD([zeros([2])], { lr: 0.1 })).toThrow(EinjitError);
    expect(() => new optim.SGD([p], { lr: 0.1, nesterov: true })).toThrow(/Nesterov/);
  });

  it('parameter groups keep their own options', () => {
    const a = new nn.Parameter(zeros([1]));
    const b = new nn.Parameter(zeros([1]));
    const opt = new optim.SGD([{ params: [a] }, { params: [b], lr: 0.5 }], { lr: 0.1 });
    a.grad = tensor([1]);
    b.grad = tensor([1]);
    opt.step();
    expect(a.item()).toBeCloseTo(-0.1, 6);
    expect(b.item()).toBeCloseTo(-0.5, 6);
  });

  it('StepLR and cosine annealing follow their closed forms', () => {
    const opt = new optim.SGD([new nn.Parameter(zeros([1]))], { lr: 1 });
    const s = new optim.StepLR(opt, { stepSize: 2, gamma: 0.5 });
    const lrs: number[] = [];
    for (let i = 0; i < 5; i++) {
      s.step();
      lrs.push(s.getLastLr()[0]!);
    }
    expect(lrs).toEqual([1, 0.5, 0.5, 0.25, 0.25]);
    const opt2 = new optim.Adam([new nn.Parameter(zeros([1]))], { lr: 0.1 });
    const c = new optim.CosineAnnealingLR(opt2, { tMax: 10, etaMin: 0.01 });
    for (let i = 0; i < 5; i++) c.step();
    expect(c.getLastLr()[0]).toBeCloseTo(0.01 + 0.09 * 0.5, 12);
    for (let i = 0; i < 5; i++) c.step();
    expect(opt2.paramGroups[0]!.options.lr).toBeCloseTo(0.01, 12);
  });
});

describe('training', () => {
  it('an MLP reaches 100% accuracy on a separable dataset', () => {
    manualSeed(7);
    // Two interleaved classes: inside or outside a circle of radius 1 around the origin (separable, not linearly).
    const n = 128;
    const pts = randn([n, 2]).mul(1.2);
    const labels = pts.mul(pts).sum(1).lt(1).int();
    const model = new nn.models.MLP([2, 32, 32, 2]);
    const opt = new optim.Adam(model.parameters(), { lr: 0.02 });
    let acc = 0;
    for (let epoch = 0; epoch < 400 && acc < 1; epoch++) {
      const logits = model.forward(pts);
      const loss = nn.functional.crossEntropy(logits, labels);
      opt.zeroGrad();
      loss.backward();
      opt.step();
      acc = logits.argmax(1).eq(labels).float().mean().item();
    }
    const final = model.forward(pts).argmax(1).eq(labels).float().mean().item();
    expect(final).toBe(1);
  });

  it('a small conv net with batch norm learns, and eval mode uses the running statistics', () => {
    manualSeed(11);
    // Class = whether the bright 2×2 patch sits in the left or the right half of a 6×6 image.
    const xs: number[] = [];
    const ys: number[] = [];
    for (let i = 0; i < 32; i++) {
      const img = new Array<number>(36).fill(0);
      const right = i % 2;
      const r = (i * 7) % 5;
      const c = right ? 3 + ((i * 3) % 2) : (i * 3) % 2;
      for (const [dr, dc] of [[0, 0], [0, 1], [1, 0], [1, 1]] as const) img[(r + dr) * 6 + c + dc] = 1;
      xs.push(...img);
      ys.push(right);
    }
    const x = tensor(xs, { shape: [32, 1, 6, 6] });
    const y = tensor(ys, { dtype: 'int32' });
    const model = new nn.Sequential(
      new nn.Conv2d(1, 4, 3, { padding: 1 }), new nn.BatchNorm2d(4), new nn.ReLU(), new nn.MaxPool2d(2),
      new nn.Flatten(), new nn.Linear(36, 2),
    );
    const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
    let loss = Infinity;
    for (let i = 0; i < 60; i++) {
      const l = nn.functional.crossEntropy(model.forward(x), y);
      opt.zeroGrad();
      l.backward();
      opt.step();
      loss = l.item();
    }
    expect(loss).toBeLessThan(0.1);
    model.eval();
    expect(model.forward(x).argmax(1).eq(y).float().mean().item()).toBe(1);
  });
});
