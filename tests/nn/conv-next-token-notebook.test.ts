/**
 * Seed 003 reproduced step by step: the BPE tokenizer, the batch, the embedding, unfold against the manual
 * pad-and-slide unfold, both convolutions (unfold + matmul), batch norm, the 1×1 stride-2 residual, the head and
 * the loss on the stride-aligned targets, with the notebook's constant initialisation and printed values.
 */
import { describe, expect, it } from 'vitest';
import { arange, noGrad, stack, tensor, type Tensor } from '../../src/index.js';
import { nn } from './nn.js';

const F = nn.functional;

function expectRowsClose(t: Tensor, row: number[], digits = 4): void {
  const v = t.dataSync();
  const n = row.length;
  for (let i = 0; i < v.length; i++) expect(v[i]).toBeCloseTo(row[i % n]!, digits);
}

function setup(): { tok: InstanceType<typeof nn.models.SimpleBPETokenizer>; x: Tensor; y: Tensor } {
  const tok = new nn.models.SimpleBPETokenizer(5);
  tok.train(nn.models.SEED_TEXTS);
  const all = tensor(nn.models.seedTokens(tok), { dtype: 'int32' });
  const batch = all.slice(0, 0, 2 * 8 + 1);
  return { tok, x: batch.slice(0, 0, -1).view(2, 8), y: batch.slice(0, 1).view(2, 8) };
}

function seedWeight(values: number[], shape: [number, number, number, number]): Tensor {
  const p = new nn.Parameter(tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)), { shape }));
  noGrad(() => p.copy_(tensor(values).view(1, 1, 1, values.length).expand(shape)));
  return p;
}

describe('seed 003: a convolutional next-token model', () => {
  it('tokenizes as the notebook: merges, vocabulary and the token stream', () => {
    const { tok, x, y } = setup();
    expect(tok.merges).toEqual([[' ', 'a'], ['a', 't'], ['i', 'n'], [' ', 'm'], ['i', 'o']]);
    expect(tok.vocabSize).toBe(36);
    expect(tok.vocab.get('–')).toBe(29);
    expect(tok.vocab.get(' a')).toBe(30);
    expect(tok.eotId).toBe(35);
    expect(x.toArray()).toEqual([[35, 15, 32, 9, 5, 20, 30, 15], [11, 9, 6, 20, 5, 0, 13, 21]]);
    expect(y.toArray()).toEqual([[15, 32, 9, 5, 20, 30, 15, 11], [9, 6, 20, 5, 0, 13, 21, 0]]);
    const text = nn.models.SEED_TEXTS[0]!.toLowerCase();
    expect(tok.decode(tok.encode(text))).toBe(text);
  });

  it('reproduces every printed tensor and the loss 3.5835 step by step', () => {
    const { x: idx, y } = setup();
    const wte = new nn.Embedding(36, 6);
    nn.init.constant_(wte.weight, 0.25);
    let x = wte.forward(idx);
    expect(x.shape).toEqual([2, 8, 6]);
    x = x.permute(0, 2, 1).unsqueeze(2); // [B, C, 1, T]
    expect(x.shape).toEqual([2, 6, 1, 8]);

    // Manual unfold: pad the width by 1, slide a 1×3 window, flatten each patch into a column.
    const xPad = F.pad(x, [1, 1, 0, 0]);
    expect(xPad.shape).toEqual([2, 6, 1, 10]);
    const cols: Tensor[] = [];
    for (let j = 0; j < 8; j++) cols.push(xPad.slice(3, j, j + 3).reshape([2, 18]));
    const manual = stack(cols, 2);
    const unfolded = F.unfold(x, { kernelSize: [1, 3], padding: [0, 1], stride: [1, 1] });
    expect(unfolded.shape).toEqual([2, 18, 8]);
    expect(unfolded.toArray()).toEqual(manual.toArray());
    expectRowsClose(unfolded.index(0, 0), [0, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25]);
    expectRowsClose(unfolded.index(0, 2), [0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0]);

    // First convolution: [6, 18] @ [2, 18, 8].
    const conv1 = seedWeight([0.1, 0.2, 0.3], [6, 6, 1, 3]);
    let out = conv1.view(6, -1).matmul(unfolded).view(2, 6, 1, 8);
    expectRowsClose(out, [0.75, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.45]);
    const bnA = new nn.BatchNorm2d(6);
    expect(bnA.weight!.toArray()).toEqual([1, 1, 1, 1, 1, 1]);
    out = bnA.forward(out);
    expectRowsClose(out, [-0.4999, 0.4999, 0.4999, 0.4999, 0.4999, 0.4999, 0.4999, -2.4994]);
    out = F.relu(out);
    expectRowsClose(out, [0, 0.4999, 0.4999, 0.4999, 0.4999, 0.4999, 0.4999, 0]);

    // Second convolution downsamples with a stride of 2.
    const conv2 = seedWeight([0.3, 0.2, 0.1], [6, 6, 1, 3]);
    const c2cols = F.unfold(out, { kernelSize: [1, 3], padding: [0, 1], stride: [1, 2] });
    expect(c2cols.shape).toEqual([2, 18, 4]);
    out = conv2.view(6, -1).matmul(c2cols);
    expectRowsClose(out, [0.2999, 1.7996, 1.7996, 1.4997]);
    out = new nn.BatchNorm2d(6).forward(out.view(2, 6, 1, 4));
    expectRowsClose(out, [-1.6977, 0.7276, 0.7276, 0.2425]);

    // Residual: 1×1 stride-2 convolution of the block input.
    const res = seedWeight([0.05], [6, 6, 1, 1]);
    const xCols = F.unfold(x, { kernelSize: [1, 1], stride: [1, 2] });
    expect(xCols.shape).toEqual([2, 6, 4]);
    const identity = res.view(6, -1).matmul(xCols).view(2, 6, 1, 4);
    expectRowsClose(identity, [0.075]);
    let h = out.add(identity);
    expectRowsClose(h, [-1.6227, 0.8026, 0.8026, 0.3175]);
    h = F.relu(h).squeeze(2).permute(0, 2, 1);
    expect(h.shape).toEqual([2, 4, 6]);

    const head = new nn.Linear(6, 36, { bias: false });
    nn.init.ones_(head.weight);
    const logits = head.forward(h);
    expect(logits.shape).toEqual([2, 4, 36]);
    expect(logits.index(0, 1, 0).item()).toBeCloseTo(4.8156, 3);

    // Stride-aligned targets: every other target.
    const centers = arange(4).mul(2);
    const yAligned = y.index(':', '::2');
    expect(centers.toArray()).toEqual([0, 2, 4, 6]);
    expect(yAligned.toArray()).toEqual([[15, 9, 20, 15], [9, 20, 0, 21]]);
    const loss = F.crossEntropy(logits.reshape([8, 36]), yAligned.reshape([8]));
    expect(loss.shape).toEqual([]);
    expect(loss.item()).toBeCloseTo(3.5835, 4);
  });

  it('the packaged TokenConvNet gives the same loss and trains through every parameter', () => {
    const { x, y } = setup();
    const m = new nn.models.TokenConvNet({ vocabSize: 36, nEmbd: 6 });
    nn.init.constant_(m.wte.weight, 0.25);
    noGrad(() => {
      m.convA.weight.copy_(tensor([0.1, 0.2, 0.3]).view(1, 1, 1, 3));
      m.convB.weight.copy_(tensor([0.3, 0.2, 0.1]).view(1, 1, 1, 3));
    });
    nn.init.constant_(m.resConv.weight, 0.05);
    nn.init.ones_(m.lmHead.weight);
    const logits = m.forward(x);
    expect(logits.shape).toEqual([2, 4, 36]);
    const loss = m.loss(logits, y);
    expect(loss.item()).toBeCloseTo(3.5835, 4);
    loss.backward();
    for (const [name, p] of m.namedParameters()) expect(p.grad, name).not.toBeNull();
    expect(Object.keys(m.stateDict())).toContain('bn_a.running_mean');
  });
});
