/**
 * safetensors checkpoints: an 8-byte little-endian header length, a JSON header
 * `{ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__?: {...} }`, then the raw little-endian data.
 * Reads F32, F64, F16, I32, BOOL and I64 (as int32, refusing values outside its range), so a torchvision
 * checkpoint converted with `safetensors.torch.save_file(model.state_dict(), ...)` loads unchanged; writes
 * F32, F64, F16, I32 and BOOL.
 */
import { EinjitError } from '../errors.js';
import { Tensor } from '../runtime/tensor.js';
import { tensor } from '../runtime/creation.js';
import type { DType, TypedArray } from '../runtime/dtype.js';
import { Float16Array } from '@petamoriken/float16';
import { nodeBuiltin } from '../platform/index.js';

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

const WRITE_NAMES: Record<DType, string> = { float32: 'F32', float64: 'F64', float16: 'F16', int32: 'I32', bool: 'BOOL' };

function fail(reason: string, hint?: string): EinjitError {
  return new EinjitError(reason, { op: 'safetensors', ...(hint !== undefined ? { hint } : {}) });
}

/** Parses a safetensors file's bytes into named CPU tensors (copies; the bytes may be reused). */
export function loadSafetensors(bytes: Uint8Array): Record<string, Tensor> {
  if (bytes.length < 8) throw fail(`the file is ${bytes.length} bytes, too short for a safetensors header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > bytes.length - 8) throw fail(`the header claims ${headerLength} bytes but the file has ${bytes.length - 8} after the length`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as Record<string, unknown>;
  } catch (e) {
    throw fail(`the header is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const out: Record<string, Tensor> = {};
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const entry = raw as HeaderEntry;
    if (typeof entry !== 'object' || entry === null || !Array.isArray(entry.shape) || !Array.isArray(entry.data_offsets)) {
      throw fail(`entry ${JSON.stringify(name)} lacks dtype, shape or data_offsets`);
    }
    const [begin, end] = entry.data_offsets;
    if (!(begin >= 0 && end >= begin && end <= dataLength)) {
      throw fail(`entry ${JSON.stringify(name)} has data_offsets [${begin}, ${end}] outside the ${dataLength}-byte data section`);
    }
    const count = entry.shape.reduce((a, b) => a * b, 1);
    const chunk = bytes.slice(dataStart + begin, dataStart + end);
    const width = { F32: 4, F64: 8, F16: 2, I32: 4, BOOL: 1, I64: 8 }[entry.dtype];
    if (width === undefined) {
      throw fail(`entry ${JSON.stringify(name)} has dtype ${entry.dtype}, which einjit cannot read`, 'supported: F32, F64, F16, I32, BOOL, I64');
    }
    if (chunk.length !== count * width) {
      throw fail(`entry ${JSON.stringify(name)} has ${chunk.length} bytes but shape [${entry.shape.join(', ')}] of ${entry.dtype} needs ${count * width}`);
    }
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

/** Serialises named tensors (any device; read with await) into safetensors bytes. */
export async function saveSafetensors(tensors: Record<string, Tensor>, metadata?: Record<string, string>): Promise<Uint8Array> {
  const names = Object.keys(tensors);
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) header.__metadata__ = metadata;
  const chunks: Uint8Array[] = [];
  let at = 0;
  for (const name of names) {
    const t = tensors[name]!;
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
    return new Uint8Array(await fs.readFile(source));
  }
  throw new EinjitError(`cannot read safetensors from ${Object.prototype.toString.call(source)}`, {
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
