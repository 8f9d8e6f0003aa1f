/**
 * The HTTP API end to end, with real clients: fetch for HTTP, envelopes sealed
 * by an independent HPKE implementation to the key of a verified attestation
 * document, signatures checked with viem, storage in dynalite, keys from the
 * local KMS through the enclave.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { x25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { hashMessage, hashTypedData, keccak256, recoverTransactionAddress, recoverTypedDataAddress, serializeTransaction, toHex, verifyMessage } from 'viem';
import { ed25519 } from '@noble/curves/ed25519.js';
import { base58 } from '@scure/base';
import { mnemonicToAccount } from 'viem/accounts';
import { verifyAttestationDocument } from '@enclave-wallet/client';
import { hpkeOpen } from '../support/hpke-reference.js';
import { RECOVERY_INFO, sealEnvelope, type EnvelopeBody } from '../support/envelopes.js';
import { startStack, type Stack } from '../support/stack.js';
import { readDevRoot } from '../../devtools/src/nsm/index.js';
import { MAIL_EXAMPLE } from '../support/eip712-mail.js';
import { parseUserId as uid, parseWalletId as wid } from '@enclave-wallet/proto/ids';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
}, 60_000);
afterAll(async () => {
  await stack.close();
});

interface Answer<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
}
async function api<T = Record<string, unknown>>(method: string, path: string, body?: unknown, token?: string, raw?: string): Promise<Answer<T>> {
  const res = await fetch(stack.url + path, {
    method,
    headers: { ...(body !== undefined || raw ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as T, headers: res.headers };
}
const errorCode = (a: Answer): string => (a.body as { error?: { code?: string } }).error?.code ?? `no error (${a.status})`;

async function login(email: string): Promise<{ accessToken: string; refreshToken: string; userId: string }> {
  const idToken = await stack.issuer.sign({ email });
  const res = await api<{ accessToken: string; refreshToken: string; user: { id: string } }>('POST', '/v1/auth/login', { idToken });
  expect(res.status).toBe(200);
  return { accessToken: res.body.accessToken, refreshToken: res.body.refreshToken, userId: res.body.user.id };
}

/** Fetches and verifies the attestation with a fresh nonce; returns the envelope key. */
async function enclaveKey(): Promise<Uint8Array> {
  const nonce = Buffer.from(sha256(new TextEncoder().encode(String(Math.random())))).toString('hex');
  const res = await api<{ document: string; publicKey: string }>('GET', `/v1/enclave/attestation?nonce=${nonce}`);
  expect(res.status).toBe(200);
  const doc = verifyAttestationDocument(Buffer.from(res.body.document, 'base64'), { root: readDevRoot(stack.caDir), expectedNonce: Buffer.from(nonce, 'hex') });
  expect(Buffer.from(doc.publicKey!).toString('base64')).toBe(res.body.publicKey);
  return doc.publicKey!;
}
const envelope = async (body: EnvelopeBody): Promise<string> => Buffer.from(sealEnvelope(await enclaveKey(), body)).toString('base64');

describe('auth', () => {
  test('login gives session tokens and the same user id for the same login', async () => {
    // Session tokens are for the caller only: no cache may keep the answer, and there is no ETag to revalidate.
    const answer = await api('POST', '/v1/auth/login', { idToken: await stack.issuer.sign({ email: 'alice@example.com' }) });
    expect([answer.status, answer.headers.get('cache-control'), answer.headers.get('etag')]).toEqual([200, 'no-store', null]);
    const a = await login('alice@example.com');
    const b = await login('alice@example.com');
    expect(a.userId).toBe(b.userId);
    expect(a.userId).not.toBe((await login('bob@example.com')).userId);
  });

  test('ID tokens from untrusted issuers, for another audience, expired or tampered are refused', async () => {
    expect(errorCode(await api('POST', '/v1/auth/login', { idToken: await stack.issuer.sign({ email: 'a@b.c', iss: 'https://evil.example.com' }) }))).toBe(
      'TOKEN_INVALID',
    );
    expect(errorCode(await api('POST', '/v1/auth/login', { idToken: await stack.issuer.sign({ email: 'a@b.c', aud: 'someone-else' }) }))).toBe('TOKEN_INVALID');
    expect(errorCode(await api('POST', '/v1/auth/login', { idToken: await stack.issuer.sign({ email: 'a@b.c', expiresIn: -600 }) }))).toBe('TOKEN_EXPIRED');
    const token = await stack.issuer.sign({ email: 'a@b.c' });
    expect(errorCode(await api('POST', '/v1/auth/login', { idToken: token.slice(0, -4) + (token.endsWith('AAAA') ? 'BBBB' : 'AAAA') }))).toBe('TOKEN_INVALID');
    expect((await api('POST', '/v1/auth/login', { idToken: 'x' })).status).toBe(401);
  });

  test('refresh tokens rotate; reusing one revokes the session', async () => {
    const first = await login('carol@example.com');
    const r1 = await api<{ refreshToken: string; accessToken: string }>('POST', '/v1/auth/refresh', { refreshToken: first.refreshToken });
    expect(r1.status).toBe(200);
    expect(r1.body.refreshToken).not.toBe(first.refreshToken);
    expect(errorCode(await api('POST', '/v1/auth/refresh', { refreshToken: first.refreshToken }))).toBe('TOKEN_REVOKED');
    // The rotated token belongs to the revoked family now, and so do its access tokens.
    expect(errorCode(await api('POST', '/v1/auth/refresh', { refreshToken: r1.body.refreshToken }))).toBe('TOKEN_REVOKED');
    expect(errorCode(await api('GET', '/v1/wallets', undefined, r1.body.accessToken))).toBe('TOKEN_REVOKED');
  });

  test('a refresh whose answer was lost, tried again (its attempt id, the next try): the session goes on, the lost token is dead', async () => {
    const first = await login('dave@example.com');
    const attempt = { id: 'AAECAwQFBgcICQoLDA0ODw', n: 1 };
    const lost = await api<{ refreshToken: string }>('POST', '/v1/auth/refresh', { refreshToken: first.refreshToken, attempt });
    expect(lost.status).toBe(200);
    const again = await api<{ refreshToken: string; accessToken: string }>('POST', '/v1/auth/refresh', {
      refreshToken: first.refreshToken,
      attempt: { ...attempt, n: 2 },
    });
    expect(again.status).toBe(200);
    expect(again.body.refreshToken).not.toBe(lost.body.refreshToken);
    expect((await api('GET', '/v1/wallets', undefined, again.body.accessToken)).status).toBe(200);
    // The first try again, arriving late: refused, nothing changed.
    expect(errorCode(await api('POST', '/v1/auth/refresh', { refreshToken: first.refreshToken, attempt }))).toBe('TOKEN_INVALID');
    const next = await api<{ refreshToken: string }>('POST', '/v1/auth/refresh', { refreshToken: again.body.refreshToken });
    expect(next.status).toBe(200);
    // The token of the lost answer, if it turns up (a copy someone kept): the session ends.
    expect(errorCode(await api('POST', '/v1/auth/refresh', { refreshToken: lost.body.refreshToken }))).toBe('TOKEN_REVOKED');
    expect(errorCode(await api('POST', '/v1/auth/refresh', { refreshToken: next.body.refreshToken }))).toBe('TOKEN_REVOKED');
    // An attempt the host cannot take: refused in words before anything is used.
    const later = await login('dave@example.com');
    const bad = await api('POST', '/v1/auth/refresh', { refreshToken: later.refreshToken, attempt: { id: 'short', n: 1 } });
    expect(errorCode(bad)).toBe('VALIDATION_FAILED');
    expect((await api('POST', '/v1/auth/refresh', { refreshToken: later.refreshToken })).status).toBe(200);
  });

  test('wallet routes need a valid bearer token', async () => {
    expect(errorCode(await api('GET', '/v1/wallets'))).toBe('UNAUTHENTICATED');
    expect(errorCode(await api('GET', '/v1/wallets', undefined, 'not.a.token'))).toBe('TOKEN_INVALID');
  });
});

describe('a wallet through the API', () => {
  let alice: Awaited<ReturnType<typeof login>>;
  let walletId: string;
  let evm: string;
  /** Alice signs `message` (EIP-191) with her wallet's EVM account and `pin`. */
  const signMessage = async <T = Record<string, unknown>>(message: string, pin: string) =>
    api<T>(
      'POST',
      `/v1/wallets/${walletId}/sign`,
      {
        network: 'evm',
        kind: 'message',
        message,
        pinEnvelope: await envelope({
          purpose: 'sign',
          sub: alice.userId,
          walletId,
          network: 'evm',
          kind: 'evm-message',
          address: evm,
          digest: hashMessage(message),
          pin,
        }),
      },
      alice.accessToken,
    );
  beforeAll(async () => {
    alice = await login('alice@example.com');
  });

  test('create, list, get', async () => {
    const created = await api<{ walletId: string; accounts: Array<{ network: string; address: string }>; createdAt: string }>(
      'POST',
      '/v1/wallets',
      { pinEnvelope: await envelope({ purpose: 'create-wallet', sub: alice.userId, pin: '493817' }) },
      alice.accessToken,
    );
    expect(created.status).toBe(201);
    walletId = created.body.walletId;
    evm = created.body.accounts.find((a) => a.network === 'evm')!.address;
    expect(created.body.accounts.map((a) => a.network)).toEqual(['evm', 'solana', 'bitcoin']);
    const list = await api<{ wallets: Array<{ walletId: string }> }>('GET', '/v1/wallets', undefined, alice.accessToken);
    expect(list.body.wallets.map((w) => w.walletId)).toContain(walletId);
    expect((await api('GET', `/v1/wallets/${walletId}`, undefined, alice.accessToken)).status).toBe(200);
    // The stored item holds an opaque blob, never a mnemonic or key.
    const stored = await stack.store.wallets.get(uid(alice.userId), wid(walletId));
    expect(stored!.version).toBe(1);
  });

  test('another user cannot see or use the wallet', async () => {
    const bob = await login('bob@example.com');
    expect(errorCode(await api('GET', `/v1/wallets/${walletId}`, undefined, bob.accessToken))).toBe('WALLET_NOT_FOUND');
    expect(
      errorCode(
        await api(
          'POST',
          `/v1/wallets/${walletId}/sign`,
          {
            network: 'evm',
            kind: 'message',
            message: 'x',
            pinEnvelope: await envelope({
              purpose: 'sign',
              sub: bob.userId,
              walletId,
              network: 'evm',
              kind: 'evm-message',
              address: evm,
              digest: hashMessage('x'),
              pin: '493817',
            }),
          },
          bob.accessToken,
        ),
      ),
    ).toBe('WALLET_NOT_FOUND');
  });

  test('sign a message and an EIP-1559 transaction; viem verifies both', async () => {
    const msg = await signMessage<{ signature: `0x${string}` }>('hi', '493817');
    expect(msg.status).toBe(200);
    expect(await verifyMessage({ address: evm as `0x${string}`, message: 'hi', signature: msg.body.signature })).toBe(true);
    const tx = {
      type: 'eip1559' as const,
      to: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' as const,
      value: '1000',
      nonce: '0',
      gas: '21000',
      maxFeePerGas: '2000000000',
      maxPriorityFeePerGas: '1000000000',
    };
    const digest = keccak256(
      serializeTransaction({
        type: 'eip1559',
        chainId: 31337,
        to: tx.to,
        value: 1000n,
        nonce: 0,
        gas: 21000n,
        maxFeePerGas: 2000000000n,
        maxPriorityFeePerGas: 1000000000n,
      }),
    );
    const signed = await api<{ signedTransaction: `0x${string}`; hash: string }>(
      'POST',
      `/v1/wallets/${walletId}/sign`,
      {
        network: 'evm',
        kind: 'transaction',
        chainId: 31337,
        transaction: tx,
        pinEnvelope: await envelope({
          purpose: 'sign',
          sub: alice.userId,
          walletId,
          network: 'evm',
          kind: 'evm-transaction',
          address: evm,
          digest,
          pin: '493817',
        }),
      },
      alice.accessToken,
    );
    expect(signed.status).toBe(200);
    expect(await recoverTransactionAddress({ serializedTransaction: signed.body.signedTransaction as never })).toBe(evm);
    expect(signed.body.hash).toBe(keccak256(signed.body.signedTransaction));
  });

  test('sign EIP-712 typed data and a Solana message through the API', async () => {
    const typedData = MAIL_EXAMPLE;
    const typed = await api<{ signature: `0x${string}` }>(
      'POST',
      `/v1/wallets/${walletId}/sign`,
      {
        network: 'evm',
        kind: 'typed-data',
        typedData,
        pinEnvelope: await envelope({
          purpose: 'sign',
          sub: alice.userId,
          walletId,
          network: 'evm',
          kind: 'evm-typed-data',
          address: evm,
          digest: hashTypedData(typedData),
          pin: '493817',
        }),
      },
      alice.accessToken,
    );
    expect(typed.status).toBe(200);
    expect(await recoverTypedDataAddress({ ...typedData, signature: typed.body.signature })).toBe(evm);
    const wallet = await api<{ accounts: Array<{ network: string; address: string }> }>('GET', `/v1/wallets/${walletId}`, undefined, alice.accessToken);
    const solana = wallet.body.accounts.find((a) => a.network === 'solana')!.address;
    const message = new TextEncoder().encode('Sign in to Example');
    const sol = await api<{ signature: string }>(
      'POST',
      `/v1/wallets/${walletId}/sign`,
      {
        network: 'solana',
        kind: 'message',
        message: Buffer.from(message).toString('base64'),
        pinEnvelope: await envelope({
          purpose: 'sign',
          sub: alice.userId,
          walletId,
          network: 'solana',
          kind: 'solana-message',
          address: solana,
          digest: toHex(sha256(message)),
          pin: '493817',
        }),
      },
      alice.accessToken,
    );
    expect(sol.status).toBe(200);
    expect(ed25519.verify(base58.decode(sol.body.signature), message, base58.decode(solana))).toBe(true);
  });

  test('a wrong PIN is 422 with attempts left, counted in the enclave’s guard table; the stored blob is untouched', async () => {
    const before = (await stack.store.wallets.get(uid(alice.userId), wid(walletId)))!;
    const res = await signMessage('x', '000000');
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ error: { code: 'PIN_INVALID', attemptsLeft: 4 } });
    const after = (await stack.store.wallets.get(uid(alice.userId), wid(walletId)))!;
    expect(after.version).toBe(before.version);
    expect(Buffer.from(after.sealedBlob).equals(Buffer.from(before.sealedBlob))).toBe(true);
    const guard = await stack.aws.dynamo.send(
      new GetItemCommand({ TableName: stack.aws.guardTable, Key: { pk: { S: `wallet#${walletId}` } }, ConsistentRead: true }),
    );
    expect(Object.values(guard.Item?.guesses?.M ?? {}).map((g) => g.S!.slice(0, 2))).toEqual(['f:']);
  });

  test('mismatched, replayed and expired envelopes are 422 with their codes', async () => {
    const body = (e: string) => ({ network: 'evm', kind: 'message', message: 'x', pinEnvelope: e });
    expect(
      errorCode(
        await api(
          'POST',
          `/v1/wallets/${walletId}/sign`,
          body(
            await envelope({
              purpose: 'sign',
              sub: alice.userId,
              walletId,
              network: 'evm',
              kind: 'evm-message',
              address: evm,
              digest: hashMessage('y'),
              pin: '493817',
            }),
          ),
          alice.accessToken,
        ),
      ),
    ).toBe('ENVELOPE_MISMATCH');
    const once = await envelope({
      purpose: 'sign',
      sub: alice.userId,
      walletId,
      network: 'evm',
      kind: 'evm-message',
      address: evm,
      digest: hashMessage('x'),
      pin: '493817',
    });
    expect((await api('POST', `/v1/wallets/${walletId}/sign`, body(once), alice.accessToken)).status).toBe(200);
    expect(errorCode(await api('POST', `/v1/wallets/${walletId}/sign`, body(once), alice.accessToken))).toBe('ENVELOPE_REPLAYED');
    expect(
      errorCode(
        await api(
          'POST',
          `/v1/wallets/${walletId}/sign`,
          body(
            await envelope({
              purpose: 'sign',
              sub: alice.userId,
              walletId,
              network: 'evm',
              kind: 'evm-message',
              address: evm,
              digest: hashMessage('x'),
              pin: '493817',
              exp: 1,
            }),
          ),
          alice.accessToken,
        ),
      ),
    ).toBe('ENVELOPE_EXPIRED');
  });

  test('export matches MetaMask’s derivation; derive account 1; change PIN', async () => {
    const clientKey = x25519.utils.randomSecretKey();
    const recipient = x25519.getPublicKey(clientKey);
    const out = await api<{ encryptedRecoveryPhrase: string }>(
      'POST',
      `/v1/wallets/${walletId}/export`,
      {
        recipientPublicKey: Buffer.from(recipient).toString('base64'),
        pinEnvelope: await envelope({ purpose: 'export', sub: alice.userId, walletId, digest: toHex(sha256(recipient)), pin: '493817' }),
      },
      alice.accessToken,
    );
    expect(out.status).toBe(200);
    const { mnemonic } = JSON.parse(new TextDecoder().decode(hpkeOpen(clientKey, Buffer.from(out.body.encryptedRecoveryPhrase, 'base64'), RECOVERY_INFO))) as {
      mnemonic: string;
    };
    expect(mnemonicToAccount(mnemonic).address).toBe(evm);
    const acct = await api<{ address: string; index: number }>(
      'POST',
      `/v1/wallets/${walletId}/accounts`,
      { network: 'evm', index: 1, pinEnvelope: await envelope({ purpose: 'derive-account', sub: alice.userId, walletId, pin: '493817' }) },
      alice.accessToken,
    );
    expect(acct.status).toBe(201);
    expect(acct.body.address).toBe(mnemonicToAccount(mnemonic, { addressIndex: 1 }).address);
    expect(
      errorCode(
        await api(
          'POST',
          `/v1/wallets/${walletId}/accounts`,
          { network: 'evm', index: 1, pinEnvelope: await envelope({ purpose: 'derive-account', sub: alice.userId, walletId, pin: '493817' }) },
          alice.accessToken,
        ),
      ),
    ).toBe('ACCOUNT_EXISTS');
    const oldRecord = (await stack.store.wallets.get(uid(alice.userId), wid(walletId)))!;
    expect(
      (
        await api(
          'POST',
          `/v1/wallets/${walletId}/pin`,
          { pinEnvelope: await envelope({ purpose: 'change-pin', sub: alice.userId, walletId, pin: '493817', newPin: '270394' }) },
          alice.accessToken,
        )
      ).status,
    ).toBe(204);
    const newRecord = (await stack.store.wallets.get(uid(alice.userId), wid(walletId)))!;
    expect(errorCode(await signMessage('x', '493817'))).toBe('PIN_INVALID');
    // A hostile operator puts the blob sealed under the old PIN back into storage: the old PIN still fails…
    await stack.store.wallets.update(newRecord, oldRecord.sealedBlob);
    expect(errorCode(await signMessage('x', '493817'))).toBe('PIN_INVALID');
    // …the new one works, and the host's copy is healed with the current blob from the enclave.
    expect((await signMessage('x', '270394')).status).toBe(200);
    expect(Buffer.from((await stack.store.wallets.get(uid(alice.userId), wid(walletId)))!.sealedBlob).equals(Buffer.from(newRecord.sealedBlob))).toBe(true);
  });

  test('import gives MetaMask’s and Phantom’s addresses', async () => {
    const mnemonic = 'test test test test test test test test test test test junk';
    const res = await api<{ accounts: Array<{ address: string }> }>(
      'POST',
      '/v1/wallets/import',
      { recoveryEnvelope: await envelope({ purpose: 'import', sub: alice.userId, pin: '493817', mnemonic }) },
      alice.accessToken,
    );
    expect(res.status).toBe(201);
    expect(res.body.accounts[0]!.address).toBe('0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266');
  });

  test('lock-out after five wrong PINs: 403 PIN_LOCKED with retryAfter', async () => {
    let last: Answer | undefined;
    for (let i = 0; i < 6; i++) {
      last = await signMessage('x', '000000');
    }
    expect(last!.status).toBe(403);
    expect(last!.body).toMatchObject({ error: { code: 'PIN_LOCKED' } });
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('bad input', () => {
  let token: string;
  beforeAll(async () => {
    token = (await login('dave@example.com')).accessToken;
  });
  test.each([
    ['not JSON', '/v1/wallets', '{', 'VALIDATION_FAILED'],
    ['missing field', '/v1/wallets', '{}', 'VALIDATION_FAILED'],
    ['extra field', '/v1/wallets', '{"pinEnvelope":"AAAA","x":1}', 'VALIDATION_FAILED'],
    ['bad base64', '/v1/wallets', '{"pinEnvelope":"***"}', 'VALIDATION_FAILED'],
    ['garbage envelope', '/v1/wallets', '{"pinEnvelope":"AAAA"}', 'ENVELOPE_INVALID'],
  ])('%s → %s', async (_what, path, raw, code) => {
    const res = await api('POST', path, undefined, token, raw);
    expect(errorCode(res)).toBe(code);
    expect((res.body as { error: { requestId: string } }).error.requestId).toBe(res.headers.get('x-request-id'));
  });
  test('an empty body, a body without content-type: application/json, or one that is not an object: the answer says what is expected', async () => {
    const send = async (path: string, init: { headers?: Record<string, string>; body?: string }, auth = true) => {
      const res = await fetch(stack.url + path, {
        method: 'POST',
        headers: { ...init.headers, ...(auth ? { authorization: `Bearer ${token}` } : {}) },
        body: init.body,
      });
      return ((await res.json()) as { error: { code: string; message: string } }).error;
    };
    const json = { 'content-type': 'application/json' };
    // Login: nothing at all, an empty JSON body, the right JSON sent as text or with no type, a JSON array.
    expect(await send('/v1/auth/login', {}, false)).toMatchObject({
      code: 'VALIDATION_FAILED',
      message: expect.stringMatching(/expected a JSON object with idToken\b/),
    });
    expect(await send('/v1/auth/login', { headers: json, body: '' }, false)).toMatchObject({
      code: 'VALIDATION_FAILED',
      message: expect.stringMatching(/^the body is empty: expected a JSON object with idToken \(content-type: application\/json\)$/),
    });
    expect(await send('/v1/auth/login', { headers: { 'content-type': 'text/plain' }, body: '{"idToken":"x"}' }, false)).toMatchObject({
      code: 'VALIDATION_FAILED',
      message: 'send content-type: application/json (not text/plain); expected a JSON object with idToken',
    });
    // fetch labels a string body text/plain; a Uint8Array goes with no content-type at all.
    expect(await send('/v1/auth/login', { body: new TextEncoder().encode('{"idToken":"x"}') as unknown as string }, false)).toMatchObject({
      message: 'send content-type: application/json (none was sent); expected a JSON object with idToken',
    });
    expect(await send('/v1/auth/login', { headers: json, body: '[]' }, false)).toMatchObject({ message: 'body: expected a JSON object with idToken' });
    expect(await send('/v1/auth/refresh', { headers: json }, false)).toMatchObject({ message: expect.stringMatching(/with refreshToken\b/) });
    // Authenticated routes, one body and a union of bodies (optional fields marked).
    expect(await send('/v1/wallets', {})).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringMatching(/with pinEnvelope\b/) });
    expect(await send('/v1/wallets/w-1/accounts', { body: '{}' })).toMatchObject({ message: expect.stringMatching(/^send content-type: application\/json/) });
    const sign = await send('/v1/wallets/w-1/sign', { headers: json });
    expect(sign.message).toMatch(/expected a JSON object with network, address\?, kind, chainId\?, transaction\?, pinEnvelope, message\?, typedData\?/);
  });
  test('each call has its own body limit: 32 KiB for an envelope, 1 MiB for a signature request; over it 413, the connection closed', async () => {
    const res = await api('POST', '/v1/wallets', undefined, token, JSON.stringify({ pinEnvelope: 'A'.repeat(32 * 1024) }));
    expect(res.status).toBe(413);
    expect(errorCode(res)).toBe('PAYLOAD_TOO_LARGE');
    expect(res.headers.get('connection')).toBe('close');
    const sign = await api(
      'POST',
      '/v1/wallets/w-1/sign',
      undefined,
      token,
      JSON.stringify({ network: 'evm', kind: 'message', message: 'A'.repeat(1024 * 1024) }),
    );
    expect(errorCode(sign)).toBe('PAYLOAD_TOO_LARGE');
    // Under the limit, the body is read: a wallet that does not exist.
    const small = await api(
      'POST',
      '/v1/wallets/w-1/sign',
      undefined,
      token,
      JSON.stringify({ network: 'evm', kind: 'message', message: 'A'.repeat(512 * 1024), pinEnvelope: 'AAAA' }),
    );
    expect(errorCode(small)).toBe('WALLET_NOT_FOUND');
  });
  test('a body is not read before authentication: a request without a valid token is 401 at once, and its connection closed', async () => {
    const res = await api('POST', '/v1/wallets', undefined, 'not-a-token', JSON.stringify({ pinEnvelope: 'A'.repeat(16 * 1024) }));
    expect(errorCode(res)).toBe('TOKEN_INVALID');
    expect(res.headers.get('connection')).toBe('close');
  });
  test('a path the API does not have is 404 NOT_FOUND, and says where the API and its description are', async () => {
    for (const path of ['/', '/wallets', '/v2/wallets']) {
      const res = await api('GET', path);
      expect([path, res.status, errorCode(res)]).toEqual([path, 404, 'NOT_FOUND']);
      expect((res.body as { error: { message: string } }).error.message).toBe('no such route: the API is under /v1, described at /docs and /openapi.json');
    }
    expect((await fetch(`${stack.url}/docs`)).status).toBe(200);
    expect((await fetch(`${stack.url}/openapi.json`)).status).toBe(200);
  });
  test('an attestation nonce over 64 bytes is 400 NONCE_INVALID', async () => {
    expect(errorCode(await api('GET', `/v1/enclave/attestation?nonce=${'ab'.repeat(65)}`))).toBe('NONCE_INVALID');
  });
});

test('while the enclave is away the API answers 503 ENCLAVE_UNAVAILABLE and recovers by itself; wallets sealed before still work', async () => {
  const erin = await login('erin@example.com');
  const created = await api<{ walletId: string; accounts: Array<{ network: string; address: `0x${string}` }> }>(
    'POST',
    '/v1/wallets',
    { pinEnvelope: await envelope({ purpose: 'create-wallet', sub: erin.userId, pin: '493817' }) },
    erin.accessToken,
  );
  await stack.stopEnclave();
  expect(errorCode(await api('GET', '/v1/enclave/attestation'))).toBe('ENCLAVE_UNAVAILABLE');
  expect((await api('GET', '/readyz')).status).toBe(503);
  await stack.restartEnclave();
  let status = 0;
  for (let i = 0; i < 40 && status !== 200; i++) {
    await new Promise((r) => setTimeout(r, 25));
    status = (await api('GET', '/readyz')).status;
  }
  expect(status).toBe(200);
  // A new enclave process (new keys in memory) opens the wallet sealed by the old one.
  const walletId = created.body.walletId;
  const signed = await api<{ signature: `0x${string}` }>(
    'POST',
    `/v1/wallets/${walletId}/sign`,
    {
      network: 'evm',
      kind: 'message',
      message: 'still here',
      pinEnvelope: await envelope({
        purpose: 'sign',
        sub: erin.userId,
        walletId,
        network: 'evm',
        kind: 'evm-message',
        address: created.body.accounts[0]!.address,
        digest: hashMessage('still here'),
        pin: '493817',
      }),
    },
    erin.accessToken,
  );
  expect(signed.status).toBe(200);
  expect(await verifyMessage({ address: created.body.accounts[0]!.address, message: 'still here', signature: signed.body.signature })).toBe(true);
  // What storage holds is opaque: no PIN, no mnemonic words, just the public accounts.
  const item = await stack.store.wallets.get(uid(erin.userId), wid(walletId));
  expect(Buffer.from(item!.sealedBlob).includes(Buffer.from('493817'))).toBe(false);
});

test('docs, OpenAPI and metrics are served; logs hold no tokens or envelopes', async () => {
  const spec = await api<{ openapi: string; paths: Record<string, unknown> }>('GET', '/openapi.json');
  expect(spec.body.openapi).toBe('3.1.0');
  expect(Object.keys(spec.body.paths)).toContain('/v1/wallets/{walletId}/sign');
  expect((await fetch(stack.url + '/docs')).headers.get('content-type')).toMatch(/html/);
  const text = await (await fetch(stack.url + '/metrics')).text();
  expect(text).toMatch(/http_requests_total/);
  // The enclave's numbers: its build (PCR0), its PIN-stretch queue and its KMS calls.
  expect(text).toMatch(/^enclave_up 1$/m);
  expect(text).toMatch(/^build_info\{enclave_version="0\.1\.0",mode="simulated",pcr0="[0-9a-f]{96}"\} 1$/m);
  expect(text).toMatch(/^enclave_stretch_queue_waiting \d+$/m);
  expect(Number(/^enclave_kms_calls_total (\d+)$/m.exec(text)?.[1])).toBeGreaterThan(0);
  expect(Number(/^enclave_kms_call_seconds_sum ([\d.]+)$/m.exec(text)?.[1])).toBeGreaterThan(0);
  // Where the time went (the benchmark's breakdown): signatures made earlier in this file stretched PINs and signed.
  const phase = (side: string, name: string, what: 'sum' | 'count'): number =>
    Number(new RegExp(`^${side}_phase_seconds_${what}\\{phase="${name}"\\} ([\\d.e+-]+)$`, 'm').exec(text)?.[1] ?? NaN);
  for (const name of ['envelope', 'guard_count', 'kms', 'stretch', 'seed', 'sign', 'guard_clear']) {
    expect(phase('enclave', name, 'count')).toBeGreaterThan(0);
    expect(phase('enclave', name, 'sum')).toBeGreaterThan(0);
  }
  expect(phase('enclave', 'stretch', 'sum') / phase('enclave', 'stretch', 'count')).toBeGreaterThan(0.005); // an Argon2id takes milliseconds
  for (const name of ['auth', 'storage_read', 'enclave']) expect(phase('host', name, 'count')).toBeGreaterThan(0);
  // Host and enclave alike: no JWT, envelope, token or PIN in any line.
  for (const logs of [stack.logLines.join('\n'), stack.enclaveLogLines.join('\n')]) {
    expect(logs.length).toBeGreaterThan(0);
    expect(logs).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/); // no JWTs
    expect(logs).not.toMatch(/pinEnvelope|idToken|refreshToken|493817|270394/);
  }
});

test('one log format across host and enclave, and a request followed from one to the other by its id', async () => {
  const parse = (lines: string[]) => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  const host = parse(stack.logLines);
  const enclave = parse(stack.enclaveLogLines);
  for (const line of [...host, ...enclave]) {
    expect(line.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(['debug', 'info', 'warn', 'error']).toContain(line.level);
    expect(['host', 'enclave']).toContain(line.component);
    expect(typeof (line.msg ?? line.event)).toBe('string');
  }
  // A signature refused for a wrong PIN: the host's line and the enclave's (warn, with its code) carry the same id.
  const refused = host.filter((l) => l.route === '/v1/wallets/:walletId/sign' && l.code === 'PIN_INVALID');
  expect(refused.length).toBeGreaterThan(0);
  const id = refused[refused.length - 1]!.requestId as string;
  expect(enclave.filter((l) => l.requestId === id).map((l) => [l.level, l.operation, l.code])).toEqual([['warn', 'sign', 'PIN_INVALID']]);
  // One that succeeded is the host's line alone at info (the enclave's is at debug).
  const signed = host.filter((l) => l.route === '/v1/wallets/:walletId/sign' && l.status === 200);
  expect(signed.length).toBeGreaterThan(0);
  expect(enclave.filter((l) => signed.some((s) => s.requestId === l.requestId))).toEqual([]);
});

test('rate limits answer 429 RATE_LIMITED with Retry-After', async () => {
  const limited = await startStack({ rateLimits: true });
  try {
    const idToken = await limited.issuer.sign({ email: 'flood@example.com' });
    let last: Response | undefined;
    for (let i = 0; i < 31; i++)
      last = await fetch(`${limited.url}/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ idToken }),
      });
    expect(last!.status).toBe(429);
    expect(((await last!.json()) as { error: { code: string } }).error.code).toBe('RATE_LIMITED');
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);
  } finally {
    await limited.close();
  }
}, 60_000);
