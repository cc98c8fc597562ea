/**
 * Path costs that cannot overflow: a non-negative number held as m · 2^e, with e a multiple of 512.
 *
 * A 1,000-tensor network's paths cost 10^250 to 10^400 flops; past 1.8·10^308 a double is Infinity and every
 * path compares equal to every other. Here the mantissa stays a double below 2^512 and the exponent takes the
 * rest. Scaling by a power of two is exact, so every sum and product rounds exactly where the double would:
 * below 2^512 the result is the same double, bit for bit, as plain arithmetic gives (the conformance costs
 * stay exact integers below 2^53), and above it each operation still rounds once (relative 2^-53).
 */

/** A count m · 2^e: e = 0 with 0 ≤ m < 2^512, or e > 0 (a multiple of 512) with 1 ≤ m < 2^512. */
export interface Flops {
  readonly m: number;
  readonly e: number;
}

export const SHIFT = 512;
export const TOP = 2 ** SHIFT;
export const DOWN = 2 ** -SHIFT;
const LOG10_2 = Math.log10(2);

export const ZERO: Flops = { m: 0, e: 0 };

function normal(m: number, e: number): Flops {
  while (m >= TOP) {
    m *= DOWN;
    e += SHIFT;
  }
  return { m, e };
}

/** A double as a count (finite and non-negative). */
export function flopsOf(x: number): Flops {
  return normal(x, 0);
}

/** The product of `sizes[i]` over `ids` (each a finite size below 2^53), however large. */
export function productOf(ids: Iterable<number>, sizes: ArrayLike<number>): Flops {
  let m = 1;
  let e = 0;
  for (const i of ids) {
    m *= sizes[i] ?? 1;
    if (m >= TOP) {
      m *= DOWN;
      e += SHIFT;
    }
  }
  return { m, e };
}

/** Where `addParts` leaves its sum: a scratch record, so that a hot loop adds counts without allocating. */
export const partsSum = { m: 0, e: 0 };

/** (am · 2^ae) + (bm · 2^be), normalised, into `partsSum`. */
export function addParts(am: number, ae: number, bm: number, be: number): void {
  let m: number;
  let e: number;
  // The smaller is below 2^-512 of the larger once the exponents differ by 1,024 or more: lost to rounding anyway.
  if (ae === be) {
    m = am + bm;
    e = ae;
  } else if (ae > be) {
    m = am + bm * 2 ** (be - ae);
    e = ae;
  } else {
    m = bm + am * 2 ** (ae - be);
    e = be;
  }
  while (m >= TOP) {
    m *= DOWN;
    e += SHIFT;
  }
  partsSum.m = m;
  partsSum.e = e;
}

export function addFlops(a: Flops, b: Flops): Flops {
  addParts(a.m, a.e, b.m, b.e);
  return { m: partsSum.m, e: partsSum.e };
}

/** a × k for a small factor k (a step's multiplier, the 64 of 'combo'). */
export function scaleFlops(a: Flops, k: number): Flops {
  return normal(a.m * k, a.e);
}

/** The count as a double: exact where it fits, Infinity beyond 1.8·10^308. */
export function toNumber(a: Flops): number {
  return a.m * 2 ** a.e;
}

export function log10Of(a: Flops): number {
  return Math.log10(a.m) + a.e * LOG10_2;
}

/**
 * A double that orders counts as they compare: the count itself below 2^512 (so comparisons there are exactly
 * those of plain doubles), 2^512 · (1 + ln(count / 2^512)) above, which is increasing and stays finite for
 * any count this module can hold.
 */
export function flopsKey(a: Flops): number {
  return flopsKeyOf(a.m, a.e);
}

/** flopsKey of m · 2^e. */
export function flopsKeyOf(m: number, e: number): number {
  if (e === 0) return m;
  return TOP * (1 + Math.log(m) + (e - SHIFT) * Math.LN2);
}
