/**
 * einjit/testing: the tools einjit's own suite property-tests with, for users' property tests of code built on
 * einjit. Arbitraries (fast-check) for valid einsum and einops calls with matching shapes and tensors, an
 * independent float64 einsum oracle, assertClose with tolerances by dtype, and finite-difference gradcheck and
 * gradgradcheck.
 *
 * fast-check is an optional peer dependency of this entry point only: install it (`npm i -D fast-check`) to
 * import `einjit/testing`; the main `einjit` entry point never loads it.
 *
 * ```ts fragment
 * import fc from 'fast-check';
 * import { einsumCall, applyEinsum, referenceEinsum, assertClose } from 'einjit/testing';
 *
 * fc.assert(fc.property(einsumCall(), (c) => {
 *   const got = applyEinsum(c, c.operands.map((o) => o.tensor));
 *   assertClose(got, referenceEinsum(c.pattern, c.operands, { syntax: c.syntax }));
 * }));
 * ```
 */
// The public API module sets up the devices, so this entry point works on its own too.
import '../index.js';

export { prng, multiIndices } from './random.js';
export { referenceEinsum, type DenseArray, type ReferenceEinsumOptions } from './reference.js';
export { assertClose, toleranceFor, DEFAULT_TOLERANCES, AssertionError, type AssertCloseOptions, type Tolerance } from './assert.js';
export { gradcheck, gradgradcheck, randomTensor, nonContiguous, type GradcheckOptions, type GradcheckResult } from './gradcheck.js';
export {
  numpyEinsumCase, einopsEinsumCase, einsumCase, applyEinsum, einopsTransformCase, packCase, tensorOf, withLayout, einsumCall,
  einopsCall, LAYOUTS,
  type EinsumCase, type EinopsCase, type PackCase, type Layout, type TensorOptions, type TensorCase, type EinsumCall, type EinopsCall,
} from './arbitraries.js';
