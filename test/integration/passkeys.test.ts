/**
 * Passkeys (docs/passkeys.md) against the real enclave server over TCP (simulated NSM, local KMS, dynalite
 * guard), with a software authenticator (test/support/authenticator.ts) making real ES256 and Ed25519
 * assertions: registration, signing, removal and PIN reset with a passkey; one test per refusal (each counted
 * in the passkey budget); a replay to another enclave stopped by the counter; concurrent signatures.
 */
import { GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { createHash } from 'node:crypto';
import { x25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { hpkeOpen } from '../support/hpke-reference.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashMessage, recoverMessageAddress, toHex } from 'viem';
import { verifyAttestationDocument } from '@enclave-wallet/client';
import { createEnclaveService, createLogger, startEnclaveServer } from '@enclave-wallet/enclave';
import { testStartupConfig } from '../support/startup.js';
import { EnclaveWalletError, formatRecoveryCode, RECOVERY_CODE_INFO, RpcClient, type RpcServer } from '@enclave-wallet/proto';
import { passkeyPrfSalt, type PasskeyBinding } from '@enclave-wallet/proto/passkey';
import { LOCAL_GUARD_TABLE } from '@enclave-wallet/devtools';
import { readDevRoot } from '../../devtools/src/nsm/index.js';
import { freshBinding, SoftwareAuthenticator, type AssertOptions } from '../support/authenticator.js';
import { sealEnvelope, type EnvelopeBody } from '../support/envelopes.js';
import { startLocalAws, type LocalAws } from '../support/local-aws.js';

const dir = mkdtempSync(join(tmpdir(), 'passkeys-'));
const caDir = join(dir, 'dev-ca');
let aws: LocalAws;
let enclave: RpcServer;
let rpc: RpcClient;
let envelopeKey: Uint8Array;
const USER = 'user-pk';
const PIN = '493817';

async function connectEnclave(): Promise<{ server: RpcServer; client: RpcClient; key: Uint8Array }> {
  const service = await createEnclaveService(testStartupConfig(caDir));
  const server = await startEnclaveServer({ listen: 'tcp://127.0.0.1:0', logger: createLogger('error', () => {}), service });
  const client = await RpcClient.connect(server.address);
  await client.call('init', aws.initRequest());
  const key = verifyAttestationDocument((await client.call('getAttestation', {})).document!, { root: readDevRoot(caDir) }).publicKey!;
  return { server, client, key };
}

beforeAll(async () => {
  aws = await startLocalAws(dir, caDir);
  ({ server: enclave, client: rpc, key: envelopeKey } = await connectEnclave());
});
afterAll(async () => {
  rpc.close();
  await enclave.close();
  await aws.close();
});

const env = (body: EnvelopeBody, key = envelopeKey): Uint8Array => sealEnvelope(key, body);
const outcome = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'OK',
    (e: unknown) => (e instanceof EnclaveWalletError ? (e.details.reason ? `${e.code}:${e.details.reason}` : e.code) : `UNTYPED ${String(e)}`),
  );
const guardItem = async (walletId: string) =>
  (await aws.dynamo.send(new GetItemCommand({ TableName: LOCAL_GUARD_TABLE, Key: { pk: { S: `wallet#${walletId}` } }, ConsistentRead: true }))).Item!;
/** The passkey failures counted, once no guess is in flight (a right one is cleared just after its answer). */
async function failures(walletId: string): Promise<number> {
  for (let i = 0; ; i++) {
    const values = Object.values((await guardItem(walletId)).passkeyGuesses?.M ?? {}).map((v) => v.S ?? '');
    if (!values.some((v) => v.startsWith('p:')) || i >= 100) return values.filter((v) => v.startsWith('f:')).length;
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Wallet {
  walletId: string;
  blob: Uint8Array;
  address: string;
}

let walletCount = 0;
async function newWallet(): Promise<Wallet> {
  const walletId = `wallet-pk-${++walletCount}`;
  const out = await rpc.call('createWallet', { userId: USER, walletId, pinEnvelope: env({ purpose: 'create-wallet', sub: USER, pin: PIN }) });
  return { walletId, blob: out.sealedBlob!, address: out.accounts![0]!.address! };
}

/** Registers `auth` on the wallet with the PIN (or as told), and keeps the wallet's blob current. */
async function addPasskey(
  w: Wallet,
  auth: SoftwareAuthenticator,
  o: AssertOptions & { pin?: string; noPrf?: boolean; digest?: string; userId?: string } = {},
): Promise<string> {
  const binding = freshBinding({ purpose: 'add-passkey', sub: USER, walletId: w.walletId, digest: o.digest ?? auth.registrationDigest });
  const r = auth.register(binding, o);
  const body: EnvelopeBody = { ...binding, pin: o.pin ?? PIN, passkey: r.passkey, ...(o.noPrf ? {} : { prf: r.prf }) };
  return outcome(
    rpc.call('addPasskey', { userId: USER, walletId: w.walletId, sealedBlob: w.blob, pinEnvelope: env(body) }).then((out) => {
      expect(out.credentialId).toBe(Buffer.from(auth.credentialId).toString('base64url'));
      w.blob = out.sealedBlob!;
    }),
  );
}

/** A sign binding for a message on the wallet's first EVM account. */
const signBinding = (w: Wallet, text: string): PasskeyBinding =>
  freshBinding({ purpose: 'sign', sub: USER, walletId: w.walletId, network: 'evm', address: w.address, kind: 'evm-message', digest: hashMessage(text) });

/** Signs `text` with a passkey assertion (made by `assert`, default: a right one for the binding). */
function signWith(
  w: Wallet,
  auth: SoftwareAuthenticator,
  text = 'hello',
  o: AssertOptions & { binding?: PasskeyBinding; key?: Uint8Array; client?: RpcClient } = {},
) {
  const binding = signBinding(w, text);
  const a = auth.assert(o.binding ?? binding, o);
  return signEnvelope(w, text, env({ ...binding, passkey: a.passkey, prf: a.prf }, o.key), o.client);
}
const signEnvelope = (w: Wallet, text: string, pinEnvelope: Uint8Array, client = rpc) =>
  client.call('sign', { userId: USER, walletId: w.walletId, sealedBlob: w.blob, network: 1, address: w.address, evmMessage: { text }, pinEnvelope });
const signWithPin = (w: Wallet, text = 'hello', pin = PIN) => signEnvelope(w, text, env({ ...signBinding(w, text), pin }));
const factors = async (w: Wallet) => (await rpc.call('listFactors', { userId: USER, walletId: w.walletId, sealedBlob: w.blob })).factors!;

test('RS256 at the bounds the enclave takes: a 4096-bit key (512-byte signatures) is added and signs; a 3072-bit one too', async () => {
  for (const rsaBits of [4096, 3072]) {
    const w = await newWallet();
    const auth = new SoftwareAuthenticator({ algorithm: -257, rsaBits });
    expect([rsaBits, await addPasskey(w, auth)]).toEqual([rsaBits, 'OK']);
    const signed = await signWith(w, auth, `RS256 ${rsaBits}`);
    expect(await recoverMessageAddress({ message: `RS256 ${rsaBits}`, signature: toHex(signed.signature!) })).toBe(w.address);
  }
});

test.each([-7, -8, -257] as const)('a passkey (COSE alg %d) is added with the PIN, listed, signs, and is removed with the PIN', async (algorithm) => {
  const w = await newWallet();
  const auth = new SoftwareAuthenticator({ algorithm });
  expect(await addPasskey(w, auth)).toBe('OK');
  const listed = await factors(w);
  expect(listed.map((f) => f.kind)).toEqual(['pin', 'passkey']);
  expect(listed[1]!.credentialId).toBe(Buffer.from(auth.credentialId).toString('base64url'));
  expect(Number(listed[1]!.createdAtMs)).toBeGreaterThan(Date.now() - 60_000);

  const signed = await signWith(w, auth, 'with a passkey');
  expect(await recoverMessageAddress({ message: 'with a passkey', signature: toHex(signed.signature!) })).toBe(w.address);
  expect(signed.sealedBlob?.length ?? 0).toBe(0); // nothing re-sealed
  // Noted with the clear of the guess, just after the answer.
  let lastUsed = 0;
  for (let i = 0; i < 100 && !lastUsed; i++) {
    lastUsed = Number((await factors(w))[1]!.lastUsedAtMs);
    if (!lastUsed) await new Promise((r) => setTimeout(r, 20));
  }
  expect(lastUsed).toBeGreaterThan(Date.now() - 60_000);

  // Removal needs a factor and binds the credential; then the passkey opens nothing.
  const credentialId = auth.credentialId;
  const removal = (pin: string, id = credentialId) =>
    rpc.call('removePasskey', {
      userId: USER,
      walletId: w.walletId,
      sealedBlob: w.blob,
      credentialId: id,
      pinEnvelope: env({ purpose: 'remove-passkey', sub: USER, walletId: w.walletId, digest: toHex(createHash('sha256').update(credentialId).digest()), pin }),
    });
  expect(await outcome(removal(PIN, new Uint8Array(16)))).toBe('ENVELOPE_MISMATCH');
  expect(await outcome(removal('111111'))).toBe('PIN_INVALID');
  w.blob = (await removal(PIN)).sealedBlob!;
  expect((await factors(w)).map((f) => f.kind)).toEqual(['pin']);
  expect(await outcome(signWith(w, auth))).toBe('FACTOR_NOT_FOUND');
  expect(await outcome(removal(PIN))).toBe('FACTOR_NOT_FOUND');
  // The PIN slot stays: the wallet signs with the PIN.
  expect(await outcome(signWithPin(w))).toBe('OK');
});

test('registration: no PRF, a foreign origin or RP id, no user verification, a key that did not sign, a wrong PIN: nothing is added', async () => {
  const w = await newWallet();
  const auth = new SoftwareAuthenticator();
  expect(await addPasskey(w, auth, { noPrf: true })).toBe('PASSKEY_PRF_UNSUPPORTED');
  expect(await addPasskey(w, auth, { origin: 'https://evil.example' })).toBe('PASSKEY_INVALID:origin');
  expect(await addPasskey(w, auth, { rpId: 'evil.example' })).toBe('PASSKEY_INVALID:rp-id');
  expect(await addPasskey(w, auth, { uv: false })).toBe('PASSKEY_INVALID:user-verified');
  expect(await addPasskey(w, auth, { type: 'webauthn.create' })).toBe('PASSKEY_INVALID:type');
  expect(await addPasskey(w, auth, { signWith: new SoftwareAuthenticator()['privateKey'] })).toBe('PASSKEY_INVALID:signature');
  // The challenge binds the credential (the registration digest): another credential's digest is refused.
  expect(await addPasskey(w, auth, { digest: new SoftwareAuthenticator().registrationDigest })).toBe('ENVELOPE_MISMATCH');
  expect(await addPasskey(w, auth, { pin: '111111' })).toBe('PIN_INVALID');
  expect((await factors(w)).map((f) => f.kind)).toEqual(['pin']);
  expect(await failures(w.walletId)).toBe(0); // registration refusals are not passkey guesses
  expect(await addPasskey(w, auth)).toBe('OK');
  expect(await addPasskey(w, auth)).toBe('PASSKEY_EXISTS');
});

test('each refused assertion names its check and is counted; five lock passkeys, not the PIN', async () => {
  const w = await newWallet();
  const auth = new SoftwareAuthenticator();
  const other = new SoftwareAuthenticator();
  expect(await addPasskey(w, auth)).toBe('OK');
  // A credential of another wallet.
  const w2 = await newWallet();
  expect(await addPasskey(w2, other)).toBe('OK');

  const refusals: Array<[string, () => Promise<unknown>]> = [
    ['challenge', () => signWith(w, auth, 'hello', { binding: signBinding(w, 'another message') })],
    ['origin', () => signWith(w, auth, 'hello', { origin: 'https://evil.example' })],
    ['rp-id', () => signWith(w, auth, 'hello', { rpId: 'evil.example' })],
    ['user-verified', () => signWith(w, auth, 'hello', { uv: false })],
    ['credential', () => signWith(w, other, 'hello')],
  ];
  for (const [i, [reason, attempt]] of refusals.entries()) {
    let err: unknown;
    await attempt().catch((e: unknown) => (err = e));
    expect(err).toBeInstanceOf(EnclaveWalletError);
    const e = err as EnclaveWalletError;
    if (i < 4) expect([e.code, e.details.reason, e.details.attemptsLeft]).toEqual(['PASSKEY_INVALID', reason, 4 - i]);
    else expect([e.code, e.details.retryAfter]).toEqual(['PASSKEY_LOCKED', 60]);
    expect(await failures(w.walletId)).toBe(i + 1);
  }
  // Locked: even a right assertion is not tried; the PIN still signs, and is not counted against.
  expect(await outcome(signWith(w, auth))).toBe('PASSKEY_LOCKED');
  expect(await outcome(signWithPin(w))).toBe('OK');
  // The right PIN's guess is cleared after its answer (within CLEAR_DELAY_MS, when no count carries it); no PIN
  // failure was ever counted.
  for (let i = 0; i < 100 && Object.keys((await guardItem(w.walletId)).guesses?.M ?? {}).length; i++) await new Promise((r) => setTimeout(r, 50));
  expect(Object.keys((await guardItem(w.walletId)).guesses?.M ?? {})).toEqual([]);
});

test('wrong PRF output, counter going back, a forged signature, no user presence: refused and counted', async () => {
  const w = await newWallet();
  const auth = new SoftwareAuthenticator();
  expect(await addPasskey(w, auth)).toBe('OK');
  expect(await outcome(signWith(w, auth, 'x', { prfSalt: passkeyPrfSalt('another-wallet') }))).toBe('PASSKEY_INVALID:prf');
  expect(await outcome(signWith(w, auth, 'x', { counter: 100 }))).toBe('OK');
  expect(await outcome(signWith(w, auth, 'x', { counter: 100 }))).toBe('PASSKEY_INVALID:counter');
  expect(await outcome(signWith(w, auth, 'x', { counter: 50 }))).toBe('PASSKEY_INVALID:counter');
  expect(await outcome(signWith(w, auth, 'x', { counter: 0 }))).toBe('PASSKEY_INVALID:counter');
  expect(await failures(w.walletId)).toBe(3); // the right one at 100 cleared the wrong PRF before it
  // A right one clears the failures counted before it, as a right PIN does.
  expect(await outcome(signWith(w, auth, 'x', { counter: 101 }))).toBe('OK');
  expect(await failures(w.walletId)).toBe(0);
  expect(await outcome(signWith(w, auth, 'x', { signWith: new SoftwareAuthenticator()['privateKey'] }))).toBe('PASSKEY_INVALID:signature');
  expect(await outcome(signWith(w, auth, 'x', { up: false }))).toBe('PASSKEY_INVALID:user-present');
  expect(await failures(w.walletId)).toBe(2);
  // The stored counter is the highest accepted.
  const key = createHash('sha256').update(auth.credentialId).digest('hex');
  expect((await guardItem(w.walletId))[`ctr:${key}`]).toEqual({ N: '101' });
});

test('a slot whose key this enclave does not take (as one a newer enclave added looks here): refused without counting, six times over', async () => {
  const w = await newWallet();
  const auth = new SoftwareAuthenticator();
  expect(await addPasskey(w, auth)).toBe('OK');
  // The slot's parameters: u16 length ‖ credential id ‖ the COSE algorithm as an i32 (-7: ff ff ff f9).
  const params = Buffer.concat([Buffer.from([0, auth.credentialId.length]), auth.credentialId, Buffer.from('fffffff9', 'hex')]);
  const at = Buffer.from(w.blob).indexOf(params);
  expect(at).toBeGreaterThan(0);
  const setBlob = (blob: Uint8Array) =>
    aws.dynamo.send(
      new UpdateItemCommand({
        TableName: LOCAL_GUARD_TABLE,
        Key: { pk: { S: `wallet#${w.walletId}` } },
        UpdateExpression: 'SET #b = :b',
        ExpressionAttributeNames: { '#b': 'blob' },
        ExpressionAttributeValues: { ':b': { B: blob } },
      }),
    );
  const later = Uint8Array.from(w.blob);
  later.set([0xff, 0xff, 0xfe, 0xfe], at + params.length - 4); // -258: no algorithm this enclave knows
  // As a newer enclave would have left it: the guard's current blob too (the enclave refuses any other).
  await setBlob(later);
  const tried = { ...w, blob: later };
  for (let i = 0; i < 6; i++) {
    let err: unknown;
    await signWith(tried, auth, 'x').catch((e: unknown) => (err = e));
    const e = err as EnclaveWalletError;
    expect([e.code, e.details.reason, e.details.attemptsLeft]).toEqual(['PASSKEY_INVALID', 'public-key', undefined]);
  }
  expect(await failures(w.walletId)).toBe(0); // six refusals, none counted: the wallet's passkeys are not locked
  // Back to the blob this enclave made (the altered one opens nothing else): the passkey signs.
  await setBlob(w.blob);
  expect(await outcome(signWith(w, auth))).toBe('OK');
});

test('a replayed assertion: the same envelope again, and to another enclave (whose replay cache is its own) where the counter stops it', async () => {
  const w = await newWallet();
  const auth = new SoftwareAuthenticator();
  expect(await addPasskey(w, auth)).toBe('OK');
  const binding = signBinding(w, 'once');
  const a = auth.assert(binding);
  expect(await outcome(signEnvelope(w, 'once', env({ ...binding, passkey: a.passkey, prf: a.prf })))).toBe('OK');
  expect(await outcome(signEnvelope(w, 'once', env({ ...binding, passkey: a.passkey, prf: a.prf })))).toBe('ENVELOPE_REPLAYED');
  const second = await connectEnclave();
  try {
    expect(await outcome(signEnvelope(w, 'once', env({ ...binding, passkey: a.passkey, prf: a.prf }, second.key), second.client))).toBe(
      'PASSKEY_INVALID:counter',
    );
    // The same assertion in a new envelope (a new nonce) no longer matches its challenge.
    const renewed = { ...binding, nonce: 'ab'.repeat(16) };
    expect(await outcome(signEnvelope(w, 'once', env({ ...renewed, passkey: a.passkey, prf: a.prf }, second.key), second.client))).toBe(
      'PASSKEY_INVALID:challenge',
    );
  } finally {
    second.client.close();
    await second.server.close();
  }
});

test('a zero counter after a stored non-zero one is refused by every enclave, whatever it cached (the guard write decides)', async () => {
  const w = await newWallet();
  const auth = new SoftwareAuthenticator({ counting: true });
  expect(await addPasskey(w, auth, { counter: 0 })).toBe('OK');
  const b = await connectEnclave();
  try {
    // Enclave B reads and caches the wallet's record (a PIN signature) while the stored counter is still 0.
    expect(await outcome(signEnvelope(w, 'x', env({ ...signBinding(w, 'x'), pin: PIN }, b.key), b.client))).toBe('OK');
    // Enclave A accepts the authenticator's counter 1: the guard now holds 1.
    expect(await outcome(signWith(w, auth, 'one', { counter: 1 }))).toBe('OK');
    // A counter 0 (a cloned authenticator that does not count, or one reset): refused by A at once, before its
    // cache holds the raise, by A later, and by B, whose cache still says 0.
    expect(await outcome(signWith(w, auth, 'zero-now', { counter: 0 }))).toBe('PASSKEY_INVALID:counter');
    await new Promise((r) => setTimeout(r, 300));
    expect(await outcome(signWith(w, auth, 'zero-later', { counter: 0 }))).toBe('PASSKEY_INVALID:counter');
    const binding = signBinding(w, 'zero-b');
    const a = auth.assert(binding, { counter: 0 });
    expect(await outcome(signEnvelope(w, 'zero-b', env({ ...binding, passkey: a.passkey, prf: a.prf }, b.key), b.client))).toBe('PASSKEY_INVALID:counter');
    // The stored counter never went back, and the next counted assertion still works.
    expect((await guardItem(w.walletId))[`ctr:${createHash('sha256').update(auth.credentialId).digest('hex')}`]).toEqual({ N: '1' });
    expect(await outcome(signWith(w, auth, 'two', { counter: 2 }))).toBe('OK');
  } finally {
    b.client.close();
    await b.server.close();
  }
});

test('a slot moved between blobs does not open: spliced into another wallet’s blob, the blob is refused', async () => {
  const a = await newWallet();
  const b = await newWallet();
  const auth = new SoftwareAuthenticator();
  expect(await addPasskey(b, auth)).toBe('OK');
  const { decodeBlob, encodeBlob } = await import('../../enclave/src/sealing/blob.js');
  const from = decodeBlob(b.blob);
  const into = decodeBlob(a.blob);
  const moved = encodeBlob({ ...into, slots: [...into.slots!, from.slots!.find((s) => s.kind === 3)!] });
  expect(await outcome(signWith({ ...a, blob: moved }, auth))).toBe('BLOB_INVALID');
  // The guard's blob of wallet A has no passkey: the host cannot make the enclave open another.
  expect(await outcome(signWith(a, auth))).toBe('FACTOR_NOT_FOUND');
});

test('reset the PIN with a passkey: a locked PIN is replaced, the recovery code is kept, the old PIN stops working', async () => {
  const w = await newWallet();
  const auth = new SoftwareAuthenticator();
  expect(await addPasskey(w, auth)).toBe('OK');
  for (let i = 0; i < 5; i++) await outcome(signWithPin(w, 'x', `10000${i}`));
  expect(await outcome(signWithPin(w))).toBe('PIN_LOCKED');
  const reset = (newPin: string, o: AssertOptions = {}) => {
    const binding = freshBinding({ purpose: 'reset-pin', sub: USER, walletId: w.walletId });
    const a = auth.assert(binding, o);
    return rpc.call('resetPin', {
      userId: USER,
      walletId: w.walletId,
      sealedBlob: w.blob,
      resetEnvelope: env({ ...binding, passkey: a.passkey, prf: a.prf, newPin }),
    });
  };
  expect(await outcome(reset('111111'))).toBe('PIN_TOO_WEAK');
  expect(await outcome(reset('270394', { uv: false }))).toBe('PASSKEY_INVALID:user-verified');
  const out = await reset('270394');
  expect(out.encryptedRecoveryCode?.length ?? 0).toBe(0);
  w.blob = out.sealedBlob!;
  expect(await outcome(signWithPin(w))).toBe('PIN_INVALID');
  expect(await outcome(signWithPin(w, 'hello', '270394'))).toBe('OK');
  expect((await factors(w)).map((f) => f.kind)).toEqual(['pin', 'passkey']);
  // The passkey slot survived the re-seal, and its budget was emptied by the reset.
  expect(await failures(w.walletId)).toBe(0);
  expect(await outcome(signWith(w, auth))).toBe('OK');
});

test('a PIN reset with the recovery code removes every passkey (a passkey added with a leaked PIN does not outlive it)', async () => {
  const w = await newWallet();
  const attacker = new SoftwareAuthenticator();
  expect(await addPasskey(w, attacker)).toBe('OK');
  // The user's recovery code (made with the PIN), then the reset with it.
  const codeKeys = (): { secret: Uint8Array; publicKey: Uint8Array; digest: string } => {
    const secret = x25519.utils.randomSecretKey();
    const publicKey = x25519.getPublicKey(secret);
    return { secret, publicKey, digest: toHex(sha256(publicKey)) };
  };
  const first = codeKeys();
  const made = await rpc.call('newRecoveryCode', {
    userId: USER,
    walletId: w.walletId,
    sealedBlob: w.blob,
    recoveryPublicKey: first.publicKey,
    pinEnvelope: env({ ...freshBinding({ purpose: 'recovery-code', sub: USER, walletId: w.walletId, digest: first.digest }), pin: PIN }),
  });
  w.blob = made.sealedBlob!;
  const code = formatRecoveryCode(hpkeOpen(first.secret, made.encryptedRecoveryCode!, RECOVERY_CODE_INFO));
  expect(await outcome(signWith(w, attacker, 'before'))).toBe('OK');
  const next = codeKeys();
  const reset = await rpc.call('resetPin', {
    userId: USER,
    walletId: w.walletId,
    sealedBlob: w.blob,
    recoveryPublicKey: next.publicKey,
    resetEnvelope: env({
      ...freshBinding({ purpose: 'reset-pin', sub: USER, walletId: w.walletId, digest: next.digest }),
      recoveryCode: code,
      newPin: '270394',
    }),
  });
  w.blob = reset.sealedBlob!;
  expect((await factors(w)).map((f) => f.kind)).toEqual(['pin', 'recovery-code']);
  expect(await outcome(signWith(w, attacker, 'after'))).toBe('FACTOR_NOT_FOUND');
  expect(await outcome(signWithPin(w, 'hello', '270394'))).toBe('OK');
  // The user adds their own passkey again.
  expect(await addPasskey(w, new SoftwareAuthenticator(), { pin: '270394' })).toBe('OK');
});

test('16 passkey signatures at once on one wallet: a zero-counter passkey signs them all; a counting one never accepts a counter twice', async () => {
  const w = await newWallet();
  const synced = new SoftwareAuthenticator({ counting: false, algorithm: -8 });
  expect(await addPasskey(w, synced)).toBe('OK');
  const texts = Array.from({ length: 16 }, (_, i) => `concurrent ${i}`);
  const results = await Promise.all(texts.map((t) => signWith(w, synced, t)));
  for (const [i, r] of results.entries()) expect(await recoverMessageAddress({ message: texts[i]!, signature: toHex(r.signature!) })).toBe(w.address);
  expect(await failures(w.walletId)).toBe(0);

  // A counting authenticator: its assertions made in order (1..16) and sent together. Each is signed or refused
  // for its counter; no counter is accepted twice, and the stored one is the highest accepted.
  const w2 = await newWallet();
  const counting = new SoftwareAuthenticator();
  expect(await addPasskey(w2, counting)).toBe('OK'); // counter 1
  const made = texts.map((t) => {
    const binding = signBinding(w2, t);
    const a = counting.assert(binding);
    return { t, counter: a.counter, envelope: env({ ...binding, passkey: a.passkey, prf: a.prf }) };
  });
  const outcomes = await Promise.all(made.map((m) => outcome(signEnvelope(w2, m.t, m.envelope))));
  expect(outcomes.every((o) => ['OK', 'PASSKEY_INVALID:counter', 'PASSKEY_LOCKED'].includes(o))).toBe(true);
  const accepted = made.filter((_, i) => outcomes[i] === 'OK').map((m) => m.counter);
  expect(accepted.length).toBeGreaterThan(0);
  const key = createHash('sha256').update(counting.credentialId).digest('hex');
  expect(Number((await guardItem(w2.walletId))[`ctr:${key}`]!.N)).toBe(Math.max(...accepted));
});

test('every operation that takes a PIN takes a passkey: derive an account, export, a new recovery code, change the PIN', async () => {
  const w = await newWallet();
  const auth = new SoftwareAuthenticator({ algorithm: -8 });
  expect(await addPasskey(w, auth)).toBe('OK');
  const by = (b: PasskeyBinding): EnvelopeBody => {
    const a = auth.assert(b);
    return { ...b, passkey: a.passkey, prf: a.prf };
  };
  const derived = await rpc.call('deriveAccount', {
    userId: USER,
    walletId: w.walletId,
    sealedBlob: w.blob,
    network: 2,
    index: 1,
    pinEnvelope: env(by(freshBinding({ purpose: 'derive-account', sub: USER, walletId: w.walletId }))),
  });
  expect(derived.account?.address).toMatch(/^[1-9A-HJ-NP-Za-km-z]{32,44}$/);

  const { x25519 } = await import('@noble/curves/ed25519.js');
  const secret = x25519.utils.randomSecretKey();
  const recipient = x25519.getPublicKey(secret);
  const digest = toHex(createHash('sha256').update(recipient).digest());
  const exported = await rpc.call('export', {
    userId: USER,
    walletId: w.walletId,
    sealedBlob: w.blob,
    recipientPublicKey: recipient,
    pinEnvelope: env(by(freshBinding({ purpose: 'export', sub: USER, walletId: w.walletId, digest }))),
  });
  expect(exported.encryptedRecoveryPhrase?.length).toBeGreaterThan(32);

  const renewed = await rpc.call('newRecoveryCode', {
    userId: USER,
    walletId: w.walletId,
    sealedBlob: w.blob,
    recoveryPublicKey: recipient,
    pinEnvelope: env(by(freshBinding({ purpose: 'recovery-code', sub: USER, walletId: w.walletId, digest }))),
  });
  w.blob = renewed.sealedBlob!;
  expect((await factors(w)).map((f) => f.kind)).toEqual(['pin', 'recovery-code', 'passkey']);

  const changed = await rpc.call('changePin', {
    userId: USER,
    walletId: w.walletId,
    sealedBlob: w.blob,
    pinEnvelope: env({ ...by(freshBinding({ purpose: 'change-pin', sub: USER, walletId: w.walletId })), newPin: '270394' }),
  });
  w.blob = changed.sealedBlob!;
  expect(await outcome(signWithPin(w))).toBe('PIN_INVALID');
  expect(await outcome(signWithPin(w, 'hello', '270394'))).toBe('OK');
  expect(await outcome(signWith(w, auth))).toBe('OK'); // the passkey slot is kept through every re-seal
  expect((await factors(w)).map((f) => f.kind)).toEqual(['pin', 'recovery-code', 'passkey']);
});
