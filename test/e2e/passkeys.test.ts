/**
 * Passkeys through the HTTP API (docs/passkeys.md), with a software authenticator: add one with the PIN, see it
 * in the factors, sign with it, reset a locked PIN with it, remove it; the error codes and statuses of a
 * registration without PRF, a refused assertion (with its reason) and a lock-out; the host's table never holds
 * a PRF output.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { hashMessage, toHex } from 'viem';
import { verifyAttestationDocument } from '@enclave-wallet/client';
import { readDevRoot } from '../../devtools/src/nsm/index.js';
import { freshBinding, SoftwareAuthenticator } from '../support/authenticator.js';
import { sealEnvelope, type EnvelopeBody } from '../support/envelopes.js';
import { startStack, type Stack } from '../support/stack.js';

let stack: Stack;
let token: string;
let userId: string;
beforeAll(async () => {
  stack = await startStack();
  const idToken = await stack.issuer.sign({ email: 'passkeys@example.com' });
  const login = (await (
    await fetch(`${stack.url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ idToken }) })
  ).json()) as { accessToken: string; user: { id: string } };
  token = login.accessToken;
  userId = login.user.id;
}, 60_000);
afterAll(async () => {
  await stack.close();
});

type Answer = { status: number; body: Record<string, unknown> & { error?: { code: string; reason?: string; attemptsLeft?: number; retryAfter?: number } } };
async function api(method: string, path: string, body?: unknown): Promise<Answer> {
  const res = await fetch(stack.url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
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

test('add a passkey, list it, sign with it, reset a locked PIN with it, remove it', async () => {
  const created = await api('POST', '/v1/wallets', { pinEnvelope: await envelope({ purpose: 'create-wallet', sub: userId, pin: '493817' }) });
  expect(created.status).toBe(201);
  const walletId = created.body.walletId as string;
  const address = (created.body.accounts as Array<{ network: string; address: string }>).find((a) => a.network === 'evm')!.address;
  const auth = new SoftwareAuthenticator();
  const credentialId = Buffer.from(auth.credentialId).toString('base64url');

  const add = async (o: { noPrf?: boolean; origin?: string } = {}) => {
    const binding = freshBinding({ purpose: 'add-passkey', sub: userId, walletId, digest: auth.registrationDigest });
    const r = auth.register(binding, o.origin ? { origin: o.origin } : {});
    return api('POST', `/v1/wallets/${walletId}/passkeys`, {
      pinEnvelope: await envelope({ ...binding, pin: '493817', passkey: r.passkey, ...(o.noPrf ? {} : { prf: r.prf }) }),
    });
  };
  const noPrf = await add({ noPrf: true });
  expect([noPrf.status, noPrf.body.error?.code]).toEqual([422, 'PASSKEY_PRF_UNSUPPORTED']);
  const foreign = await add({ origin: 'https://evil.example' });
  expect([foreign.status, foreign.body.error?.code, foreign.body.error?.reason]).toEqual([422, 'PASSKEY_INVALID', 'origin']);
  const added = await add();
  expect([added.status, added.body]).toEqual([201, { credentialId }]);
  const again = await add();
  expect([again.status, again.body.error?.code]).toEqual([409, 'PASSKEY_EXISTS']);

  const factors = await api('GET', `/v1/wallets/${walletId}/factors`);
  expect((factors.body.factors as Array<{ kind: string; credentialId?: string }>).map((f) => [f.kind, f.credentialId])).toEqual([
    ['pin', undefined],
    ['passkey', credentialId],
  ]);

  const sign = async (o: { uv?: boolean; pin?: string } = {}) => {
    const binding = freshBinding({ purpose: 'sign', sub: userId, walletId, network: 'evm', kind: 'evm-message', address, digest: hashMessage('hello') });
    const factor = o.pin ? { pin: o.pin } : (({ passkey, prf }) => ({ passkey, prf }))(auth.assert(binding, o.uv === false ? { uv: false } : {}));
    return api('POST', `/v1/wallets/${walletId}/sign`, {
      network: 'evm',
      kind: 'message',
      message: 'hello',
      pinEnvelope: await envelope({ ...binding, ...factor }),
    });
  };
  const signed = await sign();
  expect(signed.status).toBe(200);
  expect(signed.body.signature).toMatch(/^0x[0-9a-f]{130}$/);
  const unverified = await sign({ uv: false });
  expect([unverified.status, unverified.body.error]).toEqual([
    422,
    expect.objectContaining({ code: 'PASSKEY_INVALID', reason: 'user-verified', attemptsLeft: 4 }),
  ]);

  // Lock the PIN; reset it with the passkey (no recovery key: the code, if any, is kept).
  for (let i = 0; i < 5; i++) await sign({ pin: `20000${i}` });
  expect((await sign({ pin: '493817' })).body.error?.code).toBe('PIN_LOCKED');
  const resetBinding = freshBinding({ purpose: 'reset-pin', sub: userId, walletId });
  const a = auth.assert(resetBinding);
  const reset = await api('POST', `/v1/wallets/${walletId}/pin/reset`, {
    resetEnvelope: await envelope({ ...resetBinding, passkey: a.passkey, prf: a.prf, newPin: '270394' }),
  });
  expect([reset.status, reset.body]).toEqual([200, {}]);
  expect((await sign({ pin: '270394' })).status).toBe(200);

  const remove = async (id: string, pin = '270394') =>
    api('DELETE', `/v1/wallets/${walletId}/passkeys/${id}`, {
      pinEnvelope: await envelope({ purpose: 'remove-passkey', sub: userId, walletId, digest: toHex(sha256(Buffer.from(id, 'base64url'))), pin }),
    });
  expect((await remove('not base64url!')).body.error?.code).toBe('VALIDATION_FAILED');
  const bad = await remove('a');
  expect([bad.status, bad.body.error?.code]).toEqual([400, 'VALIDATION_FAILED']);
  const unknown = await remove(Buffer.from('unknown').toString('base64url'));
  expect([unknown.status, unknown.body.error?.code]).toEqual([409, 'FACTOR_NOT_FOUND']);
  expect((await remove(credentialId)).status).toBe(204);
  const gone = await sign();
  expect([gone.status, gone.body.error?.code]).toEqual([409, 'FACTOR_NOT_FOUND']);
  expect((await api('GET', `/v1/wallets/${walletId}/factors`)).body.factors).toEqual([expect.objectContaining({ kind: 'pin' })]);

  // The host stored envelopes nowhere: no PRF output in its tables.
  const prfText = auth.assert(resetBinding).prf;
  const scanned = JSON.stringify(await stack.aws.dynamo.send(new ScanCommand({ TableName: 'enclave-wallet-test' })));
  expect(scanned).not.toContain(prfText);
});
