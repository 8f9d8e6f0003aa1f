/**
 * What only operators and real clients get: /metrics behind a token (or
 * loopback only), and rate limits keyed by the client as the trusted load
 * balancer saw it, never by a header a client can forge.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp, type AppDependencies } from '../src/app.js';
import { EnclaveClient } from '../src/enclave-client.js';

async function serve(deps: Partial<AppDependencies>): Promise<{ url: string; close: () => Promise<void> }> {
  // No enclave is reachable: these routes never need one.
  const enclave = new EnclaveClient({ address: 'tcp://127.0.0.1:1' });
  const server = await new Promise<Server>((resolve) => {
    const s = createApp({ enclave, ...deps }).listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((r) => {
        enclave.close();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

test('/metrics wants the operator token when one is set', async () => {
  const { url, close } = await serve({ metricsToken: 'operator-token-0123456789' });
  try {
    expect((await fetch(`${url}/metrics`)).status).toBe(403);
    expect((await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(403);
    const ok = await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer operator-token-0123456789' } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toMatch(/http_requests_total/);
  } finally {
    await close();
  }
});

test('/metrics without a token answers loopback clients', async () => {
  const { url, close } = await serve({});
  try {
    expect((await fetch(`${url}/metrics`)).status).toBe(200);
  } finally {
    await close();
  }
});

async function loginStatuses(url: string, forwardedFor: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    out.push(
      (await fetch(`${url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor }, body: '{}' }))
        .status,
    );
  }
  return out;
}

test('behind one trusted proxy, clients are limited by their own address, and a forged header does not help', async () => {
  const { url, close } = await serve({ trustProxyHops: 1 });
  try {
    const a = await loginStatuses(url, '198.51.100.1', 31);
    expect(a.slice(0, 30).every((s) => s === 400)).toBe(true); // refused as bad input, not limited
    expect(a[30]).toBe(429);
    // Another client behind the same proxy is not limited by the first one.
    expect(await loginStatuses(url, '198.51.100.2', 1)).toEqual([400]);
    // The first client cannot escape by prepending a forged address: the proxy's entry is the last one.
    expect(await loginStatuses(url, '203.0.113.9, 198.51.100.1', 1)).toEqual([429]);
  } finally {
    await close();
  }
});

test('with no trusted proxy the header is ignored: every request counts for the socket address', async () => {
  const { url, close } = await serve({});
  try {
    const statuses = [...(await loginStatuses(url, '198.51.100.1', 30)), ...(await loginStatuses(url, '198.51.100.2', 1))];
    expect(statuses[30]).toBe(429);
  } finally {
    await close();
  }
});

test('the demo page exists only where the dev issuer is configured', async () => {
  const { url, close } = await serve({});
  try {
    for (const path of ['/demo', '/demo/client.js', '/demo/dev-root.der']) expect((await fetch(url + path)).status).toBe(404);
  } finally {
    await close();
  }
});
