/**
 * Index checks inside a jitted function: embedding and class-target crossEntropy check their indices with a
 * kernel whose small result is read by the host, and a replay runs that check on its own arguments. A valid seed
 * training step (the main job's TokenConvNet: embedding, convolutions, batch norm, cross entropy, grad and an
 * SGD update) replays with the eager step's values; an out-of-range index raises the same EinjitError as eagerly,
 * at the trace call and at a replay, on the CPU before the update runs and on a GPU at the next read.
 */
import { describe, expect, it } from 'vitest';
import { EinjitError, grad, jit, manualSeed, nn, noGrad, tensor, type Device, type Tensor } from '../../src/index.js';
import { DEVICES } from '../helpers/devices.js';

const [VOCAB, EMBD, BATCH, CONTEXT, LR] = [20, 8, 2, 8, 0.1];

/** Token windows [BATCH, CONTEXT] (and their next tokens) with values in 0..VOCAB-1, from `seed`. */
function windows(seed: number, device: Device): { x: Tensor; y: Tensor } {
  const ids = Array.from({ length: BATCH * (CONTEXT + 1) }, (_, i) => (i * 7 + seed * 13 + ((i * i) % 5)) % VOCAB);
  const rows = (shift: number): number[][] => Array.from({ length: BATCH }, (_, b) => ids.slice(b * (CONTEXT + 1) + shift, b * (CONTEXT + 1) + shift + CONTEXT));
  return { x: tensor(rows(0), { dtype: 'int32', device }), y: tensor(rows(1), { dtype: 'int32', device }) };
}

/** A TokenConvNet with the initial weights of seed 7, and its training step: loss, grad, SGD in place. */
function seedStep(device: Device): { model: nn.models.TokenConvNet; step: (x: Tensor, y: Tensor) => Tensor } {
  manualSeed(7);
  const model = new nn.models.TokenConvNet({ vocabSize: VOCAB, nEmbd: EMBD, causal: true, device });
  model.train();
  const params = model.parameters();
  const step = (x: Tensor, y: Tensor): Tensor => {
    const loss = model.loss(model.forward(x), y);
    const grads = grad(loss, params);
    noGrad(() => params.forEach((p, i) => p.sub_(grads[i]!.mul(LR))));
    return loss.detach();
  };
  return { model, step };
}

async function flat(ts: readonly Tensor[]): Promise<number[]> {
  const out: number[] = [];
  for (const t of ts) out.push(...Array.from(await t.data(), Number));
  return out;
}

function expectNear(got: readonly number[], want: readonly number[], tol: number, what: string): void {
  expect(got.length, what).toBe(want.length);
  got.forEach((g, i) => {
    if (!(Math.abs(g - want[i]!) <= tol * (1 + Math.abs(want[i]!)))) throw new Error(`${what} element ${i}: got ${g}, expected ${want[i]}`);
  });
}

/** Runs `call` and reads `read()` after it: the error comes from the call (cpu) or from the read (a GPU). */
async function refusal(call: () => unknown, read: () => Tensor): Promise<unknown> {
  try {
    call();
    await read().data();
  } catch (e) {
    return e;
  }
  return null;
}

function expectIndexError(e: unknown, op: string, bad: number, n: number): void {
  expect(e, `expected ${op} to refuse index ${bad}`).toBeInstanceOf(EinjitError);
  const message = (e as Error).message;
  expect(message).toContain(`${op}:`);
  expect(message).toContain(`index ${bad} is out of range for ${n}`);
  expect(message.toLowerCase()).toContain(`valid indices are 0..${n - 1}`);
}

describe.each(DEVICES)('index checks under jit on %s', (device: Device) => {
  it('the seed training step replays with the eager step\'s losses and weights', async () => {
    const eager = seedStep(device);
    const traced = seedStep(device);
    const jitted = jit(traced.step);
    const eagerLosses: number[] = [];
    const jitLosses: number[] = [];
    for (let s = 0; s < 4; s++) {
      const { x, y } = windows(s % 2, device);
      eagerLosses.push(...await flat([eager.step(x, y)]));
      jitLosses.push(...await flat([jitted(x, y) as Tensor]));
    }
    expect(jitted.stats()!.traces).toBe(1);
    // Fused chains round differently from eager float32 (tests/jit's bound): a few ulps per step, compounded by
    // four steps of training.
    expectNear(jitLosses, eagerLosses, 1e-4, 'loss');
    expectNear(await flat(traced.model.parameters()), await flat(eager.model.parameters()), 1e-4, 'weights after 4 steps');
    expectNear(await flat(traced.model.buffers()), await flat(eager.model.buffers()), 1e-4, 'batch-norm running statistics');
    // Batch 0 again after two updates: a lower loss (the replays trained, they did not repeat the trace's values).
    expect(jitLosses[2]!).toBeLessThan(jitLosses[0]!);
  });

  it('an out-of-range target raises crossEntropy\'s EinjitError at a replay, as eagerly', async () => {
    const { model, step } = seedStep(device);
    const jitted = jit(step);
    const { x, y } = windows(0, device);
    await jitted(x, y) as Tensor;
    const before = await flat(model.parameters());
    const targets = (await y.data()) as Int32Array;
    const bad = tensor(Array.from({ length: BATCH }, (_, b) => Array.from(targets.slice(b * CONTEXT, (b + 1) * CONTEXT))).map((row, b) => (b === 1 ? row.map((v, t) => (t === 2 ? VOCAB + 3 : v)) : row)), { dtype: 'int32', device });
    let out: Tensor | null = null;
    const e = await refusal(() => { out = jitted(x, bad) as Tensor; }, () => out ?? model.wte.weight);
    expectIndexError(e, 'crossEntropy', VOCAB + 3, VOCAB);
    expect(jitted.stats()!.traces, 'a replay, not a retrace').toBe(1);
    // On the CPU the replay stops at the check, before the update; a GPU finds it after the step, as eagerly.
    if (device === 'cpu') expect(await flat(model.parameters())).toEqual(before);
    // The same call eagerly gives the same error.
    const eagerError = await refusal(() => step(x, bad), () => model.wte.weight);
    expectIndexError(eagerError, 'crossEntropy', VOCAB + 3, VOCAB);
    expect((e as Error).message).toBe((eagerError as Error).message);
  });

  it('an out-of-range token raises embedding\'s EinjitError at the trace call and at a replay', async () => {
    const { model, step } = seedStep(device);
    const jitted = jit(step);
    const { x, y } = windows(1, device);
    const negative = tensor([[0, 1, 2, -4, 3, 4, 5, 6], [1, 1, 1, 1, 1, 1, 1, 1]], { dtype: 'int32', device });
    let out: Tensor | null = null;
    expectIndexError(await refusal(() => { out = jitted(negative, y) as Tensor; }, () => out ?? model.wte.weight), 'embedding', -4, VOCAB);
    await jitted(x, y) as Tensor;
    const tooLarge = tensor([[0, 1, 2, 3, 4, 5, 6, VOCAB], [1, 1, 1, 1, 1, 1, 1, 1]], { dtype: 'int32', device });
    out = null;
    expectIndexError(await refusal(() => { out = jitted(tooLarge, y) as Tensor; }, () => out ?? model.wte.weight), 'embedding', VOCAB, VOCAB);
    // After the refusal the function replays normally.
    const loss = await flat([jitted(x, y) as Tensor]);
    expect(Number.isFinite(loss[0])).toBe(true);
    expect(jitted.stats()!.launches).toBeLessThan(jitted.stats()!.eagerLaunches);
  });

  it('ignoreIndex targets pass the check, and float targets that are not whole numbers are refused at a replay', async () => {
    const f = jit((logits: Tensor, target: Tensor) => nn.functional.crossEntropy(logits, target));
    const logits = tensor([[1, 2, 3], [0, 0, 0]], { device });
    const first = await flat([f(logits, tensor([2, -100], { device })) as Tensor]);
    const again = await flat([f(logits, tensor([0, -100], { device })) as Tensor]);
    const lse = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3));
    expectNear(first, [lse - 3], 1e-6, 'mean over the one non-ignored target');
    expectNear(again, [lse - 1], 1e-6, 'replayed on new targets');
    let out: Tensor | null = null;
    const e = await refusal(() => { out = f(logits, tensor([0.5, 1], { device })) as Tensor; }, () => out ?? logits);
    expect(e).toBeInstanceOf(EinjitError);
    expect((e as Error).message).toMatch(/crossEntropy: expected integer indices, got float32 values that are not whole numbers/);
    expect(f.stats()!.traces).toBe(1);
  });
});
