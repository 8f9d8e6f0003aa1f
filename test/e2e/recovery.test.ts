/**
 * Recovery through the HTTP API, as a user would go: create a wallet with a
 * recovery key, keep the code, lock the PIN with wrong guesses, reset it with
 * the code, sign with the new PIN; the old PIN and the old code fail; the
 * host's logs and tables never hold the code, and a host that swaps the key
 * gets a refusal.
 */
import { x25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { hashMessage, toHex } from 'viem';
import { verifyAttestationDocument } from '@enclave-wallet/client';
import { formatRecoveryCode, RECOVERY_CODE_INFO } from '@enclave-wallet/proto';
import { readDevRoot } from '../../devtools/src/nsm/index.js';
import { hpkeOpen } from '../support/hpke-reference.js';
import { sealEnvelope, type EnvelopeBody } from '../support/envelopes.js';
import { startStack, type Stack } from '../support/stack.js';

let stack: Stack;
let token: string;
let userId: string;
beforeAll(async () => {
  stack = await startStack();
  const idToken = await stack.issuer.sign({ email: 'recovery@example.com' });
  const login = (await (
    await fetch(`${stack.url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ idToken }) })
  ).json()) as { accessToken: string; user: { id: string } };
  token = login.accessToken;
  userId = login.user.id;
}, 60_000);
afterAll(async () => {
  await stack.close();
});

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> & { error?: { code: string } } }> {
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
function recoveryKeys(): { secret: Uint8Array; publicKey: string; digest: string } {
  const secret = x25519.utils.randomSecretKey();
  const raw = x25519.getPublicKey(secret);
  return { secret, publicKey: Buffer.from(raw).toString('base64'), digest: toHex(sha256(raw)) };
}
const codeFrom = (secret: Uint8Array, sealed: unknown): string =>
  formatRecoveryCode(hpkeOpen(secret, Buffer.from(String(sealed), 'base64'), RECOVERY_CODE_INFO));

test('create with a code, lock the PIN, reset it with the code, sign; the host never holds the code', async () => {
  const keys = recoveryKeys();
  const swapped = await api('POST', '/v1/wallets', {
    pinEnvelope: await envelope({ purpose: 'create-wallet', sub: userId, digest: keys.digest, pin: '493817' }),
    recoveryPublicKey: recoveryKeys().publicKey,
  });
  expect(swapped.body.error?.code).toBe('ENVELOPE_MISMATCH');
  const created = await api('POST', '/v1/wallets', {
    pinEnvelope: await envelope({ purpose: 'create-wallet', sub: userId, digest: keys.digest, pin: '493817' }),
    recoveryPublicKey: keys.publicKey,
  });
  expect(created.status).toBe(201);
  const code = codeFrom(keys.secret, created.body.encryptedRecoveryCode);
  const walletId = created.body.walletId as string;
  const address = (created.body.accounts as Array<{ network: string; address: string }>).find((a) => a.network === 'evm')!.address;
  const sign = async (pin: string) =>
    api('POST', `/v1/wallets/${walletId}/sign`, {
      network: 'evm',
      kind: 'message',
      message: 'hello',
      pinEnvelope: await envelope({ purpose: 'sign', sub: userId, walletId, network: 'evm', kind: 'evm-message', address, digest: hashMessage('hello'), pin }),
    });
  for (let i = 0; i < 5; i++) await sign(`20000${i}`);
  expect((await sign('493817')).body.error?.code).toBe('PIN_LOCKED');

  const next = recoveryKeys();
  const reset = async (typed: string) =>
    api('POST', `/v1/wallets/${walletId}/pin/reset`, {
      resetEnvelope: await envelope({ purpose: 'reset-pin', sub: userId, walletId, digest: next.digest, recoveryCode: typed, newPin: '270394' }),
      recoveryPublicKey: next.publicKey,
    });
  const typo = await reset(code.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')));
  expect([typo.status, typo.body.error?.code]).toEqual([422, 'RECOVERY_CODE_INVALID']);
  const done = await reset(code.toLowerCase());
  expect(done.status).toBe(200);
  const newCode = codeFrom(next.secret, done.body.encryptedRecoveryCode);
  expect((await sign('270394')).status).toBe(200);
  expect((await sign('493817')).body.error?.code).toBe('PIN_INVALID');
  expect((await reset(code)).body.error?.code).toBe('RECOVERY_CODE_WRONG');

  const factors = await api('GET', `/v1/wallets/${walletId}/factors`);
  expect((factors.body.factors as Array<{ kind: string }>).map((f) => f.kind)).toEqual(['pin', 'recovery-code']);

  // Neither code, in any form, in the host's logs or its table.
  const table = JSON.stringify(await stack.aws.dynamo.send(new ScanCommand({ TableName: 'enclave-wallet-test' })));
  for (const c of [code, newCode]) {
    for (const form of [c, c.replaceAll('-', ''), c.toLowerCase()]) {
      expect(stack.logLines.join('\n')).not.toContain(form);
      expect(table).not.toContain(form);
    }
  }
}, 120_000);
