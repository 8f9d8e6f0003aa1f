/**
 * Logout and revoked sessions with two hosts on one table, as two instances
 * behind a load balancer: a session ended through one host (logout, or a
 * refresh token used twice) has its access tokens refused by the other within
 * 5 s, while each host reads the session's state at most once per
 * SESSION_CHECK_MS however many requests the session makes. Table reads of
 * session records are counted on the DynamoDB client.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createClient } from '@enclave-wallet/client';
import { readDevRoot } from '../../devtools/src/nsm/index.js';
import { SESSION_CHECK_MS, SESSION_READ_AHEAD_MS } from '@enclave-wallet/host';
import { startStack, type Stack } from '../support/stack.js';

let stack: Stack;
let hostB: string;
let sessionReads = 0;
/** The keys of each call that read session records. */
let sessionReadCalls: number[] = [];

type Key = { pk?: { S?: string } };

/** Counts the reads of revoked-session records (`FAMILY#…`, alone or in a batch) every host of the stack makes. */
function countSessionReads(db: DynamoDBClient): void {
  db.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Key?: Key; RequestItems?: Record<string, { Keys?: Key[] }> };
      const keys =
        context.commandName === 'GetItemCommand'
          ? [input.Key]
          : context.commandName === 'BatchGetItemCommand'
            ? Object.values(input.RequestItems ?? {}).flatMap((t) => t.Keys ?? [])
            : [];
      const families = keys.filter((k) => k?.pk?.S?.startsWith('FAMILY#')).length;
      sessionReads += families;
      if (families > 0) sessionReadCalls.push(families);
      return next(args);
    },
    { step: 'initialize', name: 'countSessionReads' },
  );
}

async function call(base: string, method: 'GET' | 'POST', path: string, token?: string, body?: unknown): Promise<{ status: number; code?: string }> {
  const res = await fetch(base + path, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, code: text ? (JSON.parse(text) as { error?: { code?: string } }).error?.code : undefined };
}

async function login(email: string): Promise<{ accessToken: string; refreshToken: string }> {
  const res = await fetch(`${stack.url}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ idToken: await stack.issuer.sign({ email }) }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { accessToken: string; refreshToken: string };
}

/** Asks `base` every 100 ms until the token is refused; the time that took, in ms. */
async function msUntilRefused(base: string, token: string, since: number): Promise<number> {
  for (;;) {
    const answer = await call(base, 'GET', '/v1/wallets', token);
    if (answer.status !== 200) {
      expect(answer).toEqual({ status: 401, code: 'TOKEN_REVOKED' });
      return Date.now() - since;
    }
    if (Date.now() - since > 10_000) throw new Error('still accepted after 10 s');
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  stack = await startStack();
  hostB = (await stack.addHost()).url;
  countSessionReads(stack.store.db);
}, 60_000);
afterAll(async () => {
  await stack.close();
});

test('logout through one host: refused there at once, by the other host within 5 s, and the refresh token with it', async () => {
  const session = await login('leaving@example.com');
  const other = await login('leaving@example.com');
  // Host B has checked the session and holds "not revoked".
  expect((await call(hostB, 'GET', '/v1/wallets', session.accessToken)).status).toBe(200);
  expect(await call(stack.url, 'POST', '/v1/auth/logout', session.accessToken)).toEqual({ status: 204, code: undefined });
  const loggedOutAt = Date.now();
  expect(await call(stack.url, 'GET', '/v1/wallets', session.accessToken)).toEqual({ status: 401, code: 'TOKEN_REVOKED' });
  const ms = await msUntilRefused(hostB, session.accessToken, loggedOutAt);
  expect(ms).toBeLessThan(5_000);
  expect(await call(hostB, 'POST', '/v1/auth/refresh', undefined, { refreshToken: session.refreshToken })).toEqual({ status: 401, code: 'TOKEN_REVOKED' });
  // The same user's other session is untouched; logging out twice is refused like any revoked token.
  expect((await call(hostB, 'GET', '/v1/wallets', other.accessToken)).status).toBe(200);
  expect(await call(hostB, 'POST', '/v1/auth/logout', session.accessToken)).toEqual({ status: 401, code: 'TOKEN_REVOKED' });
  expect(await call(hostB, 'POST', '/v1/auth/logout')).toEqual({ status: 401, code: 'UNAUTHENTICATED' });
});

test('a session revoked by refresh-token reuse: its access tokens stop working on both hosts within 5 s', async () => {
  const session = await login('stolen@example.com');
  const rotated = await call(stack.url, 'POST', '/v1/auth/refresh', undefined, { refreshToken: session.refreshToken });
  expect(rotated.status).toBe(200);
  for (const host of [stack.url, hostB]) expect((await call(host, 'GET', '/v1/wallets', session.accessToken)).status).toBe(200);
  // The old refresh token again, through host B: the whole family is revoked.
  expect(await call(hostB, 'POST', '/v1/auth/refresh', undefined, { refreshToken: session.refreshToken })).toEqual({ status: 401, code: 'TOKEN_REVOKED' });
  const revokedAt = Date.now();
  expect(await call(hostB, 'GET', '/v1/wallets', session.accessToken)).toEqual({ status: 401, code: 'TOKEN_REVOKED' });
  expect(await msUntilRefused(stack.url, session.accessToken, revokedAt)).toBeLessThan(5_000);
});

test('a burst of requests costs one session read per host, and none more within SESSION_CHECK_MS', async () => {
  const session = await login('busy@example.com');
  sessionReads = 0;
  const started = Date.now();
  for (let i = 0; i < 10; i++) for (const host of [stack.url, hostB]) expect((await call(host, 'GET', '/v1/wallets', session.accessToken)).status).toBe(200);
  expect(Date.now() - started).toBeLessThan(SESSION_CHECK_MS);
  expect(sessionReads).toBe(2);
  // Concurrent requests on a host whose answer is old share one read.
  await new Promise((r) => setTimeout(r, SESSION_CHECK_MS));
  sessionReads = 0;
  const answers = await Promise.all(Array.from({ length: 8 }, () => call(hostB, 'GET', '/v1/wallets', session.accessToken)));
  expect(answers.every((a) => a.status === 200)).toBe(true);
  expect(sessionReads).toBe(1);
});

test('sessions in use that fall due together are read in one call: a new session takes them along', async () => {
  const hostC = (await stack.addHost()).url; // a host no other test's session has used
  const sessions = await Promise.all([1, 2, 3, 4, 5].map((i) => login(`together-${i}@example.com`)));
  const late = await login('together-6@example.com'); // logged in now: its first request, later, is only a read
  sessionReadCalls = [];
  const started = Date.now();
  for (const s of sessions) expect((await call(hostC, 'GET', '/v1/wallets', s.accessToken)).status).toBe(200);
  for (const s of sessions) expect((await call(hostC, 'GET', '/v1/wallets', s.accessToken)).status).toBe(200); // from memory: in use
  const readBy = Date.now();
  expect(readBy - started).toBeLessThan(SESSION_READ_AHEAD_MS / 2); // else the ages below are not all in the window
  expect(sessionReadCalls.reduce((a, b) => a + b, 0)).toBe(5);
  // Every one of the five is now within SESSION_READ_AHEAD_MS of falling due, none past it.
  await new Promise((r) => setTimeout(r, SESSION_CHECK_MS - SESSION_READ_AHEAD_MS + 50 - (Date.now() - readBy)));
  sessionReadCalls = [];
  expect((await call(hostC, 'GET', '/v1/wallets', late.accessToken)).status).toBe(200);
  expect(sessionReadCalls).toEqual([6]);
  // Read ahead, so still fresh when they would have fallen due: no read more.
  await new Promise((r) => setTimeout(r, SESSION_READ_AHEAD_MS));
  for (const s of sessions) expect((await call(hostC, 'GET', '/v1/wallets', s.accessToken)).status).toBe(200);
  expect(sessionReadCalls).toEqual([6]);
});

test('the SDK: logout() ends the session on the host and forgets it', async () => {
  const client = createClient({ baseUrl: stack.url, root: readDevRoot(stack.caDir) });
  await client.login(await stack.issuer.sign({ email: 'sdk-out@example.com' }));
  const { accessToken } = client.session!;
  expect(await client.listWallets()).toEqual([]);
  await client.logout();
  expect(client.session).toBeUndefined();
  expect(await call(stack.url, 'GET', '/v1/wallets', accessToken)).toEqual({ status: 401, code: 'TOKEN_REVOKED' });
  await expect(client.listWallets()).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  await client.logout(); // nothing to end: no call
});
