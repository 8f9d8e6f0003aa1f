/**
 * The host's DynamoDB client has deadlines (src/storage/client.ts): a table
 * endpoint that accepts connections and never answers fails a call with
 * STORAGE_UNAVAILABLE after the client's attempts, instead of holding it for
 * as long as the caller waits. The deadline is shortened here; production
 * uses the module's constants through the same function.
 */
import { EnclaveWalletError } from '@enclave-wallet/proto';
import { STORAGE_MAX_ATTEMPTS, STORAGE_REQUEST_TIMEOUT_MS, storageClient } from '../src/storage/client.js';
import { Store } from '../src/storage/index.js';
import { parseUserId, parseWalletId } from '@enclave-wallet/proto/ids';
import { startSilentServer, type SilentServer } from '../../test/support/silent-server.js';

let silent: SilentServer;
beforeAll(async () => {
  silent = await startSilentServer();
});
afterAll(() => silent.close());

test('the production deadlines are finite and leave room for the attempts within the HTTP client’s patience', () => {
  expect(STORAGE_REQUEST_TIMEOUT_MS).toBeGreaterThan(0);
  expect(STORAGE_MAX_ATTEMPTS * STORAGE_REQUEST_TIMEOUT_MS).toBeLessThanOrEqual(15_000);
});

test('a silent store: a read and a ping fail with STORAGE_UNAVAILABLE after each attempt’s deadline', async () => {
  const client = storageClient({ region: 'us-east-1', endpoint: silent.url, requestTimeoutMs: 250 });
  const store = new Store({ client, tableName: 'silent' });
  try {
    const before = silent.connections;
    const started = Date.now();
    const err = await store.wallets.get(parseUserId('u-1'), parseWalletId('00000000-0000-4000-8000-000000000000')).catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    expect(err).toBeInstanceOf(EnclaveWalletError);
    expect((err as EnclaveWalletError).code).toBe('STORAGE_UNAVAILABLE');
    // Every attempt was made, each cut at its deadline (not failed at once, not left waiting).
    expect(silent.connections - before).toBe(STORAGE_MAX_ATTEMPTS);
    expect(elapsed).toBeGreaterThanOrEqual(STORAGE_MAX_ATTEMPTS * 250 - 50);
    expect(elapsed).toBeLessThan(10_000);
    await expect(store.ping()).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
  } finally {
    client.destroy();
  }
}, 30_000);
