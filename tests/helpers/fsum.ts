/**
 * Exact summation for test oracles: Shewchuk's algorithm (the one behind Python's math.fsum). The running sum is
 * kept as a list of non-overlapping float64 partials whose exact sum is the exact sum of the values so far;
 * the result is that exact sum rounded once to float64.
 */

export function fsum(values: Iterable<number>): number {
  const partials: number[] = [];
  for (let x of values) {
    let i = 0;
    for (let y of partials) {
      if (Math.abs(x) < Math.abs(y)) [x, y] = [y, x];
      const hi = x + y;
      const lo = y - (hi - x);
      if (lo !== 0) partials[i++] = lo;
      x = hi;
    }
    partials.length = i;
    partials.push(x);
  }
  // Add the partials from the largest down, stopping once the rest cannot change the rounding; then correct
  // a halfway case as math.fsum does.
  let n = partials.length;
  if (n === 0) return 0;
  let hi = partials[--n]!;
  let lo = 0;
  while (n > 0) {
    const x = hi;
    const y = partials[--n]!;
    hi = x + y;
    const yr = hi - x;
    lo = y - yr;
    if (lo !== 0) break;
  }
  if (n > 0 && ((lo < 0 && partials[n - 1]! < 0) || (lo > 0 && partials[n - 1]! > 0))) {
    const y = lo * 2;
    const x = hi + y;
    if (y === x - hi) hi = x;
  }
  return hi;
}

/** Σ|x|, exactly rounded: the scale every summation error bound is stated against. */
export function absSum(values: Iterable<number>): number {
  const abs: number[] = [];
  for (const v of values) abs.push(Math.abs(v));
  return fsum(abs);
}
