/**
 * The register-only peak of one core for 128-bit WebAssembly SIMD: twelve independent f32x4 chains
 * `acc = acc·a + b`, once as `f32x4.mul` then `f32x4.add` and once as relaxed SIMD's `f32x4.relaxed_madd` (fused
 * where the engine chooses, as V8 does on x86 with FMA). No memory is touched in the loop, so the figure is the
 * ceiling of any GEMM micro-kernel built from that instruction. Whether the fused kernel can be faster than the
 * mul+add one depends on the CPU: where multiplies and adds issue to separate pipes (AMD Zen), a mul+add pair costs
 * what an FMA costs; where the same ports run all three (Intel), an FMA does the work of two instructions.
 *
 *   node --experimental-wasm-relaxed-simd --import tsx bench/simd-peak.bench.ts   # both (Node 20)
 *   npx tsx bench/simd-peak.bench.ts                                             # mul+add only where relaxed SIMD is off
 */

import { cpus, loadavg } from 'node:os';

import { wasmApi } from '../kernels/cpu/wasm/api.js';
import { buildModule, FunctionBuilder, ValType } from '../kernels/cpu/wasm/emit.js';
import { relaxedSimdAvailable } from '../src/platform/index.js';

const CHAINS = 12;
const ITERATIONS = 1 << 22;

/** `peak(n, p)`: a at p, b at p + 16, the chains at p + 32...; n rounds of every chain, chains stored back. */
function kernel(fused: boolean): { run: (n: number, p: number) => void; values: Float32Array } {
  const f = new FunctionBuilder('peak', [{ name: 'n', type: ValType.I32 }, { name: 'p', type: ValType.I32 }]);
  f.local('a', ValType.V128);
  f.local('b', ValType.V128);
  for (let j = 0; j < CHAINS; j++) f.local(`c${j}`, ValType.V128);
  f.get('p').simd('v128.load', { offset: 0, alignLog2: 4 }).set('a');
  f.get('p').simd('v128.load', { offset: 16, alignLog2: 4 }).set('b');
  for (let j = 0; j < CHAINS; j++) f.get('p').simd('v128.load', { offset: 32 + 16 * j, alignLog2: 4 }).set(`c${j}`);
  f.open('block', 'done').open('loop', 'round');
  f.get('n').op('i32.eqz').brIf(1, 'done');
  for (let j = 0; j < CHAINS; j++) {
    if (fused) f.get(`c${j}`).get('a').get('b').simd('f32x4.relaxed_madd').set(`c${j}`);
    else f.get(`c${j}`).get('a').simd('f32x4.mul').get('b').simd('f32x4.add').set(`c${j}`);
  }
  f.get('n').i32(1).op('i32.sub').set('n');
  f.br(0, 'round').end().end();
  for (let j = 0; j < CHAINS; j++) f.get('p').get(`c${j}`).simd('v128.store', { offset: 32 + 16 * j, alignLog2: 4 });
  if (wasmApi === undefined) throw new Error('no WebAssembly here');
  const memory = new wasmApi.Memory({ initial: 1, maximum: 1 });
  const { bytes } = buildModule({ module: 'env', name: 'mem', minPages: 1, maxPages: 1, shared: false }, [f]);
  const instance = new wasmApi.Instance(new wasmApi.Module(bytes), { env: { mem: memory } });
  const values = new Float32Array(memory.buffer, 0, 4 * (2 + CHAINS));
  values.fill(0.5);
  values.fill(0.999, 0, 4);
  values.fill(1e-3, 4, 8);
  return { run: instance.exports.peak as (n: number, p: number) => void, values };
}

/**
 * Whether relaxed_madd rounds once here: (1 + 2⁻¹²)² - (1 + 2⁻¹¹) is 2⁻²⁴ exactly, and 0 when the product is
 * rounded to float32 first (its 2⁻²⁴ is half an ulp, and the tie goes to the even 1 + 2⁻¹¹).
 */
function roundsOnce(): boolean {
  const k = kernel(true);
  const x = 1 + 2 ** -12;
  k.values.fill(x, 0, 4);
  k.values.fill(-(1 + 2 ** -11), 4, 8);
  k.values.fill(x, 8);
  k.run(1, 0);
  return k.values[8] === 2 ** -24;
}

/** GFLOP/s of the best of `reps` runs (each chain step is 4 lanes × 2 flops). */
function measure({ run }: { run: (n: number, p: number) => void }, reps: number): number {
  run(ITERATIONS >> 4, 0);
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    run(ITERATIONS, 0);
    best = Math.min(best, performance.now() - t0);
  }
  return (ITERATIONS * CHAINS * 8) / (best * 1e6);
}

const reps = process.argv.includes('--quick') ? 5 : 15;
const cpu = cpus()[0]?.model ?? 'unknown CPU';
console.log(`# WebAssembly SIMD register-only peak, one thread — ${new Date().toISOString()}`);
console.log(`${cpu}, ${cpus().length} logical cores; Node ${process.version}; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}; best of ${reps}`);
const mulAdd = measure(kernel(false), reps);
console.log(`f32x4.mul + f32x4.add:   ${mulAdd.toFixed(1)} GFLOP/s`);
if (relaxedSimdAvailable()) {
  const fma = measure(kernel(true), reps);
  console.log(`f32x4.relaxed_madd:      ${fma.toFixed(1)} GFLOP/s (${(fma / mulAdd).toFixed(2)}× mul + add; ${roundsOnce() ? 'fused: rounds once' : 'not fused here: rounds twice'})`);
} else {
  console.log('f32x4.relaxed_madd: relaxed SIMD does not validate here (Node 20: run node with --experimental-wasm-relaxed-simd)');
}
