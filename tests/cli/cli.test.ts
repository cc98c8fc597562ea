/**
 * The `einjit` command line: explain for einsum and einops patterns (plan, kernels, generated source), errors
 * with a caret and a non-zero status, and the railroad diagrams.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli.js';

function capture(): { out: () => string; err: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => { out.push(a.join(' ')); });
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => { err.push(a.join(' ')); });
  return { out: () => out.join('\n'), err: () => err.join('\n') };
}

afterEach(() => vi.restoreAllMocks());

describe('einjit CLI', () => {
  it('explains an einsum: IR, checked shapes, the plan like numpy.einsum_path, the kernel and its source', async () => {
    const io = capture();
    const code = await main(['node', 'einjit', 'explain', 'bij,bjk->bik', '--shapes', '8x32x64,8x64x16', '--optimize', 'dp']);
    expect(code).toBe(0);
    const text = io.out();
    expect(text).toContain('Parsed IR:');
    expect(text).toContain('Checked shapes: [8, 32, 64], [8, 64, 16] -> [8, 32, 16]');
    expect(text).toContain('Optimized FLOP count');
    expect(text).toContain('GEMM bij,bjk->bik');
    expect(text).toContain('// bij,bjk->bik (batch 8, m 32, n 16, k 64)');
  });

  it('explains a multi-operand plan with intermediate sizes and the speed-up over naive', async () => {
    const io = capture();
    expect(await main(['node', 'einjit', 'explain', 'ij,jk,kl->il', '-s', '8x16,16x32,32x4', '--no-source'])).toBe(0);
    expect(io.out()).toMatch(/Theoretical speedup:\s+9\.600/);
    expect(io.out()).toContain('Largest intermediate');
  });

  it('explains an einops pattern with axis lengths and shows the copy kernel', async () => {
    const io = capture();
    const code = await main(['node', 'einjit', 'explain', 'b c (h h2) (w w2) -> b (c h2 w2) h w', '--op', 'rearrange',
      '--shapes', '2x3x4x4', '--axes', 'h2=2,w2=2']);
    expect(code).toBe(0);
    expect(io.out()).toContain('Checked shapes: [2, 3, 4, 4] -> [2, 12, 2, 2]');
    expect(io.out()).toContain('einjit CPU kernel');
  });

  it('prints an EinjitError with its caret and exits non-zero', async () => {
    const io = capture();
    const code = await main(['node', 'einjit', 'explain', 'bij,bjk->bik', '--shapes', '8x32x64,8x65x16']);
    expect(code).toBe(1);
    expect(io.err()).toContain("axis 'j' has size 64 in operand 0 but 65 in operand 1");
    expect(io.err()).toMatch(/\n\s+\^/);
  });

  it('rejects a malformed --shapes argument', async () => {
    capture();
    expect(await main(['node', 'einjit', 'explain', 'ij->ji', '--shapes', '8xq'])).not.toBe(0);
  });

  it('writes the railroad diagrams', async () => {
    capture();
    const file = join(mkdtempSync(join(tmpdir(), 'einjit-')), 'pattern.html');
    expect(await main(['node', 'einjit', 'diagrams', '--out', file])).toBe(0);
    const html = readFileSync(file, 'utf8');
    expect(html).toContain('<!DOCTYPE html>');
    expect(html).toContain('serializedGrammar');
  });
});
