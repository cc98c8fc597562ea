/**
 * nn behaviour that a fresh mutation sample (seed 20261213) found unpinned: how Reduce prints a function
 * reduction (its name, or 'custom'); EinMix's dtype and device options (checked, and honoured); unfold, fold and the pools
 * refusing a non-Tensor input, naming what they got; the op and argument constant_, CrossEntropyLoss and addModule name
 * when they refuse one.
 */
import { describe, expect, it } from 'vitest';
import { randn, type Tensor } from '../../src/index.js';
import { nn } from './nn.js';
import { DEVICES } from '../helpers/devices.js';
import { thrown } from '../helpers/thrown.js';

describe('Reduce prints its reduction', () => {
  it('a string as it is, a named function by its name, an anonymous one as custom', () => {
    function rms(x: Tensor, axes: number[]): Tensor { return x.square().mean(axes).sqrt(); }
    expect(String(new nn.Reduce('b c -> b', 'max'))).toBe("Reduce('b c -> b', 'max')");
    expect(String(new nn.Reduce('b c -> b', rms))).toBe("Reduce('b c -> b', 'rms')");
    const anonymous = [(x: Tensor, axes: number[]) => x.sum(axes)][0]!;
    expect(anonymous.name).toBe('');
    expect(String(new nn.Reduce('b c -> b', anonymous))).toBe("Reduce('b c -> b', 'custom')");
  });
});

describe("EinMix's dtype and device options", () => {
  it('dtype: checked, and honoured by the weight and the bias', () => {
    expect(thrown(() => new nn.EinMix('b c -> b d', 'c d', null, { c: 2, d: 3 }, { dtype: 'float128' as never })).op).toBe('EinMix');
    const mix = new nn.EinMix('b c -> b d', 'c d', 'd', { c: 2, d: 3 }, { dtype: 'float64' });
    expect([mix.weight.dtype, mix.bias!.dtype]).toEqual(['float64', 'float64']);
  });

  it('device: checked', () => {
    const e = thrown(() => new nn.EinMix('b c -> b d', 'c d', null, { c: 2, d: 3 }, { device: 'tpu' as never }));
    expect(e.op).toBe('EinMix');
    expect(e.message).toMatch(/device/);
  });

  it.skipIf(!DEVICES.includes('webgpu'))('places the weight and bias on the device asked', () => {
    const mix = new nn.EinMix('b c -> b d', 'c d', 'd', { c: 2, d: 3 }, { device: 'webgpu' });
    expect([mix.weight.device, mix.bias!.device]).toEqual(['webgpu', 'webgpu']);
  });
});

describe('unfold, fold and the pools refuse what is not a Tensor', () => {
  it('naming the op, the argument and what they got', () => {
    expect(thrown(() => nn.functional.unfold(null as never, { kernelSize: 2 })).message).toMatch(/^unfold: input must be a Tensor, got null/);
    expect(thrown(() => nn.functional.fold(3 as never, { kernelSize: 2, outputSize: [4, 4] })).message).toMatch(/^fold: input must be a Tensor, got 3/);
    expect(thrown(() => nn.functional.maxPool2d([1] as never, { kernelSize: 2 })).message).toMatch(/^maxPool2d: input must be a Tensor/);
  });
});

describe('the op and argument each refusal names', () => {
  it('constant_: the tensor and the value', () => {
    expect(thrown(() => nn.init.constant_([1] as never, 1)).op).toBe('constant_');
    const e = thrown(() => nn.init.constant_(randn([2]), 'one' as never));
    expect([e.op, e.message]).toEqual(['constant_', expect.stringMatching(/value must be a number/)]);
  });

  it('CrossEntropyLoss: a reduction it does not know, at construction', () => {
    const e = thrown(() => new nn.CrossEntropyLoss({ reduction: 'avg' as never }));
    expect(e.op).toBe('CrossEntropyLoss');
    expect(e.message).toMatch(/^CrossEntropyLoss: reduction must be one of /);
  });

  it("addModule: a name that is not a string", () => {
    const e = thrown(() => new nn.Sequential().addModule(5 as never, new nn.ReLU()));
    expect(e.op).toBe('addModule');
    expect(e.message).toMatch(/name must be a string/);
  });
});
