/**
 * The same small network on every device: forward values, a training step's gradients and batch-norm buffers on
 * the GPU match the CPU's (float32 tolerance). Runs on 'webgpu' where an adapter exists (lavapipe in CI).
 */
import { describe, expect, it } from 'vitest';
import { manualSeed, randn, tensor, type Tensor } from '../../src/index.js';
import { DEVICES } from '../helpers/devices.js';
import { nn, optim } from './nn.js';

function makeNet(): nn.Sequential {
  return new nn.Sequential(
    new nn.Conv2d(3, 4, 3, { padding: 1, stride: [1, 2] }), new nn.BatchNorm2d(4), new nn.ReLU(),
    new nn.MaxPool2d(3, { stride: 2, padding: 1 }), new nn.AdaptiveAvgPool2d(1), new nn.Flatten(), new nn.Linear(4, 5),
  );
}

async function host(t: Tensor): Promise<number[]> {
  return Array.from(await t.data());
}

function expectClose(a: number[], b: number[], tol = 1e-4): void {
  expect(a.length).toBe(b.length);
  a.forEach((v, i) => expect(Math.abs(v - b[i]!)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b[i]!))));
}

describe.each(DEVICES.filter((d) => d !== 'cpu'))('nn on %s', (device) => {
  it('forward, backward, optimizer step and batch-norm buffers match the CPU', async () => {
    manualSeed(4);
    const cpu = makeNet();
    const gpu = makeNet();
    gpu.loadStateDict(cpu.stateDict());
    await gpu.to(device);
    expect(gpu.parameters().every((p) => p.device === device && p.isLeaf && p.requiresGrad)).toBe(true);
    const x = randn([2, 3, 6, 8]);
    const y = tensor([1, 4], { dtype: 'int32' });
    const xg = await x.to(device);
    const yg = await y.to(device);
    const run = (m: nn.Sequential, xx: Tensor, yy: Tensor): Tensor => {
      const opt = new optim.SGD(m.parameters(), { lr: 0.1, momentum: 0.9 });
      const loss = nn.functional.crossEntropy(m.forward(xx), yy);
      opt.zeroGrad();
      loss.backward();
      opt.step();
      return loss;
    };
    const lc = run(cpu, x, y);
    const lg = run(gpu, xg, yg);
    expectClose(await host(lg), await host(lc));
    const sc = cpu.stateDict();
    const sg = gpu.stateDict();
    for (const k of Object.keys(sc)) expectClose(await host(sg[k]!), await host(sc[k]!));
    cpu.eval();
    gpu.eval();
    expectClose(await host(gpu.forward(xg)), await host(cpu.forward(x)));
  }, 120_000);

  it('trains the seed model on the device', async () => {
    manualSeed(5);
    const m = new nn.models.TokenConvNet({ vocabSize: 12, nEmbd: 8, causal: true, device });
    const opt = new optim.Adam(m.parameters(), { lr: 0.05 });
    const ids = tensor([[1, 2, 3, 4, 5, 6, 7, 8], [2, 3, 4, 5, 6, 7, 8, 9]], { dtype: 'int32', device });
    const targets = tensor([[2, 3, 4, 5, 6, 7, 8, 9], [3, 4, 5, 6, 7, 8, 9, 10]], { dtype: 'int32', device });
    let first = 0;
    let last = 0;
    for (let i = 0; i < 30; i++) {
      const loss = m.loss(m.forward(ids), targets);
      opt.zeroGrad();
      loss.backward();
      opt.step();
      const v = (await loss.data())[0]!;
      if (i === 0) first = v;
      last = v;
    }
    expect(last).toBeLessThan(first / 3);
  }, 120_000);
});

describe('nn on cpu', () => {
  it('runs the device suite on the CPU too (the reference side)', () => {
    expect(DEVICES).toContain('cpu');
  });
});
