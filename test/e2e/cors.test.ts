/**
 * CORS (docs/api.md#cors): the API answers CORS for the wallet frame's origin (FRAME_ORIGIN) and for no other;
 * never `*`, never credentials. A preflight from the frame is answered before the routes; one from anywhere
 * else gets no CORS header, so the browser keeps that page from calling the API. And the configuration
 * refuses a FRAME_ORIGIN that is not one origin.
 */
import { loadHostConfig } from '@enclave-wallet/host';
import { startStack, type Stack } from '../support/stack.js';

const FRAME = 'http://localhost:8081';
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ frameOrigin: FRAME });
}, 60_000);
afterAll(() => stack?.close());

const preflight = (origin: string, method = 'POST'): Promise<Response> =>
  fetch(`${stack.url}/v1/auth/login`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization, content-type' },
  });

test('a preflight from the frame origin is allowed: that origin named, GET, POST and DELETE, the headers the SDK sends, no credentials', async () => {
  const res = await preflight(FRAME);
  expect(res.status).toBe(204);
  expect(res.headers.get('access-control-allow-origin')).toBe(FRAME);
  expect(res.headers.get('access-control-allow-methods')).toBe('GET, POST, DELETE');
  expect(res.headers.get('access-control-allow-headers')).toBe('authorization, content-type, accept');
  expect(res.headers.get('access-control-allow-credentials')).toBeNull();
  expect(res.headers.get('vary')).toMatch(/Origin/);
});

test("DELETE (a passkey's removal) from the frame: its preflight allowed, and the request itself answered with the frame's origin", async () => {
  const path = `/v1/wallets/${'ab'.repeat(16)}/passkeys/AAAA`;
  const pre = await fetch(`${stack.url}${path}`, {
    method: 'OPTIONS',
    headers: { origin: FRAME, 'access-control-request-method': 'DELETE', 'access-control-request-headers': 'authorization, content-type' },
  });
  expect(pre.status).toBe(204);
  expect(pre.headers.get('access-control-allow-methods')?.split(', ')).toContain('DELETE');
  const res = await fetch(`${stack.url}${path}`, { method: 'DELETE', headers: { origin: FRAME, 'content-type': 'application/json' }, body: '{}' });
  expect(res.status).toBe(401);
  expect(res.headers.get('access-control-allow-origin')).toBe(FRAME);
  const other = await fetch(`${stack.url}${path}`, {
    method: 'OPTIONS',
    headers: { origin: 'http://localhost:3000', 'access-control-request-method': 'DELETE' },
  });
  expect(other.headers.get('access-control-allow-origin')).toBeNull();
  expect(other.headers.get('access-control-allow-methods')).toBeNull();
});

test('another origin gets no CORS header, on a preflight or a request', async () => {
  for (const origin of ['http://localhost:3000', 'http://localhost:8081.evil.com', 'https://localhost:8081', 'null']) {
    const pre = await preflight(origin);
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
    expect(pre.status).not.toBe(204);
    const res = await fetch(`${stack.url}/v1/chains`, { headers: { origin } });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  }
});

test('a request from the frame origin is answered with its origin (the attestation, an error), and the request id is readable', async () => {
  const nonce = '11'.repeat(32);
  const att = await fetch(`${stack.url}/v1/enclave/attestation?nonce=${nonce}`, { headers: { origin: FRAME } });
  expect(att.status).toBe(200);
  expect(att.headers.get('access-control-allow-origin')).toBe(FRAME);
  expect(att.headers.get('access-control-expose-headers')).toContain('x-request-id');
  const denied = await fetch(`${stack.url}/v1/wallets`, { headers: { origin: FRAME } });
  expect(denied.status).toBe(401);
  expect(denied.headers.get('access-control-allow-origin')).toBe(FRAME);
});

test('FRAME_ORIGIN must be one origin: no wildcard, list, path, or plain http off localhost', () => {
  const base = { HOST_SIGNING_KEY_FILE: '/tmp/x' };
  expect(loadHostConfig({ ...base, FRAME_ORIGIN: 'https://frame.example.com' }).frameOrigin).toBe('https://frame.example.com');
  expect(loadHostConfig({ ...base, FRAME_ORIGIN: 'http://localhost:8081/' }).frameOrigin).toBe('http://localhost:8081');
  expect(loadHostConfig(base).frameOrigin).toBeUndefined();
  for (const bad of [
    '*',
    'https://*.example.com',
    'https://a.example.com,https://b.example.com',
    'https://frame.example.com/app',
    'http://frame.example.com',
    'frame.example.com',
  ])
    expect(() => loadHostConfig({ ...base, FRAME_ORIGIN: bad })).toThrow(/FRAME_ORIGIN must be one origin/);
});
