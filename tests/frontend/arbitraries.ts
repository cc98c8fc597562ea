/**
 * fast-check generators of valid patterns with matching shapes: the public ones of einjit/testing
 * (src/testing/arbitraries.ts), so the suite property-tests with the tools it ships. Each case carries what a
 * call needs (pattern, shapes, axis lengths) but not the expected result: tests compute that themselves.
 */
export { prng } from '../../src/testing/random.js';
export {
  numpyEinsumCase, einopsEinsumCase, einopsTransformCase, packCase, type EinsumCase, type EinopsCase, type PackCase,
} from '../../src/testing/arbitraries.js';
