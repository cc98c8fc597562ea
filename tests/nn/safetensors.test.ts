import { describe, expect, it } from 'vitest';
import { tensor, EinjitError } from '../../src/index.js';
import { nn } from './nn.js';

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
