/**
 * The host's view of revoked sessions (src/auth/revocations.ts), a unit test
 * of one module: the table read is a counted stand-in and the clock is ours.
 * A "not revoked" answer is trusted for SESSION_CHECK_MS from the start of
 * the read that gave it, concurrent requests share one read, and a revocation
 * this host made is never undone by a read that was already under way.
 */
import { RevocationCache, SESSION_CHECK_MS } from '../src/auth/revocations.js';

let now = 1_000_000;
let reads = 0;
const revokedInTable = new Set<string>();
let release: (() => void) | undefined;
/** The table read: counts, and can be held open to play a slow read. */
const read = async (sessionId: string): Promise<boolean> => {
  reads++;
  const answer = revokedInTable.has(sessionId);
  if (release === undefined) return answer;
  await new Promise<void>((r) => (release = r));
  return answer;
};

beforeEach(() => {
  reads = 0;
  revokedInTable.clear();
  release = undefined;
});

test('a session read as not revoked is answered from memory for SESSION_CHECK_MS, then read again', async () => {
  expect(SESSION_CHECK_MS).toBeLessThan(5_000);
  const cache = new RevocationCache(read, () => now);
  expect(await cache.revoked('s1')).toBe(false);
  expect(reads).toBe(1);
  revokedInTable.add('s1');
  now += SESSION_CHECK_MS - 1;
  expect(await cache.revoked('s1')).toBe(false);
  expect(reads).toBe(1);
  now += 1;
  expect(await cache.revoked('s1')).toBe(true);
  expect(reads).toBe(2);
  // Revoked is final: never read again.
  now += 60_000;
  expect(await cache.revoked('s1')).toBe(true);
  expect(reads).toBe(2);
});

test('requests arriving during a read share it', async () => {
  const cache = new RevocationCache(read, () => now);
  release = () => undefined;
  const answers = Promise.all([cache.revoked('s2'), cache.revoked('s2'), cache.revoked('s2')]);
  await new Promise((r) => setImmediate(r));
  release();
  expect(await answers).toEqual([false, false, false]);
  expect(reads).toBe(1);
});

test('a revocation made here is known at once, and a read already under way does not bring the session back', async () => {
  const cache = new RevocationCache(read, () => now);
  release = () => undefined;
  const slow = cache.revoked('s3');
  await new Promise((r) => setImmediate(r));
  cache.markRevoked('s3');
  release();
  expect(await slow).toBe(true);
  expect(await cache.revoked('s3')).toBe(true);
  expect(reads).toBe(1);
});

test('the age of an answer counts from the start of its read', async () => {
  const cache = new RevocationCache(read, () => now);
  release = () => undefined;
  const slow = cache.revoked('s4');
  await new Promise((r) => setImmediate(r));
  now += 3_000; // the read took 3 s
  release();
  expect(await slow).toBe(false);
  now += SESSION_CHECK_MS - 3_000;
  release = undefined;
  await cache.revoked('s4');
  expect(reads).toBe(2);
});
