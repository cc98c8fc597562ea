/**
 * einjit's safetensors reader against files written and judged by the reference implementation.
 *
 * fixtures/safetensors/make_fixtures.py (Python, torch + safetensors) writes files with
 * `safetensors.torch.save_file` and crafted ones byte by byte, then records in manifest.json what
 * `safetensors.safe_open` does with each: the tensors and metadata it reads (values computed by torch), or its
 * refusal. Every file the reference refuses, einjit must refuse with an EinjitError naming the entry; every
 * file it accepts, einjit must read to the same names, dtypes, shapes, exact values and metadata -- except the
 * few listed in STRICTER, which einjit refuses on purpose, each for a stated reason.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EinjitError, type Tensor } from '../../src/index.js';
import { nn } from './nn.js';

const DIR = fileURLToPath(new URL('./fixtures/safetensors/', import.meta.url));
const MANIFEST = join(DIR, 'manifest.json');

type Exact = number | 'nan' | 'inf' | '-inf' | '-0';
interface RefTensor { dtype: string; shape: number[]; values: Exact[]; bits?: string[] }
interface Upstream {
  accepted: boolean;
  metadata?: Record<string, string> | null;
  tensors?: Record<string, RefTensor>;
  error_type?: string;
  error?: string;
}
interface FileRecord {
  file: string | null;
  origin: 'save_file' | 'crafted';
  note: string;
  entry: string | null;
  save_error?: string;
  header_keys?: string[];
  data_order?: string[];
  upstream: Upstream;
}
interface Manifest { torch?: string; safetensors: string; files: FileRecord[] }

/** Files the reference reads and einjit refuses on purpose, with the entry the refusal names. */
const STRICTER: Record<string, { entry: string; why: string; inData?: true }> = {
  'bad_duplicate_key.safetensors': { entry: 'a', why: 'a name given twice is ambiguous; the reference keeps one copy silently' },
  'bad_proto_key.safetensors': { entry: '__proto__', why: '"__proto__" cannot be a key of the returned JavaScript record' },
  'bad_nested_100.safetensors': { entry: 'x', why: 'nesting deeper than a tensor table needs is refused before it is built' },
  'bad_shape_unsafe_dim_zero_count.safetensors': { entry: 'x', why: 'a dimension above 2^53 - 1 cannot be a JavaScript shape' },
  'crafted_i64_out_of_int32.safetensors': { entry: 'big', why: 'I64 is read as int32 and values outside it are refused', inData: true },
  'written_bf16.safetensors': { entry: 'w', why: 'einjit has no bfloat16' },
  'written_u8.safetensors': { entry: 'w', why: 'einjit has no uint8 tensors' },
  'written_i8.safetensors': { entry: 'w', why: 'einjit has no int8 tensors' },
  'written_i16.safetensors': { entry: 'w', why: 'einjit has no int16 tensors' },
};

const DTYPE: Record<string, string> = { F32: 'float32', F64: 'float64', F16: 'float16', I32: 'int32', I64: 'int32', BOOL: 'bool' };

/** What einjit's message must say for each kind of refusal the reference reports (matched on its text). */
const SAME_REASON: [RegExp, RegExp][] = [
  [/header too small/, /too short for a safetensors header/],
  [/header too large/, /above the limit of 100000000/],
  [/invalid header length/, /the header claims \d+ bytes but the file has/],
  [/invalid UTF-8/, /not valid UTF-8/],
  [/incomplete metadata/, /belong to no tensor|outside the \d+-byte data section/],
  [/invalid offset for tensor/, /overlapping entry|leaving bytes|end before they begin/],
  [/invalid shape, data type, or offset|overflow computing buffer size/, /needs \d+|not a safe integer/],
  [/invalid JSON in header/, /character \d+ of the header|must be a JSON object|appears twice|not a safetensors dtype/],
];

function exact(v: Exact): number {
  if (v === 'nan') return NaN;
  if (v === 'inf') return Infinity;
  if (v === '-inf') return -Infinity;
  if (v === '-0') return -0;
  return v;
}

function load(): Manifest | undefined {
  if (!existsSync(MANIFEST)) return undefined;
  return JSON.parse(readFileSync(MANIFEST, 'utf8')) as Manifest;
}

const manifest = load();
const files = (manifest?.files ?? []).filter((f): f is FileRecord & { file: string } => f.file !== null);

function refusal(bytes: Uint8Array): unknown {
  try {
    nn.safetensors.loadSafetensors(bytes);
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('safetensors files written and judged by the reference implementation', () => {
  it('has the reference fixtures (python3 make_fixtures.py tests/nn/fixtures/safetensors writes them)', () => {
    expect(manifest, `${MANIFEST} is missing: run make_fixtures.py beside it on a machine with torch and safetensors`).toBeDefined();
    expect(files.length).toBeGreaterThanOrEqual(60);
    const written = files.filter((f) => f.origin === 'save_file' && f.upstream.accepted);
    const dtypes = new Set(written.flatMap((f) => Object.values(f.upstream.tensors!).map((t) => t.dtype)));
    for (const d of Object.keys(DTYPE)) expect(dtypes, `no save_file fixture holds ${d}`).toContain(d);
    // Some accepted file lays its data out in another order than its header lists the names.
    expect(files.some((f) => f.upstream.accepted && f.header_keys !== undefined && f.data_order !== undefined
      && f.header_keys.join() !== f.data_order.join())).toBe(true);
    for (const name of Object.keys(STRICTER)) expect(files.map((f) => f.file), `${name} is not in the manifest`).toContain(name);
    for (const f of manifest!.files) expect(f.save_error, `save_file could not write a fixture: ${f.note}`).toBeUndefined();
  });

  for (const f of files) {
    const bytes = (): Uint8Array => new Uint8Array(readFileSync(join(DIR, f.file)));
    const stricter = STRICTER[f.file];
    if (!f.upstream.accepted || stricter !== undefined) {
      const entry = stricter?.entry ?? f.entry;
      const why = stricter !== undefined ? `einjit is stricter: ${stricter.why}` : `the reference says: ${f.upstream.error}`;
      it(`refuses ${f.file} (${f.note}; ${why})`, () => {
        const e = refusal(bytes());
        expect(e, `einjit read ${f.file}`).toBeInstanceOf(EinjitError);
        const message = (e as EinjitError).message;
        expect(message).not.toMatch(/internal error/);
        expect(message).toMatch(/^safetensors: /);
        if (entry !== null) expect(message).toContain(JSON.stringify(entry));
        // A refusal for the reference's reason, not merely some refusal.
        const reason = stricter === undefined ? SAME_REASON.find(([upstream]) => upstream.test(f.upstream.error!)) : undefined;
        if (stricter === undefined) expect(reason, `no reason known for the reference's ${f.upstream.error}`).toBeDefined();
        if (reason !== undefined) expect(message).toMatch(reason[1]);
        // Everything but a value einjit cannot hold is a fault of the header, which loadMetadata checks too.
        if (stricter?.inData !== true) expect(() => nn.safetensors.loadMetadata(bytes())).toThrow(EinjitError);
      });
    } else {
      it(`reads ${f.file} as the reference does (${f.note})`, () => {
        const got = nn.safetensors.loadSafetensors(bytes());
        const want = f.upstream.tensors!;
        expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
        for (const [name, ref] of Object.entries(want)) {
          const t: Tensor = got[name]!;
          expect(t.dtype, name).toBe(DTYPE[ref.dtype]);
          expect(t.shape, name).toEqual(ref.shape);
          const values = Array.from(t.dataSync(), Number);
          expect(values.length, name).toBe(ref.values.length);
          ref.values.forEach((v, i) => {
            const w = exact(v);
            const g = values[i]!;
            if (Number.isNaN(w)) expect(Number.isNaN(g), `${name}[${i}] is ${g}, expected NaN`).toBe(true);
            else expect(Object.is(g, w), `${name}[${i}] is ${g}, expected ${String(v)}`).toBe(true);
          });
        }
        const metadata = nn.safetensors.loadMetadata(bytes());
        if (f.upstream.metadata === null || f.upstream.metadata === undefined) expect(metadata).toBeUndefined();
        else expect({ ...metadata }).toEqual(f.upstream.metadata);
      });
    }
  }
});
