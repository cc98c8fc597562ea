/**
 * Every case calls its jitted function at least twice: the first call traces and returns eager results, the
 * later ones replay the fused schedule under test.
 *
 * A small map read by two or three loops (softmax's `exp(x - max)`, layer norm's `x - mean`) is recomputed in
 * each reader instead of written and read back (src/jit/fuse.ts, duplicateIntoReaders). The bug classes: a
 * reader recomputing the map from an input that was overwritten after the map ran, a reader that could not absorb
 * it while the others did (the buffer then read unwritten), and a changed result. Each case runs jitted and
 * eager, against a float64 loop written here, and counts the launches.
 */
import { describe, expect, it } from 'vitest';
import { jit, nn, noGrad, tensor, type Device, type Tensor } from '../../src/index.js';
import { DEVICES } from '../helpers/devices.js';
import { prng } from '../helpers/random.js';

const rows = 6;
const cols = 10;

function data(seed: number, n = rows * cols): number[] {
  const r = prng(seed);
  return Array.from({ length: n }, () => Math.fround(r() * 6 - 3));
}

/** Row-wise float64 softmax and layer norm (no affine), as PyTorch defines them. */
function softmaxRef(x: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < rows; i++) {
    const row = x.slice(i * cols, (i + 1) * cols);
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    out.push(...e.map((v) => v / s));
  }
  return out;
}

function layerNormRef(x: readonly number[], eps = 1e-5): number[] {
  const out: number[] = [];
  for (let i = 0; i < rows; i++) {
    const row = x.slice(i * cols, (i + 1) * cols);
    const mean = row.reduce((a, b) => a + b, 0) / cols;
    const v = row.reduce((a, b) => a + (b - mean) ** 2, 0) / cols;
    out.push(...row.map((x0) => (x0 - mean) / Math.sqrt(v + eps)));
  }
  return out;
}

async function close(got: Tensor, want: readonly number[], tol = 2e-6): Promise<void> {
  const g = Array.from(await got.data() as Float32Array);
  expect(g.length).toBe(want.length);
  g.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThanOrEqual(tol * (1 + Math.abs(want[i]!))));
}

describe.each(DEVICES)('maps recomputed in their readers (%s)', (device: Device) => {
  const input = (seed: number): Tensor => tensor(data(seed), { shape: [rows, cols], device });

  it('layer norm: x - mean is recomputed by the variance and the normalisation, which then take the mean and the variance as row values: one loop', async () => {
    const f = jit((x: Tensor) => nn.functional.layerNorm(x, [cols]));
    for (const seed of [1, 2]) {
      const x = input(seed);
      await close(noGrad(() => f(x) as Tensor), layerNormRef(data(seed)));
      await close(noGrad(() => nn.functional.layerNorm(x, [cols])), layerNormRef(data(seed)));
    }
    expect(f.stats()!.launches).toBe(1);
    expect(f.stats()!.eagerLaunches).toBeGreaterThan(3);
  });

  it('softmax: exp(x - max) recomputed by the sum and the division on a GPU (one loop); on the CPU, where exp costs more than a load, written once (two)', async () => {
    const f = jit((x: Tensor) => x.softmax(-1));
    for (const seed of [3, 4]) await close(noGrad(() => f(input(seed)) as Tensor), softmaxRef(data(seed)));
    expect(f.stats()!.launches).toBe(device === 'cpu' ? 2 : 1);
  });

  it('a cheap map read by two returned reductions is recomputed in both, one kernel (a stored row value), its buffer never written', async () => {
    const f = jit((x: Tensor) => {
      const y = x.mul(2).sub(1);
      return [y.sum(-1), y.max(-1)] as const;
    });
    for (const seed of [6, 7]) {
      const x = data(seed);
      const [s, m] = noGrad(() => f(input(seed))) as unknown as [Tensor, Tensor];
      const wantSum: number[] = [];
      const wantMax: number[] = [];
      for (let i = 0; i < rows; i++) {
        const row = x.slice(i * cols, (i + 1) * cols).map((v) => 2 * v - 1);
        wantSum.push(row.reduce((a, b) => a + b, 0));
        wantMax.push(Math.max(...row));
      }
      await close(s, wantSum);
      await close(m, wantMax);
    }
    expect(f.stats()!.launches).toBe(1);
    expect(f.stats()!.intermediateBytesWithoutReuse).toBe(0);
  });

  it('a map read by a loop and by a matmul stays one kernel that both read', async () => {
    const w = tensor(data(9, cols * cols), { shape: [cols, cols], device });
    const f = jit((x: Tensor) => {
      const y = x.sub(x.mean(-1, true));
      return [y.mul(y).sum(-1), y.matmul(w)] as const;
    });
    // The first call traces (and returns eager results); the second replays the fused schedule.
    for (const seed of [5, 8]) {
      const x = data(seed);
      const [s, m] = noGrad(() => f(input(seed))) as unknown as [Tensor, Tensor];
      const y: number[] = [];
      for (let i = 0; i < rows; i++) {
        const row = x.slice(i * cols, (i + 1) * cols);
        const mean = row.reduce((a, b) => a + b, 0) / cols;
        y.push(...row.map((v) => v - mean));
      }
      const sum: number[] = [];
      const prod: number[] = [];
      const W = data(9, cols * cols);
      for (let i = 0; i < rows; i++) {
        sum.push(y.slice(i * cols, (i + 1) * cols).reduce((a, b) => a + b * b, 0));
        for (let j = 0; j < cols; j++) {
          let acc = 0;
          for (let k = 0; k < cols; k++) acc += y[i * cols + k]! * W[k * cols + j]!;
          prod.push(acc);
        }
      }
      await close(s, sum, 1e-5);
      await close(m, prod, 1e-5);
    }
    const explain = f.explain();
    // The map of x - mean has a launch of its own (it is written once, read by both).
    expect(explain).toMatch(/\bsub\b/);
  });

  it('a map one of whose loop readers cannot absorb it (a reversed read) stays one kernel for all of them', async () => {
    const f = jit((x: Tensor) => {
      const y = x.sub(x.mean(-1, true));
      return [y.mul(y).sum(-1), y.flip(-1).mul(3)] as const;
    });
    for (const seed of [11, 12]) {
      const x = data(seed);
      const [s, r] = noGrad(() => f(input(seed))) as unknown as [Tensor, Tensor];
      const sums: number[] = [];
      const flipped: number[] = [];
      for (let i = 0; i < rows; i++) {
        const row = x.slice(i * cols, (i + 1) * cols);
        const mean = row.reduce((a, b) => a + b, 0) / cols;
        const y = row.map((v) => v - mean);
        sums.push(y.reduce((a, b) => a + b * b, 0));
        flipped.push(...y.reverse().map((v) => 3 * v));
      }
      await close(s, sums, 1e-5);
      await close(r, flipped, 1e-5);
    }
  });

  it('a reader after an in-place write to the map\'s input reads the value the map had, not a recomputation', async () => {
    const f = jit((x: Tensor, buf: Tensor) => {
      const y = buf.mul(2).add(x);
      const before = y.sum(-1);
      buf.add_(100);
      const after = y.max(-1);
      return [before, after] as const;
    });
    {
      for (const seed of [6, 7]) {
        const x = data(seed);
        const b = data(seed + 10);
        const [s, m] = noGrad(() => f(input(seed), tensor(b, { shape: [rows, cols], device }))) as unknown as [Tensor, Tensor];
        const y = x.map((v, i) => Math.fround(Math.fround(2 * b[i]!) + v));
        const sums: number[] = [];
        const maxes: number[] = [];
        for (let i = 0; i < rows; i++) {
          const row = y.slice(i * cols, (i + 1) * cols);
          sums.push(row.reduce((p, q) => p + q, 0));
          maxes.push(Math.max(...row));
        }
        await close(s, sums, 1e-5);
        await close(m, maxes, 0);
      }
    }
  });
});
