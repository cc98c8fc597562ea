/**
 * safetensors checkpoints: an 8-byte little-endian header length, a JSON header
 * `{ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__?: {...} }`, then the raw little-endian data.
 * Reads F32, F64, F16, I32, BOOL and I64 (as int32, refusing values outside its range), so a torchvision
 * checkpoint converted with `safetensors.torch.save_file(model.state_dict(), ...)` loads unchanged; writes
 * F32, F64, F16, I32 and BOOL.
 */
import { optionsArg } from '../runtime/args.js';
import { EinjitError, describeValue } from '../errors.js';
import { Tensor } from '../runtime/tensor.js';
import { tensor } from '../runtime/creation.js';
import type { DType } from '../runtime/dtype.js';
import type { TypedArray } from '../lower/backend.js';
import { Float16Array } from '@petamoriken/float16';
import { nodeBuiltin } from '../platform/index.js';

/** The most header bytes a file may declare, as in the reference implementation. */
export const MAX_HEADER_BYTES = 100_000_000;
/** The most tensors one file may hold: far above any real checkpoint, far below what exhausts memory. */
export const MAX_ENTRIES = 100_000;
/** The most dimensions a tensor's shape may list. */
export const MAX_RANK = 64;

/** Bytes per element of the dtypes einjit reads (I64 is read as int32). */
const READ_WIDTH: Record<string, number> = { F32: 4, F64: 8, F16: 2, I32: 4, BOOL: 1, I64: 8 };
/** dtypes the format defines that einjit does not read. */
const OTHER_DTYPES = new Set(['BF16', 'U8', 'I8', 'I16', 'U16', 'U32', 'U64', 'F8_E4M3', 'F8_E5M2', 'F8_E8M0', 'F4', 'F6_E2M3', 'F6_E3M2', 'C64']);

interface HeaderEntry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

interface Header {
  entries: HeaderEntry[];
  metadata: Record<string, string> | undefined;
  dataStart: number;
}

const WRITE_NAMES: Record<DType, string> = { float32: 'F32', float64: 'F64', float16: 'F16', int32: 'I32', bool: 'BOOL' };

function fail(reason: string, hint?: string): EinjitError {
  return new EinjitError(reason, { op: 'safetensors', hint });
}

const quote = (name: string): string => JSON.stringify(name);

/**
 * A JSON reader for the one shape a safetensors header may have: an object of entries, each an object of
 * scalar fields and flat lists, plus `__metadata__`, an object of strings. It never builds more than that,
 * refuses deeper nesting at the first bracket too many, and refuses duplicate names, so a hostile header
 * costs time linear in its length and memory linear in its tensor table.
 */
class HeaderReader {
  private at = 0;
  constructor(private readonly text: string) {}

  private error(what: string, entry?: string): EinjitError {
    const where = entry !== undefined ? `entry ${quote(entry)}: ` : '';
    return fail(`${where}${what} at character ${this.at} of the header`, 'the header must be a JSON object of { dtype, shape, data_offsets } entries and an optional __metadata__ object of strings');
  }

  private space(): void {
    const t = this.text;
    while (this.at < t.length) {
      const c = t.charCodeAt(this.at);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      this.at++;
    }
  }

  private expect(ch: string, entry?: string): void {
    this.space();
    if (this.text[this.at] !== ch) throw this.error(`expected '${ch}' but found ${this.found()}`, entry);
    this.at++;
  }

  private found(): string {
    return this.at >= this.text.length ? 'the end of the header' : `'${this.text[this.at]}'`;
  }

  string(entry?: string): string {
    this.space();
    const t = this.text;
    if (t[this.at] !== '"') throw this.error(`expected a string but found ${this.found()}`, entry);
    const begin = this.at;
    let escaped = false;
    let i = begin + 1;
    for (; i < t.length; i++) {
      const c = t.charCodeAt(i);
      if (c === 0x22) break;
      if (c < 0x20) throw this.error('a control character inside a string', entry);
      if (c === 0x5c) {
        escaped = true;
        i++;
      }
    }
    if (i >= t.length) throw this.error('a string that does not end', entry);
    this.at = i + 1;
    if (!escaped) return t.slice(begin + 1, i);
    try {
      return JSON.parse(t.slice(begin, i + 1)) as string;
    } catch {
      this.at = begin;
      throw this.error('a string with an invalid escape', entry);
    }
  }

  /** A non-negative integer written without fraction or exponent, at most 2^53 - 1. */
  count(entry: string, field: string): number {
    this.space();
    const m = /-?\d+(\.\d+)?([eE][+-]?\d+)?/y;
    m.lastIndex = this.at;
    const hit = m.exec(this.text);
    if (hit === null) throw this.error(`${field} must hold non-negative integers but holds ${this.found()}`, entry);
    const literal = hit[0];
    if (literal.startsWith('-') || hit[1] !== undefined || hit[2] !== undefined || (literal.length > 1 && literal.startsWith('0'))) {
      throw this.error(`${field} must hold non-negative integers but holds ${literal}`, entry);
    }
    const value = Number(literal);
    if (!Number.isSafeInteger(value)) throw this.error(`${field} holds ${literal}, above 2^53 - 1`, entry);
    this.at += literal.length;
    return value;
  }

  /** A flat list of counts, at most `max` long. */
  counts(entry: string, field: string, max: number): number[] {
    this.expect('[', entry);
    const out: number[] = [];
    this.space();
    if (this.text[this.at] === ']') {
      this.at++;
      return out;
    }
    for (;;) {
      if (out.length === max) throw this.error(`${field} lists more than ${max} numbers`, entry);
      out.push(this.count(entry, field));
      this.space();
      const c = this.text[this.at];
      this.at++;
      if (c === ']') return out;
      if (c !== ',') {
        this.at--;
        throw this.error(`expected ',' or ']' in ${field} but found ${this.found()}`, entry);
      }
    }
  }

  /** A JSON scalar (string, number, true, false, null), or a flat list of them when `list`: skipped. */
  skipValue(entry: string, list: boolean): void {
    this.space();
    const t = this.text;
    const c = t[this.at];
    if (c === '"') {
      this.string(entry);
      return;
    }
    if (c === '[' && list) {
      this.at++;
      this.space();
      if (t[this.at] === ']') {
        this.at++;
        return;
      }
      for (;;) {
        this.skipValue(entry, false);
        this.space();
        const d = t[this.at];
        this.at++;
        if (d === ']') return;
        if (d !== ',') {
          this.at--;
          throw this.error(`expected ',' or ']' but found ${this.found()}`, entry);
        }
      }
    }
    if (c === '[' || c === '{') throw this.error('nesting deeper than a tensor table has', entry);
    for (const word of ['true', 'false', 'null']) {
      if (t.startsWith(word, this.at)) {
        this.at += word.length;
        return;
      }
    }
    const m = /-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
    m.lastIndex = this.at;
    const hit = m.exec(t);
    if (hit === null) throw this.error(`expected a JSON value but found ${this.found()}`, entry);
    this.at += hit[0].length;
  }

  /**
   * Calls `field(key)` for each key of an object; `field` reads the value. A key `once` accepts may appear only
   * once; others (an entry's unknown fields, which the reference ignores however often they come) are not
   * remembered, so no key list grows with them.
   */
  object(entry: string | undefined, field: (key: string) => void, once: (key: string) => boolean, what: string): void {
    this.expect('{', entry);
    const seen = new Set<string>();
    this.space();
    if (this.text[this.at] === '}') {
      this.at++;
      return;
    }
    for (;;) {
      const keyAt = this.at;
      const key = this.string(entry);
      if (once(key)) {
        if (seen.has(key)) {
          this.at = keyAt;
          throw this.error(`${what} ${quote(key)} appears twice`, entry ?? key);
        }
        seen.add(key);
      }
      this.expect(':', entry ?? key);
      field(key);
      this.space();
      const c = this.text[this.at];
      this.at++;
      if (c === '}') return;
      if (c !== ',') {
        this.at--;
        throw this.error(`expected ',' or '}' but found ${this.found()}`, entry);
      }
    }
  }

  entry(name: string): HeaderEntry {
    this.space();
    if (this.text[this.at] !== '{') throw this.error(`the entry must be an object of dtype, shape and data_offsets but is ${this.found()}`, name);
    let dtype: string | undefined;
    let shape: number[] | undefined;
    let offsets: number[] | undefined;
    this.object(name, (field) => {
      if (field === 'dtype') dtype = this.string(name);
      else if (field === 'shape') shape = this.counts(name, 'shape', MAX_RANK);
      else if (field === 'data_offsets') offsets = this.counts(name, 'data_offsets', 2);
      else this.skipValue(name, true);
    }, (field) => field === 'dtype' || field === 'shape' || field === 'data_offsets', 'field');
    if (dtype === undefined || shape === undefined || offsets === undefined) {
      const missing = [dtype === undefined ? 'dtype' : '', shape === undefined ? 'shape' : '', offsets === undefined ? 'data_offsets' : ''].filter((x) => x);
      throw this.error(`the entry lacks ${missing.join(', ')}`, name);
    }
    if (offsets.length !== 2) throw this.error(`data_offsets must be [begin, end] but has ${offsets.length} number(s)`, name);
    return { name, dtype, shape, begin: offsets[0]!, end: offsets[1]! };
  }

  metadata(): Record<string, string> | undefined {
    this.space();
    if (this.text.startsWith('null', this.at)) {
      this.at += 4;
      return undefined;
    }
    if (this.text[this.at] !== '{') throw this.error(`__metadata__ must be an object of strings but is ${this.found()}`, '__metadata__');
    const out = Object.create(null) as Record<string, string>;
    this.object('__metadata__', (key) => {
      out[key] = this.string('__metadata__');
    }, () => true, 'key');
    return out;
  }

  header(): { entries: HeaderEntry[]; metadata: Record<string, string> | undefined } {
    this.space();
    if (this.text[this.at] !== '{') throw this.error(`the header must be a JSON object but starts with ${this.found()}`);
    const entries: HeaderEntry[] = [];
    let metadata: Record<string, string> | undefined;
    this.object(undefined, (name) => {
      if (name === '__metadata__') {
        metadata = this.metadata();
        return;
      }
      if (name === '__proto__') {
        throw fail('a tensor is named "__proto__", which cannot be a key of the returned record', 'rename the tensor in the file');
      }
      // Refused as the first name past the limit is read, before its entry (or any after it) is built.
      if (entries.length === MAX_ENTRIES) throw fail(`the header lists more than ${MAX_ENTRIES} tensors`, 'split the checkpoint into several files');
      entries.push(this.entry(name));
    }, () => true, 'name');
    this.space();
    if (this.at !== this.text.length) throw this.error(`unexpected ${this.found()} after the header object`);
    return { entries, metadata };
  }
}

/** Reads and checks the header: the limits, the JSON, each entry, and that the tensors tile the data exactly. */
function readHeader(bytes: Uint8Array): Header {
  if (!(bytes instanceof Uint8Array)) throw fail('expected the file as a Uint8Array of bytes');
  if (bytes.length < 8) throw fail(`the file is ${bytes.length} bytes, too short for a safetensors header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = view.getBigUint64(0, true);
  if (declared > BigInt(MAX_HEADER_BYTES)) {
    throw fail(`the header claims ${declared} bytes, above the limit of ${MAX_HEADER_BYTES}`, 'this is not a safetensors file, or it is damaged');
  }
  const headerLength = Number(declared);
  if (headerLength > bytes.length - 8) throw fail(`the header claims ${headerLength} bytes but the file has ${bytes.length - 8} after the length`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, 8 + headerLength));
  } catch {
    throw fail('the header is not valid UTF-8');
  }
  const { entries, metadata } = new HeaderReader(text).header();
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  for (const e of entries) {
    const name = quote(e.name);
    const width = READ_WIDTH[e.dtype];
    if (width === undefined) {
      const known = OTHER_DTYPES.has(e.dtype);
      throw fail(`entry ${name} has dtype ${JSON.stringify(e.dtype)}, ${known ? 'which einjit cannot read' : 'which is not a safetensors dtype'}`, 'supported: F32, F64, F16, I32, BOOL, I64 (read as int32)');
    }
    let count = 1;
    for (const d of e.shape) count *= d;
    if (!Number.isSafeInteger(count * width)) {
      throw fail(`entry ${name} has shape [${e.shape.join(', ')}], whose size in bytes is not a safe integer`);
    }
    if (e.end < e.begin) throw fail(`entry ${name} has data_offsets [${e.begin}, ${e.end}], which end before they begin`);
    if (e.end > dataLength) throw fail(`entry ${name} has data_offsets [${e.begin}, ${e.end}] outside the ${dataLength}-byte data section`);
    if (e.end - e.begin !== count * width) {
      throw fail(`entry ${name} has ${e.end - e.begin} bytes but shape [${e.shape.join(', ')}] of ${e.dtype} needs ${count * width}`);
    }
  }
  // The tensors must tile the data section exactly: sorted by offsets, each begins where the previous ended.
  const sorted = entries.slice().sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous: HeaderEntry | undefined;
  for (const e of sorted) {
    if (e.begin < covered) {
      throw fail(`entry ${quote(e.name)} has data_offsets [${e.begin}, ${e.end}], overlapping entry ${quote(previous!.name)} [${previous!.begin}, ${previous!.end}]`);
    }
    if (e.begin > covered) {
      throw fail(`entry ${quote(e.name)} has data_offsets [${e.begin}, ${e.end}], leaving bytes [${covered}, ${e.begin}) of the data section unused`, 'each tensor must begin where the previous one ends');
    }
    covered = e.end;
    previous = e;
  }
  if (covered !== dataLength) {
    const after = previous !== undefined ? `after entry ${quote(previous.name)} ` : '';
    throw fail(`the last ${dataLength - covered} bytes of the data section ${after}belong to no tensor`, 'the tensors must cover the data section exactly');
  }
  return { entries, metadata, dataStart };
}

/** Parses a safetensors file's bytes into named CPU tensors (copies; the bytes may be reused). */
export function loadSafetensors(bytes: Uint8Array): Record<string, Tensor> {
  const { entries, dataStart } = readHeader(bytes);
  const out: Record<string, Tensor> = {};
  for (const entry of entries) {
    const name = entry.name;
    const count = entry.shape.reduce((a, b) => a * b, 1);
    const chunk = bytes.slice(dataStart + entry.begin, dataStart + entry.end);
    const dv = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let data: TypedArray;
    switch (entry.dtype) {
      case 'F32': { const a = new Float32Array(count); for (let i = 0; i < count; i++) a[i] = dv.getFloat32(4 * i, true); data = a; break; }
      case 'F64': { const a = new Float64Array(count); for (let i = 0; i < count; i++) a[i] = dv.getFloat64(8 * i, true); data = a; break; }
      case 'I32': { const a = new Int32Array(count); for (let i = 0; i < count; i++) a[i] = dv.getInt32(4 * i, true); data = a; break; }
      case 'F16': { const a = new Float16Array(count); const u = new Uint16Array(a.buffer); for (let i = 0; i < count; i++) u[i] = dv.getUint16(2 * i, true); data = a; break; }
      case 'BOOL': { data = new Uint8Array(chunk); break; }
      default: {
        const a = new Int32Array(count);
        for (let i = 0; i < count; i++) {
          const v = dv.getBigInt64(8 * i, true);
          if (v > 2147483647n || v < -2147483648n) throw fail(`entry ${JSON.stringify(name)} holds the int64 ${v}, outside int32's range`);
          a[i] = Number(v);
        }
        data = a;
      }
    }
    out[name] = tensor(data, { shape: entry.shape });
  }
  return out;
}

/**
 * The `__metadata__` of a safetensors file (a record of strings with no prototype), or undefined where the
 * file has none. The whole header is checked as by {@link loadSafetensors}; no tensor is read.
 */
export function loadMetadata(bytes: Uint8Array): Record<string, string> | undefined {
  return readHeader(bytes).metadata;
}

/** Serialises named tensors (any device; read with await) into safetensors bytes. */
export async function saveSafetensors(tensors: Record<string, Tensor>, metadata?: Record<string, string>): Promise<Uint8Array> {
  optionsArg(tensors ?? null, 'saveSafetensors', 'tensors'); optionsArg(metadata, 'saveSafetensors', 'metadata');
  const names = Object.keys(tensors);
  const header = Object.create(null) as Record<string, unknown>;
  if (metadata !== undefined) {
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== 'string') throw fail(`metadata ${quote(key)} is ${typeof value}, but safetensors metadata holds only strings`);
    }
    header.__metadata__ = metadata;
  }
  const chunks: Uint8Array[] = [];
  let at = 0;
  for (const name of names) {
    const t = tensors[name]!;
    if (name === '__metadata__' || name === '__proto__') throw fail(`a tensor cannot be named ${quote(name)} in a safetensors file`, 'rename it');
    if (!(t instanceof Tensor)) throw fail(`entry ${JSON.stringify(name)} is not a Tensor`);
    const values = await t.data();
    const width = t.dtype === 'float64' ? 8 : t.dtype === 'float16' ? 2 : t.dtype === 'bool' ? 1 : 4;
    const chunk = new Uint8Array(t.size * width);
    const dv = new DataView(chunk.buffer);
    for (let i = 0; i < t.size; i++) {
      const v = values[i]!;
      switch (t.dtype) {
        case 'float32': dv.setFloat32(4 * i, v, true); break;
        case 'float64': dv.setFloat64(8 * i, v, true); break;
        case 'int32': dv.setInt32(4 * i, v, true); break;
        case 'bool': dv.setUint8(i, v !== 0 ? 1 : 0); break;
        case 'float16': dv.setUint16(2 * i, new Uint16Array((values as Float16Array).buffer, (values as Float16Array).byteOffset, t.size)[i]!, true); break;
      }
    }
    header[name] = { dtype: WRITE_NAMES[t.dtype], shape: t.shape.slice(), data_offsets: [at, at + chunk.length] };
    chunks.push(chunk);
    at += chunk.length;
  }
  // The data section starts 8-byte aligned: the header is padded with spaces.
  const raw = new TextEncoder().encode(JSON.stringify(header));
  const headerBytes = new Uint8Array(Math.ceil(raw.length / 8) * 8).fill(0x20);
  headerBytes.set(raw);
  const out = new Uint8Array(8 + headerBytes.length + at);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const c of chunks) {
    out.set(c, pos);
    pos += c.length;
  }
  return out;
}

/** Anything `loadFile` reads safetensors bytes from. */
export type SafetensorsSource = string | URL | ArrayBuffer | ArrayBufferView | Blob | Response;

/**
 * Reads safetensors from a file path or `file:` URL (Node, Deno, Bun), or from bytes already in hand: an
 * `ArrayBuffer`, a typed array, a `Blob`/`File` (an `<input type="file">`), or a `fetch` `Response`.
 */
export async function loadFile(source: SafetensorsSource): Promise<Record<string, Tensor>> {
  return loadSafetensors(await sourceBytes(source));
}

async function sourceBytes(source: SafetensorsSource): Promise<Uint8Array> {
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  if (typeof Blob !== 'undefined' && source instanceof Blob) return new Uint8Array(await source.arrayBuffer());
  if (typeof Response !== 'undefined' && source instanceof Response) {
    if (!source.ok) {
      throw new EinjitError(`the response for ${source.url || 'the safetensors file'} has status ${source.status}`, {
        op: 'loadFile',
        hint: 'check the URL; fetch() resolves for HTTP errors too',
      });
    }
    return new Uint8Array(await source.arrayBuffer());
  }
  if (typeof source === 'string' || source instanceof URL) {
    const fs = nodeBuiltin<{ readFile(p: string | URL): Promise<Uint8Array> }>('node:fs/promises');
    if (fs === undefined) {
      throw new EinjitError(`cannot read the path '${String(source)}': this runtime has no file system`, {
        op: 'loadFile',
        hint: 'in a browser pass the bytes instead: loadFile(await fetch(url)), a Blob/File, or an ArrayBuffer',
      });
    }
    try {
      return new Uint8Array(await fs.readFile(source));
    } catch (e) {
      throw new EinjitError(`cannot read '${String(source)}': ${e instanceof Error ? e.message : String(e)}`, { op: 'loadFile' });
    }
  }
  throw new EinjitError(`cannot read safetensors from ${describeValue(source)}`, {
    op: 'loadFile',
    hint: 'pass a path, a URL, an ArrayBuffer, a typed array, a Blob or a Response',
  });
}

/** Writes a .safetensors file (Node). */
export async function saveFile(path: string, tensors: Record<string, Tensor>, metadata?: Record<string, string>): Promise<void> {
  const fs = nodeBuiltin<{ writeFile(p: string, data: Uint8Array): Promise<void> }>('node:fs/promises');
  if (fs === undefined) {
    throw new EinjitError(`cannot write '${path}': this runtime has no file system`, {
      op: 'saveFile',
      hint: 'use saveSafetensors(tensors) for the bytes and save them yourself (a Blob download in a browser)',
    });
  }
  await fs.writeFile(path, await saveSafetensors(tensors, metadata));
}
