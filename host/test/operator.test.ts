/**
 * What only operators and real clients get: /metrics behind a token (or
 * loopback only), and rate limits keyed by the client as the trusted load
 * balancer saw it, never by a header a client can forge.
 */
import { spawnSync } from 'node:child_process';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createApp, type AppDependencies } from '../src/app.js';
import { loadHostConfig } from '../src/config.js';
import { EnclaveClient } from '../src/enclave-client.js';
import { Drain } from '../src/shutdown.js';

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

test('/metrics behind a trusted proxy: loopback means nothing there, so without a token nobody gets in', async () => {
  // A reverse proxy on the same instance connects from 127.0.0.1 for every client.
  const { url, close } = await serve({ trustProxyHops: 1 });
  try {
    for (const headers of [{}, { 'x-forwarded-for': '198.51.100.1' }, { 'x-forwarded-for': '127.0.0.1' }] as Record<string, string>[]) {
      const res = await fetch(`${url}/metrics`, { headers });
      expect(res.status).toBe(403);
      expect(((await res.json()) as { error: unknown }).error).toMatchObject({ code: 'FORBIDDEN', message: expect.stringMatching(/METRICS_TOKEN/) });
    }
  } finally {
    await close();
  }
  const withToken = await serve({ trustProxyHops: 1, metricsToken: 'operator-token-0123456789' });
  try {
    expect((await fetch(`${withToken.url}/metrics`, { headers: { 'x-forwarded-for': '127.0.0.1' } })).status).toBe(403);
    expect((await fetch(`${withToken.url}/metrics`, { headers: { authorization: 'Bearer operator-token-0123456789' } })).status).toBe(200);
  } finally {
    await withToken.close();
  }
});

test('TRUST_PROXY_HOPS > 0 requires METRICS_TOKEN: the configuration says so, and the host process does not start', () => {
  expect(() => loadHostConfig({ TRUST_PROXY_HOPS: '1' })).toThrow(/METRICS_TOKEN is required with TRUST_PROXY_HOPS > 0/);
  expect(loadHostConfig({ TRUST_PROXY_HOPS: '1', METRICS_TOKEN: 'operator-token-0123456789' }).trustProxyHops).toBe(1);
  expect(loadHostConfig({}).metricsToken).toBeUndefined();
  // The built host (npm test builds first), as `npm start` would run it behind a proxy.
  const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
  const run = spawnSync(process.execPath, [main], {
    env: { PATH: process.env.PATH, TRUST_PROXY_HOPS: '1', HOST_PORT: '0' },
    encoding: 'utf8',
    timeout: 20_000,
  });
  expect(run.status).toBe(1);
  expect(run.stdout + run.stderr).toMatch(/METRICS_TOKEN is required with TRUST_PROXY_HOPS > 0/);
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

test('/healthz: a fixed answer before the middleware (no log line, no metrics, not rate-limited), and 503 once draining', async () => {
  const lines: unknown[] = [];
  const logger = { info: (o: unknown) => lines.push(o), warn: (o: unknown) => lines.push(o), error: (o: unknown) => lines.push(o) } as never;
  const drain = new Drain();
  const { url, close } = await serve({ logger, drain });
  try {
    // More than the 300 a minute one address may send elsewhere.
    for (let i = 0; i < 310; i++) {
      const res = await fetch(`${url}/healthz`);
      expect(res.status).toBe(200);
      if (i === 0) {
        expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
        expect(res.headers.get('cache-control')).toBe('no-store');
        expect(res.headers.get('x-request-id')).toBeNull();
        expect(await res.json()).toEqual({ status: 'ok' });
      } else await res.arrayBuffer();
    }
    // HEAD the same, without a body; any other method is no liveness probe: it goes through the middleware (a request
    // id, helmet's headers) to 404.
    const head = await fetch(`${url}/healthz`, { method: 'HEAD' });
    expect([head.status, head.headers.get('x-request-id'), await head.text()]).toEqual([200, null, '']);
    const post = await fetch(`${url}/healthz`, { method: 'POST' });
    expect(post.status).toBe(404);
    expect(post.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(post.headers.get('x-content-type-options')).toBe('nosniff');
    lines.length = 0; // the POST's line
    // The address's budget is untouched (the next request is answered), and the probes are in no counter: the
    // second /metrics shows the first one, counted as it finished, and nothing of /healthz.
    expect((await fetch(`${url}/metrics`)).status).toBe(200);
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).toMatch(/http_requests_total\{method="GET",route="\/metrics",status="200"\} 1/);
    expect(text).not.toMatch(/healthz/);
    expect(JSON.stringify(lines)).not.toMatch(/healthz/);
    expect(text).toMatch(/route="unmatched",status="404"\} 1/); // the POST, and no probe
    await drain.start(1000);
    const late = await fetch(`${url}/healthz`);
    expect(late.status).toBe(503);
    expect(((await late.json()) as { error: { code: string } }).error.code).toBe('SHUTTING_DOWN');
  } finally {
    await close();
  }
});

test('the demo page exists only where the dev issuer is configured', async () => {
  const { url, close } = await serve({});
  try {
    for (const path of ['/demo', '/demo/client.js', '/demo/dev-root.der', '/demo/app-with-frame', '/demo/app-with-frame.js'])
      expect((await fetch(url + path)).status).toBe(404);
  } finally {
    await close();
  }
});
