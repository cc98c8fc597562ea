#!/usr/bin/env node
/**
 * The `einjit` command line: explain a pattern (IR, checked shapes, plan, kernels and their generated source),
 * run the benchmarks, write the grammar's railroad diagrams.
 */
import { Command, InvalidArgumentError } from 'commander';
import { pathToFileURL } from 'node:url';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { EinjitError } from './errors.js';
import { explainPattern, type ExplainRequest } from './explain.js';
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

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('einjit')
    .description('einsum and einops patterns compiled to CPU loops and WGSL compute shaders')
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
      // The suites live in the repository's bench/ (TypeScript, run with tsx), not in the built package.
      if (!existsSync('bench/run.ts')) {
        throw new EinjitError('the benchmark suites are not in this directory', {
          op: 'bench',
          hint: "run 'einjit bench' (or 'npm run bench') from a checkout of einjit",
        });
      }
      const r = spawnSync('npx', ['tsx', 'bench/run.ts', ...args], { stdio: 'inherit' });
      if (r.status !== 0) throw new EinjitError(`the benchmark runner exited with status ${r.status}`, { op: 'bench' });
    });

  program
    .command('diagrams')
    .description("write the grammar's railroad diagrams (docs/diagrams/pattern.html)")
    .option('-o, --out <file>', 'output HTML file', 'docs/diagrams/pattern.html')
    .action(async (opts: { out: string }) => {
      const { writeDiagrams } = await import('./diagrams.js');
      const file = writeDiagrams(opts.out);
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
