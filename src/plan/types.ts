/**
 * Public and internal types of the contraction planner.
 *
 * An einsum reaches the planner already checked: each operand is a list of numeric axis ids, the output is a
 * list of axis ids, and `sizes[id]` is the extent of axis `id` (size-1 broadcasts already resolved). A plan is a
 * list of named step records; nothing is read by position.
 */

import type { PathSpec } from './interop.js';

/** One contraction step of a plan. */
export interface PairwiseStep {
  /**
   * Positions in the current operand list (opt_einsum's linear format: the operands are removed and the result
   * is appended at the end). One or two entries; more only when a memory limit forces a k-way step.
   */
  readonly operands: readonly number[];
  /** Axis ids of each operand of the step, in the order of `operands`. */
  readonly inputs: readonly (readonly number[])[];
  /** Axis ids of the step's result in the order it is laid out (the last step's result is in output order). */
  readonly result: readonly number[];
  /** Axis ids summed away in this step. */
  readonly removed: readonly number[];
  /** Cost of this step under opt_einsum's flop convention (see docs/planner.md). */
  readonly flops: number;
  /** Elements of the step's result. */
  readonly resultSize: number;
}

/** A complete plan: its steps, the same path in linear format, and the totals. */
export interface ContractionPlan {
  readonly steps: readonly PairwiseStep[];
  readonly path: readonly (readonly number[])[];
  /** Sum of the steps' flops (Infinity when it passes 1.8·10^308; `log10Cost` holds it then). */
  readonly cost: number;
  /** log10 of `cost`, summed without overflow: what compares plans of very large networks. */
  readonly log10Cost: number;
  /** Cost of doing the whole einsum as one loop nest (opt_einsum's naive count). */
  readonly naiveCost: number;
  /** log10 of `naiveCost`, finite where `naiveCost` overflows. */
  readonly log10NaiveCost: number;
  /** Largest step result in elements (1 when there are no steps). */
  readonly largestIntermediate: number;
  /** Elements written over all steps (the sum of the results' sizes). */
  readonly memoryWritten: number;
  /** The algorithm that produced the path; `auto` names the one it chose, e.g. 'auto:optimal'. */
  readonly optimizer: string;
  /** What `hyper` tried, in order (absent for the other algorithms). */
  readonly trials?: readonly HyperTrial[];
}

/** One trial of the `hyper` search: the method, its sampled parameters, the objective value found, its time. */
export interface HyperTrial {
  readonly method: string;
  readonly params: Readonly<Record<string, number>>;
  /** The objective's value (Infinity past 1.8·10^308). */
  readonly cost: number;
  /** log10 of `cost`, finite where `cost` overflows. */
  readonly log10Cost: number;
  readonly ms: number;
}

/** What a search minimises. 'flops' is the reported cost; 'size' the largest intermediate; 'write' the memory
 * written; 'combo' flops + 64 × write (cotengra's default mix). */
export type Objective = 'flops' | 'size' | 'write' | 'combo';

/** A path in opt_einsum's linear format: each entry lists positions into the current operand list. */
export type LinearPath = readonly (readonly number[])[];

export interface PlanOptions {
  /**
   * An algorithm name from the registry (default 'auto'), or an explicit path: a linear path (opt_einsum's and
   * numpy's format, also as numpy's `['einsum_path', [0, 1], ...]`), `{ tree }` (a JSON contraction tree),
   * `{ ssaPath }` or `{ path }`. See src/plan/interop.ts.
   */
  readonly optimize?: string | LinearPath | readonly ['einsum_path', ...(readonly number[])[]] | PathSpec;
  /** No step may create an intermediate larger than this many elements ('max_input': the largest input). */
  readonly memoryLimit?: 'max_input' | number;
  /** Wall-clock budget of the search in milliseconds. */
  readonly timeBudgetMs?: number;
  /** Seed of the randomised searches (random-greedy, auto's restarts, hyper's sampling). */
  readonly seed?: number;
  /** Objective of dp (default 'flops'). */
  readonly minimize?: Objective;
  /** Number of random-greedy trials, and the most trials `hyper` runs (default 32). */
  readonly trials?: number;
}

/** Options as every optimizer receives them: limits resolved, the deadline absolute. */
export interface OptimizerOptions {
  /** Element count; Infinity when unlimited. */
  readonly memoryLimit: number;
  /** `performance.now()` value after which the search must stop. */
  readonly deadline: number;
  readonly seed: number;
  readonly minimize: Objective;
  readonly trials: number;
  /** The caller's `timeBudgetMs` (Infinity when none): whether auto and hyper hold to the deadline strictly. */
  readonly callerBudgetMs: number;
}
