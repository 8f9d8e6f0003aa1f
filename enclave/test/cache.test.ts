/** The enclave's one cache (src/cache.ts): bounded, expiring, swept, and every value that leaves is seen by onDrop. */
import { BoundedCache } from '../src/cache.js';

test('the oldest entry leaves first when the bound is reached; a replaced value is dropped', () => {
  const dropped: string[] = [];
  const cache = new BoundedCache<string, string>({ maxEntries: 2, onDrop: (v) => dropped.push(v) });
  cache.set('a', 'A');
  cache.set('b', 'B');
  cache.set('a', 'A2'); // replaced: A leaves, and a is now the newest
  cache.set('c', 'C'); // b is the oldest
  expect(dropped).toEqual(['A', 'B']);
  expect([cache.get('a'), cache.get('b'), cache.get('c')]).toEqual(['A2', undefined, 'C']);
  cache.delete('a');
  cache.delete('missing');
  cache.clear();
  expect(dropped).toEqual(['A', 'B', 'A2', 'C']);
  expect(cache.size).toBe(0);
});

test('an expired entry is never returned, and is dropped on use', () => {
  let now = 0;
  const dropped: number[] = [];
  const cache = new BoundedCache<string, number>({ maxEntries: 8, ttlMs: 100, now: () => now, onDrop: (v) => dropped.push(v) });
  cache.set('x', 1);
  now = 99;
  expect(cache.get('x')).toBe(1);
  now = 100;
  expect(cache.get('x')).toBeUndefined();
  expect(dropped).toEqual([1]);
  expect(cache.size).toBe(0);
});

test('making room drops expired entries before live ones', () => {
  let now = 0;
  const cache = new BoundedCache<string, number>({ maxEntries: 2, ttlMs: 100, now: () => now, sweepMs: Infinity });
  cache.set('old', 1);
  now = 150;
  cache.set('b', 2); // 'old' is expired: it leaves on this set although the bound is not reached
  expect(cache.size).toBe(1);
  cache.set('c', 3);
  expect([cache.get('b'), cache.get('c')]).toEqual([2, 3]);
});

test('an idle cache is swept by its timer, which stops once the cache is empty', async () => {
  let now = 0;
  const dropped: number[] = [];
  const cache = new BoundedCache<string, number>({ maxEntries: 8, ttlMs: 1000, sweepMs: 20, now: () => now, onDrop: (v) => dropped.push(v) });
  cache.set('k', 7);
  await new Promise((r) => setTimeout(r, 60));
  expect(dropped).toEqual([]);
  now = 1000;
  await new Promise((r) => setTimeout(r, 60));
  expect(dropped).toEqual([7]);
  expect((cache as unknown as { timer: unknown }).timer).toBeUndefined();
});

test('a cache without a lifetime runs no timer', () => {
  const cache = new BoundedCache<string, number>({ maxEntries: 2 });
  cache.set('k', 1);
  expect((cache as unknown as { timer: unknown }).timer).toBeUndefined();
  expect(() => new BoundedCache({ maxEntries: 0 })).toThrow(RangeError);
});
