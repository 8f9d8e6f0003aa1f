/**
 * Right guesses' clears held back to be carried by the next count (src/sealing/unwritten-clears.ts), against the
 * real guard on dynalite: a read that was under way while a guess was counted, answered and held must not make its
 * clear look done. Before the fix such a read dropped the clear unwritten; the right guess then stayed pending in
 * the guard until its TTL turned it into a failure (16 passkey signatures at once on one wallet showed it: a
 * pending entry nobody cleared, four failures beside it, and every later guess waiting for a place until
 * WALLET_CONFLICT). The last test (from a review) drives GuessCounter.count itself, so a mark taken after its read
 * fails too.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';
import { ensureGuardTable } from '@enclave-wallet/devtools';
import { parseUserId, parseWalletId, type WalletId } from '@enclave-wallet/proto/ids';
import { GUESS_TTL_MS, type Guess } from '../src/guard/budget.js';
import { DynamoGuard, type GuardRecord } from '../src/guard/guard.js';
import { GuessCounter } from '../src/sealing/guesses.js';
import { UnwrittenClears } from '../src/sealing/unwritten-clears.js';

const TABLE = 'unwritten-clears-test';
let server: ReturnType<typeof dynalite>;
let guard: DynamoGuard;

beforeAll(async () => {
  server = dynalite({ createTableMs: 0 });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await ensureGuardTable(endpoint, TABLE);
  guard = new DynamoGuard({ region: 'us-east-1', endpoint, table: TABLE }, { accessKeyId: 'l', secretAccessKey: 'l' });
});
afterAll(async () => {
  guard.destroy();
  await new Promise((r) => server.close(r));
});

const token = (): string => randomBytes(16).toString('hex');

async function newWallet(guesses = new Map<string, Guess>()) {
  const walletId = parseWalletId(`w-${token()}`);
  await guard.create({ walletId, owner: parseUserId('user-1'), keyRef: 'ab'.repeat(32), version: 1, blob: Uint8Array.of(1), guesses });
  return walletId;
}

test('a read started before a right guess was counted does not drop its clear; the flush removes it from the guard', async () => {
  const walletId = await newWallet();
  const clears = new UnwrittenClears(guard, 60_000, () => {});
  // Another count's read starts, and is served before the guess below is counted.
  const mark = clears.mark();
  const stale = (await guard.get(walletId))!;
  // The guess is counted (its pending entry written), found right, and its clear held back.
  const right = token();
  const counted = await guard.admit(walletId, stale, right, Date.now(), 'budget');
  expect(counted.get(right)?.state).toBe('pending');
  const written = clears.add(walletId, { token: right, failures: [], factor: 'pin', at: Date.now() });
  // The read's answer arrives now: it does not show the token, yet the guard holds it.
  expect(stale.guesses.has(right)).toBe(false);
  clears.settleGone(walletId, stale, mark);
  const taken = clears.take(walletId, 'pin') ?? [];
  expect(taken.map((c) => c.token)).toEqual([right]); // the next count here would carry it
  // Put back and written on its own (as the timer would): the guard no longer holds it.
  clears.putBack(walletId, taken);
  await clears.flush(walletId);
  await written;
  expect((await guard.get(walletId))!.guesses.size).toBe(0);
});

test('a read started after a clear was held judges it: a token another write removed has nothing left to clear', async () => {
  const right = token();
  const failure = token();
  const walletId = await newWallet(
    new Map<string, Guess>([
      [right, { state: 'pending', at: Date.now() }],
      [failure, { state: 'failed', at: Date.now() - 1000 }],
    ]),
  );
  const clears = new UnwrittenClears(guard, 60_000, () => {});
  let settled = false;
  const written = clears.add(walletId, { token: right, failures: [failure], factor: 'pin', at: Date.now() }).then(() => (settled = true));
  // Another enclave clears the same guess meanwhile.
  await guard.clear(walletId, right, [failure], 'pin');
  const mark = clears.mark();
  const fresh = (await guard.get(walletId))!;
  clears.settleGone(walletId, fresh, mark);
  await written;
  expect(settled).toBe(true);
  expect(clears.take(walletId, 'pin')).toEqual([]);
});

test('count(): its own read, served before another guess was counted and answered after that guess was held as right, leaves the clear to be carried', async () => {
  const walletId = await newWallet();
  // A guard whose next read, once armed, is served at once and answered only when released.
  let armed = false;
  let served!: () => void;
  const readServed = new Promise<void>((r) => (served = r));
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const slow = Object.create(guard) as DynamoGuard;
  slow.get = async (w) => {
    const snapshot = await guard.get(w);
    if (armed) {
      armed = false;
      served();
      await gate;
    }
    return snapshot;
  };
  const counter = new GuessCounter({ guard: slow, now: Date.now, remember: () => {}, forget: () => {}, clearDelayMs: 60_000 });
  const real = (await guard.get(walletId))!;
  // Count X starts from a cached record that shows the budget full: it waits, then reads (held back).
  const full = new Map<string, Guess>([0, 1, 2, 3, 4].map(() => [token(), { state: 'pending', at: Date.now() }] as [string, Guess]));
  const cached: GuardRecord = { ...real, guesses: full };
  armed = true;
  const x = counter.count(cached, true);
  await readServed;
  // Meanwhile guess G is counted, answered right, and its clear held.
  const g = await counter.count(real, false);
  let gWritten = false;
  const gClear = counter.cleared(g).then(() => (gWritten = true));
  release();
  const xCounted = await x;
  await gClear;
  expect(gWritten).toBe(true);
  // G's clear was carried by X's count: only X's token is left.
  expect([...(await guard.get(walletId))!.guesses.keys()]).toEqual([xCounted.token]);
});

describe('a graceful stop (flushAll) and the clears a count under way carries', () => {
  const settledWithin = async (p: Promise<unknown>, ms: number): Promise<boolean> => {
    let settled = false;
    void p.then(() => (settled = true));
    await new Promise((r) => setTimeout(r, ms));
    return settled;
  };

  async function carriedRightGuess() {
    const walletId = await newWallet();
    const clears = new UnwrittenClears(guard, 60_000, () => {});
    const right = token();
    await guard.admit(walletId, (await guard.get(walletId))!, right, Date.now(), 'budget');
    const written = clears.add(walletId, { token: right, failures: [], factor: 'pin', at: Date.now() });
    const carried = clears.take(walletId, 'pin') ?? [];
    expect(carried.map((c) => c.token)).toEqual([right]);
    return { walletId, clears, right, written, carried };
  }

  test('waits while the count is under way; its write failed: the clears come back and are written before the stop ends', async () => {
    const { walletId, clears, written, carried } = await carriedRightGuess();
    const stop = clears.flushAll();
    expect(await settledWithin(stop, 50)).toBe(false); // the count's write has not settled
    clears.putBack(walletId, carried); // it failed
    await stop;
    await written;
    expect((await guard.get(walletId))!.guesses.size).toBe(0);
  });

  test('its write landed: the stop ends without writing them again', async () => {
    const { walletId, clears, right, written, carried } = await carriedRightGuess();
    const stop = clears.flushAll();
    expect(await settledWithin(stop, 50)).toBe(false);
    // The count's write carried the clear: the guard dropped the token with it.
    await guard.clear(walletId, right, [], 'pin');
    for (const c of carried) c.done();
    await stop;
    await written;
    expect((await guard.get(walletId))!.guesses.size).toBe(0);
  });

  test('its write fails while the stop is writing another wallet’s clear: the clear put back is written before the stop ends (from a review)', async () => {
    const { walletId, clears, written, carried } = await carriedRightGuess();
    // Another wallet's held clear: the stop writes it (a real guard write, on the wire when the count fails).
    const other = await newWallet();
    const right = token();
    await guard.admit(other, (await guard.get(other))!, right, Date.now(), 'budget');
    const otherWritten = clears.add(other, { token: right, failures: [], factor: 'pin', at: Date.now() });
    const stop = clears.flushAll();
    await new Promise((r) => setTimeout(r, 1));
    clears.putBack(walletId, carried);
    await stop;
    await Promise.all([written, otherWritten]);
    expect((await guard.get(walletId))!.guesses.size).toBe(0);
    expect((await guard.get(other))!.guesses.size).toBe(0);
  });

  test('nothing held or carried: the stop ends at once', async () => {
    const clears = new UnwrittenClears(guard, 60_000, () => {});
    expect(await settledWithin(clears.flushAll(), 20)).toBe(true);
  });
});

/** An UnwrittenClears on the real guard whose `clear` calls are listed as they leave (it calls nothing else). */
function listingClears(delay: number) {
  const writes: string[] = [];
  const spied = Object.assign(Object.create(guard) as DynamoGuard, {
    clear: (...args: Parameters<DynamoGuard['clear']>) => {
      writes.push(args[1]);
      return guard.clear(...args);
    },
  });
  return { writes, clears: new UnwrittenClears(spied, delay, () => {}) };
}

/**
 * A wallet whose one held clear (`first`) stops being held before its timer runs out (`emptied`), then a clear held
 * half the delay later: it must wait its own delay, not be written on its own when the first one's would have run out.
 * Before, the first clear's timer stayed set, and when it ran out it wrote the one held after it, however recent: at
 * one client signing back to back, an extra guard write every CLEAR_DELAY_MS.
 */
async function nextClearWaitsItsOwnDelay(emptied: (clears: UnwrittenClears, walletId: WalletId, first: string) => Promise<void>) {
  const delay = 600;
  const walletId = await newWallet();
  const { writes, clears } = listingClears(delay);
  const first = token();
  const second = token();
  for (const t of [first, second]) await guard.admit(walletId, (await guard.get(walletId))!, t, Date.now(), 'budget');
  const t0 = Date.now();
  const firstWritten = clears.add(walletId, { token: first, failures: [], factor: 'pin', at: t0 });
  await emptied(clears, walletId, first);
  await firstWritten;
  // Half the delay later, the next guess is answered right, and its clear is held.
  await new Promise((r) => setTimeout(r, delay / 2 - (Date.now() - t0)));
  let secondDone = false;
  const secondWritten = clears.add(walletId, { token: second, failures: [], factor: 'pin', at: Date.now() }).then(() => (secondDone = true));
  // Past the first clear's time (t0 + delay), before the second's (t0 + 1.5 delay): nothing written on its own yet.
  await new Promise((r) => setTimeout(r, delay - (Date.now() - t0) + 100));
  expect(secondDone).toBe(false);
  expect(writes).toEqual([]);
  // Its own time comes, and nothing carried it: written on its own.
  await secondWritten;
  expect(writes).toEqual([second]);
  expect(Date.now() - t0).toBeGreaterThanOrEqual(delay * 1.5 - 5);
  expect((await guard.get(walletId))!.guesses.size).toBe(0);
}

test('a clear held after the others were carried is not written when their timer would have run out', async () => {
  await nextClearWaitsItsOwnDelay(async (clears, walletId, first) => {
    // The next count carries it, and its write lands.
    const carried = clears.take(walletId, 'pin') ?? [];
    expect(carried.map((c) => c.token)).toEqual([first]);
    await guard.clear(walletId, first, [], 'pin');
    for (const c of carried) c.done();
  });
});

test('a read that finds every held clear already written drops the timer too: the next clear waits its own delay', async () => {
  await nextClearWaitsItsOwnDelay(async (clears, walletId, first) => {
    // Another write clears it; a read started after it was held finds the token gone: nothing left to write.
    await guard.clear(walletId, first, [], 'pin');
    const mark = clears.mark();
    clears.settleGone(walletId, (await guard.get(walletId))!, mark);
  });
});

test('a count that carries one factor’s clears leaves the timer for the other factor’s, which it still writes when due', async () => {
  const delay = 600;
  const walletId = await newWallet();
  const { writes, clears } = listingClears(delay);
  const pin = token();
  const passkey = token();
  await guard.admit(walletId, (await guard.get(walletId))!, pin, Date.now(), 'budget');
  await guard.admit(walletId, (await guard.get(walletId))!, passkey, Date.now(), 'budget', 'passkey');
  const t0 = Date.now();
  const pinWritten = clears.add(walletId, { token: pin, failures: [], factor: 'pin', at: t0 });
  const passkeyWritten = clears.add(walletId, { token: passkey, failures: [], factor: 'passkey', at: t0 });
  const carried = clears.take(walletId, 'pin') ?? [];
  expect(carried.map((c) => c.token)).toEqual([pin]);
  await guard.clear(walletId, pin, [], 'pin');
  for (const c of carried) c.done();
  await Promise.all([pinWritten, passkeyWritten]);
  expect(writes).toEqual([passkey]); // on its own, by the timer
  expect(Date.now() - t0).toBeGreaterThanOrEqual(delay - 5);
  const left = (await guard.get(walletId))!;
  expect(left.guesses.size + (left.passkeyGuesses?.size ?? 0)).toBe(0);
});

/** The counter's wakers by wallet (private; read here to show what stays behind). */
const waiting = (counter: GuessCounter): Map<unknown, unknown[]> => (counter as unknown as { waiting: Map<unknown, unknown[]> }).waiting;

/**
 * A guess that waits for a place in a full budget (src/sealing/guesses.ts) leaves nothing behind once its wait is
 * over. Before the fix each round of waiting added a waker to a per-wallet list that only an answer given by this
 * enclave emptied: a wallet whose budget was held by guesses this enclave never answers (another enclave's, or one
 * from before a restart) kept one entry per round of every request that waited on it (a review measured 21,200
 * after 400 requests), for the life of the process.
 */
test('a guess that waited on guesses this enclave never answers leaves no waker behind, whether it ends in a place or a lock-out', async () => {
  const t0 = Date.now();
  let clock = t0;
  const counter = new GuessCounter({ guard, now: () => clock, remember: () => {}, forget: () => {}, clearDelayMs: 0 });
  // Five guesses counted elsewhere fill the PIN budget: a new guess waits, reading the guard round after round.
  const elsewhere = new Map<string, Guess>([0, 1, 2, 3, 4].map(() => [token(), { state: 'pending', at: t0 }] as [string, Guess]));
  const walletId = await newWallet(elsewhere);
  const record = (await guard.get(walletId))!;
  const counting = counter.count(record, false);
  const outcome = counting.then(
    () => 'counted',
    (err: { code?: string }) => err.code,
  );
  // Several rounds of waiting (10, 20, 40, 80 ms …): nobody here answers those five guesses.
  await new Promise((r) => setTimeout(r, 400));
  expect(waiting(counter).get(walletId)?.length ?? 0).toBeLessThanOrEqual(1);
  // Their TTL runs out: they are five failures, and the guess is refused with a lock-out.
  clock = t0 + GUESS_TTL_MS + 1;
  expect(await outcome).toBe('PIN_LOCKED');
  await new Promise((r) => setTimeout(r, 250)); // any round's timer still running has fired
  expect(waiting(counter).size).toBe(0);

  // The same with a place freed: the guesses elsewhere are removed, and the waiting guess is counted.
  const held = new Map<string, Guess>([0, 1, 2, 3, 4].map(() => [token(), { state: 'pending', at: clock }] as [string, Guess]));
  const other = await newWallet(held);
  const second = counter.count((await guard.get(other))!, false);
  await new Promise((r) => setTimeout(r, 300));
  const current = (await guard.get(other))!;
  await guard.clear(other, [...held.keys()][0]!, [], 'pin', clock);
  expect(current.guesses.size).toBe(5);
  const counted = await second;
  expect(counted.token).toMatch(/^[0-9a-f]{32}$/);
  await new Promise((r) => setTimeout(r, 250));
  expect(waiting(counter).size).toBe(0);
});
