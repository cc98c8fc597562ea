/**
 * What the checked IR says, field by field, for the layers that consume it: einsum axes and ids, einops
 * recipes (elementary axes, reductions, new axes), pack splits and unpack ranges.
 */
import { describe, expect, it } from 'vitest';
import { checkEinops, checkEinsum, checkPack, checkUnpack, detectEinsumSyntax, verify } from '../../src/ir/index.js';

describe('checked einsum', () => {
  it('numbers axes in order of first appearance and lists them per operand', () => {
    const c = checkEinsum('bij,bjk->bik', [[2, 3, 4], [2, 4, 5]]);
    verify(c);
    expect(c.axes).toEqual([{ name: 'b', size: 2 }, { name: 'i', size: 3 }, { name: 'j', size: 4 }, { name: 'k', size: 5 }]);
    expect(c.inputs).toEqual([[0, 1, 2], [0, 2, 3]]);
    expect(c.output).toEqual([0, 1, 3]);
    expect(c.outputShape).toEqual([2, 3, 5]);
  });

  it('writes a diagonal as a repeated id', () => {
    const c = checkEinsum('ii->i', [[4, 4]]);
    expect(c.inputs).toEqual([[0, 0]]);
    expect(c.output).toEqual([0]);
  });

  it('sorts the implicit output with uppercase before lowercase', () => {
    const c = checkEinsum('aB', [[2, 3]]);
    expect(c.output.map((id) => c.axes[id]!.name)).toEqual(['B', 'a']);
    expect(c.outputShape).toEqual([3, 2]);
  });

  it('sums a letter used twice in implicit mode', () => {
    expect(checkEinsum('ij,jk', [[2, 3], [3, 4]]).outputShape).toEqual([2, 4]);
    expect(checkEinsum('ii', [[3, 3]]).outputShape).toEqual([]);
  });

  it('expands the ellipsis into named broadcast axes, right-aligned per operand', () => {
    const c = checkEinsum('...ij,...jk->...ik', [[2, 1, 2, 3], [5, 3, 4]]);
    verify(c);
    expect(c.axes.slice(0, 2)).toEqual([{ name: '...0', size: 2 }, { name: '...1', size: 5 }]);
    expect(c.inputs[0]).toEqual([0, 1, 2, 3]);
    expect(c.inputs[1]).toEqual([1, 3, 4]);
    expect(c.outputShape).toEqual([2, 5, 2, 4]);
  });

  it('binds a size-1 dimension to the larger size so the executor can broadcast it', () => {
    const c = checkEinsum('ij,ij->ij', [[1, 3], [2, 3]]);
    expect(c.axes[0]).toEqual({ name: 'i', size: 2 });
    expect(c.shapes[0]).toEqual([1, 3]);
  });

  it('lets size 1 broadcast against size 0', () => {
    expect(checkEinsum('i,i->i', [[1], [0]]).outputShape).toEqual([0]);
  });

  it('reads einops named axes, with underscores as ordinary names', () => {
    const c = checkEinsum('b t1 head c, b t2 head c -> b head t1 t2', [[2, 3, 2, 4], [2, 5, 2, 4]], 'einsum', 'einops');
    expect(c.axes.map((a) => a.name)).toEqual(['b', 't1', 'head', 'c', 't2']);
    expect(c.outputShape).toEqual([2, 2, 3, 5]);
    expect(checkEinsum('a _ c -> a', [[2, 3, 4]], 'einsum', 'einops').outputShape).toEqual([2]);
  });

  it('detects the syntax from the pattern when not told', () => {
    expect(detectEinsumSyntax('bij,bjk->bik')).toBe('numpy');
    expect(detectEinsumSyntax(' ij , jk -> ik')).toBe('numpy');
    expect(detectEinsumSyntax('i j')).toBe('numpy');
    expect(detectEinsumSyntax('b i j, b j k -> b i k')).toBe('einops');
    expect(detectEinsumSyntax('x1, x1 -> ')).toBe('einops');
    expect(detectEinsumSyntax('(a b) -> a b')).toBe('einops');
  });

  it('keeps the checked IR frozen', () => {
    const c = checkEinsum('ij->ji', [[2, 3]]);
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.axes[0])).toBe(true);
    expect(Object.isFrozen(c.inputs[0])).toBe(true);
  });
});

describe('einops recipes', () => {
  it('views the input as its elementary axes', () => {
    const r = checkEinops('rearrange', 'b (h w) c -> b h w c', [2, 12, 3], { h: 3 });
    verify(r);
    expect(r.elementaryShape).toEqual([2, 3, 4, 3]);
    expect(r.outputAxes).toEqual([0, 1, 2, 3].map((axis) => ({ kind: 'input', axis })));
    expect(r.outputShape).toEqual([2, 3, 4, 3]);
    expect(r.reducedAxes).toEqual([]);
  });

  it('drops unit axes from the elementary view and adds them back in the output shape', () => {
    const r = checkEinops('rearrange', 'a 1 b -> b () a 1', [2, 1, 3]);
    expect(r.elementaryShape).toEqual([2, 3]);
    expect(r.outputAxes).toEqual([{ kind: 'input', axis: 1 }, { kind: 'input', axis: 0 }]);
    expect(r.outputShape).toEqual([3, 1, 2, 1]);
  });

  it('lists the reduced elementary axes, ellipsis and anonymous axes included', () => {
    const r = checkEinops('reduce', '(t 2) ... c -> c t', [4, 5, 6, 3], {}, 'max');
    verify(r);
    expect(r.elementaryShape).toEqual([2, 2, 5, 6, 3]);
    expect(r.reducedAxes).toEqual([1, 2, 3]);
    expect(r.outputAxes).toEqual([{ kind: 'input', axis: 4 }, { kind: 'input', axis: 0 }]);
    expect(r.outputShape).toEqual([3, 2]);
    expect(r.reduction).toBe('max');
  });

  it('marks repeated axes as new, with their sizes', () => {
    const r = checkEinops('repeat', 'h w -> (r h) w 3', [2, 3], { r: 4 });
    verify(r);
    expect(r.outputAxes).toEqual([{ kind: 'new', size: 4 }, { kind: 'input', axis: 0 }, { kind: 'input', axis: 1 }, { kind: 'new', size: 3 }]);
    expect(r.outputShape).toEqual([8, 3, 3]);
  });

  it("treats reduce with 'rearrange' as rearrange, as einops does", () => {
    const r = checkEinops('reduce', 'a b -> b a', [3, 4], {}, 'rearrange');
    expect(r.op).toBe('rearrange');
    expect(r.reduction).toBeNull();
  });

  it("accepts 'custom' for a function reduction", () => {
    expect(checkEinops('reduce', 'a b -> a', [3, 4], {}, 'custom').reduction).toBe('custom');
  });
});

describe('pack and unpack', () => {
  it('splits each input into before, packed and after', () => {
    const p = checkPack('b * c', [[2, 3, 4, 5], [2, 5]]);
    expect(p.outputShape).toEqual([2, 13, 5]);
    expect(p.packedShapes).toEqual([[3, 4], []]);
    expect(p.splits[0]).toEqual({ before: [2], packed: [3, 4], after: [5] });
    expect(p.lengths).toEqual([12, 1]);
    expect(p.axis).toBe(1);
  });

  it('gives the ranges of the packed axis each output takes', () => {
    const u = checkUnpack('b * c', [2, 13, 5], [[3, 4], [-1]]);
    expect(u.outputShapes).toEqual([[2, 3, 4, 5], [2, 1, 5]]);
    expect(u.ranges).toEqual([{ start: 0, stop: 12 }, { start: 12, stop: 13 }]);
  });
});
