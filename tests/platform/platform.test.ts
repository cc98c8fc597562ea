/**
 * The platform layer: what einjit detects about the runtime, storage without shared memory, safetensors from
 * bytes as well as paths, and errors that blame a page's Content-Security-Policy instead of einjit.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { EinjitError, capabilities, einsum, nn, tensor } from '../../src/index.js';
import { asEinjitError } from '../../src/errors.js';
import { allocateArray } from '../../src/lower/backend.js';

const g = globalThis as { crossOriginIsolated?: boolean };

afterEach(() => {
  delete g.crossOriginIsolated;
});

describe('capabilities()', () => {
  it('reports Node with shared memory, workers, code generation and WebAssembly', () => {
    const caps = capabilities();
    expect(caps.runtime).toBe('node');
    expect(caps.sharedMemory).toBe(true);
    expect(caps.workers).toBe('worker_threads');
    expect(caps.codegen).toBe(true);
    expect(caps.wasm).toBe(true);
    expect(caps.webgpu).toBe('webgpu-package');
    expect(caps.notes).toEqual([]);
  });

  it('says, without failing, that a page that is not cross-origin isolated gets one thread and plain memory', () => {
    g.crossOriginIsolated = false;
    const caps = capabilities();
    expect(caps.sharedMemory).toBe(false);
    expect(caps.threads).toBe(1);
    expect(caps.workers).toBe('none');
    expect(caps.notes.join(' ')).toContain('Cross-Origin-Embedder-Policy');
  });
});

describe('storage without shared memory', () => {
  it('allocates plain ArrayBuffers, and einsum over them matches a naive sum (property)', () => {
    g.crossOriginIsolated = false;
    expect(allocateArray('float32', 4).buffer).toBeInstanceOf(ArrayBuffer);
    fc.assert(fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 0, max: 1000 }), (m, k, n, seed) => {
        const a = Array.from({ length: m * k }, (_, i) => ((i * 7 + seed) % 11) - 5);
        const b = Array.from({ length: k * n }, (_, i) => ((i * 5 + seed) % 13) - 6);
        const c = einsum('ij,jk->ik', tensor(a, { shape: [m, k] }), tensor(b, { shape: [k, n] }));
        expect(c.dataSync().buffer).toBeInstanceOf(ArrayBuffer);
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            let s = 0;
            for (let t = 0; t < k; t++) s += a[i * k + t]! * b[t * n + j]!;
            expect(c.dataSync()[i * n + j]).toBe(s);
          }
        }
      }), { numRuns: 30 });
  });
});

describe('errors a page policy causes', () => {
  it("names the Content-Security-Policy, never 'a bug in einjit' (property over the browsers' wordings)", () => {
    const wordings = [
      "Evaluating a string as JavaScript violates the following Content Security Policy directive because 'unsafe-eval' is not an allowed source of script",
      "Refused to evaluate a string as JavaScript because 'unsafe-eval' is not an allowed source of script in the following Content Security Policy directive",
      'call to Function() blocked by CSP: code generation from strings disallowed for this context',
    ];
    fc.assert(fc.property(fc.constantFrom(...wordings), fc.constantFrom('einsum', 'rearrange', 'matmul'), (message, op) => {
      const e = asEinjitError(new EvalError(message), { op });
      expect(e).toBeInstanceOf(EinjitError);
      expect(e.message).toContain('Content-Security-Policy');
      expect(e.message).not.toContain('bug in einjit');
    }));
  });

  it('still calls an unexpected error a bug', () => {
    expect(asEinjitError(new TypeError('x is undefined'), { op: 'einsum' }).message).toContain('bug in einjit');
  });
});

describe('safetensors from bytes', () => {
  it('loads the same tensors from a Uint8Array, an ArrayBuffer, a Blob and a Response', async () => {
    const bytes = await nn.safetensors.saveSafetensors({ w: tensor([[1, 2], [3, 4]]) });
    for (const source of [bytes, bytes.slice().buffer, new Blob([bytes]), new Response(bytes)]) {
      const got = await nn.safetensors.loadFile(source);
      expect(got['w']!.toArray()).toEqual([[1, 2], [3, 4]]);
    }
  });

  it('says what to do with a failed fetch', async () => {
    await expect(nn.safetensors.loadFile(new Response('missing', { status: 404 }))).rejects.toThrow(/status 404/);
  });
});
