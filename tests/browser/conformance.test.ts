/**
 * einjit in a real browser: the conformance page (page.ts, bundled by esbuild for the browser with no shims)
 * runs every valid einsum and einops case of the public corpus on the CPU and on WebGPU (Chromium's SwiftShader
 * adapter) inside headless Chromium, served once with cross-origin isolation headers, once without, and once under
 * a strict Content-Security-Policy. Run by `npm run test:browser` (a separate step of .ci/run); without Chromium
 * it skips with one printed line, except under CI=true.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as esbuild from 'esbuild';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, chromiumPresent, launch } from './chromium.js';
import { serve, type Mode } from './server.js';

const repo = resolve(import.meta.dirname, '../..');
const artifacts = resolve(repo, process.env['EINJIT_ARTIFACTS'] ?? 'artifacts');
const present = chromiumPresent();
if (!present) {
  if (process.env['CI'] === 'true') throw new Error(`browser suite: no Chromium at ${CHROMIUM} (CI installs Debian's chromium package)`);
  console.log(`[einjit browser tests] skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set EINJIT_CHROMIUM)`);
}

interface Outcome { device: string; passed: number; failed: number; failures: string[]; seconds: number }
interface Report {
  done: boolean;
  error?: string;
  crossOriginIsolated: boolean;
  capabilities: { sharedMemory: boolean; threads: number; workers: string; codegen: boolean; wasm: boolean; webgpu: string; notes: string[] };
  webgpu: { available: boolean; reason?: string; adapter?: { vendor: string; architecture: string; software: boolean } };
  outcomes: Outcome[];
  cpuSource: string;
  gemm: { wasmSimd: boolean; sharedMemory: boolean; workers: number; errors: number };
}

let root = '';
let context: BrowserContext | null = null;
let bundleBytes = 0;

beforeAll(async () => {
  if (!present) return;
  root = mkdtempSync(join(tmpdir(), 'einjit-browser-'));
  const r = await esbuild.build({
    entryPoints: [join(repo, 'tests/browser/page.ts')], bundle: true, platform: 'browser', format: 'esm',
    outfile: join(root, 'page.js'), minify: true, metafile: true, logLevel: 'silent',
  });
  bundleBytes = Object.values(r.metafile.outputs).reduce((s, o) => s + o.bytes, 0);
  writeFileSync(join(root, 'index.html'), '<!DOCTYPE html><meta charset="utf-8"><title>einjit conformance</title>' +
    '<pre id="out">running…</pre><script type="module" src="page.js"></script>\n');
  mkdirSync(artifacts, { recursive: true });
  context = await launch();
}, 120_000);

afterAll(async () => {
  await context?.close();
});

async function runPage(mode: Mode, query = ''): Promise<{ report: Report; errors: string[] }> {
  const server = await serve(root, mode);
  const page = await context!.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console.error: ${m.text()}`);
  });
  try {
    await page.goto(server.url + query);
    await page.waitForFunction(() => (globalThis as { __einjit?: { done?: boolean } }).__einjit?.done === true, null, { timeout: 240_000 });
    const report = await page.evaluate(() => (globalThis as unknown as { __einjit: Report }).__einjit);
    await page.screenshot({ path: join(artifacts, `browser-conformance-${mode}.png`), fullPage: false });
    return { report, errors };
  } finally {
    await page.close();
    await server.close();
  }
}

function summary(mode: Mode, report: Report): string {
  if (report.error !== undefined) return `[einjit browser] ${mode}: the page failed: ${report.error}`;
  const a = report.webgpu.adapter;
  return `[einjit browser] ${mode}: crossOriginIsolated=${report.crossOriginIsolated}, sharedMemory=${report.capabilities.sharedMemory}, ` +
    `threads=${report.capabilities.threads}, codegen=${report.capabilities.codegen}, wasm=${report.capabilities.wasm}, webgpu=` +
    (report.webgpu.available ? `${a?.vendor}/${a?.architecture}${a?.software ? ' (software)' : ''}` : `unavailable (${report.webgpu.reason})`) +
    '; ' + report.outcomes.map((o) => `${o.device} ${o.passed} passed, ${o.failed} failed (${o.seconds} s)`).join('; ');
}

describe.skipIf(!present)('einjit in headless Chromium', () => {
  it('bundles for the browser with no shims', () => {
    console.log(`[einjit browser] conformance page bundle: ${(bundleBytes / 1024).toFixed(0)} KiB minified`);
    expect(bundleBytes).toBeGreaterThan(0);
  });

  it('cross-origin isolated: shared memory and worker threads, every case on the CPU and on WebGPU', async () => {
    const { report, errors } = await runPage('isolated');
    console.log(summary('isolated', report));
    expect(report.error).toBeUndefined();
    expect(errors).toEqual([]);
    expect(report.crossOriginIsolated).toBe(true);
    expect(report.cpuSource).not.toContain('without generated code');
    // A 192³ GEMM ran on the Web Worker pool over shared WebAssembly memory, and is exact.
    expect(report.gemm).toEqual({ wasmSimd: true, relaxedSimd: true, sharedMemory: true, workers: expect.any(Number), errors: 0 });
    expect(report.gemm.workers).toBeGreaterThan(0);
    expect(report.capabilities.sharedMemory).toBe(true);
    expect(report.capabilities.workers).toBe('web-worker');
    expect(report.webgpu.available, report.webgpu.reason).toBe(true);
    expect(report.outcomes.map((o) => o.device)).toEqual(['cpu', 'webgpu']);
    for (const o of report.outcomes) {
      expect(o.failures).toEqual([]);
      expect(o.passed).toBeGreaterThan(300);
    }
  }, 300_000);

  it('not isolated: plain ArrayBuffer storage, one thread, said through capabilities(), every case still passes', async () => {
    const { report, errors } = await runPage('plain');
    console.log(summary('plain', report));
    expect(report.error).toBeUndefined();
    expect(errors).toEqual([]);
    expect(report.crossOriginIsolated).toBe(false);
    expect(report.capabilities.sharedMemory).toBe(false);
    expect(report.capabilities.threads).toBe(1);
    expect(report.capabilities.notes.join(' ')).toContain('not cross-origin isolated');
    expect(report.gemm).toEqual({ wasmSimd: true, relaxedSimd: true, sharedMemory: false, workers: 0, errors: 0 });
    expect(report.webgpu.available, report.webgpu.reason).toBe(true);
    expect(report.outcomes.map((o) => o.device)).toEqual(['cpu', 'webgpu']);
    for (const o of report.outcomes) expect(o.failures).toEqual([]);
    for (const o of report.outcomes) expect(o.passed).toBeGreaterThan(300);
  }, 300_000);

  it("strict CSP (no 'unsafe-eval', no 'wasm-unsafe-eval'): detected, the CPU interprets its kernels, both devices pass", async () => {
    const { report, errors } = await runPage('csp');
    console.log(summary('csp', report));
    expect(report.error).toBeUndefined();
    expect(report.capabilities.codegen).toBe(false);
    expect(report.capabilities.wasm).toBe(false);
    const gpu = report.outcomes.find((o) => o.device === 'webgpu');
    expect(gpu?.failures).toEqual([]);
    expect(gpu?.passed).toBeGreaterThan(300);
    // The CPU runs its loop nests through the interpreter and its GEMMs as direct loops, and says so.
    const cpu = report.outcomes.find((o) => o.device === 'cpu')!;
    expect(cpu.failures).toEqual([]);
    expect(cpu.passed).toBeGreaterThan(300);
    expect(report.cpuSource).toContain('without generated code');
    expect(report.cpuSource).toContain('interpreter');
    expect(report.gemm.errors).toBe(0);
    // The page itself reports nothing but the policy refusals einjit's probes cause.
    for (const e of errors) expect(e).toMatch(/Content Security Policy|unsafe-eval/);
  }, 300_000);
});
