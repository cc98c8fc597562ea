/**
 * Every example in examples/ runs, and its results are checked against independent computations.
 */
import { describe, expect, it, vi } from 'vitest';
import { tensor } from '../../src/index.js';
import * as attention from '../../examples/attention.js';
import * as bilinear from '../../examples/bilinear.js';
import * as network from '../../examples/tensor-network.js';
import * as recipes from '../../examples/einops-recipes.js';
import * as wgsl from '../../examples/wgsl-inspection.js';
import { DEVICES } from '../helpers/devices.js';

vi.spyOn(console, 'log').mockImplementation(() => {});

describe('examples', () => {
  it('attention: rows of the attention weights sum to one, so constant values pass through unchanged', () => {
    const out = attention.main();
    expect(out.shape).toEqual([2, 4, 16, 8]);
    const q = tensor([[[[1, 0], [0, 1], [1, 1]]]]);
    const v = tensor([[[[2, -1], [2, -1], [2, -1]]]]);
    const r = attention.attention(q, q, v);
    for (const x of r.dataSync()) expect(Math.abs(Math.abs(x) - (x > 0 ? 2 : 1))).toBeLessThan(1e-6);
  });

  it('bilinear: the form equals a loop over i and j', () => {
    const x = tensor([[1, 2]]);
    const A = tensor([[1, 2, 3], [4, 5, 6]]);
    const y = tensor([[1, 0, -1]]);
    // x·A = [9, 12, 15]; · y = 9 - 15 = -6
    expect(bilinear.bilinearForm(x, A, y).item()).toBe(-6);
    const { form, layer } = bilinear.main();
    expect(form.shape).toEqual([5]);
    expect(layer.shape).toEqual([5, 6]);
  });

  it('tensor network: the MPS norm is positive and the report names the contraction', () => {
    const { value, report } = network.main();
    expect(value.reshape([1]).item()).toBeGreaterThan(0);
    expect(report).toContain('Complete contraction');
  });

  it('einops recipes: space-to-depth moves each 2x2 block into channels; pack/unpack round-trips', () => {
    const x = tensor([[[[1, 2], [3, 4]]]]);
    expect(recipes.spaceToDepth(x).toArray()).toEqual([[[[1]], [[2]], [[3]], [[4]]]]);
    const { depth, embedded, packed } = recipes.main();
    expect(depth.shape).toEqual([2, 12, 4, 4]);
    expect(embedded.shape).toEqual([2, 4, 16]);
    expect(packed.shape).toEqual([2, 5, 16]);
    const tokens = tensor([[[1, 2], [3, 4]]]);
    const r = recipes.withClsToken(tokens, tensor([9, 9]));
    expect(r.packed.toArray()).toEqual([[[9, 9], [1, 2], [3, 4]]]);
    expect(r.tokens.toArray()).toEqual(tokens.toArray());
  });

  it('WGSL inspection prints the generated kernel of a matmul', async () => {
    const { device, source, explain } = await wgsl.main();
    expect(device).toBe(DEVICES.includes('webgpu') ? 'webgpu' : 'cpu');
    expect(explain).toContain('ik,kj->ij');
    if (device === 'webgpu') {
      expect(source).toContain('@compute');
      expect(source).toContain('ik,kj->ij');
    } else {
      // A float32 matmul is a GEMM on the CPU too: its source is the packed GEMM's header and macro-kernels.
      expect(explain).toContain('GEMM ik,kj->ij');
      expect(source).toContain('GEMM float32: C[b,m,n] = sum_k A[b,m,k] * B[b,k,n]');
      expect(source).toContain('(module');
    }
  });
});
