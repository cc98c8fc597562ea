/**
 * The npm package as a user gets it: packed from a fresh build of the sources, installed from the tarball into an
 * empty project (dependencies from the npm cache or registry; the optional `webgpu` peer is not installed), used
 * from TypeScript (strict, `nodenext` and `bundler` resolution, no skipLibCheck), from plain Node, and through the
 * installed `einjit` bin. Prints the packed contents and the CPU-only install size.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = resolve(import.meta.dirname, '../..');
const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
const version = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string }).version;

let work = '';
let consumer = '';
let installed = '';
let packed: { files: { path: string; size: number }[]; size: number; unpackedSize: number; filename: string };

function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}): { status: number | null; out: string; err: string } {
  // The consumer runs as a user's program would: without the switch the test setup sets where no adapter exists.
  const { EINJIT_WEBGPU: _off, ...inherited } = process.env;
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...inherited, ...env }, timeout: 240_000 });
  return { status: r.status, out: r.stdout ?? '', err: r.stderr ?? '' };
}

function diskBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) total += diskBytes(p);
    else if (entry.isFile()) total += statSync(p).size;
  }
  return total;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'einjit-pack-'));
  // A copy of what a clone has, built the way `npm pack` builds it (prepack), so dist/ is fresh and the checkout's
  // own dist/ is left alone.
  const src = join(work, 'src-copy');
  mkdirSync(src);
  for (const f of ['package.json', 'README.md', 'LICENSE', 'tsconfig.json', 'tsconfig.build.json']) cpSync(join(repo, f), join(src, f));
  for (const d of ['src', 'grammar', 'kernels', 'examples']) cpSync(join(repo, d), join(src, d), { recursive: true });
  symlinkSync(join(repo, 'node_modules'), join(src, 'node_modules'), 'dir');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: src, stdio: 'inherit' });
  const out = join(work, 'tarball');
  mkdirSync(out);
  const p = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', out], src);
  expect(p.status, p.err).toBe(0);
  packed = (JSON.parse(p.out) as (typeof packed)[])[0]!;

  consumer = join(work, 'consumer');
  mkdirSync(consumer);
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  const i = run('npm', ['install', join(out, packed.filename), '--prefer-offline', '--no-audit', '--no-fund'], consumer);
  expect(i.status, i.err).toBe(0);
  installed = join(consumer, 'node_modules', 'einjit');
}, 600_000);

afterAll(() => {
  if (work !== '') rmSync(work, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it('ships the built library, its sources, LICENSE and README, and nothing else', () => {
    const paths = packed.files.map((f) => f.path).sort();
    const top = [...new Set(paths.map((p) => p.split('/')[0]))].sort();
    console.log(`[tarball] ${packed.filename}: ${paths.length} files, ${(packed.size / 1024).toFixed(0)} KiB packed, ` +
      `${(packed.unpackedSize / 1024).toFixed(0)} KiB unpacked; top level: ${top.join(', ')}`);
    const byDir = new Map<string, number>();
    for (const f of packed.files) {
      const d = f.path.split('/').slice(0, 2).join('/');
      byDir.set(d, (byDir.get(d) ?? 0) + f.size);
    }
    console.log(`[tarball] contents by directory: ${[...byDir].map(([d, s]) => `${d} ${(s / 1024).toFixed(0)} KiB`).join(', ')}`);
    expect(top).toEqual(['LICENSE', 'README.md', 'dist', 'grammar', 'kernels', 'package.json', 'src']);
    expect(paths.some((p) => p.startsWith('tests/') || p.startsWith('bench/') || p.endsWith('.test.ts'))).toBe(false);
    expect(paths).toContain('dist/src/index.js');
    expect(paths).toContain('dist/src/index.d.ts');
    expect(paths).toContain('dist/src/index.d.ts.map');
    expect(paths).toContain('dist/src/cli.js');
    expect(paths).toContain('dist/src/testing/index.js');
    expect(paths).toContain('dist/src/testing/index.d.ts');
  });

  it('has no install-time build, webgpu and fast-check only as optional peers, and runtime dependencies shipped code imports', () => {
    const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as Record<string, Record<string, unknown>>;
    expect(pkg['scripts']?.['prepare']).toBeUndefined();
    expect(pkg['scripts']?.['postinstall']).toBeUndefined();
    // fast-check is the optional peer of the einjit/testing entry point only.
    expect(pkg['peerDependencies']).toEqual({ webgpu: expect.any(String), 'fast-check': expect.any(String) });
    expect(pkg['peerDependenciesMeta']).toEqual({ webgpu: { optional: true }, 'fast-check': { optional: true } });
    expect(existsSync(join(consumer, 'node_modules', 'fast-check'))).toBe(false);
    expect(existsSync(join(consumer, 'node_modules', 'webgpu'))).toBe(false);
    // Every runtime dependency is imported by some shipped JavaScript file, or (a types-only package) referenced
    // by a shipped declaration file.
    const dist = filesUnder(join(installed, 'dist'));
    const js = dist.filter((f) => f.endsWith('.js')).map((f) => readFileSync(f, 'utf8')).join('\n');
    const dts = dist.filter((f) => f.endsWith('.d.ts')).map((f) => readFileSync(f, 'utf8')).join('\n');
    for (const dep of Object.keys(pkg['dependencies'] ?? {})) {
      const used = js.includes(`from '${dep}'`) || js.includes(`from "${dep}"`) || dts.includes(`<reference types="${dep}" preserve="true" />`);
      expect(used, `${dep} is a dependency nothing imports`).toBe(true);
    }
  });

  it('installs CPU-only in under 10 MB', () => {
    const bytes = diskBytes(join(consumer, 'node_modules'));
    const own = diskBytes(installed);
    console.log(`[tarball] CPU-only install: ${(bytes / 1e6).toFixed(2)} MB in node_modules (einjit itself ${(own / 1e6).toFixed(2)} MB)`);
    expect(bytes).toBeLessThan(10e6);
  });

  it('has source maps and declaration maps whose sources are in the package', () => {
    const maps = filesUnder(installed).filter((f) => f.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(50);
    const missing: string[] = [];
    for (const m of maps) {
      const map = JSON.parse(readFileSync(m, 'utf8')) as { sources: string[]; sourceRoot?: string };
      for (const s of map.sources) {
        const p = resolve(dirname(m), map.sourceRoot ?? '', s);
        if (!existsSync(p)) missing.push(`${m.slice(installed.length)} -> ${s}`);
      }
    }
    expect(missing).toEqual([]);
  });

  const consumerSource = `import { einsum, tensor, capabilities, deviceInfo, EinjitError, type Tensor, type DeviceInfo } from 'einjit';
const a: Tensor = tensor([[1, 2], [3, 4]]);
const b = tensor([[5, 6], [7, 8]]);
const c = einsum('ij,jk->ik', a, b);
const info: DeviceInfo = await deviceInfo('webgpu');
let caret = '';
try {
  einsum('ij,jk->iz', a, b);
} catch (e) {
  if (e instanceof EinjitError) caret = e.message;
}
console.log(JSON.stringify({ c: c.toArray(), shared: capabilities().sharedMemory, info, caret }));
`;

  for (const resolution of ['nodenext', 'bundler'] as const) {
    it(`type-checks a strict consumer with moduleResolution ${resolution}`, () => {
      const dir = join(consumer, `ts-${resolution}`);
      mkdirSync(dir);
      writeFileSync(join(dir, 'index.ts'), consumerSource);
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
        compilerOptions: {
          // Tensor is Disposable ('using t = ...'), so its declarations need the ESNext.Disposable library.
          strict: true, noEmit: true, target: 'ES2022', lib: ['ES2022', 'DOM', 'ESNext.Disposable'], types: [],
          module: resolution === 'nodenext' ? 'nodenext' : 'esnext', moduleResolution: resolution,
          skipLibCheck: false, noUncheckedIndexedAccess: true, exactOptionalPropertyTypes: true,
        },
        files: ['index.ts'],
      }));
      const r = run(process.execPath, [tsc, '-p', 'tsconfig.json'], dir);
      expect(r.out + r.err).toBe('');
      expect(r.status).toBe(0);
    });
  }

  it('runs from plain Node, and says how to get WebGPU when the optional webgpu package is missing', () => {
    writeFileSync(join(consumer, 'run.mjs'), consumerSource.replace(', type Tensor, type DeviceInfo', '')
      .replace('const a: Tensor =', 'const a =').replace('const info: DeviceInfo =', 'const info ='));
    const r = run(process.execPath, ['run.mjs'], consumer);
    expect(r.status, r.err).toBe(0);
    const got = JSON.parse(r.out.trim().split('\n').pop()!) as { c: number[][]; shared: boolean; info: DeviceInfo; caret: string };
    expect(got.c).toEqual([[19, 22], [43, 50]]);
    expect(got.shared).toBe(true);
    expect(got.info.available).toBe(false);
    expect(got.info.reason).toContain('npm install einjit webgpu');
    expect(got.caret).toMatch(/\^/);
  });

  it('bundles for the browser with esbuild, no shims, and reports the size', async () => {
    const esbuild = await import('esbuild');
    writeFileSync(join(consumer, 'page.js'), "import { einsum, tensor, deviceInfo } from 'einjit';\n" +
      "const info = await deviceInfo('webgpu');\n" +
      "document.body.textContent = String(einsum('ij,jk->ik', tensor([[1, 2]]), tensor([[3], [4]])).toArray()) + ' ' + info.available;\n");
    const r = await esbuild.build({
      entryPoints: [join(consumer, 'page.js')], bundle: true, platform: 'browser', format: 'esm', minify: true,
      write: false, absWorkingDir: consumer, logLevel: 'silent',
    });
    const { gzipSync } = await import('node:zlib');
    const bytes = r.outputFiles[0]!.contents;
    console.log(`[tarball] browser bundle of a page using einsum: ${(bytes.length / 1024).toFixed(0)} KiB minified, ` +
      `${(gzipSync(bytes).length / 1024).toFixed(0)} KiB gzipped`);
    expect(r.errors).toEqual([]);
    expect(new TextDecoder().decode(bytes)).not.toMatch(/from\s*["']node:/);
  });

  it("reports what require('einjit') does on this Node", () => {
    const r = run(process.execPath, ['-e', "const m = require('einjit'); console.log(typeof m.einsum)"], consumer);
    console.log(`[tarball] require('einjit') on Node ${process.versions.node}: ` +
      (r.status === 0 ? `works (require of an ES module), einsum is a ${r.out.trim()}` : `fails: ${r.err.split('\n').find((l) => /Error/.test(l)) ?? r.err}`));
    // Node >= 20.19 and >= 22.12 load an ES module graph without top-level await through require().
    const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
    if ((major === 20 && minor >= 19) || (major === 22 && minor >= 12) || major >= 23) expect(r.status, r.err).toBe(0);
  });

  it('has a working bin: --version, explain, diagrams --out DIR, and bench says where the suites are', () => {
    const bin = join(consumer, 'node_modules', '.bin', 'einjit');
    const v = run(bin, ['--version'], consumer);
    expect(v.status, v.err).toBe(0);
    expect(v.out.trim()).toBe(version);
    const e = run(bin, ['explain', 'bij,bjk->bik', '--shapes', '2x3x4,2x4x5'], consumer);
    expect(e.status, e.err).toBe(0);
    expect(e.out).toContain('bij,bjk->bik');
    const out = join(consumer, 'diagrams-out');
    const d = run(bin, ['diagrams', '--out', out], consumer);
    expect(d.status, d.err).toBe(0);
    expect(readFileSync(join(out, 'pattern.html'), 'utf8')).toContain('<!DOCTYPE html>');
    const nothing = run(bin, ['diagrams'], consumer);
    expect(nothing.status).not.toBe(0);
    expect(readdirSync(consumer).filter((f) => f.endsWith('.html'))).toEqual([]);
    const b = run(bin, ['bench'], consumer);
    expect(b.status).not.toBe(0);
    expect(b.err).toContain('not part of the installed package');
  });
});

type DeviceInfo = { available: boolean; reason?: string };
