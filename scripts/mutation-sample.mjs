#!/usr/bin/env node
/**
 * Mutation testing by random sample, for modules too large to run whole on a small machine.
 *
 *   node scripts/mutation-sample.mjs run <module> [seed]   plan, run Stryker on the sample, score (npm run mutation:<module>)
 *   node scripts/mutation-sample.mjs plan <module> [seed]  writes reports/mutation/sample-<module>.config.json (+ .meta.json)
 *   node scripts/mutation-sample.mjs score <module>   reads reports/mutation/sample-<module>.json, prints the estimate
 *   node scripts/mutation-sample.mjs tests <module>   prints the module's STRYKER_TESTS
 *
 * The sample is drawn from the source as it is when `plan` runs (line numbers move with every edit), so plan and
 * run on the same commit; docs/testing.md records the commit each score was measured on. The seed defaults to
 * SEED; a sample whose survivors have had tests written for them is no longer an unbiased estimate, so the next
 * estimate takes another seed (`npm run mutation:nn -- 20261205`).
 *
 * `plan` lists every mutant StrykerJS would make in the module (its own instrumenter, same version, same default
 * mutators), groups the single-line mutants by line, shuffles those lines with a fixed seed and takes lines until
 * the sample holds at least TARGET mutants. The config's `mutate` entries are the chosen `file:line-line` ranges,
 * so Stryker makes exactly the mutants on those lines. Mutants that span several lines (a removed multi-line
 * block, a multi-line condition) cannot be selected by a line range without also selecting everything inside
 * them; they are left out of the sample and their share of the module is printed and recorded with it.
 *
 * `score` treats the sample as a simple random sample of lines (clusters of mutants) and gives the ratio
 * estimate of the module's score, (killed + timed out) / (all but compile/runtime errors and ignored), with a
 * 95 % normal interval from the ratio estimator's variance, finite-population corrected.
 */
import { readFileSync, writeFileSync, mkdirSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { Instrumenter } from '@stryker-mutator/instrumenter';

const SEED = 20261204;
const TARGET = 70;

/** Per module: the files whose mutants form the population, and the test files run against them. */
const MODULES = {
  ir: {
    files: () => ts('src/ir').filter((f) => f !== 'src/ir/verify.ts'),
    // The front end's own folder (less the grammar test, which compares generated files with the sandbox's, where
    // Stryker has marked every file `// @ts-nocheck`), and the einsum tests of what src/ir reads: many indices
    // (Unicode, sublists, named axes) and composite axes.
    tests: [...testsIn('tests/frontend').filter((f) => !f.endsWith('/grammar.test.ts')), 'tests/einsum/many-indices.test.ts', 'tests/einsum/composite-axes.test.ts'],
  },
  plan: {
    files: () => ts('src/plan'),
    tests: [...testsIn('tests/plan'), 'tests/einsum/many-indices.test.ts', 'tests/einsum/sliced-memory.test.ts', 'tests/einsum/sliced-chunks.test.ts'],
  },
  lower: {
    files: () => ts('src/lower'),
    tests: ['tests/einsum/gemm-lowering.test.ts', 'tests/einsum/random.test.ts', 'tests/kernels/interpret.test.ts', 'tests/kernels/transpose.test.ts', 'tests/kernels/constants.test.ts', 'tests/kernels/lower-corners.test.ts', 'tests/kernels/lower-corners-2.test.ts', 'tests/kernels/lower-corners-3.test.ts', 'tests/kernels/lower-corners-4.test.ts', 'tests/kernels/lower-corners-5.test.ts', 'tests/kernels/lower-corners-6.test.ts', 'tests/kernels/lower-corners-7.test.ts', 'tests/kernels/lower-corners-8.test.ts'],
  },
  autograd: {
    files: () => ts('src/autograd'),
    tests: ['tests/autograd/engine.test.ts', 'tests/autograd/rules.test.ts', 'tests/autograd/table.test.ts', 'tests/autograd/einsum.test.ts', 'tests/autograd/engine-corners.test.ts', 'tests/autograd/higher-order.test.ts', 'tests/autograd/engine-corners-2.test.ts', 'tests/autograd/engine-corners-3.test.ts', 'tests/autograd/engine-corners-4.test.ts', 'tests/autograd/jvp.test.ts', 'tests/autograd/engine-corners-5.test.ts', 'tests/autograd/saves-table.test.ts', 'tests/autograd/engine-corners-6.test.ts', 'tests/autograd/engine-corners-7.test.ts', 'tests/autograd/engine-corners-8.test.ts', 'tests/autograd/engine-corners-9.test.ts'],
  },
  nn: {
    files: () => ['src/nn/layers.ts', 'src/nn/functional.ts', 'src/nn/module.ts', 'src/nn/attention.ts', 'src/nn/einops-layers.ts', 'src/nn/init.ts'],
    tests: [...testsIn('tests/nn').filter((f) => !f.includes('safetensors'))],
  },
  cpu: {
    files: () => ts('kernels/cpu'),
    tests: ['tests/kernels/gemm.test.ts', 'tests/kernels/interpret.test.ts', 'tests/kernels/transpose.test.ts', 'tests/kernels/constants.test.ts', 'tests/einsum/random.test.ts', 'tests/kernels/cpu-corners.test.ts', 'tests/kernels/cpu-corners-2.test.ts', 'tests/kernels/cpu-layout-and-poison.test.ts', 'tests/kernels/cpu-corners-3.test.ts', 'tests/kernels/loop-rows.test.ts', 'tests/jit/gemm-epilogue-inputs.test.ts', 'tests/kernels/cpu-corners-4.test.ts', 'tests/kernels/loop-hoisting.test.ts', 'tests/kernels/loop-also.test.ts', 'tests/kernels/cpu-corners-5.test.ts', 'tests/kernels/cpu-corners-6.test.ts', 'tests/kernels/cpu-corners-7.test.ts', ...testsIn('tests/cpu')],
  },
  wgsl: {
    files: () => ts('kernels/wgsl'),
    tests: [...testsIn('tests/wgsl'), 'tests/runtime/shutdown.test.ts', 'tests/jit/gemm-epilogue-inputs.test.ts',
      // LoopSpec.also (jit's merged updates) is rendered by the loop kernel; its tests live beside the CPU's.
      'tests/kernels/loop-also.test.ts'],
  },
  // The safetensors reader and writer (the nn module's test list leaves their tests out), with the limits test.
  safetensors: {
    files: () => ['src/nn/safetensors.ts'],
    tests: testsIn('tests/nn').filter((f) => f.includes('safetensors')),
  },
};

/** Every test file in a folder: a module's own tests are all of them (a list by hand fell behind the folder). */
function testsIn(dir) {
  return readdirSync(dir).filter((f) => f.endsWith('.test.ts')).sort().map((f) => `${dir}/${f}`);
}

function ts(dir) {
  return readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')).sort().map((f) => `${dir}/${f}`);
}

/** mulberry32: a small seeded generator, so the same seed picks the same lines on every machine. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const quiet = { debug() {}, info() {}, trace() {}, warn: console.warn, error: console.error, isDebugEnabled: () => false, isInfoEnabled: () => false, isTraceEnabled: () => false };

async function population(files) {
  const instrumenter = new Instrumenter(quiet);
  const { mutants } = await instrumenter.instrument(
    files.map((name) => ({ name, content: readFileSync(name, 'utf8'), mutate: true })),
    { plugins: null, excludedMutations: [], ignorers: [] },
  );
  return mutants;
}

async function plan(name, seed) {
  const mod = MODULES[name];
  const mutants = await population(mod.files());
  const single = mutants.filter((m) => m.location.start.line === m.location.end.line);
  const byLine = new Map();
  for (const m of single) {
    const key = `${m.fileName}:${m.location.start.line + 1}`;
    byLine.set(key, (byLine.get(key) ?? 0) + 1);
  }
  const lines = [...byLine.keys()].sort();
  const next = rng(seed);
  for (let i = lines.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [lines[i], lines[j]] = [lines[j], lines[i]];
  }
  const chosen = [];
  let count = 0;
  for (const l of lines) {
    if (count >= TARGET) break;
    chosen.push(l);
    count += byLine.get(l);
  }
  chosen.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const base = JSON.parse(readFileSync('stryker/verify.config.json', 'utf8'));
  const config = {
    ...base,
    mutate: chosen.map((l) => `${l}-${l.split(':')[1]}`),
    jsonReporter: { fileName: `reports/mutation/sample-${name}.json` },
  };
  delete config.$schema;
  writeFileSync(`reports/mutation/sample-${name}.config.json`, JSON.stringify(config, null, 2) + '\n');
  const meta = {
    module: name, seed, target: TARGET, files: mod.files(), tests: mod.tests,
    mutants: mutants.length, singleLineMutants: single.length, lines: lines.length, chosenLines: chosen.length, chosenMutants: count,
  };
  writeFileSync(`reports/mutation/sample-${name}.meta.json`, JSON.stringify(meta, null, 2) + '\n');
  console.log(`${name} (seed ${seed}): ${mutants.length} mutants, ${single.length} on one line (${pct(single.length / mutants.length)}) over ${lines.length} lines; sampled ${chosen.length} lines, ${count} mutants`);
}

function pct(x) {
  return `${(100 * x).toFixed(1)} %`;
}

function score(name) {
  const meta = JSON.parse(readFileSync(`reports/mutation/sample-${name}.meta.json`, 'utf8'));
  const report = JSON.parse(readFileSync(`reports/mutation/sample-${name}.json`, 'utf8'));
  const perLine = new Map();
  const tally = {};
  const survivors = [];
  for (const [file, { mutants }] of Object.entries(report.files)) {
    for (const m of mutants) {
      tally[m.status] = (tally[m.status] ?? 0) + 1;
      const key = `${file}:${m.location.start.line}`;
      const cell = perLine.get(key) ?? { k: 0, m: 0 };
      if (m.status === 'Killed' || m.status === 'Timeout') { cell.k++; cell.m++; }
      else if (m.status === 'Survived' || m.status === 'NoCoverage') {
        cell.m++;
        survivors.push(`${file}:${m.location.start.line}:${m.location.start.column} ${m.status} ${m.mutatorName} -> ${JSON.stringify(m.replacement ?? '')}`);
      }
      perLine.set(key, cell);
    }
  }
  const n = meta.chosenLines;
  const N = meta.lines;
  const cells = [...perLine.values()];
  while (cells.length < n) cells.push({ k: 0, m: 0 });
  const K = cells.reduce((s, c) => s + c.k, 0);
  const M = cells.reduce((s, c) => s + c.m, 0);
  const R = K / M;
  const mbar = M / n;
  const s2 = cells.reduce((s, c) => s + (c.k - R * c.m) ** 2, 0) / (n - 1);
  const se = Math.sqrt(((1 - n / N) * s2) / (n * mbar * mbar));
  const lo = Math.max(0, R - 1.96 * se);
  const hi = Math.min(1, R + 1.96 * se);
  console.log(`${name} (seed ${meta.seed}): ${K}/${M} detected = ${pct(R)}, 95 % interval ${pct(lo)} – ${pct(hi)} (${n} of ${N} lines; ${meta.singleLineMutants} of ${meta.mutants} mutants are on one line)`);
  console.log(`  statuses: ${JSON.stringify(tally)}`);
  for (const s of survivors.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))) console.log(`  ${s}`);
  // Stryker's vitest runner drops a test file that loads no test (one that throws as it is imported in the
  // sandbox) without a word, and the score then counts its mutants as survivors: name such files, and fail.
  const ran = new Set(Object.keys(report.testFiles ?? {}));
  const absent = meta.tests.filter((t) => !ran.has(t));
  if (absent.length > 0) {
    console.error(`  ${absent.length} listed test file(s) ran no test in Stryker's sandbox: ${absent.join(', ')}`);
    process.exitCode = 1;
  }
}

const [cmd, name, seedArg] = process.argv.slice(2);
if (!(name in MODULES)) throw new Error(`module must be one of ${Object.keys(MODULES).join(', ')}`);
const seed = seedArg === undefined ? SEED : Number(seedArg);
if (!Number.isSafeInteger(seed)) throw new Error(`the seed must be an integer, got ${seedArg}`);
mkdirSync('reports/mutation', { recursive: true });
if (cmd === 'run') {
  await plan(name, seed);
  const env = { ...process.env, STRYKER_TESTS: MODULES[name].tests.join(',') };
  const r = spawnSync('npx', ['stryker', 'run', `reports/mutation/sample-${name}.config.json`], { stdio: 'inherit', env });
  if (r.status !== 0) process.exit(r.status ?? 1);
  score(name);
} else if (cmd === 'plan') await plan(name, seed);
else if (cmd === 'score') score(name);
else if (cmd === 'tests') console.log(MODULES[name].tests.join(','));
else throw new Error('usage: mutation-sample.mjs run|plan|score|tests <module> [seed]');
