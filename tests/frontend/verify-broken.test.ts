/**
 * The IR invariant checker handed deliberately broken IR: one case per invariant it checks. Each case starts
 * from a correct record the compiler built, breaks exactly one invariant, and asserts that `verify` throws an
 * EinjitError naming that invariant (the exact reason and hint), so removing or weakening a check fails here.
 * The correct records themselves must pass, so a check that fires on correct IR fails here too.
 */
import { describe, expect, it } from 'vitest';
import { EinjitError } from '../../src/errors.js';
import { checkEinops, checkEinsum, checkPack, checkUnpack, verify } from '../../src/ir/index.js';

const HINT = 'this is a bug in einjit; please report it with the pattern and shapes';

function deepFreeze<T>(x: T): T {
  if (x !== null && typeof x === 'object' && !Object.isFrozen(x)) {
    Object.freeze(x);
    for (const v of Object.values(x as Record<string, unknown>)) deepFreeze(v);
  }
  return x;
}

/** A deep, mutable copy of a correct record, changed by `edit`, then frozen like the compiler's records. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function broken<T>(base: T, edit: (x: any) => void, freeze = true): T {
  const copy = structuredClone(base);
  edit(copy);
  return freeze ? deepFreeze(copy) : copy;
}

function violation(ir: unknown): EinjitError {
  let err: unknown;
  try {
    verify(ir);
  } catch (e) {
    err = e;
  }
  expect(err, 'verify accepted broken IR').toBeInstanceOf(EinjitError);
  return err as EinjitError;
}

function expectViolation(ir: unknown, what: string): void {
  const e = violation(ir);
  expect(e.reason).toBe(`IR invariant violated: ${what}`);
  expect(e.hint).toBe(HINT);
}

// Correct records, built by the compiler.
const matmul = checkEinsum('ij,jk->ik', [[2, 3], [3, 4]]);
const ellipsis = checkEinsum('...i,j->...ij', [[2, 3], [4]]);
const diagonal = checkEinsum('ii->i', [[3, 3]]);
const broadcast = checkEinsum('ij,ij->ij', [[1, 3], [2, 3]]);
const empty = checkEinsum('i,i->i', [[1], [0]]);
const transpose = checkEinops('rearrange', 'a b -> b a', [2, 3]);
const reduce = checkEinops('reduce', 'a b -> a', [2, 3], {}, 'sum');
const repeat = checkEinops('repeat', 'a -> a r', [2], { r: 3 });
const anonymous = checkEinops('repeat', 'a -> a 2', [2]);
const ellipsisMove = checkEinops('rearrange', '... c -> c ...', [2, 3]);
const pack = checkPack('b * c', [[2, 3, 4, 5], [2, 5]]);
const unpack = checkUnpack('b * c', [2, 13, 5], [[3, 4], [-1]]);
const unpackEmpty = checkUnpack('b *', [2, 3], [[0], [-1]]);

describe('verify accepts what the compiler builds', () => {
  it.each([
    ['matmul', matmul], ['ellipsis', ellipsis], ['diagonal', diagonal], ['broadcast', broadcast], ['size 0', empty],
    ['einsum IR', matmul.ir], ['einsum IR with an ellipsis', ellipsis.ir],
    ['rearrange', transpose], ['reduce', reduce], ['repeat', repeat], ['anonymous repeat', anonymous],
    ['transform IR', reduce.ir], ['pack', pack], ['unpack', unpack], ['unpack with an empty part', unpackEmpty],
  ] as const)('%s', (_, ir) => {
    expect(() => verify(ir)).not.toThrow();
  });

  it('looks 6 levels deep for unfrozen parts, no deeper', () => {
    // An extra field holding a chain of frozen objects that ends in an unfrozen one at a given depth (the IR is 0).
    const chain = (links: number): unknown => (links === 0 ? {} : Object.freeze({ next: chain(links - 1) }));
    const withUnfrozenAt = (depth: number): unknown => Object.freeze({ ...matmul.ir, extra: chain(depth - 1) });
    expect(() => verify(withUnfrozenAt(7))).not.toThrow();
    expectViolation(withUnfrozenAt(6), 'einsum IR is frozen');
    expectViolation(withUnfrozenAt(1), 'einsum IR is frozen');
  });
});

describe('verify: any record', () => {
  it.each([null, undefined, 5, 'ij->ji', true])('refuses %s as not an object', (x) => {
    expectViolation(x, 'IR is an object');
  });

  it.each([{}, { axes: 1 }, { inputs: 1 }, { output: 1 }, { axes: 1, inputs: 1 }, { axes: 1, output: 1 }, { inputs: 1, output: 1 }, { kind: 'other' }])(
    'refuses %j as an unknown record',
    (x) => {
      expectViolation(x, 'unknown IR record');
    },
  );
});

describe('verify: einsum IR', () => {
  it('refuses repeated axis names', () => {
    expectViolation(broken(matmul.ir, (x) => { x.axisNames[1] = 'i'; }), 'einsum axis names are distinct');
  });

  it('refuses a missing term', () => {
    expectViolation(broken(matmul.ir, (x) => { x.terms.pop(); }), 'one term per operand');
  });

  it.each([[-1], [0.5], [3], [Number.NaN]])('refuses the operand axis id %s', (id) => {
    expectViolation(broken(matmul.ir, (x) => { x.inputs[1][1] = id; }), 'operand 1 axis ids are in range');
  });

  it('refuses dims that differ from the written term', () => {
    expectViolation(broken(matmul.ir, (x) => { x.inputs[1] = [2, 1]; }), 'operand 1 dims match its written term');
  });

  it('refuses two ellipses in one term', () => {
    expectViolation(
      broken(ellipsis.ir, (x) => { x.terms[0].push({ kind: 'ellipsis', axes: [] }); }),
      'operand 0 has at most one ellipsis',
    );
  });

  it('refuses a repeated output axis', () => {
    expectViolation(
      broken(matmul.ir, (x) => { x.output = [0, 0]; x.outputTerm = [{ kind: 'axis', axis: 0 }, { kind: 'axis', axis: 0 }]; }),
      'output axes are distinct',
    );
  });

  it('refuses an output that differs from its written term', () => {
    expectViolation(broken(matmul.ir, (x) => { x.output = [2, 0]; }), 'output matches its written term');
  });

  it('refuses an output axis no operand has', () => {
    const ir = broken(checkEinsum('i->i', [[2]]).ir, (x) => {
      x.axisNames.push('j');
      x.output = [1];
      x.outputTerm = [{ kind: 'axis', axis: 1 }];
    });
    expectViolation(ir, 'every output axis appears in an input');
  });

  it('refuses an ellipsis axis not named ...i, or out of range', () => {
    expectViolation(broken(matmul.ir, (x) => { x.ellipsisAxes = [1]; }), 'ellipsis axes are named ...i');
    expectViolation(broken(matmul.ir, (x) => { x.ellipsisAxes = [3]; }), 'ellipsis axes are named ...i');
  });

  it('refuses an axis no operand uses', () => {
    expectViolation(broken(matmul.ir, (x) => { x.axisNames.push('z'); }), 'axis 3 is used by some operand');
  });

  it('refuses IR that is not frozen, at the top or inside', () => {
    expectViolation(broken(matmul.ir, () => undefined, false), 'einsum IR is frozen');
    expectViolation(Object.freeze({ ...matmul.ir, inputs: [[0, 1], [1, 2]] }), 'einsum IR is frozen');
    const inner = broken(ellipsis.ir, () => undefined, false);
    deepFreeze(inner.terms[1]);
    Object.freeze(inner.terms[0]![1]);
    Object.freeze(inner.terms[0]![0]);
    Object.freeze(inner.terms[0]);
    Object.freeze(inner.terms);
    for (const k of Object.keys(inner)) if (k !== 'terms') deepFreeze((inner as unknown as Record<string, unknown>)[k]);
    Object.freeze(inner);
    // Only terms[0][0].axes, at depth 4, is left unfrozen.
    expectViolation(inner, 'einsum IR is frozen');
  });
});

describe('verify: checked einsum', () => {
  it('refuses a missing shape', () => {
    expectViolation(broken(matmul, (x) => { x.shapes.pop(); }), 'one shape per operand');
  });

  it.each([[-1], [1.5], [Number.NaN], [2 ** 53]])('refuses the axis size %s', (size) => {
    expectViolation(broken(matmul, (x) => { x.axes[2].size = size; }), 'axis 2 has a size');
  });

  it('refuses a shape whose rank differs from the operand', () => {
    expectViolation(broken(matmul, (x) => { x.shapes[1] = [3, 4, 1]; }), 'operand 1 rank matches its shape');
  });

  it.each([[-1], [0.5], [3]])('refuses the dim id %s', (id) => {
    // The checked record's own inputs, not its IR's (the two share one array in the compiler's records).
    expectViolation(broken(matmul, (x) => { x.inputs = [[0, 1], [1, id]]; }), 'operand 1 dim 1 id in range');
  });

  it('refuses a dimension that neither fits its axis nor broadcasts', () => {
    expectViolation(broken(matmul, (x) => { x.shapes[1] = [3, 5]; }), 'operand 1 dim 1 fits axis k (or broadcasts)');
  });

  it('refuses a diagonal whose dims differ', () => {
    expectViolation(broken(diagonal, (x) => { x.shapes[0] = [3, 1]; }), 'operand 0 diagonal dims are equal');
  });

  it('refuses an output shape that is not the sizes of the output axes', () => {
    expectViolation(broken(matmul, (x) => { x.outputShape = [2, 3]; }), 'outputShape = sizes of output axes');
  });

  it('checks its einsum IR too', () => {
    expectViolation(broken(matmul, (x) => { x.ir.axisNames[1] = 'i'; }), 'einsum axis names are distinct');
  });
});

describe('verify: transform IR', () => {
  it.each([['left'], ['right']])('refuses an axis id out of range on the %s', (side) => {
    expectViolation(broken(transpose.ir, (x) => { x[side][0].axes = [2]; }), 'transform axis ids are in range');
    expectViolation(broken(transpose.ir, (x) => { x[side][0].axes = [-1]; }), 'transform axis ids are in range');
  });

  it('refuses an axis twice on one side', () => {
    expectViolation(broken(transpose.ir, (x) => { x.left[1].axes = [0]; }), 'each axis appears at most once on the left');
    expectViolation(broken(transpose.ir, (x) => { x.right[1].axes = [1]; }), 'each axis appears at most once on the right');
  });

  it('refuses a wrongly recorded side', () => {
    expectViolation(broken(reduce.ir, (x) => { x.axes[1].side = 'both'; }), 'axis b side is recorded correctly');
    expectViolation(broken(reduce.ir, (x) => { x.axes[0].side = 'left'; }), 'axis a side is recorded correctly');
    expectViolation(broken(repeat.ir, (x) => { x.axes[1].side = 'left'; }), 'axis r side is recorded correctly');
    expectViolation(broken(repeat.ir, (x) => { x.axes[1].side = 'both'; }), 'axis r side is recorded correctly');
  });

  it('refuses an axis on neither side recorded as on one', () => {
    const ir = broken(reduce.ir, (x) => { x.axes.push({ name: 'z', kind: 'named', value: null, side: 'left' }); });
    expectViolation(ir, 'axis z appears on a side');
  });

  it("refuses an axis on neither side even when its side says 'none' (a mutant that survived)", () => {
    const ir = broken(reduce.ir, (x) => { x.axes.push({ name: 'z', kind: 'named', value: null, side: 'none' }); });
    expectViolation(ir, 'axis z appears on a side');
  });

  it('refuses a value on a named axis, and none on an anonymous one', () => {
    expectViolation(broken(transpose.ir, (x) => { x.axes[0].value = 2; }), 'axis a has a value iff anonymous');
    expectViolation(broken(anonymous.ir, (x) => { x.axes[1].value = null; }), 'axis 2 has a value iff anonymous');
  });

  it('refuses an ellipsis axis of another kind, and a named axis of the ellipsis kind', () => {
    expectViolation(broken(ellipsisMove.ir, (x) => { x.axes[0].kind = 'named'; }), 'axis ...0 is an ellipsis axis iff named ...i');
    expectViolation(broken(ellipsisMove.ir, (x) => { x.axes[1].kind = 'ellipsis'; }), 'axis c is an ellipsis axis iff named ...i');
  });

  it('refuses a rearrange that drops an axis', () => {
    expectViolation(broken(reduce.ir, (x) => { x.op = 'rearrange'; }), 'rearrange keeps every axis');
  });

  it('refuses a reduce that creates an axis', () => {
    expectViolation(broken(repeat.ir, (x) => { x.op = 'reduce'; }), 'reduce creates no axes');
  });

  it('refuses a repeat that removes an axis', () => {
    expectViolation(broken(reduce.ir, (x) => { x.op = 'repeat'; }), 'repeat removes no axes');
  });

  it.each([[2], [-1], [0.5]])('refuses the given axis %s', (id) => {
    expectViolation(broken(repeat.ir, (x) => { x.given = [id]; }), 'given lengths name axes');
  });

  it('refuses IR that is not frozen', () => {
    expectViolation(broken(reduce.ir, () => undefined, false), 'transform IR is frozen');
  });
});

describe('verify: einops recipe', () => {
  it('checks its transform IR too', () => {
    expectViolation(broken(reduce, (x) => { x.ir.given = [7]; }), 'given lengths name axes');
  });

  it('refuses an input rank that differs from the left side', () => {
    expectViolation(broken(transpose, (x) => { x.inputShape = [2, 3, 1]; }), 'one left entry per input dimension');
  });

  it('refuses an elementary shape of another size, except for an empty input', () => {
    expectViolation(broken(transpose, (x) => { x.elementaryShape = [2, 4]; }), 'elementary shape has the input size');
    // A zero-size input is exempt: its elementary lengths cannot all be recovered from the product.
    const zero = broken(transpose, (x) => { x.inputShape = [0, 3]; x.elementaryShape = [2, 3]; x.outputShape = [3, 2]; });
    expect(() => verify(zero)).not.toThrow();
  });

  it.each([[2], [-1], [0.5]])('refuses the reduced axis %s', (a) => {
    expectViolation(broken(reduce, (x) => { x.reducedAxes = [a]; }), 'reduced axes in range');
  });

  it.each([[2], [-1], [0.5]])('refuses the kept axis %s', (a) => {
    expectViolation(broken(reduce, (x) => { x.outputAxes = [{ kind: 'input', axis: a }]; }), 'kept axes in range');
  });

  it('refuses a kept axis twice', () => {
    expectViolation(broken(transpose, (x) => { x.outputAxes[1].axis = 1; }), 'kept axes distinct');
  });

  it('refuses an axis both kept and reduced', () => {
    expectViolation(broken(reduce, (x) => { x.reducedAxes = [0]; }), 'a kept axis is not reduced');
  });

  it('refuses an elementary axis neither kept nor reduced', () => {
    expectViolation(broken(reduce, (x) => { x.reducedAxes = []; }), 'every elementary axis is kept or reduced');
    expectViolation(broken(transpose, (x) => { x.outputAxes.pop(); }), 'every elementary axis is kept or reduced');
  });

  it('refuses a reduction outside reduce', () => {
    expectViolation(broken(reduce, (x) => { x.op = 'rearrange'; }), 'only reduce reduces');
    expectViolation(broken(reduce, (x) => { x.op = 'repeat'; }), 'only reduce reduces');
  });

  it('refuses a new axis outside repeat', () => {
    expectViolation(broken(repeat, (x) => { x.op = 'rearrange'; }), 'only repeat adds axes');
    expectViolation(broken(repeat, (x) => { x.op = 'reduce'; }), 'only repeat adds axes');
  });

  it('refuses an output shape of another size', () => {
    expectViolation(broken(transpose, (x) => { x.outputShape = [3, 3]; }), 'output shape has the size of the output axes');
    expectViolation(broken(repeat, (x) => { x.outputShape = [2, 4]; }), 'output shape has the size of the output axes');
  });

  it('refuses an output rank that differs from the right side', () => {
    expectViolation(broken(transpose, (x) => { x.outputShape = [6]; }), 'one output dimension per right entry');
  });
});

describe('verify: pack and unpack', () => {
  it('refuses a split count that differs from the packed shapes', () => {
    expectViolation(broken(pack, (x) => { x.splits.pop(); }), 'one split per packed tensor');
  });

  it('refuses a packed axis that is not the sum of the parts', () => {
    expectViolation(broken(pack, (x) => { x.outputShape[1] = 12; }), 'packed axis length is the sum of the parts');
    expectViolation(broken(pack, (x) => { x.lengths = [12, 2]; }), 'packed axis length is the sum of the parts');
  });

  it('refuses a range whose length is not its part length', () => {
    expectViolation(broken(unpack, (x) => { x.ranges[1].stop = 12; }), 'range lengths');
    expectViolation(broken(unpack, (x) => { x.lengths = [12, 2]; }), 'range lengths');
  });

  it('refuses ranges out of order', () => {
    const ir = broken(unpack, (x) => { x.ranges = [{ start: 1, stop: 13 }, { start: 0, stop: 1 }]; x.lengths = [12, 1]; });
    expectViolation(ir, 'ranges in order');
  });
});
