#!/usr/bin/env node
/**
 * The `einjit` command line: explain a pattern (IR, checked shapes, plan, kernels and their generated source),
 * run the benchmarks, write the grammar's railroad diagrams.
 */
import { Command, InvalidArgumentError } from 'commander';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { EinjitError } from './errors.js';
import { explainPattern, type ExplainRequest } from './explain.js';
import './backends.js';
import { shutdown } from './runtime/devices.js';

function parseShapes(text: string): number[][] {
  if (text.trim() === '') return [];
  return text.split(',').map((part) => {
    const s = part.trim();
    if (s === '' || s === '()' || s === 'scalar') return [];
    const dims = s.split('x').map((d) => Number(d));
    if (dims.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new InvalidArgumentError(`'${s}' is not a shape; write sizes joined by 'x', e.g. 8x32x64 (use '()' for a scalar)`);
    }
    return dims;
  });
}

function parseAxes(text: string, previous: Record<string, number> = {}): Record<string, number> {
  const out = { ...previous };
  for (const pair of text.split(',')) {
    const m = /^\s*([^=\s]+)\s*=\s*(\d+)\s*$/.exec(pair);
    if (m === null) throw new InvalidArgumentError(`'${pair}' is not an axis length; write name=size, e.g. h=2`);
    out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** The package root: the nearest directory above this file with einjit's package.json (src/ or dist/src/). */
function packageRoot(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      try {
        if ((JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === 'einjit') return dir;
      } catch {
        // not ours; keep looking
      }
    }
    dir = dirname(dir);
  }
  return undefined;
}

function packageVersion(): string {
  const root = packageRoot();
  if (root === undefined) return 'unknown';
  return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('einjit')
    .description('einsum and einops patterns compiled to CPU loops and WGSL compute shaders')
    .version(packageVersion(), '-V, --version', 'print the version of einjit')
    .showHelpAfterError();

  program
    .command('explain')
    .description('print the parsed IR, checked shapes, contraction plan, chosen kernels and their generated source')
    .argument('<pattern>', "an einsum pattern ('bij,bjk->bik', 'b i j, b j k -> b i k') or an einops pattern with --op")
    .requiredOption('-s, --shapes <shapes>', 'operand shapes, e.g. 8x32x64,8x64x16', parseShapes)
    .option('-d, --device <device>', 'cpu or webgpu', 'cpu')
    .option('-O, --optimize <algorithm>', 'path optimizer: auto, optimal, dp, greedy, branch-2, ...', 'auto')
    .option('--op <op>', 'einsum, rearrange, reduce or repeat', 'einsum')
    .option('--reduction <name>', "the reduction for --op reduce ('sum', 'mean', 'max', ...)", 'sum')
    .option('-a, --axes <lengths>', 'axis lengths for einops patterns, e.g. h=2,w=2', parseAxes)
    .option('--no-source', 'leave out the generated source')
    .action(async (pattern: string, opts: { shapes: number[][]; device: string; optimize: string; op: string;
      reduction: string; axes?: Record<string, number>; source: boolean }) => {
      const request: ExplainRequest = {
        pattern,
        shapes: opts.shapes,
        device: opts.device,
        optimize: opts.optimize,
        op: opts.op,
        reduction: opts.reduction,
        axes: opts.axes ?? {},
        source: opts.source,
      };
      console.log(await explainPattern(request));
    });

  program
    .command('bench')
    .description('run the benchmark suites (CPU; add --gpu for the WebGPU suite)')
    .allowUnknownOption(true)
    .argument('[args...]', 'arguments passed to the benchmark runner')
    .action((args: string[]) => {
      // The suites live in the repository's bench/ (TypeScript, run with tsx); the npm package does not ship them.
      const root = packageRoot();
      const runner = root === undefined ? undefined : join(root, 'bench', 'run.ts');
      if (runner === undefined || !existsSync(runner)) {
        throw new EinjitError('the benchmark suites are not part of the installed package', {
          op: 'bench',
          hint: "they need the source repository and its dev dependencies: in a clone of einjit run 'npm ci && npm run bench'",
        });
      }
      const r = spawnSync('npx', ['tsx', runner, ...args], { stdio: 'inherit', cwd: root });
      if (r.status !== 0) throw new EinjitError(`the benchmark runner exited with status ${r.status}`, { op: 'bench' });
    });

  program
    .command('diagrams')
    .description("write the grammar's railroad diagrams as DIR/pattern.html")
    .requiredOption('-o, --out <dir>', 'the directory to write pattern.html into (a path ending in .html names the file)')
    .action(async (opts: { out: string }) => {
      const { writeDiagrams } = await import('./diagrams.js');
      const file = writeDiagrams(opts.out.endsWith('.html') ? opts.out : join(opts.out, 'pattern.html'));
      console.log(`wrote ${file}`);
    });

  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  program.exitOverride();
  try {
    await program.parseAsync(argv as string[]);
    return 0;
  } catch (e) {
    if (e instanceof EinjitError) {
      console.error(e.message);
      return 1;
    }
    const code = (e as { code?: string; exitCode?: number }).code;
    if (typeof code === 'string' && code.startsWith('commander.')) {
      return code === 'commander.helpDisplayed' || code === 'commander.version' ? 0 : (e as { exitCode: number }).exitCode ?? 1;
    }
    console.error(e instanceof Error ? e.message : String(e));
    return 1;
  } finally {
    await shutdown();
  }
}

// Run when executed as a program (the `einjit` bin links here), not when imported by tests.
const entry = process.argv[1];
if (entry !== undefined && (import.meta.url === pathToFileURL(entry).href || /[\\/]einjit$/.test(entry))) {
  main(process.argv).then((code) => process.exit(code));
}
