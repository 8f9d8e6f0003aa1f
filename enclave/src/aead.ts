/**
 * ChaCha20-Poly1305 (RFC 8439: the PIN envelope's HPKE, what HPKE seals) and XChaCha20-Poly1305 (the blob and its
 * key slots), opened and sealed without leaving the key, the keystream, the one-time Poly1305 key or the plaintext
 * behind in memory nobody zeroes.
 *
 * The libraries at hand all leave something. node:crypto's `Decipher.update` decrypts into a buffer one byte longer
 * than the plaintext, copies it into an exact one and frees the first unzeroed. @noble/ciphers' stream function
 * copies the key into the V8 heap (where moving it leaves the old copy behind), keeps each 64-byte keystream block in
 * an array it never zeroes, and until V8 optimises it boxes keystream words as heap numbers; its Poly1305 keeps a
 * copy of each one-time key. With the nonce and the ciphertext (stored with the blob, relayed with the envelope), the
 * first three give plaintext back; the last lets a tag be forged for that key and nonce.
 *
 * So both AEADs run in chacha/chacha20.ts: ChaCha20, HChaCha20 and Poly1305 in WebAssembly, over memory zeroed
 * after every call. An open checks the tag (in constant time) before it decrypts a byte.
 *
 * Checked against RFC 8439 §2.8.2, draft-irtf-cfrg-xchacha A.3.1, OpenSSL, and noble's own AEADs on random inputs
 * (enclave/test/aead.test.ts); what is left in memory, from outside the process (enclave/test/aead-residue.test.ts).
 */
import { aeadOpen, aeadSeal } from './chacha/chacha20.js';
import type { SecretBytes } from './secret.js';

/** ChaCha20-Poly1305 (12-byte nonce): the plaintext of `ciphertext ‖ tag`, which the caller disposes. @throws when the tag does not verify */
export const openChaCha20Poly1305 = (key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): SecretBytes =>
  aeadOpen('chacha20', key, nonce, aad, sealed);

/** XChaCha20-Poly1305 (24-byte nonce): the plaintext of `ciphertext ‖ tag`, which the caller disposes. @throws when the tag does not verify */
export const openXChaCha20Poly1305 = (key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): SecretBytes =>
  aeadOpen('xchacha20', key, nonce, aad, sealed);

/** ChaCha20-Poly1305 (12-byte nonce): `ciphertext ‖ tag` of `plaintext`, which stays the caller's. */
export const sealChaCha20Poly1305 = (key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array =>
  aeadSeal('chacha20', key, nonce, aad, plaintext);

/** XChaCha20-Poly1305 (24-byte nonce): `ciphertext ‖ tag` of `plaintext`, which stays the caller's. */
export const sealXChaCha20Poly1305 = (key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array =>
  aeadSeal('xchacha20', key, nonce, aad, plaintext);
