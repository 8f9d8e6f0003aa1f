/**
 * A guess that waits for a place in a full budget (src/sealing/guesses.ts) leaves nothing behind once its wait is
 * over. Before the fix each round of waiting added a waker to a per-wallet list that only an answer given by this
 * enclave emptied: a wallet whose budget was held by guesses this enclave never answers (another enclave's, or one
 * from before a restart) kept one entry per round of every request that waited on it (a review measured 21,200
 * after 400 requests), for the life of the process.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';
import { ensureGuardTable } from '@enclave-wallet/devtools';
import { parseUserId, parseWalletId } from '@enclave-wallet/proto/ids';
import { GUESS_TTL_MS, type Guess } from '../src/guard/budget.js';
import { DynamoGuard } from '../src/guard/guard.js';
import { GuessCounter } from '../src/sealing/guesses.js';

const TABLE = 'guess-waiting-test';
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
/** The counter's wakers by wallet (private; read here to show what stays behind). */
const waiting = (counter: GuessCounter): Map<unknown, unknown[]> => (counter as unknown as { waiting: Map<unknown, unknown[]> }).waiting;

test('a guess that waited on guesses this enclave never answers leaves no waker behind, whether it ends in a place or a lock-out', async () => {
  const t0 = Date.now();
  let clock = t0;
  const counter = new GuessCounter({ guard, now: () => clock, remember: () => {}, forget: () => {}, clearDelayMs: 0 });
  // Five guesses counted elsewhere fill the PIN budget: a new guess waits, reading the guard round after round.
  const elsewhere = new Map<string, Guess>([0, 1, 2, 3, 4].map(() => [token(), { state: 'pending', at: t0 }] as [string, Guess]));
  const walletId = parseWalletId(`w-${token()}`);
  await guard.create({ walletId, owner: parseUserId('user-1'), keyRef: 'ab'.repeat(32), version: 1, blob: Uint8Array.of(1), guesses: elsewhere });
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
  const other = parseWalletId(`w-${token()}`);
  const held = new Map<string, Guess>([0, 1, 2, 3, 4].map(() => [token(), { state: 'pending', at: clock }] as [string, Guess]));
  await guard.create({ walletId: other, owner: parseUserId('user-1'), keyRef: 'ab'.repeat(32), version: 1, blob: Uint8Array.of(1), guesses: held });
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
