/**
 * One dtype policy for every GEMM (src/runtime/gemm.ts): a float16 product runs in float32 and rounds once to
 * float16, as PyTorch's matmul/bmm do. matmul always took that route; a float16 einsum step used to run as a
 * loop nest instead, and now launches the same float32 GEMM. Expected values are float64 sums rounded once.
 */
import { Float16Array, f16round } from '@petamoriken/float16';
import { describe, expect, it } from 'vitest';
import { einsum, fromArray, matmul } from '../../src/index.js';
import { captureKernels } from '../../src/runtime/recording.js';
import type { Tensor } from '../../src/index.js';

const K = 4096;

/** A [4, K] of ones, and a [K, 3] whose columns stall, overflow and round a float16 accumulator. */
function operands(): { a: Float16Array; b: Float16Array } {
  const a = new Float16Array(4 * K).fill(1);
  const b = new Float16Array(K * 3);
  let seed = 7;
  for (let k = 0; k < K; k++) {
    b[k * 3] = 1; // Σ = 4096: a float16 sum stops at 2048 (2048 + 1 rounds back to 2048)
    b[k * 3 + 1] = k % 4 < 2 ? 40000 : -40000; // Σ = 0, but partial sums of 80000 overflow float16 (max 65504)
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    b[k * 3 + 2] = seed / 2 ** 30 - 1;
  }
  return { a, b };
}

/** float64 A·B rounded once to float16. */
function oracle(a: Float16Array, b: Float16Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 3; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a[i * K + k]! * b[k * 3 + j]!;
      out.push(f16round(s));
    }
  }
  return out;
}

/** One float16 ulp at x (10 stored mantissa bits). */
function ulp(x: number): number {
  return Math.abs(x) < 2 ** -14 ? 2 ** -24 : 2 ** (Math.floor(Math.log2(Math.abs(x))) - 10);
}

describe('float16 products accumulate in float32 and round once', () => {
  const { a, b } = operands();
  const want = oracle(a, b);
  const A = fromArray(a, [4, K]);
  const B = fromArray(b, [K, 3]);
  const products: [string, () => Tensor][] = [
    ['matmul', () => matmul(A, B)],
    ['einsum', () => einsum('ij,jk->ik', A, B)],
    ['einsum, transposed operand', () => einsum('ij,kj->ik', A, fromArray(b, [K, 3]).t().contiguous())],
  ];
  for (const [name, run] of products) {
    it(`${name}: float64 sums rounded once to float16, through a float32 GEMM`, () => {
      const { result, specs } = captureKernels('cpu', run);
      expect(result.dtype).toBe('float16');
      const got = Array.from(result.dataSync());
      expect(got.slice(0, 2)).toEqual([4096, 0]);
      got.forEach((v, i) => expect(Math.abs(v - want[i]!), `element ${i}`).toBeLessThanOrEqual(ulp(want[i]!)));
      const gemms = specs.filter((s) => s.kind === 'gemm');
      expect(gemms.map((s) => s.dtype)).toEqual(['float32']);
    });
  }
});
