/**
 * WGSL backend corners a fresh mutation sample (seed 20261222) found unpinned: a buffer of a length that is not
 * a count of elements is refused, under the name of the call that asked for it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebGPUBackend } from '../../kernels/wgsl/index.js';
import { thrown } from '../helpers/thrown.js';
import { gpuAvailable, openBackend } from './setup.js';

describe.skipIf(!gpuAvailable)('the webgpu backend', () => {
  let backend: WebGPUBackend;
  beforeAll(async () => { backend = await openBackend(); });
  afterAll(() => { backend?.destroy(); });

  it('refuses to allocate a length that is not a count of elements', () => {
    for (const length of [-1, 1.5, NaN, Infinity, 2 ** 53]) {
      for (const op of ['allocate', 'allocateZeroed'] as const) {
        const e = thrown(() => backend[op]('float32', length));
        expect(e.op, `${op}(${length})`).toBe(op);
        expect(e.reason).toBe(`cannot allocate ${length} elements`);
      }
    }
    // The largest and smallest counts that are: 0 and a safe integer the device can hold.
    backend.release(backend.allocate('float32', 0));
    backend.release(backend.allocateZeroed('int32', 7));
  });
});
