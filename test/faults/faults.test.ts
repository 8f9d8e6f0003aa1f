/**
 * Faults, through the HTTP API of an in-process stack whose enclave reaches
 * KMS and the guard table through fault injectors: KMS or DynamoDB down or
 * refusing, a guard write that fails half-way, the enclave gone mid-sign,
 * concurrent signatures and a PIN change on one wallet. Every fault is a
 * typed answer, nothing stored is lost or rolled back, and a failed guard
 * write leaves a wallet counted (or locked), never open.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { sha256 } from '@noble/hashes/sha2.js';
import { hashMessage } from 'viem';
import { verifyAttestationDocument } from '@enclave-wallet/client';
import { readDevRoot } from '../../devtools/src/nsm/index.js';
import { sealEnvelope, type EnvelopeBody } from '../support/envelopes.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { startStack, type Stack } from '../support/stack.js';
import { parseUserId as uid, parseWalletId as wid } from '@enclave-wallet/proto/ids';

let stack: Stack;
let kms: FaultProxy;
let guard: FaultProxy;
let token: string;
let userId: string;

beforeAll(async () => {
  stack = await startStack({ init: () => ({ kmsEndpoint: kms.url, guardEndpoint: guard.url }) });
  kms = await startFaultProxy(stack.aws.kmsUrl);
  kms.seen.length = 0;
  guard = await startFaultProxy(stack.aws.dynamoUrl);
  const idToken = await stack.issuer.sign({ email: 'faults@example.com' });
  const login = (await (
    await fetch(`${stack.url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ idToken }) })
  ).json()) as { accessToken: string; user: { id: string } };
  token = login.accessToken;
  userId = login.user.id;
}, 60_000);
afterAll(async () => {
  await stack.close();
  await kms.close();
  await guard.close();
});
afterEach(() => {
  kms.rule = undefined;
  guard.rule = undefined;
});

async function api(
  method: string,
  path: string,
  body?: unknown,
  base = stack.url,
): Promise<{ status: number; body: { error?: { code: string; attemptsLeft?: number } } & Record<string, unknown> }> {
  const res = await fetch(base + path, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}
/** A PIN envelope sealed to the enclave behind `base` (each enclave has a key of its own). */
async function envelope(body: EnvelopeBody, base = stack.url): Promise<string> {
  const nonce = Buffer.from(sha256(new TextEncoder().encode(String(Math.random())))).toString('hex');
  const res = (await (await fetch(`${base}/v1/enclave/attestation?nonce=${nonce}`)).json()) as { document: string };
  const key = verifyAttestationDocument(Buffer.from(res.document, 'base64'), {
    root: readDevRoot(stack.caDir),
    expectedNonce: Buffer.from(nonce, 'hex'),
  }).publicKey!;
  return Buffer.from(sealEnvelope(key, body)).toString('base64');
}
const addresses = new Map<string, string>();
async function newWallet(pin = '493817'): Promise<string> {
  const res = await api('POST', '/v1/wallets', { pinEnvelope: await envelope({ purpose: 'create-wallet', sub: userId, pin }) });
  expect(res.status).toBe(201);
  const walletId = res.body.walletId as string;
  addresses.set(walletId, (res.body.accounts as Array<{ network: string; address: string }>).find((a) => a.network === 'evm')!.address);
  return walletId;
}
const sign = async (walletId: string, pin = '493817', text = 'fault', base = stack.url) =>
  api(
    'POST',
    `/v1/wallets/${walletId}/sign`,
    {
      network: 'evm',
      kind: 'message',
      message: text,
      pinEnvelope: await envelope(
        { purpose: 'sign', sub: userId, walletId, network: 'evm', kind: 'evm-message', address: addresses.get(walletId)!, digest: hashMessage(text), pin },
        base,
      ),
    },
    base,
  );
const until = async (done: () => Promise<boolean> | boolean): Promise<void> => {
  for (let i = 0; i < 200 && !(await done()); i++) await new Promise((r) => setTimeout(r, 25));
};
/** Waits until the host has reconnected every connection of its pool to the enclave. */
async function ready(): Promise<void> {
  let ok = 0;
  for (let i = 0; i < 100 && ok < 4; i++) {
    ok = (await fetch(`${stack.url}/readyz`)).status === 200 ? ok + 1 : 0;
    if (ok === 0) await new Promise((r) => setTimeout(r, 50));
  }
}
const stored = async (walletId: string) => (await stack.store.wallets.get(uid(userId), wid(walletId)))!;
const guardItem = async (walletId: string) =>
  (await stack.aws.dynamo.send(new GetItemCommand({ TableName: stack.aws.guardTable, Key: { pk: { S: `wallet#${walletId}` } }, ConsistentRead: true }))).Item!;
/** The guesses counted on a wallet, as the guard holds them: `p:…` in flight, `f:…` failed. */
const guesses = async (walletId: string): Promise<string[]> =>
  Object.values((await guardItem(walletId)).guesses?.M ?? {})
    .map((v) => v.S!.slice(0, 1))
    .sort();

test('KMS down or refusing: 503 with KMS_UNAVAILABLE / KMS_ACCESS_DENIED; the wallet is intact and signs once KMS is back', async () => {
  const walletId = await newWallet();
  const before = await stored(walletId);
  // While its data key is cached a wallet signs without KMS; a restarted enclave has nothing cached.
  kms.rule = () => 'down';
  expect((await sign(walletId)).status).toBe(200);
  kms.rule = undefined;
  await stack.stopEnclave();
  await stack.restartEnclave();
  await ready();
  kms.rule = (op) => (op.endsWith('.Decrypt') ? 'down' : undefined);
  const down = await sign(walletId);
  expect(down.status).toBe(503);
  expect(down.body.error!.code).toBe('KMS_UNAVAILABLE');
  kms.rule = (op) => (op.endsWith('.Decrypt') ? { status: 400, type: 'AccessDeniedException' } : undefined);
  const denied = await sign(walletId);
  expect(denied.status).toBe(503);
  expect(denied.body.error!.code).toBe('KMS_ACCESS_DENIED');
  kms.rule = undefined;
  expect((await stored(walletId)).version).toBe(before.version);
  expect((await sign(walletId)).status).toBe(200);
}, 60_000);

test('the guard down or refusing: 503 GUARD_UNAVAILABLE, nothing created or signed', async () => {
  const walletId = await newWallet();
  guard.rule = () => 'down';
  const res = await sign(walletId);
  expect(res.status).toBe(503);
  expect(res.body.error!.code).toBe('GUARD_UNAVAILABLE');
  expect((await api('POST', '/v1/wallets', { pinEnvelope: await envelope({ purpose: 'create-wallet', sub: userId, pin: '493817' }) })).body.error!.code).toBe(
    'GUARD_UNAVAILABLE',
  );
  guard.rule = () => ({ status: 400, type: 'com.amazon.coral.service#AccessDeniedException' });
  expect((await sign(walletId)).body.error!.code).toBe('GUARD_UNAVAILABLE');
  guard.rule = undefined;
  expect((await sign(walletId)).status).toBe(200);
}, 60_000);

test('a clear that fails leaves the right guess counted (in flight, then a failure); a count that fails answers nothing', async () => {
  const walletId = await newWallet();
  for (let i = 0; i < 4; i++) expect((await sign(walletId, '000000')).body.error!.code).toBe('PIN_INVALID');
  // The right PIN, whose guess was counted before its answer existed; the write that clears the count fails.
  // The signature is answered (the clear runs on after it), and the guess stays counted: the fifth, so locked.
  const clearFailures = async (): Promise<number> => {
    const text = await (await fetch(`${stack.url}/metrics`)).text();
    return Number(/^enclave_phase_seconds_count\{phase="guard_clear_failed"\} (\d+)$/m.exec(text)?.[1] ?? 0);
  };
  const failuresBefore = await clearFailures();
  guard.rule = (op, body) => (op.endsWith('.UpdateItem') && body.includes('REMOVE guesses') ? 'down' : undefined);
  const res = await sign(walletId);
  expect(res.status).toBe(200);
  expect(res.body.signature).toMatch(/^0x[0-9a-f]{130}$/);
  for (let i = 0; i < 200 && (await clearFailures()) === failuresBefore; i++) await new Promise((r) => setTimeout(r, 20));
  expect(await clearFailures()).toBe(failuresBefore + 1);
  guard.rule = undefined;
  // Four failures and the right guess, still counted (pending until its TTL makes it the fifth failure): no place left.
  expect(await guesses(walletId)).toEqual(['f', 'f', 'f', 'f', 'p']);
  // The count itself failing is different: no answer exists for a guess that is not counted.
  const other = await newWallet();
  guard.rule = (op, body) => (op.endsWith('.UpdateItem') && body.includes('size(guesses)') ? 'down' : undefined);
  const uncounted = await sign(other);
  expect(uncounted.status).toBe(503);
  expect(uncounted.body.error!.code).toBe('GUARD_UNAVAILABLE');
  expect(uncounted.body.signature).toBeUndefined();
}, 60_000);

test('the enclave gone mid-sign: a clean 503, the stored wallet untouched, and it signs once the enclave is back', async () => {
  const walletId = await newWallet();
  const before = await stored(walletId);
  // Hold the guard's count write so the signature is in flight inside the enclave when it goes away.
  guard.rule = (op) => (op.endsWith('.UpdateItem') ? { delayMs: 1500 } : undefined);
  guard.seen.length = 0;
  const inFlight = sign(walletId);
  for (let i = 0; i < 100 && !guard.seen.some((op) => op.endsWith('.UpdateItem')); i++) await new Promise((r) => setTimeout(r, 20));
  await stack.stopEnclave();
  const res = await inFlight;
  expect(res.status).toBe(503);
  expect(res.body.error!.code).toBe('ENCLAVE_UNAVAILABLE');
  guard.rule = undefined;
  await stack.restartEnclave();
  expect((await stored(walletId)).version).toBe(before.version);
  await ready();
  // The guess the dead enclave counted stays counted: in flight until its TTL, then a failure a right PIN clears.
  expect((await sign(walletId)).status).toBe(200);
}, 60_000);

test('concurrent signatures and a PIN change on one wallet: typed answers only, no lost update, the new PIN rules', async () => {
  const walletId = await newWallet();
  const answers = await Promise.all([
    ...Array.from({ length: 5 }, (_, i) => sign(walletId, '493817', `m${i}`)),
    (async () =>
      api('POST', `/v1/wallets/${walletId}/pin`, {
        pinEnvelope: await envelope({ purpose: 'change-pin', sub: userId, walletId, pin: '493817', newPin: '270394' }),
      }))(),
  ]);
  for (const a of answers) expect([200, 204, 409, 422]).toContain(a.status);
  const changed = answers[5]!.status === 204;
  const pin = changed ? '270394' : '493817';
  expect((await sign(walletId, pin, 'after')).status).toBe(200);
  // The host's copy and the guard's current blob agree afterwards (healed if the host's write lost a race).
  expect(Buffer.from((await stored(walletId)).sealedBlob).equals(Buffer.from((await guardItem(walletId)).blob!.B!))).toBe(true);
}, 60_000);

test('the host killed mid-request: the client sees the connection drop, nothing stored is lost, a new host serves', async () => {
  const walletId = await newWallet();
  const before = await stored(walletId);
  // The count write is held so the request is inside the enclave when the host dies.
  guard.seen.length = 0;
  guard.rule = (op) => (op.endsWith('.UpdateItem') && guard.seen.filter((o) => o.endsWith('.UpdateItem')).length === 1 ? { delayMs: 1000 } : undefined);
  const inFlight = sign(walletId).then(
    (r) => `status ${r.status}`,
    () => 'connection dropped',
  );
  for (let i = 0; i < 100 && !guard.seen.some((op) => op.endsWith('.UpdateItem')); i++) await new Promise((r) => setTimeout(r, 20));
  await stack.crashHost();
  expect(await inFlight).toBe('connection dropped');
  guard.rule = undefined;
  // The enclave finished the signature for nobody; the guess it counted was cleared, the wallet is as it was.
  const updates = (): number => guard.seen.filter((op) => op.endsWith('.UpdateItem')).length;
  for (let i = 0; i < 200 && updates() < 2; i++) await new Promise((r) => setTimeout(r, 50));
  expect(updates()).toBeGreaterThanOrEqual(2); // the count, then the clear (an SDK retry of a reused socket may add one)
  // The clear lands: a right guess's clear is held up to CLEAR_DELAY_MS (2 s) for the next count to carry, then written on
  // its own, so the wait must outlast that hold (100 rounds, about 2 s, failed once on a loaded CI machine, when the
  // second update above was the count's retry rather than the clear).
  for (let i = 0; i < 250 && (await guesses(walletId)).length; i++) await new Promise((r) => setTimeout(r, 20));
  expect(await guesses(walletId)).toEqual([]);
  expect((await stored(walletId)).version).toBe(before.version);
  expect((await sign(walletId)).status).toBe(200);
}, 60_000);

describe('one wallet, many guesses at once', () => {
  test('32 signatures with the right PIN at once all answer 200, through one host and across two host + enclave pairs', async () => {
    const walletId = await newWallet();
    const one = await Promise.all(Array.from({ length: 32 }, (_, i) => sign(walletId, '493817', `batch ${i}`)));
    expect(one.map((r) => r.status)).toEqual(Array(32).fill(200));
    const second = await stack.addHost({ ownEnclave: true });
    const two = await Promise.all(Array.from({ length: 32 }, (_, i) => sign(walletId, '493817', `pair ${i}`, i % 2 ? second.url : stack.url)));
    expect(two.map((r) => r.status)).toEqual(Array(32).fill(200));
    // Wrong PINs mixed into a batch: every right one still signs, every wrong one is told so.
    const mixed = await Promise.all([
      ...Array.from({ length: 16 }, (_, i) => sign(walletId, '493817', `mixed ${i}`, i % 2 ? second.url : stack.url)),
      ...[0, 1, 2].map((i) => sign(walletId, `55566${i}`, 'wrong', i % 2 ? second.url : stack.url)),
    ]);
    expect(mixed.slice(0, 16).map((r) => r.status)).toEqual(Array(16).fill(200));
    expect(mixed.slice(16).map((r) => r.body.error?.code)).toEqual(Array(3).fill('PIN_INVALID'));
    // Counted exactly: the failures left (those answered after a right guess was counted) plus the wrong guesses
    // still answered before the lock make five.
    await until(async () => !(await guesses(walletId)).includes('p'));
    const left = (await guesses(walletId)).length;
    expect(left).toBeLessThanOrEqual(3);
    const answers: string[] = [];
    for (let i = 0; i < 6 - left; i++) answers.push((await sign(walletId, `77788${i}`)).body.error!.code);
    expect(answers.slice(0, 4 - left)).toEqual(Array(4 - left).fill('PIN_INVALID'));
    expect(answers.slice(4 - left)).toEqual(['PIN_LOCKED', 'PIN_LOCKED']);
    expect(await guesses(walletId)).toEqual(['f', 'f', 'f', 'f', 'f']);
  }, 120_000);

  test('a carrier that holds, duplicates, reorders and replays the enclave’s guard writes gets no extra guesses', async () => {
    const walletId = await newWallet();
    guard.recorded.length = 0;
    guard.held.length = 0;
    // The user's right PIN: the carrier keeps the clear that follows it, and the enclave client's retry of it.
    guard.rule = (op, body) => (op.endsWith('.UpdateItem') && body.includes('REMOVE guesses') ? 'hold' : undefined);
    expect((await sign(walletId)).status).toBe(200);
    await until(() => guard.held.length === 2);
    guard.rule = undefined;
    expect(guard.held).toHaveLength(2);
    const guessUntilRefused = async (from: number): Promise<string[]> => {
      const codes: string[] = [];
      for (let i = from; i < from + 8; i++) {
        codes.push((await sign(walletId, `90${String(i).padStart(4, '0')}`)).body.error!.code);
        if (codes.at(-1) !== 'PIN_INVALID') break;
      }
      return codes;
    };
    // The held right guess still takes its place: four wrong ones fit beside it, the fifth waits and is refused.
    const first = await guessUntilRefused(0);
    expect(first).toEqual(['PIN_INVALID', 'PIN_INVALID', 'PIN_INVALID', 'PIN_INVALID', 'WALLET_CONFLICT']);
    // Now the carrier delivers: the held clears, twice over in both orders, then every guard write it saw, newest first.
    await guard.deliver([...guard.held].reverse());
    await guard.deliver(guard.held);
    await guard.deliver(guard.recorded.filter((r) => r.target.endsWith('.UpdateItem')).reverse());
    // The late clear removed its own guess and nothing counted after it; replays re-count old guesses, never uncount.
    const after = await guesses(walletId);
    expect(after.filter((g) => g === 'f')).toHaveLength(4);
    const second = await guessUntilRefused(100);
    expect(second.filter((c) => c === 'PIN_INVALID').length + first.filter((c) => c === 'PIN_INVALID').length).toBeLessThanOrEqual(5);
    expect(second.at(-1)).not.toBe('PIN_INVALID');
  }, 120_000);
});
