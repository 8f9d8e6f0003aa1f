/**
 * The host talks to a real enclave server over TCP: readiness follows the
 * enclave, an absent enclave is 503 ENCLAVE_UNAVAILABLE, and the host
 * reconnects by itself when the enclave comes back on the same address.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEnclaveService, createLogger, startEnclaveServer } from '@enclave-wallet/enclave';
import { testStartupConfig } from '../support/startup.js';
import { createApp, EnclaveClient } from '@enclave-wallet/host';

const silent = createLogger('error', () => {});
const startup = testStartupConfig(join(mkdtempSync(join(tmpdir(), 'he-')), 'dev-ca'));

async function listenHttp(app: ReturnType<typeof createApp>): Promise<{ url: string; server: Server }> {
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

test('readiness follows the enclave, and the host reconnects after the enclave restarts', async () => {
  const service = await createEnclaveService(startup);
  let enclave = await startEnclaveServer({ listen: 'tcp://127.0.0.1:0', logger: silent, service });
  const address = enclave.address;
  const client = new EnclaveClient({ address, minBackoffMs: 10, maxBackoffMs: 20 });
  const { url, server } = await listenHttp(createApp({ enclave: client }));
  try {
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', enclave: { initialized: false, version: '0.1.0' }, storage: 'none' });

    await enclave.close();
    const down = await fetch(`${url}/readyz`);
    expect(down.status).toBe(503);
    const body = (await down.json()) as { error: { code: string; requestId: string } };
    expect(body.error.code).toBe('ENCLAVE_UNAVAILABLE');
    expect(body.error.requestId).toBe(down.headers.get('x-request-id'));

    enclave = await startEnclaveServer({ listen: address, logger: silent, service });
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 25));
      status = (await fetch(`${url}/readyz`)).status;
    }
    expect(status).toBe(200);
  } finally {
    client.close();
    await enclave.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

test('liveness does not depend on the enclave, and unknown routes get the error body', async () => {
  const client = new EnclaveClient({ address: 'tcp://127.0.0.1:1' });
  const { url, server } = await listenHttp(createApp({ enclave: client }));
  try {
    const live = await fetch(`${url}/healthz`);
    expect(live.status).toBe(200);
    expect(live.headers.get('x-powered-by')).toBeNull();
    const missing = await fetch(`${url}/v1/nothing`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
  } finally {
    client.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

test('an enclave that refuses the host’s init configuration leaves the host unready, not half-working', async () => {
  const service = await createEnclaveService(startup);
  const enclave = await startEnclaveServer({ listen: 'tcp://127.0.0.1:0', logger: silent, service });
  const client = new EnclaveClient({ address: enclave.address, init: () => ({ kmsRegion: 'nowhere', kmsKeyId: 'x', credentials: {} }) });
  const { url, server } = await listenHttp(createApp({ enclave: client }));
  try {
    const res = await fetch(`${url}/readyz`);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('CONFIG_REJECTED');
  } finally {
    client.close();
    await enclave.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});
