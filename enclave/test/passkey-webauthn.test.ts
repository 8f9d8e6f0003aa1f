/** The WebAuthn assertion checks of the enclave (passkey/webauthn.ts), one module, against a software authenticator. */
import { constants, createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { passkeyChallenge, fromBase64Url } from '@enclave-wallet/proto/passkey';
import { checkAssertion, importPasskeyKey, passkeyKeys, PasskeyRefusal, type Assertion } from '../src/passkey/webauthn.js';
import { decodePasskeyParams, encodePasskeyParams } from '../src/passkey/slot-params.js';
import { freshBinding, LOCAL_ORIGIN, LOCAL_RP_ID, SoftwareAuthenticator, type AssertOptions } from '../../test/support/authenticator.js';

const binding = freshBinding({
  purpose: 'sign',
  sub: 'u1',
  walletId: 'w1',
  network: 'evm',
  address: '0xabc',
  kind: 'evm-message',
  digest: '0x' + '11'.repeat(32),
});

function decoded(a: ReturnType<SoftwareAuthenticator['assert']>): Assertion {
  return {
    credentialId: fromBase64Url(a.passkey.credentialId),
    authenticatorData: fromBase64Url(a.passkey.authenticatorData),
    clientDataJSON: fromBase64Url(a.passkey.clientDataJSON),
    signature: fromBase64Url(a.passkey.signature),
  };
}

function check(auth: SoftwareAuthenticator, o: AssertOptions = {}, origins = [LOCAL_ORIGIN]): { signCount: number } {
  return checkAssertion(decoded(auth.assert(binding, o)), {
    challenge: passkeyChallenge(binding),
    rpId: LOCAL_RP_ID,
    origins,
    algorithm: auth.algorithm,
    publicKey: auth.publicKey,
  });
}

function reasonOf(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    if (err instanceof PasskeyRefusal) return err.reason;
    throw err;
  }
  return 'accepted';
}

test.each([-7, -8, -257] as const)('a right assertion (COSE alg %d) passes and gives its counter', (algorithm) => {
  const auth = new SoftwareAuthenticator({ algorithm });
  expect(check(auth)).toEqual({ signCount: 1 });
  expect(check(auth)).toEqual({ signCount: 2 });
  expect(check(new SoftwareAuthenticator({ algorithm, counting: false }))).toEqual({ signCount: 0 });
});

test('each check refuses with its own reason', () => {
  const auth = new SoftwareAuthenticator();
  expect(reasonOf(() => check(auth, { type: 'webauthn.create' }))).toBe('type');
  expect(reasonOf(() => check(auth, { challenge: new Uint8Array(32) }))).toBe('challenge');
  expect(reasonOf(() => check(auth, { origin: 'https://evil.example' }))).toBe('origin');
  expect(reasonOf(() => check(auth, { origin: 'http://localhost:8081' }))).toBe('origin');
  expect(reasonOf(() => check(auth, { rpId: 'example.com' }))).toBe('rp-id');
  expect(reasonOf(() => check(auth, { up: false }))).toBe('user-present');
  expect(reasonOf(() => check(auth, { uv: false }))).toBe('user-verified');
  expect(reasonOf(() => check(auth, { signWith: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey }))).toBe('signature');
  expect(reasonOf(() => check(auth, {}, ['https://wallet.example']))).toBe('origin');
  // Made in a frame: crossOrigin true (or anything but false), or a topOrigin of another site.
  expect(reasonOf(() => check(auth, { clientData: { crossOrigin: true } }))).toBe('origin');
  expect(reasonOf(() => check(auth, { clientData: { crossOrigin: 'true' } }))).toBe('origin');
  expect(reasonOf(() => check(auth, { clientData: { topOrigin: 'https://evil.example' } }))).toBe('origin');
  expect(check(auth, { clientData: { crossOrigin: undefined } })).toEqual({ signCount: expect.any(Number) });
});

test('a tampered authenticator data or client data breaks the signature or the parse', () => {
  const auth = new SoftwareAuthenticator();
  const a = decoded(auth.assert(binding));
  const expectation = {
    challenge: passkeyChallenge(binding),
    rpId: LOCAL_RP_ID,
    origins: [LOCAL_ORIGIN],
    algorithm: auth.algorithm,
    publicKey: auth.publicKey,
  };
  const data = Uint8Array.from(a.authenticatorData);
  data[36] = data[36]! ^ 1; // the counter, after signing
  expect(reasonOf(() => checkAssertion({ ...a, authenticatorData: data }, expectation))).toBe('signature');
  expect(reasonOf(() => checkAssertion({ ...a, authenticatorData: data.subarray(0, 36) }, expectation))).toBe('rp-id');
  expect(reasonOf(() => checkAssertion({ ...a, clientDataJSON: new TextEncoder().encode('[1]') }, expectation))).toBe('type');
  expect(reasonOf(() => checkAssertion({ ...a, signature: new Uint8Array(0) }, expectation))).toBe('signature');
});

test('keys must be of the algorithm named: P-256 for ES256, Ed25519 for EdDSA, RSA of 2048 to 4096 bits with e = 65537 for RS256', () => {
  const spki = (k: KeyObject): Uint8Array => new Uint8Array(k.export({ format: 'der', type: 'spki' }));
  const p256 = spki(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey);
  const p384 = spki(generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey);
  const ed = spki(generateKeyPairSync('ed25519').publicKey);
  const rsa1024 = spki(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey);
  const rsa2048 = spki(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey);
  const rsa4096 = spki(generateKeyPairSync('rsa', { modulusLength: 4096 }).publicKey);
  const rsaE3 = spki(generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 3 }).publicKey);
  const pss = spki(generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).publicKey);
  expect(reasonOf(() => importPasskeyKey(-7, p384))).toBe('public-key');
  expect(reasonOf(() => importPasskeyKey(-7, ed))).toBe('public-key');
  expect(reasonOf(() => importPasskeyKey(-7, rsa2048))).toBe('public-key');
  expect(reasonOf(() => importPasskeyKey(-8, ed))).toBe('accepted');
  expect(reasonOf(() => importPasskeyKey(-8, rsa2048))).toBe('public-key');
  expect(reasonOf(() => importPasskeyKey(-257, rsa2048))).toBe('accepted');
  expect(reasonOf(() => importPasskeyKey(-257, rsa4096))).toBe('accepted');
  expect(reasonOf(() => importPasskeyKey(-257, rsa1024))).toBe('public-key');
  expect(reasonOf(() => importPasskeyKey(-257, rsaE3))).toBe('public-key');
  expect(reasonOf(() => importPasskeyKey(-257, pss))).toBe('public-key');
  expect(reasonOf(() => importPasskeyKey(-257, p256))).toBe('public-key');
  expect(reasonOf(() => importPasskeyKey(-37, rsa2048))).toBe('public-key'); // PS256: not taken
  expect(reasonOf(() => importPasskeyKey(-7, new Uint8Array(10)))).toBe('public-key');
});

test('RS256: PKCS#1 v1.5 only; a PSS signature by the same key, or one over other data, does not verify', () => {
  const auth = new SoftwareAuthenticator({ algorithm: -257 });
  const a = decoded(auth.assert(binding));
  const expectation = { challenge: passkeyChallenge(binding), rpId: LOCAL_RP_ID, origins: [LOCAL_ORIGIN], algorithm: -257, publicKey: auth.publicKey };
  expect(checkAssertion(a, expectation)).toEqual({ signCount: 1 });
  const signed = Buffer.concat([a.authenticatorData, createHash('sha256').update(a.clientDataJSON).digest()]);
  const key = (auth as unknown as { privateKey: KeyObject }).privateKey;
  const pssSignature = sign('sha256', signed, { key, padding: constants.RSA_PKCS1_PSS_PADDING });
  expect(reasonOf(() => checkAssertion({ ...a, signature: pssSignature }, expectation))).toBe('signature');
  const other = sign('sha256', Buffer.concat([signed, Uint8Array.of(0)]), key);
  expect(reasonOf(() => checkAssertion({ ...a, signature: other }, expectation))).toBe('signature');
  // The same assertion named ES256 against the RSA key: refused on the key, before any signature check.
  expect(reasonOf(() => checkAssertion(a, { ...expectation, algorithm: -7 }))).toBe('public-key');
});

test('imported keys are kept in the bounded cache with a lifetime (cache.ts), by algorithm and key; refused ones are not', () => {
  expect(passkeyKeys.maxEntries).toBe(1024);
  expect(Number.isFinite(passkeyKeys.ttlMs)).toBe(true);
  expect(Number.isFinite(passkeyKeys.sweepMs)).toBe(true);
  passkeyKeys.clear();
  const ed = new Uint8Array(generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }));
  const first = importPasskeyKey(-8, ed);
  expect(passkeyKeys.size).toBe(1);
  expect(importPasskeyKey(-8, ed)).toBe(first);
  expect(passkeyKeys.size).toBe(1);
  expect(reasonOf(() => importPasskeyKey(-7, ed))).toBe('public-key');
  expect(passkeyKeys.size).toBe(1);
  passkeyKeys.clear();
  expect(importPasskeyKey(-8, ed)).not.toBe(first);
  passkeyKeys.clear();
});

test('slot parameters round-trip, and truncated or padded ones are refused', () => {
  const p = {
    credentialId: new Uint8Array([1, 2, 3]),
    algorithm: -8,
    publicKey: new Uint8Array(44).fill(7),
    rpId: 'localhost',
    origins: [LOCAL_ORIGIN, 'https://a.example'],
  };
  const bytes = encodePasskeyParams(p);
  expect(decodePasskeyParams(bytes)).toEqual({ ...p, credentialId: new Uint8Array([1, 2, 3]), publicKey: new Uint8Array(44).fill(7) });
  expect(() => decodePasskeyParams(bytes.subarray(0, bytes.length - 1))).toThrow(/truncated/);
  expect(() => decodePasskeyParams(Uint8Array.from([...bytes, 0]))).toThrow(/length/);
  expect(() => decodePasskeyParams(encodePasskeyParams({ ...p, origins: [] }))).toThrow(/origins/);
});

test('a passkey slot opens only in its wallet, with its PRF output, and with its parameters as sealed', async () => {
  const { randomBytes } = await import('node:crypto');
  const { wrapSlot, unwrapSlot, SLOT_PASSKEY } = await import('../src/sealing/slots.js');
  const dataKey = randomBytes(32);
  const prf = randomBytes(32);
  const walletKey = randomBytes(32);
  const binding = { walletId: 'w-a', ownerUserId: 'u', kmsKeyId: 'k', kmsCiphertext: new Uint8Array([1, 2]) };
  const passkey = { credentialId: new Uint8Array([9, 9]), algorithm: -7, publicKey: new Uint8Array(91).fill(4), rpId: LOCAL_RP_ID, origins: [LOCAL_ORIGIN] };
  const slot = wrapSlot(SLOT_PASSKEY, binding, dataKey, prf, walletKey, { passkey, createdAt: 1 });
  expect(Buffer.from(unwrapSlot(slot, binding, dataKey, prf)!).equals(walletKey)).toBe(true);
  expect(unwrapSlot(slot, { ...binding, walletId: 'w-b' }, dataKey, prf)).toBeUndefined(); // moved to another wallet
  expect(unwrapSlot(slot, binding, dataKey, randomBytes(32))).toBeUndefined(); // another PRF output
  expect(unwrapSlot({ ...slot, passkey: { ...passkey, origins: ['https://evil.example'] } }, binding, dataKey, prf)).toBeUndefined(); // an origin added
  expect(unwrapSlot({ ...slot, passkey: { ...passkey, publicKey: new Uint8Array(91).fill(5) } }, binding, dataKey, prf)).toBeUndefined(); // a key swapped
});

test('the passkey origins of the configuration: localhost in simulated mode, https elsewhere, the RP id derived and checked', async () => {
  const { loadStartupConfig, passkeyOriginAllowed } = await import('../src/config.js');
  const sim = loadStartupConfig({ ENCLAVE_PLATFORM: 'simulated' }).passkeys!;
  expect(sim.rpId).toBe('localhost');
  expect(['http://localhost:8080', 'http://localhost:41234', 'http://localhost'].every((o) => passkeyOriginAllowed(sim, o))).toBe(true);
  expect(
    ['https://localhost:8080', 'http://127.0.0.1:8080', 'http://localhost:8080/', 'http://localhost.evil.example'].some((o) => passkeyOriginAllowed(sim, o)),
  ).toBe(false);
  const set = loadStartupConfig({ ENCLAVE_PASSKEY_ORIGINS: 'https://wallet.example.com, https://wallet.example.com:8443' }).passkeys!;
  expect(set).toEqual({ rpId: 'wallet.example.com', origins: ['https://wallet.example.com', 'https://wallet.example.com:8443'] });
  expect(() => loadStartupConfig({ ENCLAVE_PASSKEY_ORIGINS: 'https://wallet.example.com,https://example.com' })).toThrow(
    /example.com is not wallet.example.com or under it/,
  );
  expect(() =>
    loadStartupConfig({ ENCLAVE_PASSKEY_ORIGINS: 'https://wallet.example.com,https://example.com', ENCLAVE_PASSKEY_RP_ID: 'x.example.com' }),
  ).toThrow(/not x.example.com or under it/);
  expect(
    loadStartupConfig({ ENCLAVE_PASSKEY_ORIGINS: 'https://a.example.com,https://b.example.com', ENCLAVE_PASSKEY_RP_ID: 'example.com' }).passkeys!.rpId,
  ).toBe('example.com');
  expect(() => loadStartupConfig({ ENCLAVE_PASSKEY_ORIGINS: 'https://example.com/path' })).toThrow(/not an https origin/);
  expect(loadStartupConfig({ ENCLAVE_PASSKEY_ORIGINS: '' }).passkeys).toBeUndefined();
  // Nitro mode: no default, and no localhost.
  const nitro = {
    ENCLAVE_PLATFORM: 'nitro',
    ENCLAVE_KMS_KEY_ID: 'arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555',
    ENCLAVE_GUARD_TABLE: 'arn:aws:dynamodb:eu-west-1:123456789012:table/guard',
  };
  expect(loadStartupConfig(nitro).passkeys).toBeUndefined();
  expect(() => loadStartupConfig({ ...nitro, ENCLAVE_PASSKEY_ORIGINS: 'http://localhost:8080' })).toThrow(/not an https origin/);
});
