/**
 * docs/errors.md's runtime section: every `ts runtime-error` block throws an EinjitError whose message is the
 * `text` block right after it. Blocks marked `webgpu` run where a WebGPU adapter exists.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import * as einjit from '../../src/index.js';
import { DEVICES } from '../helpers/devices.js';

const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (...args: string[]) => () => Promise<void>;
const markdown = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
const blocks = [...markdown.matchAll(/```ts runtime-error( webgpu)?\n([\s\S]*?)```\n\n```text\n([\s\S]*?)\n```/g)]
  .map((m) => ({ webgpu: m[1] !== undefined, code: m[2]!, message: m[3]!, line: markdown.slice(0, m.index).split('\n').length }));

describe('docs/errors.md runtime errors', () => {
  // An example that starts the GPU makes it the default device; the next one starts from the CPU again.
  afterEach(async () => {
    await einjit.setDefaultDevice('cpu');
  });

  it('has its examples', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(7);
  });

  for (const b of blocks) {
    it.skipIf(b.webgpu && !DEVICES.includes('webgpu'))(`example at line ${b.line} throws what the page shows`, async () => {
      // A GPU example runs on a started device (an earlier example may have shut it down).
      if (b.webgpu) await einjit.isAvailable('webgpu');
      const names = Object.keys(einjit).filter((k) => k !== 'default');
      const run = new AsyncFunction(...names, b.code);
      let error: unknown;
      try {
        await run(...names.map((k) => (einjit as Record<string, unknown>)[k]) as []);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(einjit.EinjitError);
      expect((error as Error).message).toBe(b.message);
    });
  }
});
