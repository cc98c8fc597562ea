/**
 * Module printouts read as PyTorch's: booleans as True/False, floats as Python's repr, and Conv2d's optional
 * fields (padding, dilation, groups, bias=False) when they differ from the defaults. The expected strings are
 * what PyTorch prints for the same modules; the float table was made by Python's repr().
 */
import { describe, expect, it } from 'vitest';

import { nn } from '../../src/index.js';
import { pyFloat } from '../../src/nn/module.js';

describe('module printouts match PyTorch', () => {
  it('formats floats as Python repr does', () => {
    // [value, repr(value)] from python3.
    const table: [number, string][] = [
      [1e-5, '1e-05'], [0.1, '0.1'], [1e-4, '0.0001'], [0.00012, '0.00012'], [1e16, '1e+16'], [1.5e16, '1.5e+16'],
      [123456789012345, '123456789012345.0'], [1, '1.0'], [0, '0.0'], [-0, '-0.0'], [2.5, '2.5'], [1e-300, '1e-300'],
      [3e-7, '3e-07'], [0.001, '0.001'], [1 / 3, '0.3333333333333333'], [-1e-5, '-1e-05'], [1e22, '1e+22'],
      [Infinity, 'inf'], [-Infinity, '-inf'], [NaN, 'nan'], [5e-324, '5e-324'], [1.7976931348623157e308, '1.7976931348623157e+308'],
      [100, '100.0'],
    ];
    for (const [x, want] of table) expect(pyFloat(x), String(x)).toBe(want);
  });

  it('prints Linear, LayerNorm and BatchNorm2d as PyTorch does', () => {
    expect(String(new nn.Linear(2, 3))).toBe('Linear(in_features=2, out_features=3, bias=True)');
    expect(String(new nn.Linear(2, 3, { bias: false }))).toBe('Linear(in_features=2, out_features=3, bias=False)');
    expect(String(new nn.LayerNorm(4))).toBe('LayerNorm((4,), eps=1e-05, elementwise_affine=True)');
    expect(String(new nn.BatchNorm2d(64))).toBe('BatchNorm2d(64, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)');
    expect(String(new nn.BatchNorm2d(8, { affine: false, trackRunningStats: false, eps: 1e-3 })))
      .toBe('BatchNorm2d(8, eps=0.001, momentum=0.1, affine=False, track_running_stats=False)');
  });

  it('prints Conv2d with padding, dilation, groups and bias=False only when they are not the defaults', () => {
    expect(String(new nn.Conv2d(3, 8, 3))).toBe('Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1))');
    expect(String(new nn.Conv2d(4, 8, 3, { stride: 2, padding: 1, dilation: 2, groups: 2, bias: false })))
      .toBe('Conv2d(4, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), dilation=(2, 2), groups=2, bias=False)');
  });
});
