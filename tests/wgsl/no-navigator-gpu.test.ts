/**
 * Outside Node and Bun, WebGPU comes only from the runtime's own navigator.gpu: without one, creating the backend
 * is an EinjitError that names the runtime and, in a browser or a worker, says which browsers have WebGPU; in Node
 * with EINJIT_WEBGPU=off Dawn is not loaded and the refusal says so. (The runtime is mocked; nothing here loads
 * Dawn.)
 */
import { describe, expect, it, vi } from 'vitest';
import { WebGPUBackend } from '../../kernels/wgsl/index.js';
import type { Runtime } from '../../src/platform/index.js';

const state = vi.hoisted(() => ({ runtime: 'browser' as Runtime }));
vi.mock('../../src/platform/index.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/platform/index.js')>();
  return {
    ...real,
    get runtime() {
      return state.runtime;
    },
    navigatorGpu: () => undefined,
  };
});

const BROWSER_HINT = 'use a browser with WebGPU enabled (Chrome/Edge 113+, Safari 26+, Firefox 141+ on Windows) over https or localhost, or use the cpu device';

describe('the webgpu backend without navigator.gpu', () => {
  const cases: [Runtime, string, string][] = [
    ['browser', 'this browser has no navigator.gpu', BROWSER_HINT],
    ['worker', 'this worker has no navigator.gpu', BROWSER_HINT],
    ['deno', 'this deno has no navigator.gpu', 'use the cpu device'],
    ['unknown', 'this JavaScript runtime has no navigator.gpu', 'use the cpu device'],
  ];
  for (const [runtime, reason, hint] of cases) {
    it(`in ${runtime}: refused with the runtime's name and what to do`, async () => {
      state.runtime = runtime;
      const e = await WebGPUBackend.create().then(
        () => undefined,
        (err: unknown) => err as { name: string; op: string; reason: string; hint: string },
      );
      expect(e?.name).toBe('EinjitError');
      expect(e?.op).toBe('webgpu');
      expect(e?.reason).toBe(reason);
      expect(e?.hint).toBe(hint);
    });
  }
});

describe('the webgpu backend in Node with EINJIT_WEBGPU=off', () => {
  it('is refused without loading Dawn, and says how to turn it on', async () => {
    state.runtime = 'node';
    const saved = process.env['EINJIT_WEBGPU'];
    process.env['EINJIT_WEBGPU'] = 'off';
    try {
      const e = await WebGPUBackend.create().then(
        () => undefined,
        (err: unknown) => err as { name: string; op: string; reason: string; hint: string },
      );
      expect([e?.name, e?.op, e?.reason, e?.hint]).toEqual(['EinjitError', 'webgpu', 'WebGPU is turned off (EINJIT_WEBGPU=off)', 'unset EINJIT_WEBGPU to load Dawn from the webgpu package']);
    } finally {
      if (saved === undefined) delete process.env['EINJIT_WEBGPU'];
      else process.env['EINJIT_WEBGPU'] = saved;
    }
  });
});
