/**
 * XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03) for the sealed blob and its key slots, with OpenSSL doing the
 * bulk: the 24-byte nonce's first 16 bytes and the key give a subkey by HChaCha20 (one ChaCha block: noble's
 * `hchacha`), and the subkey with the nonce's last 8 bytes (after four zero bytes) is ChaCha20-Poly1305 of
 * RFC 8439, which node:crypto has natively. Byte-for-byte what `@noble/ciphers`' xchacha20poly1305 gives (the
 * blobs sealed before are opened unchanged); checked against it and against the draft's A.3.1 example
 * (enclave/test/aead.test.ts). Why not noble's whole cipher: every signature opens a slot and a secret, and
 * its JavaScript ChaCha and Poly1305 cost about a tenth of a millisecond of the enclave's core each time.
 *
 * A decrypted plaintext is in memory of its own (OpenSSL's output buffer, not Node's shared pool), the
 * caller's to zero; a plaintext that fails its tag is zeroed here before the error.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { endianness } from 'node:os';
import { hchacha } from '@noble/ciphers/chacha.js';

const KEY_BYTES = 32;
const NONCE_BYTES = 24;
const TAG_BYTES = 16;

// hchacha takes native-endian words; the enclave runs on x86-64 or Graviton (both little-endian).
if (endianness() !== 'LE') throw new Error('aead.ts expects a little-endian machine');
const SIGMA = new Uint32Array(new Uint8Array(Buffer.from('expand 32-byte k', 'latin1')).buffer);

/** The ChaCha20-Poly1305 key and 12-byte nonce of an XChaCha20-Poly1305 key and 24-byte nonce. */
function subkeyOf(key: Uint8Array, nonce: Uint8Array): { subkey: Uint8Array; iv: Uint8Array } {
  if (key.length !== KEY_BYTES) throw new RangeError('an XChaCha20-Poly1305 key is 32 bytes');
  if (nonce.length !== NONCE_BYTES) throw new RangeError('an XChaCha20-Poly1305 nonce is 24 bytes');
  const words = new Uint32Array(8 + 4 + 8); // key, nonce prefix, subkey: aligned copies, zeroed by the caller
  const bytes = new Uint8Array(words.buffer);
  bytes.set(key, 0);
  bytes.set(nonce.subarray(0, 16), 32);
  hchacha(SIGMA, words.subarray(0, 8), words.subarray(8, 12), words.subarray(12, 20));
  bytes.fill(0, 0, 32);
  const iv = new Uint8Array(12);
  iv.set(nonce.subarray(16), 4);
  return { subkey: bytes.subarray(48, 80), iv };
}

export interface Aead {
  /** ciphertext ‖ tag. */
  encrypt(plaintext: Uint8Array): Uint8Array;
  /** @throws {Error} when the tag does not match (a wrong key, nonce, AAD or an altered ciphertext) */
  decrypt(sealed: Uint8Array): Uint8Array;
}

/** XChaCha20-Poly1305 under `key` (32 bytes) and `nonce` (24 bytes), binding `aad`. */
export function xchacha20poly1305(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array): Aead {
  return {
    encrypt(plaintext) {
      const { subkey, iv } = subkeyOf(key, nonce);
      try {
        const cipher = createCipheriv('chacha20-poly1305', subkey, iv, { authTagLength: TAG_BYTES });
        cipher.setAAD(aad, { plaintextLength: plaintext.length });
        const body = cipher.update(plaintext);
        cipher.final();
        const out = new Uint8Array(body.length + TAG_BYTES);
        out.set(body, 0);
        out.set(cipher.getAuthTag(), body.length);
        return out;
      } finally {
        subkey.fill(0);
      }
    },
    decrypt(sealed) {
      if (sealed.length < TAG_BYTES) throw new Error('ciphertext shorter than its tag');
      const { subkey, iv } = subkeyOf(key, nonce);
      let plaintext: Buffer | undefined;
      try {
        const decipher = createDecipheriv('chacha20-poly1305', subkey, iv, { authTagLength: TAG_BYTES });
        const bodyLength = sealed.length - TAG_BYTES;
        decipher.setAAD(aad, { plaintextLength: bodyLength });
        decipher.setAuthTag(sealed.subarray(bodyLength));
        plaintext = decipher.update(sealed.subarray(0, bodyLength));
        decipher.final(); // throws on a wrong tag
        return new Uint8Array(plaintext.buffer, plaintext.byteOffset, plaintext.length);
      } catch (err) {
        plaintext?.fill(0);
        throw err;
      } finally {
        subkey.fill(0);
      }
    },
  };
}
