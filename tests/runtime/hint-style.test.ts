/**
 * One hint style: every hint is written in lower case (as `error.hint` holds it) and the message starts it with a
 * capital. The front half once wrote its hints capitalised and the rest lower case; this test reads every `hint:`
 * string in the sources, so a hint written the other way fails here, and checks how the message prints them.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EinjitError } from '../../src/errors.js';

const ROOT = new URL('../../', import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** Words a hint may start with in capitals: names that are capitalised anyway. */
const PROPER = /^(WebGPU|Node|NaN|JSON|GPU|CPU|Dawn|Chromium|PyTorch|TypeScript)\b/;

/** The first letters of the string literals of each `hint:` property (both arms of a `cond ? 'a' : 'b'` too). */
function hintStarts(text: string): { line: number; literal: string }[] {
  const found: { line: number; literal: string }[] = [];
  for (const m of text.matchAll(/hint:\s*/g)) {
    // The property's value runs to the next top-level comma or brace; literals inside it are the hint's texts.
    let i = m.index + m[0].length;
    let depth = 0;
    while (i < text.length) {
      const ch = text[i]!;
      if (ch === "'" || ch === '"' || ch === '`') {
        const end = text.indexOf(ch, i + 1);
        if (depth === 0) found.push({ line: text.slice(0, i).split('\n').length, literal: text.slice(i + 1, end) });
        i = end + 1;
        continue;
      }
      if (ch === '(' || ch === '[' || ch === '{') depth++;
      else if (ch === ')' || ch === ']' || ch === '}') {
        if (depth === 0) break;
        depth--;
      } else if (ch === ',' && depth === 0) break;
      i++;
    }
  }
  return found;
}

describe('hint style', () => {
  const files = [...sources(join(ROOT, 'src')), ...sources(join(ROOT, 'kernels'))];

  it('reads hints from the sources (the scan itself works)', () => {
    const all = files.flatMap((f) => hintStarts(readFileSync(f, 'utf8')));
    expect(all.length).toBeGreaterThan(150);
    expect(hintStarts("x({ hint: cond ? 'Upper' : 'lower', op })").map((h) => h.literal)).toEqual(['Upper', 'lower']);
  });

  it('every hint in src/ and kernels/ starts in lower case', () => {
    const capitalised = files.flatMap((f) =>
      hintStarts(readFileSync(f, 'utf8'))
        .filter(({ literal }) => /^[A-Z]/.test(literal) && !PROPER.test(literal))
        .map(({ line, literal }) => `${f.slice(ROOT.length)}:${line}: ${literal.slice(0, 50)}`));
    expect(capitalised).toEqual([]);
  });

  it('the message starts a hint with a capital, and leaves code and the project name as written', () => {
    const last = (hint: string, shapes?: number[][]): string =>
      new EinjitError('r', { hint, ...(shapes !== undefined ? { shapes } : {}) }).message.split('\n').at(-1)!;
    expect(last('pass a shape', [[2]])).toBe('  input shape [2]. Pass a shape');
    expect(last('pass a shape')).toBe('  Pass a shape');
    expect(last('noGrad(() => f()) skips recording')).toBe('  noGrad(() => f()) skips recording');
    expect(last('e.g. reshape first')).toBe('  e.g. reshape first');
    expect(last('einjit has no int64')).toBe('  einjit has no int64');
    expect(new EinjitError('r', { hint: 'pass a shape' }).hint).toBe('pass a shape');
  });
});
