/**
 * Path-finding time and cost of every planner algorithm on the networks of tests/conformance/paths.json, beside
 * opt_einsum's recorded Python time (`time_s`) and cost for the same algorithm.
 *
 *   npx tsx bench/paths.bench.ts            all algorithms
 *   npx tsx bench/paths.bench.ts greedy dp  some of them
 *
 * Time is the minimum over repeats (until 0.2 s is spent or 5 runs) of planContraction with the cache cleared,
 * which includes building the step records (opt_einsum's time includes its bookkeeping too). Speed-up =
 * opt_einsum time / einjit time; cost ratio = einjit cost / opt_einsum cost (< 1 is better).
 */

import { clearPlanCache, planContraction } from '../src/plan/index.js';
import { type PathCase, loadPathCases } from '../tests/plan/cases.js';

const ALL = ['optimal', 'branch-2', 'greedy', 'dp', 'random-greedy', 'auto'];
const algorithms = process.argv.length > 2 ? process.argv.slice(2) : ALL;
const cases = loadPathCases();

interface Row {
  readonly id: string;
  readonly n: number;
  readonly ms: number;
  readonly speedup: number;
  readonly costRatio: number;
  readonly toBest: number;
}

function timeOne(c: PathCase, optimize: string): { ms: number; cost: number } {
  let best = Infinity;
  let cost = NaN;
  let spent = 0;
  for (let r = 0; r < 5 && spent < 200; r++) {
    clearPlanCache();
    const t0 = performance.now();
    const plan = planContraction(c, { optimize, timeBudgetMs: 120_000 });
    const ms = performance.now() - t0;
    spent += ms;
    best = Math.min(best, ms);
    cost = plan.cost;
  }
  return { ms: best, cost };
}

const geo = (xs: readonly number[]): number => Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / Math.max(1, xs.length));

// Warm up the JIT on a few networks first.
for (const c of cases.slice(-10)) for (const alg of ['greedy', 'auto']) timeOne(c, alg);

const summary: string[] = [];
for (const alg of algorithms) {
  const rows: Row[] = [];
  for (const c of cases) {
    const run = c.runs.get(alg);
    if (run?.status !== 'ok' || run.time_s === undefined) continue;
    if (c.nOperands <= 2) continue; // opt_einsum runs no optimizer there; nothing to compare
    const { ms, cost } = timeOne(c, alg);
    rows.push({
      id: c.id,
      n: c.nOperands,
      ms,
      speedup: (run.time_s * 1000) / ms,
      costRatio: cost / Number(run.opt_cost),
      toBest: cost / c.bestKnown,
    });
  }
  console.log(`\n## ${alg} (${rows.length} networks)`);
  console.log('case'.padEnd(34) + 'n'.padStart(4) + 'einjit ms'.padStart(12) + 'speed-up'.padStart(10) + 'cost ratio'.padStart(12));
  for (const r of rows) {
    console.log(r.id.padEnd(34) + String(r.n).padStart(4) + r.ms.toFixed(3).padStart(12) + r.speedup.toFixed(1).padStart(10) + r.costRatio.toFixed(4).padStart(12));
  }
  const slowest = [...rows].sort((a, b) => a.speedup - b.speedup)[0];
  const worst = [...rows].sort((a, b) => b.costRatio - a.costRatio)[0];
  const worstBest = [...rows].sort((a, b) => b.toBest - a.toBest)[0];
  summary.push(
    `| ${alg} | ${rows.length} | ${geo(rows.map((r) => r.speedup)).toFixed(1)}× | ${geo(rows.map((r) => r.costRatio)).toFixed(4)} | ` +
      `${slowest ? `${slowest.speedup.toFixed(1)}× (${slowest.id})` : '-'} | ` +
      `${worst ? `${worst.costRatio.toFixed(3)} (${worst.id})` : '-'} | ` +
      `${worstBest ? `${worstBest.toBest.toFixed(3)} (${worstBest.id})` : '-'} |`,
  );
}
console.log('\n| algorithm | networks | geo-mean speed-up | geo-mean cost ratio | smallest speed-up | worst cost ratio | worst ratio to best known |');
console.log('|---|---|---|---|---|---|---|');
for (const line of summary) console.log(line);
