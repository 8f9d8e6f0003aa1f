/**
 * The host's store against a real table (dynalite) behind a fault proxy, with the host's own DynamoDB client
 * (host/src/storage/client.ts) and short deadlines: an attempt whose answer comes after its deadline is tried again
 * by the SDK, and when it was a conditional write that had landed, the retry is refused by its condition. The store
 * reads the item back and answers what happened: the wallet created, the update made, the refresh token used once
 * (not "reused", which would end the session), instead of a conflict. A real conflict stays one. (A burst against a
 * slow but healthy table: host/test/storage-deadline.test.ts.)
 */
import { storageClient } from '../../host/src/storage/client.js';
import { Store } from '../../host/src/storage/index.js';
import { parseUserId, parseWalletId } from '@enclave-wallet/proto/ids';
import type { FaultProxy } from '../support/fault-proxy.js';
import { startTestTable, type TestTable } from '../support/test-table.js';

let table: TestTable;
let proxy: FaultProxy;
let store: Store;
const user = parseUserId('usr_retries');
/** The next request for this DynamoDB operation (X-Amz-Target suffix) gets its answer late, once. */
const lateOnce = (operation: string, ms = 900): void => {
  let done = false;
  proxy.rule = (target) => {
    if (done || !target.endsWith(`.${operation}`)) return undefined;
    done = true;
    return { answerAfterMs: ms };
  };
};
const attemptsOf = (operation: string): number => proxy.seen.filter((t) => t.endsWith(`.${operation}`)).length;

beforeAll(async () => {
  table = await startTestTable('retries', { faults: true, client: { requestTimeoutMs: 300, socketTimeoutMs: 300 } });
  ({ store } = table);
  proxy = table.proxy!;
});
afterAll(() => table.close());
beforeEach(() => {
  proxy.rule = undefined;
  proxy.seen.length = 0;
});

const newWallet = (id: string, blob: number) => ({
  walletId: parseWalletId(id),
  userId: user,
  sealedBlob: new Uint8Array([blob, 1, 2, 3]),
  accounts: [],
  createdAt: new Date().toISOString(),
});

test('a wallet whose creation was answered late is created, not a conflict; another wallet under its id is one', async () => {
  lateOnce('PutItem');
  const made = await store.wallets.create(newWallet('00000000-0000-4000-8000-000000000001', 7));
  expect(attemptsOf('PutItem')).toBe(2); // the late attempt, then the retry its condition refused
  expect(made.version).toBe(1);
  const stored = await store.wallets.get(user, made.walletId);
  expect(Buffer.from(stored!.sealedBlob)).toEqual(Buffer.from([7, 1, 2, 3]));
  await expect(store.wallets.create(newWallet('00000000-0000-4000-8000-000000000001', 8))).rejects.toMatchObject({ code: 'WALLET_CONFLICT' });
}, 30_000);

test('an update answered late is made (the next version, its blob), not a conflict; a stale update is still one', async () => {
  const w = await store.wallets.create(newWallet('00000000-0000-4000-8000-000000000002', 1));
  lateOnce('UpdateItem');
  const updated = await store.wallets.update(w, new Uint8Array([2, 2]));
  expect(attemptsOf('UpdateItem')).toBe(2);
  expect(updated.version).toBe(2);
  const stored = await store.wallets.get(user, w.walletId);
  expect(stored!.version).toBe(2);
  expect(Buffer.from(stored!.sealedBlob)).toEqual(Buffer.from([2, 2]));
  // The record as read before that update: its write is refused, and answered as the conflict it is.
  await expect(store.wallets.update(w, new Uint8Array([3, 3]))).rejects.toMatchObject({ code: 'WALLET_CONFLICT' });
  expect((await store.wallets.get(user, w.walletId))!.version).toBe(2);
}, 30_000);

test('a refresh token stored, and used, with answers that came late: used once, not reused; a second use is reuse', async () => {
  const record = { tokenHash: 'a'.repeat(64), userId: user, familyId: 'family-1', expiresAt: Date.now() + 60_000 };
  lateOnce('PutItem');
  await store.sessions.putRefreshToken(record);
  expect(attemptsOf('PutItem')).toBe(2);
  lateOnce('UpdateItem');
  const first = await store.sessions.useRefreshToken(record.tokenHash, Date.now(), 'c'.repeat(64));
  expect(attemptsOf('UpdateItem')).toBe(2);
  expect(first).toMatchObject({ reused: false, record: { familyId: 'family-1', userId: user } });
  const second = await store.sessions.useRefreshToken(record.tokenHash, Date.now(), 'c'.repeat(64));
  expect(second).toMatchObject({ reused: true, record: { familyId: 'family-1' } });
}, 30_000);

test('with no retry left (one attempt, its answer late): the write read back is this call’s: created, updated, used once', async () => {
  const once = storageClient({ region: 'us-east-1', endpoint: proxy.url, requestTimeoutMs: 300, socketTimeoutMs: 300, maxAttempts: 1 });
  try {
    const single = new Store({ client: once, tableName: 'retries' });
    lateOnce('PutItem');
    const made = await single.wallets.create(newWallet('00000000-0000-4000-8000-000000000004', 5));
    expect(attemptsOf('PutItem')).toBe(1);
    lateOnce('UpdateItem');
    expect((await single.wallets.update(made, new Uint8Array([6]))).version).toBe(2);
    expect(attemptsOf('UpdateItem')).toBe(1);
    const record = { tokenHash: 'b'.repeat(64), userId: user, familyId: 'family-2', expiresAt: Date.now() + 60_000 };
    await single.sessions.putRefreshToken(record);
    lateOnce('UpdateItem');
    expect(await single.sessions.useRefreshToken(record.tokenHash, Date.now(), 'd'.repeat(64))).toMatchObject({ reused: false });
    expect(await single.sessions.useRefreshToken(record.tokenHash, Date.now(), 'd'.repeat(64))).toMatchObject({ reused: true });
    // A write that did not happen is not taken for one: the table down for a wallet's creation.
    proxy.rule = (target) => (target.endsWith('.PutItem') ? 'down' : undefined);
    await expect(single.wallets.create(newWallet('00000000-0000-4000-8000-000000000005', 9))).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    proxy.rule = undefined;
    expect(await single.wallets.get(user, parseWalletId('00000000-0000-4000-8000-000000000005'))).toBeUndefined();
  } finally {
    once.destroy();
  }
}, 30_000);

test('two updates from one version at once (say two accounts derived): one is stored, the other is a conflict, never both “made”', async () => {
  for (let i = 0; i < 20; i++) {
    const w = await store.wallets.create(newWallet(`00000000-0000-4000-8001-${String(i).padStart(12, '0')}`, 1));
    const a = [{ network: 'evm' as const, index: 1, path: "m/44'/60'/0'/0/1", address: '0x' + '1'.repeat(40) }];
    const b = [{ network: 'evm' as const, index: 2, path: "m/44'/60'/0'/0/2", address: '0x' + '2'.repeat(40) }];
    // The same blob (an operation that left it unchanged) and, as often as not, the same millisecond.
    const results = await Promise.allSettled([store.wallets.update(w, w.sealedBlob, a), store.wallets.update(w, w.sealedBlob, b)]);
    const made = results.filter((r) => r.status === 'fulfilled') as PromiseFulfilledResult<Awaited<ReturnType<Store['wallets']['update']>>>[];
    const refused = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(made).toHaveLength(1);
    expect(refused.map((r) => (r.reason as { code: string }).code)).toEqual(['WALLET_CONFLICT']);
    expect((await store.wallets.get(user, w.walletId))!.accounts).toEqual(made[0]!.value.accounts);
  }
}, 60_000);
