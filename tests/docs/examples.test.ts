/**
 * The documentation's examples are code: every ```ts block of the guides runs here, and each `//>` comment
 * after a console.log is the output that log must print. Examples cannot rot.
 */
import { readFileSync, existsSync } from 'node:fs';
import { format } from 'node:util';
import { describe, expect, it } from 'vitest';
import * as einjit from '../../src/index.js';

const GUIDES = ['getting-started.md', 'einsum.md', 'einops.md'];
const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (...args: string[]) => (...a: unknown[]) => Promise<void>;

interface Block { readonly code: string; readonly expected: string[]; readonly line: number }

export function extractBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const re = /```ts\n([\s\S]*?)```/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(markdown)) !== null) {
    const code = m[1]!;
    const expected = code.split('\n').filter((l) => l.trimStart().startsWith('//>')).map((l) => l.trimStart().slice(3).replace(/^ /, ''));
    blocks.push({ code, expected, line: markdown.slice(0, m.index).split('\n').length });
  }
  return blocks;
}

/** Turns `import { a, b } from 'einjit';` into a destructuring of the module object. */
function toRunnable(code: string): string {
  return code.replace(/import\s*\{([^}]*)\}\s*from\s*'einjit';?/g, (_, names: string) =>
    `const {${names.replace(/\btype\s+\w+\s*,?/g, '')}} = einjit;`);
}

for (const guide of GUIDES) {
  const url = new URL(`../../docs/${guide}`, import.meta.url);
  describe(`docs/${guide}`, () => {
    it('exists and has examples', () => {
      expect(existsSync(url)).toBe(true);
      expect(extractBlocks(readFileSync(url, 'utf8')).length).toBeGreaterThan(0);
    });
    if (!existsSync(url)) return;
    for (const block of extractBlocks(readFileSync(url, 'utf8'))) {
      it(`example at line ${block.line} runs and prints what it says`, async () => {
        const printed: string[] = [];
        const console = { log: (...args: unknown[]) => printed.push(...format(...args).split('\n')) };
        await new AsyncFunction('einjit', 'console', toRunnable(block.code))(einjit, console);
        if (block.expected.length > 0) expect(printed).toEqual(block.expected);
      });
    }
  });
}
