/**
 * A tiny WebAssembly binary emitter: just enough of the format (sections, LEB128, structured control flow,
 * integer arithmetic and the 128-bit SIMD loads, stores and float lanes) for einjit to write its own
 * micro-kernels. Each instruction is emitted together with a line of WAT-like text, so a generated module can be
 * shown to the user as a readable listing next to its bytes.
 */

export const ValType = { I32: 0x7f, F32: 0x7d, F64: 0x7c, V128: 0x7b } as const;
export type ValType = (typeof ValType)[keyof typeof ValType];

const VAL_NAMES: Record<ValType, string> = { 0x7f: 'i32', 0x7d: 'f32', 0x7c: 'f64', 0x7b: 'v128' };

export function unsignedLeb(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

export function signedLeb(value: number): number[] {
  const out: number[] = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function utf8(text: string): number[] {
  return [...new TextEncoder().encode(text)];
}

function vector(items: readonly number[][]): number[] {
  return [...unsignedLeb(items.length), ...items.flat()];
}

/** SIMD opcodes (after the 0xfd prefix) used by einjit's kernels. */
const SIMD_OPS = {
  'v128.load': 0x00,
  'v128.load32_splat': 0x09,
  'v128.load64_splat': 0x0a,
  'v128.store': 0x0b,
  'f32x4.add': 0xe4,
  'f32x4.mul': 0xe6,
  'f64x2.add': 0xf0,
  'f64x2.mul': 0xf2,
  // Relaxed SIMD (a separate proposal: engines without it refuse the module, so it is feature-detected).
  // relaxed_madd(a, b, c) = a·b + c, fused or not at the engine's choice (fused on x86 with FMA and on ARM).
  'f32x4.relaxed_madd': 0x105,
  'f64x2.relaxed_madd': 0x107,
} as const;
export type SimdOp = keyof typeof SIMD_OPS;

const PLAIN_OPS = {
  'i32.add': 0x6a,
  'i32.sub': 0x6b,
  'i32.mul': 0x6c,
  'i32.and': 0x71,
  'i32.eqz': 0x45,
  'i32.ne': 0x47,
  'i32.lt_u': 0x49,
  'i32.lt_s': 0x48,
} as const;
export type PlainOp = keyof typeof PLAIN_OPS;

/** The body of one function: bytes plus an indented listing. Locals are declared up front by type. */
export class FunctionBuilder {
  readonly bytes: number[] = [];
  readonly listing: string[] = [];
  private depth = 1;
  private readonly locals: ValType[] = [];
  private readonly localNames: string[] = [];

  constructor(readonly name: string, readonly params: readonly { name: string; type: ValType }[]) {
    for (const p of params) this.localNames.push(p.name);
  }

  /** Index of the named parameter or local. */
  ref(name: string): number {
    const i = this.localNames.indexOf(name);
    if (i < 0) throw new Error(`wasm emitter: unknown local ${name}`);
    return i;
  }

  local(name: string, type: ValType): number {
    this.locals.push(type);
    this.localNames.push(name);
    return this.localNames.length - 1;
  }

  private emit(text: string, bytes: number[]): this {
    this.bytes.push(...bytes);
    this.listing.push(`${'  '.repeat(this.depth)}${text}`);
    return this;
  }

  get(name: string): this { return this.emit(`local.get $${name}`, [0x20, ...unsignedLeb(this.ref(name))]); }
  set(name: string): this { return this.emit(`local.set $${name}`, [0x21, ...unsignedLeb(this.ref(name))]); }
  tee(name: string): this { return this.emit(`local.tee $${name}`, [0x22, ...unsignedLeb(this.ref(name))]); }
  i32(value: number): this { return this.emit(`i32.const ${value}`, [0x41, ...signedLeb(value)]); }
  op(name: PlainOp): this { return this.emit(name, [PLAIN_OPS[name]]); }

  v128Zero(): this {
    return this.emit('v128.const i32x4 0 0 0 0', [0xfd, ...unsignedLeb(0x0c), ...new Array<number>(16).fill(0)]);
  }

  /** A SIMD instruction; memory instructions take a byte offset and the alignment as log2 of bytes. */
  simd(name: SimdOp, mem?: { offset: number; alignLog2: number }): this {
    const code = [0xfd, ...unsignedLeb(SIMD_OPS[name])];
    if (mem === undefined) return this.emit(name, code);
    const text = `${name} offset=${mem.offset} align=${1 << mem.alignLog2}`;
    return this.emit(text, [...code, ...unsignedLeb(mem.alignLog2), ...unsignedLeb(mem.offset)]);
  }

  /** A 32-bit integer load or store; memory instructions take a byte offset and the alignment as log2 of bytes. */
  mem32(name: 'i32.load' | 'i32.store', mem: { offset: number; alignLog2: number }): this {
    const text = `${name} offset=${mem.offset} align=${1 << mem.alignLog2}`;
    return this.emit(text, [name === 'i32.load' ? 0x28 : 0x36, ...unsignedLeb(mem.alignLog2), ...unsignedLeb(mem.offset)]);
  }

  /**
   * `i8x16.shuffle` of the two vectors on the stack: byte `k` of the result is byte `lanes[k]` of the pair
   * (0-15 the first vector, 16-31 the second).
   */
  shuffle(lanes: readonly number[]): this {
    if (lanes.length !== 16 || lanes.some((l) => !Number.isInteger(l) || l < 0 || l > 31)) {
      throw new Error(`wasm emitter: a shuffle takes 16 byte lanes in 0..31, got ${lanes.join(' ')}`);
    }
    return this.emit(`i8x16.shuffle ${lanes.join(' ')}`, [0xfd, ...unsignedLeb(0x0d), ...lanes]);
  }

  /** `block` / `loop` / `if` with no result; returns the builder so the body can be chained. */
  open(kind: 'block' | 'loop' | 'if', label: string): this {
    const code = { block: 0x02, loop: 0x03, if: 0x04 }[kind];
    this.emit(`${kind} $${label}`, [code, 0x40]);
    this.depth++;
    return this;
  }

  else(): this {
    this.depth--;
    this.emit('else', [0x05]);
    this.depth++;
    return this;
  }

  end(): this {
    this.depth--;
    return this.emit('end', [0x0b]);
  }

  /** Branch to the enclosing construct `depth` levels out (0 = innermost). */
  br(depth: number, label: string): this {
    return this.emit(`br ${depth} (;$${label};)`, [0x0c, ...unsignedLeb(depth)]);
  }
  brIf(depth: number, label: string): this {
    return this.emit(`br_if ${depth} (;$${label};)`, [0x0d, ...unsignedLeb(depth)]);
  }

  comment(text: string): this {
    this.listing.push(`${'  '.repeat(this.depth)};; ${text}`);
    return this;
  }

  /** Code-section entry: local declarations grouped in runs of one type, then the body and `end`. */
  encode(): number[] {
    const groups: number[][] = [];
    for (const t of this.locals) {
      const last = groups[groups.length - 1];
      if (last !== undefined && last[1] === t) last[0] = (last[0] ?? 0) + 1;
      else groups.push([1, t]);
    }
    const body = [...vector(groups.map(([n, t]) => [...unsignedLeb(n ?? 0), t ?? 0])), ...this.bytes, 0x0b];
    return [...unsignedLeb(body.length), ...body];
  }

  text(): string {
    const params = this.params.map((p) => `(param $${p.name} ${VAL_NAMES[p.type]})`).join(' ');
    const locals = this.locals.map((t, i) => `(local $${this.localNames[i + this.params.length]} ${VAL_NAMES[t]})`);
    return [`(func $${this.name} (export "${this.name}") ${params}`, ...locals.map((l) => `  ${l}`),
      ...this.listing, ')'].join('\n');
  }
}

export interface MemoryImport {
  readonly module: string;
  readonly name: string;
  readonly minPages: number;
  readonly maxPages: number;
  readonly shared: boolean;
}

function section(id: number, payload: number[]): number[] {
  return [id, ...unsignedLeb(payload.length), ...payload];
}

/**
 * A module with one imported memory and the given exported functions (no results; all parameters i32 or as
 * declared). Returns the binary and a WAT-like listing.
 */
export function buildModule(memory: MemoryImport, functions: readonly FunctionBuilder[]): {
  bytes: Uint8Array;
  text: string;
} {
  const types = functions.map((f) => [0x60, ...vector(f.params.map((p) => [p.type])), 0x00]);
  const limits = memory.shared
    ? [0x03, ...unsignedLeb(memory.minPages), ...unsignedLeb(memory.maxPages)]
    : [0x01, ...unsignedLeb(memory.minPages), ...unsignedLeb(memory.maxPages)];
  const imports = [[...unsignedLeb(utf8(memory.module).length), ...utf8(memory.module),
    ...unsignedLeb(utf8(memory.name).length), ...utf8(memory.name), 0x02, ...limits]];
  const funcs = functions.map((_, i) => unsignedLeb(i));
  const exports = functions.map((f, i) => [...unsignedLeb(utf8(f.name).length), ...utf8(f.name), 0x00,
    ...unsignedLeb(i)]);
  const code = functions.map((f) => f.encode());
  const bytes = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vector(types)),
    ...section(2, vector(imports)),
    ...section(3, vector(funcs)),
    ...section(7, vector(exports)),
    ...section(10, vector(code))];
  const mem = `(import "${memory.module}" "${memory.name}" (memory ${memory.minPages} ${memory.maxPages}` +
    `${memory.shared ? ' shared' : ''}))`;
  const text = ['(module', `  ${mem}`, ...functions.map((f) => f.text().replace(/^/gm, '  ')), ')'].join('\n');
  return { bytes: new Uint8Array(bytes), text };
}
