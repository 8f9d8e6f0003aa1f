/**
 * The SDK's passkey plumbing (src/webauthn.ts, src/passkey.ts, the factor of a signature in src/factors.ts), one
 * module at a time, with a stand-in for `navigator.credentials` that records what it is asked and answers fixed
 * bytes. What is checked: the ceremonies ask for user verification, a resident key, ES256/EdDSA and PRF with the
 * wallet's salt; the assertion's challenge is the hash of the binding the sealed envelope carries (opened here with
 * the recipient's key); the PRF output sits in the envelope as `prf`; a missing PRF output, a closed prompt and a
 * browser without WebAuthn are refused in words with nothing sealed. The real browser and enclave: test/browser/
 * passkeys.test.ts and the enclave's tests.
 */
import { x25519 } from '@noble/curves/ed25519.js';
import { fromBase64Url, passkeyChallenge, passkeyPrfSalt, passkeyRegistrationDigest, toBase64Url } from '@enclave-wallet/proto/passkey';
import { PIN_ENVELOPE_INFO, sealEnvelope, envelopeStamp } from '../src/envelope.js';
import { hpkeOpen } from '../src/hpke.js';
import { sealRegistration, sealWithPasskey } from '../src/passkey.js';
import { signFactor } from '../src/factors.js';
import { passkeySupport, type PasskeyCredentials } from '../src/webauthn.js';
import type { ApprovalSummary } from '../src/summary.js';

const secretKey = x25519.utils.randomSecretKey();
const enclaveKey = x25519.getPublicKey(secretKey);
const open = (wire: string): Record<string, unknown> =>
  JSON.parse(new TextDecoder().decode(hpkeOpen(secretKey, Uint8Array.from(Buffer.from(wire, 'base64')), PIN_ENVELOPE_INFO))) as Record<string, unknown>;
const buf = (bytes: number[] | Uint8Array): ArrayBuffer => new Uint8Array(bytes).buffer;
const now = (): number => 1_795_000_000_000;

const credentialId = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
const prfOut = Uint8Array.from({ length: 32 }, (_, i) => 200 - i);
const spki = Uint8Array.from({ length: 91 }, (_, i) => i);

/** A stand-in for navigator.credentials: records the options, answers what the test says. */
function authenticator(o: { prfAtGet?: boolean; prfEnabled?: boolean; fail?: string; algorithm?: number } = {}) {
  const calls: Array<{ kind: 'create' | 'get'; publicKey: Record<string, unknown> }> = [];
  const credentials: PasskeyCredentials = {
    async create({ publicKey }) {
      calls.push({ kind: 'create', publicKey: publicKey as Record<string, unknown> });
      if (o.fail) throw Object.assign(new Error('refused'), { name: o.fail });
      return {
        rawId: buf(credentialId),
        response: { clientDataJSON: buf([]), getPublicKey: () => buf(spki), getPublicKeyAlgorithm: () => o.algorithm ?? -7 },
        getClientExtensionResults: () => ({ prf: { enabled: o.prfEnabled ?? true } }),
      };
    },
    async get({ publicKey }) {
      calls.push({ kind: 'get', publicKey: publicKey as Record<string, unknown> });
      if (o.fail) throw Object.assign(new Error('refused'), { name: o.fail });
      const challenge = toBase64Url(new Uint8Array((publicKey as { challenge: Uint8Array }).challenge));
      return {
        rawId: buf(credentialId),
        response: {
          authenticatorData: buf([9, 9, 9]),
          clientDataJSON: buf([...new TextEncoder().encode(JSON.stringify({ type: 'webauthn.get', challenge, origin: 'http://localhost:8080' }))]),
          signature: buf([1, 2, 3]),
          userHandle: null,
        },
        getClientExtensionResults: () => (o.prfAtGet === false ? { prf: {} } : { prf: { results: { first: buf(prfOut) } } }),
      };
    },
  };
  return { credentials, calls };
}

const binding = {
  purpose: 'sign' as const,
  sub: 'usr_1',
  walletId: 'w_1',
  network: 'evm' as const,
  address: '0xabc',
  kind: 'evm-message' as const,
  digest: '0x01',
};

test('a passkey envelope: the challenge is the hash of the binding it carries, with the PRF output as `prf`', async () => {
  const { credentials, calls } = authenticator();
  const wire = await sealWithPasskey(enclaveKey, binding, [credentialId], { credentials }, now);
  const body = open(wire);
  expect(body).toMatchObject({ v: 1, ...binding, exp: 1_795_000_120 });
  expect(body.pin).toBeUndefined();
  expect(fromBase64Url(body.prf as string)).toEqual(prfOut);
  const passkey = body.passkey as Record<string, string>;
  expect(fromBase64Url(passkey.credentialId!)).toEqual(credentialId);
  expect(fromBase64Url(passkey.signature!)).toEqual(Uint8Array.of(1, 2, 3));
  const clientData = JSON.parse(new TextDecoder().decode(fromBase64Url(passkey.clientDataJSON!))) as { challenge: string };
  expect(clientData.challenge).toBe(toBase64Url(passkeyChallenge({ ...binding, exp: body.exp as number, nonce: body.nonce as string })));
  // What the browser was asked: user verification, this wallet's credentials, PRF with this wallet's salt.
  expect(calls).toHaveLength(1);
  const get = calls[0]!.publicKey as {
    userVerification: string;
    allowCredentials: Array<{ id: Uint8Array }>;
    extensions: { prf: { eval: { first: Uint8Array } } };
  };
  expect(get.userVerification).toBe('required');
  expect(get.allowCredentials.map((c) => new Uint8Array(c.id))).toEqual([credentialId]);
  expect(new Uint8Array(get.extensions.prf.eval.first)).toEqual(passkeyPrfSalt('w_1'));
});

test('no PRF output: PASSKEY_PRF_UNSUPPORTED in words, nothing sealed', async () => {
  const { credentials } = authenticator({ prfAtGet: false });
  await expect(sealWithPasskey(enclaveKey, binding, [credentialId], { credentials }, now)).rejects.toMatchObject({
    code: 'PASSKEY_PRF_UNSUPPORTED',
    status: 0,
    message: expect.stringContaining('lacks the WebAuthn prf extension'),
  });
});

test('a closed prompt or failed user verification (NotAllowedError): PASSKEY_CANCELLED', async () => {
  const { credentials } = authenticator({ fail: 'NotAllowedError' });
  await expect(sealWithPasskey(enclaveKey, binding, [credentialId], { credentials }, now)).rejects.toMatchObject({ code: 'PASSKEY_CANCELLED', status: 0 });
});

test('a wallet without passkeys: FACTOR_NOT_FOUND before the browser is asked', async () => {
  const { credentials, calls } = authenticator();
  await expect(sealWithPasskey(enclaveKey, binding, [], { credentials }, now)).rejects.toMatchObject({ code: 'FACTOR_NOT_FOUND', status: 0 });
  expect(calls).toEqual([]);
});

test('registration: a resident, user-verified ES256/EdDSA/RS256 credential with PRF, proven by an assertion over its registration digest', async () => {
  const { credentials, calls } = authenticator();
  const exclude = [Uint8Array.of(7, 7)];
  const { envelope, credentialId: id } = await sealRegistration(
    enclaveKey,
    { sub: 'usr_1', walletId: 'w_1', pin: '493817' },
    { name: 'a@example.com', displayName: 'a@example.com' },
    exclude,
    { credentials, rpId: 'localhost' },
    now,
  );
  expect(id).toBe(toBase64Url(credentialId));
  const create = calls[0]!.publicKey as {
    rp: { id: string };
    authenticatorSelection: Record<string, unknown>;
    pubKeyCredParams: Array<{ alg: number }>;
    excludeCredentials: Array<{ id: Uint8Array }>;
    extensions: { prf: { eval: { first: Uint8Array } } };
  };
  expect(create.rp.id).toBe('localhost');
  expect(create.authenticatorSelection).toMatchObject({ residentKey: 'required', userVerification: 'required' });
  expect(create.pubKeyCredParams.map((p) => p.alg)).toEqual([-7, -8, -257]);
  expect(create.excludeCredentials.map((c) => new Uint8Array(c.id))).toEqual(exclude);
  expect(new Uint8Array(create.extensions.prf.eval.first)).toEqual(passkeyPrfSalt('w_1'));
  expect(calls.map((c) => c.kind)).toEqual(['create', 'get']);

  const body = open(envelope);
  const digest = passkeyRegistrationDigest({ credentialId, algorithm: -7, publicKey: spki });
  expect(body).toMatchObject({ purpose: 'add-passkey', sub: 'usr_1', walletId: 'w_1', pin: '493817', digest });
  expect(body.passkey).toMatchObject({ algorithm: -7, publicKey: toBase64Url(spki), credentialId: toBase64Url(credentialId) });
  const clientData = JSON.parse(new TextDecoder().decode(fromBase64Url((body.passkey as { clientDataJSON: string }).clientDataJSON))) as { challenge: string };
  expect(clientData.challenge).toBe(
    toBase64Url(passkeyChallenge({ purpose: 'add-passkey', sub: 'usr_1', walletId: 'w_1', digest, exp: body.exp as number, nonce: body.nonce as string })),
  );
  expect(fromBase64Url(body.prf as string)).toEqual(prfOut);
});

test('registration: the algorithm the authenticator chose is sealed (RS256); one the wallet does not take (PS256) is refused after create', async () => {
  const rs = authenticator({ algorithm: -257 });
  const { envelope } = await sealRegistration(
    enclaveKey,
    { sub: 'usr_1', walletId: 'w_1', pin: '493817' },
    { name: 'a', displayName: 'a' },
    [],
    { credentials: rs.credentials },
    now,
  );
  const body = open(envelope);
  expect(body.digest).toBe(passkeyRegistrationDigest({ credentialId, algorithm: -257, publicKey: spki }));
  expect(body.passkey).toMatchObject({ algorithm: -257 });
  const ps = authenticator({ algorithm: -37 });
  await expect(
    sealRegistration(enclaveKey, { sub: 'usr_1', walletId: 'w_1', pin: '493817' }, { name: 'a', displayName: 'a' }, [], { credentials: ps.credentials }, now),
  ).rejects.toMatchObject({
    code: 'PASSKEY_UNSUPPORTED',
    message: expect.stringMatching(/COSE algorithm -37\) is not ES256, Ed25519 or RS256; nothing was added$/),
  });
  expect(ps.calls.map((c) => c.kind)).toEqual(['create']);
});

test('registration with an authenticator that did not enable PRF: refused after create, no assertion asked, nothing sealed', async () => {
  const { credentials, calls } = authenticator({ prfEnabled: false });
  await expect(
    sealRegistration(enclaveKey, { sub: 'usr_1', walletId: 'w_1', pin: '493817' }, { name: 'a', displayName: 'a' }, [], { credentials }, now),
  ).rejects.toMatchObject({ code: 'PASSKEY_PRF_UNSUPPORTED', status: 0, message: expect.stringMatching(/nothing was added$/) });
  expect(calls.map((c) => c.kind)).toEqual(['create']);
});

test('sealEnvelope writes `prf` as base64url into valid JSON, for every length that pads differently', () => {
  for (const length of [30, 31, 32]) {
    const prf = Uint8Array.from({ length }, (_, i) => (i * 37) & 0xff);
    const body = open(sealEnvelope(enclaveKey, { purpose: 'sign', sub: 'u', ...envelopeStamp(now) }, prf));
    expect(body.prf).toBe(toBase64Url(prf));
    expect(body.purpose).toBe('sign');
  }
});

test('in Node (no navigator.credentials): passkeys are unsupported, said in words', async () => {
  const support = await passkeySupport();
  expect(support).toEqual({ webauthn: false, prf: false, message: 'This browser has no WebAuthn (passkeys); use the PIN.' });
});

test('a signature is authorized by pin, getPin, passkey or authorize; getPin and authorize see the summary after the attestation', async () => {
  const summary = { kind: 'evm-message' } as unknown as ApprovalSummary;
  const request = { walletId: 'w_1', kind: 'evm-message' as const, address: '0xabc', summary };
  const order: string[] = [];
  const ready = async (): Promise<void> => {
    order.push('attested');
  };
  expect(await signFactor({ pin: '493817' }, request, ready)).toEqual({ pin: '493817' });
  expect(await signFactor({ passkey: true }, request, ready)).toEqual({ passkey: true });
  expect(
    await signFactor(
      {
        getPin: (r) => {
          order.push(`getPin ${r.summary.kind}`);
          return '270394';
        },
      },
      request,
      ready,
    ),
  ).toEqual({ pin: '270394' });
  expect(
    await signFactor(
      {
        authorize: async (r) => {
          order.push(`authorize ${r.address}`);
          return { passkey: true };
        },
      },
      request,
      ready,
    ),
  ).toEqual({ passkey: true });
  expect(order).toEqual(['attested', 'getPin evm-message', 'attested', 'authorize 0xabc']);
  await expect(signFactor({ authorize: () => ({}) as never }, request, ready)).rejects.toThrow('authorize must return { pin } or { passkey: true }');
});
