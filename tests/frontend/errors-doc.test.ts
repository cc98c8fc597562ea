/**
 * docs/errors.md is the catalogue of front-half errors. Every example in it must really throw an
 * EinjitError with the headline the page shows.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EinjitError } from '../../src/errors.js';
import { checkEinops, checkEinsum, checkPack, checkUnpack, parseShape } from '../../src/ir/index.js';

interface Example {
  readonly op: 'einsum' | 'rearrange' | 'reduce' | 'repeat' | 'pack' | 'unpack' | 'parseShape';
  readonly pattern: string;
  readonly shapes: number[][];
  readonly axesLengths?: Record<string, number>;
  readonly reduction?: string;
  readonly packedShapes?: number[][];
  readonly syntax?: 'numpy' | 'einops';
  readonly headline: string;
}

const markdown = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
/** Each example, and the rendered message the page shows right after it (a `text` block). */
const examples: (Example & { rendered: string | undefined })[] = [
  ...markdown.matchAll(/```json error-example\n([\s\S]*?)\n```(?:\n\n```text\n([\s\S]*?)\n```)?/g),
].map((m) => ({ ...(JSON.parse(m[1]!) as Example), rendered: m[2] }));
const headings = [...markdown.matchAll(/^### `(.*)`$/gm)].map((m) => m[1]!);

function run(x: Example): unknown {
  switch (x.op) {
    case 'einsum':
      return checkEinsum(x.pattern, x.shapes, 'einsum', x.syntax ?? 'auto');
    case 'rearrange':
    case 'reduce':
    case 'repeat':
      return checkEinops(x.op, x.pattern, x.shapes[0]!, x.axesLengths ?? {}, x.reduction);
    case 'pack':
      return checkPack(x.pattern, x.shapes);
    case 'unpack':
      return checkUnpack(x.pattern, x.shapes[0]!, x.packedShapes!);
    case 'parseShape':
      return parseShape(x.pattern, x.shapes[0]!);
  }
}

describe('docs/errors.md', () => {
  it('has one example per catalogued error', () => {
    expect(examples.length).toBeGreaterThan(50);
    expect(examples.length).toBe(headings.length);
  });

  it.each(examples.map((x, i) => [i, x.headline, x] as const))('example %i throws "%s"', (i, _headline, x) => {
    let error: unknown;
    try {
      run(x);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(EinjitError);
    expect((error as EinjitError).reason).toBe(x.headline);
    expect(headings[i]).toBe(x.headline.replace(/`/g, "'"));
    expect((error as EinjitError).message).toBe(x.rendered);
  });
});
