/**
 * Gradients of gradients in use: the functional API (grad, vjp, hvp) and backward({ createGraph }), a
 * Hessian-vector product of a small tanh MLP, a WGAN-GP gradient penalty trained with SGD, and a Newton step on
 * a quadratic built from Hessian-vector products. Every expected value comes from plain float64 loops written
 * here (the MLP, the critic and its input gradient, their gradients by hand, a Gaussian elimination), never from
 * einjit.
 */
import { describe, expect, it } from 'vitest';
import { EinjitError, Tensor, einsum, grad, hvp, optim, vjp } from '../../src/index.js';
import { expectClose, f64, randoms, solve, values } from './second-order-helpers.js';



function caught(fn: () => unknown): EinjitError {
  try {
    fn();
  } catch (e) {
    if (e instanceof EinjitError) return e;
    throw e;
  }
  throw new Error('expected an EinjitError');
}

describe('grad, vjp and backward({ createGraph })', () => {
  it('grad returns the gradients, leaves .grad alone, and differentiates again under createGraph (x⁴: 4x³, 12x², 24x)', () => {
    const xs = [0.5, -1.25, 2];
    const x = f64(xs, [3], true);
    const [g1] = grad(x.pow(4).sum(), [x], { createGraph: true });
    expect(x.grad).toBeNull();
    expect(g1!.gradFn).not.toBeNull();
    const [g2] = grad(g1!.sum(), x, { createGraph: true });
    const [g3] = grad(g2!.sum(), [x]);
    expect(g3!.gradFn).toBeNull();
    expectClose(values(g1!), xs.map((v) => 4 * v ** 3), 1e-14, 'first');
    expectClose(values(g2!), xs.map((v) => 12 * v ** 2), 1e-14, 'second');
    expectClose(values(g3!), xs.map((v) => 24 * v), 1e-14, 'third');
    expect(x.grad).toBeNull();
  });

  it('without createGraph the gradients are plain tensors outside any graph', () => {
    const x = f64([1, 2], [2], true);
    const [g] = grad(x.mul(x).sum(), [x]);
    expect(g!.requiresGrad).toBe(false);
    expect(g!.gradFn).toBeNull();
    expect(values(g)).toEqual([2, 4]);
  });

  it('several outputs with their gradOutputs, and a non-leaf input', () => {
    const x = f64([1, 2, 3], [3], true);
    const h = x.mul(2);
    const y = h.square();             // 4x², dy/dh = 2h = 4x
    const z = h.sum();
    const [gh, gx] = grad([y, z], [h, x], { gradOutputs: [f64([1, 10, 100], [3]), null] });
    expect(values(gh)).toEqual([1 * 4 + 1, 10 * 8 + 1, 100 * 12 + 1]);
    expect(values(gx)).toEqual([2 * (1 * 4 + 1), 2 * (10 * 8 + 1), 2 * (100 * 12 + 1)]);
  });

  it('an unused input is refused unless allowUnused, which gives null', () => {
    const x = f64([1, 2], [2], true);
    const w = f64([3], [1], true);
    const y = x.exp().sum();
    const e = caught(() => grad(y, [x, w]));
    expect(e.message).toContain('not have been used in the graph');
    expect(e.hint).toContain('allowUnused');
    // Refused before walking: the graph was not freed, so the call can be repeated.
    const [gx, gw] = grad(y, [x, w], { allowUnused: true });
    expect(values(gx)).toEqual([Math.exp(1), Math.exp(2)]);
    expect(gw).toBeNull();
  });

  it('refuses inputs that do not require grad, outputs that do not, and a missing gradient for a vector output', () => {
    const x = f64([1, 2], [2], true);
    expect(caught(() => grad(x.sum(), [f64([1], [1])])).message).toContain('does not require grad');
    expect(caught(() => grad(f64([1], [1]), [x])).message).toContain('does not require grad');
    expect(caught(() => grad(x.mul(2), [x])).message).toContain('only for scalar outputs');
    expect(caught(() => grad(x.sum(), [x], { createGraph: 1 as unknown as boolean })).message).toContain('createGraph must be true or false');
  });

  it('grad frees the graph unless createGraph or retainGraph', () => {
    const x = f64([1, 2], [2], true);
    const y = x.exp().sum();
    grad(y, [x]);
    expect(caught(() => grad(y, [x])).message).toContain('a second time');
    const z = x.exp().sum();
    grad(z, [x], { createGraph: true });
    expect(values(grad(z, [x])[0]!)).toEqual([Math.exp(1), Math.exp(2)]);
  });

  it('backward({ createGraph: true }) leaves a differentiable .grad; the default leaves a plain one', () => {
    const xs = [0.5, -2, 3];
    const x = f64(xs, [3], true);
    x.sin().mul(x).sum().backward(undefined, { createGraph: true });   // d/dx x·sin x = sin x + x cos x
    const g = x.grad!;
    expect(g.gradFn).not.toBeNull();
    expectClose(values(g), xs.map((v) => Math.sin(v) + v * Math.cos(v)), 1e-14, 'grad');
    x.grad = null;
    g.sum().backward();                                               // d/dx (sin x + x cos x) = 2 cos x − x sin x
    expectClose(values(x.grad), xs.map((v) => 2 * Math.cos(v) - v * Math.sin(v)), 1e-14, 'second');
    const w = f64(xs, [3], true);
    w.sin().sum().backward();
    expect(w.grad!.gradFn).toBeNull();
    expect(w.grad!.requiresGrad).toBe(false);
  });

  it('vjp returns f(x) and vᵀJ, detached unless createGraph', () => {
    const xs = [0.25, -1, 2];
    const x = f64(xs, [3], true);
    const v = f64([1, 2, 3], [3]);
    const [y, [gx]] = vjp((a) => a.sin().mul(a), [x], v);
    expectClose(values(y), xs.map((a) => Math.sin(a) * a), 1e-15, 'y');
    expectClose(values(gx!), xs.map((a, i) => (i + 1) * (Math.sin(a) + a * Math.cos(a))), 1e-14, 'vjp');
    expect(y.requiresGrad || gx!.requiresGrad).toBe(false);
    expect(x.grad).toBeNull();
    const [, [gg]] = vjp((a) => a.square(), [x], v, { createGraph: true });
    expect(gg!.gradFn).not.toBeNull();
    expectClose(values(grad(gg!.sum(), [x])[0]!), [2, 4, 6], 1e-15, 'through the primal');
    expect(caught(() => vjp((a) => a.mul(2), [x])).message).toContain('cotangent');
  });

  it('hvp of a function of two primals that does not use one of them gives zeros for it', () => {
    const x = f64([1, 2], [2]);
    const unused = f64([5], [1]);
    const [fx, [hx, hu]] = hvp((a) => a.pow(3).sum(), [x, unused], [f64([1, -1], [2]), f64([1], [1])]);
    expect(values(fx)).toEqual([9]);
    expect(values(hx!)).toEqual([6, -12]);
    expect(values(hu!)).toEqual([0]);
    expect(caught(() => hvp((a) => a.square(), [x], [f64([1, 1], [2])])).message).toContain('single element');
    expect(caught(() => hvp((a) => a.sum(), [x], [f64([1], [1])])).message).toContain('one tensor per primal');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// A small MLP: loss = Σ (tanh(X W1 + b1) W2 + b2 − Y)² / N, in plain loops with its gradient by hand.

const N = 4, D = 3, H = 5, O = 2;
const SIZES = [D * H, H, H * O, O];                    // W1, b1, W2, b2, flattened in that order
const X = randoms(N * D, 11);
const Y = randoms(N * O, 12);

/** The loss and its gradient with respect to θ = [W1, b1, W2, b2], by the chain rule written out. */
function mlpLossAndGrad(theta: readonly number[]): { loss: number; grad: number[] } {
  const W1 = theta.slice(0, D * H), b1 = theta.slice(D * H, D * H + H);
  const W2 = theta.slice(D * H + H, D * H + H + H * O), b2 = theta.slice(D * H + H + H * O);
  const grad = new Array<number>(theta.length).fill(0);
  let loss = 0;
  for (let n = 0; n < N; n++) {
    const h = new Array<number>(H);
    for (let j = 0; j < H; j++) {
      let z = b1[j]!;
      for (let k = 0; k < D; k++) z += X[n * D + k]! * W1[k * H + j]!;
      h[j] = Math.tanh(z);
    }
    const dh = new Array<number>(H).fill(0);
    for (let o = 0; o < O; o++) {
      let p = b2[o]!;
      for (let j = 0; j < H; j++) p += h[j]! * W2[j * O + o]!;
      const r = p - Y[n * O + o]!;
      loss += (r * r) / N;
      const dp = (2 * r) / N;
      grad[D * H + H + H * O + o]! += dp;
      for (let j = 0; j < H; j++) {
        grad[D * H + H + j * O + o]! += h[j]! * dp;
        dh[j]! += W2[j * O + o]! * dp;
      }
    }
    for (let j = 0; j < H; j++) {
      const dz = dh[j]! * (1 - h[j]! * h[j]!);
      grad[D * H + j]! += dz;
      for (let k = 0; k < D; k++) grad[k * H + j]! += X[n * D + k]! * dz;
    }
  }
  return { loss, grad };
}

function split(flat: readonly number[]): number[][] {
  let at = 0;
  return SIZES.map((n) => flat.slice(at, (at += n)));
}

describe('a Hessian-vector product of a small tanh MLP', () => {
  it('matches central differences of the hand-written float64 gradient', () => {
    const theta = randoms(SIZES.reduce((a, b) => a + b, 0), 21);
    const v = randoms(theta.length, 22);
    const shapes = [[D, H], [H], [H, O], [O]];
    const x = f64(X, [N, D]);
    const y = f64(Y, [N, O]);
    const mlp = (W1: Tensor, b1: Tensor, W2: Tensor, b2: Tensor): Tensor =>
      einsum('nd,dh->nh', x, W1).add(b1).tanh().matmul(W2).add(b2).sub(y).square().sum().div(N);
    const primals = split(theta).map((p, i) => f64(p, shapes[i]!));
    const [loss, hv] = hvp(mlp, primals, split(v).map((p, i) => f64(p, shapes[i]!)));

    const eps = 1e-5;
    const plus = mlpLossAndGrad(theta.map((t, i) => t + eps * v[i]!)).grad;
    const minus = mlpLossAndGrad(theta.map((t, i) => t - eps * v[i]!)).grad;
    const expected = plus.map((p, i) => (p - minus[i]!) / (2 * eps));
    expectClose(values(loss), [mlpLossAndGrad(theta).loss], 1e-13, 'loss');
    expectClose(hv.flatMap((t) => values(t)), expected, 1e-7, 'Hv');
    // The first-order gradient agrees with the hand-written one too (hvp's inner gradient is this one).
    const [, g] = vjp(mlp, primals);
    expectClose(g.flatMap((t) => values(t)), mlpLossAndGrad(theta).grad, 1e-13, 'gradient');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// WGAN-GP: a critic D(x) = tanh(x W + b)·w + c, trained on
//   loss = mean D(fake) − mean D(real) + λ · mean_i (‖∂D(x̂_i)/∂x̂_i‖ − 1)²,  x̂ = ε·real + (1 − ε)·fake.

const B = 6, DX = 3, DH = 4, LAMBDA = 10;
const REAL = randoms(B * DX, 31, 2);
const FAKE = randoms(B * DX, 32, 0.5);
const EPS = randoms(B, 33).map((e) => (e + 1) / 2);
const XHAT = REAL.map((r, i) => EPS[Math.floor(i / DX)]! * r + (1 - EPS[Math.floor(i / DX)]!) * FAKE[i]!);
const CRITIC_SIZES = [DX * DH, DH, DH, 1];             // W, b, w, c

/** The WGAN-GP critic loss in plain loops, with ∂D/∂x written out: W · (w ⊙ (1 − tanh²)). */
function criticLoss(theta: readonly number[]): number {
  const W = theta.slice(0, DX * DH), b = theta.slice(DX * DH, DX * DH + DH), w = theta.slice(DX * DH + DH, DX * DH + 2 * DH), c = theta[DX * DH + 2 * DH]!;
  const hidden = (xs: readonly number[], n: number): number[] => Array.from({ length: DH }, (_, j) => {
    let z = b[j]!;
    for (let k = 0; k < DX; k++) z += xs[n * DX + k]! * W[k * DH + j]!;
    return Math.tanh(z);
  });
  const critic = (xs: readonly number[], n: number): number => hidden(xs, n).reduce((s, h, j) => s + h * w[j]!, c);
  let real = 0, fake = 0, penalty = 0;
  for (let n = 0; n < B; n++) {
    real += critic(REAL, n) / B;
    fake += critic(FAKE, n) / B;
    const h = hidden(XHAT, n);
    let sq = 0;
    for (let k = 0; k < DX; k++) {
      let dk = 0;
      for (let j = 0; j < DH; j++) dk += W[k * DH + j]! * w[j]! * (1 - h[j]! * h[j]!);
      sq += dk * dk;
    }
    penalty += (Math.sqrt(sq) - 1) ** 2 / B;
  }
  return fake - real + LAMBDA * penalty;
}

describe('a WGAN-GP gradient penalty', () => {
  it('has the gradient of the hand-written loss, and SGD on it lowers the loss', () => {
    const theta0 = randoms(CRITIC_SIZES.reduce((a, b) => a + b, 0), 34, 0.8);
    let at = 0;
    const shapes = [[DX, DH], [DH], [DH], []];
    const params = CRITIC_SIZES.map((n, i) => f64(theta0.slice(at, (at += n)), shapes[i]!, true));
    const [W, b, w, c] = params as [Tensor, Tensor, Tensor, Tensor];
    const critic = (xs: Tensor): Tensor => xs.matmul(W).add(b).tanh().matmul(w).add(c);
    const real = f64(REAL, [B, DX]);
    const fake = f64(FAKE, [B, DX]);
    const lossOf = (): Tensor => {
      const xhat = f64(XHAT, [B, DX], true);
      const [gx] = grad(critic(xhat).sum(), [xhat], { createGraph: true });   // row i: ∂D(x̂_i)/∂x̂_i
      const penalty = gx!.square().sum(1).sqrt().sub(1).square().mean();
      return critic(fake).mean().sub(critic(real).mean()).add(penalty.mul(LAMBDA));
    };
    const thetaNow = (): number[] => params.flatMap((p) => values(p));

    // The gradient through the penalty (a second derivative of the critic) against central differences.
    const loss0 = lossOf();
    expectClose(values(loss0), [criticLoss(theta0)], 1e-12, 'loss');
    loss0.backward();
    const h = 1e-6;
    const numeric = theta0.map((_, i) => {
      const up = theta0.slice(), down = theta0.slice();
      up[i]! += h;
      down[i]! -= h;
      return (criticLoss(up) - criticLoss(down)) / (2 * h);
    });
    expectClose(params.flatMap((p) => values(p.grad)), numeric, 1e-6, 'dloss/dθ');

    const sgd = new optim.SGD(params, { lr: 0.01 });
    const losses = [criticLoss(theta0)];
    for (let step = 0; step < 8; step++) {
      sgd.zeroGrad();
      const loss = lossOf();
      expectClose(values(loss), [criticLoss(thetaNow())], 1e-12, `loss at step ${step}`);
      loss.backward();
      sgd.step();
      losses.push(criticLoss(thetaNow()));
    }
    for (let i = 1; i < losses.length; i++) expect(losses[i]!, `step ${i}: ${losses.join(', ')}`).toBeLessThan(losses[i - 1]!);
    expect(losses[losses.length - 1]!).toBeLessThan(losses[0]! - 0.1);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Newton's method on f(x) = ½ xᵀAx − bᵀx: one step from anywhere lands on A⁻¹b.


describe("Newton's method on a quadratic", () => {
  it('one step with the Hessian built column by column from hvp lands on A⁻¹b', () => {
    const n = 6;
    const M = randoms(n * n, 41);
    // A = MᵀM + n·I: symmetric positive definite.
    const A = Array.from({ length: n * n }, (_, idx) => {
      const i = Math.floor(idx / n), j = idx % n;
      let s = i === j ? n : 0;
      for (let k = 0; k < n; k++) s += M[k * n + i]! * M[k * n + j]!;
      return s;
    });
    const bv = randoms(n, 42);
    const x0 = randoms(n, 43, 3);
    const At = f64(A, [n, n]);
    const bt = f64(bv, [n]);
    const f = (x: Tensor): Tensor => einsum('i,ij,j->', x, At, x).mul(0.5).sub(einsum('i,i->', bt, x));

    const x = f64(x0, [n], true);
    const [g] = grad(f(x), [x]);
    const hessian = new Array<number>(n * n);
    for (let j = 0; j < n; j++) {
      const e = f64(Array.from({ length: n }, (_, i) => (i === j ? 1 : 0)), [n]);
      const [, [col]] = hvp(f, [x], [e]);
      values(col!).forEach((v, i) => { hessian[i * n + j] = v; });
    }
    expectClose(hessian, A, 1e-13, 'Hessian');
    const step = solve(hessian, values(g!));
    const x1 = x0.map((v, i) => v - step[i]!);

    const expected = solve(A, bv);
    x1.forEach((v, i) => expect(Math.abs(v - expected[i]!), `x1[${i}] = ${v}, A⁻¹b[${i}] = ${expected[i]}`).toBeLessThan(1e-10));
    // And A·x1 = b, checked with the plain matrix.
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += A[i * n + j]! * x1[j]!;
      expect(Math.abs(s - bv[i]!)).toBeLessThan(1e-10);
    }
  });
});
