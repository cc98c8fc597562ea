/** Loads tests/conformance/paths.json and turns each case's index strings into numeric axis ids. */

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface RecordedRun {
  readonly status: string;
  readonly path?: number[][];
  readonly opt_cost?: number | string;
  readonly largest_intermediate?: number | string;
  readonly naive_cost?: number | string;
  readonly time_s?: number;
}

export interface PathCase {
  readonly id: string;
  readonly name: string;
  readonly category: string;
  readonly nOperands: number;
  /** Axis ids per operand (each character of the case's input strings is one index). */
  readonly inputs: number[][];
  readonly output: number[];
  /** Extent per axis id. */
  readonly sizes: number[];
  /** The character of each axis id. */
  readonly labels: string[];
  /** opt_einsum and numpy runs by algorithm name. */
  readonly runs: Map<string, RecordedRun>;
  readonly bestKnown: number;
  readonly bestKnownExact: bigint;
}

interface RawCase {
  id: string;
  name: string;
  category: string;
  n_operands: number;
  inputs: string[];
  output: string;
  size_dict: Record<string, number>;
  results: Record<string, RecordedRun>;
  numpy_einsum_path?: Record<string, RecordedRun | string>;
  best_known: { opt_cost: number | string };
}

const here = dirname(fileURLToPath(import.meta.url));
export const PATHS_JSON = join(here, '..', 'conformance', 'paths.json');

export function toBigInt(x: number | string): bigint {
  return BigInt(x);
}

export function loadPathCases(): PathCase[] {
  const data = JSON.parse(readFileSync(PATHS_JSON, 'utf8')) as { cases: RawCase[] };
  return data.cases.map((c) => {
    const ids = new Map<string, number>();
    const labels: string[] = [];
    const idOf = (ch: string): number => {
      let id = ids.get(ch);
      if (id === undefined) {
        id = labels.length;
        ids.set(ch, id);
        labels.push(ch);
      }
      return id;
    };
    const inputs = c.inputs.map((t) => Array.from(t).map(idOf));
    const output = Array.from(c.output).map(idOf);
    const sizes = labels.map((ch) => c.size_dict[ch] ?? 1);
    const runs = new Map<string, RecordedRun>(Object.entries(c.results));
    for (const [name, r] of Object.entries(c.numpy_einsum_path ?? {})) {
      if (typeof r === 'object' && r !== null) runs.set(name, r);
    }
    return {
      id: c.id,
      name: c.name,
      category: c.category,
      nOperands: c.n_operands,
      inputs,
      output,
      sizes,
      labels,
      runs,
      bestKnown: Number(c.best_known.opt_cost),
      bestKnownExact: BigInt(c.best_known.opt_cost),
    };
  });
}
