/**
 * A GEMM whose product only one map reads stores the map's values straight into the map's destination under jit
 * (gemm-store.ts), the map's expression as the GemmSpec's epilogue: random batched products
 * `btd,hde->(a permutation of bthe)`, then a random chain of scales, shifts and activations, then a permute made
 * contiguous or a copy into the middle of a zero-padded tensor, jitted and replayed on new values on every
 * device, against a float64 loop.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { einsum, jit, nn, tensor, type Device, type Tensor } from '../../src/index.js';
import { DEVICES } from '../helpers/devices.js';

interface Case {
  readonly sizes: { b: number; t: number; h: number; e: number; d: number };
  /** The einsum's output letters (a permutation of bthe). */
  readonly out: string;
  /** Elementwise ops applied to the product first. */
  readonly chain: readonly Step[];
  /** Then: a permutation made contiguous, or a copy into a tensor padded by `pad` on both ends of its last axis. */
  readonly after: { kind: 'permute'; perm: number[] } | { kind: 'pad'; pad: number };
}

type Step = { op: 'scale' | 'shift'; c: number } | { op: 'tanh' | 'relu' | 'sigmoid' | 'gelu' };

function erf(x: number): number {
  // Abramowitz-Stegun 7.1.26 is too coarse for 1e-5; integrate exp(-t²) by Simpson's rule instead.
  const n = 200;
  const h = x / n;
  let s = 1 + Math.exp(-x * x);
  for (let i = 1; i < n; i++) s += (i % 2 === 1 ? 4 : 2) * Math.exp(-((i * h) ** 2));
  return (2 / Math.sqrt(Math.PI)) * (h / 3) * s;
}

function stepF64(st: Step, v: number): number {
  switch (st.op) {
    case 'scale': return v * st.c;
    case 'shift': return v + st.c;
    case 'tanh': return Math.tanh(v);
    case 'relu': return Math.max(0, v);
    case 'sigmoid': return 1 / (1 + Math.exp(-v));
    case 'gelu': return 0.5 * v * (1 + erf(v / Math.SQRT2));
  }
}

function stepOf(st: Step, t: Tensor): Tensor {
  switch (st.op) {
    case 'scale': return t.mul(st.c);
    case 'shift': return t.add(st.c);
    case 'tanh': return t.tanh();
    case 'relu': return t.relu();
    case 'sigmoid': return t.sigmoid();
    case 'gelu': return t.gelu();
  }
}

function values(n: number, seed: number): number[] {
  return Array.from({ length: n }, (_, i) => ((((i + 1) * 7919 + seed * 104729) % 2003) / 1001) - 1);
}

/** Row-major strides of `shape`. */
function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
  return s;
}

/** The expected result in float64: the product at every (b, t, h, e), then moved where the case puts it. */
function reference(c: Case, x: readonly number[], w: readonly number[]): { shape: number[]; data: number[] } {
  const { b, t, h, e, d } = c.sizes;
  const size: Record<string, number> = { b, t, h, e };
  const outShape = [...c.out].map((ch) => size[ch]!);
  const prod = new Array<number>(b * t * h * e).fill(0);
  const os = strides(outShape);
  const at = (idx: Record<string, number>): number => [...c.out].reduce((s, ch, i) => s + idx[ch]! * os[i]!, 0);
  for (let ib = 0; ib < b; ib++) for (let it = 0; it < t; it++) for (let ih = 0; ih < h; ih++) for (let ie = 0; ie < e; ie++) {
    let acc = 0;
    for (let id = 0; id < d; id++) acc += x[(ib * t + it) * d + id]! * w[(ih * d + id) * e + ie]!;
    prod[at({ b: ib, t: it, h: ih, e: ie })] = c.chain.reduce((v, st) => stepF64(st, v), acc);
  }
  if (c.after.kind === 'permute') {
    const perm = c.after.perm;
    const shape = perm.map((p) => outShape[p]!);
    const ss = strides(shape);
    const data = new Array<number>(prod.length);
    prod.forEach((v, flat) => {
      const idx = os.map((s, i) => Math.floor(flat / s) % outShape[i]!);
      data[perm.reduce((sum, p, j) => sum + idx[p]! * ss[j]!, 0)] = v;
    });
    return { shape, data };
  }
  const pad = c.after.pad;
  const last = outShape[3]!;
  const shape = [...outShape.slice(0, 3), last + 2 * pad];
  const data: number[] = [];
  for (let r = 0; r < prod.length / last; r++) data.push(...new Array<number>(pad).fill(0), ...prod.slice(r * last, (r + 1) * last), ...new Array<number>(pad).fill(0));
  return { shape, data };
}

function program(c: Case): (x: Tensor, w: Tensor) => Tensor {
  return (x, w) => {
    const y = c.chain.reduce((t, st) => stepOf(st, t), einsum(`btd,hde->${c.out}`, x, w));
    return c.after.kind === 'permute' ? y.permute(c.after.perm).contiguous() : nn.functional.pad(y, [c.after.pad, c.after.pad]);
  };
}

const caseArb: fc.Arbitrary<Case> = fc.record({
  sizes: fc.record({ b: fc.integer({ min: 1, max: 3 }), t: fc.integer({ min: 1, max: 6 }), h: fc.integer({ min: 1, max: 3 }), e: fc.integer({ min: 1, max: 6 }), d: fc.integer({ min: 8, max: 24 }) }),
  out: fc.shuffledSubarray([...'bthe'], { minLength: 4, maxLength: 4 }).map((a) => a.join('')),
  chain: fc.array(fc.oneof(
    fc.record({ op: fc.constantFrom('scale' as const, 'shift' as const), c: fc.double({ min: -2, max: 2, noNaN: true }) }),
    fc.record({ op: fc.constantFrom('tanh' as const, 'relu' as const, 'sigmoid' as const, 'gelu' as const) }),
  ), { maxLength: 3 }),
  after: fc.oneof(
    fc.shuffledSubarray([0, 1, 2, 3], { minLength: 4, maxLength: 4 }).map((perm) => ({ kind: 'permute' as const, perm })),
    fc.integer({ min: 1, max: 2 }).map((pad) => ({ kind: 'pad' as const, pad })),
  ),
});

describe.each(DEVICES)('GEMM stores redirected into a copy on %s', (device: Device) => {
  const run = async (c: Case): Promise<{ got: number[]; shape: readonly number[]; want: { shape: number[]; data: number[] }; f: ReturnType<typeof jit> }> => {
    const { b, t, h, e, d } = c.sizes;
    const f = jit(program(c));
    f(tensor(values(b * t * d, 1), { device }).reshape([b, t, d]), tensor(values(h * d * e, 2), { device }).reshape([h, d, e]));
    const [x, w] = [values(b * t * d, 3), values(h * d * e, 4)];
    const out = f(tensor(x, { device }).reshape([b, t, d]), tensor(w, { device }).reshape([h, d, e])) as Tensor;
    return { got: Array.from(await out.data(), Number), shape: out.shape, want: reference(c, x, w), f };
  };

  it('the multi-head projection bthe->bhte: one launch instead of the GEMM and its copy', async () => {
    const c: Case = { sizes: { b: 2, t: 16, h: 2, e: 8, d: 16 }, out: 'bthe', chain: [], after: { kind: 'permute', perm: [0, 2, 1, 3] } };
    const r = await run(c);
    expect(r.shape).toEqual(r.want.shape);
    r.got.forEach((v, i) => expect(Math.abs(v - r.want.data[i]!)).toBeLessThan(1e-5 * (1 + Math.abs(r.want.data[i]!))));
    expect(r.f.stats()).toMatchObject({ eagerLaunches: 2, launches: 1 });
    expect(r.f.stats()!.intermediateBytesWithoutReuse).toBe(0);
  });

  it('a scaled product then GELU, made contiguous after a permute: one launch, the epilogue in the GEMM', async () => {
    const c: Case = {
      sizes: { b: 2, t: 16, h: 2, e: 8, d: 16 }, out: 'bhte', chain: [{ op: 'scale', c: 0.25 }, { op: 'gelu' }],
      after: { kind: 'permute', perm: [0, 2, 1, 3] },
    };
    const r = await run(c);
    r.got.forEach((v, i) => expect(Math.abs(v - r.want.data[i]!)).toBeLessThan(1e-5 * (1 + Math.abs(r.want.data[i]!))));
    // Eager: the GEMM, einsum's bthe->bhte copy, the scale, GELU and the contiguous copy.
    expect(r.f.stats()).toMatchObject({ eagerLaunches: 5, launches: 1 });
    expect(r.f.source()).toMatch(device === 'cpu' ? /epilogue: applied as each packed block of C is stored/ : /epilogue constant 0/);
  });

  it('property: random products, activations, permutes and padded copies replay with the float64 values', async () => {
    await fc.assert(fc.asyncProperty(caseArb, async (c) => {
      const r = await run(c);
      expect(r.shape).toEqual(r.want.shape);
      r.got.forEach((v, i) => {
        if (!(Math.abs(v - r.want.data[i]!) <= 1e-5 * (1 + Math.abs(r.want.data[i]!)) * c.sizes.d)) throw new Error(`element ${i}: ${v} vs ${r.want.data[i]}`);
      });
      const s = r.f.stats()!;
      expect(s.launches).toBeLessThanOrEqual(s.eagerLaunches);
    }), { numRuns: device === 'cpu' ? 60 : 20 });
  });
});
