/**
 * A seeded generator and the enumeration of a shape's indices: the small pieces every generator and oracle here
 * builds on, so every case is reproducible from its seed.
 */

/** A small deterministic generator (mulberry32) of numbers in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every multi-index of `shape`, in row-major order (one empty index for a scalar, none for a size-0 shape). */
export function multiIndices(shape: readonly number[]): number[][] {
  const n = shape.reduce((a, b) => a * b, 1);
  const out: number[][] = [];
  for (let flat = 0; flat < n; flat++) {
    const idx = new Array<number>(shape.length);
    let r = flat;
    for (let d = shape.length - 1; d >= 0; d--) {
      idx[d] = r % shape[d]!;
      r = Math.floor(r / shape[d]!);
    }
    out.push(idx);
  }
  return out;
}
