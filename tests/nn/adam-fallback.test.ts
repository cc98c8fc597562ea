/**
 * Adam and AdamW take their fused kernels only for a floating parameter whose gradient (and moments) share its
 * dtype, shape and device; anything else runs the update op by op. That second path is checked here against
 * PyTorch's rule written out on float64 numbers, with every option, so a slip in either path fails a test.
 */
import { describe, expect, it } from 'vitest';
import { profile, tensor } from '../../src/index.js';
import { nn, optim } from './nn.js';
import { adamReference as reference, type AdamReferenceOptions as Options } from '../helpers/adam-reference.js';

const P0 = [1, -2, 0.5];
const GRADS = [[0.5, -1, 0.1], [0.25, 2, -0.3], [-1, 0.5, 0.7], [0.3, 0.3, -2]];
const CASES: (Options & { lr: number })[] = [
  { lr: 0.01, decoupled: false },
  { lr: 0.01, weightDecay: 0.1, decoupled: false },
  { lr: 0.02, maximize: true, weightDecay: 0.05, decoupled: false },
  { lr: 0.01, decoupled: true },
  { lr: 0.03, weightDecay: 0.2, maximize: true, decoupled: true },
];

describe('Adam / AdamW op by op (the gradient or the parameter rules out the fused kernels)', () => {
  for (const o of CASES) {
    it(`a float32 parameter with float64 gradients: ${JSON.stringify(o)}`, async () => {
      const p = new nn.Parameter(tensor(P0));
      const make = o.decoupled ? optim.AdamW : optim.Adam;
      const opt = new make([p], { lr: o.lr, ...(o.weightDecay === undefined ? {} : { weightDecay: o.weightDecay }), ...(o.maximize === undefined ? {} : { maximize: o.maximize }) });
      const got: number[][] = [];
      for (const [k, g] of GRADS.entries()) {
        p.grad = tensor(g, { dtype: 'float64' });
        if (k === 2) {
          // Not the fused path's four launches: the op-by-op update runs a dozen kernels.
          const prof = await profile(() => opt.step());
          expect(prof.launches).toBeGreaterThan(4);
        } else {
          opt.step();
        }
        expect(p.dtype).toBe('float32');
        got.push(p.toArray() as number[]);
      }
      const want = reference(P0, GRADS, o);
      got.forEach((row, i) => row.forEach((x, j) => expect(Math.abs(x - want[i]![j]!)).toBeLessThanOrEqual(4e-6 * (1 + Math.abs(want[i]![j]!)))));
    });
  }

  it('a float16 parameter follows the rule within float16 rounding', () => {
    const p = new nn.Parameter(tensor(P0, { dtype: 'float16' }));
    const opt = new optim.AdamW([p], { lr: 0.05, weightDecay: 0.1 });
    const got: number[][] = [];
    for (const g of GRADS) {
      p.grad = tensor(g, { dtype: 'float16' });
      opt.step();
      expect(p.dtype).toBe('float16');
      got.push(p.toArray() as number[]);
    }
    const want = reference(P0, GRADS, { lr: 0.05, weightDecay: 0.1, decoupled: true });
    got.forEach((row, i) => row.forEach((x, j) => expect(Math.abs(x - want[i]![j]!)).toBeLessThanOrEqual(4e-3 * (1 + Math.abs(want[i]![j]!)))));
  });
});
