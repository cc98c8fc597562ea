/** A naive float64 dense einsum, the oracle for plan execution tests. Row-major tensors, one axis per id. */

export interface Dense {
  /** Axis id of each dimension (a repeated id is a diagonal). */
  readonly ids: readonly number[];
  readonly data: Float64Array;
}

export function randomDense(ids: readonly number[], sizes: readonly number[], rand: () => number): Dense {
  const n = ids.reduce((p, i) => p * sizes[i]!, 1);
  const data = new Float64Array(n);
  for (let k = 0; k < n; k++) data[k] = rand() * 2 - 1;
  return { ids, data };
}

/** sum over every index not in `output` of the product of the operands, laid out as `output`. */
export function denseEinsum(operands: readonly Dense[], output: readonly number[], sizes: readonly number[]): Dense {
  const all = [...new Set([...operands.flatMap((o) => o.ids), ...output])];
  const pos = new Map(all.map((id, k) => [id, k]));
  const extent = all.map((id) => sizes[id]!);
  const strideOf = (ids: readonly number[]): number[] => {
    const strides = new Array<number>(all.length).fill(0);
    let s = 1;
    for (let d = ids.length - 1; d >= 0; d--) {
      strides[pos.get(ids[d]!)!]! += s;
      s *= sizes[ids[d]!]!;
    }
    return strides;
  };
  const opStrides = operands.map((o) => strideOf(o.ids));
  const outStrides = strideOf(output);
  const result = new Float64Array(output.reduce((p, i) => p * sizes[i]!, 1));
  const total = extent.reduce((p, e) => p * e, 1);
  const counter = new Array<number>(all.length).fill(0);
  for (let flat = 0; flat < total; flat++) {
    let value = 1;
    operands.forEach((o, k) => {
      let off = 0;
      const st = opStrides[k]!;
      for (let d = 0; d < all.length; d++) off += counter[d]! * st[d]!;
      value *= o.data[off]!;
    });
    let outOff = 0;
    for (let d = 0; d < all.length; d++) outOff += counter[d]! * outStrides[d]!;
    result[outOff]! += value;
    for (let d = all.length - 1; d >= 0; d--) {
      if (++counter[d]! < extent[d]!) break;
      counter[d] = 0;
    }
  }
  return { ids: output, data: result };
}
