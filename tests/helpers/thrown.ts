import { expect } from 'vitest';
import { EinjitError } from '../../src/errors.js';

/** Runs `fn`, which must throw an EinjitError, and returns that error for the test to read. */
export function thrown(fn: () => unknown): EinjitError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(EinjitError);
    return e as EinjitError;
  }
  throw new Error('expected an EinjitError, but nothing was thrown');
}

/** Awaits `p`, which must reject with an EinjitError, and returns that error for the test to read. */
export async function rejection(p: Promise<unknown>): Promise<EinjitError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(EinjitError);
    return e as EinjitError;
  }
  throw new Error('expected a rejection');
}
