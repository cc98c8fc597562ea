/**
 * The second-order workloads of higher-order.test.ts on every device, in float32 (WGSL has no float64): a
 * Hessian-vector product of a tanh MLP, a WGAN-GP gradient penalty trained a few SGD steps, and a Newton step on
 * a quadratic from Hessian-vector products. Expected values come from plain float64 loops written here (the MLP's
 * gradient by hand and its central differences, the critic's loss with its input gradient written out, Gaussian
 * elimination), never from einjit on another device.
 */
import { describe, expect, it } from 'vitest';
import { Tensor, einsum, grad, hvp, optim, tensor, type Device } from '../../src/index.js';
import { DEVICES } from '../helpers/devices.js';
import { expectClose, randoms, solve } from './second-order-helpers.js';

const host = async (t: Tensor): Promise<number[]> => Array.from(await t.data(), Number);


/** Splits a flat parameter vector by sizes. */
function split(flat: readonly number[], sizes: readonly number[]): number[][] {
  let at = 0;
  return sizes.map((n) => flat.slice(at, (at += n)));
}

// A tanh MLP, loss = Σ (tanh(X W1 + b1) W2 + b2 − Y)² / N, and its gradient by the chain rule.
const [N, D, H, O] = [4, 3, 5, 2];
const MLP_SIZES = [D * H, H, H * O, O];
const X = randoms(N * D, 51);
const Y = randoms(N * O, 52);

function mlpGrad(theta: readonly number[]): number[] {
  const [W1, b1, W2, b2] = split(theta, MLP_SIZES) as [number[], number[], number[], number[]];
  const g = new Array<number>(theta.length).fill(0);
  const [oB1, oW2, oB2] = [D * H, D * H + H, D * H + H + H * O];
  for (let n = 0; n < N; n++) {
    const h = Array.from({ length: H }, (_, j) => Math.tanh(X.slice(n * D, n * D + D).reduce((z, x, k) => z + x * W1[k * H + j]!, b1[j]!)));
    const dh = new Array<number>(H).fill(0);
    for (let o = 0; o < O; o++) {
      const p = h.reduce((z, hj, j) => z + hj * W2[j * O + o]!, b2[o]!);
      const dp = (2 * (p - Y[n * O + o]!)) / N;
      g[oB2 + o]! += dp;
      for (let j = 0; j < H; j++) {
        g[oW2 + j * O + o]! += h[j]! * dp;
        dh[j]! += W2[j * O + o]! * dp;
      }
    }
    for (let j = 0; j < H; j++) {
      const dz = dh[j]! * (1 - h[j]! * h[j]!);
      g[oB1 + j]! += dz;
      for (let k = 0; k < D; k++) g[k * H + j]! += X[n * D + k]! * dz;
    }
  }
  return g;
}

// A WGAN-GP critic D(x) = tanh(x W + b)·w + c, loss = mean D(fake) − mean D(real) + λ·mean (‖∂D/∂x̂‖ − 1)².
const [B, DX, DH, LAMBDA] = [6, 3, 4, 10];
const CRITIC_SIZES = [DX * DH, DH, DH, 1];
const REAL = randoms(B * DX, 61, 2);
const FAKE = randoms(B * DX, 62, 0.5);
const MIX = randoms(B, 63).map((e) => (e + 1) / 2);
const XHAT = REAL.map((r, i) => MIX[Math.floor(i / DX)]! * r + (1 - MIX[Math.floor(i / DX)]!) * FAKE[i]!);

function criticLoss(theta: readonly number[]): number {
  const [W, b, w, [c]] = split(theta, CRITIC_SIZES) as [number[], number[], number[], [number]];
  const hidden = (xs: readonly number[], n: number): number[] =>
    Array.from({ length: DH }, (_, j) => Math.tanh(xs.slice(n * DX, n * DX + DX).reduce((z, x, k) => z + x * W[k * DH + j]!, b[j]!)));
  const critic = (xs: readonly number[], n: number): number => hidden(xs, n).reduce((s, h, j) => s + h * w[j]!, c);
  let loss = 0;
  for (let n = 0; n < B; n++) {
    const h = hidden(XHAT, n);
    let sq = 0;
    for (let k = 0; k < DX; k++) {
      let dk = 0;
      for (let j = 0; j < DH; j++) dk += W[k * DH + j]! * w[j]! * (1 - h[j]! * h[j]!);
      sq += dk * dk;
    }
    loss += (critic(FAKE, n) - critic(REAL, n) + LAMBDA * (Math.sqrt(sq) - 1) ** 2) / B;
  }
  return loss;
}


describe.each(DEVICES)('second-order gradients on %s (float32)', (device: Device) => {
  const on = (data: readonly number[], shape: number[], requiresGrad = false): Tensor => tensor(data.slice(), { shape, device, requiresGrad });

  it('a Hessian-vector product of a tanh MLP matches central differences of the hand-written gradient', async () => {
    const theta = randoms(MLP_SIZES.reduce((a, b) => a + b, 0), 71);
    const v = randoms(theta.length, 72);
    const shapes = [[D, H], [H], [H, O], [O]];
    const [x, y] = [on(X, [N, D]), on(Y, [N, O])];
    const mlp = (W1: Tensor, b1: Tensor, W2: Tensor, b2: Tensor): Tensor =>
      einsum('nd,dh->nh', x, W1).add(b1).tanh().matmul(W2).add(b2).sub(y).square().sum().div(N);
    const [, hv] = hvp(mlp, split(theta, MLP_SIZES).map((p, i) => on(p, shapes[i]!)), split(v, MLP_SIZES).map((p, i) => on(p, shapes[i]!)));
    expect(hv.every((t) => t.device === device)).toBe(true);
    const eps = 1e-5;
    const plus = mlpGrad(theta.map((t, i) => t + eps * v[i]!));
    const minus = mlpGrad(theta.map((t, i) => t - eps * v[i]!));
    expectClose((await Promise.all(hv.map(host))).flat(), plus.map((p, i) => (p - minus[i]!) / (2 * eps)), 1e-4, 'Hv');
  });

  it('a WGAN-GP gradient penalty has the loss of the float64 loop and SGD on it lowers that loss', async () => {
    const theta0 = randoms(CRITIC_SIZES.reduce((a, b) => a + b, 0), 73, 0.8);
    const shapes = [[DX, DH], [DH], [DH], []];
    const params = split(theta0, CRITIC_SIZES).map((p, i) => on(p, shapes[i]!, true));
    const [W, b, w, c] = params as [Tensor, Tensor, Tensor, Tensor];
    const critic = (xs: Tensor): Tensor => xs.matmul(W).add(b).tanh().matmul(w).add(c);
    const [real, fake] = [on(REAL, [B, DX]), on(FAKE, [B, DX])];
    const lossOf = (): Tensor => {
      const xhat = on(XHAT, [B, DX], true);
      const [gx] = grad(critic(xhat).sum(), [xhat], { createGraph: true });
      return critic(fake).mean().sub(critic(real).mean()).add(gx.square().sum(1).sqrt().sub(1).square().mean().mul(LAMBDA));
    };
    const thetaNow = async (): Promise<number[]> => (await Promise.all(params.map(host))).flat();

    const loss0 = lossOf();
    expectClose(await host(loss0), [criticLoss(theta0)], 1e-5, 'loss');
    loss0.backward();
    const h = 1e-6;
    const numeric = theta0.map((_, i) => {
      const [up, down] = [theta0.slice(), theta0.slice()];
      up[i]! += h;
      down[i]! -= h;
      return (criticLoss(up) - criticLoss(down)) / (2 * h);
    });
    expectClose((await Promise.all(params.map((p) => host(p.grad!)))).flat(), numeric, 1e-3, 'dloss/dθ');

    const sgd = new optim.SGD(params, { lr: 0.01 });
    const losses = [criticLoss(theta0)];
    for (let step = 0; step < 5; step++) {
      sgd.zeroGrad();
      lossOf().backward();
      sgd.step();
      losses.push(criticLoss(await thetaNow()));
    }
    for (let i = 1; i < losses.length; i++) expect(losses[i]!, `step ${i}: ${losses.join(', ')}`).toBeLessThan(losses[i - 1]!);
  });

  it("Newton's step with the Hessian built from hvp lands on A⁻¹b", async () => {
    const n = 5;
    const M = randoms(n * n, 81);
    const A = Array.from({ length: n * n }, (_, idx) => {
      const [i, j] = [Math.floor(idx / n), idx % n];
      let s = i === j ? n : 0;
      for (let k = 0; k < n; k++) s += M[k * n + i]! * M[k * n + j]!;
      return s;
    });
    const bv = randoms(n, 82);
    const x0 = randoms(n, 83, 3);
    const [At, bt] = [on(A, [n, n]), on(bv, [n])];
    const f = (x: Tensor): Tensor => einsum('i,ij,j->', x, At, x).mul(0.5).sub(einsum('i,i->', bt, x));
    const x = on(x0, [n], true);
    const g = await host(grad(f(x), [x])[0]);
    const hessian = new Array<number>(n * n);
    for (let j = 0; j < n; j++) {
      const [, [col]] = hvp(f, [x], [on(Array.from({ length: n }, (_, i) => (i === j ? 1 : 0)), [n])]);
      (await host(col)).forEach((v, i) => { hessian[i * n + j] = v; });
    }
    expectClose(hessian, A, 1e-5, 'Hessian');
    const step = solve(hessian, g);
    expectClose(x0.map((v, i) => v - step[i]!), solve(A, bv), 1e-4, 'x1 against A⁻¹b');
  });
});
