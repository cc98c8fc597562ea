/**
 * Benchmark harness: timing (warm-up, then repeated runs until a time budget or a repetition cap), the pure
 * helpers the tables need (median, flop and byte counts, number formatting) and a Markdown table printer.
 * Everything except `measure` and `now` is pure and unit-tested.
 */

/** How long to keep repeating a measurement. */
export interface MeasureOptions {
  /** Untimed runs before the first timed one (JIT warm-up, caches, first-call compilation). */
  readonly warmup: number;
  /** Keep repeating until the timed runs add up to this many milliseconds... */
  readonly minTimeMs: number;
  /** ...or until this many timed runs, whichever comes first. */
  readonly maxReps: number;
  /** Always at least this many timed runs. */
  readonly minReps: number;
}

/**
 * Every column (einjit, tfjs, and the jax-js, onnxruntime and numpy processes, which read the same options) warms up
 * for up to 200 calls, stopping early once warming up has taken `minTimeMs`. Two calls were too few on a 2-core
 * machine: a workload starts after seconds of single-threaded peer work whose garbage (tf.einsum materialises products
 * of 0.1-0.5 GB) is still being collected and freed, and a two-thread product's first tens of calls then run up to
 * twice as slow, which moved the median of a 1 ms row by up to 0.7 ms.
 */
export const DEFAULT_MEASURE: MeasureOptions = { warmup: 200, minTimeMs: 750, maxReps: 50, minReps: 3 };
export const QUICK_MEASURE: MeasureOptions = { warmup: 1, minTimeMs: 100, maxReps: 3, minReps: 1 };
/** A single cold run, for peers that take seconds per call. */
export const ONCE: MeasureOptions = { warmup: 0, minTimeMs: 0, maxReps: 1, minReps: 1 };

export interface Timing {
  /** Milliseconds of each timed run, in order. */
  readonly samples: readonly number[];
  readonly medianMs: number;
  readonly minMs: number;
}

export function now(): number {
  return performance.now();
}

/** Times a synchronous function; `fn` must finish its work (read its result back) before it returns. */
export function measure(fn: () => void, options: MeasureOptions = DEFAULT_MEASURE): Timing {
  // One warm-up run is enough once warming up has used the time budget (multi-second calls).
  for (let i = 0, spent = 0; i < options.warmup && (i === 0 || spent < options.minTimeMs); i++) {
    const t0 = now();
    fn();
    spent += now() - t0;
  }
  const samples: number[] = [];
  let total = 0;
  while (samples.length < options.minReps || (total < options.minTimeMs && samples.length < options.maxReps)) {
    const t0 = now();
    fn();
    const dt = now() - t0;
    samples.push(dt);
    total += dt;
  }
  return timingOf(samples);
}

/** Median and minimum of a list of samples (as `measure` reports them; also used for samples from numpy). */
export function timingOf(samples: readonly number[]): Timing {
  return { samples: samples.slice(), medianMs: median(samples), minMs: Math.min(...samples) };
}

/** The median; the mean of the two middle values for an even count. NaN for an empty list. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = xs.slice().sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

// ───────────────────────────────────────── work counts ─────────────────────────────────────────

/** Flops of a (batched) matrix product: one multiply and one add per term, 2·batch·m·n·k. */
export function gemmFlops(m: number, n: number, k: number, batch = 1): number {
  return 2 * batch * m * n * k;
}

/** Letters of one operand, or of the output, in a plain letter einsum (no '...', no spaces). */
function termsOf(pattern: string): { inputs: string[]; output: string } {
  const arrow = pattern.indexOf('->');
  if (arrow < 0) throw new Error(`einsumFlops needs an explicit output: '${pattern}'`);
  const inputs = pattern.slice(0, arrow).split(',').map((s) => s.trim());
  return { inputs, output: pattern.slice(arrow + 2).trim() };
}

/**
 * The 2·m·n·k-style flop count of a letter einsum evaluated left to right, one pair at a time. A pair costs
 * 2 × (product of the sizes of every letter either side uses) when a letter is summed away, 1 × that product
 * when nothing is summed (an outer or elementwise product). A single operand that only moves or selects data
 * (a permute, a diagonal) costs 0; one that sums costs one add per input element it reads.
 *
 * @example
 * einsumFlops('ij,jk->ik', [[2, 3], [3, 4]]);   // 2·2·4·3 = 48
 */
export function einsumFlops(pattern: string, shapes: readonly (readonly number[])[]): number {
  const { inputs, output } = termsOf(pattern);
  if (inputs.length !== shapes.length) throw new Error(`'${pattern}' has ${inputs.length} operands, got ${shapes.length} shapes`);
  const size = new Map<string, number>();
  inputs.forEach((term, t) => {
    const shape = shapes[t]!;
    if (term.length !== shape.length) throw new Error(`operand ${t} '${term}' does not match rank ${shape.length}`);
    [...term].forEach((ch, i) => size.set(ch, shape[i]!));
  });
  const prod = (letters: Iterable<string>): number => {
    let p = 1;
    for (const ch of new Set(letters)) p *= size.get(ch)!;
    return p;
  };
  if (inputs.length === 1) {
    const term = inputs[0]!;
    const summed = [...new Set(term)].some((ch) => !output.includes(ch));
    return summed ? prod(term) : 0;
  }
  let flops = 0;
  let acc = inputs[0]!;
  for (let t = 1; t < inputs.length; t++) {
    const next = inputs[t]!;
    const later = inputs.slice(t + 1).join('') + output;
    const union = [...new Set(acc + next)];
    const kept = union.filter((ch) => later.includes(ch));
    flops += (kept.length < union.length ? 2 : 1) * prod(union);
    acc = kept.join('');
  }
  return flops;
}

/** Bytes a data-movement op touches: every element read once and written once. */
export function bytesMoved(elementsRead: number, elementsWritten: number, bytesPerElement = 4): number {
  return (elementsRead + elementsWritten) * bytesPerElement;
}

/** Work per second in units of 1e9 per second (GFLOP/s from flops, GB/s from bytes). */
export function ratePerSecond(work: number, ms: number): number {
  return work / (ms * 1e-3) / 1e9;
}

/** How many times faster einjit is than a peer: peer time / einjit time. */
export function speedup(einjitMs: number, peerMs: number): number {
  return peerMs / einjitMs;
}

// ───────────────────────────────────────── formatting ─────────────────────────────────────────

/** Milliseconds with about three significant digits: 0.0123, 1.23, 12.3, 123, 12345. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  if (ms >= 100) return ms.toFixed(0);
  if (ms >= 10) return ms.toFixed(1);
  if (ms >= 1) return ms.toFixed(2);
  if (ms >= 0.1) return ms.toFixed(3);
  return ms.toPrecision(2);
}

/** A rate (GFLOP/s or GB/s) with about three significant digits. */
export function formatRate(rate: number): string {
  if (!Number.isFinite(rate)) return '—';
  if (rate >= 100) return rate.toFixed(0);
  if (rate >= 10) return rate.toFixed(1);
  if (rate >= 0.01) return rate.toFixed(2);
  return rate.toPrecision(2);
}

/** A speed-up factor: '123×', '12.3×', '1.23×', '0.045×'. */
export function formatRatio(r: number): string {
  if (!Number.isFinite(r)) return '—';
  if (r >= 100) return `${r.toFixed(0)}×`;
  if (r >= 10) return `${r.toFixed(1)}×`;
  if (r >= 0.1) return `${r.toFixed(2)}×`;
  return `${r.toPrecision(2)}×`;
}

export type Align = 'left' | 'right';

/**
 * A Markdown table padded into aligned columns, so it reads well both in a terminal and rendered.
 * `align` defaults to left for the first column and right for the rest. Pipes inside cells are escaped.
 */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[], align?: readonly Align[]): string {
  const cols = headers.length;
  for (const row of rows) {
    if (row.length !== cols) throw new Error(`a row has ${row.length} cells, the header ${cols}`);
  }
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  const cells = [headers, ...rows].map((r) => r.map(esc));
  const alignOf = (c: number): Align => align?.[c] ?? (c === 0 ? 'left' : 'right');
  const width = headers.map((_, c) => Math.max(3, ...cells.map((r) => [...r[c]!].length)));
  const pad = (s: string, c: number): string => {
    const fill = ' '.repeat(width[c]! - [...s].length);
    return alignOf(c) === 'left' ? s + fill : fill + s;
  };
  const line = (r: readonly string[]): string => `| ${r.map(pad).join(' | ')} |`;
  const rule = `|${width.map((w, c) => (alignOf(c) === 'left' ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(cells[0]!), rule, ...cells.slice(1).map(line)].join('\n');
}

// ───────────────────────────────────────── results ─────────────────────────────────────────

/** One peer's outcome on one workload: a time, or the reason there is none (rejected, skipped, no kernel). */
export type PeerOutcome =
  | { readonly status: 'timed'; readonly timing: Timing; readonly note?: string }
  | { readonly status: 'rejected' | 'skipped' | 'unavailable'; readonly note: string };

export interface WorkloadResult {
  readonly name: string;
  readonly einjit: Timing;
  /** Flops (rate in GFLOP/s) or bytes (rate in GB/s) of one run. */
  readonly work: { readonly amount: number; readonly unit: 'GFLOP/s' | 'GB/s' };
  /** Keyed by peer column name. */
  readonly peers: Readonly<Record<string, PeerOutcome>>;
}

/** The text a peer's cell shows: its median in ms, or a one-word reason. */
export function peerCell(outcome: PeerOutcome | undefined): string {
  if (outcome === undefined) return '—';
  return outcome.status === 'timed' ? formatMs(outcome.timing.medianMs) : outcome.status;
}

/** The speed-up cell: peer median / einjit median, or '—' when the peer has no time. */
export function speedupCell(einjit: Timing, outcome: PeerOutcome | undefined): string {
  if (outcome === undefined || outcome.status !== 'timed') return '—';
  return formatRatio(speedup(einjit.medianMs, outcome.timing.medianMs));
}

/**
 * The results table: workload | einjit ms | rate | one ms column per peer | one speed-up column per peer.
 * Times are medians.
 */
export function resultsTable(results: readonly WorkloadResult[], peers: readonly string[]): string {
  const headers = ['workload', 'einjit ms', 'GFLOP/s (GB/s)', ...peers.map((p) => `${p} ms`), ...peers.map((p) => `× ${p}`)];
  const rows = results.map((r) => {
    const rate = ratePerSecond(r.work.amount, r.einjit.medianMs);
    const rateText = r.work.unit === 'GB/s' ? `(${formatRate(rate)} GB/s)` : formatRate(rate);
    return [
      r.name,
      formatMs(r.einjit.medianMs),
      rateText,
      ...peers.map((p) => peerCell(r.peers[p])),
      ...peers.map((p) => speedupCell(r.einjit, r.peers[p])),
    ];
  });
  return renderTable(headers, rows);
}

/** The notes under the table: every peer outcome that carries a note, as 'workload, peer: note'. */
export function resultNotes(results: readonly WorkloadResult[], peers: readonly string[]): string[] {
  const notes: string[] = [];
  for (const r of results) {
    for (const p of peers) {
      const o = r.peers[p];
      if (o?.note !== undefined) notes.push(`${r.name}, ${p}: ${o.note}`);
    }
  }
  return notes;
}

// ───────────────────────────────────────── command line ─────────────────────────────────────────

function valueOf(argv: readonly string[], i: number, flag: string): string {
  const v = argv[i];
  if (v === undefined || v.startsWith('--')) throw new Error(`${flag} needs a value`);
  return v;
}

/** The command line of bench/run.ts. */
export interface BenchArgs {
  quick: boolean;
  full: boolean;
  gpu: boolean;
  numpy: boolean;
  filter?: string;
  json?: string;
  help: boolean;
}

/** Parses bench/run.ts's options; throws on an unknown one. */
export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const args: BenchArgs = { quick: false, full: false, gpu: false, numpy: true, help: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    switch (a) {
      case '--quick': args.quick = true; break;
      case '--full': args.full = true; break;
      case '--gpu': args.gpu = true; break;
      case '--no-numpy': args.numpy = false; break;
      case '--filter': args.filter = valueOf(argv, ++i, a); break;
      case '--json': args.json = valueOf(argv, ++i, a); break;
      case '-h': case '--help': args.help = true; break;
      default:
        if (a.startsWith('--filter=')) args.filter = a.slice('--filter='.length);
        else if (a.startsWith('--json=')) args.json = a.slice('--json='.length);
        else throw new Error(`unknown option '${a}' (try --help)`);
    }
  }
  return args;
}
