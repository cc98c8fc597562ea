/**
 * Calls `visit(xi, oi)` once per point of the loops `dims` (outermost first), with the input and output element
 * offsets of that point (`x0`/`o0` plus each loop's index times its stride in `xs`/`os`): the odometer that the
 * row copy (loop.ts) and the Wasm transpose (transpose.ts) walk their outer loops with. Nothing when a loop is
 * empty; once, at the start offsets, when `dims` is empty.
 */
export function forEachPoint(sizes: readonly number[], dims: readonly number[], xs: readonly number[], os: readonly number[],
  x0: number, o0: number, visit: (xi: number, oi: number) => void): void {
  if (dims.some((d) => sizes[d] === 0)) return;
  const at = new Array<number>(dims.length).fill(0);
  let xi = x0;
  let oi = o0;
  for (;;) {
    visit(xi, oi);
    let k = dims.length - 1;
    for (; k >= 0; k--) {
      const d = dims[k]!;
      xi += xs[d]!;
      oi += os[d]!;
      if (++at[k]! < sizes[d]!) break;
      xi -= xs[d]! * sizes[d]!;
      oi -= os[d]! * sizes[d]!;
      at[k] = 0;
    }
    if (k < 0) return;
  }
}
