/** Hand-built safetensors bytes and the refusal they must meet, shared by the safetensors test files. */
import { expect } from 'vitest';
import { EinjitError } from '../../src/index.js';
import { nn } from './nn.js';

/** A file from a raw header text and data bytes, the header padded with spaces to 8 bytes. */
export function raw(header: string, data: Uint8Array = new Uint8Array(0), declared?: bigint): Uint8Array {
  const text = new TextEncoder().encode(header);
  const padded = new Uint8Array(Math.ceil(text.length / 8) * 8).fill(0x20);
  padded.set(text);
  const out = new Uint8Array(8 + padded.length + data.length);
  new DataView(out.buffer).setBigUint64(0, declared ?? BigInt(padded.length), true);
  out.set(padded, 8);
  out.set(data, 8 + padded.length);
  return out;
}

/** The EinjitError that loading `bytes` throws; fails the test when nothing (or something else) is thrown. */
export function refusal(bytes: Uint8Array): EinjitError {
  let caught: unknown;
  try {
    nn.safetensors.loadSafetensors(bytes);
  } catch (e) {
    caught = e;
  }
  expect(caught, 'the file was read').toBeInstanceOf(EinjitError);
  return caught as EinjitError;
}
