/** The data-key cache: copies out, exact match only, bounded, expiring, zeroed when dropped. */
import { DataKeyCache } from '../src/kms/data-key-cache.js';

const ct = (n: number): Uint8Array => new Uint8Array(40).fill(n);
const ctx = { 'enclave-wallet:wallet-id': 'w', 'enclave-wallet:user-id': 'u' };

test('a key comes back as a copy, only for the same ciphertext and context', () => {
  const cache = new DataKeyCache();
  const key = new Uint8Array(32).fill(7);
  cache.put(ct(1), ctx, key);
  key.fill(0); // the caller zeroes its own copy
  const out = cache.get(ct(1), ctx)!;
  expect([...out]).toEqual(new Array(32).fill(7));
  out.fill(0);
  expect([...cache.get(ct(1), ctx)!]).toEqual(new Array(32).fill(7));
  expect(cache.get(ct(2), ctx)).toBeUndefined();
  expect(cache.get(ct(1), { ...ctx, 'enclave-wallet:user-id': 'v' })).toBeUndefined();
});

test('entries expire and are zeroed; the count is bounded, oldest first', () => {
  let now = 0;
  const cache = new DataKeyCache(2, 1000, () => now);
  const keys = [1, 2, 3].map((n) => new Uint8Array(32).fill(n));
  const held = (cache as unknown as { entries: { values(): Iterable<Uint8Array> } }).entries;
  cache.put(ct(1), ctx, keys[0]!);
  const first = [...held.values()][0]!;
  cache.put(ct(2), ctx, keys[1]!);
  cache.put(ct(3), ctx, keys[2]!);
  expect(cache.size).toBe(2);
  expect(first.every((b) => b === 0)).toBe(true);
  expect(cache.get(ct(1), ctx)).toBeUndefined();
  now = 1000;
  expect(cache.get(ct(2), ctx)).toBeUndefined();
  cache.clear();
  expect(cache.size).toBe(0);
});

test('an idle cache zeroes an expired key on its own (the sweep timer), without being used again', async () => {
  let now = 0;
  const cache = new DataKeyCache(16, 1000, () => now, 20);
  cache.put(ct(1), ctx, new Uint8Array(32).fill(9));
  const held = (cache as unknown as { entries: { values(): Iterable<Uint8Array> } }).entries;
  const stored = [...held.values()][0]!;
  await new Promise((r) => setTimeout(r, 60));
  expect(stored.every((b) => b === 9)).toBe(true); // not expired yet: kept
  now = 1000;
  await new Promise((r) => setTimeout(r, 60));
  expect(stored.every((b) => b === 0)).toBe(true);
  expect(cache.size).toBe(0);
  expect((cache as unknown as { entries: { timer: unknown } }).entries.timer).toBeUndefined(); // stopped once empty
});
