/**
 * The suite checks gradients with the public gradcheck (einjit/testing, src/testing/gradcheck.ts): one
 * implementation for users and for these tests. Plus a helper for readable expectations.
 */
import type { NestedArray, Tensor } from '../../src/index.js';

export { gradcheck, gradgradcheck, nonContiguous, randomTensor, type GradcheckOptions, type GradcheckResult } from '../../src/testing/gradcheck.js';
export { prng } from '../helpers/random.js';

/** Nested arrays of a tensor, for readable expectations. */
export function nested(t: Tensor): NestedArray {
  return t.toArray();
}
