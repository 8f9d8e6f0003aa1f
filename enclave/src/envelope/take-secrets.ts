/**
 * The secrets of an envelope's plaintext (PINs, a recovery code, a passkey's PRF output, an import's recovery
 * phrase), taken out of its bytes before the JSON is decoded, so that no JavaScript string ever holds them.
 */
import { EnclaveWalletError } from '@enclave-wallet/proto';
import { SecretBytes } from '../secret.js';
import { isPrfText, prfOf } from '../passkey/envelope-fields.js';

export const invalid = (why: string): EnclaveWalletError => new EnclaveWalletError('ENVELOPE_INVALID', `the envelope is not valid: ${why}`);
export const pinFormat = (): EnclaveWalletError => new EnclaveWalletError('PIN_FORMAT_INVALID', 'a PIN is 6 to 12 digits');

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const isSpace = (b: number | undefined): boolean => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;

/**
 * Takes the PINs out of the plaintext before it is decoded, so that no JavaScript string ever holds them: the
 * digits of the top-level `pin` and `newPin` values are copied into secrets of their own and overwritten with
 * `0` in `plaintext` (which the caller zeroes). A PIN value must be 6 to 12 plain ASCII digits (no escapes);
 * anything else, or a PIN key given twice, is PIN_FORMAT_INVALID. Strings are scanned with their escapes, so
 * `"pin"` inside another value is not a key.
 */
export type Taken = { pin?: SecretBytes; newPin?: SecretBytes; recoveryCode?: SecretBytes; prf?: SecretBytes; mnemonic?: SecretBytes };
export const disposeTaken = (t: Taken): void => {
  t.pin?.dispose();
  t.newPin?.dispose();
  t.recoveryCode?.dispose();
  t.prf?.dispose();
  t.mnemonic?.dispose();
};

/** JSON escapes that stand for whitespace in a typed-in phrase: \n, \t, \r, \f. */
const WHITESPACE_ESCAPES = new Set([0x6e, 0x74, 0x72, 0x66]);
const isLetter = (b: number): boolean => (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);

/**
 * An import's phrase as `normaliseMnemonic` (keys/derive.ts) makes it, from the JSON string's raw bytes: lower
 * case, words joined by one space, no leading or trailing space; or undefined when the value holds anything but
 * ASCII letters, spaces and whitespace escapes (then it is decoded as a string, which NFKD may still make a
 * valid phrase). On success the raw bytes are overwritten with `a`, so the JSON decoder sees no phrase.
 */
function takePhrase(raw: Uint8Array): SecretBytes | undefined {
  let length = 0;
  let pendingSpace = false;
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i]!;
    if (isLetter(b)) {
      if (pendingSpace && length > 0) length++;
      pendingSpace = false;
      length++;
    } else if (b === 0x20) pendingSpace = true;
    else if (b === 0x5c && WHITESPACE_ESCAPES.has(raw[i + 1]!)) {
      pendingSpace = true;
      i++;
    } else return undefined;
  }
  const phrase = SecretBytes.alloc(length);
  let at = 0;
  pendingSpace = false;
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i]!;
    if (isLetter(b)) {
      if (pendingSpace && at > 0) phrase[at++] = 0x20;
      pendingSpace = false;
      phrase[at++] = b | 0x20; // lower case
    } else {
      pendingSpace = true;
      if (b === 0x5c) i++;
    }
  }
  raw.fill(0x61);
  return phrase;
}
export function takePins(plaintext: Uint8Array): Taken {
  const found: Taken = {};
  let depth = 0;
  let lastKey: string | undefined;
  let mnemonicSeen = false;
  for (let i = 0; i < plaintext.length; i++) {
    const b = plaintext[i]!;
    if (b === 0x7b || b === 0x5b) depth++;
    else if (b === 0x7d || b === 0x5d) depth--;
    if (b !== QUOTE) continue;
    const start = i + 1;
    let end = start;
    while (end < plaintext.length && plaintext[end] !== QUOTE) end += plaintext[end] === BACKSLASH ? 2 : 1;
    i = end; // the closing quote (or past the end: JSON.parse refuses it later)
    if (depth !== 1) continue;
    let j = end + 1;
    while (isSpace(plaintext[j])) j++;
    const isKey = plaintext[j] === 0x3a; // ':'
    if (isKey) {
      // A key written with an escape ("p\u0069n") would be one key to JSON and another to this scan: refused.
      if (plaintext.subarray(start, end).includes(BACKSLASH)) {
        disposeTaken(found);
        throw invalid('a key is written with an escape');
      }
      lastKey = end - start <= 12 ? String.fromCharCode(...plaintext.subarray(start, end)) : undefined;
      continue;
    }
    // A string value: is it the value of pin or newPin?
    const key = lastKey;
    lastKey = undefined;
    if (key !== 'pin' && key !== 'newPin' && key !== 'recoveryCode' && key !== 'prf' && key !== 'mnemonic') continue;
    const digits = plaintext.subarray(start, end);
    if (key === 'mnemonic') {
      // Twice is refused whether or not the first was taken out: JSON keeps the last, this scan the first it takes.
      if (mnemonicSeen) {
        disposeTaken(found);
        throw invalid('mnemonic given twice');
      }
      mnemonicSeen = true;
      const phrase = takePhrase(digits);
      if (phrase) found.mnemonic = phrase;
      continue;
    }
    if (key === 'prf') {
      if (found.prf || !isPrfText(digits)) {
        disposeTaken(found);
        throw invalid('prf must be 32 bytes in base64url (43 characters)');
      }
      try {
        found.prf = prfOf(digits);
      } finally {
        digits.fill(0x41);
      }
      continue;
    }
    const ok =
      key === 'recoveryCode'
        ? digits.length <= 64 &&
          digits.every((d) => d === 0x20 || d === 0x2d || (d >= 0x30 && d <= 0x39) || (d >= 0x41 && d <= 0x5a) || (d >= 0x61 && d <= 0x7a))
        : digits.length >= 6 && digits.length <= 12 && digits.every((d) => d >= 0x30 && d <= 0x39);
    if (found[key] || !ok) {
      disposeTaken(found);
      throw key === 'recoveryCode' ? new EnclaveWalletError('RECOVERY_CODE_INVALID', 'a recovery code is 28 letters and digits') : pinFormat();
    }
    found[key] = SecretBytes.copyOf(digits);
    digits.fill(0x30);
  }
  return found;
}
