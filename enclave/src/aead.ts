/**
 * Opening ChaCha20-Poly1305 (RFC 8439: the PIN envelope's HPKE) and XChaCha20-Poly1305 (the blob and its key
 * slots) without leaving the plaintext behind in memory nobody zeroes.
 *
 * Both libraries at hand leave it. node:crypto's `Decipher.update` decrypts into a buffer one byte longer than the
 * plaintext, copies it into an exact one and frees the first unzeroed. @noble/ciphers' stream function keeps each
 * 64-byte keystream block in an array of its own that it never zeroes: after a decryption the last block's
 * keystream is left in freed memory, and that XOR the ciphertext (which the host relays and stores) is the last
 * ≤ 64 bytes of the plaintext; its AEAD also computes the Poly1305 key in a second stream call, which leaves that
 * key's block the same way.
 *
 * So the AEAD is composed here from noble's stream function and Poly1305, in one stream call over
 * `64 zero bytes ‖ ciphertext ‖ 64 zero bytes` from counter 0, written into memory this module zeroes: block 0 is the
 * Poly1305 key, blocks 1… decrypt the ciphertext (counter 1 on, as RFC 8439 §2.8 says), and the last block, the only
 * one the stream function leaves behind, is keystream that decrypts nothing. The tag is checked (in constant time)
 * before any plaintext is returned. Left behind, as by noble's own AEAD (docs/threat-model.md, "Secrets in
 * memory"): the stream function's copy of the key, on the V8 heap, unzeroed (with the nonce and ciphertext, the
 * plaintext); keystream words boxed as heap numbers until V8 optimises the ChaCha code; Poly1305's copy of its
 * one-time key. Closing those needs a ChaCha20 of our own outside the V8 heap (or in WebAssembly): not done.
 *
 * Checked against RFC 8439 §2.8.2, draft-irtf-cfrg-xchacha A.3.1, and noble's own AEADs on random inputs
 * (enclave/test/aead.test.ts).
 */
import { chacha20, xchacha20 } from '@noble/ciphers/chacha.js';
import { poly1305 } from '@noble/ciphers/_poly1305.js';
import { equalBytes } from '@noble/ciphers/utils.js';
import { SecretBytes } from './secret.js';

const BLOCK = 64;
const TAG = 16;
type Stream = typeof chacha20;

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

function open(stream: Stream, key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): SecretBytes {
  if (key.length !== 32) throw new RangeError('the key is 32 bytes');
  if (sealed.length < TAG) throw new Error('invalid tag');
  const ciphertext = sealed.subarray(0, sealed.length - TAG);
  const input = new Uint8Array(BLOCK + ciphertext.length + BLOCK); // public: zeros and the ciphertext
  input.set(ciphertext, BLOCK);
  const keystreamed = SecretBytes.alloc(input.length);
  try {
    stream(key, nonce, input, keystreamed, 0);
    const tag = poly1305(macInput(aad, ciphertext), keystreamed.subarray(0, 32));
    if (!equalBytes(tag, sealed.subarray(ciphertext.length))) throw new Error('invalid tag');
    return SecretBytes.copyOf(keystreamed.subarray(BLOCK, BLOCK + ciphertext.length));
  } finally {
    keystreamed.dispose();
  }
}

/** ChaCha20-Poly1305 (12-byte nonce): the plaintext of `ciphertext ‖ tag`, which the caller disposes. @throws when the tag does not verify */
export const openChaCha20Poly1305 = (key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): SecretBytes => {
  if (nonce.length !== 12) throw new RangeError('the nonce is 12 bytes');
  return open(chacha20, key, nonce, aad, sealed);
};

/** XChaCha20-Poly1305 (24-byte nonce): the plaintext of `ciphertext ‖ tag`, which the caller disposes. @throws when the tag does not verify */
export const openXChaCha20Poly1305 = (key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): SecretBytes => {
  if (nonce.length !== 24) throw new RangeError('the nonce is 24 bytes');
  return open(xchacha20, key, nonce, aad, sealed);
};
