/**
 * `compile(..., { device: 'webgpu' })`: explain() shows the plan with its FLOP count and the kernels; kernels()
 * returns one complete WGSL module per kernel, each of which Dawn compiles on its own without errors; run()
 * computes the same values as the CPU.
 */
import { describe, expect, it } from 'vitest';
import { compile, manualSeed, randn } from '../../src/index.js';
import { getBackend } from '../../src/runtime/backend.js';
import { webgpuDeviceOf } from '../../kernels/wgsl/webgpu.js';
import { DEVICES } from '../helpers/devices.js';

describe.skipIf(!DEVICES.includes('webgpu'))('compiled expressions on webgpu', () => {
  it('explains, shows complete WGSL modules that compile, and runs', async () => {
    const gpu = webgpuDeviceOf(getBackend('webgpu', 'test'));
    const pattern = 'bij,bjk,bkl->bil';
    const shapes = [[2, 32, 64], [2, 64, 48], [2, 48, 16]];
    const expr = compile(pattern, shapes, { device: 'webgpu', optimize: 'optimal' });
    const explain = expr.explain();
    expect(explain).toContain('Optimized FLOP count');
    expect(explain).toContain('GEMM');
    const kernels = expr.kernels();
    expect(kernels.length).toBeGreaterThanOrEqual(2);
    for (const k of kernels) {
      expect(k.source).toContain('@compute');
      const errors = (await gpu.compileMessages(k.source)).filter((m) => m.type === 'error');
      expect(errors).toEqual([]);
    }
    expect(expr.source()).toBe(kernels.map((k) => k.source).join('\n\n'));
    // Under each step, explain() names the WGSL entry point that step launches, as the module declares it.
    const runsAs = [...explain.matchAll(/runs as: WGSL (\S+)/g)].map((m) => m[1]!);
    expect(runsAs.length).toBe(kernels.length);
    runsAs.forEach((name, i) => expect(kernels[i]!.source.startsWith(`// einjit GEMM kernel ${name}: `), name).toBe(true));
    manualSeed(5);
    const ops = shapes.map((s) => randn(s));
    const want = compile(pattern, shapes).runSync(...ops).dataSync();
    const got = await (await expr.run(...(await Promise.all(ops.map((t) => t.to('webgpu')))))).data();
    for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-4 * (1 + Math.abs(want[i]!)));
  }, 120_000);
});
