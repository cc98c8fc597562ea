/**
 * Vitest global setup: looks for a WebGPU adapter once, in a child process, before any test file runs. The GPU
 * suites read the answer (`inject('webgpuProbe')`, see tests/helpers/devices.ts and tests/wgsl/setup.ts), so on a
 * machine without a GPU driver the whole run prints one line and no test file loads Dawn (whose Vulkan loader
 * would print its warnings once per file). The child's stderr is kept: it is where those warnings go.
 */
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import type { TestProject } from 'vitest/node';

export interface WebGpuProbe {
  readonly available: boolean;
  readonly reason: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    webgpuProbe: WebGpuProbe;
  }
}

// Dawn from the optional peer dependency, exactly as einjit loads it in Node.
const PROBE = `
process.env.XDG_RUNTIME_DIR ??= ${JSON.stringify(tmpdir())};
let dawn;
try { dawn = await import('webgpu'); } catch (e) {
  console.log(JSON.stringify({ available: false, reason: "the 'webgpu' package is not installed (npm install einjit webgpu)" }));
  process.exit(0);
}
try {
  const adapter = await dawn.create([]).requestAdapter({ powerPreference: 'high-performance' });
  console.log(JSON.stringify(adapter === null
    ? { available: false, reason: 'no WebGPU adapter found (install a Vulkan driver, or Mesa lavapipe: scripts/install-lavapipe.sh)' }
    : { available: true, reason: '' }));
} catch (e) {
  console.log(JSON.stringify({ available: false, reason: 'WebGPU unavailable: ' + (e && e.message || String(e)) }));
}
process.exit(0);
`;

function probe(): WebGpuProbe {
  if (process.env['EINJIT_TEST_DEVICES'] === 'cpu' && process.env['CI'] !== 'true') {
    return { available: false, reason: 'EINJIT_TEST_DEVICES=cpu' };
  }
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', PROBE], {
    cwd: process.cwd(), encoding: 'utf8', timeout: 60_000,
  });
  const line = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as WebGpuProbe;
  } catch {
    return { available: false, reason: `the WebGPU probe failed (status ${r.status ?? r.signal}): ${(r.stderr ?? '').trim().split('\n')[0] ?? ''}` };
  }
}

export default function setup(project: TestProject): void {
  const result = probe();
  project.provide('webgpuProbe', result);
  if (!result.available && process.env['CI'] !== 'true') {
    console.log(`[einjit tests] WebGPU tests skipped: ${result.reason}`);
    // Tests that run user-facing code (the examples, the docs) ask for the GPU themselves; with no adapter, Dawn
    // stays unloaded there too, so its driver loader does not print its warnings once per file.
    process.env['EINJIT_WEBGPU'] = 'off';
  }
}
