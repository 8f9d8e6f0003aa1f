/**
 * WebAuthn assertion checks (Level 3 §7.2, those that apply here; docs/passkeys.md): the client data's type,
 * challenge and origin, the RP id hash, the user-present and user-verified flags, and the signature under the
 * credential's key, verified with node:crypto. The counter and the PRF output are checked by the caller (they
 * need the guard and the slot). Pure apart from a bounded cache of imported public keys (passkeyKeys).
 */
import { constants, createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { equalBytes, toHex } from '@enclave-wallet/proto/bytes';
import { PASSKEY_ALGORITHMS, toBase64Url } from '@enclave-wallet/proto/passkey';
import { BoundedCache } from '../cache.js';

/** What a failed check names (Error.reason of PASSKEY_INVALID). */
export type PasskeyReason =
  'credential' | 'type' | 'challenge' | 'origin' | 'rp-id' | 'user-present' | 'user-verified' | 'signature' | 'counter' | 'public-key' | 'prf';

/** A check that failed; the caller turns it into PASSKEY_INVALID (counted, when the assertion was to open a wallet). */
export class PasskeyRefusal extends Error {
  override readonly name = 'PasskeyRefusal';
  constructor(
    readonly reason: PasskeyReason,
    message: string,
  ) {
    super(message);
  }
}

/** An assertion as the envelope carries it (decoded from base64url). */
export interface Assertion {
  credentialId: Uint8Array;
  authenticatorData: Uint8Array;
  clientDataJSON: Uint8Array;
  signature: Uint8Array;
}

/** What an assertion is checked against: the challenge of the envelope's binding, and the slot's credential. */
export interface AssertionExpectation {
  challenge: Uint8Array;
  rpId: string;
  origins: readonly string[];
  algorithm: number;
  publicKey: Uint8Array;
}

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const sha256 = (data: Uint8Array): Buffer => createHash('sha256').update(data).digest();

/**
 * Public keys already imported, by algorithm and SPKI (public: nothing to zero), so that a passkey used again
 * is not parsed again: bounded, and each kept ten minutes (the enclave's one cache, cache.ts). Exported for tests.
 */
export const passkeyKeys = new BoundedCache<string, KeyObject>({ maxEntries: 1024, ttlMs: 10 * 60_000 });

/** RS256 keys taken: a modulus of 2048 to 4096 bits (what authenticators make; smaller is breakable), e = 65537. */
const RSA_MIN_BITS = 2048;
export const RSA_MAX_BITS = 4096;
const RSA_EXPONENT = 65537n;

/**
 * The credential's public key (SPKI DER) as a node:crypto key, if it is one of the algorithm named: ES256 a
 * P-256 EC key, EdDSA an Ed25519 key, RS256 an RSA key (not RSA-PSS) of 2048 to 4096 bits with e = 65537.
 * @throws {PasskeyRefusal} public-key
 */
export function importPasskeyKey(algorithm: number, spki: Uint8Array): KeyObject {
  const id = `${algorithm}:${toHex(spki)}`;
  const cached = passkeyKeys.get(id);
  if (cached) return cached;
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch {
    throw new PasskeyRefusal('public-key', 'the passkey’s public key is not a SubjectPublicKeyInfo');
  }
  const details = key.asymmetricKeyDetails;
  const ok =
    algorithm === PASSKEY_ALGORITHMS.ES256
      ? key.asymmetricKeyType === 'ec' && details?.namedCurve === 'prime256v1'
      : algorithm === PASSKEY_ALGORITHMS.EdDSA
        ? key.asymmetricKeyType === 'ed25519'
        : algorithm === PASSKEY_ALGORITHMS.RS256 &&
          key.asymmetricKeyType === 'rsa' &&
          details?.modulusLength !== undefined &&
          details.modulusLength >= RSA_MIN_BITS &&
          details.modulusLength <= RSA_MAX_BITS &&
          details.publicExponent === RSA_EXPONENT;
  if (!ok)
    throw new PasskeyRefusal(
      'public-key',
      'a passkey is ES256 (P-256), EdDSA (Ed25519) or RS256 (RSA of 2048 to 4096 bits, e = 65537), and its key must be of that algorithm',
    );
  passkeyKeys.set(id, key);
  return key;
}

/**
 * Checks an assertion: everything but the counter and the PRF output. Returns its signature counter.
 *
 * @throws {PasskeyRefusal} type, challenge, origin, rp-id, user-present, user-verified, signature, public-key
 */
export function checkAssertion(a: Assertion, expect: AssertionExpectation): { signCount: number } {
  let client: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(a.clientDataJSON));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    client = parsed as Record<string, unknown>;
  } catch {
    throw new PasskeyRefusal('type', 'clientDataJSON is not a JSON object');
  }
  if (client.type !== 'webauthn.get') throw new PasskeyRefusal('type', 'the client data is not of an assertion (webauthn.get)');
  if (client.challenge !== toBase64Url(expect.challenge)) throw new PasskeyRefusal('challenge', 'the assertion was made for another challenge');
  if (typeof client.origin !== 'string' || !expect.origins.includes(client.origin))
    throw new PasskeyRefusal('origin', 'the assertion was made on an origin this passkey does not belong to');
  // Only a top-level page of the slot's origin: crossOrigin absent or false, and no topOrigin (set only in frames).
  if ((client.crossOrigin !== undefined && client.crossOrigin !== false) || client.topOrigin !== undefined)
    throw new PasskeyRefusal('origin', 'the assertion was made in a cross-origin frame');
  const data = a.authenticatorData;
  if (data.length < 37) throw new PasskeyRefusal('rp-id', 'the authenticator data is truncated');
  if (!equalBytes(sha256(new TextEncoder().encode(expect.rpId)), data.subarray(0, 32)))
    throw new PasskeyRefusal('rp-id', 'the assertion was made for another relying party');
  const flags = data[32]!;
  if (!(flags & FLAG_UP)) throw new PasskeyRefusal('user-present', 'the user was not present');
  if (!(flags & FLAG_UV)) throw new PasskeyRefusal('user-verified', 'the user was not verified');
  const key = importPasskeyKey(expect.algorithm, expect.publicKey);
  const signed = Buffer.concat([data, sha256(a.clientDataJSON)]);
  let valid: boolean;
  try {
    valid =
      expect.algorithm === PASSKEY_ALGORITHMS.ES256
        ? verify('sha256', signed, { key, dsaEncoding: 'der' }, a.signature)
        : expect.algorithm === PASSKEY_ALGORITHMS.RS256
          ? verify('sha256', signed, { key, padding: constants.RSA_PKCS1_PADDING }, a.signature)
          : verify(null, signed, key, a.signature);
  } catch {
    valid = false;
  }
  if (!valid) throw new PasskeyRefusal('signature', 'the assertion’s signature does not verify under the passkey’s key');
  return { signCount: new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(33) };
}
