/**
 * Front-half costs: a cached call (pattern and shapes seen before) and a cold parse (caches cleared: lex,
 * parse, AST, IR, check). Run: npx tsx bench/parse.bench.ts  — prints a markdown table.
 * Goal: a cached call under 2 µs.
 */
import { checkEinops, checkEinsum, checkPack, clearFrontendCaches, parseShape } from '../src/ir/index.js';

interface Row {
  readonly name: string;
  readonly run: () => unknown;
}

const CASES: readonly Row[] = [
  { name: "einsum 'bij,bjk->bik'", run: () => checkEinsum('bij,bjk->bik', [[8, 32, 64], [8, 64, 16]]) },
  { name: "einsum 'b h q d, b h k d -> b h q k'", run: () => checkEinsum('b h q d, b h k d -> b h q k', [[2, 8, 128, 64], [2, 8, 128, 64]]) },
  { name: "einsum '...ij,...jk->...ik'", run: () => checkEinsum('...ij,...jk->...ik', [[4, 2, 3, 4], [4, 2, 4, 5]]) },
  { name: "rearrange 'b c (h h2) (w w2) -> b (c h2 w2) h w'", run: () => checkEinops('rearrange', 'b c (h h2) (w w2) -> b (c h2 w2) h w', [2, 3, 8, 8], { h2: 2, w2: 2 }) },
  { name: "reduce 'b c h w -> b c' mean", run: () => checkEinops('reduce', 'b c h w -> b c', [8, 64, 32, 32], {}, 'mean') },
  { name: "repeat 'h w -> h w c' {c: 3}", run: () => checkEinops('repeat', 'h w -> h w c', [32, 32], { c: 3 }) },
  { name: "pack 'b * c'", run: () => checkPack('b * c', [[2, 3, 4], [2, 5, 4]]) },
  { name: "parseShape 'b c _ _'", run: () => parseShape('b c _ _', [2, 3, 4, 5]) },
];

/** Median over `rounds` of the mean time per call of `iterations` calls, in microseconds. */
function measure(f: () => void, iterations: number, rounds = 7): number {
  for (let i = 0; i < Math.min(iterations, 2000); i++) f();
  const means: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    for (let i = 0; i < iterations; i++) f();
    means.push(((performance.now() - t0) * 1000) / iterations);
  }
  means.sort((a, b) => a - b);
  return means[Math.floor(means.length / 2)]!;
}

const rows: string[] = ['| call | cached (µs/call) | cold parse (µs/call) |', '| --- | ---: | ---: |'];
for (const c of CASES) {
  const cached = measure(() => void c.run(), 200_000);
  const cold = measure(() => {
    clearFrontendCaches();
    c.run();
  }, 2_000);
  rows.push(`| ${c.name.replace(/\|/g, '\\|')} | ${cached.toFixed(2)} | ${cold.toFixed(1)} |`);
}
console.log(rows.join('\n'));
