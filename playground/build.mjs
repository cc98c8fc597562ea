// Builds the playground into playground/dist (or the directory given as the first argument): the page, its
// esbuild bundle, and the grammar's railroad diagrams with Chevrotain's scripts copied next to them (no CDN).
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] ?? join(here, 'dist'));
mkdirSync(join(out, 'diagrams'), { recursive: true });
const result = await esbuild.build({
  entryPoints: [join(here, 'main.ts')], bundle: true, platform: 'browser', format: 'esm', target: 'es2022',
  outfile: join(out, 'main.js'), minify: true, sourcemap: true, metafile: true, logLevel: 'warning',
});
cpSync(join(here, 'index.html'), join(out, 'index.html'));
cpSync(join(here, 'style.css'), join(out, 'style.css'));

// The railroad diagrams, generated from the parser, with Chevrotain's diagram scripts served locally.
const chevrotainRoot = join(here, '..', 'node_modules', 'chevrotain');
cpSync(join(chevrotainRoot, 'diagrams'), join(out, 'diagrams', 'chevrotain'), { recursive: true });
const { tsImport } = await import('tsx/esm/api');
const { diagramsHtml } = await tsImport('../src/diagrams.ts', import.meta.url);
const html = diagramsHtml().replace(/https:\/\/unpkg\.com\/chevrotain@[^/]+\/diagrams\//g, 'chevrotain/');
writeFileSync(join(out, 'diagrams', 'pattern.html'), html);
const bytes = Object.values(result.metafile.outputs).filter((o) => o.entryPoint !== undefined).reduce((s, o) => s + o.bytes, 0);
console.log(`playground built in ${out} (main.js ${(bytes / 1024).toFixed(0)} KiB minified)`);
