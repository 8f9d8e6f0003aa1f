/**
 * A right guess's clear on a wallet with many failures (src/guard/guard.ts `clear`): each failure it removes adds a
 * path to the UpdateExpression, and DynamoDB refuses expressions over 4 KB (its client here refuses them first, as
 * DynamoDB would: dynalite does not check). A wallet locked again and again, one guess a day for months, gets there;
 * before the clear was written in chunks, its right PIN could never be cleared and so became one more failure.
 * Against the real guard on dynalite.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';
import { ensureGuardTable } from '@enclave-wallet/devtools';
import { parseUserId, parseWalletId } from '@enclave-wallet/proto/ids';
import type { Guess } from '../src/guard/budget.js';
import { CLEAR_CHUNK, DynamoGuard, GuardConflict } from '../src/guard/guard.js';
import { DynamoDb, DynamoDbError, MAX_EXPRESSION_BYTES } from '../src/guard/dynamodb.js';

const TABLE = 'guard-clear-test';
const credentials = { accessKeyId: 'l', secretAccessKey: 'l' };
let server: ReturnType<typeof dynalite>;
let endpoint = '';
let guard: DynamoGuard;
/** The table written directly, as another enclave's writes would leave it. */
let db: DynamoDb;

beforeAll(async () => {
  server = dynalite({ createTableMs: 0 });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await ensureGuardTable(endpoint, TABLE);
  guard = new DynamoGuard({ region: 'us-east-1', endpoint, table: TABLE }, credentials);
  db = new DynamoDb({ region: 'us-east-1', endpoint, credentials });
});
afterAll(async () => {
  guard.destroy();
  db.destroy();
  await new Promise((r) => server.close(r));
});

const token = (): string => randomBytes(16).toString('hex');

/** A wallet whose guard holds `failures` old failures and one pending (right) guess. */
async function walletWith(failures: number): Promise<{ walletId: ReturnType<typeof parseWalletId>; right: string; failed: string[] }> {
  const walletId = parseWalletId(`w-${token()}`);
  const now = Date.now();
  const failed = Array.from({ length: failures }, token);
  const right = token();
  const guesses = new Map<string, Guess>(failed.map((t, i) => [t, { state: 'failed', at: now - (failures - i) * 86_400_000 }]));
  guesses.set(right, { state: 'pending', at: now });
  await guard.create({ walletId, owner: parseUserId('user-1'), keyRef: 'ab'.repeat(32), version: 1, blob: Uint8Array.of(1, 2, 3), guesses });
  return { walletId, right, failed };
}

test('the client refuses an expression over 4 KB as DynamoDB does, and sends nothing', async () => {
  const { walletId } = await walletWith(0);
  const key = { pk: { S: `wallet#${walletId}` } };
  const long = `SET ${Array.from({ length: 400 }, (_, i) => `a${i} = :v`).join(', ')}`;
  expect(Buffer.byteLength(long)).toBeGreaterThan(MAX_EXPRESSION_BYTES);
  const err = await db.updateItem(TABLE, key, { expression: long, condition: 'attribute_exists(pk)', values: { ':v': { S: 'x' } } }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(DynamoDbError);
  expect((err as DynamoDbError).name).toBe('ValidationException');
  expect((err as DynamoDbError).message).toMatch(/Expression size has exceeded the maximum allowed size/);
  expect((await db.getItem(TABLE, key))?.a0).toBeUndefined();
});

test.each([0, 3, CLEAR_CHUNK, CLEAR_CHUNK + 1, 350])('a right guess that saw %i failures is cleared with all of them', async (n) => {
  const { walletId, right, failed } = await walletWith(n);
  await guard.clear(walletId, right, failed, 'pin', 1_234);
  const record = await guard.get(walletId);
  expect(record?.guesses.size).toBe(0);
  expect(record?.used.pin).toBe(1_234);
});

test.each(['recovery-code', 'passkey'] as const)('the same for %s guesses: 350 failures, chunks within 4 KB for the longest attribute', async (factor) => {
  const { walletId, right, failed } = await walletWith(0);
  const attribute = factor === 'passkey' ? 'passkeyGuesses' : 'codeGuesses';
  const now = Date.now();
  const failures = Array.from({ length: 350 }, token);
  const map = Object.fromEntries([...failures.map((t) => [t, { S: `f:${now - 1000}` }]), [right, { S: `p:${now}` }]]);
  await db.updateItem(
    TABLE,
    { pk: { S: `wallet#${walletId}` } },
    { expression: 'SET #a = :m', condition: 'attribute_exists(pk)', values: { ':m': { M: map } }, names: { '#a': attribute } },
  );
  expect(failed).toEqual([]);
  await guard.clear(walletId, right, failures, factor, 5_678);
  const record = await guard.get(walletId);
  expect((factor === 'passkey' ? record?.passkeyGuesses : record?.codeGuesses)?.size).toBe(0);
  expect(record?.used[factor]).toBe(5_678);
});

test('a clear whose right guess is gone removes nothing (every chunk is conditional on it) and is a conflict', async () => {
  const { walletId, right, failed } = await walletWith(250);
  await guard.clear(walletId, right, [], 'pin'); // another enclave cleared the right guess alone
  const err = await guard.clear(walletId, right, failed, 'pin').catch((e: unknown) => e);
  expect(err).toBeInstanceOf(GuardConflict);
  expect((await guard.get(walletId))?.guesses.size).toBe(250);
});

test('failures counted since the right guess was read stay counted', async () => {
  const { walletId, right, failed } = await walletWith(150);
  const later = token();
  // The later failure, written as another enclave's count would leave it.
  await db.updateItem(
    TABLE,
    { pk: { S: `wallet#${walletId}` } },
    { expression: 'SET guesses.#l = :f', condition: 'attribute_exists(pk)', values: { ':f': { S: `f:${Date.now()}` } }, names: { '#l': later } },
  );
  await guard.clear(walletId, right, failed, 'pin');
  expect([...(await guard.get(walletId))!.guesses.keys()]).toEqual([later]);
});
