/**
 * Derivation helpers only tests use (published vectors, property tests). They live with the tests, not in
 * enclave/src, so the image carries no code that turns entropy into a mnemonic string: the enclave derives
 * seeds straight from entropy (keys/derive.ts, seedFromEntropy) and shows a mnemonic only sealed to the client.
 */
import { entropyToMnemonic } from '@scure/bip39';
import { wordlist as english } from '@scure/bip39/wordlists/english.js';

/** 32 bytes of entropy → 24-word English mnemonic. */
export function mnemonicFromEntropy(entropy: Uint8Array): string {
  if (entropy.length !== 32) throw new RangeError('entropy must be 32 bytes');
  return entropyToMnemonic(entropy, english);
}
