/**
 * The host's DynamoDB client has deadlines (src/storage/client.ts): a table
 * endpoint that accepts connections and never answers, or stops in the middle
 * of an answer, fails a call with STORAGE_UNAVAILABLE after the client's
 * attempts, instead of holding it for as long as the caller waits. Each
 * deadline is shortened here in turn (the other left long, so that it is the
 * one that acts); production uses the module's constants through the same
 * function. Retried writes against a real table: test/integration/storage-retries.test.ts.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EnclaveWalletError } from '@enclave-wallet/proto';
import { STORAGE_MAX_ATTEMPTS, STORAGE_MAX_SOCKETS, storageClient, type StorageClientOptions } from '../src/storage/client.js';
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
async function readWith(server: SilentServer, deadlines: Pick<StorageClientOptions, 'requestTimeoutMs' | 'socketTimeoutMs' | 'attemptDeadlineMs'>) {
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

test('an answer that drips a byte every 100 ms (no silence, headers in time): cut by the attempt’s whole deadline', async () => {
  const drip = await startSilentServer('drip');
  try {
    const { err, ms } = await readWith(drip, { requestTimeoutMs: 60_000, socketTimeoutMs: 60_000, attemptDeadlineMs: 400 });
    expect((err as EnclaveWalletError).code).toBe('STORAGE_UNAVAILABLE');
    expect(ms).toBeGreaterThanOrEqual(350);
    expect(ms).toBeLessThan(STORAGE_MAX_ATTEMPTS * 400 + 3_000);
  } finally {
    await drip.close();
  }
}, 30_000);

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

test('a burst of 400 calls against a healthy table that answers each in 250 ms: every one answered, none timed out in the queue for a connection', async () => {
  // A stand-in that answers DescribeTable (the store's ping) after 250 ms: the client's own queueing is measured, not a database.
  let open = 0;
  let most = 0;
  const server = createServer((req, res) => {
    open++;
    most = Math.max(most, open);
    req.resume();
    req.on('end', () =>
      setTimeout(() => {
        open--;
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' }).end(JSON.stringify({ Table: { TableName: 'burst', TableStatus: 'ACTIVE' } }));
      }, 250),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const client = storageClient({ region: 'us-east-1', endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
  try {
    const store = new Store({ client, tableName: 'burst' });
    const outcomes = await Promise.all(
      Array.from({ length: 400 }, () =>
        store.ping().then(
          () => 'ok',
          (e: { code?: string }) => e.code ?? 'error',
        ),
      ),
    );
    expect(outcomes.filter((o) => o !== 'ok')).toEqual([]);
    // The pool's size: more than the SDK's 50 at once (400 calls of 250 ms through 50 connections wait 2 s in line).
    expect(most).toBeGreaterThan(50);
    expect(most).toBeLessThanOrEqual(STORAGE_MAX_SOCKETS);
  } finally {
    client.destroy();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}, 60_000);
