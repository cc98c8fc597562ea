/**
 * A binary min-heap ordered by a numeric key, ties broken by a second number: insertion order unless the caller
 * gives one (so runs are deterministic).
 */
export class MinHeap<T> {
  private readonly keys: number[] = [];
  private readonly order: number[] = [];
  private readonly items: T[] = [];
  private counter = 0;

  get size(): number {
    return this.items.length;
  }

  push(key: number, item: T, tie?: number): void {
    this.keys.push(key);
    this.order.push(tie ?? this.counter++);
    this.items.push(item);
    this.up(this.items.length - 1);
  }

  /** The smallest key, or undefined when empty. */
  peekKey(): number | undefined {
    return this.keys[0];
  }

  pop(): T | undefined {
    const n = this.items.length;
    if (n === 0) return undefined;
    const top = this.items[0]!;
    const key = this.keys.pop()!;
    const order = this.order.pop()!;
    const item = this.items.pop()!;
    if (n > 1) this.down(0, key, order, item);
    return top;
  }

  /** Moves the entry at i up to its place (sifting a hole, which lands every entry where swaps would). */
  private up(i: number): void {
    const keys = this.keys;
    const orders = this.order;
    const items = this.items;
    const key = keys[i]!;
    const order = orders[i]!;
    const item = items[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pk = keys[p]!;
      if (!(key < pk || (key === pk && order < orders[p]!))) break;
      keys[i] = pk;
      orders[i] = orders[p]!;
      items[i] = items[p]!;
      i = p;
    }
    keys[i] = key;
    orders[i] = order;
    items[i] = item;
  }

  /** Places (key, order, item) at the hole i and sifts it down. */
  private down(i: number, key: number, order: number, item: T): void {
    const keys = this.keys;
    const orders = this.order;
    const items = this.items;
    const n = items.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let m = l;
      if (r < n && (keys[r]! < keys[l]! || (keys[r] === keys[l] && orders[r]! < orders[l]!))) m = r;
      const mk = keys[m]!;
      if (!(mk < key || (mk === key && orders[m]! < order))) break;
      keys[i] = mk;
      orders[i] = orders[m]!;
      items[i] = items[m]!;
      i = m;
    }
    keys[i] = key;
    orders[i] = order;
    items[i] = item;
  }
}

/** A small seeded generator (xorshift32 with a splitmix-style seed scramble); deterministic for a seed. */
export function makeRng(seed: number): () => number {
  let s = (seed ^ 0x9e3779b9) >>> 0;
  s = Math.imul(s ^ (s >>> 16), 0x85ebca6b) >>> 0;
  s = Math.imul(s ^ (s >>> 13), 0xc2b2ae35) >>> 0;
  s = (s ^ (s >>> 16)) >>> 0;
  if (s === 0) s = 0x6d2b79f5;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}
