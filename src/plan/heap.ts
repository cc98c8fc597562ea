/**
 * A binary min-heap ordered by a numeric key, ties broken by insertion order (so runs are deterministic).
 */
export class MinHeap<T> {
  private readonly keys: number[] = [];
  private readonly order: number[] = [];
  private readonly items: T[] = [];
  private counter = 0;

  get size(): number {
    return this.items.length;
  }

  push(key: number, item: T): void {
    this.keys.push(key);
    this.order.push(this.counter++);
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
      // An entry being sifted up was pushed last: among equal keys it already comes last.
      if (!(key < pk)) break;
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

/**
 * A min-heap of operand pairs for greedy's queue: each entry is (key, tie, a, b) in parallel typed arrays, so
 * that a search of thousands of steps allocates no object per candidate. Ordered by key, then tie (distinct
 * for distinct pairs, so the pop order never depends on the heap's shape).
 */
export class PairHeap {
  private keys = new Float64Array(64);
  private ties = new Float64Array(64);
  private as = new Int32Array(64);
  private bs = new Int32Array(64);
  size = 0;
  /** The pair of the entry `pop` last removed, and its key. */
  a = 0;
  b = 0;
  key = 0;

  clear(): void {
    this.size = 0;
  }

  push(key: number, tie: number, a: number, b: number): void {
    if (this.size === this.keys.length) this.grow();
    const keys = this.keys;
    const ties = this.ties;
    const as = this.as;
    const bs = this.bs;
    let i = this.size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pk = keys[p]!;
      if (!(key < pk || (key === pk && tie < ties[p]!))) break;
      keys[i] = pk;
      ties[i] = ties[p]!;
      as[i] = as[p]!;
      bs[i] = bs[p]!;
      i = p;
    }
    keys[i] = key;
    ties[i] = tie;
    as[i] = a;
    bs[i] = b;
  }

  /** Removes the smallest entry into (`key`, `a`, `b`); false when empty. */
  pop(): boolean {
    const n = this.size;
    if (n === 0) return false;
    const keys = this.keys;
    const ties = this.ties;
    const as = this.as;
    const bs = this.bs;
    this.key = keys[0]!;
    this.a = as[0]!;
    this.b = bs[0]!;
    const last = n - 1;
    this.size = last;
    if (last === 0) return true;
    const key = keys[last]!;
    const tie = ties[last]!;
    const a = as[last]!;
    const b = bs[last]!;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= last) break;
      const r = l + 1;
      let m = l;
      if (r < last && (keys[r]! < keys[l]! || (keys[r] === keys[l] && ties[r]! < ties[l]!))) m = r;
      const mk = keys[m]!;
      if (!(mk < key || (mk === key && ties[m]! < tie))) break;
      keys[i] = mk;
      ties[i] = ties[m]!;
      as[i] = as[m]!;
      bs[i] = bs[m]!;
      i = m;
    }
    keys[i] = key;
    ties[i] = tie;
    as[i] = a;
    bs[i] = b;
    return true;
  }

  private grow(): void {
    const cap = this.keys.length * 2;
    const keys = new Float64Array(cap);
    const ties = new Float64Array(cap);
    const as = new Int32Array(cap);
    const bs = new Int32Array(cap);
    keys.set(this.keys);
    ties.set(this.ties);
    as.set(this.as);
    bs.set(this.bs);
    this.keys = keys;
    this.ties = ties;
    this.as = as;
    this.bs = bs;
  }
}
