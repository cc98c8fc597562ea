/**
 * The slice of the WebAssembly JS API the CPU kernels use, typed locally (the project compiles without DOM
 * typings) and looked up at run time, so a platform without WebAssembly still loads einjit and falls back to JS.
 */

export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(deltaPages: number): number;
}

export interface WasmApi {
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> };
  validate(bytes: Uint8Array): boolean;
}

export const wasmApi: WasmApi | undefined = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

/** A growable plain buffer with the shape of a Wasm memory, for platforms without WebAssembly. */
export class PlainMemory implements WasmMemory {
  buffer: ArrayBuffer = new ArrayBuffer(65536);

  grow(deltaPages: number): number {
    const old = this.buffer.byteLength / 65536;
    const next = new ArrayBuffer(this.buffer.byteLength + deltaPages * 65536);
    new Uint8Array(next).set(new Uint8Array(this.buffer));
    this.buffer = next;
    return old;
  }
}
