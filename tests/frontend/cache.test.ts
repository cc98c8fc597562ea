/**
 * The frontend caches: a repeated call with the same pattern and shapes does not re-parse; new shapes reuse
 * the parsed pattern; the caches are bounded.
 */
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { LruCache } from '../../src/util/lru.js';
import { checkEinops, checkEinsum, checkPack, checkUnpack, clearFrontendCaches, parseCount, parseShape } from '../../src/ir/index.js';

describe('frontend caches', () => {
  beforeEach(() => clearFrontendCaches());

  it('does not re-parse an einsum seen before with the same shapes', () => {
    const first = checkEinsum('bij,bjk->bik', [[2, 3, 4], [2, 4, 5]]);
    const before = parseCount();
    for (let i = 0; i < 10; i++) expect(checkEinsum('bij,bjk->bik', [[2, 3, 4], [2, 4, 5]])).toBe(first);
    expect(parseCount()).toBe(before);
  });

  it('does not re-parse a pattern seen before when only the shapes change', () => {
    checkEinsum('b i j, b j k -> b i k', [[2, 3, 4], [2, 4, 5]]);
    const before = parseCount();
    const other = checkEinsum('b i j, b j k -> b i k', [[7, 3, 4], [7, 4, 1]]);
    expect(other.outputShape).toEqual([7, 3, 1]);
    expect(parseCount()).toBe(before);
  });

  it('does not re-parse a rearrange, reduce or repeat seen before', () => {
    checkEinops('rearrange', 'b (h w) c -> b h w c', [2, 12, 3], { h: 3 });
    checkEinops('reduce', 'b h w c -> b c', [2, 3, 4, 5], {}, 'mean');
    checkEinops('repeat', 'h w -> h w c', [2, 3], { c: 4 });
    const before = parseCount();
    checkEinops('rearrange', 'b (h w) c -> b h w c', [2, 12, 3], { h: 3 });
    checkEinops('rearrange', 'b (h w) c -> b h w c', [5, 12, 3], { h: 4 });
    checkEinops('reduce', 'b h w c -> b c', [2, 3, 4, 5], {}, 'mean');
    checkEinops('reduce', 'b h w c -> b c', [2, 3, 4, 5], {}, 'max');
    checkEinops('repeat', 'h w -> h w c', [2, 3], { c: 4 });
    expect(parseCount()).toBe(before);
  });

  it('does not re-parse pack, unpack and parse_shape patterns seen before', () => {
    checkPack('b *', [[2, 3], [2, 4, 5]]);
    checkUnpack('b *', [2, 23], [[3], [4, 5]]);
    parseShape('b _ c', [2, 3, 4]);
    const before = parseCount();
    checkPack('b *', [[2, 3], [2, 4, 5]]);
    checkUnpack('b *', [2, 23], [[3], [4, 5]]);
    expect(parseShape('b _ c', [2, 3, 4])).toEqual({ b: 2, c: 4 });
    expect(parseCount()).toBe(before);
  });

  it('parses the same string once per language', () => {
    const before = parseCount();
    checkEinsum('i j -> j i', [[2, 3]], 'einsum', 'einops');
    checkEinsum('i j -> j i', [[2, 3]], 'einsum', 'numpy');
    expect(parseCount()).toBe(before + 2);
  });

  it('returns a fresh object from parseShape so callers may modify it', () => {
    const a = parseShape('a b', [2, 3]);
    a['a'] = 99;
    expect(parseShape('a b', [2, 3])).toEqual({ a: 2, b: 3 });
  });

  it('parses again after the caches are cleared', () => {
    checkEinsum('ij->ji', [[2, 3]]);
    const before = parseCount();
    clearFrontendCaches();
    checkEinsum('ij->ji', [[2, 3]]);
    expect(parseCount()).toBe(before + 1);
  });

  it('bounds an LRU cache and evicts the least recently used entry', () => {
    const lru = new LruCache<string, number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    expect(lru.get('a')).toBe(1);
    lru.set('c', 3);
    expect(lru.get('b')).toBeUndefined();
    expect(lru.get('a')).toBe(1);
    expect(lru.get('c')).toBe(3);
    expect(lru.size).toBe(2);
  });

  it('evicts exactly as a list-based LRU over random get/set/delete/resize sequences (property)', () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 3 }),
      // Few keys, so hits on the newest entry, evictions and re-inserts all happen within a run.
      fc.array(fc.tuple(fc.constantFrom('get', 'get', 'get', 'set', 'set', 'delete', 'resize'), fc.integer({ min: 0, max: 3 })), { maxLength: 80 }),
      (capacity, ops) => {
        const lru = new LruCache<number, number>(capacity);
        let cap = capacity;
        let model: [number, number][] = []; // oldest first
        let stamp = 0;
        for (const [op, k] of ops) {
          if (op === 'get') {
            const at = model.findIndex(([key]) => key === k);
            const want = at < 0 ? undefined : model[at]![1];
            if (at >= 0) model.push(...model.splice(at, 1));
            expect(lru.get(k)).toBe(want);
          } else if (op === 'set') {
            stamp++;
            model = model.filter(([key]) => key !== k);
            model.push([k, stamp]);
            if (model.length > cap) model.shift();
            lru.set(k, stamp);
          } else if (op === 'delete') {
            model = model.filter(([key]) => key !== k);
            lru.delete(k);
          } else {
            cap = k;
            while (model.length > cap) model.shift();
            lru.resize(cap);
          }
          expect(lru.size).toBe(model.length);
        }
        for (const [key, value] of model) expect(lru.get(key)).toBe(value);
      },
    ), { numRuns: 2000 });
  });

  it('stays bounded when many distinct patterns go through', () => {
    for (let i = 0; i < 3000; i++) checkEinsum(`a${i} b -> b`, [[2, 3]]);
    const before = parseCount();
    checkEinsum('a2999 b -> b', [[2, 3]]);
    expect(parseCount()).toBe(before);
    checkEinsum('a0 b -> b', [[2, 3]]);
    expect(parseCount()).toBe(before + 1);
  });
});

describe('cached results', () => {
  it('hands out fresh arrays from pack and unpack, so callers cannot corrupt the cache', () => {
    const a = checkPack('b *', [[2, 3]]);
    a.outputShape[0] = 99;
    a.packedShapes[0]![0] = 99;
    const b = checkPack('b *', [[2, 3]]);
    expect(b.outputShape).toEqual([2, 3]);
    expect(b.packedShapes).toEqual([[3]]);
    const u = checkUnpack('b *', [2, 3], [[3]]);
    u.outputShapes[0]![0] = 99;
    expect(checkUnpack('b *', [2, 3], [[3]]).outputShapes).toEqual([[2, 3]]);
  });

  it('freezes the einsum and einops results it shares between calls', () => {
    const c = checkEinsum('ij->ji', [[2, 3]]);
    expect(Object.isFrozen(c.outputShape)).toBe(true);
    const r = checkEinops('rearrange', 'a b -> b a', [2, 3]);
    expect(Object.isFrozen(r.outputShape)).toBe(true);
    expect(Object.isFrozen(r.elementaryShape)).toBe(true);
  });
});
