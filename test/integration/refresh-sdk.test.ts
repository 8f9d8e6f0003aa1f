/**
 * A refresh tried again under its attempt id (docs/api.md#sessions), as the SDK does it on a phone's network, and
 * across two hosts; written as a hostile review of the first version (each case here failed on it).
 *
 * Host: TokenService on dynalite (as refresh-grace.test.ts). SDK: the real client (createClient) against the real
 * Express app (createApp, no enclave needed for /v1/auth/refresh and GET /v1/wallets), through a fetch that loses
 * answers, goes offline, or holds an answer, as a phone's network does.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { jest } from '@jest/globals';
import type { Store } from '../../host/src/storage/index.js';
import { newSigningJwk, REFRESH_RETRY_WINDOW_MS, TokenService } from '../../host/src/auth/tokens.js';
import { createApp } from '../../host/src/app.js';
import { parseUserId } from '@enclave-wallet/proto/ids';
import { createClient, EnclaveWalletApiError, type Session } from '@enclave-wallet/client';
import { startTestTable, type TestTable } from '../support/test-table.js';

const TABLE = 'review';
let table: TestTable;
let store: Store;
/** Host A (rate limits on, as deployed) and host B (a second instance behind the same load balancer). */
let tokensA: TokenService;
let tokensB: TokenService;
let clockA = Date.now();
let skewB = 0;
const servers: Server[] = [];
let urlA = '';
let urlB = '';
const user = parseUserId('usr_review');
const newAttempt = (): { id: string; n: number } => ({ id: randomBytes(16).toString('base64url'), n: 1 });

async function refreshOn(tokens: TokenService, token: string, attempt?: { id: string; n: number }): Promise<string> {
  try {
    return (await tokens.refresh(token, attempt)).tokens.refreshToken;
  } catch (err) {
    return `error:${(err as { code?: string }).code}`;
  }
}
async function live(token: string): Promise<boolean> {
  const i = await table.refreshRecord(token);
  return i !== undefined && i.usedAt === undefined;
}
const liveInFamily = async (token: string): Promise<number> => table.liveRefreshRecords((await table.refreshRecord(token))!.familyId!.S!);

const listen = async (app: ReturnType<typeof createApp>): Promise<string> => {
  const s = await new Promise<Server>((r) => {
    const srv = app.listen(0, '127.0.0.1', () => r(srv));
  });
  servers.push(s);
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
};

beforeAll(async () => {
  table = await startTestTable(TABLE, { client: { requestTimeoutMs: 2_000, socketTimeoutMs: 2_000, maxAttempts: 2 } });
  ({ store } = table);
  const jwk = await newSigningJwk();
  tokensA = await TokenService.create(jwk, 'https://wallet.test', store, () => clockA);
  tokensB = await TokenService.create(jwk, 'https://wallet.test', store, () => clockA + skewB);
  const enclave = { call: async () => Promise.reject(new Error('no enclave in this test')) };
  urlA = await listen(createApp({ enclave: enclave as never, store, tokens: tokensA }));
  urlB = await listen(createApp({ enclave: enclave as never, store, tokens: tokensB, rateLimits: false }));
});
afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections?.();
    await new Promise((r) => s.close(r));
  }
  await table.close();
});
beforeEach(() => {
  clockA = Date.now();
  skewB = 0;
});

/** A logged-in SDK session (as login would leave it), its access token about to expire: every call refreshes first. */
async function seeded(): Promise<Session> {
  const t = await tokensA.issue(user);
  return { accessToken: t.accessToken, refreshToken: t.refreshToken, expiresAt: Date.now() + 5_000, user: { id: user, email: '', provider: '' } };
}

type Mode = 'pass' | 'lose-answer' | 'offline';
/**
 * A phone's network for the SDK: `mode(url, n)` picks per refresh request (n counts them) whether it passes, is
 * carried out by the host with its answer lost, or never leaves the phone; `route` picks the host.
 */
function network(mode: (n: number) => Mode, route: (n: number) => string = () => urlB, before?: (n: number) => Promise<void>) {
  let n = 0;
  const codes: string[] = [];
  const sent: { n?: number; id?: string }[] = [];
  const f: typeof fetch = async (input, init) => {
    const path = new URL(String(input)).pathname;
    const base = path === '/v1/auth/refresh' ? route(n) : urlB;
    if (path !== '/v1/auth/refresh') return fetch(base + path, init);
    const i = n++;
    const m = mode(i);
    const body = JSON.parse(String(init!.body)) as { attempt?: { n: number; id: string } };
    sent.push({ n: body.attempt?.n, id: body.attempt?.id });
    if (m === 'offline') throw new TypeError('fetch failed (offline)');
    await before?.(i);
    const res = await fetch(base + path, init);
    const text = await res.text();
    codes.push(res.ok ? 'ok' : (JSON.parse(text) as { error: { code: string } }).error.code);
    if (m === 'lose-answer') throw new TypeError('fetch failed (answer lost)');
    return new Response(text, { status: res.status, headers: res.headers });
  };
  return { fetch: f, codes, sent };
}
const codeOf = async (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'ok',
    (e: unknown) => (e instanceof EnclaveWalletApiError ? e.code : String(e)),
  );
const ROOT = { sha256: '00'.repeat(32) } as never;

// ---------------------------------------------------------------------------------------------------------------
// SDK

test('a lost refresh, then a minute offline while the app polls (each call a try): back online, the session goes on', async () => {
  let phase: 'lost' | 'offline' | 'online' = 'lost';
  const net = network((i) => (phase === 'lost' && i === 0 ? 'lose-answer' : phase === 'online' ? 'pass' : 'offline'));
  const app = createClient({ baseUrl: urlB, root: ROOT, fetch: net.fetch });
  app.setSession(await seeded());
  // The refresh reaches the host (the token is used), its answer is lost, and so is the SDK's own resend.
  expect(await codeOf(app.listWallets())).toBe('NETWORK_ERROR');
  phase = 'offline';
  // An app polling a balance every second for under a minute with no network: each call refreshes first (2 sends).
  for (let k = 0; k < 50; k++) expect(await codeOf(app.listWallets())).toBe('NETWORK_ERROR');
  phase = 'online';
  // Back online, well within the 10 minutes: the docs say the next refresh is the same refresh's next try.
  const after = [await codeOf(app.listWallets()), await codeOf(app.listWallets())];
  expect(after).toEqual(['ok', 'ok']);
});

test('the resend of a lost refresh meets 429 (the auth limiter): the attempt is kept, and the next refresh() keeps the session', async () => {
  // Host A is rate limited as deployed (30 auth requests a minute per address: users behind one NAT, or this user).
  const net = network(
    (i) => (i === 0 ? 'lose-answer' : 'pass'),
    (i) => (i <= 1 ? urlA : urlB),
    // Others behind the same address spend the auth budget after the first try was carried out, before its resend.
    async (i) => {
      if (i === 1) await Promise.all(Array.from({ length: 30 }, () => fetch(`${urlA}/v1/auth/refresh`, { method: 'POST' }).then((r) => r.arrayBuffer())));
    },
  );
  const app = createClient({ baseUrl: urlA, root: ROOT, fetch: net.fetch });
  app.setSession(await seeded());
  const first = app.refresh();
  const codes = [await codeOf(first)];
  // The app does what README says after a failed refresh: refresh() again (another host, or a minute later).
  codes.push(await codeOf(app.refresh()));
  // One attempt id throughout.
  expect(new Set(net.sent.map((x) => x.id)).size).toBe(1);
  expect(codes).toEqual(['RATE_LIMITED', 'ok']);
});

test('a logout while a refresh’s answer is on its way: the answer, landing after, brings no session back', async () => {
  const heard: (string | undefined)[] = [];
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  const f: typeof fetch = async (input, init) => {
    const path = new URL(String(input)).pathname;
    const res = await fetch(urlB + path, init);
    if (path === '/v1/auth/refresh') {
      const text = await res.text();
      await gate; // the host answered before the logout; the answer reaches the phone after it
      return new Response(text, { status: res.status, headers: res.headers });
    }
    return res;
  };
  const app = createClient({ baseUrl: urlB, root: ROOT, fetch: f, onSession: (s) => heard.push(s?.refreshToken) });
  app.setSession({ ...(await seeded()), expiresAt: Date.now() + 600_000 });
  const refreshing = app.refresh();
  await new Promise((r) => setTimeout(r, 300));
  await app.logout();
  expect(app.session).toBeUndefined();
  release();
  await refreshing.catch(() => undefined);
  expect(app.session).toBeUndefined();
  expect(heard.at(-1)).toBeUndefined();
});

test('an async onSession (as client/README.md shows it) that rejects: reported to the console, never an unhandled rejection', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (r: unknown): void => void unhandled.push(r);
  process.on('unhandledRejection', onUnhandled);
  const errors = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  try {
    const secureStore = { set: async (_k: string, _v: string): Promise<void> => Promise.reject(new Error('keychain locked')), delete: async () => undefined };
    const net = network(() => 'pass');
    const app = createClient({
      baseUrl: urlB,
      root: ROOT,
      fetch: net.fetch,
      // client/README.md's own example: a ternary returning secureStore's promise.
      onSession: (session) => (session ? secureStore.set('wallet-session', JSON.stringify(session)) : secureStore.delete()),
    });
    app.setSession(await seeded());
    await app.refresh();
    await new Promise((r) => setTimeout(r, 50));
    expect(unhandled).toEqual([]);
    expect(errors).toHaveBeenCalled();
  } finally {
    errors.mockRestore();
    process.off('unhandledRejection', onUnhandled);
  }
});

test('a lost refresh, then a restart with the session onSession saved (its attempt with it): refresh() keeps the session', async () => {
  let saved: Session | undefined;
  const net = network((i) => (i === 0 ? 'lose-answer' : i === 1 ? 'offline' : 'pass'));
  const before = createClient({ baseUrl: urlB, root: ROOT, fetch: net.fetch, onSession: (s) => (saved = s) });
  const s = await seeded();
  before.setSession(s);
  saved = s;
  expect(await codeOf(before.refresh())).toBe('NETWORK_ERROR');
  // The tab is reloaded / the app is killed and restarted a few seconds later, with what onSession saved.
  const after = createClient({ baseUrl: urlB, root: ROOT, fetch: net.fetch, onSession: (x) => (saved = x) });
  after.setSession(saved);
  expect(await codeOf(after.refresh())).toBe('ok');
});

test('a network that loses every answer for a while (five refresh() calls, ten tries): the sixth, answered, keeps the session', async () => {
  let lossy = true;
  const net = network(() => (lossy ? 'lose-answer' : 'pass'));
  const app = createClient({ baseUrl: urlB, root: ROOT, fetch: net.fetch });
  app.setSession(await seeded());
  const codes: string[] = [];
  for (let k = 0; k < 5; k++) codes.push(await codeOf(app.refresh()));
  lossy = false;
  codes.push(await codeOf(app.refresh()));
  expect(codes.at(-1)).toBe('ok');
});

// ---------------------------------------------------------------------------------------------------------------
// Host

test('hosts with skewed clocks shift the window (docs/api.md): host B 3 min ahead sees a try 8 min after the use as 11: revoked', async () => {
  const first = (await tokensA.issue(user)).refreshToken;
  const attempt = newAttempt();
  expect(await refreshOn(tokensA, first, attempt)).not.toMatch(/^error/);
  clockA += 8 * 60_000;
  skewB = 3 * 60_000;
  expect(8 * 60_000).toBeLessThan(REFRESH_RETRY_WINDOW_MS);
  expect(await refreshOn(tokensB, first, { ...attempt, n: 2 })).toBe('error:TOKEN_REVOKED');
});

test('a thief first or after, with or without an attempt of its own, racing the holder on two hosts: always revoked', async () => {
  for (let round = 0; round < 4; round++) {
    const first = (await tokensA.issue(user)).refreshToken;
    const holder = newAttempt();
    const thief = round % 2 ? newAttempt() : undefined;
    const [h1, t1, h2] = await Promise.all([
      refreshOn(tokensA, first, holder),
      refreshOn(tokensB, first, thief),
      refreshOn(tokensB, first, { ...holder, n: 2 }),
    ]);
    const answers = [h1, t1, h2];
    expect(answers.some((a) => a === 'error:TOKEN_REVOKED')).toBe(true);
    for (const a of answers.filter((x) => !x.startsWith('error:'))) expect(await refreshOn(tokensA, a, newAttempt())).toBe('error:TOKEN_REVOKED');
  }
});

test('a lost answer, its successor used by the holder, then a late older and a late newer try of the first refresh', async () => {
  const first = (await tokensA.issue(user)).refreshToken;
  const a = newAttempt();
  await refreshOn(tokensA, first, a); // lost
  const kept = await refreshOn(tokensB, first, { ...a, n: 3 });
  const next = await refreshOn(tokensA, kept, newAttempt());
  expect(await refreshOn(tokensB, first, { ...a, n: 2 })).toBe('error:TOKEN_INVALID');
  expect(await live(next)).toBe(true);
  expect(await liveInFamily(next)).toBe(1);
  expect(await refreshOn(tokensB, first, { ...a, n: 4 })).toBe('error:TOKEN_REVOKED');
});
