/**
 * The host's view of revoked sessions (src/auth/revocations.ts), a unit test
 * of one module: the table read is a counted stand-in and the clock is ours.
 * A "not revoked" answer is trusted for SESSION_CHECK_MS from the start of
 * the read that gave it, concurrent requests share one read, a revocation
 * this host made is never undone by a read that was already under way, and
 * the sessions that fall due together (or soon, and are in use) are read in
 * one call.
 */
import { RevocationCache, SESSION_CHECK_MS, SESSION_READ_AHEAD_MS } from '../src/auth/revocations.js';
import { SESSIONS_PER_READ } from '../src/storage/sessions.js';

let now = 1_000_000;
/** Each call of the table read: the ids it asked for. */
let calls: string[][] = [];
const revokedInTable = new Set<string>();
let release: (() => void) | undefined;
let failWith: Error | undefined;
/** The table read: records each call, and can be held open to play a slow read, or fail. */
const read = async (ids: readonly string[]): Promise<Set<string>> => {
  calls.push([...ids]);
  const answer = new Set(ids.filter((id) => revokedInTable.has(id)));
  if (release !== undefined) await new Promise<void>((r) => (release = r));
  if (failWith) throw failWith;
  return answer;
};
const reads = (): number => calls.length;
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

beforeEach(() => {
  calls = [];
  revokedInTable.clear();
  release = undefined;
  failWith = undefined;
});

test('a session read as not revoked is answered from memory for SESSION_CHECK_MS, then read again', async () => {
  expect(SESSION_CHECK_MS).toBeLessThan(5_000);
  const cache = new RevocationCache(read, () => now);
  expect(await cache.revoked('s1')).toBe(false);
  expect(reads()).toBe(1);
  revokedInTable.add('s1');
  now += SESSION_CHECK_MS - 1;
  expect(await cache.revoked('s1')).toBe(false);
  expect(reads()).toBe(1);
  now += 1;
  expect(await cache.revoked('s1')).toBe(true);
  expect(reads()).toBe(2);
  // Revoked is final: never read again.
  now += 60_000;
  expect(await cache.revoked('s1')).toBe(true);
  expect(reads()).toBe(2);
});

test('requests arriving during a read share it', async () => {
  const cache = new RevocationCache(read, () => now);
  release = () => undefined;
  const answers = Promise.all([cache.revoked('s2'), cache.revoked('s2')]);
  await turn();
  const late = cache.revoked('s2'); // the read is under way
  release();
  expect(await answers).toEqual([false, false]);
  expect(await late).toBe(false);
  expect(calls).toEqual([['s2']]);
});

test('a revocation made here is known at once, and a read already under way does not bring the session back', async () => {
  const cache = new RevocationCache(read, () => now);
  release = () => undefined;
  const slow = cache.revoked('s3');
  await turn();
  cache.markRevoked('s3');
  release();
  expect(await slow).toBe(true);
  expect(await cache.revoked('s3')).toBe(true);
  expect(reads()).toBe(1);
});

test('the age of an answer counts from the start of its read', async () => {
  const cache = new RevocationCache(read, () => now);
  release = () => undefined;
  const slow = cache.revoked('s4');
  await turn();
  now += 3_000; // the read took 3 s
  release();
  expect(await slow).toBe(false);
  now += SESSION_CHECK_MS - 3_000;
  release = undefined;
  await cache.revoked('s4');
  expect(reads()).toBe(2);
});

test('sessions that fall due in one turn of the event loop are read in one call, each with its own answer', async () => {
  const cache = new RevocationCache(read, () => now);
  revokedInTable.add('b');
  expect(await Promise.all([cache.revoked('a'), cache.revoked('b'), cache.revoked('c'), cache.revoked('a')])).toEqual([false, true, false, false]);
  expect(calls).toEqual([['a', 'b', 'c']]);
});

test('a read also reads the sessions in use that would fall due within SESSION_READ_AHEAD_MS, and not the others', async () => {
  const cache = new RevocationCache(read, () => now);
  await Promise.all([cache.revoked('used'), cache.revoked('idle')]);
  now += 500;
  await cache.revoked('young'); // read 500 ms after the other two
  now += SESSION_CHECK_MS - SESSION_READ_AHEAD_MS - 500; // 'used' and 'idle' are now within the read-ahead
  expect(await cache.revoked('used')).toBe(false); // from memory: marks it in use
  expect(await cache.revoked('young')).toBe(false);
  calls = [];
  expect(await cache.revoked('new')).toBe(false);
  // 'used' came along; 'idle' was not asked for since its read, 'young' is not near its time.
  expect(calls).toEqual([['new', 'used']]);
  revokedInTable.add('used');
  now += SESSION_READ_AHEAD_MS; // due by its first read, but its last one was read ahead: still fresh
  expect(await cache.revoked('used')).toBe(false);
  expect(calls).toHaveLength(1);
  // The read-ahead counted from its own start: the revocation is seen within SESSION_CHECK_MS of it.
  now += SESSION_CHECK_MS - SESSION_READ_AHEAD_MS;
  expect(await cache.revoked('used')).toBe(true);
});

test(`more than ${SESSIONS_PER_READ} sessions due together are read ${SESSIONS_PER_READ} to a call`, async () => {
  const cache = new RevocationCache(read, () => now);
  const ids = Array.from({ length: SESSIONS_PER_READ * 2 + 5 }, (_, i) => `many-${i}`);
  revokedInTable.add('many-150');
  const answers = await Promise.all(ids.map((id) => cache.revoked(id)));
  expect(calls.map((c) => c.length)).toEqual([SESSIONS_PER_READ, SESSIONS_PER_READ, 5]);
  expect(answers.filter(Boolean)).toHaveLength(1);
  expect(answers[150]).toBe(true);
});

test('a read that fails fails the requests waiting for it; a failed read-ahead fails no one, and the next request reads again', async () => {
  const cache = new RevocationCache(read, () => now);
  failWith = new Error('the table is unavailable');
  await expect(Promise.all([cache.revoked('f1'), cache.revoked('f2')])).rejects.toBe(failWith);
  failWith = undefined;
  expect(await cache.revoked('f1')).toBe(false);
  expect(await cache.revoked('f3')).toBe(false);
  now += SESSION_CHECK_MS - SESSION_READ_AHEAD_MS;
  expect(await cache.revoked('f1')).toBe(false); // in use, within the read-ahead
  calls = [];
  failWith = new Error('the table is unavailable');
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): number => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    // 'f4' is new: its read takes 'f1' along (in use), not 'f3' (read with it, not asked for since).
    await expect(cache.revoked('f4')).rejects.toBe(failWith);
    await turn();
    expect(calls).toEqual([['f4', 'f1']]);
    expect(unhandled).toEqual([]);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
  // 'f1' is still answered from its last good read while that is fresh, and read again once it is not.
  failWith = undefined;
  expect(await cache.revoked('f1')).toBe(false);
  expect(calls).toHaveLength(1);
  now += SESSION_READ_AHEAD_MS;
  expect(await cache.revoked('f1')).toBe(false);
  expect(calls).toHaveLength(2);
});
