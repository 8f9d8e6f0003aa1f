/**
 * A refresh token presented again (docs/api.md#sessions): the host's TokenService against a real table (dynalite)
 * behind a fault proxy, on a clock the test moves. A later try of the refresh that used the token (the same attempt
 * id, a higher try number), within REFRESH_RETRY_WINDOW_MS and while no token issued after it was used, rotates the
 * session again and the token the earlier try was answered with stops working (a lost answer); an earlier try arriving
 * after a later one was answered changes nothing; anything else revokes the session (a copy: a thief's, or one left
 * behind). Whatever happens a session has at most one live refresh token, and a storage failure in the middle of a
 * refresh does not end it. Hostile-review scenarios (a resend landing before its original, a thief going first, a
 * hostile carrier replaying every write) included.
 */
import { createHash, randomBytes } from 'node:crypto';
import { UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Store } from '../../host/src/storage/index.js';
import { newSigningJwk, REFRESH_RETRY_WINDOW_MS, TokenService } from '../../host/src/auth/tokens.js';
import { parseUserId } from '@enclave-wallet/proto/ids';
import type { FaultProxy } from '../support/fault-proxy.js';
import { startTestTable, type TestTable } from '../support/test-table.js';

const TABLE = 'grace';
let table: TestTable;
let proxy: FaultProxy;
let client: DynamoDBClient;
let store: Store;
let tokens: TokenService;
let clock = Date.now();
const user = parseUserId('usr_grace');
const hash = (token: string): string => createHash('sha256').update(token).digest('hex');
/** A refresh as the SDK names it: a random id, the same on each try. */
const newAttempt = (): { id: string; n: number } => ({ id: randomBytes(16).toString('base64url'), n: 1 });
const tryOf = (a: { id: string; n: number }, n: number): { id: string; n: number } => ({ id: a.id, n });

/** The code a refresh fails with, or the new refresh token. */
async function refresh(token: string, attempt?: { id: string; n: number }): Promise<string> {
  try {
    return (await tokens.refresh(token, attempt)).tokens.refreshToken;
  } catch (err) {
    return `error:${(err as { code?: string }).code}`;
  }
}

const item = (token: string) => table.refreshRecord(token);
/** Whether a refresh token's record is unused (still valid): read from the table, not through the service. */
async function live(token: string): Promise<boolean> {
  const i = await item(token);
  return i !== undefined && i.usedAt === undefined;
}
const familyOf = async (token: string): Promise<string> => (await item(token))!.familyId!.S!;
const liveRecordsOf = (familyId: string): Promise<number> => table.liveRefreshRecords(familyId);

beforeAll(async () => {
  table = await startTestTable(TABLE, { faults: true, client: { requestTimeoutMs: 2_000, socketTimeoutMs: 2_000, maxAttempts: 2 } });
  ({ store, client } = table);
  proxy = table.proxy!;
  tokens = await TokenService.create(await newSigningJwk(), 'https://wallet.test', store, () => clock);
});
afterAll(() => table.close());
beforeEach(() => {
  proxy.rule = undefined;
  clock = Date.now();
});

test('a lost answer, tried again three times: a new token each time, only the last one live; the session goes on', async () => {
  const first = (await tokens.issue(user)).refreshToken;
  const attempt = newAttempt();
  const lost: string[] = [];
  for (let n = 1; n <= 3; n++) {
    lost.push(await refresh(first, tryOf(attempt, n)));
    clock += 60_000;
  }
  const kept = await refresh(first, tryOf(attempt, 4));
  expect([...lost, kept].every((t) => !t.startsWith('error:'))).toBe(true);
  expect(new Set([...lost, kept]).size).toBe(4);
  expect(await Promise.all([first, ...lost, kept].map(live))).toEqual([false, false, false, false, true]);
  const next = (await tokens.refresh(kept, newAttempt())).tokens;
  await expect(tokens.verifyAccess(next.accessToken)).resolves.toMatchObject({ userId: user });
});

test('an app that calls refresh() again after a TIMEOUT (the host used the token 3 minutes before): the session goes on', async () => {
  const first = (await tokens.issue(user)).refreshToken;
  const attempt = newAttempt();
  await refresh(first, attempt);
  clock += 180_000;
  expect(await refresh(first, tryOf(attempt, 2))).not.toMatch(/^error:/);
});

test('a try that arrives after a later try was answered (a resend landing first): refused, and nothing changes', async () => {
  const first = (await tokens.issue(user)).refreshToken;
  const attempt = newAttempt();
  const kept = await refresh(first, tryOf(attempt, 2));
  expect(await refresh(first, tryOf(attempt, 1))).toBe('error:TOKEN_INVALID');
  expect(await refresh(first, tryOf(attempt, 2))).toBe('error:TOKEN_INVALID');
  expect(await live(kept)).toBe(true);
  expect(await refresh(kept, newAttempt())).not.toMatch(/^error:/);
});

test('the token of a lost answer turning up later ends the session, with every token of it', async () => {
  const first = (await tokens.issue(user)).refreshToken;
  const attempt = newAttempt();
  const lost = await refresh(first, attempt);
  const kept = (await tokens.refresh(first, tryOf(attempt, 2))).tokens;
  expect(await refresh(lost, newAttempt())).toBe('error:TOKEN_REVOKED');
  await expect(tokens.verifyAccess(kept.accessToken)).rejects.toMatchObject({ code: 'TOKEN_REVOKED' });
  expect(await refresh(kept.refreshToken)).toBe('error:TOKEN_REVOKED');
});

test('a thief who presents a copy first: the holder’s refresh revokes the session, the thief’s access token with it', async () => {
  const first = (await tokens.issue(user)).refreshToken;
  const stolen = (await tokens.refresh(first, newAttempt())).tokens;
  // The holder, a second later, with its own attempt (what its SDK sends): another attempt, not a retry.
  clock += 1_000;
  expect(await refresh(first, newAttempt())).toBe('error:TOKEN_REVOKED');
  await expect(tokens.verifyAccess(stolen.accessToken)).rejects.toMatchObject({ code: 'TOKEN_REVOKED' });
  expect(await refresh(stolen.refreshToken)).toBe('error:TOKEN_REVOKED');
});

test('a copy presented after its holder’s refresh (with or without an attempt of its own): revoked', async () => {
  for (const copyAttempt of [undefined, newAttempt()]) {
    const first = (await tokens.issue(user)).refreshToken;
    const second = await refresh(first, newAttempt());
    expect(await refresh(first, copyAttempt)).toBe('error:TOKEN_REVOKED');
    expect(await refresh(second, newAttempt())).toBe('error:TOKEN_REVOKED');
  }
});

test('tried again after the window: the session is revoked, the token its first try issued with it', async () => {
  const first = (await tokens.issue(user)).refreshToken;
  const attempt = newAttempt();
  const second = await refresh(first, attempt);
  clock += REFRESH_RETRY_WINDOW_MS + 1;
  expect(await refresh(first, tryOf(attempt, 2))).toBe('error:TOKEN_REVOKED');
  expect(await refresh(second)).toBe('error:TOKEN_REVOKED');
});

test('tried again after its successor was used (a copy left behind, whatever attempt it names): revoked', async () => {
  const first = (await tokens.issue(user)).refreshToken;
  const attempt = newAttempt();
  const second = await refresh(first, attempt);
  const third = await refresh(second, newAttempt());
  expect(third).not.toMatch(/^error:/);
  expect(await refresh(first, tryOf(attempt, 2))).toBe('error:TOKEN_REVOKED');
  expect(await refresh(third)).toBe('error:TOKEN_REVOKED');
});

test('tried again 20 times in a row (a network that loses every answer): each answered, only the last live, each try a few writes', async () => {
  const first = (await tokens.issue(user)).refreshToken;
  const attempt = newAttempt();
  const answers: string[] = [];
  const calls: number[] = [];
  for (let n = 1; n <= 20; n++) {
    const before = proxy.seen.length;
    answers.push(await refresh(first, tryOf(attempt, n)));
    calls.push(proxy.seen.length - before);
  }
  expect(answers.every((t) => !t.startsWith('error:'))).toBe(true);
  expect((await Promise.all(answers.map(live))).lastIndexOf(true)).toBe(19);
  expect((await Promise.all(answers.map(live))).filter(Boolean)).toHaveLength(1);
  // A try starts where the last one left the chain (its note on the used token): not a walk past 19 superseded tokens.
  expect(Math.max(...calls.slice(2))).toBeLessThanOrEqual(calls[1]! + 1);
});

test('eight tries at once (a client retrying in a loop): never revoked; the one live token is the newest try’s answer', async () => {
  for (let round = 0; round < 5; round++) {
    const first = (await tokens.issue(user)).refreshToken;
    const attempt = newAttempt();
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => refresh(first, tryOf(attempt, i + 1))));
    // Each is a new token; TOKEN_INVALID (a later try was answered first); or STORAGE_UNAVAILABLE (a later try
    // superseded this one's token before its record was written, which is then refused: the hash is taken).
    for (const a of answers) expect(['error:TOKEN_INVALID', 'error:STORAGE_UNAVAILABLE'].includes(a) || !a.startsWith('error:')).toBe(true);
    const newest = answers.findLastIndex((a) => !a.startsWith('error:'));
    expect(newest).toBeGreaterThanOrEqual(0);
    expect(await Promise.all(answers.map((a) => (a.startsWith('error:') ? false : live(a))))).toEqual(answers.map((_, i) => i === newest));
    expect(await liveRecordsOf(await familyOf(first))).toBe(1);
  }
});

test('the new token’s write fails (the table down for it): the next try keeps the session, the write landing late is refused', async () => {
  const first = (await tokens.issue(user)).refreshToken;
  const attempt = newAttempt();
  // Every copy of the next token's PutItem held: the refresh fails, the token's use already written.
  proxy.rule = (target) => (target.endsWith('.PutItem') ? 'hold' : undefined);
  expect(await refresh(first, attempt)).toBe('error:STORAGE_UNAVAILABLE');
  const held = proxy.held.splice(0);
  expect(held.length).toBeGreaterThan(0);
  proxy.rule = undefined;
  const kept = await refresh(first, tryOf(attempt, 2));
  expect(kept).not.toMatch(/^error:/);
  // The lost token's record, delivered now: refused by its condition (the hash is taken, marked used).
  expect(await proxy.deliver(held)).toEqual(held.map(() => 400));
  expect(await live(kept)).toBe(true);
  expect(await refresh(kept)).not.toMatch(/^error:/);
});

test('every write of a messy run (held writes, tries at once) replayed twice by a hostile carrier: at most one live token', async () => {
  const first = (await tokens.issue(user)).refreshToken;
  const familyId = await familyOf(first);
  const attempt = newAttempt();
  const from = proxy.recorded.length;
  proxy.rule = (target) => (target.endsWith('.PutItem') ? 'hold' : undefined);
  expect(await refresh(first, tryOf(attempt, 1))).toBe('error:STORAGE_UNAVAILABLE');
  proxy.rule = (target, body) => (target.endsWith('.UpdateItem') && body.includes('supersededAt') ? 'hold' : undefined);
  expect(await refresh(first, tryOf(attempt, 2))).toBe('error:STORAGE_UNAVAILABLE');
  proxy.rule = undefined;
  const burst = await Promise.all([3, 4, 5, 6].map((n) => refresh(first, tryOf(attempt, n))));
  const last = await refresh(first, tryOf(attempt, 7));
  expect(last).not.toMatch(/^error:/);
  const held = proxy.held.splice(0);
  const writes = proxy.recorded.slice(from).filter((r) => /\.(PutItem|UpdateItem)$/.test(r.target));
  await proxy.deliver(held);
  await proxy.deliver(writes);
  await proxy.deliver(writes);
  expect(await liveRecordsOf(familyId)).toBe(1);
  expect(await Promise.all([...burst, last].map((a) => (a.startsWith('error:') ? false : live(a))))).toEqual([false, false, false, false, true]);
});

test('without an attempt (an older client, or the raw API) a used token presented again revokes, as it always did', async () => {
  const first = (await tokens.issue(user)).refreshToken;
  const second = await refresh(first);
  expect(await refresh(first)).toBe('error:TOKEN_REVOKED');
  expect(await refresh(second)).toBe('error:TOKEN_REVOKED');
});

test('a token used before tokens named their successor: tried again, it revokes as before', async () => {
  const first = (await tokens.issue(user)).refreshToken;
  const attempt = newAttempt();
  await refresh(first, attempt);
  // As such a record was left: used, no successor, no attempt.
  await client.send(
    new UpdateItemCommand({
      TableName: TABLE,
      Key: { pk: { S: `REFRESH#${hash(first)}` }, sk: { S: 'REFRESH' } },
      UpdateExpression: 'REMOVE successor, attemptHash, successorTry',
    }),
  );
  expect(await refresh(first, tryOf(attempt, 2))).toBe('error:TOKEN_REVOKED');
});
