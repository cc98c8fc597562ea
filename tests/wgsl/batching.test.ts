/**
 * Launch batching (kernels/wgsl/backend.ts): launches are encoded into one command encoder and submitted later,
 * while uploads, poison fills and buffer destruction act on the queue at once, and released buffers are reused
 * from the pool. Random sequences of those operations must give what a host model of the same sequence gives —
 * the hazard class being an upload or clear into a reused buffer that overtakes a launch still waiting in the
 * batch, or a launch reading params or bind groups of another.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { GpuStorage, WebGPUBackend } from '../../kernels/wgsl/index.js';
import { buildLoop } from '../../src/lower/loops.js';
import { ex } from '../../src/lower/spec.js';
import type { LoopSpec } from '../../src/lower/spec.js';
import { gpuAvailable, openBackend } from './setup.js';

const SEED = process.env['EINJIT_GPU_SEED'] === 'random' ? undefined : Number(process.env['EINJIT_GPU_SEED'] ?? 20261204);
const N = 64;

function map(label: string, inputs: number, expr: LoopSpec['expr']): LoopSpec {
  return buildLoop({
    label, outShape: [N], inputs: Array.from({ length: inputs }, () => ({ dtype: 'float32' as const, offset: 0, strides: [1] })),
    output: { dtype: 'float32', offset: 0, strides: [1] }, expr, computeType: 'float32',
  });
}
const add = map('add', 2, ex.binary('add', ex.input(0), ex.input(1)));
const affine = (c: number): LoopSpec => map('affine', 1, ex.binary('add', ex.binary('mul', ex.input(0), ex.const(c)), ex.const(1)));
const copy = map('copy', 1, ex.input(0));

type Op =
  | { kind: 'upload'; seed: number }
  | { kind: 'zeroed' }
  | { kind: 'add'; a: number; b: number }
  | { kind: 'affine'; a: number; c: number }
  | { kind: 'copy'; a: number }
  | { kind: 'release'; a: number }
  | { kind: 'read'; a: number }
  | { kind: 'yield' };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('upload' as const), seed: fc.integer({ min: 1, max: 1e6 }) }),
  fc.record({ kind: fc.constant('zeroed' as const) }),
  fc.record({ kind: fc.constant('add' as const), a: fc.nat(), b: fc.nat() }),
  fc.record({ kind: fc.constant('affine' as const), a: fc.nat(), c: fc.constantFrom(-2, 0.5, 3) }),
  fc.record({ kind: fc.constant('copy' as const), a: fc.nat() }),
  fc.record({ kind: fc.constant('release' as const), a: fc.nat() }),
  fc.record({ kind: fc.constant('read' as const), a: fc.nat() }),
  fc.record({ kind: fc.constant('yield' as const) }),
);

describe.skipIf(!gpuAvailable)('launch batching', () => {
  let backend: WebGPUBackend;
  beforeAll(async () => { backend = await openBackend(); });
  afterAll(() => { backend?.destroy(); });

  it('random sequences of uploads, zeroed allocations, launches, releases and reads match a host model', { timeout: 300_000 }, async () => {
    await fc.assert(fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 60 }), async (ops) => {
      const live: { s: GpuStorage; want: Float32Array }[] = [];
      const pickLive = (i: number): { s: GpuStorage; want: Float32Array } | undefined => live[i % Math.max(live.length, 1)];
      const out = (want: Float32Array): GpuStorage => {
        const s = backend.allocate('float32', N);
        live.push({ s, want });
        return s;
      };
      try {
        for (const o of ops) {
          switch (o.kind) {
            case 'upload': {
              const data = Float32Array.from({ length: N }, (_, i) => ((o.seed * (i + 1)) % 97) - 48);
              live.push({ s: backend.upload('float32', data), want: data });
              break;
            }
            case 'zeroed':
              live.push({ s: backend.allocateZeroed('float32', N), want: new Float32Array(N) });
              break;
            case 'add': {
              const a = pickLive(o.a);
              const b = pickLive(o.b);
              if (a === undefined || b === undefined) break;
              const want = Float32Array.from(a.want, (v, i) => v + b.want[i]!);
              backend.run(add, [a.s, b.s], out(want));
              break;
            }
            case 'affine': {
              const a = pickLive(o.a);
              if (a === undefined) break;
              const want = Float32Array.from(a.want, (v) => Math.fround(Math.fround(v * o.c) + 1));
              backend.run(affine(o.c), [a.s], out(want));
              break;
            }
            case 'copy': {
              const a = pickLive(o.a);
              if (a === undefined) break;
              backend.run(copy, [a.s], out(Float32Array.from(a.want)));
              break;
            }
            case 'release': {
              if (live.length === 0) break;
              const [gone] = live.splice(o.a % live.length, 1);
              backend.release(gone!.s);
              break;
            }
            case 'read': {
              const a = pickLive(o.a);
              if (a === undefined) break;
              expect(Array.from((await backend.read(a.s)) as Float32Array)).toEqual(Array.from(a.want));
              break;
            }
            case 'yield':
              await Promise.resolve();
              break;
          }
        }
        for (const a of live) expect(Array.from((await backend.read(a.s)) as Float32Array)).toEqual(Array.from(a.want));
      } finally {
        for (const a of live) backend.release(a.s);
      }
    }), { seed: SEED, numRuns: 40 });
  });

  it('an upload into a buffer released after a batched launch read it does not overtake that launch', async () => {
    const x = backend.upload('float32', new Float32Array(N).fill(1));
    const y = backend.allocate('float32', N);
    backend.run(copy, [x], y); // encoded, not submitted
    backend.release(x);
    const z = backend.upload('float32', new Float32Array(N).fill(9)); // the same pooled buffer
    expect(z.buffer).toBe(x.buffer);
    expect(Array.from((await backend.read(y)) as Float32Array)).toEqual(new Array<number>(N).fill(1));
    for (const s of [y, z]) backend.release(s);
  });

  it('a zeroed reuse of a buffer a batched launch wrote is zero, and the launch is not lost', async () => {
    const x = backend.upload('float32', new Float32Array(N).fill(5));
    const y = backend.allocate('float32', N);
    const w = backend.allocate('float32', N);
    backend.run(copy, [x], y); // writes y
    backend.run(copy, [y], w); // reads y
    backend.release(y);
    const z = backend.allocateZeroed('float32', N); // y's buffer, cleared in order
    expect(z.buffer).toBe(y.buffer);
    expect(Array.from((await backend.read(w)) as Float32Array)).toEqual(new Array<number>(N).fill(5));
    expect(Array.from((await backend.read(z)) as Float32Array)).toEqual(new Array<number>(N).fill(0));
    for (const s of [x, w, z]) backend.release(s);
  });

  it('more launches than one batch holds, with distinct params each, all land', async () => {
    let x = backend.upload('float32', new Float32Array(N).fill(0));
    let want = 0;
    for (let i = 0; i < 600; i++) {
      const c = (i % 3) - 1; // x * c + 1, params differ launch to launch
      const y = backend.allocate('float32', N);
      backend.run(affine(c), [x], y);
      backend.release(x);
      x = y;
      want = Math.fround(want * c + 1);
    }
    expect(Array.from((await backend.read(x)) as Float32Array)).toEqual(new Array<number>(N).fill(want));
    backend.release(x);
  });
});
