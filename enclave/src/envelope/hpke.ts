/**
 * HPKE (RFC 9180) base mode, single shot, with the suite of SPEC §6:
 * DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / ChaCha20-Poly1305. X25519 and
 * HMAC-SHA256 on node:crypto (OpenSSL); the AEAD sealed and opened by
 * ../aead.ts (ChaCha20 in WebAssembly memory it zeroes, so that neither the
 * key nor the plaintext is left in freed memory: docs/threat-model.md,
 * "Secrets in memory"). Opening a PIN envelope costs a
 * fraction of a millisecond of the event loop. The envelope private
 * key is an OpenSSL key object that is never exported. Wire form
 * everywhere: enc (32 bytes) ‖ ciphertext ‖ tag.
 *
 * Checked against RFC 9180 A.2.1, the client's @noble implementation and
 * the maintained @hpke/* packages (enclave/test/envelope.test.ts).
 */
import { createHmac, createPublicKey, diffieHellman, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { PIN_ENVELOPE_INFO, RECOVERY_PHRASE_INFO } from '@enclave-wallet/proto';
import { openChaCha20Poly1305, sealChaCha20Poly1305 } from '../aead.js';
import type { SecretBytes } from '../secret.js';

export { PIN_ENVELOPE_INFO, RECOVERY_PHRASE_INFO };
/** Length of an X25519 encapsulated key. */
export const ENC_BYTES = 32;
/** ChaCha20-Poly1305 tag length. */
const TAG_BYTES = 16;

const KEM_ID = 0x0020; // DHKEM(X25519, HKDF-SHA256)
const KDF_ID = 0x0001; // HKDF-SHA256
const AEAD_ID = 0x0003; // ChaCha20-Poly1305
const u16 = (n: number): Buffer => Buffer.from([n >> 8, n & 0xff]);
const KEM_SUITE = Buffer.concat([Buffer.from('KEM'), u16(KEM_ID)]);
const HPKE_SUITE = Buffer.concat([Buffer.from('HPKE'), u16(KEM_ID), u16(KDF_ID), u16(AEAD_ID)]);
const V1 = Buffer.from('HPKE-v1');
const EMPTY = Buffer.alloc(0);

// DER wrapper of a raw X25519 public key (RFC 8410): SubjectPublicKeyInfo.
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
// A raw public key goes in as a JWK: OpenSSL 3 takes it as raw bytes, where a DER key goes through its
// decoder chain (0.03 against 0.2 ms here, once per envelope).
const publicKeyObject = (raw: Uint8Array): KeyObject => {
  if (raw.length !== 32) throw new Error('an X25519 public key is 32 bytes');
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });
};
const rawPublicKey = (key: KeyObject): Uint8Array => new Uint8Array(key.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length));

const hmac = (key: Uint8Array, ...data: Uint8Array[]): Buffer => {
  const h = createHmac('sha256', key);
  for (const d of data) h.update(d);
  return h.digest();
};
const labeledExtract = (suite: Buffer, salt: Uint8Array, label: string, ikm: Uint8Array): Buffer =>
  hmac(salt.length ? salt : Buffer.alloc(32), V1, suite, Buffer.from(label), ikm);
/** HKDF-Expand for L ≤ 32 (one block): every length this suite needs. */
const labeledExpand = (suite: Buffer, prk: Uint8Array, label: string, info: Uint8Array, length: number): Buffer =>
  hmac(prk, u16(length), V1, suite, Buffer.from(label), info, Uint8Array.of(1)).subarray(0, length);

/**
 * mode ‖ psk_id_hash ‖ info_hash (RFC 9180 §5.1): public, and the same for every envelope of one `info`, so
 * computed once per info (the enclave uses a handful of fixed ones; the map is bounded anyway).
 */
const contexts = new Map<string, Buffer>();
function keyScheduleContext(info: Uint8Array): Buffer {
  const id = Buffer.from(info).toString('hex');
  let context = contexts.get(id);
  if (!context) {
    context = Buffer.concat([Uint8Array.of(0), labeledExtract(HPKE_SUITE, EMPTY, 'psk_id_hash', EMPTY), labeledExtract(HPKE_SUITE, EMPTY, 'info_hash', info)]);
    if (contexts.size < 16) contexts.set(id, context);
  }
  return context;
}

/** The DHKEM shared secret and the key schedule (mode base, no PSK): the AEAD key and nonce. */
function contextOf(dh: Buffer, enc: Uint8Array, pkR: Uint8Array, info: Uint8Array): { key: Buffer; nonce: Buffer } {
  const eaePrk = labeledExtract(KEM_SUITE, EMPTY, 'eae_prk', dh);
  const shared = labeledExpand(KEM_SUITE, eaePrk, 'shared_secret', Buffer.concat([enc, pkR]), 32);
  const context = keyScheduleContext(info);
  const secret = labeledExtract(HPKE_SUITE, shared, 'secret', EMPTY);
  const out = { key: labeledExpand(HPKE_SUITE, secret, 'key', context, 32), nonce: labeledExpand(HPKE_SUITE, secret, 'base_nonce', context, 12) };
  for (const b of [dh, eaePrk, shared, secret]) b.fill(0);
  return out;
}

/** The enclave's envelope key pair, made at start-up and never exported. */
export class EnvelopeKey {
  private constructor(
    private readonly privateKey: KeyObject,
    /** Raw X25519 public key (32 bytes), bound into attestation documents. */
    readonly publicKey: Uint8Array,
  ) {}

  static async generate(): Promise<EnvelopeKey> {
    const { privateKey, publicKey } = generateKeyPairSync('x25519');
    return new EnvelopeKey(privateKey, rawPublicKey(publicKey));
  }

  /**
   * Opens `enc ‖ ciphertext ‖ tag`; the plaintext is a SecretBytes the caller disposes.
   *
   * @throws {Error} when it does not decrypt (callers map this to one error code)
   */
  async open(wire: Uint8Array, info: Uint8Array, aad: Uint8Array = new Uint8Array(0)): Promise<SecretBytes> {
    if (wire.length < ENC_BYTES + TAG_BYTES) throw new Error('envelope too short');
    const enc = wire.subarray(0, ENC_BYTES);
    const dh = diffieHellman({ privateKey: this.privateKey, publicKey: publicKeyObject(enc) });
    if (dh.every((b) => b === 0)) throw new Error('the encapsulated key is a low-order point');
    const { key, nonce } = contextOf(dh, enc, this.publicKey, info);
    try {
      // Not node:crypto's Decipher, which frees an unzeroed copy of the plaintext (threat-model.md).
      return openChaCha20Poly1305(key, nonce, aad, wire.subarray(ENC_BYTES)); // throws when the tag does not verify
    } finally {
      key.fill(0);
    }
  }
}

/** Seals `plaintext` to a raw X25519 public key; returns enc ‖ ciphertext ‖ tag. */
export async function sealTo(recipientPublicKey: Uint8Array, info: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array> {
  const recipient = publicKeyObject(recipientPublicKey);
  const ephemeral = generateKeyPairSync('x25519');
  const enc = rawPublicKey(ephemeral.publicKey);
  const dh = diffieHellman({ privateKey: ephemeral.privateKey, publicKey: recipient });
  if (dh.every((b) => b === 0)) throw new Error('the recipient key is a low-order point');
  const { key, nonce } = contextOf(dh, enc, recipientPublicKey, info);
  try {
    const sealed = sealChaCha20Poly1305(key, nonce, new Uint8Array(0), plaintext);
    const wire = new Uint8Array(ENC_BYTES + sealed.length);
    wire.set(enc);
    wire.set(sealed, ENC_BYTES);
    return wire;
  } finally {
    key.fill(0);
  }
}
