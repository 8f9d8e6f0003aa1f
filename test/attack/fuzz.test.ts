/**
 * Property tests (fast-check) over every decoder the enclave runs on input a
 * hostile host controls — PIN envelopes, sealed blobs, KMS CMS answers,
 * Solana messages, EVM transactions, EIP-712 — and over the HTTP API: no
 * untyped failure, no crash, no hang, and no secret in an error message.
 */
import fc from 'fast-check';
import { generateKeyPairSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { EnclaveWalletError } from '@enclave-wallet/proto';
import { parseUserId, parseWalletId } from '@enclave-wallet/proto/ids';
import { EnvelopeKey, PIN_ENVELOPE_INFO } from '../../enclave/src/envelope/hpke.js';
import { ReplayCache } from '../../enclave/src/envelope/pin-envelope.js';
import { openPinEnvelope } from '../../enclave/test/support/pin-envelope.js';
import { CmsError, decryptCiphertextForRecipient } from '../../enclave/src/kms/cms.js';
import { decodeBlob } from '../../enclave/src/sealing/blob.js';
import { prepareEvmTransaction, typedDataDigest } from '../../enclave/src/signing/evm.js';
import { parseSolanaTransaction } from '../../enclave/src/signing/solana.js';
import { hpkeSeal, wireOf } from '../support/hpke-reference.js';
import { startStack, type Stack } from '../support/stack.js';

const SECRET_PIN = '864213';
const SECRET_WORDS = 'zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo wrong';

/** Runs `fn`; it may return or throw an EnclaveWalletError (or the allowed class), nothing else, and fast. */
function typedOnly(fn: () => unknown, allowed: Array<new (...a: never[]) => Error> = [EnclaveWalletError], maxMs = 1000): void {
  const t = performance.now();
  try {
    fn();
  } catch (err) {
    if (!allowed.some((A) => err instanceof A)) throw new Error(`untyped failure: ${String(err)}`);
    const message = (err as Error).message;
    if (message.includes(SECRET_PIN) || message.includes(SECRET_WORDS)) throw new Error(`a secret in an error message: ${message}`);
  }
  const ms = performance.now() - t;
  if (ms > maxMs) throw new Error(`took ${ms.toFixed(0)} ms`);
}

describe('enclave decoders', () => {
  test('PIN envelopes: random wires and random plaintexts (with a PIN and a phrase in them) fail typed, never quoting them', async () => {
    const key = await EnvelopeKey.generate();
    const replay = new ReplayCache();
    const binding = {
      purpose: 'sign' as const,
      sub: parseUserId('u'),
      walletId: parseWalletId('w'),
      digest: '0x' + '11'.repeat(32),
      network: 'evm',
      address: '0x' + '22'.repeat(20),
      kind: 'evm-message' as const,
    };
    const plaintext = fc.oneof(
      fc.uint8Array({ maxLength: 600 }),
      fc
        .record(
          {
            v: fc.oneof(fc.constant(1), fc.jsonValue()),
            purpose: fc.oneof(fc.constantFrom('sign', 'export', 'create-wallet'), fc.string()),
            sub: fc.oneof(fc.constant('u'), fc.string()),
            walletId: fc.oneof(fc.constant('w'), fc.string()),
            digest: fc.oneof(fc.constant(binding.digest), fc.string()),
            network: fc.oneof(fc.constant('evm'), fc.string()),
            address: fc.oneof(fc.constant(binding.address), fc.string()),
            kind: fc.oneof(fc.constant(binding.kind), fc.constantFrom('solana-message', 'evm-transaction'), fc.string()),
            exp: fc.oneof(fc.integer(), fc.jsonValue()),
            nonce: fc.oneof(fc.string(), fc.jsonValue()),
          },
          { requiredKeys: [] },
        )
        .map((o) => new TextEncoder().encode(JSON.stringify({ ...o, pin: SECRET_PIN, newPin: SECRET_PIN, mnemonic: SECRET_WORDS }))),
    );
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.uint8Array({ maxLength: 200 }), plaintext, async (sealed, rawWire, body) => {
        const wire = sealed ? wireOf(hpkeSeal(key.publicKey, PIN_ENVELOPE_INFO, body)) : rawWire;
        try {
          await openPinEnvelope(key, wire, binding, replay, Math.floor(Date.now() / 1000));
        } catch (err) {
          expect(err).toBeInstanceOf(EnclaveWalletError);
          expect((err as Error).message).not.toContain(SECRET_PIN);
          expect((err as Error).message).not.toContain('zoo zoo');
          expect(JSON.stringify((err as EnclaveWalletError).details)).not.toContain(SECRET_PIN);
        }
      }),
      { numRuns: 300 },
    );
  });

  test('sealed blobs: random bytes and every kind of mutation are BLOB_INVALID', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), fc.boolean(), (bytes, withMagic) => {
        const b = withMagic ? Uint8Array.from([...new TextEncoder().encode('EWSB'), 2, ...bytes]) : bytes;
        typedOnly(() => decodeBlob(b));
      }),
      { numRuns: 2000 },
    );
  });

  test('KMS CiphertextForRecipient: random BER fails with a CMS error, quickly', () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1024 }), fc.boolean(), (bytes, sequence) => {
        const b = sequence ? Uint8Array.from([0x30, 0x80, ...bytes, 0, 0]) : bytes;
        typedOnly(() => decryptCiphertextForRecipient(b, privateKey), [CmsError]);
      }),
      { numRuns: 1000 },
    );
  });

  test('Solana wire transactions: random bytes are TRANSACTION_INVALID (or parse), never a crash', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1400 }), fc.nat(4), (bytes, sigs) =>
        typedOnly(() => parseSolanaTransaction(Uint8Array.from([sigs, ...new Uint8Array(64 * sigs), ...bytes]))),
      ),
      { numRuns: 2000 },
    );
  });

  test('EVM transactions: random field strings are typed refusals', () => {
    const field = fc.oneof(
      fc.string(),
      fc.constantFrom(
        '',
        '0',
        '0x',
        '0x1',
        '-1',
        '1e18',
        '115792089237316195423570985008687907853269984665640564039457584007913129639936',
        '0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
      ),
    );
    fc.assert(
      fc.property(
        fc.constantFrom('legacy', 'eip2930', 'eip1559' as const),
        fc.integer({ min: -5, max: 2 ** 40 }),
        field,
        field,
        field,
        field,
        field,
        field,
        field,
        fc.uint8Array({ maxLength: 64 }),
        (type, chainId, to, value, nonce, gas, gasPrice, maxFee, maxPrio, data) =>
          typedOnly(() =>
            prepareEvmTransaction({
              type: type as 'legacy',
              chainId,
              to,
              value,
              nonce,
              gas,
              gasPrice,
              maxFeePerGas: maxFee,
              maxPriorityFeePerGas: maxPrio,
              data,
              accessList: [],
            }),
          ),
      ),
      { numRuns: 2000 },
    );
  });

  test('EIP-712: random JSON and random typed-data shapes hash or are TYPED_DATA_INVALID, each within a second', () => {
    const typeName = fc.constantFrom('Mail', 'Person', 'A', 'B');
    const fieldType = fc.constantFrom('string', 'uint256', 'address', 'bytes32', 'bool', 'Person', 'Person[]', 'A', 'B[]', 'uint8', 'int256', 'bytes');
    const typed = fc.record({
      types: fc
        .dictionary(typeName, fc.array(fc.record({ name: fc.constantFrom('a', 'b', 'c', 'to', 'from'), type: fieldType }), { maxLength: 4 }))
        .map((t) => ({ EIP712Domain: [{ name: 'name', type: 'string' }], ...t })),
      primaryType: typeName,
      domain: fc.record({ name: fc.string() }),
      message: fc.jsonValue(),
    });
    fc.assert(
      fc.property(
        fc.oneof(
          fc.json(),
          typed.map((t) => JSON.stringify(t)),
        ),
        (json) => typedOnly(() => typedDataDigest(json)),
      ),
      { numRuns: 1500 },
    );
  });
});

describe('HTTP API', () => {
  let stack: Stack;
  let token: string;
  beforeAll(async () => {
    stack = await startStack();
    const idToken = await stack.issuer.sign({ email: 'fuzz@example.com' });
    token = (
      (await (
        await fetch(`${stack.url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ idToken }) })
      ).json()) as { accessToken: string }
    ).accessToken;
  }, 60_000);
  afterAll(() => stack.close());

  test('random bodies on every route: never a 5xx, always the error shape with a stable code', async () => {
    const routes = [
      '/v1/auth/login',
      '/v1/auth/refresh',
      '/v1/wallets',
      '/v1/wallets/import',
      '/v1/wallets/w-1/sign',
      '/v1/wallets/w-1/pin',
      '/v1/wallets/w-1/export',
      '/v1/wallets/w-1/accounts',
    ];
    const body = fc.oneof(
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.string(),
      fc
        .record(
          {
            network: fc.constantFrom('evm', 'solana', 'bitcoin', 'x'),
            kind: fc.constantFrom('transaction', 'message', 'typed-data', 'x'),
            pinEnvelope: fc.base64String(),
            message: fc.jsonValue(),
            transaction: fc.jsonValue(),
            typedData: fc.jsonValue(),
            chainId: fc.jsonValue(),
            recipientPublicKey: fc.base64String(),
            index: fc.jsonValue(),
            idToken: fc.string(),
            refreshToken: fc.string(),
            recoveryEnvelope: fc.base64String(),
          },
          { requiredKeys: [] },
        )
        .map((v) => JSON.stringify(v)),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), body, fc.boolean(), async (route, text, authed) => {
        const res = await fetch(stack.url + route, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(authed ? { authorization: `Bearer ${token}` } : {}) },
          body: text,
        });
        const answer = (await res.json()) as { error?: { code?: string; message?: string } };
        expect(res.status).toBeLessThan(500);
        if (res.status >= 400) expect(answer.error?.code).toMatch(/^[A-Z][A-Z0-9_]+$/);
      }),
      { numRuns: 300 },
    );
  }, 120_000);
});
