/**
 * The host's view of revoked sessions (src/auth/revocations.ts), a unit test
 * of one module: the table read is a counted stand-in and the clock is ours.
 * A "not revoked" answer is trusted for SESSION_CHECK_MS from the start of
 * the read that gave it, concurrent requests share one read, a revocation
 * this host made is never undone by a read that was already under way, and
 * the sessions that fall due together (or soon, and are in use) are read in
 * one call.
 */
import { READ_AHEAD_LOOK_MS, RevocationCache, SESSION_CHECK_MS, SESSION_READ_AHEAD_MS, SESSIONS_CACHED, type RevokedRead } from '../src/auth/revocations.js';
import { SESSIONS_PER_READ } from '../src/storage/sessions.js';

let now = 1_000_000;
/** Each call of the table read: the ids it asked for. */
let calls: string[][] = [];
const revokedInTable = new Set<string>();
let release: (() => void) | undefined;
let failWith: Error | undefined;
/** Ids the table leaves unprocessed, as DynamoDB does under throttling. */
const throttled = new Set<string>();
/** Per call (by its first id), how long it takes in real time. */
const slowCalls = new Map<string, number>();
/** Calls (by their first id) that fail, with failWith. */
const failingCalls = new Set<string>();
const unprocessed = new Error('left unprocessed');
/** The table read: records each call, and can be held open to play a slow read, or fail. */
const read = async (ids: readonly string[]): Promise<RevokedRead> => {
  calls.push([...ids]);
  const revoked = new Set(ids.filter((id) => revokedInTable.has(id) && !throttled.has(id)));
  const unread = ids.filter((id) => throttled.has(id));
  if (release !== undefined) await new Promise<void>((r) => (release = r));
  const delay = slowCalls.get(ids[0]!);
  if (delay) await new Promise((r) => setTimeout(r, delay));
  if (failWith && (failingCalls.size === 0 || failingCalls.has(ids[0]!))) throw failWith;
  return unread.length > 0 ? { revoked, unread: { ids: unread, error: unprocessed } } : { revoked };
};
const reads = (): number => calls.length;
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

beforeEach(() => {
  calls = [];
  revokedInTable.clear();
  throttled.clear();
  slowCalls.clear();
  failingCalls.clear();
  release = undefined;
  failWith = undefined;
  now += 60_000; // past any read-ahead look of the test before
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

test('each call answers its own sessions when it ends: a slow call holds up no one else, and a failed one fails only its own', async () => {
  const cache = new RevocationCache(read, () => now);
  const ids = Array.from({ length: SESSIONS_PER_READ + 2 }, (_, i) => `part-${i}`);
  revokedInTable.add('part-0');
  revokedInTable.add(`part-${SESSIONS_PER_READ + 1}`);
  slowCalls.set(`part-${SESSIONS_PER_READ}`, 300); // the second call
  const answers = ids.map((id) => cache.revoked(id));
  const started = Date.now();
  expect(await answers[0]).toBe(true);
  expect(await answers[1]).toBe(false);
  expect(Date.now() - started).toBeLessThan(250);
  expect(await answers[SESSIONS_PER_READ]).toBe(false);
  expect(await answers[SESSIONS_PER_READ + 1]).toBe(true);
  expect(calls.map((c) => c.length)).toEqual([SESSIONS_PER_READ, 2]);
  // Past due, 100 not revoked left and one more, 100 to a call: the second call fails, the first's answers stand.
  now += SESSION_CHECK_MS;
  slowCalls.clear();
  calls = [];
  failWith = new Error('the table is unavailable');
  failingCalls.add('part-extra');
  revokedInTable.add('part-7');
  const settled = await Promise.all(
    [...ids, 'part-extra'].map((id) =>
      cache.revoked(id).then(
        (revoked) => ({ revoked }),
        (err: unknown) => ({ err }),
      ),
    ),
  );
  expect(calls.map((c) => c[0])).toEqual(['part-1', 'part-extra']);
  expect(settled[7]).toEqual({ revoked: true });
  expect(settled.filter((s) => 'revoked' in s && !s.revoked)).toHaveLength(SESSIONS_PER_READ - 1);
  expect(settled.filter((s) => 'err' in s)).toEqual([{ err: failWith }]);
});

test('sessions the table leaves unprocessed fail their own requests, not the others of the call', async () => {
  const cache = new RevocationCache(read, () => now);
  throttled.add('hot');
  revokedInTable.add('gone');
  const [hot, gone, fine] = [cache.revoked('hot'), cache.revoked('gone'), cache.revoked('fine')];
  await expect(hot).rejects.toBe(unprocessed);
  expect(await gone).toBe(true);
  expect(await fine).toBe(false);
  throttled.clear();
  expect(await cache.revoked('hot')).toBe(false); // read again by the next request
  expect(calls).toEqual([['hot', 'gone', 'fine'], ['hot']]);
});

test('a session whose read ahead failed is not read ahead again, only when it falls due', async () => {
  const cache = new RevocationCache(read, () => now);
  await cache.revoked('busy');
  now += SESSION_CHECK_MS - SESSION_READ_AHEAD_MS;
  await cache.revoked('busy'); // in use
  throttled.add('busy');
  calls = [];
  expect(await cache.revoked('first')).toBe(false);
  await turn();
  expect(calls).toEqual([['first', 'busy']]); // taken along, and left unprocessed
  throttled.clear();
  expect(await cache.revoked('busy')).toBe(false); // still fresh from its last good read
  now += READ_AHEAD_LOOK_MS;
  expect(await cache.revoked('second')).toBe(false);
  expect(calls).toEqual([['first', 'busy'], ['second']]);
  now += SESSION_READ_AHEAD_MS; // 'busy' falls due: read on its own request
  expect(await cache.revoked('busy')).toBe(false);
  expect(calls).toEqual([['first', 'busy'], ['second'], ['busy']]);
});

test(`sessions to read ahead are looked for at most every ${READ_AHEAD_LOOK_MS} ms`, async () => {
  const cache = new RevocationCache(read, () => now);
  await Promise.all([cache.revoked('x'), cache.revoked('y')]);
  now += 50;
  await cache.revoked('z');
  now += SESSION_CHECK_MS - SESSION_READ_AHEAD_MS - 50; // 'x' and 'y' within the read-ahead, 'z' 50 ms short of it
  for (const id of ['x', 'y', 'z']) await cache.revoked(id);
  calls = [];
  await cache.revoked('n1'); // looks, and takes 'x' and 'y' along
  now += READ_AHEAD_LOOK_MS - 1; // 'z' is within it now, but the last look was too recent
  await cache.revoked('n2');
  now += 1;
  await cache.revoked('n3');
  expect(calls).toEqual([['n1', 'x', 'y'], ['n2'], ['n3', 'z']]);
});

test('a revoked session is answered revoked however many others the same read finds revoked', async () => {
  const cache = new RevocationCache(read, () => now);
  const others = Array.from({ length: SESSIONS_CACHED + 1 }, (_, i) => `other-${i}`);
  for (const id of ['victim', ...others]) revokedInTable.add(id);
  const answers = await Promise.all(['victim', ...others].map((id) => cache.revoked(id)));
  expect(answers.every(Boolean)).toBe(true);
});

test('a read whose answer cannot be used still answers every request of its call (with the error), none left waiting', async () => {
  const cache = new RevocationCache(
    async () => ({}) as RevokedRead,
    () => now,
  );
  const answers = await Promise.allSettled([cache.revoked('m1'), cache.revoked('m2')]);
  expect(answers.map((a) => a.status)).toEqual(['rejected', 'rejected']);
});
