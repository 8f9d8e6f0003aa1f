/**
 * Key slots and the recovery code, over TCP against the real enclave server
 * (simulated NSM, local KMS, dynalite guard), with envelopes and the code's
 * HPKE opened by the independent implementation: the code reaches only the
 * holder of the recovery key; a PIN locked for wrong guesses is reset with
 * it; old PIN, old code, replayed envelopes, swapped keys, typos and other
 * users' wallets are refused.
 */
import { x25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashMessage, toHex } from 'viem';
import { verifyAttestationDocument } from '@enclave-wallet/client';
import { createEnclaveService, createLogger, startEnclaveServer } from '@enclave-wallet/enclave';
import { testStartupConfig } from '../support/startup.js';
import { EnclaveWalletError, formatRecoveryCode, RECOVERY_CODE_INFO, RpcClient, type RpcServer } from '@enclave-wallet/proto';
import { LOCAL_GUARD_TABLE } from '@enclave-wallet/devtools';
import { readDevRoot } from '../../devtools/src/nsm/index.js';
import { hpkeOpen } from '../support/hpke-reference.js';
import { sealEnvelope, type EnvelopeBody } from '../support/envelopes.js';
import { startLocalAws, type LocalAws } from '../support/local-aws.js';

const dir = mkdtempSync(join(tmpdir(), 'recovery-'));
const caDir = join(dir, 'dev-ca');
let aws: LocalAws;
let enclave: RpcServer;
let rpc: RpcClient;
let envelopeKey: Uint8Array;
const USER = 'user-alice';
const WALLET = 'wallet-r';

beforeAll(async () => {
  const service = await createEnclaveService(testStartupConfig(caDir));
  aws = await startLocalAws(dir, caDir);
  enclave = await startEnclaveServer({ listen: 'tcp://127.0.0.1:0', logger: createLogger('error', () => {}), service });
  rpc = await RpcClient.connect(enclave.address);
  await rpc.call('init', aws.initRequest());
  envelopeKey = verifyAttestationDocument((await rpc.call('getAttestation', {})).document!, { root: readDevRoot(caDir) }).publicKey!;
});
afterAll(async () => {
  rpc.close();
  await enclave.close();
  await aws.close();
});

const env = (body: EnvelopeBody): Uint8Array => sealEnvelope(envelopeKey, body);
const codeOf = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'OK',
    (e: unknown) => (e instanceof EnclaveWalletError ? e.code : `UNTYPED ${String(e)}`),
  );
/** A client's recovery key pair, and the digest its envelopes bind. */
function recoveryKeys(): { secret: Uint8Array; publicKey: Uint8Array; digest: string } {
  const secret = x25519.utils.randomSecretKey();
  const publicKey = x25519.getPublicKey(secret);
  return { secret, publicKey, digest: toHex(sha256(publicKey)) };
}
const openCode = (secret: Uint8Array, sealed: Uint8Array | null | undefined): string => formatRecoveryCode(hpkeOpen(secret, sealed!, RECOVERY_CODE_INFO));
const codeGuesses = async (): Promise<number> =>
  Object.keys(
    (await aws.dynamo.send(new GetItemCommand({ TableName: LOCAL_GUARD_TABLE, Key: { pk: { S: `wallet#${WALLET}` } }, ConsistentRead: true }))).Item
      ?.codeGuesses?.M ?? {},
  ).length;

test('create with a recovery key, lock the PIN, reset with the code; old PIN, old code, old blob and replays fail', async () => {
  const keys = recoveryKeys();
  // A host that swaps in a key of its own gets a refusal, not the code.
  const evil = recoveryKeys();
  expect(
    await codeOf(
      rpc.call('createWallet', {
        userId: USER,
        walletId: WALLET,
        recoveryPublicKey: evil.publicKey,
        pinEnvelope: env({ purpose: 'create-wallet', sub: USER, digest: keys.digest, pin: '493817' }),
      }),
    ),
  ).toBe('ENVELOPE_MISMATCH');
  const created = await rpc.call('createWallet', {
    userId: USER,
    walletId: WALLET,
    recoveryPublicKey: keys.publicKey,
    pinEnvelope: env({ purpose: 'create-wallet', sub: USER, digest: keys.digest, pin: '493817' }),
  });
  const code = openCode(keys.secret, created.encryptedRecoveryCode);
  expect(code).toMatch(/^([0-9A-HJKMNP-TV-Z]{4}-){6}[0-9A-HJKMNP-TV-Z]{4}$/);
  const before = created.sealedBlob!;
  const address = created.accounts![0]!.address!;
  const sign = (pin: string, blob = before): Promise<string> =>
    codeOf(
      rpc.call('sign', {
        userId: USER,
        walletId: WALLET,
        sealedBlob: blob,
        network: 1,
        address,
        evmMessage: { text: 'hi' },
        pinEnvelope: env({ purpose: 'sign', sub: USER, walletId: WALLET, network: 'evm', kind: 'evm-message', address, digest: hashMessage('hi'), pin }),
      }),
    );
  for (let i = 0; i < 5; i++) await sign(`10000${i}`);
  expect(await sign('493817')).toBe('PIN_LOCKED');

  const next = recoveryKeys();
  const reset = (typed: string, newPin = '270394', keysFor = next, userId = USER) =>
    rpc.call('resetPin', {
      userId,
      walletId: WALLET,
      sealedBlob: before,
      recoveryPublicKey: keysFor.publicKey,
      resetEnvelope: env({ purpose: 'reset-pin', sub: userId, walletId: WALLET, digest: keysFor.digest, recoveryCode: typed, newPin }),
    });
  // A typo costs no attempt: refused before the guard is written.
  const typo = (code[0] === 'A' ? 'B' : 'A') + code.slice(1);
  expect(await codeOf(reset(typo))).toBe('RECOVERY_CODE_INVALID');
  expect(await codeOf(reset(code.slice(0, -2)))).toBe('RECOVERY_CODE_INVALID');
  expect(await codeGuesses()).toBe(0);
  // Another user's reset of this wallet: refused.
  expect(await codeOf(reset(code, '270394', next, 'user-mallory'))).not.toBe('OK');
  // Lowercase, spaces instead of dashes: accepted.
  const resetEnvelope = env({
    purpose: 'reset-pin',
    sub: USER,
    walletId: WALLET,
    digest: next.digest,
    recoveryCode: code.toLowerCase().replaceAll('-', ' '),
    newPin: '270394',
  });
  const done = await rpc.call('resetPin', { userId: USER, walletId: WALLET, sealedBlob: before, recoveryPublicKey: next.publicKey, resetEnvelope });
  const newCode = openCode(next.secret, done.encryptedRecoveryCode);
  expect(newCode).not.toBe(code);
  const after = done.sealedBlob!;
  expect(await sign('270394', after)).toBe('OK');
  expect(await sign('493817', after)).toBe('PIN_INVALID');
  // The pre-reset blob put back: the guard's current one is opened.
  expect(await sign('493817', before)).toBe('PIN_INVALID');
  expect(await sign('270394', before)).toBe('OK');
  // The reset envelope replayed, and the used code again: refused.
  expect(await codeOf(rpc.call('resetPin', { userId: USER, walletId: WALLET, sealedBlob: after, recoveryPublicKey: next.publicKey, resetEnvelope }))).toBe(
    'ENVELOPE_REPLAYED',
  );
  expect(await codeOf(reset(code))).toBe('RECOVERY_CODE_WRONG');

  // A new code with the PIN: the newest works, the one before stops.
  const third = recoveryKeys();
  const renewed = await rpc.call('newRecoveryCode', {
    userId: USER,
    walletId: WALLET,
    sealedBlob: after,
    recoveryPublicKey: third.publicKey,
    pinEnvelope: env({ purpose: 'recovery-code', sub: USER, walletId: WALLET, digest: third.digest, pin: '270394' }),
  });
  const thirdCode = openCode(third.secret, renewed.encryptedRecoveryCode);
  expect(await codeOf(reset(newCode, '381946'))).toBe('RECOVERY_CODE_WRONG');
  expect(await codeOf(reset(thirdCode, '381946'))).toBe('OK');

  const { factors } = await rpc.call('listFactors', { userId: USER, walletId: WALLET, sealedBlob: after });
  expect(factors!.map((f) => f.kind)).toEqual(['pin', 'recovery-code']);
  expect(factors!.every((f) => Number(f.createdAtMs) > 0)).toBe(true);
  // Both slots were made by the last reset and not used since (a predecessor's use is not theirs).
  expect(factors!.map((f) => Number(f.lastUsedAtMs) > 0)).toEqual([false, false]);
}, 120_000);

test('a recovery key the code cannot be sealed to (a low-order point) changes nothing: no wallet claimed, no code replaced', async () => {
  const zero = new Uint8Array(32);
  const digest = toHex(sha256(zero));
  expect(
    await codeOf(
      rpc.call('createWallet', {
        userId: USER,
        walletId: 'wallet-low-order',
        recoveryPublicKey: zero,
        pinEnvelope: env({ purpose: 'create-wallet', sub: USER, digest, pin: '493817' }),
      }),
    ),
  ).toBe('RECIPIENT_KEY_INVALID');
  // The id was not claimed: the same id with a good key works.
  const keys = recoveryKeys();
  const made = await rpc.call('createWallet', {
    userId: USER,
    walletId: 'wallet-low-order',
    recoveryPublicKey: keys.publicKey,
    pinEnvelope: env({ purpose: 'create-wallet', sub: USER, digest: keys.digest, pin: '493817' }),
  });
  const code = openCode(keys.secret, made.encryptedRecoveryCode);
  expect(
    await codeOf(
      rpc.call('newRecoveryCode', {
        userId: USER,
        walletId: 'wallet-low-order',
        sealedBlob: made.sealedBlob,
        recoveryPublicKey: zero,
        pinEnvelope: env({ purpose: 'recovery-code', sub: USER, walletId: 'wallet-low-order', digest, pin: '493817' }),
      }),
    ),
  ).toBe('RECIPIENT_KEY_INVALID');
  // The old code still works: nothing was committed.
  const next = recoveryKeys();
  const reset = await rpc.call('resetPin', {
    userId: USER,
    walletId: 'wallet-low-order',
    sealedBlob: made.sealedBlob,
    recoveryPublicKey: next.publicKey,
    resetEnvelope: env({ purpose: 'reset-pin', sub: USER, walletId: 'wallet-low-order', digest: next.digest, recoveryCode: code, newPin: '270394' }),
  });
  expect(reset.encryptedRecoveryCode?.length).toBeGreaterThan(0);
}, 60_000);
