/** The ID-token verifier's OIDC discovery (src/auth/oidc.ts) has a deadline: an issuer that never answers is TOKEN_INVALID, not a login that waits. */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { IdTokenVerifier, OIDC_DISCOVERY_TIMEOUT_MS } from '../src/auth/oidc.js';

const held: ServerResponse[] = [];
const server = createServer((req, res) => {
  if (req.url === '/stalled/.well-known/openid-configuration') held.push(res);
  else if (req.url === '/half/.well-known/openid-configuration') {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' });
    res.write('{"issuer":');
    held.push(res);
  } else res.writeHead(404).end();
});
beforeAll(() => new Promise<void>((r) => server.listen(0, '127.0.0.1', r)));
afterAll(() => {
  server.closeAllConnections();
  return new Promise((r) => server.close(r));
});

const tokenOf = (iss: string): string =>
  [{ alg: 'ES256', typ: 'JWT' }, { iss, sub: 's', aud: 'a', iat: 1, exp: 2 }, 'sig']
    .map((p) => Buffer.from(typeof p === 'string' ? p : JSON.stringify(p)).toString('base64url'))
    .join('.');

test.each(['stalled', 'half'])('an issuer whose discovery document %s is TOKEN_INVALID within the deadline', async (path) => {
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}/${path}`;
  const verifier = new IdTokenVerifier([{ issuer, audience: 'a' }], fetch, 300);
  const t = performance.now();
  await expect(verifier.verify(tokenOf(issuer))).rejects.toMatchObject({
    code: 'TOKEN_INVALID',
    message: 'the issuer’s OIDC discovery document is unavailable or inconsistent',
  });
  expect(performance.now() - t).toBeGreaterThanOrEqual(290);
  expect(performance.now() - t).toBeLessThan(5_000);
  expect(OIDC_DISCOVERY_TIMEOUT_MS).toBe(10_000);
});
