/**
 * Every case of the einops and numpy conformance corpora: a valid case must give the expected output
 * shape(s), an invalid one must throw EinjitError. Values are the runtime's business; the front half checks
 * shapes.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EXTENSIONS } from '../conformance/extensions.js';
import { EinjitError } from '../../src/errors.js';
import { checkEinops, checkEinsum, checkPack, checkUnpack, parseShape, verify } from '../../src/ir/index.js';
import { resolveEinsumGroups } from '../../src/ir/einsum-groups.js';

interface EinopsCase {
  id: string;
  op: 'rearrange' | 'reduce' | 'repeat' | 'pack' | 'unpack' | 'parse_shape' | 'einsum';
  pattern: string;
  reduction?: string;
  axes_lengths?: Record<string, number>;
  packed_shapes?: number[][];
  list_input?: boolean;
  inputs: { shape: number[] }[];
  error: boolean;
  expected?: { shape?: number[]; shapes?: number[][]; packed_shapes?: number[][]; dict?: Record<string, number> };
}

interface EinsumCase {
  id: string;
  subscripts: string;
  shapes: number[][];
  valid: boolean;
  expected?: { shape: number[] };
}

const root = new URL('../conformance/', import.meta.url);
const einops = JSON.parse(readFileSync(new URL('einops.json', root), 'utf8')) as { cases: EinopsCase[] };
const einsum = JSON.parse(readFileSync(new URL('einsum.json', root), 'utf8')) as { cases: EinsumCase[] };

/** Runs one einops case and returns what it produced (shapes, or the parse_shape dict). */
function runEinops(c: EinopsCase): unknown {
  const shapes = c.inputs.map((i) => i.shape);
  switch (c.op) {
    case 'rearrange':
    case 'reduce':
    case 'repeat': {
      // A list input is stacked on a new leading axis by the caller.
      const shape = c.list_input === true ? [shapes.length, ...shapes[0]!] : shapes[0]!;
      const recipe = checkEinops(c.op, c.pattern, shape, c.axes_lengths ?? {}, c.op === 'reduce' ? c.reduction : undefined);
      verify(recipe);
      return { shape: recipe.outputShape };
    }
    case 'einsum': {
      const checked = checkEinsum(c.pattern, shapes, 'einsum', 'einops');
      verify(checked);
      return { shape: checked.output.map((id) => checked.axes[id]!.size) };
    }
    case 'pack': {
      const packed = checkPack(c.pattern, shapes);
      verify(packed);
      return { shape: packed.outputShape, packed_shapes: packed.packedShapes };
    }
    case 'unpack': {
      const unpacked = checkUnpack(c.pattern, shapes[0]!, c.packed_shapes!);
      verify(unpacked);
      return { shapes: unpacked.outputShapes };
    }
    case 'parse_shape':
      return { dict: parseShape(c.pattern, shapes[0]!) };
  }
}

function expectedOf(c: EinopsCase): unknown {
  const e = c.expected!;
  switch (c.op) {
    case 'pack':
      return { shape: e.shape, packed_shapes: e.packed_shapes };
    case 'unpack':
      return { shapes: e.shapes };
    case 'parse_shape':
      return { dict: e.dict };
    default:
      return { shape: e.shape };
  }
}

describe('einops conformance corpus', () => {
  const valid = einops.cases.filter((c) => !c.error);
  const invalid = einops.cases.filter((c) => c.error);

  it.each(valid.map((c) => [c.id, c] as const))('%s gives the expected shape', (_id, c) => {
    const got = runEinops(c);
    expect(got).toEqual(expectedOf(c));
    if (c.op === 'parse_shape') expect(Object.keys((got as { dict: object }).dict)).toEqual(Object.keys(c.expected!.dict!));
  });

  it.each(invalid.filter((c) => !EXTENSIONS.has(c.id)).map((c) => [c.id, c] as const))('%s is rejected with an EinjitError', (_id, c) => {
    expect(() => runEinops(c)).toThrow(EinjitError);
  });

  it.each(invalid.filter((c) => EXTENSIONS.has(c.id)).map((c) => [c.id, c] as const))('%s is accepted on purpose (tests/conformance/extensions.ts)', (_id, c) => {
    if (c.id === 'einsum-033') {
      // 'a b -> (a b)' on [5, 1]: opened to 'a b -> a b', whose [5, 1] output einsum merges to [5].
      const g = resolveEinsumGroups(c.pattern, c.inputs.map((i) => i.shape), {})!;
      expect(g.outputGroups).toEqual([2]);
      expect(checkEinsum(g.pattern, g.shapes, 'einsum', 'einops').outputShape).toEqual([5, 1]);
      return;
    }
    // More than 52 names: every name an axis of its own, all summed.
    expect(runEinops(c)).toEqual({ shape: [] });
  });
});

describe('numpy einsum conformance corpus', () => {
  const valid = einsum.cases.filter((c) => c.valid);
  const invalid = einsum.cases.filter((c) => !c.valid);

  it.each(valid.map((c) => [c.id, c] as const))('%s gives the expected shape', (_id, c) => {
    const checked = checkEinsum(c.subscripts, c.shapes, 'einsum', 'numpy');
    verify(checked);
    expect(checked.output.map((id) => checked.axes[id]!.size)).toEqual(c.expected!.shape);
    expect(checked.outputShape).toEqual(c.expected!.shape);
  });

  it.each(invalid.filter((c) => !EXTENSIONS.has(c.id)).map((c) => [c.id, c] as const))('%s is rejected with an EinjitError', (_id, c) => {
    expect(() => checkEinsum(c.subscripts, c.shapes, 'einsum', 'numpy')).toThrow(EinjitError);
  });

  it.each(invalid.filter((c) => EXTENSIONS.has(c.id)).map((c) => [c.id, c] as const))('%s is accepted on purpose (tests/conformance/extensions.ts)', (_id, c) => {
    // 'αβ' on [2, 3]: two indices, implicit output in code-point order (α before β), so the operand itself.
    expect(checkEinsum(c.subscripts, c.shapes, 'einsum', 'numpy').outputShape).toEqual(c.shapes[0]);
  });

  it('reads the same patterns the same way when the syntax is detected automatically', () => {
    for (const c of valid) {
      const checked = checkEinsum(c.subscripts, c.shapes);
      expect(checked.outputShape).toEqual(c.expected!.shape);
    }
    for (const c of einops.cases.filter((x) => x.op === 'einsum' && !x.error)) {
      expect(checkEinsum(c.pattern, c.inputs.map((i) => i.shape)).outputShape).toEqual(c.expected!.shape);
    }
  });
});
