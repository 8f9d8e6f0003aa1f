/**
 * The host sets helmet's security headers from a copy read at start-up (api/security-headers.ts): every answer
 * must carry exactly what helmet's own middlewares set on each request of an app that runs them, and
 * `Cache-Control: no-store` without an ETag.
 */
import express, { type RequestHandler } from 'express';
import helmet from 'helmet';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../src/app.js';
import { headersSetBy } from '../src/api/security-headers.js';
import { EnclaveClient } from '../src/enclave-client.js';

const listen = (app: express.Express): Promise<{ url: string; close: () => Promise<void> }> =>
  new Promise((resolve) => {
    const server: Server = app.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
      }),
    );
  });

/** The headers helmet sets, by name (lower case), from a real answer of an app that runs helmet on each request. */
async function helmetReference(): Promise<Map<string, string>> {
  const app = express();
  app.use(helmet());
  app.get('/', (_req, res) => void res.end());
  const { url, close } = await listen(app);
  try {
    const res = await fetch(url);
    const names = new Set(headersSetBy(helmet()).map(([name]) => name));
    return new Map([...res.headers].filter(([name]) => names.has(name)));
  } finally {
    await close();
  }
}

test('every kind of answer carries helmet’s headers as helmet sets them per request', async () => {
  const reference = await helmetReference();
  expect(reference.size).toBeGreaterThanOrEqual(12); // helmet 8's defaults: CSP, HSTS, nosniff, frame options, …
  expect(reference.get('x-content-type-options')).toBe('nosniff');
  const enclave = new EnclaveClient({ address: 'tcp://127.0.0.1:1' }); // none of these needs the enclave
  const { url, close } = await listen(createApp({ enclave }));
  try {
    // An answer of a route, an error of a route (no token service here: 400), and the router's 404.
    for (const [path, status] of [
      ['/openapi.json', 200],
      ['/v1/wallets', 400],
      ['/no-such-route', 404],
    ] as const) {
      const res = await fetch(url + path);
      expect([path, res.status]).toEqual([path, status]);
      for (const [name, value] of reference) expect([path, name, res.headers.get(name)]).toEqual([path, name, value]);
      expect(res.headers.get('x-powered-by')).toBeNull();
      // And no cache may keep any of them (docs/api.md): no-store, no ETag to revalidate.
      expect([path, res.headers.get('cache-control'), res.headers.get('etag')]).toEqual([path, 'no-store', null]);
    }
  } finally {
    enclave.close();
    await close();
  }
});

test('a middleware that does not go on at once, or fails, has no fixed headers to copy', () => {
  const waits: RequestHandler = (_req, _res, next) => void setTimeout(next, 1);
  const fails: RequestHandler = (_req, _res, next) => next(new Error('no'));
  expect(() => headersSetBy(waits)).toThrow('did not call next() at once');
  expect(() => headersSetBy(fails)).toThrow('failed');
});
