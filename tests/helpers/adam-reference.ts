/** PyTorch's Adam and AdamW written out on float64 numbers, for tests of einjit's optimizers. */

export interface AdamReferenceOptions {
  /** The learning rate, or one per step (a schedule). */
  readonly lr: number | readonly number[];
  readonly weightDecay?: number;
  readonly maximize?: boolean;
  readonly decoupled: boolean;
}

/** The parameter after each step, from `p0` and one gradient per step (betas 0.9, 0.999; eps 1e-8). */
export function adamReference(p0: readonly number[], grads: readonly (readonly number[])[], o: AdamReferenceOptions): number[][] {
  let p = p0.slice();
  let m = p.map(() => 0);
  let v = p.map(() => 0);
  const [b1, b2, eps] = [0.9, 0.999, 1e-8];
  const wd = o.weightDecay ?? (o.decoupled ? 0.01 : 0);
  return grads.map((g0, k) => {
    const t = k + 1;
    const lr = typeof o.lr === 'number' ? o.lr : o.lr[k]!;
    let g = o.maximize === true ? g0.map((x) => -x) : g0.slice();
    if (o.decoupled) p = p.map((x) => x * (1 - lr * wd));
    else g = g.map((x, i) => x + wd * p[i]!);
    m = m.map((x, i) => b1 * x + (1 - b1) * g[i]!);
    v = v.map((x, i) => b2 * x + (1 - b2) * g[i]! * g[i]!);
    p = p.map((x, i) => x - lr * (m[i]! / (1 - b1 ** t)) / (Math.sqrt(v[i]! / (1 - b2 ** t)) + eps));
    return p;
  });
}
