/**
 * The naive float64 einsum oracle, written independently of einjit's parser and planner: the public one of
 * einjit/testing (src/testing/reference.ts), so the suite checks values with the tool it ships.
 */
export { referenceEinsum, type DenseArray } from '../../src/testing/reference.js';
