/**
 * The backward pass on the GPU: the same gradients on 'webgpu' as on 'cpu' (float32 tolerance) for einsum,
 * matmul, elementwise ops and reductions, and the same second-order gradients (createGraph). The GPU cases skip with a printed line when no adapter is found
 * (tests/helpers/devices.ts), and fail under CI=true.
 */
import { describe, expect, it } from 'vitest';
import { tensor, einsum, grad, rearrange, reduce, repeat, type Device, type Tensor } from '../../src/index.js';
import { DEVICES } from '../helpers/devices.js';
import { prng } from './gradcheck.js';

const GPUS = DEVICES.filter((d) => d !== 'cpu');

function floats(n: number, seed: number, lo: number, hi: number): Float32Array {
  const next = prng(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * next());
}

/** Runs `fn` on float32 inputs on `device`, back-propagates a fixed output gradient, and reads every grad. */
async function gradsOn(device: Device, shapes: readonly number[][], fn: (...xs: Tensor[]) => Tensor, range: [number, number]): Promise<number[][]> {
  const xs = shapes.map((shape, i) => {
    const n = shape.reduce((a, b) => a * b, 1);
    return tensor(floats(n, 100 + i, range[0], range[1]), { shape, device, requiresGrad: true });
  });
  const y = fn(...xs);
  const v = tensor(floats(y.size, 7, 0.5, 1.5), { shape: y.shape.slice(), device });
  y.backward(v);
  return Promise.all(xs.map(async (x) => {
    expect(x.grad).not.toBeNull();
    expect(x.grad!.device).toBe(device);
    return Array.from((await x.grad!.data()) as Float32Array);
  }));
}

interface Case {
  readonly name: string;
  readonly shapes: number[][];
  readonly fn: (...xs: Tensor[]) => Tensor;
  readonly range?: [number, number];
}

const CASES: Case[] = [
  // einsum
  { name: "einsum 'bij,bjk->bik'", shapes: [[2, 3, 4], [2, 4, 5]], fn: (a, b) => einsum('bij,bjk->bik', a!, b!) },
  { name: "einsum 'ij,jk,kl->il'", shapes: [[3, 4], [4, 5], [5, 2]], fn: (a, b, c) => einsum('ij,jk,kl->il', a!, b!, c!) },
  { name: "einsum 'ii->i' and 'ii' (diagonal, trace)", shapes: [[4, 4]], fn: (a) => einsum('ii->i', a!).add(einsum('ii', a!)) },
  { name: "einsum '...ij,...j->...i' with broadcast batch", shapes: [[2, 1, 3, 4], [5, 4]], fn: (a, b) => einsum('...ij,...j->...i', a!, b!) },
  { name: "einsum 'ij,k->k' (summed-only axes)", shapes: [[3, 4], [5]], fn: (a, b) => einsum('ij,k->k', a!, b!) },
  { name: "einsum 'ab,ab->ab' with size-1 broadcast", shapes: [[1, 6], [5, 1]], fn: (a, b) => einsum('ab,ab->ab', a!, b!) },
  // matmul
  { name: 'matmul 2-D', shapes: [[5, 7], [7, 3]], fn: (a, b) => a!.matmul(b!) },
  { name: 'matmul batched with broadcast', shapes: [[2, 1, 4, 6], [3, 6, 5]], fn: (a, b) => a!.matmul(b!) },
  { name: 'matmul 1-D @ 2-D and 2-D @ 1-D', shapes: [[6], [6, 4], [3, 6]], fn: (v, m, n) => v!.matmul(m!).sum().add(n!.matmul(v!).sum()) },
  { name: 'matmul of a transposed operand', shapes: [[6, 4], [6, 3]], fn: (a, b) => a!.mT.matmul(b!) },
  // elementwise
  { name: 'unary chain', shapes: [[4, 5]], fn: (x) => x!.exp().add(x!.tanh()).add(x!.sigmoid()).add(x!.sin()).add(x!.square()).add(x!.gelu()) },
  { name: 'log, sqrt, rsqrt, reciprocal', shapes: [[3, 4]], fn: (x) => x!.log().add(x!.sqrt()).add(x!.rsqrt()).add(x!.reciprocal()), range: [0.5, 2] },
  { name: 'binary ops with broadcasting', shapes: [[3, 1, 4], [2, 4], [4]], fn: (a, b, c) => a!.mul(b!).add(b!.div(c!.abs().add(1))).sub(a!.maximum(c!)) },
  { name: 'pow of tensors', shapes: [[3, 4], [4]], fn: (a, b) => a!.pow(b!), range: [0.5, 2] },
  { name: 'relu, abs, clamp, where', shapes: [[5, 6]], fn: (x) => x!.relu().add(x!.abs()).add(x!.clamp(-0.5, 0.5)) },
  // reductions
  { name: 'sum and mean (keepdim and not)', shapes: [[3, 4, 5]], fn: (x) => x!.sum(1, true).mul(x!.mean([0, 2], true)) },
  { name: 'max and min over dims', shapes: [[4, 6]], fn: (x) => x!.max(1).add(x!.min(0).sum()) },
  { name: 'prod', shapes: [[3, 4]], fn: (x) => x!.prod(1), range: [0.5, 1.5] },
  { name: 'var and std', shapes: [[4, 5]], fn: (x) => x!.var(1).add(x!.std(0).sum()) },
  { name: "einops reduce 'max' and 'mean', rearrange, repeat", shapes: [[2, 4, 6]], fn: (x) => {
    const pooled = reduce(x!, 'b (h 2) (w 2) -> b h w', 'max');
    return repeat(rearrange(pooled, 'b h w -> (b w) h'), 'n h -> n h c', { c: 2 }).add(reduce(x!, 'b h w -> b h 1', 'mean').sum());
  } },
];

describe.skipIf(GPUS.length === 0)('gradients on webgpu match cpu (float32)', () => {
  for (const device of GPUS) {
    for (const c of CASES) {
      it(`${c.name} on ${device}`, async () => {
        const range = c.range ?? [-2, 2];
        const cpu = await gradsOn('cpu', c.shapes, c.fn, range);
        const gpu = await gradsOn(device, c.shapes, c.fn, range);
        cpu.forEach((g, i) => {
          const h = gpu[i]!;
          expect(h.length).toBe(g.length);
          g.forEach((v, j) => {
            if (!(Math.abs(h[j]! - v) <= 1e-4 + 1e-4 * Math.abs(v))) {
              throw new Error(`input ${i} element ${j}: cpu ${v}, ${device} ${h[j]}\n  cpu: ${g.join(', ')}\n  gpu: ${h.join(', ')}`);
            }
          });
        });
      });
    }
  }

  // Second order: the gradient of ⟨∂y/∂x · v, w⟩ (a recorded backward pass, then a plain one) on each device.
  const SECOND_ORDER: Case[] = [
    { name: "einsum 'ij,jk->ik' then tanh", shapes: [[3, 4], [4, 5]], fn: (a, b) => einsum('ij,jk->ik', a!, b!).tanh() },
    { name: "einsum 'ii->i' (a diagonal, scattered back) times a slice", shapes: [[4, 4]], fn: (a) => einsum('ii->i', a!).mul(a!.select(0, 1).flip(0)) },
    { name: 'matmul, softmax, max and sum', shapes: [[3, 6], [6, 4]], fn: (a, b) => a!.matmul(b!).softmax(-1).mul(a!.max(1, true).square()).sum(0) },
    { name: 'sqrt, exp, sigmoid, pow with broadcasting', shapes: [[3, 4], [4]], fn: (a, b) => a!.sqrt().mul(b!.exp()).add(a!.sigmoid().pow(b!)), range: [0.5, 2] },
  ];
  async function secondOrderOn(device: Device, c: Case): Promise<number[][]> {
    const range = c.range ?? [-2, 2];
    const xs = c.shapes.map((shape, i) => tensor(floats(shape.reduce((a, b) => a * b, 1), 100 + i, range[0], range[1]), { shape, device, requiresGrad: true }));
    const y = c.fn(...xs);
    const v = tensor(floats(y.size, 7, 0.5, 1.5), { shape: y.shape.slice(), device });
    const gs = grad(y, xs, { gradOutputs: v, createGraph: true });
    const inner = gs.map((g, i) => g.mul(tensor(floats(g.size, 200 + i, -1, 1), { shape: g.shape.slice(), device })).sum()).reduce((p, q) => p.add(q));
    const hs = grad(inner, xs, { allowUnused: true });
    return Promise.all(hs.map(async (h, i) => (h === null ? new Array<number>(xs[i]!.size).fill(0) : Array.from((await h.data()) as Float32Array))));
  }
  for (const device of GPUS) {
    for (const c of SECOND_ORDER) {
      it(`second order: ${c.name} on ${device}`, async () => {
        const cpu = await secondOrderOn('cpu', c);
        const gpu = await secondOrderOn(device, c);
        cpu.forEach((g, i) => g.forEach((v, j) => {
          const h = gpu[i]![j]!;
          if (!(Math.abs(h - v) <= 1e-4 + 1e-4 * Math.abs(v))) throw new Error(`input ${i} element ${j}: cpu ${v}, ${device} ${h}`);
        }));
      });
    }
  }

  it('ties in max split the same way on the GPU', async () => {
    for (const device of GPUS) {
      const x = tensor([[1, 3, 3], [2, 2, 0]], { device, requiresGrad: true });
      x.max(1).sum().backward();
      expect(Array.from((await x.grad!.data()) as Float32Array)).toEqual([0, 0.5, 0.5, 0.5, 0.5, 0]);
    }
  });
});
