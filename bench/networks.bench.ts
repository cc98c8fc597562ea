/**
 * The planner on tensor networks: `auto` on every network of tests/conformance/paths.json against the best
 * known cost, and every scalable optimizer on generated networks of 10 to 1,000 tensors.
 *
 *   npx tsx bench/networks.bench.ts             both parts
 *   npx tsx bench/networks.bench.ts corpus      auto (and hyper against it) on the conformance networks only
 *   npx tsx bench/networks.bench.ts large       the generated networks only
 *   npx tsx bench/networks.bench.ts quick       greedy against opt_einsum's greedy only, on random 3- and
 *                                               4-regular networks of 100 to 1,000 tensors and the two other
 *                                               1,000-tensor networks, then the sliced section (under 40 s;
 *                                               `runNetworksBench` runs it for `npm run bench`)
 *   npx tsx bench/networks.bench.ts sliced      sliced execution under memory limits against the unlimited
 *                                               contraction, on the CPU
 *
 * Times are per call with the plan cache cleared, after a warm-up: wall-clock ms and this process's CPU ms
 * (the machine is shared; CPU time is what the planner spent); greedy's, here and in opt_einsum's column, are
 * the fastest of 3 calls. Costs are the planner's own (opt_einsum's
 * convention), as log10 flops; "× best" is a cost over the best any optimizer found in the same run (or, for the
 * corpus, over the best known cost recorded from opt_einsum and numpy). On the corpus, opt_einsum's costs are the
 * recorded ones; on the generated networks opt_einsum runs in the same benchmark through python3
 * (bench/opt_einsum_peer.py) when it imports, on the same networks.
 */

import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { compile, tensor } from '../src/index.js';
import { clearPlanCache, planContraction } from '../src/plan/index.js';
import { type PathCase, loadPathCases } from '../tests/plan/cases.js';
import { type GenNetwork, lattice, mpsOverlap, randomCircuit, randomRegular } from './network-gen.js';

interface Timed {
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly cost: number;
  /** The plan's log10Cost: finite where `cost` overflows a double. */
  readonly log10Cost: number;
  readonly log2Largest: number;
  readonly optimizer: string;
}

/** One call with the plan cache cleared, or the fastest of `repeat` calls (the same plan each time). */
function timed(net: { inputs: number[][]; output: number[]; sizes: number[] }, optimize: string, extra: object = {}, repeat = 1): Timed {
  let best: Timed | undefined;
  for (let r = 0; r < repeat; r++) {
    clearPlanCache();
    const u0 = process.cpuUsage();
    const t0 = performance.now();
    const plan = planContraction(net, { optimize, seed: 1, ...extra });
    const wallMs = performance.now() - t0;
    const u = process.cpuUsage(u0);
    const log2Largest = Math.max(0, ...plan.steps.map((st) => st.result.reduce((a, i) => a + Math.log2(net.sizes[i]!), 0)));
    const t = { wallMs, cpuMs: (u.user + u.system) / 1000, cost: plan.cost, log10Cost: plan.log10Cost, log2Largest, optimizer: plan.optimizer };
    if (best === undefined || t.wallMs < best.wallMs) best = t;
  }
  return best!;
}

const quantile = (xs: readonly number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

function corpus(): void {
  const cases = loadPathCases().filter((c) => c.nOperands >= 3);
  // Warm up the JIT on the largest networks.
  for (const c of cases.slice(-12)) timed(c, 'auto');
  const rows: { c: PathCase; t: Timed; ratio: number }[] = [];
  for (const c of cases) {
    const t = timed(c, 'auto');
    rows.push({ c, t, ratio: t.cost / c.bestKnown });
  }
  const within = rows.filter((r) => r.ratio <= 1.1).length;
  const worst = [...rows].sort((a, b) => b.ratio - a.ratio).slice(0, 5);
  const slow = [...rows].sort((a, b) => b.t.wallMs - a.t.wallMs).slice(0, 5);
  console.log(`\n## auto on the ${rows.length} conformance networks of 3+ operands (seed 1)\n`);
  console.log(`within 1.1× of the best known cost: ${within}/${rows.length}; below it on ${rows.filter((r) => r.ratio < 1 - 1e-9).length}`);
  console.log(`cost / best known: geo-mean ${Math.exp(rows.reduce((s, r) => s + Math.log(r.ratio), 0) / rows.length).toFixed(4)}, ` +
    `worst ${worst.map((r) => `${r.ratio.toFixed(3)} (${r.c.id})`).join(', ')}`);
  // Against opt_einsum's own auto and greedy, as recorded in the corpus (opt_einsum is not run here).
  for (const peer of ['auto', 'greedy', 'random-greedy-128']) {
    const ratios = rows
      .map((r) => ({ r, run: r.c.runs.get(peer) }))
      .filter(({ run }) => run?.status === 'ok' && run.opt_cost !== undefined)
      .map(({ r, run }) => r.t.cost / Number(run!.opt_cost));
    const geo = Math.exp(ratios.reduce((a, x) => a + Math.log(x), 0) / ratios.length);
    console.log(`einjit auto / opt_einsum ${peer} (recorded): geo-mean ${geo.toFixed(4)}, worst ${Math.max(...ratios).toFixed(3)}, ` +
      `cheaper on ${ratios.filter((x) => x < 1 - 1e-9).length} of ${ratios.length}`);
  }
  for (const [label, key] of [['wall', 'wallMs'], ['CPU', 'cpuMs']] as const) {
    const xs = rows.map((r) => r.t[key]);
    console.log(`${label} ms per call: median ${quantile(xs, 0.5).toFixed(1)}, p90 ${quantile(xs, 0.9).toFixed(1)}, max ${Math.max(...xs).toFixed(1)}`);
  }
  const byN = (lo: number, hi: number): string => {
    const xs = rows.filter((r) => r.c.nOperands >= lo && r.c.nOperands <= hi).map((r) => r.t.wallMs);
    return xs.length === 0 ? '-' : `${xs.length} networks, max ${Math.max(...xs).toFixed(1)} ms, median ${quantile(xs, 0.5).toFixed(1)} ms`;
  };
  console.log(`by size (wall): 3-10 operands ${byN(3, 10)}; 11-30 ${byN(11, 30)}; 31+ ${byN(31, 1e9)}`);
  console.log(`slowest: ${slow.map((r) => `${r.c.id} (${r.c.nOperands} operands) ${r.t.wallMs.toFixed(1)} ms wall / ${r.t.cpuMs.toFixed(1)} CPU`).join('; ')}`);
  hyperVsAuto(rows);
  const rr = rows.filter((r) => ['random_regular-029', 'random_regular-032', 'random_regular-033'].includes(r.c.id));
  console.log(`the three former misses: ${rr.map((r) => `${r.c.id} ${r.ratio.toFixed(3)} in ${r.t.wallMs.toFixed(1)} ms`).join('; ')}`);
}

/** hyper (default budget and trials) on the same networks: its cost over auto's and over the best known. */
function hyperVsAuto(rows: readonly { c: PathCase; t: Timed; ratio: number }[]): void {
  const vsAuto: number[] = [];
  const vsBest: number[] = [];
  const wall: number[] = [];
  for (const { c, t } of rows) {
    const h = timed(c, 'hyper');
    vsAuto.push(h.cost / t.cost);
    vsBest.push(h.cost / c.bestKnown);
    wall.push(h.wallMs);
  }
  const geo = (xs: readonly number[]): number => Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length);
  console.log(`\nhyper / auto: geo-mean ${geo(vsAuto).toFixed(4)}, worst ${Math.max(...vsAuto).toFixed(4)}, ` +
    `better on ${vsAuto.filter((r) => r < 1).length} of ${vsAuto.length}; hyper / best known: geo-mean ${geo(vsBest).toFixed(4)}, ` +
    `worst ${Math.max(...vsBest).toFixed(3)}, within 1.1× on ${vsBest.filter((r) => r <= 1.1).length}; ` +
    `wall ms median ${quantile(wall, 0.5).toFixed(1)}, max ${Math.max(...wall).toFixed(1)}`);
}

interface Column {
  readonly name: string;
  readonly optimize: string;
  /** Largest tensor count the optimizer runs on in this benchmark. */
  readonly upTo: number;
  readonly extra?: object;
  /** Calls timed (the fastest is reported; opt_einsum's peer column is timed the same way). */
  readonly repeat?: number;
}

const COLUMNS: readonly Column[] = [
  { name: 'greedy (fastest of 3)', optimize: 'greedy', upTo: Infinity, repeat: 3 },
  { name: 'random-greedy (32 trials)', optimize: 'random-greedy', upTo: Infinity },
  { name: 'auto', optimize: 'auto', upTo: Infinity },
  { name: 'hyper (250 ms, 32 trials)', optimize: 'hyper', upTo: Infinity },
  { name: 'dp (≤ 30 tensors, 10 s)', optimize: 'dp', upTo: 30, extra: { timeBudgetMs: 10_000 } },
];

/** opt_einsum's optimizers run on the generated networks, each up to a tensor count (its random-greedy is slow). */
const PEER_COLUMNS: readonly { readonly optimize: string; readonly upTo: number; readonly repeat: number }[] = [
  { optimize: 'greedy', upTo: Infinity, repeat: 3 },
  { optimize: 'random-greedy', upTo: 300, repeat: 1 },
  { optimize: 'auto', upTo: Infinity, repeat: 1 },
];

interface PeerResult {
  readonly id: string;
  readonly optimizer: string;
  readonly wall_ms?: number;
  readonly cpu_ms?: number;
  readonly log10_cost?: number;
  readonly log2_largest?: number;
  readonly error?: string;
}

/** opt_einsum on every network in one python3 process, or a reason it did not run. */
function optEinsum(nets: readonly GenNetwork[], columns = PEER_COLUMNS): { version: string; results: PeerResult[] } | string {
  if (spawnSync('python3', ['-c', 'import opt_einsum'], { stdio: 'ignore' }).status !== 0) {
    return 'opt_einsum does not import in python3 (pip install opt_einsum to compare)';
  }
  const networks = nets.map((n) => ({ id: n.name, inputs: n.inputs, output: n.output, sizes: n.sizes }));
  const results: PeerResult[] = [];
  let version = '?';
  for (const { optimize, upTo, repeat } of columns) {
    const job = { networks: networks.filter((n) => n.inputs.length <= upTo), optimizers: [optimize], repeat };
    const proc = spawnSync('python3', [fileURLToPath(new URL('./opt_einsum_peer.py', import.meta.url))], {
      input: JSON.stringify(job), encoding: 'utf8', maxBuffer: 1 << 26, env: { ...process.env, OMP_NUM_THREADS: '1' },
    });
    if (proc.status !== 0) return `opt_einsum peer failed: ${proc.stderr.slice(-300)}`;
    const out = JSON.parse(proc.stdout) as { info: { opt_einsum: string }; results: PeerResult[] };
    version = out.info.opt_einsum;
    results.push(...out.results);
  }
  return { version, results };
}

function large(): void {
  const nets: GenNetwork[] = [];
  for (const n of [10, 30, 100, 300, 1000]) for (const d of [3, 4]) nets.push(randomRegular(n, d, n + d));
  nets.push(lattice(10, 10, 2), lattice(25, 40, 2), mpsOverlap(100, 16, 2), mpsOverlap(500, 8, 2), randomCircuit(4, 5, 10, 1));
  // Warm up.
  for (const net of [randomRegular(200, 3, 99), lattice(8, 8, 2)]) for (const c of COLUMNS.slice(0, 3)) timed(net, c.optimize);
  const peer = optEinsum(nets);
  console.log('\n## optimizers on generated networks (seed 1; index sizes 2-8 for the random regular graphs)\n');
  console.log(typeof peer === 'string' ? peer : `opt_einsum ${peer.version} beside einjit (its times are wall ms of one call after one warm-up call, greedy the fastest of 3; it has no CPU column)\n`);
  console.log('| network | tensors | optimizer | wall ms | CPU ms | log10 cost | log2 largest | × best |');
  console.log('|---|--:|---|--:|--:|--:|--:|--:|');
  const summary: { net: GenNetwork; greedy?: number; peerGreedy?: number; greedyLog?: number; peerGreedyLog?: number; autoLog?: number;
    bestLog: number }[] = [];
  for (const net of nets) {
    const results: { col: Column; t: Timed | string }[] = [];
    for (const col of COLUMNS) {
      if (net.inputs.length > col.upTo) continue;
      try {
        results.push({ col, t: timed(net, col.optimize, col.extra, col.repeat) });
      } catch (e) {
        results.push({ col, t: (e as Error).message.slice(0, 60) });
      }
    }
    const peers = typeof peer === 'string' ? [] : peer.results.filter((r) => r.id === net.name);
    // Compared in log10: opt_einsum's counts are exact integers; einjit's pass the float64 range on the largest
    // networks, where its plans' log10Cost still holds them.
    const logs = [
      ...results.flatMap((r) => (typeof r.t === 'string' ? [] : [r.t.log10Cost])),
      ...peers.flatMap((p) => (p.log10_cost === undefined ? [] : [p.log10_cost])),
    ];
    const bestLog = Math.min(...logs);
    const times = (log: number): string => {
      const r = 10 ** (log - bestLog);
      return !Number.isFinite(bestLog) ? '(overflow)' : r < 1000 ? r.toFixed(3) : r.toExponential(1);
    };
    for (const { col, t } of results) {
      if (typeof t === 'string') {
        console.log(`| ${net.name} | ${net.inputs.length} | ${col.name} | – | – | ${t} | | |`);
        continue;
      }
      console.log(`| ${net.name} | ${net.inputs.length} | ${col.name} | ${t.wallMs.toFixed(1)} | ${t.cpuMs.toFixed(1)} | ` +
        `${t.log10Cost.toFixed(2)} | ${t.log2Largest.toFixed(1)} | ${times(t.log10Cost)} |`);
    }
    for (const p of peers) {
      const name = `opt_einsum ${p.optimizer}`;
      if (p.error !== undefined || p.log10_cost === undefined) {
        console.log(`| ${net.name} | ${net.inputs.length} | ${name} | – | – | ${(p.error ?? '?').slice(0, 60)} | | |`);
        continue;
      }
      console.log(`| ${net.name} | ${net.inputs.length} | ${name} | ${p.wall_ms!.toFixed(1)} | | ` +
        `${p.log10_cost.toFixed(2)} | ${p.log2_largest!.toFixed(1)} | ${times(p.log10_cost)} |`);
    }
    const mine = (optimize: string): Timed | undefined => {
      const r = results.find((x) => x.col.optimize === optimize)?.t;
      return r === undefined || typeof r === 'string' ? undefined : r;
    };
    const peerGreedy = peers.find((p) => p.optimizer === 'greedy');
    summary.push({
      net, bestLog,
      greedy: mine('greedy')?.wallMs,
      peerGreedy: peerGreedy?.wall_ms,
      greedyLog: mine('greedy')?.log10Cost,
      peerGreedyLog: peerGreedy?.log10_cost,
      autoLog: mine('auto')?.log10Cost,
    });
  }
  const ratio = (log: number): string => {
    const r = 10 ** log;
    return r < 1000 && r > 1e-3 ? r.toFixed(3) : r.toExponential(1);
  };
  console.log('\n| network | tensors | greedy: opt_einsum ms / einjit ms | greedy cost: einjit / opt_einsum | einjit auto × best (einjit and opt_einsum) |');
  console.log('|---|--:|--:|--:|--:|');
  for (const s of summary) {
    const speed = s.greedy !== undefined && s.peerGreedy !== undefined ? `${(s.peerGreedy / s.greedy).toFixed(1)}×` : '–';
    const cost = s.greedyLog !== undefined && s.peerGreedyLog !== undefined ? ratio(s.greedyLog - s.peerGreedyLog) : '–';
    const auto = s.autoLog !== undefined ? ratio(s.autoLog - s.bestLog) : '–';
    console.log(`| ${s.net.name} | ${s.net.inputs.length} | ${speed} | ${cost} | ${auto} |`);
  }
}

/** Calls timed on each side in the quick section (the fastest is reported). */
const QUICK_REPEAT = 5;

/**
 * greedy against opt_einsum's greedy: time and cost. Each side's time is the fastest of QUICK_REPEAT calls after
 * one warm-up call, by wall clock and, separately, by the process's CPU time (on a loaded machine a call of a
 * few milliseconds often runs between preemptions while one of hundreds cannot, so wall-clock ratios there
 * flatter the faster side; CPU time is inflated far less). The networks are those of the large section with 100
 * tensors and more, less the slower optimizers; the speed goal is read at 1,000 tensors.
 */
function quick(): void {
  const nets: GenNetwork[] = [];
  for (const n of [100, 300, 1000]) for (const d of [3, 4]) nets.push(randomRegular(n, d, n + d));
  nets.push(lattice(25, 40, 2), mpsOverlap(500, 8, 2));
  // Warm up on other networks, then once on each.
  for (const net of [randomRegular(200, 3, 99), lattice(8, 8, 2)]) timed(net, 'greedy');
  const mine = nets.map((net) => {
    timed(net, 'greedy');
    let wallMs = Infinity;
    let cpuMs = Infinity;
    let log10Cost = 0;
    for (let r = 0; r < QUICK_REPEAT; r++) {
      const t = timed(net, 'greedy');
      wallMs = Math.min(wallMs, t.wallMs);
      cpuMs = Math.min(cpuMs, t.cpuMs);
      log10Cost = t.log10Cost;
    }
    return { wallMs, cpuMs, log10Cost };
  });
  const peer = optEinsum(nets, [{ optimize: 'greedy', upTo: Infinity, repeat: QUICK_REPEAT }]);
  console.log(`\n## greedy against opt_einsum's greedy (fastest of ${QUICK_REPEAT} calls each, after a warm-up call)\n`);
  if (typeof peer === 'string') console.log(peer);
  else console.log(`opt_einsum ${peer.version} through python3, on the same networks, in this run; times in ms, wall / CPU`);
  console.log('\n| network | tensors | einjit | opt_einsum | speed (opt_einsum / einjit), wall / CPU | einjit log10 cost | opt_einsum log10 cost | cost: einjit / opt_einsum |');
  console.log('|---|--:|--:|--:|--:|--:|--:|--:|');
  nets.forEach((net, k) => {
    const t = mine[k]!;
    const p = typeof peer === 'string' ? undefined : peer.results.find((r) => r.id === net.name && r.log10_cost !== undefined);
    const cost = p === undefined ? '–' : ((r: number): string => (r < 1000 && r > 1e-3 ? r.toFixed(3) : r.toExponential(1)))(10 ** (t.log10Cost - p.log10_cost!));
    const speed = p === undefined ? '–' : `${(p.wall_ms! / t.wallMs).toFixed(1)}× / ${(p.cpu_ms! / t.cpuMs).toFixed(1)}×`;
    console.log(`| ${net.name} | ${net.inputs.length} | ${t.wallMs.toFixed(1)} / ${t.cpuMs.toFixed(1)} | ` +
      `${p === undefined ? '–' : `${p.wall_ms!.toFixed(1)} / ${p.cpu_ms!.toFixed(1)}`} | ${speed} | ${t.log10Cost.toFixed(2)} | ` +
      `${p?.log10_cost?.toFixed(2) ?? '–'} | ${cost} |`);
  });
}

const loads = (): string => os.loadavg().map((l) => l.toFixed(1)).join(' ');

/**
 * The networks benchmark: with `quick`, greedy against opt_einsum's greedy only (what `npm run bench` runs,
 * under 30 s); otherwise the conformance corpus and every optimizer on the generated networks (minutes).
 */
/**
 * Sliced execution on the CPU: random 3-regular networks contracted to a scalar under a memory limit of 20 % and
 * 5 % of the unlimited greedy path's peak, float64, against the same contraction without a limit: how much the
 * limit costs in time and flops, and how many runs the slices took (chunks run several slices at once).
 */
function sliced(): void {
  console.log('\n## sliced execution (CPU, float64, greedy paths; median of 9 runs after 3 warm-up runs)\n');
  console.log('| network | limit (elements) | slices | runs | log10 flops sliced | log10 flops unlimited | ms sliced | ms unlimited | × |');
  console.log('|---|--:|--:|--:|--:|--:|--:|--:|--:|');
  const median = (run: () => void): number => {
    for (let i = 0; i < 3; i++) run();
    const times: number[] = [];
    for (let r = 0; r < 9; r++) {
      const t0 = performance.now();
      run();
      times.push(performance.now() - t0);
    }
    return quantile(times, 0.5);
  };
  for (const [n, seed] of [[8, 5], [8, 3], [10, 4], [12, 2], [14, 1]] as const) {
    const net = randomRegular(n, 3, seed, 4, 16);
    const label = (id: number): string => String.fromCodePoint(id < 26 ? 97 + id : 0xc0 + id - 26);
    const pattern = `${net.inputs.map((t) => t.map(label).join('')).join(',')}->`;
    const shapes = net.inputs.map((t) => t.map((id) => net.sizes[id]!));
    const whole = compile(pattern, shapes, { optimize: 'greedy', dtype: 'float64' });
    const peak = Math.max(1, ...whole.plan.steps.slice(0, -1).map((st) => st.resultSize));
    let state = seed;
    const rand = (): number => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 4294967296) - 0.5;
    const operands = shapes.map((shape) => tensor(Float64Array.from({ length: shape.reduce((p, x) => p * x, 1) }, rand)).reshape(shape));
    const unlimitedMs = median(() => whole.runSync(...operands).dispose());
    for (const fraction of [0.2, 0.05]) {
      const limit = Math.max(1, Math.floor(peak * fraction));
      let expr;
      try {
        expr = compile(pattern, shapes, { optimize: 'greedy', dtype: 'float64', memoryLimit: limit });
      } catch (e) {
        console.log(`| ${net.name} s${seed} | ${limit} | – | – | – | – | ${(e as Error).message.slice(0, 50)} | | |`);
        continue;
      }
      const sp = expr.sliced;
      const ms = median(() => expr.runSync(...operands).dispose());
      console.log(`| ${net.name} s${seed} | ${limit} | ${sp?.slices ?? '(pairwise)'} | ${sp?.chunk?.runs ?? sp?.slices ?? 1} | ` +
        `${Math.log10(sp?.cost ?? expr.plan.cost).toFixed(2)} | ${Math.log10(whole.plan.cost).toFixed(2)} | ${ms.toFixed(2)} | ` +
        `${unlimitedMs.toFixed(2)} | ${(ms / unlimitedMs).toFixed(2)} |`);
    }
    for (const x of operands) x.dispose();
  }
}

export function runNetworksBench({ quick: short = false, parts }: { quick?: boolean; parts?: 'corpus' | 'large' | 'sliced' } = {}): void {
  console.log(`\n# planner networks benchmark — ${new Date().toISOString()}`);
  console.log(`CPU: ${os.cpus()[0]?.model.trim() ?? 'unknown'}, ${os.availableParallelism()} logical cores; Node ${process.version}; ` +
    `load average ${loads()}`);
  if (short) {
    quick();
    sliced();
  } else {
    if (parts === undefined || parts === 'corpus') corpus();
    if (parts === undefined || parts === 'large') large();
    if (parts === undefined || parts === 'sliced') sliced();
  }
  console.log(`\nload average at the end ${loads()}`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const which = process.argv[2];
  if (which !== undefined && !['corpus', 'large', 'quick', 'sliced'].includes(which)) {
    console.error('usage: npx tsx bench/networks.bench.ts [corpus | large | quick | sliced]');
    process.exitCode = 2;
  } else runNetworksBench(which === 'quick' ? { quick: true } : { parts: which as 'corpus' | 'large' | 'sliced' | undefined });
}
