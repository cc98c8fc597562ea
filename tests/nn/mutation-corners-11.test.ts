/**
 * nn behaviour that a fresh mutation sample (seed 20261220) found unpinned: EinMix takes up to 26 distinct axis
 * names (einops maps them to letters) and refuses the 27th; the refusals of nllLoss's class index, kaiming's
 * `mode` and LayerNorm's `eps` name their op and argument.
 */
import { describe, expect, it } from 'vitest';
import { ones, tensor } from '../../src/index.js';
import { nn } from './nn.js';
import { thrown } from '../helpers/thrown.js';

describe('EinMix', () => {
  /** 'x0 .. x{k-1} i -> x0 .. x{k-1} o' with weight 'i o': k + 2 distinct names. */
  const mix = (k: number): nn.EinMix => {
    const xs = Array.from({ length: k }, (_, j) => `x${j}`).join(' ');
    return new nn.EinMix(`${xs} i -> ${xs} o`, 'i o', null, { i: 2, o: 3 });
  };

  it('takes 26 distinct axis names and refuses 27, saying why', () => {
    const most = mix(24);
    expect(new Set(most.einsumPattern.replace(/[,\->]/g, '')).size).toBe(26);
    expect(most.forward(ones([...new Array<number>(24).fill(1), 2])).shape).toEqual([...new Array<number>(24).fill(1), 3]);
    const e = thrown(() => mix(25));
    expect(e.op).toBe('EinMix');
    expect(e.reason).toBe('27 axes, more than the 26 letters einops maps them to');
    expect(e.hint).toBe('use at most 26 distinct axis names');
  });
});

describe('refusals name their op and argument', () => {
  it("nllLoss: a class past the last, as the 'classes' argument's range", () => {
    const e = thrown(() => nn.functional.nllLoss(ones([2, 3]).log(), tensor([0, 5], { dtype: 'int32' })));
    expect(e.op).toBe('nllLoss');
    expect(e.reason).toBe('index 5 is out of range for 3 classes (the indices span 0..5)');
  });

  it("kaiming initialisation: a mode that is neither 'fan_in' nor 'fan_out'", () => {
    for (const init of [nn.init.kaimingUniform_, nn.init.kaimingNormal_]) {
      const e = thrown(() => init(ones([3, 4]), { mode: 'fan_avg' as never }));
      expect(e.op).toBe('init');
      expect(e.reason).toBe("mode must be one of 'fan_in', 'fan_out', got \"fan_avg\"");
    }
    // Both modes are taken: a [300, 400] weight has fan_in 400 and fan_out 300 (PyTorch's), and with the linear
    // gain the standard deviation is 1/sqrt(fan).
    for (const [mode, fan] of [['fan_in', 400], ['fan_out', 300]] as const) {
      const flat = (nn.init.kaimingNormal_(ones([300, 400]), { mode, nonlinearity: 'linear' }).toArray() as number[][]).flat();
      const mean = flat.reduce((s, x) => s + x, 0) / flat.length;
      const sd = Math.sqrt(flat.reduce((s, x) => s + (x - mean) ** 2, 0) / flat.length);
      // 120,000 draws: the sample deviation is within 1 % of the true one far beyond 4 sigma (0.2 % each).
      expect(Math.abs(sd * Math.sqrt(fan) - 1), mode).toBeLessThan(0.01);
    }
  });

  it("LayerNorm: an eps that is not a number", () => {
    const e = thrown(() => new nn.LayerNorm(4, { eps: 'x' as never }));
    expect(e.op).toBe('LayerNorm');
    expect(e.reason).toBe('eps must be a number, got "x"');
  });
});
