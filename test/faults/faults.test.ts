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
): Promise<{ status: number; body: { error?: { code: string; attemptsLeft?: number } } & Record<string, unknown> }> {
  const res = await fetch(stack.url + path, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}
async function envelope(body: EnvelopeBody): Promise<string> {
  const nonce = Buffer.from(sha256(new TextEncoder().encode(String(Math.random())))).toString('hex');
  const res = (await (await fetch(`${stack.url}/v1/enclave/attestation?nonce=${nonce}`)).json()) as { document: string };
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
const sign = async (walletId: string, pin = '493817', text = 'fault') =>
  api('POST', `/v1/wallets/${walletId}/sign`, {
    network: 'evm',
    kind: 'message',
    message: text,
    pinEnvelope: await envelope({
      purpose: 'sign',
      sub: userId,
      walletId,
      network: 'evm',
      kind: 'evm-message',
      address: addresses.get(walletId)!,
      digest: hashMessage(text),
      pin,
    }),
  });
/** Waits until the host has reconnected every connection of its pool to the enclave. */
async function ready(): Promise<void> {
  let ok = 0;
  for (let i = 0; i < 100 && ok < 4; i++) {
    ok = (await fetch(`${stack.url}/readyz`)).status === 200 ? ok + 1 : 0;
    if (ok === 0) await new Promise((r) => setTimeout(r, 50));
  }
}
const stored = async (walletId: string) => (await stack.store.wallets.get(userId, walletId))!;
const guardItem = async (walletId: string) =>
  (await stack.aws.dynamo.send(new GetItemCommand({ TableName: stack.aws.guardTable, Key: { pk: { S: `wallet#${walletId}` } }, ConsistentRead: true }))).Item!;

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

test('a clear that fails leaves the right guess counted (the fifth: locked); a count that fails answers nothing', async () => {
  const walletId = await newWallet();
  for (let i = 0; i < 4; i++) expect((await sign(walletId, '000000')).body.error!.code).toBe('PIN_INVALID');
  // The right PIN, whose guess was counted before its answer existed; the write that clears the count fails.
  // The signature is answered (the clear runs on after it), and the guess stays counted: the fifth, so locked.
  const clearFailures = async (): Promise<number> => {
    const text = await (await fetch(`${stack.url}/metrics`)).text();
    return Number(/^enclave_phase_seconds_count\{phase="guard_clear_failed"\} (\d+)$/m.exec(text)?.[1] ?? 0);
  };
  const failuresBefore = await clearFailures();
  guard.rule = (op, body) => (op.endsWith('.UpdateItem') && body.includes('":zero"') ? 'down' : undefined);
  const res = await sign(walletId);
  expect(res.status).toBe(200);
  expect(res.body.signature).toMatch(/^0x[0-9a-f]{130}$/);
  for (let i = 0; i < 200 && (await clearFailures()) === failuresBefore; i++) await new Promise((r) => setTimeout(r, 20));
  expect(await clearFailures()).toBe(failuresBefore + 1);
  guard.rule = undefined;
  expect((await guardItem(walletId)).failed!.N).toBe('5');
  expect((await sign(walletId)).body.error!.code).toBe('PIN_LOCKED');
  // The count itself failing is different: no answer exists for a guess that is not counted.
  const other = await newWallet();
  guard.rule = (op, body) => (op.endsWith('.UpdateItem') && body.includes('":nf"') ? 'down' : undefined);
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
  // The guess the dead enclave counted stays counted until the next right PIN clears it.
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
  for (let i = 0; i < 100 && (await guardItem(walletId)).failed!.N !== '0'; i++) await new Promise((r) => setTimeout(r, 20)); // the clear in flight lands
  expect((await guardItem(walletId)).failed!.N).toBe('0');
  expect((await stored(walletId)).version).toBe(before.version);
  expect((await sign(walletId)).status).toBe(200);
}, 60_000);
