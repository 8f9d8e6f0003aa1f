/** The WebAuthn assertion checks of the enclave (passkey/webauthn.ts), one module, against a software authenticator. */
import { generateKeyPairSync } from 'node:crypto';
import { passkeyChallenge, fromBase64Url } from '@enclave-wallet/proto/passkey';
import { checkAssertion, importPasskeyKey, PasskeyRefusal, type Assertion } from '../src/passkey/webauthn.js';
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

test.each([-7, -8] as const)('a right assertion (COSE alg %d) passes and gives its counter', (algorithm) => {
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

test('keys must be of the algorithm named: P-256 for ES256, Ed25519 for EdDSA', () => {
  const p384 = new Uint8Array(generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ format: 'der', type: 'spki' }));
  const ed = new Uint8Array(generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }));
  const rsa = new Uint8Array(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'der', type: 'spki' }));
  expect(reasonOf(() => importPasskeyKey(-7, p384))).toBe('public-key');
  expect(reasonOf(() => importPasskeyKey(-7, ed))).toBe('public-key');
  expect(reasonOf(() => importPasskeyKey(-8, ed))).toBe('accepted');
  expect(reasonOf(() => importPasskeyKey(-257, rsa))).toBe('public-key');
  expect(reasonOf(() => importPasskeyKey(-7, new Uint8Array(10)))).toBe('public-key');
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
