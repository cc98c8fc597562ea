/**
 * Every function the public API exports has a TSDoc comment with an @example (the API reference is generated
 * from them by `npm run docs`).
 */
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';

const entry = fileURLToPath(new URL('../../src/index.ts', import.meta.url));

describe('public API documentation', () => {
  it('every exported function has a TSDoc comment with an example', () => {
    const program = ts.createProgram([entry], {
      module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022,
      noEmit: true, skipLibCheck: true,
    });
    const checker = program.getTypeChecker();
    const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;
    const missing: string[] = [];
    let functions = 0;
    for (const exported of checker.getExportsOfModule(moduleSymbol)) {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      for (const decl of symbol.declarations ?? []) {
        if (!ts.isFunctionDeclaration(decl) || decl.body === undefined) continue;
        functions++;
        const overloads = (symbol.declarations ?? []).filter(ts.isFunctionDeclaration);
        const documented = overloads.some((d) => ts.getJSDocTags(d).some((t) => t.tagName.text === 'example'));
        if (!documented) missing.push(exported.name);
      }
    }
    expect(functions).toBeGreaterThan(40);
    expect(missing).toEqual([]);
  }, 60_000);
});
