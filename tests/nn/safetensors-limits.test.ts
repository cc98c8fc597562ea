/**
 * The safetensors header limits: sizes, nesting and counts that cannot be a tensor table are refused at once.
 * (Apart from the other safetensors tests because they build headers of 10^5 to 10^8 bytes.)
 */
import { describe, expect, it } from 'vitest';
import { nn } from './nn.js';
import { raw, refusal } from './safetensors-bytes.js';

describe('safetensors header limits', () => {
  it('refuses a declared header above 100,000,000 bytes before reading it', () => {
    expect(refusal(raw('{}', undefined, 100_000_001n)).message).toMatch(/above the limit of 100000000/);
    expect(refusal(raw('{}', undefined, 2n ** 64n - 1n)).message).toMatch(/above the limit/);
    // At the limit the length is checked against the file instead.
    expect(refusal(raw('{}', undefined, 100_000_000n)).message).toMatch(/the file has/);
  });

  it('refuses a 100 MiB header of nested brackets by its size, and one at the limit at the first bracket too deep', () => {
    const mib = 100 * 1024 * 1024;
    const big = new Uint8Array(8 + mib).fill(0x5b, 8); // '[[[[...'
    new DataView(big.buffer).setBigUint64(0, BigInt(mib), true);
    expect(refusal(big).message).toMatch(/above the limit of 100000000/);
    const n = nn.safetensors.MAX_HEADER_BYTES;
    const bytes = big.subarray(0, 8 + n);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(n), true);
    expect(refusal(bytes).message).toMatch(/must be a JSON object/);
    bytes[8] = 0x7b; // '{"x":[[[[...'
    bytes.set(new TextEncoder().encode('"x":'), 9);
    const e = refusal(bytes);
    expect(e.message).toMatch(/"x"/);
    expect(e.message).toMatch(/character 5 of the header/);
    // An extra field may be a flat list, never a nested one.
    expect(refusal(raw('{"x":{"dtype":"F32","shape":[],"data_offsets":[0,4],"e":[[1]]}}', new Uint8Array(4))).message)
      .toMatch(/nesting deeper than a tensor table/);
  });

  it('refuses a header of 10^6 empty entries at the first one', () => {
    const header = `{${Array.from({ length: 1_000_000 }, (_, i) => `"a${i}":{}`).join(',')}}`;
    const e = refusal(raw(header));
    expect(e.message).toMatch(/entry "a0": the entry lacks dtype, shape, data_offsets/);
  });

  it('refuses more than MAX_ENTRIES tensors and shapes of more than MAX_RANK dimensions', () => {
    const entries = (n: number): string => `{${Array.from({ length: n }, (_, i) => `"t${i}":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}`).join(',')}}`;
    expect(Object.keys(nn.safetensors.loadSafetensors(raw(entries(1000))))).toHaveLength(1000);
    expect(refusal(raw(entries(nn.safetensors.MAX_ENTRIES + 2))).message).toMatch(/more than/);
    const shape = (r: number): string => `{"x":{"dtype":"F32","shape":[${new Array(r).fill(1).join(',')}],"data_offsets":[0,4]}}`;
    expect(nn.safetensors.loadSafetensors(raw(shape(nn.safetensors.MAX_RANK), new Uint8Array(4))).x!.shape).toHaveLength(nn.safetensors.MAX_RANK);
    expect(refusal(raw(shape(nn.safetensors.MAX_RANK + 1), new Uint8Array(4))).message).toMatch(/entry "x": shape lists more than 64/);
  });

});
