/**
 * safetensors corners found by mutation testing (seed 20261207's sample of src/nn/safetensors.ts) that the
 * reference fixtures do not reach: the dtype names the writer gives every dtype, the writer's argument errors,
 * the reader's messages where the reference only says "invalid JSON", the tensor-count limit, and reading and
 * writing files by path and URL (and refusing to without a file system). Seed 20261209's sample added the bytes
 * the writer gives a bool tensor, int32's edges for I64 data, and the hints of three refusals; seed 20261210's,
 * a shape or offset number quoted whole (fractions and exponents of any length and sign), an entry that is not
 * an object, the fields an entry lacks, and a field given twice.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { EinjitError, tensor } from '../../src/index.js';
import * as platform from '../../src/platform/index.js';
import { thrown } from '../helpers/thrown.js';
import { nn } from './nn.js';

vi.mock('../../src/platform/index.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/platform/index.js')>();
  return { ...real, nodeBuiltin: vi.fn(real.nodeBuiltin) };
});

const st = nn.safetensors;

/** A file of `header` (JSON text) and `data`. */
function file(header: string, data = new Uint8Array(0)): Uint8Array {
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

/** The header of a file einjit wrote, parsed by JSON.parse (not by einjit's reader). */
function headerOf(bytes: Uint8Array): Record<string, { dtype: string; shape: number[]; data_offsets: number[] }> {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as never;
}

describe('saveSafetensors', () => {
  it('names every dtype as the format does', async () => {
    const bytes = await st.saveSafetensors({
      a: tensor([1], { dtype: 'float32' }), b: tensor([1], { dtype: 'float64' }), c: tensor([1], { dtype: 'float16' }),
      d: tensor([1], { dtype: 'int32' }), e: tensor([true]),
    });
    const header = headerOf(bytes);
    expect(['a', 'b', 'c', 'd', 'e'].map((k) => header[k]!.dtype)).toEqual(['F32', 'F64', 'F16', 'I32', 'BOOL']);
  });

  it('writes a bool tensor as one byte per element, 1 for true and 0 for false', async () => {
    const bytes = await st.saveSafetensors({ m: tensor([true, false, true, true, false]) });
    const { m } = headerOf(bytes);
    const start = bytes.length - 5;
    expect([m!.dtype, m!.shape, m!.data_offsets]).toEqual(['BOOL', [5], [0, 5]]);
    expect([...bytes.subarray(start)]).toEqual([1, 0, 1, 1, 0]);
  });

  it('names itself and the argument at fault', async () => {
    for (const [args, reason] of [[[5], 'tensors must be an object'], [[{}, 5], 'metadata must be an object']] as const) {
      const e = await (st.saveSafetensors as (...a: unknown[]) => Promise<Uint8Array>)(...args).then(() => null, (x: unknown) => x);
      expect(e).toBeInstanceOf(EinjitError);
      expect([(e as EinjitError).op, (e as EinjitError).reason.startsWith(reason)]).toEqual(['saveSafetensors', true]);
    }
  });
});

describe('loadSafetensors messages', () => {
  const reason = (bytes: Uint8Array): string => thrown(() => st.loadSafetensors(bytes)).reason;

  it('says where the header stops being what it must be', () => {
    expect(reason(file('{"x":{"dtype":"F32" "shape":[1],"data_offsets":[0,4]}}', new Uint8Array(4))))
      .toBe('entry "x": expected \',\' or \'}\' but found \'"\' at character 20 of the header');
    expect(reason(file('{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"e":nope}}', new Uint8Array(4))))
      .toBe('entry "x": expected a JSON value but found \'n\' at character 57 of the header');
  });

  it('says which separator a list lacks, and where a string holds a control character', () => {
    expect(reason(file('{"x":{"dtype":"F32","shape":[1 1],"data_offsets":[0,4]}}', new Uint8Array(4))))
      .toBe('entry "x": expected \',\' or \']\' in shape but found \'1\' at character 31 of the header');
    expect(reason(file('{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"e":[1 2]}}', new Uint8Array(4))))
      .toBe('entry "x": expected \',\' or \']\' but found \'2\' at character 60 of the header');
    expect(reason(file('{"x\u0001":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', new Uint8Array(4))))
      .toBe('a control character inside a string at character 1 of the header'); // where the string starts
  });

  it('quotes a shape or offset that is not an integer whole, and says which fields an entry lacks', () => {
    const entry = (fields: string): Uint8Array => file(`{"x":{${fields}}}`, new Uint8Array(4));
    const cases: [string, string][] = [
      ['"dtype":"F32","shape":[1.25],"data_offsets":[0,4]', 'shape must hold non-negative integers but holds 1.25 at character 29'],
      ['"dtype":"F32","shape":[1e+5],"data_offsets":[0,4]', 'shape must hold non-negative integers but holds 1e+5 at character 29'],
      ['"dtype":"F32","shape":[2E3],"data_offsets":[0,4]', 'shape must hold non-negative integers but holds 2E3 at character 29'],
      ['"dtype":"F32","shape":[1],"data_offsets":[0,4e10]', 'data_offsets must hold non-negative integers but holds 4e10 at character 50'],
      ['', 'the entry lacks dtype, shape, data_offsets at character 7'],
      ['"shape":[1],"data_offsets":[0,4]', 'the entry lacks dtype at character 39'],
      ['"dtype":"F32","data_offsets":[0,4]', 'the entry lacks shape at character 41'],
      ['"dtype":"F32","shape":[1]', 'the entry lacks data_offsets at character 32'],
    ];
    for (const [fields, why] of cases) expect(reason(entry(fields)), fields).toBe(`entry "x": ${why} of the header`);
    expect(reason(entry('"dtype":"F32","shape":[1],"shape":[1],"data_offsets":[0,4]'))).toBe('entry "x": field "shape" appears twice at character 32 of the header');
    for (const [value, found] of [['5', "'5'"], ['[1]', "'['"]]) {
      expect(reason(file(`{"x":${value}}`))).toBe(`entry "x": the entry must be an object of dtype, shape and data_offsets but is ${found} at character 5 of the header`);
    }
  });

  it('reads an 8-byte file as an empty header, and a shorter one as too short', () => {
    expect(reason(new Uint8Array(8))).toBe('the header must be a JSON object but starts with the end of the header at character 0 of the header');
    expect(reason(new Uint8Array(7))).toBe('the file is 7 bytes, too short for a safetensors header');
  });

  it('names the entry whose offsets run past the data', () => {
    expect(reason(file('{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}')))
      .toBe('entry "x" has data_offsets [0, 4] outside the 0-byte data section');
  });

  it('says what a size mismatch needs and what an unknown dtype could be', () => {
    const mismatch = thrown(() => st.loadSafetensors(file('{"x":{"dtype":"F32","shape":[2,3],"data_offsets":[4,20]}}', new Uint8Array(20))));
    expect([mismatch.reason, mismatch.hint]).toEqual(['entry "x" has 16 bytes but shape [2, 3] of F32 needs 24', undefined]);
    const dtype = thrown(() => st.loadSafetensors(file('{"x":{"dtype":"Q9","shape":[1],"data_offsets":[0,4]}}', new Uint8Array(4))));
    expect([dtype.reason, dtype.hint]).toEqual(['entry "x" has dtype "Q9", which is not a safetensors dtype', 'supported: F32, F64, F16, I32, BOOL, I64 (read as int32)']);
  });

  it('reads I64 data at both edges of int32 and refuses one past either edge', () => {
    const i64 = (...v: bigint[]) => {
      const b = new Uint8Array(8 * v.length);
      v.forEach((x, i) => new DataView(b.buffer).setBigInt64(8 * i, x, true));
      return b;
    };
    const header = (n: number): string => `{"n":{"dtype":"I64","shape":[${n}],"data_offsets":[0,${8 * n}]}}`;
    const edges = st.loadSafetensors(file(header(2), i64(-(2n ** 31n), 2n ** 31n - 1n)))['n']!;
    expect([edges.dtype, edges.toArray()]).toEqual(['int32', [-2147483648, 2147483647]]);
    expect(reason(file(header(2), i64(0n, -(2n ** 31n) - 1n)))).toBe('entry "n" holds the int64 -2147483649, outside int32\'s range');
    expect(reason(file(header(1), i64(2n ** 31n)))).toBe('entry "n" holds the int64 2147483648, outside int32\'s range');
  });

  it('hints at what a header too large and a gap in the data mean', () => {
    const big = new Uint8Array(8);
    new DataView(big.buffer).setBigUint64(0, 100_000_001n, true);
    const large = thrown(() => st.loadSafetensors(big));
    expect([large.reason, large.hint]).toEqual(['the header claims 100000001 bytes, above the limit of 100000000', 'this is not a safetensors file, or it is damaged']);
    const gap = thrown(() => st.loadSafetensors(file('{"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', new Uint8Array(8))));
    expect([gap.reason, gap.hint]).toEqual(['entry "x" has data_offsets [4, 8], leaving bytes [0, 4) of the data section unused', 'each tensor must begin where the previous one ends']);
  });

  it('refuses the first tensor past MAX_ENTRIES, by count', () => {
    const entries = (n: number): string => `{${Array.from({ length: n }, (_, i) => `"t${i}":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}`).join(',')}}`;
    const e = thrown(() => st.loadSafetensors(file(entries(st.MAX_ENTRIES + 1))));
    expect([e.op, e.reason, e.hint]).toEqual(['safetensors', `the header lists more than ${st.MAX_ENTRIES} tensors`, 'split the checkpoint into several files']);
  });
});

describe('loadFile and saveFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'einjit-st-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('write a file and read it back by path and by file: URL', async () => {
    const path = join(dir, 'w.safetensors');
    await st.saveFile(path, { w: tensor([[1, 2], [3, 4]]) }, { note: 'x' });
    for (const source of [path, pathToFileURL(path)]) expect((await st.loadFile(source))['w']!.toArray()).toEqual([[1, 2], [3, 4]]);
  });

  it('name what they could not read, and what they take', async () => {
    const missing = join(dir, 'missing.safetensors');
    await expect(st.loadFile(missing)).rejects.toThrow(`cannot read '${missing}': ENOENT`);
    const e = await st.loadFile(42 as never).then(() => null, (x: unknown) => x as EinjitError);
    expect([e?.op, e?.reason, e?.hint]).toEqual(['loadFile', 'cannot read safetensors from 42', 'pass a path, a URL, an ArrayBuffer, a typed array, a Blob or a Response']);
    const bytes = await st.saveSafetensors({ w: tensor([1, 2]) });
    expect((await st.loadFile(new Response(bytes)))['w']!.toArray()).toEqual([1, 2]);
    const status = await st.loadFile(new Response('missing', { status: 404 })).then(() => null, (x: unknown) => x as EinjitError);
    expect([status?.op, status?.reason, status?.hint]).toEqual(['loadFile', 'the response for the safetensors file has status 404', 'check the URL; fetch() resolves for HTTP errors too']);
  });

  it('refuse a path where the runtime has no file system', async () => {
    vi.mocked(platform.nodeBuiltin).mockImplementation(() => undefined);
    try {
      const read = await st.loadFile('w.safetensors').then(() => null, (x: unknown) => x as EinjitError);
      expect([read?.op, read?.reason]).toEqual(['loadFile', "cannot read the path 'w.safetensors': this runtime has no file system"]);
      const write = await st.saveFile('w.safetensors', {}).then(() => null, (x: unknown) => x as EinjitError);
      expect([write?.op, write?.reason]).toEqual(['saveFile', "cannot write 'w.safetensors': this runtime has no file system"]);
    } finally {
      vi.mocked(platform.nodeBuiltin).mockReset();
    }
  });
});
