/**
 * Corpus cases where einjit deliberately accepts what the reference library refuses. The corpus files stay as
 * recorded; the suites check these cases against the einsum oracle instead of expecting an error.
 */
export const EXTENSIONS: ReadonlyMap<string, string> = new Map([
  // numpy encodes subscripts as ASCII and fails with UnicodeEncodeError; opt_einsum (and einjit) read every
  // character outside ASCII as an index.
  ['invalid-bad_character-007', 'non-ASCII subscripts are indices, as in opt_einsum'],
  // einops maps names to numpy's 52 letters; einjit's named axes have no such ceiling.
  ['einsum-038', 'einops einsum with more than 52 distinct names'],
  // einops refuses composite axes in einsum; einjit opens them (reshape, contract, reshape).
  ['einsum-033', 'einops einsum with a composite output axis'],
]);
