/**
 * ChaCha20-Poly1305 (RFC 8439: the PIN envelope's HPKE) and XChaCha20-Poly1305 (the blob and its key slots), opened
 * and sealed without leaving the key, the keystream or the plaintext behind in memory nobody zeroes.
 *
 * The libraries at hand all leave something. node:crypto's `Decipher.update` decrypts into a buffer one byte longer
 * than the plaintext, copies it into an exact one and frees the first unzeroed. @noble/ciphers' stream function
 * copies the key into the V8 heap (where moving it leaves the old copy behind), keeps each 64-byte keystream block in
 * an array it never zeroes, and until V8 optimises it boxes keystream words as heap numbers; with the nonce and the
 * ciphertext (stored with the blob, relayed with the envelope), any of these gives plaintext back.
 *
 * So the stream cipher here is chacha/chacha20.ts (WebAssembly, its memory zeroed after every call), and only
 * Poly1305 is noble's: its one-time key (block 0 of the keystream) is handed over in a buffer this module zeroes, and
 * what noble's Poly1305 keeps of it allows forging a tag for that one key and nonce, not reading anything
 * (docs/threat-model.md, "Secrets in memory"). An open checks the tag (in constant time) before it decrypts a byte.
 *
 * Checked against RFC 8439 §2.8.2, draft-irtf-cfrg-xchacha A.3.1, OpenSSL, and noble's own AEADs on random inputs
 * (enclave/test/aead.test.ts); what is left in memory, from outside the process (enclave/test/aead-residue.test.ts).
 */
import { poly1305 } from '@noble/ciphers/_poly1305.js';
import { equalBytes } from '@noble/ciphers/utils.js';
import { chacha20Xor, xchacha20Xor } from './chacha/chacha20.js';
import { SecretBytes } from './secret.js';

const TAG = 16;
type Stream = typeof chacha20Xor;

/** AAD ‖ pad16 ‖ ciphertext ‖ pad16 ‖ le64(|AAD|) ‖ le64(|ciphertext|): what Poly1305 authenticates (RFC 8439 §2.8). */
function macInput(aad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  const padded = (n: number): number => Math.ceil(n / 16) * 16;
  const at = padded(aad.length);
  const lengths = at + padded(ciphertext.length);
  const out = new Uint8Array(lengths + 16);
  out.set(aad, 0);
  out.set(ciphertext, at);
  const view = new DataView(out.buffer);
  view.setBigUint64(lengths, BigInt(aad.length), true);
  view.setBigUint64(lengths + 8, BigInt(ciphertext.length), true);
  return out;
}

/** The tag of `ciphertext` and `aad`: Poly1305 under the first 32 bytes of block 0's keystream (RFC 8439 §2.6). */
function tagOf(stream: Stream, key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  using oneTimeKey = SecretBytes.alloc(32);
  stream(key, nonce, 0, oneTimeKey, oneTimeKey); // zeros XOR keystream
  return poly1305(macInput(aad, ciphertext), oneTimeKey);
}

function open(stream: Stream, key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): SecretBytes {
  if (key.length !== 32) throw new RangeError('the key is 32 bytes');
  if (sealed.length < TAG) throw new Error('invalid tag');
  const ciphertext = sealed.subarray(0, sealed.length - TAG);
  if (!equalBytes(tagOf(stream, key, nonce, aad, ciphertext), sealed.subarray(ciphertext.length))) throw new Error('invalid tag');
  const plaintext = SecretBytes.alloc(ciphertext.length);
  stream(key, nonce, 1, ciphertext, plaintext);
  return plaintext;
}

function seal(stream: Stream, key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  if (key.length !== 32) throw new RangeError('the key is 32 bytes');
  const sealed = new Uint8Array(plaintext.length + TAG);
  const ciphertext = sealed.subarray(0, plaintext.length);
  stream(key, nonce, 1, plaintext, ciphertext);
  sealed.set(tagOf(stream, key, nonce, aad, ciphertext), plaintext.length);
  return sealed;
}

const checkNonce = (nonce: Uint8Array, length: number): void => {
  if (nonce.length !== length) throw new RangeError(`the nonce is ${length} bytes`);
};

/** ChaCha20-Poly1305 (12-byte nonce): the plaintext of `ciphertext ‖ tag`, which the caller disposes. @throws when the tag does not verify */
export const openChaCha20Poly1305 = (key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): SecretBytes => {
  checkNonce(nonce, 12);
  return open(chacha20Xor, key, nonce, aad, sealed);
};

/** XChaCha20-Poly1305 (24-byte nonce): the plaintext of `ciphertext ‖ tag`, which the caller disposes. @throws when the tag does not verify */
export const openXChaCha20Poly1305 = (key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): SecretBytes => {
  checkNonce(nonce, 24);
  return open(xchacha20Xor, key, nonce, aad, sealed);
};

/** ChaCha20-Poly1305 (12-byte nonce): `ciphertext ‖ tag` of `plaintext`, which stays the caller's. */
export const sealChaCha20Poly1305 = (key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array => {
  checkNonce(nonce, 12);
  return seal(chacha20Xor, key, nonce, aad, plaintext);
};

/** XChaCha20-Poly1305 (24-byte nonce): `ciphertext ‖ tag` of `plaintext`, which stays the caller's. */
export const sealXChaCha20Poly1305 = (key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array => {
  checkNonce(nonce, 24);
  return seal(xchacha20Xor, key, nonce, aad, plaintext);
};
