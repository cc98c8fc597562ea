/**
 * The playground in headless Chromium: built as CI builds it (playground/build.mjs), served cross-origin
 * isolated; a pattern typed into it shows its IR, checked shapes, plan and kernels, a bad pattern shows the
 * EinjitError with its caret, and Run gives the right values on WebGPU and on the CPU. A screenshot is written to
 * artifacts/playground.png (the README shows it); any page error fails the test.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumPresent, launch } from './chromium.js';
import { serve } from './server.js';

// The callbacks below run inside the page; this file is type-checked without the DOM library.
interface PageElement { textContent: string | null; dataset: Record<string, string | undefined>; classList: { contains(c: string): boolean } }
declare const document: { getElementById(id: string): PageElement | null };

const repo = resolve(import.meta.dirname, '../..');
const artifacts = resolve(repo, process.env['EINJIT_ARTIFACTS'] ?? 'artifacts');
const present = chromiumPresent();

let context: BrowserContext | null = null;
let server: { url: string; close(): Promise<void> } | null = null;
let page: Page;
const errors: string[] = [];

beforeAll(async () => {
  if (!present) return;
  const root = mkdtempSync(join(tmpdir(), 'einjit-playground-'));
  execFileSync(process.execPath, [join(repo, 'playground/build.mjs'), root], { cwd: repo, stdio: 'inherit' });
  server = await serve(root, 'isolated');
  context = await launch();
  page = await context.newPage();
  await page.setViewportSize({ width: 1400, height: 1000 });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console.error: ${m.text()}`);
  });
  await page.goto(server.url);
  await page.waitForSelector('body[data-ready=true]', { timeout: 120_000 });
}, 180_000);

afterAll(async () => {
  await context?.close();
  await server?.close();
});

/** C = A·B for the playground's inputs (operand k, element i = ((i + k) mod 7) − 3), computed here. */
function expectedMatmul(m: number, k: number, n: number): number[] {
  const a = (i: number, j: number): number => ((i * k + j) % 7) - 3;
  const b = (i: number, j: number): number => ((i * n + j + 1) % 7) - 3;
  const c: number[] = [];
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) s += a(i, t) * b(t, j);
      c.push(s);
    }
  }
  return c;
}

async function typeInto(selector: string, text: string): Promise<void> {
  await page.fill(selector, text);
}

async function runOn(device: 'cpu' | 'webgpu'): Promise<number[]> {
  await page.selectOption('#device', device);
  await page.evaluate(() => { delete document.getElementById('result')!.dataset['values']; });
  await page.click('#run');
  await page.waitForFunction(() => document.getElementById('result')!.dataset['values'] !== undefined
    || document.getElementById('result')!.classList.contains('error'), null, { timeout: 60_000 });
  const text = await page.textContent('#result');
  expect(await page.$eval('#result', (el) => el.classList.contains('error')), text ?? '').toBe(false);
  expect(text).toContain(`device ${device}`);
  return JSON.parse((await page.$eval('#result', (el) => (el as unknown as PageElement).dataset['values'])) ?? '[]') as number[];
}

describe.skipIf(!present)('the playground', () => {
  it('shows the IR, checked shapes, plan and kernels of a typed pattern, and runs it on both devices', async () => {
    await page.selectOption('#op', 'einsum');
    await typeInto('#shapes', '5x7, 7x3');
    await typeInto('#pattern', 'ij,jk->ik');
    await page.waitForFunction(() => document.getElementById('explain')!.textContent!.includes('[5, 7], [7, 3] -> [5, 3]'), null, { timeout: 30_000 });
    const explain = (await page.textContent('#explain'))!;
    expect(explain).toContain('Parsed IR:');
    expect(explain).toContain('Complete contraction:  ij,jk->ik');
    expect((await page.textContent('#kernels'))!.length).toBeGreaterThan(100);
    const want = expectedMatmul(5, 7, 3);
    expect(await runOn('webgpu')).toEqual(want);
    expect(await runOn('cpu')).toEqual(want);
    // The railroad diagrams render from local scripts.
    const frame = page.frame({ url: /diagrams\/pattern\.html/ });
    expect(await frame?.locator('svg').count()).toBeGreaterThan(0);
    await typeInto('#shapes', '8x32x64, 8x64x16');
    await typeInto('#pattern', 'bij,bjk->bik');
    await page.waitForFunction(() => document.getElementById('explain')!.textContent!.includes('-> [8, 32, 16]'), null, { timeout: 30_000 });
    await page.selectOption('#device', 'webgpu');
    await page.click('#run');
    await page.waitForFunction(() => document.getElementById('result')!.textContent!.includes('shape [8, 32, 16]'), null, { timeout: 60_000 });
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, 'playground.png'), fullPage: false });
    expect(await page.locator('.error').count()).toBe(0);
    expect(errors).toEqual([]);
  }, 240_000);

  it('shows the EinjitError with its caret for a bad pattern', async () => {
    await typeInto('#shapes', '2x3, 3x4');
    await typeInto('#pattern', 'ij,jk->iz');
    await page.waitForSelector('#explain.error', { timeout: 30_000 });
    const text = (await page.textContent('#explain'))!;
    expect(text).toContain('ij,jk->iz');
    expect(text).toMatch(/\n\s+\^/);
    expect(errors).toEqual([]);
  }, 60_000);
});
