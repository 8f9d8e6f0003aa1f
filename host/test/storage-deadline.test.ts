/**
 * The host's DynamoDB client has deadlines (src/storage/client.ts): a table
 * endpoint that accepts connections and never answers, or stops in the middle
 * of an answer, fails a call with STORAGE_UNAVAILABLE after the client's
 * attempts, instead of holding it for as long as the caller waits. Each
 * deadline is shortened here in turn (the other left long, so that it is the
 * one that acts); production uses the module's constants through the same
 * function. Retried writes against a real table: test/integration/storage-retries.test.ts.
 */
import { EnclaveWalletError } from '@enclave-wallet/proto';
import { STORAGE_MAX_ATTEMPTS, storageClient, type StorageClientOptions } from '../src/storage/client.js';
import { Store } from '../src/storage/index.js';
import { parseUserId, parseWalletId } from '@enclave-wallet/proto/ids';
import { startSilentServer, type SilentServer } from '../../test/support/silent-server.js';

let silent: SilentServer;
let stalled: SilentServer;
beforeAll(async () => {
  silent = await startSilentServer('silent');
  stalled = await startSilentServer('stalled-body');
});
afterAll(async () => {
  await silent.close();
  await stalled.close();
});

/** A wallet read against `server` with these deadlines: its error and how long it took, and the connections it made. */
async function readWith(server: SilentServer, deadlines: Pick<StorageClientOptions, 'requestTimeoutMs' | 'socketTimeoutMs'>) {
  const client = storageClient({ region: 'us-east-1', endpoint: server.url, ...deadlines });
  try {
    const before = server.connections;
    const started = Date.now();
    const err = await new Store({ client, tableName: 'silent' }).wallets.get(parseUserId('u-1'), parseWalletId('00000000-0000-4000-8000-000000000000')).then(
      () => undefined,
      (e: unknown) => e,
    );
    return { err, ms: Date.now() - started, connections: server.connections - before };
  } finally {
    client.destroy();
  }
}

test.each([
  ['a silent store, cut by the attempt’s deadline to an answer', 'silent', { requestTimeoutMs: 250, socketTimeoutMs: 60_000 }],
  ['a silent store, cut by the connection’s silence', 'silent', { requestTimeoutMs: 60_000, socketTimeoutMs: 250 }],
  ['an answer that stops after its headers, cut by the connection’s silence', 'stalled-body', { requestTimeoutMs: 60_000, socketTimeoutMs: 250 }],
] as const)(
  '%s: STORAGE_UNAVAILABLE after every attempt',
  async (_name, how, deadlines) => {
    const { err, ms, connections } = await readWith(how === 'silent' ? silent : stalled, deadlines);
    expect(err).toBeInstanceOf(EnclaveWalletError);
    expect((err as EnclaveWalletError).code).toBe('STORAGE_UNAVAILABLE');
    // Every attempt was made, each cut at its deadline (not failed at once, not left waiting).
    expect(connections).toBe(STORAGE_MAX_ATTEMPTS);
    expect(ms).toBeGreaterThanOrEqual(STORAGE_MAX_ATTEMPTS * 250 - 50);
    expect(ms).toBeLessThan(10_000);
  },
  30_000,
);
