/**
 * HPKE (RFC 9180) base mode with the suite of SPEC §6:
 * DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / ChaCha20-Poly1305, through the
 * maintained @hpke/* packages. Wire form everywhere: enc (32 bytes) ‖ ciphertext.
 */
import { Chacha20Poly1305 } from '@hpke/chacha20poly1305';
import { CipherSuite, HkdfSha256 } from '@hpke/core';
import { DhkemX25519HkdfSha256 } from '@hpke/dhkem-x25519';

/** HPKE `info` of PIN envelopes (client → enclave). */
export const PIN_ENVELOPE_INFO = new TextEncoder().encode('enclave-wallet/pin-envelope/v1');
/** HPKE `info` of exported recovery phrases (enclave → client). */
export const RECOVERY_PHRASE_INFO = new TextEncoder().encode('enclave-wallet/recovery-phrase/v1');
/** Length of an X25519 encapsulated key. */
export const ENC_BYTES = 32;
/** ChaCha20-Poly1305 tag length. */
const TAG_BYTES = 16;

export const suite = new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Chacha20Poly1305() });

type KeyPair = Awaited<ReturnType<typeof suite.kem.generateKeyPair>>;

/** A fresh ArrayBuffer holding exactly `b` (Buffer#slice shares memory, so copy explicitly). */
function toArrayBuffer(b: Uint8Array): ArrayBuffer {
  const copy = new Uint8Array(b.length);
  copy.set(b);
  return copy.buffer;
}

/** The enclave's envelope key pair, made at start-up and never exported. */
export class EnvelopeKey {
  private constructor(
    private readonly keyPair: KeyPair,
    /** Raw X25519 public key (32 bytes), bound into attestation documents. */
    readonly publicKey: Uint8Array,
  ) {}

  static async generate(): Promise<EnvelopeKey> {
    const keyPair = await suite.kem.generateKeyPair();
    return new EnvelopeKey(keyPair, new Uint8Array(await suite.kem.serializePublicKey(keyPair.publicKey)));
  }

  /** From raw keys: for published test vectors only. */
  static async fromRawKeys(privateKey: Uint8Array, publicKey: Uint8Array): Promise<EnvelopeKey> {
    const keyPair: KeyPair = {
      privateKey: await suite.kem.deserializePrivateKey(toArrayBuffer(privateKey)),
      publicKey: await suite.kem.deserializePublicKey(toArrayBuffer(publicKey)),
    };
    return new EnvelopeKey(keyPair, Uint8Array.from(publicKey));
  }

  /**
   * Opens `enc ‖ ciphertext`.
   *
   * @throws {Error} when it does not decrypt (callers map this to one error code)
   */
  async open(wire: Uint8Array, info: Uint8Array, aad: Uint8Array = new Uint8Array(0)): Promise<Uint8Array> {
    if (wire.length < ENC_BYTES + TAG_BYTES) throw new Error('envelope too short');
    const plaintext = await suite.open(
      { recipientKey: this.keyPair, enc: toArrayBuffer(wire.subarray(0, ENC_BYTES)), info: toArrayBuffer(info) },
      toArrayBuffer(wire.subarray(ENC_BYTES)),
      toArrayBuffer(aad),
    );
    return new Uint8Array(plaintext);
  }
}

/** Seals `plaintext` to a raw X25519 public key; returns enc ‖ ciphertext. */
export async function sealTo(recipientPublicKey: Uint8Array, info: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array> {
  const recipient = await suite.kem.deserializePublicKey(toArrayBuffer(recipientPublicKey));
  const { enc, ct } = await suite.seal({ recipientPublicKey: recipient, info: toArrayBuffer(info) }, toArrayBuffer(plaintext));
  const out = new Uint8Array(enc.byteLength + ct.byteLength);
  out.set(new Uint8Array(enc), 0);
  out.set(new Uint8Array(ct), enc.byteLength);
  return out;
}
