/**
 * Deterministic release: `t.dispose()`, `tidy(fn)` and `using`. Live bytes are read from the backend's own
 * count, which dispose/tidy lower at once; no garbage collection is forced here, so a flat count shows the
 * release is deterministic.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { EinjitError, keep, nn, ones, optim, tensor, tidy, type Device, type Tensor } from '../../src/index.js';
import { getBackend } from '../../src/runtime/backend.js';
import { DEVICES } from '../helpers/devices.js';

function live(device: Device): number {
  return getBackend(device, 'test').liveBytes();
}

// The CPU counts live bytes from the first liveBytes() call on: start counting before any test makes tensors.
beforeAll(() => {
  for (const device of DEVICES) live(device);
});

async function values(t: Tensor): Promise<number[]> {
  return Array.from(await t.data(), Number);
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe.each(DEVICES)('deterministic release on %s', (device) => {
  it('10,000 ops, one tidy per step, keep live bytes flat without any garbage collection', async () => {
    let x = tensor(new Float32Array(4096), { shape: [64, 64], device });
    await x.data();
    const start = live(device);
    let peak = start;
    for (let i = 0; i < 5_000; i++) {
      const next = tidy(() => x.add(1).mul(0.5));
      x.dispose();
      x = next;
      peak = Math.max(peak, live(device));
    }
    expect((await values(x))[0]).toBeCloseTo(1, 5); // x ← (x + 1) / 2 converges to 1
    // Each step allocates two 16 KiB tensors and frees all but one: the count never grows by more than one.
    expect(live(device)).toBeLessThanOrEqual(start);
    expect(peak - start).toBeLessThanOrEqual(2 * 16384);
  }, 120_000);

  it('10,000 ops inside one tidy are all released when it returns, except the result', async () => {
    const x = ones([32, 32], { device });
    await x.data();
    const start = live(device);
    const y = tidy(() => {
      let t = x;
      for (let i = 0; i < 10_000; i++) t = t.add(1);
      return t.sum();
    });
    expect(await values(y)).toEqual([32 * 32 * 10_001]);
    // Only y's storage (one element, padded to 16 bytes on the GPU) is left.
    expect(live(device) - start).toBeLessThanOrEqual(16);
  }, 120_000);

  it('property: tidy frees exactly the tensors it made and does not return, and returned values are right', async () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), c: fc.integer({ min: -3, max: 3 }), from: fc.nat() }),
      fc.record({ kind: fc.constant('mul' as const), c: fc.integer({ min: -2, max: 2 }), from: fc.nat() }),
      fc.record({ kind: fc.constant('sum2' as const), c: fc.nat(), from: fc.nat() }),
    );
    await fc.assert(fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 12 }), fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
      async (ops, returned) => {
        const x = tensor([1, 2, 3], { device });
        const made: Tensor[] = [];
        const reference: number[][] = [];
        const result = tidy(() => {
          const pick = (i: number): [Tensor, number[]] => (made.length === 0 ? [x, [1, 2, 3]] : [made[i % made.length]!, reference[i % made.length]!]);
          for (const o of ops) {
            const [t, r] = pick(o.from);
            if (o.kind === 'add') { made.push(t.add(o.c)); reference.push(r.map((v) => v + o.c)); }
            if (o.kind === 'mul') { made.push(t.mul(o.c)); reference.push(r.map((v) => v * o.c)); }
            if (o.kind === 'sum2') {
              const [u, q] = pick(o.c);
              made.push(t.add(u)); reference.push(r.map((v, i) => v + q[i]!));
            }
          }
          return made.filter((_, i) => returned[i]);
        });
        for (let i = 0; i < made.length; i++) expect(made[i]!.isDisposed).toBe(!returned[i]);
        expect(x.isDisposed).toBe(false);
        const kept = made.map((t, i) => [t, reference[i]!] as const).filter((_, i) => returned[i]);
        expect(result.length).toBe(kept.length);
        for (const [t, r] of kept) expect(await values(t)).toEqual(r);
      },
    ), { numRuns: device === 'cpu' ? 100 : 20 });
  });

  it('nested scopes: the inner result moves to the outer scope, which frees it unless returned', () => {
    const x = ones([4], { device });
    let inner: Tensor | null = null;
    let dropped: Tensor | null = null;
    const outer = tidy(() => {
      inner = tidy(() => {
        dropped = x.mul(3);
        return x.add(1);
      });
      expect(dropped!.isDisposed).toBe(true);
      expect(inner.isDisposed).toBe(false);
      return inner.mul(2);
    });
    expect(inner!.isDisposed).toBe(true);
    expect(outer.isDisposed).toBe(false);
    expect(x.isDisposed).toBe(false);
  });

  it('keeps tensors returned in arrays, objects and Maps, and views of kept storage', async () => {
    const x = ones([2, 2], { device });
    const r = tidy(() => {
      const a = x.add(1);
      const view = x.mul(5).reshape([4]); // a view whose base is created (and otherwise dropped) in the scope
      const gone = x.mul(7);
      return { pair: [a, a.mul(2)], nested: { m: new Map([['v', view]]) }, gone: null as Tensor | null, probe: gone };
    });
    expect(await values(r.pair[0]!)).toEqual([2, 2, 2, 2]);
    expect(await values(r.pair[1]!)).toEqual([4, 4, 4, 4]);
    expect(await values(r.nested.m.get('v')!)).toEqual([5, 5, 5, 5]);
    expect(r.probe.isDisposed).toBe(false); // returned, so kept
    const y = tidy(() => {
      x.reshape([4]); // a view of an outside tensor: its storage is not the scope's to free
      return 1;
    });
    expect(y).toBe(1);
    expect(await values(x)).toEqual([1, 1, 1, 1]);
  });

  it('keep() exempts a tensor; a throwing callback releases everything and rethrows', () => {
    const x = ones([3], { device });
    let kept: Tensor | null = null;
    let other: Tensor | null = null;
    tidy(() => {
      kept = keep(x.add(1));
      other = x.add(2);
    });
    expect(kept!.isDisposed).toBe(false);
    expect(other!.isDisposed).toBe(true);
    let made: Tensor | null = null;
    expect(() => tidy(() => {
      made = x.add(3);
      throw new Error('boom');
    })).toThrow('boom');
    expect(made!.isDisposed).toBe(true);
  });

  it('refuses an async callback instead of letting its tensors escape', () => {
    const e = thrown(() => tidy((async () => ones([1])) as unknown as () => Tensor));
    expect(e).toBeInstanceOf(EinjitError);
    expect((e as Error).message).toMatch(/^tidy: tidy\(\) got an async function/);
  });

  it('dispose twice is fine; using a disposed tensor (or a view of it) is an EinjitError naming the op', async () => {
    const x = ones([3], { device });
    const v = x.reshape([3, 1]);
    x.dispose();
    x.dispose();
    expect(x.isDisposed).toBe(true);
    const e = thrown(() => x.add(1));
    expect(e).toBeInstanceOf(EinjitError);
    expect((e as Error).message).toMatch(/^add scalar: a tensor used by this op was disposed/);
    expect((thrown(() => v.exp()) as Error).message).toMatch(/^exp: .*was disposed/);
    await expect(x.data()).rejects.toThrow(/was disposed/);
  });

  it('Symbol.dispose releases the tensor, so `using` works', () => {
    const x = ones([2], { device });
    let seen: Tensor | null = null;
    {
      using y = x.add(1);
      seen = y;
      expect(y.isDisposed).toBe(false);
    }
    expect(seen.isDisposed).toBe(true);
    expect(typeof x[Symbol.dispose]).toBe('function');
  });

  it('backward through a disposed saved tensor fails clearly, before touching any gradient', () => {
    const w = ones([3], { device, requiresGrad: true });
    const h = w.mul(2);
    const y = h.mul(h).sum(); // mul saves h
    h.dispose();
    const e = thrown(() => y.backward());
    expect(e).toBeInstanceOf(EinjitError);
    expect((e as Error).message).toMatch(/^backward: a tensor needed to compute the gradient of 'mul' was disposed/);
    expect(w.grad).toBeNull();
  });

  it('a module built inside tidy keeps its parameters and buffers', async () => {
    const bn = tidy(() => new nn.BatchNorm1d(2, { device }));
    const lin = tidy(() => new nn.Linear(2, 2, { device }));
    for (const t of [...bn.parameters(), ...lin.parameters(), bn.runningMean, bn.runningVar]) expect(t.isDisposed).toBe(false);
    expect(await values(bn.runningVar)).toEqual([1, 1]);
    const y = lin.forward(ones([1, 2], { device }));
    expect(y.shape).toEqual([1, 2]);
  });

  it('a loss returned from tidy keeps its graph, and a training step inside tidy keeps grads and optimizer state', async () => {
    const lin = new nn.Linear(4, 2, { device });
    const opt = new optim.Adam(lin.parameters(), { lr: 0.1 });
    const x = ones([3, 4], { device });
    const loss = tidy(() => lin.forward(x).square().mean());
    loss.backward(); // the graph behind the returned loss was kept
    expect(lin.weight.grad).not.toBeNull();
    opt.zeroGrad();
    const before = await values(lin.weight);
    let last = 0;
    for (let step = 0; step < 3; step++) {
      const l = tidy(() => {
        opt.zeroGrad();
        const value = lin.forward(x).square().mean();
        value.backward();
        opt.step();
        return value.detach();
      });
      last = (await values(l))[0]!;
    }
    expect(Number.isFinite(last)).toBe(true);
    expect(await values(lin.weight)).not.toEqual(before);
    expect(lin.weight.grad!.isDisposed).toBe(false);
  });
});
