/**
 * Index sets as fixed-width bit sets (one bit per compact index id, 32 per word).
 *
 * Every planner algorithm works on sets of indices: the union of two operands, the indices kept, those summed
 * away. A set is a `Uint32Array` of `words` entries; all sets of one network have the same width. The functions
 * return new arrays and never modify their arguments.
 */

export type Bits = Uint32Array;

export function bitsOf(ids: Iterable<number>, words: number): Bits {
  const b = new Uint32Array(words);
  for (const i of ids) b[i >>> 5]! |= 1 << (i & 31);
  return b;
}

export function hasBit(a: Bits, i: number): boolean {
  return ((a[i >>> 5]! >>> (i & 31)) & 1) === 1;
}

export function or(a: Bits, b: Bits): Bits {
  const r = new Uint32Array(a.length);
  for (let w = 0; w < a.length; w++) r[w] = a[w]! | b[w]!;
  return r;
}

export function intersects(a: Bits, b: Bits): boolean {
  for (let w = 0; w < a.length; w++) if ((a[w]! & b[w]!) !== 0) return true;
  return false;
}

/** True when every element of `a` is in `b`. */
export function isSubset(a: Bits, b: Bits): boolean {
  for (let w = 0; w < a.length; w++) if ((a[w]! & ~b[w]!) !== 0) return false;
  return true;
}

/** The ids in the set, ascending. */
export function idsOf(a: Bits): number[] {
  const out: number[] = [];
  for (let w = 0; w < a.length; w++) {
    let x = a[w]!;
    while (x !== 0) {
      const low = x & -x;
      out.push(w * 32 + 31 - Math.clz32(low));
      x ^= low;
    }
  }
  return out;
}

/** Product of `size[i]` over the set: the number of elements of a tensor with these indices. */
export function sizeOf(a: Bits, size: Float64Array): number {
  let p = 1;
  for (let w = 0; w < a.length; w++) {
    let x = a[w]!;
    while (x !== 0) {
      const low = x & -x;
      p *= size[w * 32 + 31 - Math.clz32(low)]!;
      x ^= low;
    }
  }
  return p;
}

/** A string usable as a Map key. */
export function keyOf(a: Bits): string {
  return a.join(',');
}
