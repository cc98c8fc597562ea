/**
 * The Tensor methods PyTorch users expect (src/runtime/composite.ts, plus clip and the einsum/outer methods), on
 * every device under test. Each value is checked against a plain float64 loop written here; sort and topk
 * against a stable sort of (value, index) pairs, ties and NaN included. Errors are EinjitErrors naming the op,
 * with a hint; index ranges are checked on a GPU too (at the next read). Gradients by gradcheck in float64.
 */
import { describe, expect, it } from 'vitest';
import { EinjitError, tensor, type Device, type Tensor } from '../../src/index.js';
import { DEVICES } from '../helpers/devices.js';
import { multiIndices, prng } from '../helpers/random.js';
import { gradcheck, randomTensor } from '../autograd/gradcheck.js';

// -------------------------------------------------------------------------------------------------------------
// The oracle: row-major float64 arrays and plain loops over them

interface Arr { readonly data: number[]; readonly shape: number[] }

const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

function offsetOf(idx: readonly number[], shape: readonly number[]): number {
  let o = 0;
  for (let d = 0; d < shape.length; d++) o = o * shape[d]! + idx[d]!;
  return o;
}

/** Values rounded to float32 (what a float32 tensor holds), uniform in [lo, hi), or integers in [lo, hi) when `ints`. */
function randomArr(shape: number[], seed: number, lo = -2, hi = 2, ints = false): Arr {
  const next = prng(seed);
  const data = Array.from({ length: sizeOf(shape) }, () => (ints ? Math.floor(lo + (hi - lo) * next()) : Math.fround(lo + (hi - lo) * next())));
  return { data, shape };
}

/** Applies `fn` to every 1-D fiber along dim d; the fibers of the result have length `outLen`. */
function mapFibers(a: Arr, d: number, outLen: number, fn: (fiber: number[]) => number[]): Arr {
  const outShape = a.shape.map((n, k) => (k === d ? outLen : n));
  const out = new Array<number>(sizeOf(outShape)).fill(0);
  for (const idx of multiIndices(a.shape.map((n, k) => (k === d ? 1 : n)))) {
    const at = (shape: readonly number[], i: number): number => offsetOf(idx.map((v, k) => (k === d ? i : v)), shape);
    const fiber = Array.from({ length: a.shape[d]! }, (_, i) => a.data[at(a.shape, i)]!);
    fn(fiber).forEach((v, i) => { out[at(outShape, i)] = v; });
  }
  return { data: out, shape: outShape };
}

/** Folds the values of `dims` (every dim when undefined) into one number per kept position. */
function reduceArr(a: Arr, dims: readonly number[] | undefined, keepdim: boolean, fold: (values: number[]) => number): Arr {
  const all = dims ?? a.shape.map((_, k) => k);
  const keptShape = a.shape.map((n, k) => (all.includes(k) ? 1 : n));
  const groups = Array.from({ length: sizeOf(keptShape) }, () => [] as number[]);
  multiIndices(a.shape).forEach((idx, flat) => {
    groups[offsetOf(idx.map((v, k) => (all.includes(k) ? 0 : v)), keptShape)]!.push(a.data[flat]!);
  });
  const shape = keepdim ? keptShape : a.shape.filter((_, k) => !all.includes(k));
  return { data: groups.map(fold), shape };
}

/** Stable order of a fiber; NaN above every number (PyTorch's rule). */
function stableOrder(fiber: readonly number[], descending: boolean): number[] {
  const key = (v: number): number => (Number.isNaN(v) ? Infinity : v);
  const cmp = (i: number, j: number): number => {
    const [a, b] = [fiber[i]!, fiber[j]!];
    if (Number.isNaN(a) !== Number.isNaN(b)) return (Number.isNaN(a) ? 1 : -1) * (descending ? -1 : 1);
    const c = key(a) === key(b) ? 0 : key(a) < key(b) ? -1 : 1;
    return (descending ? -c : c) || i - j;
  };
  return fiber.map((_, i) => i).sort(cmp);
}

// -------------------------------------------------------------------------------------------------------------
// Tensors on a device, and comparisons

const onDevice = (a: Arr, device: Device): Tensor => tensor(Float32Array.from(a.data), { shape: a.shape, device });
const intsOn = (a: Arr, device: Device): Tensor => tensor(Int32Array.from(a.data), { shape: a.shape, device });
const read = async (t: Tensor): Promise<number[]> => Array.from(await t.data(), Number);

async function expectArr(t: Tensor, want: Arr, tol = 1e-5): Promise<void> {
  expect(t.shape).toEqual(want.shape);
  const got = await read(t);
  expect(got.length).toBe(want.data.length);
  got.forEach((v, i) => {
    const w = want.data[i]!;
    if (Number.isNaN(w) || !Number.isFinite(w)) expect(v, `element ${i}`).toBe(w);
    else expect(Math.abs(v - w), `element ${i}: got ${v}, want ${w}`).toBeLessThanOrEqual(tol * (1 + Math.abs(w)));
  });
}

/** The EinjitError `make` throws, from the call (cpu) or from the next read (a deferred check on a GPU). */
async function errorOf(make: () => Tensor | readonly Tensor[]): Promise<EinjitError> {
  try {
    const r = make();
    for (const t of Array.isArray(r) ? r : [r as Tensor]) await t.data();
  } catch (e) {
    expect(e).toBeInstanceOf(EinjitError);
    return e as EinjitError;
  }
  throw new Error('expected an EinjitError');
}

async function expectRefused(make: () => Tensor | readonly Tensor[], op: string, message: RegExp): Promise<void> {
  const e = await errorOf(make);
  expect(e.op).toBe(op);
  expect(e.message).toMatch(message);
  expect(e.hint, `hint of "${e.message}"`).toBeTruthy();
}

const X = randomArr([3, 4, 5], 1);

describe.each(DEVICES)('PyTorch methods on %s', (device: Device) => {
  const x = onDevice(X, device);

  describe('softmax, logSoftmax', () => {
    const softmaxRef = (f: number[]): number[] => {
      const m = Math.max(...f);
      const e = f.map((v) => Math.exp(v - m));
      const s = e.reduce((a, b) => a + b, 0);
      return e.map((v) => v / s);
    };
    const logSoftmaxRef = (f: number[]): number[] => {
      const m = Math.max(...f);
      const l = Math.log(f.reduce((a, v) => a + Math.exp(v - m), 0));
      return f.map((v) => v - m - l);
    };

    it('matches the loop along every dim, negative dims included', async () => {
      for (const dim of [0, 1, 2, -1, -3]) {
        const d = (dim + 3) % 3;
        await expectArr(x.softmax(dim), mapFibers(X, d, X.shape[d]!, softmaxRef));
        await expectArr(x.logSoftmax(dim), mapFibers(X, d, X.shape[d]!, logSoftmaxRef));
      }
      await expectArr(x.softmax(), mapFibers(X, 2, 5, softmaxRef));
    });

    it('stays finite for large values, and handles size-1, empty and 0-d inputs', async () => {
      const big: Arr = { data: [1000, 999, -1000, 0], shape: [4] };
      await expectArr(onDevice(big, device).softmax(0), mapFibers(big, 0, 4, softmaxRef));
      await expectArr(onDevice(big, device).logSoftmax(0), mapFibers(big, 0, 4, logSoftmaxRef));
      await expectArr(onDevice({ data: [3, 4], shape: [2, 1] }, device).softmax(1), { data: [1, 1], shape: [2, 1] });
      await expectArr(onDevice({ data: [], shape: [2, 0] }, device).softmax(1), { data: [], shape: [2, 0] });
      await expectArr(tensor(3, { device }).softmax(0), { data: [1], shape: [] });
      await expectArr(tensor(3, { device }).logSoftmax(-1), { data: [0], shape: [] });
    });

    it('refuses a dim out of range', async () => {
      await expectRefused(() => x.softmax(3), 'softmax', /dimension out of range/);
      await expectRefused(() => x.logSoftmax(-4), 'logSoftmax', /dimension out of range/);
    });
  });

  describe('norm', () => {
    const pnorm = (p: number) => (vs: number[]): number => {
      if (p === Infinity) return Math.max(...vs.map(Math.abs));
      if (p === -Infinity) return Math.min(...vs.map(Math.abs));
      if (p === 0) return vs.filter((v) => v !== 0).length;
      return vs.reduce((s, v) => s + Math.abs(v) ** p, 0) ** (1 / p);
    };
    const withZeros: Arr = { data: X.data.map((v, i) => (i % 7 === 0 ? 0 : v)), shape: X.shape };
    const z = onDevice(withZeros, device);

    it('p-norms (1, 2, 3, 0.5, ±inf, 0) and Frobenius over all, one, several and negative dims, with keepdim', async () => {
      for (const p of [1, 2, 3, 0.5, Infinity, -Infinity, 0]) {
        await expectArr(z.norm(p), reduceArr(withZeros, undefined, false, pnorm(p)));
        await expectArr(z.norm(p, 1), reduceArr(withZeros, [1], false, pnorm(p)));
        await expectArr(z.norm(p, [0, -1], true), reduceArr(withZeros, [0, 2], true, pnorm(p)));
      }
      await expectArr(z.norm(), reduceArr(withZeros, undefined, false, pnorm(2)));
      await expectArr(z.norm('fro', [1, 2]), reduceArr(withZeros, [1, 2], false, pnorm(2)));
      await expectArr(z.norm('fro', -2, true), reduceArr(withZeros, [1], true, pnorm(2)));
    });

    it('of zeros, of an empty tensor and of a 0-d tensor', async () => {
      await expectArr(onDevice({ data: [0, 0, 0], shape: [3] }, device).norm(), { data: [0], shape: [] });
      await expectArr(onDevice({ data: [], shape: [0, 3] }, device).norm(2, 0), { data: [0, 0, 0], shape: [3] });
      await expectArr(tensor(-3, { device }).norm(1), { data: [3], shape: [] });
    });

    it('refuses integer tensors and a bad p or dim', async () => {
      await expectRefused(() => tensor([1, 2], { dtype: 'int32', device }).norm(), 'norm', /floating point/);
      await expectRefused(() => x.norm(2, 5), 'norm', /dimension out of range/);
      expect((await errorOf(() => x.norm(2, [1, 1]))).message).toMatch(/norm: .*appears multiple times/);
      expect((await errorOf(() => x.norm(Number.NaN))).message).toMatch(/norm: p must be a number/);
    });
  });

  describe('cumsum, cumprod', () => {
    const running = (combine: (a: number, b: number) => number) => (f: number[]): number[] => {
      const out: number[] = [];
      f.forEach((v, i) => out.push(i === 0 ? v : combine(out[i - 1]!, v)));
      return out;
    };
    const Y = randomArr([3, 9, 7], 2, 0.5, 1.5);
    const y = onDevice(Y, device);

    it('match running loops along every dim (lengths that are not powers of two)', async () => {
      for (const dim of [0, 1, 2, -1, -2]) {
        const d = (dim + 3) % 3;
        await expectArr(y.cumsum(dim), mapFibers(Y, d, Y.shape[d]!, running((a, b) => a + b)));
        await expectArr(y.cumprod(dim), mapFibers(Y, d, Y.shape[d]!, running((a, b) => a * b)));
      }
    });

    it('keep int32, count bools as int32, and handle size-1, empty and 0-d inputs', async () => {
      const I: Arr = { data: [3, -1, 4, 1, -5, 9], shape: [6] };
      const ci = intsOn(I, device).cumsum(0);
      expect(ci.dtype).toBe('int32');
      await expectArr(ci, mapFibers(I, 0, 6, running((a, b) => a + b)), 0);
      await expectArr(intsOn(I, device).cumprod(0), mapFibers(I, 0, 6, running((a, b) => a * b)), 0);
      const cb = tensor([true, false, true, true], { device }).cumsum(0);
      expect(cb.dtype).toBe('int32');
      await expectArr(cb, { data: [1, 1, 2, 3], shape: [4] }, 0);
      await expectArr(onDevice({ data: [2, 3], shape: [2, 1] }, device).cumprod(1), { data: [2, 3], shape: [2, 1] });
      await expectArr(onDevice({ data: [], shape: [0, 4] }, device).cumsum(0), { data: [], shape: [0, 4] });
      await expectArr(tensor(5, { device }).cumsum(0), { data: [5], shape: [] });
    });

    it('return a new tensor, never a view of the input', () => {
      const one = onDevice({ data: [7], shape: [1] }, device);
      expect(one.cumsum(0).storage).not.toBe(one.storage);
    });

    it('refuse a dim out of range', async () => {
      await expectRefused(() => y.cumsum(3), 'cumsum', /dimension out of range/);
      await expectRefused(() => y.cumprod(-4), 'cumprod', /dimension out of range/);
    });
  });

  describe('sort, argsort, topk', () => {
    // Few distinct values, so ties are everywhere; stability decides the order of their indices.
    const T = randomArr([4, 9], 3, 0, 4, true);
    const t = onDevice(T, device);

    it('sort stably along every dim, ascending and descending', async () => {
      for (const dim of [0, 1, -1, -2]) {
        const d = (dim + 2) % 2;
        for (const descending of [false, true]) {
          const [values, indices] = t.sort(dim, descending);
          expect(indices.dtype).toBe('int32');
          const order = (f: number[]): number[] => stableOrder(f, descending);
          await expectArr(indices, mapFibers(T, d, T.shape[d]!, order), 0);
          await expectArr(values, mapFibers(T, d, T.shape[d]!, (f) => order(f).map((i) => f[i]!)), 0);
          await expectArr(t.argsort(dim, descending), mapFibers(T, d, T.shape[d]!, order), 0);
        }
      }
      const [values] = t.sort();
      await expectArr(values, mapFibers(T, 1, 9, (f) => stableOrder(f, false).map((i) => f[i]!)), 0);
    });

    it('put NaN last ascending and first descending, and sort ±inf and int32', async () => {
      const N: Arr = { data: [NaN, 1, -Infinity, NaN, Infinity, 1, -2], shape: [7] };
      for (const descending of [false, true]) {
        const [values, indices] = onDevice(N, device).sort(0, descending);
        const order = stableOrder(N.data, descending);
        await expectArr(indices, { data: order, shape: [7] }, 0);
        await expectArr(values, { data: order.map((i) => N.data[i]!), shape: [7] }, 0);
      }
      const I: Arr = { data: [5, -3, 5, 0, -3], shape: [5] };
      const [iv, ii] = intsOn(I, device).sort(0, true);
      expect(iv.dtype).toBe('int32');
      await expectArr(iv, { data: [5, 5, 0, -3, -3], shape: [5] }, 0);
      await expectArr(ii, { data: [0, 2, 3, 1, 4], shape: [5] }, 0);
    });

    it('sort empty, size-1 and 0-d inputs', async () => {
      const [ev, ei] = onDevice({ data: [], shape: [2, 0] }, device).sort(1);
      expect(ev.shape).toEqual([2, 0]);
      expect(ei.shape).toEqual([2, 0]);
      await expectArr(onDevice({ data: [4, 2], shape: [2, 1] }, device).argsort(1), { data: [0, 0], shape: [2, 1] }, 0);
      const [sv, si] = tensor(3, { device }).sort();
      await expectArr(sv, { data: [3], shape: [] });
      await expectArr(si, { data: [0], shape: [] }, 0);
    });

    it('topk: the k largest or smallest, sorted, ties to the earlier index', async () => {
      for (const [k, dim, largest] of [[3, 1, true], [3, -1, false], [2, 0, true], [0, 1, true], [9, 1, false], [4, -2, false]] as const) {
        const d = (dim + 2) % 2;
        const [values, indices] = t.topk(k, dim, largest);
        const order = (f: number[]): number[] => stableOrder(f, largest).slice(0, k);
        await expectArr(indices, mapFibers(T, d, k, order), 0);
        await expectArr(values, mapFibers(T, d, k, (f) => order(f).map((i) => f[i]!)), 0);
      }
      const [v1] = onDevice({ data: [1, 5, 3], shape: [3] }, device).topk(1);
      await expectArr(v1, { data: [5], shape: [1] });
    });

    it('topk with NaN, ±inf and repeated values, by rounds (small k) and by the full sort', async () => {
      const N: Arr = { data: [NaN, 1, -Infinity, NaN, Infinity, 1, -2, -Infinity, 0], shape: [9] };
      for (const k of [1, 2, 3, 5, 9]) {
        for (const largest of [true, false]) {
          const [values, indices] = onDevice(N, device).topk(k, 0, largest);
          const order = stableOrder(N.data, largest).slice(0, k);
          await expectArr(indices, { data: order, shape: [k] }, 0);
          await expectArr(values, { data: order.map((i) => N.data[i]!), shape: [k] }, 0);
        }
      }
      const I: Arr = { data: [4, -7, 4, 2147483647, -2147483648, 0, 4, -7, 1], shape: [9] };
      for (const largest of [true, false]) {
        const [values, indices] = intsOn(I, device).topk(3, 0, largest);
        const order = stableOrder(I.data, largest).slice(0, 3);
        await expectArr(indices, { data: order, shape: [3] }, 0);
        await expectArr(values, { data: order.map((i) => I.data[i]!), shape: [3] }, 0);
      }
    });

    it('topk of long rows (a vocabulary of 20000) without an n×n comparison', async () => {
      const L = randomArr([2, 20000], 36, 0, 500, true);
      const [values, indices] = intsOn(L, device).cast('float32').topk(5, -1);
      const order = (f: number[]): number[] => stableOrder(f, true).slice(0, 5);
      await expectArr(indices, mapFibers(L, 1, 5, order), 0);
      await expectArr(values, mapFibers(L, 1, 5, (f) => order(f).map((i) => f[i]!)), 0);
    });

    it('refuses k past the dim, a negative k and a dim out of range', async () => {
      await expectRefused(() => t.topk(10), 'topk', /k out of range: k = 10 but dimension 1 has 9 elements/);
      expect((await errorOf(() => t.topk(-1))).op).toBe('topk');
      await expectRefused(() => t.sort(2), 'sort', /dimension out of range/);
      await expectRefused(() => t.argsort(-3), 'argsort', /dimension out of range/);
    });
  });

  describe('gather, scatter, scatterAdd', () => {
    // index: [3, 2, 5] over X [3, 4, 5] along dim 1 (smaller than the input in dim 1 only), and
    // [2, 4, 3] along dim 2 (smaller in dims 0 and 2).
    const cases = [
      { dim: 1, index: randomArr([3, 2, 5], 4, 0, 4, true) },
      { dim: -1, index: randomArr([2, 4, 3], 5, 0, 5, true) },
      { dim: 0, index: randomArr([3, 4, 5], 6, 0, 3, true) },
    ];
    const along = (idx: readonly number[], d: number, i: number): number[] => idx.map((v, k) => (k === d ? i : v));

    it('gather picks along the dim, as the loop does', async () => {
      for (const { dim, index } of cases) {
        const d = (dim + 3) % 3;
        const want = multiIndices(index.shape).map((idx, flat) => X.data[offsetOf(along(idx, d, index.data[flat]!), X.shape)]!);
        await expectArr(x.gather(dim, intsOn(index, device)), { data: want, shape: index.shape }, 0);
      }
    });

    it('scatter writes (the last of repeated indices wins) and scatterAdd adds, as the loops do', async () => {
      const S = randomArr([3, 4, 5], 7);
      const src = onDevice(S, device);
      for (const { dim, index } of cases) {
        const d = (dim + 3) % 3;
        const written = X.data.slice();
        const added = X.data.slice();
        multiIndices(index.shape).forEach((idx, flat) => {
          const to = offsetOf(along(idx, d, index.data[flat]!), X.shape);
          written[to] = S.data[offsetOf(idx, S.shape)]!;
          added[to] = added[to]! + S.data[offsetOf(idx, S.shape)]!;
        });
        await expectArr(x.scatter(dim, intsOn(index, device), src), { data: written, shape: X.shape }, 0);
        await expectArr(x.scatterAdd(dim, intsOn(index, device), src), { data: added, shape: X.shape });
        const filled = X.data.slice();
        multiIndices(index.shape).forEach((idx, flat) => { filled[offsetOf(along(idx, d, index.data[flat]!), X.shape)] = -7; });
        await expectArr(x.scatter(dim, intsOn(index, device), -7), { data: filled, shape: X.shape }, 0);
      }
    });

    it('work on int32, bool, empty and 0-d operands', async () => {
      const iv = intsOn({ data: [10, 20, 30], shape: [3] }, device);
      const idx = intsOn({ data: [2, 2, 0], shape: [3] }, device);
      await expectArr(iv.gather(0, idx), { data: [30, 30, 10], shape: [3] }, 0);
      await expectArr(iv.scatterAdd(0, idx, intsOn({ data: [1, 2, 3], shape: [3] }, device)), { data: [13, 20, 33], shape: [3] }, 0);
      const bv = tensor([true, false, false], { device });
      await expectArr(bv.gather(0, idx), { data: [0, 0, 1], shape: [3] }, 0);
      await expectArr(bv.scatter(0, idx, tensor([false, true, false], { device })), { data: [0, 0, 1], shape: [3] }, 0);
      const none = intsOn({ data: [], shape: [3, 0, 5] }, device);
      expect(x.gather(1, none).shape).toEqual([3, 0, 5]);
      await expectArr(x.scatter(1, none, 0), X, 0);
      await expectArr(tensor(4, { device }).gather(0, tensor(0, { dtype: 'int32', device })), { data: [4], shape: [] });
      await expectArr(tensor(4, { device }).scatterAdd(0, tensor(0, { dtype: 'int32', device }), tensor(2, { device })), { data: [6], shape: [] });
    });

    it('refuse out-of-range indices (on a GPU at the next read), and then work again', async () => {
      const bad = intsOn({ data: [0, 4, 1], shape: [1, 3, 1] }, device);
      await expectRefused(() => x.gather(1, bad), 'gather', /index 4 is out of range for 4 positions along dimension 1/);
      const neg = intsOn({ data: [-1], shape: [1, 1, 1] }, device);
      await expectRefused(() => x.scatter(2, neg, 0), 'scatter', /index -1 is out of range for 5 positions along dimension 2/);
      await expectRefused(() => x.scatterAdd(0, intsOn({ data: [3], shape: [1, 1, 1] }, device), x), 'scatterAdd', /index 3 is out of range/);
      await expectArr(x.gather(1, intsOn({ data: [3], shape: [1, 1, 1] }, device)), { data: [X.data[15]!], shape: [1, 1, 1] });
    });

    it('refuse float indices, a rank or size mismatch, a src of another dtype and a bad dim', async () => {
      await expectRefused(() => x.gather(1, onDevice({ data: [0], shape: [1, 1, 1] }, device)), 'gather', /int32 indices, got float32/);
      await expectRefused(() => x.gather(1, intsOn({ data: [0], shape: [1] }, device)), 'gather', /same number of dimensions/);
      await expectRefused(() => x.gather(1, intsOn({ data: new Array(24).fill(0), shape: [4, 1, 6] }, device)), 'gather', /size 4 of the index at dimension 0 exceeds size 3/);
      const idx = intsOn({ data: [0], shape: [1, 1, 1] }, device);
      await expectRefused(() => x.scatter(1, idx, intsOn({ data: [1], shape: [1, 1, 1] }, device)), 'scatter', /src of the input's dtype \(float32\), got int32/);
      await expectRefused(() => x.scatterAdd(1, intsOn({ data: [0, 0], shape: [1, 2, 1] }, device), onDevice({ data: [1], shape: [1, 1, 1] }, device)), 'scatterAdd', /exceeds size 1 of src/);
      await expectRefused(() => x.gather(3, idx), 'gather', /dimension out of range/);
    });
  });

  describe('maskedFill, clip, clamp', () => {
    const M: Arr = { data: [1, 0, 1, 1, 0], shape: [5] };
    const mask = tensor(M.data.map((v) => v === 1), { device });

    it('maskedFill fills where the broadcast mask is true, keeping the dtype', async () => {
      const want = X.data.map((v, i) => (M.data[i % 5] === 1 ? -1.5 : v));
      await expectArr(x.maskedFill(mask, -1.5), { data: want, shape: X.shape });
      await expectArr(x.maskedFill(mask, tensor(-1.5, { device })), { data: want, shape: X.shape });
      const iv = intsOn({ data: [1, 2, 3, 4, 5], shape: [5] }, device).maskedFill(mask, 9);
      expect(iv.dtype).toBe('int32');
      await expectArr(iv, { data: [9, 2, 9, 9, 5], shape: [5] }, 0);
    });

    it('maskedFill refuses a non-bool mask, one that broadcasts past the input, and a tensor value', async () => {
      await expectRefused(() => x.maskedFill(onDevice(M, device), 0), 'maskedFill', /bool mask, got float32/);
      await expectRefused(() => tensor([1, 2, 3, 4, 5], { device }).maskedFill(tensor([[true], [false]], { device }), 0), 'maskedFill', /does not broadcast to the input's shape/);
      await expectRefused(() => x.maskedFill(mask, onDevice(M, device)), 'maskedFill', /0-d tensor/);
    });

    it('clip and clamp limit to number bounds, one bound absent, or broadcast tensor bounds', async () => {
      const lim = (lo: number | null, hi: number | null) => X.data.map((v) => Math.min(hi ?? Infinity, Math.max(lo ?? -Infinity, v)));
      await expectArr(x.clip(-0.5, 0.5), { data: lim(-0.5, 0.5), shape: X.shape });
      await expectArr(x.clamp(null, 0.25), { data: lim(null, 0.25), shape: X.shape });
      await expectArr(x.clip(undefined, 0.25), { data: lim(null, 0.25), shape: X.shape });
      const lo = onDevice({ data: [-1, 0, 1, -2, 2], shape: [5] }, device);
      const want = X.data.map((v, i) => Math.max([-1, 0, 1, -2, 2][i % 5]!, v));
      await expectArr(x.clamp(lo), { data: want, shape: X.shape });
      await expectRefused(() => x.clip(), 'clip', /at least one of min or max/);
    });
  });

  describe('einsum and outer methods', () => {
    it('a.einsum(pattern, ...others) puts a first', async () => {
      const A = randomArr([3, 4], 8);
      const B = randomArr([4, 2], 9);
      const want = multiIndices([3, 2]).map(([i, k]) => {
        let s = 0;
        for (let j = 0; j < 4; j++) s += A.data[i! * 4 + j]! * B.data[j * 2 + k!]!;
        return s;
      });
      await expectArr(onDevice(A, device).einsum('ij,jk->ik', onDevice(B, device)), { data: want, shape: [3, 2] });
      await expectArr(onDevice(A, device).einsum('ij->i'), reduceArr(A, [1], false, (v) => v.reduce((a, b) => a + b, 0)));
      await expectRefused(() => onDevice(A, device).einsum('ij,jk->ik', onDevice(A, device)), 'einsum', /axis 'j' has size 4 in operand 0 but 3 in operand 1/);
      const untyped = onDevice(A, device) as unknown as { einsum(pattern: unknown): Tensor };
      expect((await errorOf(() => untyped.einsum(3))).message).toMatch(/einsum: the pattern must be a string/);
    });

    it('outer of two vectors, and refuses matrices', async () => {
      const a = [1, -2, 3];
      const b = [0.5, 4];
      await expectArr(tensor(a, { device }).outer(tensor(b, { device })), { data: a.flatMap((u) => b.map((v) => u * v)), shape: [3, 2] });
      await expectRefused(() => x.outer(tensor(b, { device })), 'outer', /two 1-D tensors, got 3-D and 1-D/);
    });
  });

  describe('tril, triu', () => {
    it('keep the triangles of the last two dims for any diagonal', async () => {
      for (const k of [-2, -1, 0, 1, 3, 9]) {
        const keep = (lower: boolean): number[] => multiIndices(X.shape).map((idx, flat) => {
          const off = idx[2]! - idx[1]!;
          return (lower ? off <= k : off >= k) ? X.data[flat]! : 0;
        });
        await expectArr(x.tril(k), { data: keep(true), shape: X.shape });
        await expectArr(x.triu(k), { data: keep(false), shape: X.shape });
      }
      await expectArr(intsOn({ data: [1, 2, 3, 4], shape: [2, 2] }, device).tril(), { data: [1, 0, 3, 4], shape: [2, 2] }, 0);
      expect(onDevice({ data: [], shape: [0, 3] }, device).triu().shape).toEqual([0, 3]);
    });

    it('refuse fewer than 2 dims and a fractional diagonal', async () => {
      await expectRefused(() => tensor([1, 2], { device }).tril(), 'tril', /at least 2 dimensions, got 1/);
      expect((await errorOf(() => x.triu(0.5))).op).toBe('triu');
    });
  });

  describe('roll, flip, repeatInterleave', () => {
    it('roll along dims (negative and oversized shifts) and over the flattened tensor', async () => {
      const rolled = (a: Arr, d: number, s: number): Arr => mapFibers(a, d, a.shape[d]!, (f) => {
        const n = f.length;
        const out = new Array<number>(n);
        f.forEach((v, i) => { out[(((i + s) % n) + n) % n] = v; });
        return out;
      });
      await expectArr(x.roll(1, 0), rolled(X, 0, 1));
      await expectArr(x.roll(-3, -1), rolled(X, 2, -3));
      await expectArr(x.roll(9, 1), rolled(X, 1, 9));
      await expectArr(x.roll([1, -2], [2, 0]), rolled(rolled(X, 2, 1), 0, -2));
      await expectArr(x.roll(7), { data: rolled({ data: X.data, shape: [60] }, 0, 7).data, shape: X.shape });
      await expectArr(x.roll(0, 1), X);
      expect(x.roll(0, 1).storage).not.toBe(x.storage);
      await expectRefused(() => x.roll([1, 2], [0]), 'roll', /shifts and dims must have the same length, got 2 and 1/);
      await expectRefused(() => x.roll(1, 3), 'roll', /dimension out of range/);
    });

    it('flip reverses the given dims into a new tensor', async () => {
      const flipped = (a: Arr, d: number): Arr => mapFibers(a, d, a.shape[d]!, (f) => f.slice().reverse());
      await expectArr(x.flip(0), flipped(X, 0));
      await expectArr(x.flip(-1, 1), flipped(flipped(X, 2), 1));
      await expectArr(x.flip([0, 1, 2]), flipped(flipped(flipped(X, 0), 1), 2));
      const f = x.flip(1);
      expect(f.storage).not.toBe(x.storage);
      expect(f.isContiguous).toBe(true);
      await expectRefused(() => x.flip(3), 'flip', /dimension out of range/);
      expect((await errorOf(() => x.flip(0, 0))).message).toMatch(/appears multiple times/);
    });

    it('repeatInterleave by a number, by counts per element, and flattened', async () => {
      const rep = (a: Arr, d: number, counts: (i: number) => number, total: number): Arr =>
        mapFibers(a, d, total, (f) => f.flatMap((v, i) => new Array<number>(counts(i)).fill(v)));
      await expectArr(x.repeatInterleave(2, 1), rep(X, 1, () => 2, 8));
      await expectArr(x.repeatInterleave([0, 2, 1, 3, 1], -1), rep(X, 2, (i) => [0, 2, 1, 3, 1][i]!, 7));
      await expectArr(x.repeatInterleave(3), rep({ data: X.data, shape: [60] }, 0, () => 3, 180));
      await expectArr(x.repeatInterleave(0, 0), { data: [], shape: [0, 4, 5] });
      await expectArr(x.repeatInterleave([0, 0, 0], 0), { data: [], shape: [0, 4, 5] });
      await expectArr(tensor(2, { device }).repeatInterleave(2), { data: [2, 2], shape: [2] });
      await expectRefused(() => x.repeatInterleave([1, 2], 1), 'repeatInterleave', /one count per element along dimension 1: got 2 for 4/);
      expect((await errorOf(() => x.repeatInterleave(-1, 0))).op).toBe('repeatInterleave');
    });
  });
});

describe('gradients of the PyTorch methods (gradcheck, float64)', () => {
  const r = (shape: number[], seed: number): Tensor => randomTensor(shape, seed);
  const int = (values: number[], shape: number[]): Tensor => tensor(Int32Array.from(values), { shape });

  it('softmax and logSoftmax', () => {
    gradcheck((a) => a.softmax(1), [r([3, 4], 1)]);
    gradcheck((a) => a.logSoftmax(-1), [r([2, 3, 4], 2)]);
    gradcheck((a) => a.softmax(0), [r([], 3)]);
  });

  it('norm for every p, with dims and keepdim, and 0 at an all-zero slice', () => {
    for (const p of [1, 2, 3, 0.5, Infinity, -Infinity, 'fro'] as const) {
      gradcheck((a) => a.norm(p), [r([3, 4], 4)]);
      gradcheck((a) => a.norm(p, [0, 2], true), [r([2, 3, 4], 5)]);
    }
    const zero = tensor(new Float64Array(3), { shape: [3] }).requiresGrad_();
    zero.norm().backward();
    expect(Array.from(zero.grad!.dataSync())).toEqual([0, 0, 0]);
    // The count of non-zeros has gradient 0 everywhere, inf and NaN included (PyTorch's).
    const mixed = tensor(new Float64Array([0, 2, Infinity, NaN, -1]), { shape: [5] }).requiresGrad_();
    const count = mixed.norm(0);
    expect(count.item()).toBe(4);
    count.backward();
    expect(Array.from(mixed.grad!.dataSync())).toEqual([0, 0, 0, 0, 0]);
  });

  it('cumsum and cumprod (zeros included)', () => {
    gradcheck((a) => a.cumsum(1), [r([3, 7], 6)]);
    gradcheck((a) => a.cumsum(-2), [r([5, 2], 7)]);
    const withZero = tensor(new Float64Array([0.5, 0, 1.5, -2, 0, 3, 0.25]), { shape: [7] });
    gradcheck((a) => a.cumprod(0), [withZero]);
    gradcheck((a) => a.cumprod(1), [r([2, 6], 8)]);
  });

  it('sort and topk values carry the gradient back to where each value came from', () => {
    gradcheck((a) => a.sort(1)[0], [r([3, 6], 9)]);
    gradcheck((a) => a.sort(0, true)[0], [r([5, 2], 10)]);
    gradcheck((a) => a.topk(2, -1)[0], [r([3, 5], 11)]);
    gradcheck((a) => a.topk(3, 0, false)[0], [r([4, 2], 12)]);
  });

  it('gather, scatter and scatterAdd (self and src)', () => {
    const index = int([2, 0, 1, 1, 3, 3], [2, 3]);
    gradcheck((a) => a.gather(1, index), [r([2, 4], 13)]);
    gradcheck((a, s) => a.scatter(1, index, s), [r([2, 4], 14), r([2, 3], 15)]);
    gradcheck((a) => a.scatter(1, index, 0.5), [r([2, 4], 16)]);
    gradcheck((a, s) => a.scatterAdd(1, index, s), [r([2, 4], 17), r([3, 3], 18)]);
  });

  it('maskedFill (input and 0-d value), clip with tensor bounds, einsum, outer, tril, triu', () => {
    const mask = tensor([[true, false, true], [false, false, true]]);
    gradcheck((a, v) => a.maskedFill(mask, v), [r([2, 3], 19), r([], 20)]);
    gradcheck((a, lo) => a.clip(lo, 1), [r([3, 4], 21), r([4], 22)]);
    gradcheck((a, b) => a.einsum('ij,jk->ik', b), [r([2, 3], 23), r([3, 4], 24)]);
    gradcheck((a, b) => a.outer(b), [r([3], 25), r([2], 26)]);
    gradcheck((a) => a.tril(-1), [r([2, 3, 4], 27)]);
    gradcheck((a) => a.triu(1), [r([4, 3], 28)]);
  });

  it('roll, flip and repeatInterleave', () => {
    gradcheck((a) => a.roll([1, -1], [0, 1]), [r([3, 4], 29)]);
    gradcheck((a) => a.roll(5), [r([2, 3], 30)]);
    gradcheck((a) => a.flip(0, 1), [r([3, 4], 31)]);
    gradcheck((a) => a.repeatInterleave(2, 0), [r([3, 2], 32)]);
    gradcheck((a) => a.repeatInterleave([2, 0, 1], 1), [r([2, 3], 33)]);
  });
});

describe.skipIf(!DEVICES.includes('webgpu'))('gradients of the PyTorch methods on webgpu match cpu (float32)', () => {
  const A = randomArr([3, 6], 34);
  const W = randomArr([3, 6], 35, 0.5, 1.5);
  const index = (device: Device): Tensor => intsOn({ data: [5, 0, 0, 2, 3, 1, 4, 4, 1], shape: [3, 3] }, device);
  const cases: [string, (a: Tensor, device: Device) => Tensor][] = [
    ['softmax', (a) => a.softmax(1)],
    ['logSoftmax', (a) => a.logSoftmax(0)],
    ['norm', (a) => a.norm(3, 1, true).expand(3, 6)],
    ['cumsum', (a) => a.cumsum(1)],
    ['cumprod', (a) => a.cumprod(1)],
    ['sort', (a) => a.sort(1, true)[0]],
    ['topk', (a) => a.topk(6, 1, false)[0]],
    ['gather', (a, device) => a.gather(1, index(device)).repeatInterleave(2, 1)],
    ['scatter', (a, device) => a.scatter(1, index(device), 0)],
    ['scatterAdd', (a, device) => a.scatterAdd(1, index(device), a.slice(1, 0, 3))],
    ['maskedFill', (a) => a.maskedFill(a.gt(0), 2)],
    ['tril', (a) => a.tril(1)],
    ['roll', (a) => a.roll([2, 1], [1, 0])],
    ['flip', (a) => a.flip(0, 1)],
  ];
  for (const [name, f] of cases) {
    it(name, async () => {
      const gradOn = async (device: Device): Promise<number[]> => {
        const a = onDevice(A, device).requiresGrad_();
        f(a, device).backward(onDevice(W, device));
        return read(a.grad!);
      };
      const [cpu, gpu] = [await gradOn('cpu'), await gradOn('webgpu')];
      gpu.forEach((v, i) => expect(Math.abs(v - cpu[i]!), `element ${i}`).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(cpu[i]!))));
    });
  }
});
