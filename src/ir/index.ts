/**
 * The IR layer: AST → IR (rank-specialised) → checked IR (sizes bound), for einsum (both syntaxes),
 * rearrange/reduce/repeat, pack/unpack and parse_shape; the invariant checker; printers.
 */
export type { CheckedEinsum, EinopsOp, EinopsRecipe } from './types.js';
export { checkEinsum, buildEinsumIR, detectEinsumSyntax, patternOfIndexLists, type IndexId, type IndexLists } from './einsum.js';
export { checkEinops, buildTransformIR } from './einops.js';
export { checkPack, checkUnpack, parseShape } from './pack.js';
export { verify } from './verify.js';
export { printEinsum, printTransform } from './print.js';
export { parseCount } from '../frontend/parse.js';

import { clearAstCache } from '../frontend/parse.js';
import { clearEinsumCaches } from './einsum.js';
import { clearEinopsCaches } from './einops.js';
import { clearPackCaches } from './pack.js';

/** Empties every frontend cache: ASTs, IRs and checked IRs (tests and benchmarks). */
export function clearFrontendCaches(): void {
  clearAstCache();
  clearEinsumCaches();
  clearEinopsCaches();
  clearPackCaches();
}
