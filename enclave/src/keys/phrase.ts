/**
 * A wallet's BIP-39 recovery phrase (English) as bytes, never as a string.
 *
 * Every signature derives the wallet's seed from its entropy through the phrase (PBKDF2 of its UTF-8 bytes), and an
 * export seals the phrase to the user. @scure/bip39's `entropyToMnemonic` makes it a JavaScript string (and an array
 * of word strings, and the entropy's bits as arrays of numbers): strings cannot be zeroed, and the garbage collector
 * frees them where a reader of the enclave's memory finds them (docs/threat-model.md, "Secrets in memory"). Here the
 * phrase is written byte by byte into a SecretBytes from one table of the word list's bytes, which is public; a
 * word's index lives only in locals (small integers, kept in registers and on the machine stack), never in an
 * array, a string or a typed-array view that would say which word was taken.
 *
 * The English words are lower-case ASCII, so their NFKD form (what BIP-39 hashes) is their bytes. Checked against
 * @scure/bip39 and the BIP-39 test vectors (enclave/test/phrase.test.ts).
 */
import { createHash } from 'node:crypto';
import { wordlist as english } from '@scure/bip39/wordlists/english.js';
import { SecretBytes } from '../secret.js';

/** Every word's bytes, one after another, and where each starts (public: the word list). */
const WORD_BYTES = new TextEncoder().encode(english.join(''));
const WORD_START = new Uint32Array(english.length + 1);
for (let i = 0; i < english.length; i++) {
  if (!/^[a-z]+$/.test(english[i]!)) throw new Error('the English word list is lower-case ASCII');
  WORD_START[i + 1] = WORD_START[i]! + english[i]!.length;
}
if (english.length !== 2048) throw new Error('a BIP-39 word list has 2048 words');

/** The 11-bit word index `i` of entropy ‖ checksum (`bits`: the entropy and one checksum byte after it). */
function indexAt(bits: Uint8Array, i: number): number {
  const bit = 11 * i;
  const at = bit >> 3;
  // 24 bits from the word's first byte cover its 11 (it starts at most 7 bits in); past the end reads as 0.
  const window = (bits[at]! << 16) | ((bits[at + 1] ?? 0) << 8) | (bits[at + 2] ?? 0);
  return (window >> (13 - (bit & 7))) & 0x7ff;
}

/** `prefix` ‖ the English phrase of `entropy` (16 to 32 bytes, a multiple of 4), words joined by one space ‖ `suffix`. */
function writePhrase(entropy: Uint8Array, prefix: Uint8Array, suffix: Uint8Array): SecretBytes {
  if (entropy.length < 16 || entropy.length > 32 || entropy.length % 4 !== 0) throw new RangeError('entropy is 16 to 32 bytes, a multiple of 4');
  const words = (entropy.length * 8 + entropy.length / 4) / 11;
  using bits = SecretBytes.alloc(entropy.length + 3);
  bits.set(entropy);
  const digest = createHash('sha256').update(entropy).digest();
  bits[entropy.length] = digest[0]!; // the checksum: its first entropy.length / 4 bits
  digest.fill(0);
  let length = prefix.length + suffix.length + words - 1;
  for (let i = 0; i < words; i++) {
    const index = indexAt(bits, i);
    length += WORD_START[index + 1]! - WORD_START[index]!;
  }
  const out = SecretBytes.alloc(length);
  out.set(prefix);
  let at = prefix.length;
  for (let i = 0; i < words; i++) {
    if (i > 0) out[at++] = 0x20;
    const index = indexAt(bits, i);
    for (let b = WORD_START[index]!, end = WORD_START[index + 1]!; b < end; b++) out[at++] = WORD_BYTES[b]!;
  }
  out.set(suffix, at);
  return out;
}

const NOTHING = new Uint8Array(0);

/** The English BIP-39 phrase of `entropy` as UTF-8 (= NFKD) bytes: what PBKDF2 takes to make the seed. */
export const phraseBytes = (entropy: Uint8Array): SecretBytes => writePhrase(entropy, NOTHING, NOTHING);

const EXPORT_PREFIX = new TextEncoder().encode('{"mnemonic":"');
const EXPORT_SUFFIX = new TextEncoder().encode('"}');

/** `{"mnemonic":"<phrase>"}` as UTF-8 bytes: an export's plaintext (the phrase needs no JSON escaping). */
export const exportPlaintext = (entropy: Uint8Array): SecretBytes => writePhrase(entropy, EXPORT_PREFIX, EXPORT_SUFFIX);

/** The index of the word `phrase[from, to)` in the (sorted) English list, or -1: a binary search on bytes, no string. */
function indexOfWord(phrase: Uint8Array, from: number, to: number): number {
  let lo = 0;
  let hi = 2047;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const start = WORD_START[mid]!;
    const length = WORD_START[mid + 1]! - start;
    let order = 0;
    for (let k = 0; order === 0 && k < Math.min(length, to - from); k++) order = phrase[from + k]! - WORD_BYTES[start + k]!;
    if (order === 0) order = to - from - length;
    if (order === 0) return mid;
    if (order < 0) hi = mid - 1;
    else lo = mid + 1;
  }
  return -1;
}

/**
 * The entropy of a normalised English phrase (lower-case words joined by one space: what an import's envelope
 * yields), or undefined when it is not a valid BIP-39 phrase (12, 15, 18, 21 or 24 words of the list, the checksum
 * right). Read from the bytes in place: no word becomes a string, no index is kept in an array.
 */
export function entropyOfPhrase(phrase: Uint8Array): SecretBytes | undefined {
  // An empty word anywhere (a leading, trailing or double space) is not in the list; the loop below sees only the
  // ones between spaces, so the ends are checked here.
  if (phrase.length === 0 || phrase[0] === 0x20 || phrase[phrase.length - 1] === 0x20) return undefined;
  let words = 1;
  for (const b of phrase) if (b === 0x20) words++;
  if (![12, 15, 18, 21, 24].includes(words)) return undefined;
  const entropyBytes = (words * 11 * 32) / 33 / 8;
  // entropy ‖ checksum bits, 11 bits a word, most significant first.
  using bits = SecretBytes.alloc(Math.ceil((words * 11) / 8));
  let bit = 0;
  for (let from = 0; from < phrase.length;) {
    let to = from;
    while (to < phrase.length && phrase[to] !== 0x20) to++;
    const index = indexOfWord(phrase, from, to);
    if (index < 0) return undefined;
    for (let k = 10; k >= 0; k--, bit++) if ((index >> k) & 1) bits[bit >> 3]! |= 0x80 >> (bit & 7);
    from = to + 1;
  }
  const entropy = SecretBytes.copyOf(bits.subarray(0, entropyBytes));
  const digest = createHash('sha256').update(entropy).digest();
  const checksumBits = entropyBytes / 4;
  const ok = digest[0]! >> (8 - checksumBits) === bits[entropyBytes]! >> (8 - checksumBits);
  digest.fill(0);
  if (ok) return entropy;
  entropy.dispose();
  return undefined;
}
