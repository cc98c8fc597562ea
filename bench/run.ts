/**
 * `npm run bench`: einjit's CPU benchmark beside tfjs (cpu, wasm), jax-js (wasm), onnxruntime-node (native) and numpy,
 * printed as one Markdown table, then the planner's networks section (greedy against opt_einsum's, through python3).
 *
 *   npx tsx bench/run.ts                 full CPU suite (a few minutes)
 *   npx tsx bench/run.ts --quick         few repetitions, no multi-second tf.einsum calls (CI smoke test)
 *   npx tsx bench/run.ts --filter gemm   only workloads whose name contains 'gemm'
 *   npx tsx bench/run.ts --full          also run tf.einsum on the shapes whose product is over 512³ (minutes)
 *   npx tsx bench/run.ts --no-numpy      skip the python3/numpy peer
 *   npx tsx bench/run.ts --json out.json also write every sample as JSON
 *   npx tsx bench/run.ts --gpu           afterwards run the GPU suite (bench/gpu.bench.ts), when present
 */
import { existsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

import { shutdown } from '../src/index.js';
import { LEGEND, runCpuBench } from './cpu.bench.js';
import { runNetworksBench } from './networks.bench.js';
import { parseBenchArgs, resultNotes, resultsTable, type BenchArgs } from './harness.js';

function usage(): string {
  return 'usage: npx tsx bench/run.ts [--quick] [--full] [--filter TEXT] [--no-numpy] [--json FILE] [--gpu]\n' +
    '(or npm run bench -- [options]); see the comment at the top of bench/run.ts';
}

/** Runs the GPU suite when its file exists; it exports one of runGpuBench / main / default. */
async function runGpu(args: BenchArgs): Promise<void> {
  const url = new URL('./gpu.bench.ts', import.meta.url);
  if (!existsSync(fileURLToPath(url))) {
    console.log('\n--gpu: bench/gpu.bench.ts is not there yet; no GPU suite to run.');
    return;
  }
  const mod = (await import(url.href)) as Record<string, unknown>;
  const entry = [mod.runGpuBench, mod.main, mod.default].find((f): f is (a: unknown) => unknown => typeof f === 'function');
  if (entry === undefined) {
    console.log('\n--gpu: bench/gpu.bench.ts exports no runGpuBench/main/default function; it ran on import, if at all.');
    return;
  }
  await entry({ quick: args.quick, filter: args.filter });
}

async function main(): Promise<void> {
  let args: BenchArgs;
  try {
    args = parseBenchArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`${(e as Error).message}\n${usage()}`);
    process.exitCode = 2;
    return;
  }
  if (args.help) {
    console.log(usage());
    return;
  }
  const cpus = os.cpus();
  const started = new Date();
  console.log(`# einjit CPU benchmark — ${started.toISOString()}`);
  console.log(`CPU: ${cpus[0]?.model.trim() ?? 'unknown'}, ${os.availableParallelism()} logical cores; Node ${process.version}` +
    `; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}` +
    `${args.quick ? '; --quick (few repetitions: numbers are rough)' : ''}\n`);

  const report = await runCpuBench({ quick: args.quick, full: args.full, filter: args.filter, numpy: args.numpy });
  console.log(resultsTable(report.results, report.peers));
  console.log('');
  for (const line of LEGEND) console.log(`- ${line}`);
  for (const line of report.info) console.log(`- ${line}`);
  for (const line of resultNotes(report.results, report.peers)) console.log(`- ${line}`);
  if (report.mismatches.length > 0) {
    console.log('\nRESULT MISMATCHES (einjit vs tfjs-cpu):');
    for (const line of report.mismatches) console.log(`- ${line}`);
    process.exitCode = 1;
  }
  console.log(`\nload average at the end: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log(`finished in ${((Date.now() - started.getTime()) / 1000).toFixed(0)} s`);

  if (args.json !== undefined) {
    writeFileSync(args.json, JSON.stringify({ date: started.toISOString(), cpu: cpus[0]?.model, cores: os.availableParallelism(), ...report }, null, 2));
    console.log(`samples written to ${args.json}`);
  }
  // The planner's section: greedy against opt_einsum's greedy on large random networks (about 25 s); the CPU
  // filter names CPU workloads, so a filtered run leaves it out.
  if (args.filter === undefined) runNetworksBench({ quick: true });
  if (args.gpu) await runGpu(args);
}

try {
  await main();
} finally {
  await shutdown(); // worker threads and GPU devices would otherwise keep the process alive
}
