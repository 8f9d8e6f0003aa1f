/**
 * A refresh token presented again (docs/api.md#sessions): the host's TokenService against a real table (dynalite)
 * behind a fault proxy, on a clock the test moves. Within REFRESH_REUSE_GRACE_MS of its first use, and while no token
 * issued after it was used, it rotates the session again and the token its first use issued stops working (a lost
 * answer); otherwise it revokes the session (a copy left behind). Whatever happens, a session has at most one live
 * refresh token, and a storage failure in the middle of a refresh does not end it.
 */
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import dynalite from 'dynalite';
import { GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { storageClient } from '../../host/src/storage/client.js';
import { Store } from '../../host/src/storage/index.js';
import { MAX_SUPERSEDED } from '../../host/src/storage/sessions.js';
import { newSigningJwk, REFRESH_REUSE_GRACE_MS, TokenService } from '../../host/src/auth/tokens.js';
import { parseUserId } from '@enclave-wallet/proto/ids';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';

let dyn: Server;
let proxy: FaultProxy;
let client: ReturnType<typeof storageClient>;
let store: Store;
let tokens: TokenService;
let clock = Date.now();
const user = parseUserId('usr_grace');
const hash = (token: string): string => createHash('sha256').update(token).digest('hex');

/** The code a refresh fails with, or the new refresh token. */
async function refresh(token: string): Promise<string> {
  try {
    return (await tokens.refresh(token)).tokens.refreshToken;
  } catch (err) {
    return `error:${(err as { code?: string }).code}`;
  }
}

/** Whether a refresh token's record is unused (still valid): read from the table, not through the service. */
async function live(token: string): Promise<boolean> {
  const out = await client.send(
    new GetItemCommand({ TableName: 'grace', Key: { pk: { S: `REFRESH#${hash(token)}` }, sk: { S: 'REFRESH' } }, ConsistentRead: true }),
  );
  return out.Item !== undefined && out.Item.usedAt === undefined;
}

beforeAll(async () => {
  dyn = dynalite({ createTableMs: 0 }) as Server;
  await new Promise<void>((r) => dyn.listen(0, '127.0.0.1', () => r()));
  proxy = await startFaultProxy(`http://127.0.0.1:${(dyn.address() as AddressInfo).port}`);
  client = storageClient({ region: 'us-east-1', endpoint: proxy.url, requestTimeoutMs: 2_000, socketTimeoutMs: 2_000, maxAttempts: 2 });
  store = new Store({ client, tableName: 'grace' });
  await store.ensureTable();
  tokens = await TokenService.create(await newSigningJwk(), 'https://wallet.test', store, () => clock);
});
afterAll(async () => {
  client.destroy();
  await proxy.close();
  await new Promise((r) => dyn.close(r));
});
beforeEach(() => {
  proxy.rule = undefined;
  clock = Date.now();
});

test('a lost answer, presented again three times within the grace: a new token each time, only the last one live', async () => {
  const first = (await tokens.issue(user)).refreshToken;
  const lost: string[] = [];
  for (let i = 0; i < 3; i++) {
    lost.push(await refresh(first));
    clock += REFRESH_REUSE_GRACE_MS / 4;
  }
  const kept = await refresh(first);
  expect([...lost, kept].every((t) => !t.startsWith('error:'))).toBe(true);
  expect(new Set([...lost, kept]).size).toBe(4);
  expect(await Promise.all([first, ...lost, kept].map(live))).toEqual([false, false, false, false, true]);
  // The session goes on from the last one.
  const next = await refresh(kept);
  expect(next).not.toMatch(/^error:/);
  const { sessionId } = await tokens.verifyAccess((await tokens.refresh(next)).tokens.accessToken);
  expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);
});

test('the token of a lost answer turning up later ends the session, with every token of it', async () => {
  const first = (await tokens.issue(user)).refreshToken;
  const lost = await refresh(first);
  const kept = (await tokens.refresh(first)).tokens;
  expect(await refresh(lost)).toBe('error:TOKEN_REVOKED');
  await expect(tokens.verifyAccess(kept.accessToken)).rejects.toMatchObject({ code: 'TOKEN_REVOKED' });
  expect(await refresh(kept.refreshToken)).toBe('error:TOKEN_REVOKED');
});

test('presented again after the grace: the session is revoked, the token its first use issued with it', async () => {
  const first = (await tokens.issue(user)).refreshToken;
  const second = await refresh(first);
  clock += REFRESH_REUSE_GRACE_MS + 1;
  expect(await refresh(first)).toBe('error:TOKEN_REVOKED');
  expect(await refresh(second)).toBe('error:TOKEN_REVOKED');
});

test('presented again within the grace after its successor was used (a copy left behind): revoked', async () => {
  const first = (await tokens.issue(user)).refreshToken;
  const second = await refresh(first);
  const third = await refresh(second);
  expect(third).not.toMatch(/^error:/);
  expect(await refresh(first)).toBe('error:TOKEN_REVOKED');
  expect(await refresh(third)).toBe('error:TOKEN_REVOKED');
});

test(`presented again more than ${MAX_SUPERSEDED} times: the chain is too long, and the session revoked`, async () => {
  const first = (await tokens.issue(user)).refreshToken;
  const answers: string[] = [];
  for (let i = 0; i < MAX_SUPERSEDED + 2; i++) answers.push(await refresh(first));
  expect(answers.slice(0, MAX_SUPERSEDED + 1).every((t) => !t.startsWith('error:'))).toBe(true);
  expect(answers.at(-1)).toBe('error:TOKEN_REVOKED');
});

test('presented eight times at once (a client retrying in a loop): never revoked, at most one token left live', async () => {
  const first = (await tokens.issue(user)).refreshToken;
  const answers = await Promise.all(Array.from({ length: 8 }, () => refresh(first)));
  // Each is a new token, or STORAGE_UNAVAILABLE: a presentation whose token was superseded by the next one before its
  // own record was written (the record's write then refused: the hash is taken).
  for (const a of answers) expect(a === 'error:STORAGE_UNAVAILABLE' || !a.startsWith('error:')).toBe(true);
  const issued = answers.filter((a) => !a.startsWith('error:'));
  expect(issued.length).toBeGreaterThanOrEqual(1);
  const states = await Promise.all(issued.map(live));
  expect(states.filter(Boolean)).toHaveLength(1);
  expect(await refresh(issued[states.indexOf(true)]!)).not.toMatch(/^error:/);
});

test('the new token’s write fails (the table down for it): the session survives a retry, and the write landing late is refused', async () => {
  const first = (await tokens.issue(user)).refreshToken;
  // Every copy of the next token's PutItem held: the refresh fails, the token's use already written.
  proxy.rule = (target) => (target.endsWith('.PutItem') ? 'hold' : undefined);
  expect(await refresh(first)).toBe('error:STORAGE_UNAVAILABLE');
  const held = proxy.held.splice(0);
  expect(held.length).toBeGreaterThan(0);
  proxy.rule = undefined;
  const kept = await refresh(first);
  expect(kept).not.toMatch(/^error:/);
  // The lost token's record, delivered now: refused by its condition (the hash is taken, marked used).
  expect(await proxy.deliver(held)).toEqual(held.map(() => 400));
  expect(await live(kept)).toBe(true);
  expect(await refresh(kept)).not.toMatch(/^error:/);
});

test('a token used before tokens named their successor: presented again, it revokes as before', async () => {
  const first = (await tokens.issue(user)).refreshToken;
  // As such a record was left: used, no successor.
  await store.sessions.useRefreshToken(hash(first), clock, 'x');
  await client.send(
    new UpdateItemCommand({
      TableName: 'grace',
      Key: { pk: { S: `REFRESH#${hash(first)}` }, sk: { S: 'REFRESH' } },
      UpdateExpression: 'REMOVE successor',
    }),
  );
  expect(await refresh(first)).toBe('error:TOKEN_REVOKED');
});
