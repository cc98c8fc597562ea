/**
 * console.log(t) in Node prints what toString() does: the tensor answers Node's util.inspect.custom (looked up by
 * its registered name, so the library itself never imports node:util).
 */
import { inspect } from 'node:util';
import { readFileSync } from 'node:fs';
import { Console } from 'node:console';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { tensor, type Tensor } from '../../src/index.js';
import { DEVICES } from '../helpers/devices.js';

describe('util.inspect and console.log', () => {
  it('print a tensor as toString() does, alone and inside other values', () => {
    const t = tensor([[1, 2], [3, 4.5]], { dtype: 'float64', requiresGrad: true });
    const text = t.toString();
    expect(text).toContain('[3.0000, 4.5000]]');
    expect(inspect(t)).toBe(text);
    expect(inspect({ weights: t })).toContain('weights: tensor([[1.0000, 2.0000],');
    expect(inspect({ weights: t })).toContain('[3.0000, 4.5000]]');
    // A console of its own (the test runner replaces the global one); console.log formats the same way.
    const lines: string[] = [];
    const sink = new Writable({ write(chunk: Buffer, _enc, done) { lines.push(chunk.toString()); done(); } });
    new Console({ stdout: sink }).log(t);
    expect(lines.join('')).toBe(`${text}\n`);
  });

  it.each(DEVICES)('on %s, with the same text toString() gives', async (device) => {
    const t: Tensor = await tensor([1, 2, 3]).to(device);
    expect(inspect(t)).toBe(t.toString());
    expect(inspect(t)).not.toContain('storage');
  });

  it('the library finds the symbol by name and does not import node:util', () => {
    expect(typeof (tensor([1]) as unknown as Record<symbol, unknown>)[Symbol.for('nodejs.util.inspect.custom')]).toBe('function');
    for (const file of ['../../src/runtime/format.ts', '../../src/runtime/tensor.ts']) {
      expect(readFileSync(new URL(file, import.meta.url), 'utf8')).not.toMatch(/from '(node:)?util'|import\('(node:)?util'\)|require\('(node:)?util'\)/);
    }
  });
});
