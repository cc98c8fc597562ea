/**
 * jvp (torch.func.jvp: [f(primals), J·tangents]) against Jacobians derived by hand and central differences of
 * plain float64 loops written here: elementwise functions, softmax's Jacobian built column by column, a matrix
 * product of two primals, a tanh layer by finite differences, non-contiguous primals and tangents, outputs that
 * do not depend on a primal, createGraph, the argument errors, and the same products on every device in float32.
 */
import { describe, expect, it } from 'vitest';
import { EinjitError, Tensor, einsum, grad, jvp, tensor, type Device } from '../../src/index.js';
import { DEVICES } from '../helpers/devices.js';
import { thrown } from '../helpers/thrown.js';
import { expectClose, f64, randoms, values } from './second-order-helpers.js';



/** Row-major m×k times k×n in plain loops. */
function matmul(a: readonly number[], b: readonly number[], m: number, k: number, n: number): number[] {
  const c = new Array<number>(m * n).fill(0);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let p = 0; p < k; p++) c[i * n + j]! += a[i * k + p]! * b[p * n + j]!;
  return c;
}

describe('jvp', () => {
  it('of an elementwise function is f′(x)·v, and the output is f(x)', () => {
    const xs = [0.3, -1.2, 2.5, 0];
    const vs = [1, -2, 0.5, 3];
    const [y, jv] = jvp((x) => x.sin().mul(x), [f64(xs, [4])], [f64(vs, [4])]);
    expectClose(values(y), xs.map((x) => Math.sin(x) * x), 1e-15, 'y');
    expectClose(values(jv), xs.map((x, i) => (Math.sin(x) + x * Math.cos(x)) * vs[i]!), 1e-14, 'J·v');
    expect(y.requiresGrad || jv.requiresGrad).toBe(false);
  });

  it("builds softmax's Jacobian diag(s) − s sᵀ column by column", () => {
    const n = 5;
    const xs = randoms(n, 3, 2);
    const max = Math.max(...xs);
    const e = xs.map((x) => Math.exp(x - max));
    const s = e.map((x) => x / e.reduce((p, q) => p + q, 0));
    for (let j = 0; j < n; j++) {
      const basis = Array.from({ length: n }, (_, i) => (i === j ? 1 : 0));
      const [, col] = jvp((x) => x.softmax(0), [f64(xs, [n])], f64(basis, [n]));
      expectClose(values(col), s.map((si, i) => (i === j ? si : 0) - si * s[j]!), 1e-15, `column ${j}`);
    }
  });

  it('of a product of two primals is dA·B + A·dB, with a scalar output too', () => {
    const [m, k, n] = [3, 4, 2];
    const [A, B, dA, dB] = [randoms(m * k, 5), randoms(k * n, 6), randoms(m * k, 7), randoms(k * n, 8)];
    const [y, jv] = jvp((a, b) => einsum('ij,jk->ik', a, b), [f64(A, [m, k]), f64(B, [k, n])], [f64(dA, [m, k]), f64(dB, [k, n])]);
    expectClose(values(y), matmul(A, B, m, k, n), 1e-14, 'A·B');
    const left = matmul(dA, B, m, k, n), right = matmul(A, dB, m, k, n);
    expectClose(values(jv), left.map((l, i) => l + right[i]!), 1e-14, 'dA·B + A·dB');
    // ‖A·B‖² along the same direction: 2⟨A·B, dA·B + A·dB⟩.
    const [, js] = jvp((a, b) => a.matmul(b).square().sum(), [f64(A, [m, k]), f64(B, [k, n])], [f64(dA, [m, k]), f64(dB, [k, n])]);
    expect(js.shape).toEqual([]);
    const AB = matmul(A, B, m, k, n);
    expectClose(values(js), [AB.reduce((p, x, i) => p + 2 * x * (left[i]! + right[i]!), 0)], 1e-13, 'd‖AB‖²');
  });

  it('of a tanh layer matches central differences of the loop, with non-contiguous primals and tangents', () => {
    const [N, D, H] = [3, 4, 5];
    const [X, W, b, dX, dW, db] = [randoms(N * D, 11), randoms(D * H, 12), randoms(H, 13), randoms(N * D, 14), randoms(D * H, 15), randoms(H, 16)];
    const layer = (x: readonly number[], w: readonly number[], bias: readonly number[]): number[] =>
      matmul(x, w, N, D, H).map((z, i) => Math.tanh(z + bias[i % H]!));
    const eps = 1e-6;
    const moved = (t: number): number[] => layer(X.map((x, i) => x + t * dX[i]!), W.map((w, i) => w + t * dW[i]!), b.map((x, i) => x + t * db[i]!));
    const plus = moved(eps), minus = moved(-eps);
    const expected = plus.map((p, i) => (p - minus[i]!) / (2 * eps));
    // W and dW stored transposed and read through .T; X and dX read from every other column of a wider tensor.
    const wide = (v: readonly number[]): Tensor => f64(Array.from({ length: N * 2 * D }, (_, i) => (i % 2 === 0 ? v[(i - (i % 2)) / 2]! : 99)), [N, 2 * D]).slice(1, 0, undefined, 2);
    const transposed = (v: readonly number[]): Tensor => f64(Array.from({ length: D * H }, (_, i) => v[(i % D) * H + Math.floor(i / D)]!), [H, D]).T;
    const [x, dx, w, dw] = [wide(X), wide(dX), transposed(W), transposed(dW)];
    expect(x.isContiguous || w.isContiguous).toBe(false);
    const [y, jv] = jvp((xx, ww, bb) => xx.matmul(ww).add(bb).tanh(), [x, w, f64(b, [H])], [dx, dw, f64(db, [H])]);
    expectClose(values(y), layer(X, W, b), 1e-14, 'y');
    expectClose(values(jv), expected, 1e-8, 'J·v');
  });

  it('gives zeros for an output that does not depend on the primals, and no contribution from an unused primal', () => {
    const [, zero] = jvp(() => f64([1, 2, 3], [3]), [f64([4], [1])], [f64([1], [1])]);
    expect(values(zero)).toEqual([0, 0, 0]);
    const [, jv] = jvp((x, _unused) => x.mul(2), [f64([1, 2], [2]), f64([5], [1])], [f64([3, 4], [2]), f64([100], [1])]);
    expect(values(jv)).toEqual([6, 8]);
  });

  it('under createGraph the product differentiates again, through the primal and the tangent', () => {
    const xs = [0.5, -1.5, 2];
    const vs = [2, 1, -1];
    const x = f64(xs, [3], true);
    const v = f64(vs, [3], true);
    const [y, jv] = jvp((a) => a.pow(3), [x], [v], { createGraph: true });
    expect(y.requiresGrad && jv.requiresGrad).toBe(true);
    expectClose(values(jv), xs.map((a, i) => 3 * a * a * vs[i]!), 1e-14, 'J·v = 3x²v');
    const [gx, gv] = grad(jv.sum(), [x, v]);
    expectClose(values(gx), xs.map((a, i) => 6 * a * vs[i]!), 1e-14, 'd/dx = 6xv');
    expectClose(values(gv), xs.map((a) => 3 * a * a), 1e-14, 'd/dv = 3x²');
    expect(x.grad).toBeNull();
  });

  it('refuses tangents that do not match the primals, and a function that returns no tensor', () => {
    const x = f64([1, 2], [2]);
    const e = thrown(() => jvp((a) => a.exp(), [x], [f64([1, 2, 3], [3])]));
    expect(e).toBeInstanceOf(EinjitError);
    expect(e.message).toContain('tangents must hold one tensor per primal');
    expect(thrown(() => jvp((a) => a.exp(), [x], [x, x])).message).toContain('one tensor per primal');
    expect(thrown(() => jvp((() => 3) as unknown as (a: Tensor) => Tensor, [x], [x])).message).toContain('must return a Tensor');
    expect(thrown(() => jvp((a) => a, [tensor([1, 2], { dtype: 'int32' })], [x])).message).toContain('only floating-point');
  });
});

describe.each(DEVICES)('jvp on %s (float32)', (device: Device) => {
  it('of softmax(x·W) along (dx, dW) matches central differences of the float64 loop', async () => {
    const [N, D, H] = [2, 3, 4];
    const [X, W, dX, dW] = [randoms(N * D, 21), randoms(D * H, 22), randoms(N * D, 23), randoms(D * H, 24)];
    const forward = (x: readonly number[], w: readonly number[]): number[] => {
      const z = matmul(x, w, N, D, H);
      return z.map((_, i) => {
        const row = z.slice(i - (i % H), i - (i % H) + H);
        const max = Math.max(...row);
        return Math.exp(z[i]! - max) / row.reduce((p, q) => p + Math.exp(q - max), 0);
      });
    };
    const eps = 1e-6;
    const plus = forward(X.map((x, i) => x + eps * dX[i]!), W.map((w, i) => w + eps * dW[i]!));
    const minus = forward(X.map((x, i) => x - eps * dX[i]!), W.map((w, i) => w - eps * dW[i]!));
    const on = (v: number[], shape: number[]): Tensor => tensor(v, { shape, device });
    const [y, jv] = jvp((x, w) => x.matmul(w).softmax(1), [on(X, [N, D]), on(W, [D, H])], [on(dX, [N, D]), on(dW, [D, H])]);
    expect(jv.device).toBe(device);
    expectClose(Array.from(await y.data(), Number), forward(X, W), 1e-5, 'y');
    expectClose(Array.from(await jv.data(), Number), plus.map((p, i) => (p - minus[i]!) / (2 * eps)), 1e-5, 'J·v');
  });
});
