/**
 * Every valid einsum and einops conformance case, computed for real and compared with the values numpy and
 * einops produced, on every device, with contiguous and non-contiguous inputs. Every invalid case must throw
 * EinjitError.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  EinjitError, einsum, pack, parseShape, rearrange, reduce, repeat, tensor, unpack, type Device, type Tensor,
} from '../../src/index.js';
import { DEVICES } from '../helpers/devices.js';
import { referenceEinsum } from '../reference/einsum.js';
import { EXTENSIONS } from './extensions.js';

const here = new URL('.', import.meta.url);
const einsumCorpus = JSON.parse(readFileSync(new URL('einsum.json', here), 'utf8'));
const einopsCorpus = JSON.parse(readFileSync(new URL('einops.json', here), 'utf8'));

/** numpy's einsum inputs: operand k, element i (float64, evaluated exactly as the header says). */
function einsumValue(i: number, k: number): number {
  let t = i * 0.37;
  t = t + 1.3;
  t = t + 0.11 * k;
  t = t % 7;
  return t - 3.1;
}

function einopsValue(k: number, offset: number): number {
  return Math.fround((((k + offset) * 0.37 + 1.3) % 7) - 3.1);
}

const numel = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** A tensor with `values`, laid out contiguously or as a transposed (non-contiguous) view. */
async function makeTensor(values: number[], shape: number[], dtype: 'float32' | 'float64', device: Device, layout: 'contiguous' | 'strided'): Promise<Tensor> {
  let t = tensor(values, { shape, dtype });
  if (layout === 'strided' && shape.length >= 2) {
    const rev = shape.map((_, i) => shape.length - 1 - i);
    t = t.permute(rev).contiguous().permute(rev);
  }
  return device === 'cpu' ? t : t.to(device);
}

async function values(t: Tensor): Promise<number[]> {
  return Array.from(await t.data() as ArrayLike<number>);
}

describe('einsum conformance (numpy 2.4) with values', () => {
  it('regenerates the corpus inputs exactly (header check values)', () => {
    for (const c of einsumCorpus.header.input_check_values) expect(einsumValue(c.i, c.k)).toBe(c.value);
  });
  for (const device of DEVICES) {
    for (const layout of ['contiguous', 'strided'] as const) {
      describe(`${device}, ${layout} inputs`, () => {
        for (const c of einsumCorpus.cases) {
          if (!c.valid) continue;
          it(`${c.id}: ${c.subscripts}`, async () => {
            const dtype = device === 'cpu' ? 'float64' : 'float32';
            const ops = await Promise.all(c.shapes.map((s: number[], k: number) =>
              makeTensor(Array.from({ length: numel(s) }, (_, i) => einsumValue(i, k)), s, dtype, device, layout)));
            const out = einsum(c.subscripts, ...ops);
            expect(out.shape).toEqual(c.expected.shape);
            const got = await values(out);
            const tol = 1e-4 * Math.max(c.abs_scale, 1e-3) + 1e-6;
            got.forEach((v, i) => {
              const want = c.expected.values[i];
              if (!(Math.abs(v - want) <= tol)) expect.fail(`element ${i}: got ${v}, want ${want} (tol ${tol})`);
            });
          });
        }
      });
    }
  }
  describe('invalid cases throw EinjitError', () => {
    for (const c of einsumCorpus.cases) {
      if (c.valid) continue;
      it(`${c.id}: ${JSON.stringify(c.subscripts)}`, () => {
        const ops = c.shapes.map((s: number[]) => tensor(new Float64Array(numel(s)), { shape: s }));
        if (EXTENSIONS.has(c.id)) {
          // Accepted on purpose (see extensions.ts): the result must be the oracle's.
          const data = c.shapes.map((s: number[], k: number) => ({ shape: s, data: Array.from({ length: numel(s) }, (_, i) => einsumValue(i, k)) }));
          const got = einsum(c.subscripts, ...data.map((d: { shape: number[]; data: number[] }) => tensor(d.data, { shape: d.shape, dtype: 'float64' })));
          const want = referenceEinsum(c.subscripts, data);
          expect(got.shape).toEqual(want.shape);
          expect(Array.from(got.dataSync() as Float64Array)).toEqual(Array.from(want.data));
          return;
        }
        expect(() => einsum(c.subscripts, ...ops)).toThrow(EinjitError);
      });
    }
  });
});

describe('einops conformance (einops 0.9) with values', () => {
  for (const device of DEVICES) {
    for (const layout of ['contiguous', 'strided'] as const) {
      describe(`${device}, ${layout} inputs`, () => {
        for (const c of einopsCorpus.cases) {
          if (c.error) continue;
          it(`${c.id}: ${c.op} ${JSON.stringify(c.pattern)}`, async () => {
            const inputs = await Promise.all(c.inputs.map((inp: { shape: number[]; offset: number }) =>
              makeTensor(Array.from({ length: numel(inp.shape) }, (_, k) => einopsValue(k, inp.offset)), inp.shape, 'float32', device, layout)));
            const x = c.list_input ? inputs : inputs[0];
            const check = async (t: Tensor, shape: number[], want: number[], loose: boolean): Promise<void> => {
              expect(t.shape).toEqual(shape);
              const got = await values(t);
              expect(got.length).toBe(want.length);
              got.forEach((v, i) => {
                const w = want[i]!;
                const ok = loose ? Math.abs(v - w) <= 1e-4 + 1e-4 * Math.abs(w)
                  : Number(v.toPrecision(6)) === w || Math.abs(v - w) <= 1e-5 * Math.max(1, Math.abs(w));
                if (!ok) expect.fail(`element ${i}: got ${v}, want ${w}`);
              });
            };
            switch (c.op) {
              case 'rearrange': {
                const out = rearrange(x, c.pattern, c.axes_lengths);
                await check(out, c.expected.shape, c.expected.values, false);
                break;
              }
              case 'repeat': {
                const out = repeat(x, c.pattern, c.axes_lengths);
                await check(out, c.expected.shape, c.expected.values, false);
                break;
              }
              case 'reduce': {
                const out = reduce(x, c.pattern, c.reduction, c.axes_lengths);
                if (c.expected.dtype === 'bool') expect(out.dtype).toBe('bool');
                const loose = !['max', 'min', 'any', 'all'].includes(c.reduction);
                await check(out, c.expected.shape, c.expected.values, loose);
                break;
              }
              case 'einsum': {
                const out = einsum(...inputs, c.pattern);
                await check(out, c.expected.shape, c.expected.values, true);
                break;
              }
              case 'pack': {
                const [packed, shapes] = pack(inputs, c.pattern);
                expect(shapes).toEqual(c.expected.packed_shapes);
                await check(packed, c.expected.shape, c.expected.values, false);
                break;
              }
              case 'unpack': {
                const outs = unpack(inputs[0], c.packed_shapes, c.pattern);
                expect(outs.length).toBe(c.expected.shapes.length);
                for (let i = 0; i < outs.length; i++) await check(outs[i]!, c.expected.shapes[i], c.expected.values[i], false);
                break;
              }
              case 'parse_shape': {
                expect(parseShape(inputs[0], c.pattern)).toEqual(c.expected.dict);
                break;
              }
              default:
                expect.fail(`unknown op ${c.op}`);
            }
          });
        }
      });
    }
  }
  describe('invalid cases throw EinjitError', () => {
    for (const c of einopsCorpus.cases) {
      if (!c.error) continue;
      it(`${c.id}: ${c.op} ${JSON.stringify(c.pattern)}`, () => {
        const inputs = c.inputs.map((inp: { shape: number[] }) => tensor(new Float32Array(numel(inp.shape)), { shape: inp.shape }));
        const x = c.list_input ? inputs : inputs[0];
        const run = (): unknown => {
          switch (c.op) {
            case 'rearrange': return rearrange(x, c.pattern, c.axes_lengths);
            case 'repeat': return repeat(x, c.pattern, c.axes_lengths);
            case 'reduce': return reduce(x, c.pattern, c.reduction, c.axes_lengths);
            case 'einsum': return einsum(...inputs, c.pattern);
            case 'pack': return pack(inputs, c.pattern);
            case 'unpack': return unpack(inputs[0], c.packed_shapes, c.pattern);
            case 'parse_shape': return parseShape(inputs[0], c.pattern);
            default: throw new Error(`unknown op ${c.op}`);
          }
        };
        if (EXTENSIONS.has(c.id)) {
          // Accepted on purpose (see extensions.ts): the named axes read as the oracle's letters would.
          const got = run() as Tensor;
          const words = c.pattern.split('->')[0].trim().split(/\s+/);
          const right: string = c.pattern.split('->')[1];
          const out = right.replace(/[()]/g, ' ').trim().split(/\s+/).filter((w: string) => w.length > 0);
          const symbol = (w: string): string => String.fromCodePoint(0xc0 + words.indexOf(w));
          const want = referenceEinsum(`${words.map(symbol).join('')}->${out.map(symbol).join('')}`, [{ shape: c.inputs[0].shape, data: new Float32Array(numel(c.inputs[0].shape)) }]);
          // A composite output axis is the product of its members' lengths.
          const groups = (right.match(/\([^)]*\)|[^\s()]+/g) ?? []).map((g) => g.replace(/[()]/g, ' ').trim().split(/\s+/).filter((w) => w.length > 0).length);
          let d = 0;
          const merged = groups.map((n) => want.shape.slice(d, (d += n)).reduce((p: number, m: number) => p * m, 1));
          expect(got.shape).toEqual(merged);
          return;
        }
        expect(run).toThrow(EinjitError);
      });
    }
  });
});
