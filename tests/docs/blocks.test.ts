/**
 * Every ```ts block of docs/*.md and README.md runs here (the guides' blocks, whose printed output is checked
 * too, run in examples.test.ts). A block that is a fragment on purpose is marked ```ts fragment and is
 * type-checked against the public API instead: `einjit` resolves to src/index.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { format } from 'node:util';
import { describe, expect, it } from 'vitest';
import ts from 'typescript';
import * as einjit from '../../src/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const GUIDES = new Set(['docs/getting-started.md', 'docs/einsum.md', 'docs/einops.md']);
const FILES = ['README.md', ...readdirSync(`${ROOT}docs`).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (...args: string[]) => (...a: unknown[]) => Promise<void>;

interface Block { readonly file: string; readonly code: string; readonly line: number; readonly fragment: boolean; readonly expected: string[] }

function blocks(file: string): Block[] {
  const text = readFileSync(`${ROOT}${file}`, 'utf8');
  const out: Block[] = [];
  const re = /^```ts( fragment)?[ \t]*\n([\s\S]*?)^```/gm;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    const code = m[2]!;
    const expected = code.split('\n').filter((l) => l.trimStart().startsWith('//>')).map((l) => l.trimStart().slice(3).replace(/^ /, ''));
    out.push({ file, code, line: text.slice(0, m.index).split('\n').length, fragment: m[1] !== undefined, expected });
  }
  return out;
}

const all = FILES.flatMap(blocks);
const nodeRequire = createRequire(import.meta.url);

/** TypeScript to a function body: types stripped, imports of 'einjit' bound to the module under test. */
function runnable(code: string): string {
  const js = ts.transpileModule(code, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: false } }).outputText;
  return js.replace(/^"use strict";\n/, '').replace(/^Object\.defineProperty\(exports, "__esModule".*\n/m, '');
}

describe('every ```ts block in the docs and the README', () => {
  it('finds blocks outside the guides, and no ts block of another kind', () => {
    expect(all.filter((b) => !GUIDES.has(b.file)).length).toBeGreaterThan(5);
    expect(all.some((b) => b.fragment)).toBe(true);
    // ```ts runtime-error blocks of docs/errors.md run in tests/runtime/errors-doc-runtime.test.ts.
    for (const file of FILES) {
      const kinds = [...readFileSync(`${ROOT}${file}`, 'utf8').matchAll(/^```ts([^\n]*)$/gm)].map((m) => m[1]!.trim());
      expect(kinds.filter((k) => !['', 'fragment', 'runtime-error', 'runtime-error webgpu'].includes(k)), file).toEqual([]);
    }
  });

  for (const block of all) {
    if (block.fragment || GUIDES.has(block.file)) continue;
    it(`${block.file}:${block.line} runs`, async () => {
      const printed: string[] = [];
      const console = { log: (...args: unknown[]) => printed.push(...format(...args).split('\n')) };
      // Imports of the repository's own modules ('./src/plan/index.js') are paths from the repository root.
      const local = new Map<string, unknown>();
      for (const [, spec] of block.code.matchAll(/from '(\.\/[^']+)'/g)) local.set(spec!, await import(/* @vite-ignore */ `${ROOT}${spec!.slice(2)}`));
      const require = (name: string): unknown => (name === 'einjit' ? einjit : local.has(name) ? local.get(name) : nodeRequire(name));
      await new AsyncFunction('require', 'exports', 'console', runnable(block.code))(require, {}, console);
      if (block.expected.length > 0) expect(printed).toEqual(block.expected);
    });
  }

  it('every block marked fragment type-checks against the public API', () => {
    const fragments = all.filter((b) => b.fragment);
    // Placed at the repository root, so a fragment's './src/...' and './kernels/...' imports resolve.
    const files = new Map(fragments.map((b, i) => [`${ROOT}__fragment_${i}.ts`, `export {};\n${b.code}`]));
    const options: ts.CompilerOptions = {
      target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler,
      strict: true, noEmit: true, skipLibCheck: true, types: ['node'], lib: ['lib.es2023.d.ts', 'lib.dom.d.ts', 'lib.esnext.disposable.d.ts'],
      baseUrl: ROOT, paths: { einjit: ['src/index.ts'] }, allowImportingTsExtensions: true,
    };
    const host = ts.createCompilerHost(options);
    const read = host.readFile.bind(host);
    const exists = host.fileExists.bind(host);
    host.readFile = (f) => files.get(f) ?? read(f);
    host.fileExists = (f) => files.has(f) || exists(f);
    const program = ts.createProgram([...files.keys()], options, host);
    const problems = ts.getPreEmitDiagnostics(program).filter((d) => d.file !== undefined && files.has(d.file.fileName)).map((d) => {
      const i = Number(/__fragment_(\d+)/.exec(d.file!.fileName)![1]);
      const { line } = d.file!.getLineAndCharacterOfPosition(d.start!);
      return `${fragments[i]!.file}:${fragments[i]!.line + line}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
    expect(problems).toEqual([]);
  }, 120_000);
});
