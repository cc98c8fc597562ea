/**
 * A small least-recently-used map: a hit moves the entry to the back of the Map's insertion order, and an
 * insert past the capacity evicts the front.
 */
export class LruCache<K, V> {
  private readonly map = new Map<K, V>();
  /** The most recently used key: a repeated hit on it (a loop calling one op) skips re-inserting. */
  private newest: K | undefined = undefined;

  constructor(private maxSize: number) {}

  get capacity(): number {
    return this.maxSize;
  }

  /** Changes the capacity, evicting the least recently used entries past it. */
  resize(capacity: number): void {
    this.maxSize = capacity;
    while (this.map.size > capacity) {
      const oldest = this.map.keys().next();
      if (oldest.done === true) break;
      this.map.delete(oldest.value);
    }
  }

  get(key: K): V | undefined {
    const value = this.map.get(key);
    if (value !== undefined && key !== this.newest) {
      this.map.delete(key);
      this.map.set(key, value);
      this.newest = key;
    }
    return value;
  }

  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    this.newest = key;
    if (this.map.size > this.maxSize) {
      const oldest = this.map.keys().next();
      if (oldest.done !== true) this.map.delete(oldest.value);
    }
  }

  delete(key: K): boolean {
    if (key === this.newest) this.newest = undefined;
    return this.map.delete(key);
  }

  get size(): number {
    return this.map.size;
  }

  clear(): void {
    this.newest = undefined;
    this.map.clear();
  }
}
