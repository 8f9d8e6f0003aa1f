/**
 * The secrets of an envelope's plaintext (PINs, a recovery code, a passkey's PRF output), taken out of its bytes
 * before the JSON is decoded, so that no JavaScript string ever holds them.
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
export type Taken = { pin?: SecretBytes; newPin?: SecretBytes; recoveryCode?: SecretBytes; prf?: SecretBytes };
export const disposeTaken = (t: Taken): void => {
  t.pin?.dispose();
  t.newPin?.dispose();
  t.recoveryCode?.dispose();
  t.prf?.dispose();
};
export function takePins(plaintext: Uint8Array): Taken {
  const found: Taken = {};
  let depth = 0;
  let lastKey: string | undefined;
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
      lastKey = end - start <= 12 ? String.fromCharCode(...plaintext.subarray(start, end)) : undefined;
      continue;
    }
    // A string value: is it the value of pin or newPin?
    const key = lastKey;
    lastKey = undefined;
    if (key !== 'pin' && key !== 'newPin' && key !== 'recoveryCode' && key !== 'prf') continue;
    const digits = plaintext.subarray(start, end);
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
