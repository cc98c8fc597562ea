/**
 * Corners of src/nn that fresh mutation samples (seeds 20261215, 20261216) found unobserved: which hint a
 * multi-head attention feature mismatch gives, a convolution called with its bias left out, softmax's default
 * dimension, the arguments `normal_` names, the op a convolution's windows carry in the autograd graph, a state
 * dict on another device than the module; the attention input bias that resetParameters zeroes, and the op and
 * argument crossEntropy's options and a Parameter of a non-tensor are refused with.
 */
import { describe, expect, it } from 'vitest';
import { noGrad, randn, tensor, type Tensor } from '../../src/index.js';
import type { GradNode } from '../../src/autograd/node.js';
import { DEVICES } from '../helpers/devices.js';
import { thrown } from '../helpers/thrown.js';
import { nn } from './nn.js';

describe('MultiheadAttention feature mismatches', () => {
  it('a query of the wrong width gets the layout hint; a key or value of the wrong width, the kdim/vdim hint', () => {
    const mha = new nn.MultiheadAttention(8, 2, { batchFirst: true });
    const ok = randn([2, 3, 8]);
    const wide = randn([2, 3, 6]);
    const q = thrown(() => mha.forward(wide, ok, ok));
    expect(q.message).toMatch(/query has 6 features, expected embedDim = 8/);
    expect(q.hint).toBe('batchFirst inputs are [batch, sequence, embedDim]');
    const k = thrown(() => mha.forward(ok, wide, ok));
    expect(k.message).toMatch(/key has 6 features, expected kdim = 8/);
    expect(k.hint).toBe('build the module with { kdim: 6 } for keys of another size');
  });
});

/** A direct float64 cross-correlation: x [N, C, H, W], w [O, C/groups, kh, kw], stride 1, no padding. */
function directConv(x: number[][][][], w: number[][][][], groups: number): number[][][][] {
  const [n, c, h, wd] = [x.length, x[0]!.length, x[0]![0]!.length, x[0]![0]![0]!.length];
  const [o, cg, kh, kw] = [w.length, w[0]!.length, w[0]![0]!.length, w[0]![0]![0]!.length];
  const og = o / groups;
  void c;
  return Array.from({ length: n }, (_, b) => Array.from({ length: o }, (_, oc) => Array.from({ length: h - kh + 1 }, (_, i) =>
    Array.from({ length: wd - kw + 1 }, (_, j) => {
      const g = Math.floor(oc / og);
      let s = 0;
      for (let ci = 0; ci < cg; ci++) for (let p = 0; p < kh; p++) for (let q = 0; q < kw; q++) s += x[b]![g * cg + ci]![i + p]![j + q]! * w[oc]![ci]![p]![q]!;
      return s;
    }))));
}

describe('conv2d with its bias left out', () => {
  for (const groups of [1, 2]) {
    it(`computes the convolution alone (groups ${groups})`, () => {
      const x = randn([2, 4, 5, 5], { dtype: 'float64' });
      const w = randn([6, 4 / groups, 3, 3], { dtype: 'float64' });
      const y = nn.functional.conv2d(x, w, undefined, { groups });
      const want = directConv(x.toArray() as number[][][][], w.toArray() as number[][][][], groups);
      const got = y.toArray() as number[][][][];
      expect(y.shape).toEqual([2, 6, 3, 3]);
      got.flat(3).forEach((v, i) => expect(Math.abs(v - want.flat(3)[i]!)).toBeLessThan(1e-12));
    });
  }

  it("names its windows 'unfold' in the autograd graph", () => {
    // Stride 2: the windows path (the transposed-gradient path is for stride 1).
    const w = randn([3, 2, 3, 3]).requiresGrad_();
    const y = nn.functional.conv2d(randn([1, 2, 7, 7]).requiresGrad_(), w, null, { stride: 2 });
    const ops = new Set<string>();
    const stack: (GradNode | null)[] = [y.gradFn];
    while (stack.length > 0) {
      const node = stack.pop();
      if (node === null || node === undefined || ops.has(node.op)) continue;
      ops.add(node.op);
      for (const t of node.inputs as readonly (Tensor | null)[]) stack.push(t?.gradFn ?? null);
    }
    expect(ops).toContain('unfold');
  });
});

describe('softmax', () => {
  it('normalises over the last dimension when no dimension is given', () => {
    // [2, 2, 3]: the last dimension is not dimension 1.
    const rows = [[[1, 2, 3], [0, -1, 4]], [[5, 5, 5], [-2, 0, 2]]];
    const got = nn.functional.softmax(tensor(rows, { dtype: 'float64' })).toArray() as number[][][];
    rows.forEach((plane, i) => plane.forEach((r, j) => {
      const e = r.map(Math.exp);
      const s = e.reduce((a, b) => a + b, 0);
      e.forEach((v, k) => expect(Math.abs(got[i]![j]![k]! - v / s)).toBeLessThan(1e-15));
    }));
  });
});

describe('nn.init.normal_ refusals', () => {
  it('name normal_ and the argument', () => {
    const t = randn([3]);
    const notTensor = thrown(() => nn.init.normal_('t' as never));
    expect(notTensor.op).toBe('normal_');
    const mean = thrown(() => nn.init.normal_(t, 'a' as never));
    expect([mean.op, mean.message]).toEqual(['normal_', expect.stringMatching(/mean must be a number/)]);
    const std = thrown(() => nn.init.normal_(t, 0, Number.NaN));
    expect([std.op, std.message]).toEqual(['normal_', expect.stringMatching(/std must be a number/)]);
  });
});

describe.skipIf(!DEVICES.includes('webgpu'))('loadStateDict across devices', () => {
  it('refuses a checkpoint tensor on another device than the module, naming both and what to move', async () => {
    const lin = new nn.Linear(2, 2);
    const entries = await Promise.all(Object.entries(lin.stateDict()).map(async ([k, v]) => [k, await (v as Tensor).to('webgpu')] as const));
    const state = new Map<string, Tensor>(entries);
    const e = thrown(() => lin.loadStateDict(state));
    expect(e.message).toMatch(/weight is on 'webgpu' but the module is on 'cpu'/);
    expect(e.op).toBe('loadStateDict');
    expect(e.hint).toBe('move the checkpoint tensors or the module first (await module.to(device))');
  });
});

// Seed 20261216's survivors.
describe('resetParameters, and refusals that name what they refuse', () => {
  it("MultiheadAttention.resetParameters zeroes the input projection's bias, as PyTorch's does", () => {
    const mha = new nn.MultiheadAttention(4, 2);
    const bias = mha.inProjBias!;
    noGrad(() => bias.copy_(bias.add(3)));
    expect((bias.toArray() as number[]).every((v) => v === 3)).toBe(true);
    mha.resetParameters();
    expect(bias.toArray()).toEqual(new Array(12).fill(0));
  });

  it('crossEntropy options and a Parameter of a non-tensor are refused naming the op and the argument', () => {
    const options = thrown(() => nn.functional.crossEntropy(randn([2, 3]), tensor([0, 1], { dtype: 'int32' }), 5 as never));
    expect([options.op, options.message]).toEqual(['crossEntropy', expect.stringMatching(/options must be an object, got 5/)]);
    const data = thrown(() => new nn.Parameter('x' as never));
    expect([data.op, data.message]).toEqual(['Parameter', expect.stringMatching(/data must be a Tensor, got "x"/)]);
  });
});
