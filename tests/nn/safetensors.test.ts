import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { tensor, EinjitError } from '../../src/index.js';
import { nn } from './nn.js';
import { raw, refusal } from './safetensors-bytes.js';

/** A safetensors file written byte by byte, as the Python library lays it out. */
function handMade(entries: { name: string; dtype: string; shape: number[]; bytes: Uint8Array }[]): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let at = 0;
  for (const e of entries) {
    header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [at, at + e.bytes.length] };
    at += e.bytes.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + at);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let pos = 8 + json.length;
  for (const e of entries) {
    out.set(e.bytes, pos);
    pos += e.bytes.length;
  }
  return out;
}

function le(kind: 'f32' | 'f64' | 'i32' | 'i64' | 'f16bits', values: (number | bigint)[]): Uint8Array {
  const width = { f32: 4, f64: 8, i32: 4, i64: 8, f16bits: 2 }[kind];
  const b = new Uint8Array(values.length * width);
  const dv = new DataView(b.buffer);
  values.forEach((v, i) => {
    if (kind === 'f32') dv.setFloat32(4 * i, v as number, true);
    if (kind === 'f64') dv.setFloat64(8 * i, v as number, true);
    if (kind === 'i32') dv.setInt32(4 * i, v as number, true);
    if (kind === 'i64') dv.setBigInt64(8 * i, BigInt(v), true);
    if (kind === 'f16bits') dv.setUint16(2 * i, v as number, true);
  });
  return b;
}

describe('safetensors', () => {
  it('reads F32, F64, I32, I64 (as int32), F16 and BOOL', () => {
    const bytes = handMade([
      { name: 'a', dtype: 'F32', shape: [2, 2], bytes: le('f32', [1, 2, 3, 4.5]) },
      { name: 'b', dtype: 'F64', shape: [3], bytes: le('f64', [0.1, -2, 1e-300]) },
      { name: 'c', dtype: 'I32', shape: [2], bytes: le('i32', [-7, 2147483647]) },
      { name: 'num_batches_tracked', dtype: 'I64', shape: [], bytes: le('i64', [12345n]) },
      { name: 'h', dtype: 'F16', shape: [2], bytes: le('f16bits', [0x3c00, 0xc000]) },
      { name: 'm', dtype: 'BOOL', shape: [3], bytes: new Uint8Array([1, 0, 1]) },
    ]);
    const t = nn.safetensors.loadSafetensors(bytes);
    expect(t.a!.toArray()).toEqual([[1, 2], [3, 4.5]]);
    expect(t.b!.dtype).toBe('float64');
    expect(t.b!.toArray()).toEqual([0.1, -2, 1e-300]);
    expect(t.c!.toArray()).toEqual([-7, 2147483647]);
    expect(t.num_batches_tracked!.dtype).toBe('int32');
    expect(t.num_batches_tracked!.shape).toEqual([]);
    expect(t.num_batches_tracked!.item()).toBe(12345);
    expect(t.h!.dtype).toBe('float16');
    expect(t.h!.toArray()).toEqual([1, -2]);
    expect(t.m!.toArray()).toEqual([true, false, true]);
  });

  it('round-trips a model state dict through save and load', async () => {
    const a = new nn.Sequential(new nn.Conv2d(2, 3, 3), new nn.BatchNorm2d(3), new nn.Linear(4, 2));
    const bytes = await nn.safetensors.saveSafetensors(a.stateDict(), { format: 'pt' });
    expect(Number(new DataView(bytes.buffer).getBigUint64(0, true)) % 8).toBe(0);
    const b = new nn.Sequential(new nn.Conv2d(2, 3, 3), new nn.BatchNorm2d(3), new nn.Linear(4, 2));
    b.loadStateDict(nn.safetensors.loadSafetensors(bytes));
    const sa = a.stateDict();
    const sb = b.stateDict();
    for (const k of Object.keys(sa)) expect(sb[k]!.toArray()).toEqual(sa[k]!.toArray());
    const h = await nn.safetensors.saveSafetensors({ x: tensor([0.5, -1]).half() });
    expect(nn.safetensors.loadSafetensors(h).x!.toArray()).toEqual([0.5, -1]);
  });

  it('refuses truncated data, bad offsets, unknown dtypes and int64 outside int32', () => {
    const good = handMade([{ name: 'a', dtype: 'F32', shape: [2], bytes: le('f32', [1, 2]) }]);
    expect(() => nn.safetensors.loadSafetensors(good.slice(0, good.length - 2))).toThrow(EinjitError);
    expect(() => nn.safetensors.loadSafetensors(handMade([{ name: 'a', dtype: 'BF16', shape: [1], bytes: new Uint8Array(2) }]))).toThrow(/BF16/);
    expect(() => nn.safetensors.loadSafetensors(handMade([{ name: 'a', dtype: 'I64', shape: [1], bytes: le('i64', [2n ** 40n]) }]))).toThrow(/int32/);
    expect(() => nn.safetensors.loadSafetensors(new Uint8Array(4))).toThrow(EinjitError);
  });
});

describe('safetensors header limits', () => {
  it('names the entry in every refusal of a malformed entry', () => {
    const f32 = (n: number): Uint8Array => new Uint8Array(4 * n);
    const cases: [string, Uint8Array, RegExp][] = [
      ['5', f32(0), /must be a JSON object/],
      ['[{"x":1}]', f32(0), /must be a JSON object/],
      ['{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4.0]}}', f32(1), /entry "x": data_offsets must hold non-negative integers but holds 4\.0/],
      ['{"x":{"dtype":"F32","shape":[1],"data_offsets":[null,4]}}', f32(1), /entry "x": data_offsets must hold/],
      ['{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,9007199254740993]}}', f32(1), /entry "x": data_offsets holds 9007199254740993, above 2\^53 - 1/],
      ['{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', f32(2), /entry "b" .*overlapping entry "a"/],
      ['{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}', f32(3), /entry "b" .*leaving bytes \[4, 8\)/],
      ['{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', f32(2), /last 4 bytes of the data section after entry "a" belong to no tensor/],
      ['{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', f32(1), /entry "a": name "a" appears twice/],
      ['{"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', f32(1), /"__proto__"/],
      ['{"x":{"dtype":"F32","shape":[134217728,134217728],"data_offsets":[0,0]}}', f32(0), /entry "x" has shape \[134217728, 134217728\], whose size in bytes is not a safe integer/],
      ['{"x":{"dtype":"Q8","shape":[1],"data_offsets":[0,1]}}', new Uint8Array(1), /entry "x" has dtype "Q8", which is not a safetensors dtype/],
      ['{"x":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}}', new Uint8Array(2), /entry "x" has dtype "BF16", which einjit cannot read/],
      ['{"__metadata__":{"k":1},"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', f32(1), /entry "__metadata__": expected a string/],
    ];
    for (const [header, data, pattern] of cases) {
      const e = refusal(raw(header, data));
      expect(e.message, header).toMatch(pattern);
    }
    // "__proto__" never becomes the prototype of anything einjit returns.
    const meta = nn.safetensors.loadMetadata(raw('{"__metadata__":{"__proto__":"p","k":"v"}}'))!;
    expect(Object.getPrototypeOf(meta)).toBe(null);
    expect(Object.entries(meta)).toEqual([['__proto__', 'p'], ['k', 'v']]);
  });

  it('reads any table whose offsets tile the data, in any header order (property)', () => {
    const dtypes = ['F32', 'F64', 'I32', 'I64', 'BOOL', 'F16'] as const;
    const width = { F32: 4, F64: 8, I32: 4, I64: 8, BOOL: 1, F16: 2 };
    const tableArb = fc.array(fc.record({
      dtype: fc.constantFrom(...dtypes),
      shape: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }),
      seed: fc.integer(),
    }), { maxLength: 8 }).chain((ts) => fc.tuple(fc.constant(ts), fc.shuffledSubarray(ts.map((_, i) => i), { minLength: ts.length, maxLength: ts.length })));
    fc.assert(fc.property(tableArb, ([table, headerOrder]) => {
      // Data laid out in table order; the header lists the names in headerOrder.
      let at = 0;
      const chunks: Uint8Array[] = [];
      const expected: number[][] = [];
      const offsets: [number, number][] = [];
      table.forEach((t, i) => {
        const n = t.shape.reduce((a, b) => a * b, 1);
        const b = new Uint8Array(n * width[t.dtype]);
        const dv = new DataView(b.buffer);
        const values: number[] = [];
        for (let k = 0; k < n; k++) {
          const v = ((t.seed + 7919 * k) % 2001) - 1000 + i;
          switch (t.dtype) {
            case 'F32': dv.setFloat32(4 * k, v / 8, true); values.push(v / 8); break;
            case 'F64': dv.setFloat64(8 * k, v / 3, true); values.push(v / 3); break;
            case 'I32': dv.setInt32(4 * k, v * 1000, true); values.push(v * 1000); break;
            case 'I64': dv.setBigInt64(8 * k, BigInt(v), true); values.push(v); break;
            case 'BOOL': dv.setUint8(k, v & 1); values.push(v & 1); break;
            case 'F16': dv.setUint16(2 * k, 0x3c00 + (v & 0x3ff), true); values.push(1 + (v & 0x3ff) / 1024); break;
          }
        }
        offsets.push([at, at + b.length]);
        at += b.length;
        chunks.push(b);
        expected.push(values);
      });
      const header = `{${headerOrder.map((i) => `"t${i}":{"dtype":"${table[i]!.dtype}","shape":[${table[i]!.shape.join(',')}],"data_offsets":[${offsets[i]!.join(',')}]}`).join(',')}}`;
      const data = new Uint8Array(at);
      let pos = 0;
      for (const c of chunks) { data.set(c, pos); pos += c.length; }
      const got = nn.safetensors.loadSafetensors(raw(header, data));
      expect(Object.keys(got).sort()).toEqual(table.map((_, i) => `t${i}`).sort());
      table.forEach((t, i) => {
        const g = got[`t${i}`]!;
        expect(g.shape).toEqual(t.shape);
        expect(Array.from(g.dataSync(), Number)).toEqual(expected[i]);
      });
    }), { numRuns: 300 });
  });

  it('refuses, with an EinjitError and nothing else, every file made by cutting or corrupting a valid one (property)', () => {
    const good = raw('{"__metadata__":{"k":"v"},"b":{"dtype":"F64","shape":[2],"data_offsets":[4,20]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', new Uint8Array(20));
    fc.assert(fc.property(fc.integer({ min: 0, max: good.length - 1 }), fc.integer({ min: 0, max: 255 }), fc.boolean(), (at, byte, cut) => {
      const bytes = cut ? good.slice(0, at) : good.slice();
      if (!cut) bytes[at] = byte;
      try {
        nn.safetensors.loadSafetensors(bytes);
      } catch (e) {
        expect(e).toBeInstanceOf(EinjitError);
        expect((e as EinjitError).message).not.toMatch(/internal error/);
      }
    }), { numRuns: 2000 });
  });
});

describe('saveSafetensors', () => {
  it('writes __metadata__ into the header, where JSON.parse and loadMetadata find it', async () => {
    const metadata = { format: 'pt', note: 'h\u00e9llo', empty: '' };
    const bytes = await nn.safetensors.saveSafetensors({ w: tensor([1, 2]), b: tensor([3]) }, metadata);
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, unknown>;
    expect(header.__metadata__).toEqual(metadata);
    expect({ ...nn.safetensors.loadMetadata(bytes) }).toEqual(metadata);
    expect(nn.safetensors.loadMetadata(await nn.safetensors.saveSafetensors({ w: tensor([1]) }))).toBeUndefined();
  });

  it('refuses a tensor named __metadata__ or __proto__ and metadata values that are not strings', async () => {
    await expect(nn.safetensors.saveSafetensors({ __metadata__: tensor([1]) })).rejects.toThrow(/"__metadata__"/);
    await expect(nn.safetensors.saveSafetensors(JSON.parse('{"__proto__": 1}') as Record<string, never>)).rejects.toThrow(/"__proto__"/);
    await expect(nn.safetensors.saveSafetensors({ w: tensor([1]) }, { k: 5 as unknown as string })).rejects.toThrow(/metadata "k"/);
  });
});
