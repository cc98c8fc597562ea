/**
 * ResNet-34 against torchvision: parameter count, state-dict names and shapes, and the logits PyTorch computes in
 * float64 for the weights and input defined by the formula in tests/conformance/resnet34_torchvision.json.
 */
import { describe, expect, it } from 'vitest';
import { noGrad, type Tensor } from '../../src/index.js';
import { nn } from './nn.js';
import { formulaInput, formulaTensor, loadResnetCase } from './resnet-weights.js';

const reference = loadResnetCase();

describe('ResNet-34 as torchvision builds it', () => {
  it('has 21,797,672 parameters and torchvision\'s state-dict keys, order and shapes', () => {
    const m = nn.models.resnet34({ numClasses: 1000 });
    expect(m.numParameters()).toBe(21_797_672);
    expect(reference.param_count).toBe(21_797_672);
    const state = m.stateDict();
    expect(Object.keys(state)).toEqual(reference.keys);
    for (const k of reference.keys) expect(state[k]!.shape, k).toEqual(reference.shapes[k]);
    expect(m.layer2.at(0)).toBeInstanceOf(nn.models.BasicBlock);
  });

  it('maps [N, 3, H, W] to [N, numClasses] and trains through every parameter', () => {
    const m = nn.models.resnet34({ numClasses: 10 });
    const x = formulaInput('float32').slice(2, 0, 32).slice(3, 0, 32).expand(2, 3, 32, 32).contiguous();
    const y = m.forward(x);
    expect(y.shape).toEqual([2, 10]);
    y.sum().backward();
    expect(m.parameters().every((p) => p.grad !== null)).toBe(true);
  });

  it('computes PyTorch\'s float64 logits for the same weights (eval mode)', () => {
    const m = nn.models.resnet34({ numClasses: 1000 }).double();
    const state: Record<string, Tensor> = {};
    for (const k of reference.keys) state[k] = formulaTensor(k, reference.shapes[k]!);
    m.loadStateDict(state);
    m.eval();
    const logits = noGrad(() => m.forward(formulaInput('float64')));
    expect(logits.shape).toEqual([1, 1000]);
    const got = logits.dataSync();
    let err = 0;
    for (let i = 0; i < 1000; i++) err = Math.max(err, Math.abs(got[i]! - reference.logits_float64[i]!));
    console.log(`[resnet34] max |logit - PyTorch float64 logit| = ${err.toExponential(3)} (max |logit| ${reference.max_abs_logit})`);
    expect(err).toBeLessThan(1e-8);
  }, 300_000);
});
