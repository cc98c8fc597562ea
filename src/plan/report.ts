/** A plan printed the way numpy.einsum_path prints one. */

import type { Contraction } from './index.js';
import type { ContractionPlan } from './types.js';

/** 12345 → '1.235e+04' (numpy's format: three decimals, a signed two-digit exponent). */
function formatScientific(x: number): string {
  const [mant, exp] = x.toExponential(3).split('e');
  const e = Number(exp);
  return `${mant}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
}

/**
 * A count in numpy's format, from its log10 where the double overflows (the costs of networks of hundreds of
 * tensors pass 10^308; numpy and opt_einsum print Python integers there).
 */
function formatCount(x: number, log10: number): string {
  if (Number.isFinite(x)) return formatScientific(x);
  let e = Math.floor(log10);
  let mant = (10 ** (log10 - e)).toFixed(3);
  if (mant === '10.000') {
    mant = '1.000';
    e++;
  }
  return `${mant}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
}

function log10Size(ids: readonly number[], sizes: readonly number[]): number {
  return ids.reduce((s, i) => s + Math.log10(sizes[i] ?? 1), 0);
}

function term(ids: readonly number[], labels: readonly string[] = []): string {
  return ids.map((i) => labels[i] ?? `(${i})`).join('');
}

/**
 * The report: the complete contraction, naive and optimised scaling and FLOP counts, the theoretical speed-up,
 * the largest intermediate, then one row per step with its scaling (distinct indices touched), the step as an
 * einsum, and the operands that remain after it. `contraction.labels[id]` names axis id `id` (else `(id)`).
 */
export function formatReport(plan: ContractionPlan, contraction: Contraction): string {
  const { inputs, output, labels } = contraction;
  const all = new Set(inputs.flat());
  const optimizedScaling = Math.max(0, ...plan.steps.map((s) => new Set(s.inputs.flat()).size));
  const speedup = plan.cost > 0 ? plan.naiveCost / plan.cost : 1;
  const logSpeedup = plan.log10NaiveCost - plan.log10Cost;
  const largestLog10 = Math.max(0, ...plan.steps.map((s) => log10Size(s.result, contraction.sizes)));
  const outTerm = term(output, labels);
  const head = [
    `  Complete contraction:  ${inputs.map((t) => term(t, labels)).join(',')}->${outTerm}`,
    `         Naive scaling:  ${all.size}`,
    `     Optimized scaling:  ${optimizedScaling}`,
    `      Naive FLOP count:  ${formatCount(plan.naiveCost, plan.log10NaiveCost)}`,
    `  Optimized FLOP count:  ${formatCount(plan.cost, plan.log10Cost)}`,
    `   Theoretical speedup:  ${Number.isFinite(speedup) ? speedup.toFixed(3) : formatCount(Infinity, logSpeedup)}`,
    `  Largest intermediate:  ${formatCount(plan.largestIntermediate, largestLog10)} elements`,
    `             Optimizer:  ${plan.optimizer}`,
  ];
  const rows: string[][] = [];
  const remaining: string[] = inputs.map((t) => term(t, labels));
  for (const step of plan.steps) {
    const current = `${step.inputs.map((t) => term(t, labels)).join(',')}->${term(step.result, labels)}`;
    for (const p of [...step.operands].sort((a, b) => b - a)) remaining.splice(p, 1);
    remaining.push(term(step.result, labels));
    const scaling = new Set(step.inputs.flat()).size;
    rows.push([String(scaling), current, `${remaining.join(',')}->${outTerm}`]);
  }
  const w1 = Math.max(7, ...rows.map((r) => r[1]!.length)) + 2;
  const rule = '-'.repeat(Math.max(74, 10 + w1 + Math.max(9, ...rows.map((r) => r[2]!.length))));
  const table = [
    rule,
    `${'scaling'.padEnd(10)}${'current'.padEnd(w1)}remaining`,
    rule,
    ...rows.map((r) => `${r[0]!.padStart(4).padEnd(10)}${r[1]!.padEnd(w1)}${r[2]!}`),
  ];
  return [...head, ...table, ...trialRows(plan)].join('\n');
}

/** hyper's trials, one row each: method, sampled parameters, objective value, time. */
function trialRows(plan: ContractionPlan): string[] {
  if (plan.trials === undefined) return [];
  const rows = plan.trials.map((t, i) => {
    const params = Object.entries(t.params).map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toPrecision(3)}`).join(' ');
    return `${String(i).padStart(4)}  ${t.method.padEnd(14)}${formatCount(t.cost, t.log10Cost).padEnd(12)}${t.ms.toFixed(1).padStart(8)} ms  ${params}`;
  });
  return ['', `Hyper trials (${plan.trials.length}):`, `   #  ${'method'.padEnd(14)}${'cost'.padEnd(12)}${'time'.padStart(11)}  parameters`, ...rows];
}
