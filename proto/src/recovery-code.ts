/**
 * Recovery codes (docs/recovery.md): 16 random bytes made in the enclave,
 * written for people as 28 characters of Crockford's base32 in 7 groups of 4
 * (`7K3M-…`). 26 characters carry the 128 bits (the last two bits are zero)
 * and 2 carry a CRC-10 of the bytes, which catches any one mistyped
 * character and any two swapped neighbours before anything is sent or
 * counted. Typed codes may be lowercase, and may have spaces or dashes;
 * O is read as 0, and I and L as 1. Shared by the SDK (checks before sealing)
 * and the enclave (checks after opening). Importable alone as
 * `@enclave-wallet/proto/recovery-code` (no protobuf code comes with it); the
 * SDK ships a verbatim copy (client/src/proto-copy/, as labels.ts).
 */

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** Bytes of secret in a recovery code. */
export const RECOVERY_CODE_BYTES = 16;
/** Characters of a recovery code, without separators. */
export const RECOVERY_CODE_CHARS = 28;

/** A code that cannot be one: its length, a character, or its checksum (a typo). Nothing was sent or counted. */
export class RecoveryCodeFormatError extends Error {
  override readonly name = 'RecoveryCodeFormatError';
  readonly code = 'RECOVERY_CODE_INVALID';
}

/** CRC-10 (polynomial x^10 + x^9 + x^5 + x^4 + x + 1, 0x233) of `bytes`. */
function crc10(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    for (let bit = 7; bit >= 0; bit--) {
      const top = ((crc >> 9) & 1) ^ ((byte >> bit) & 1);
      crc = (crc << 1) & 0x3ff;
      if (top) crc ^= 0x233;
    }
  }
  return crc;
}

/** The 28 symbol values (0–31) of `bytes`: 26 of data, 2 of checksum. */
function symbolsOf(bytes: Uint8Array): number[] {
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const byte of bytes) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out.push((acc >> (bits - 5)) & 31);
      bits -= 5;
    }
    acc &= (1 << bits) - 1;
  }
  out.push((acc << (5 - bits)) & 31); // the last 3 bits, and two zero bits
  const check = crc10(bytes);
  out.push(check >> 5, check & 31);
  return out;
}

/** `bytes` (16) as a recovery code: `XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX`. */
export function formatRecoveryCode(bytes: Uint8Array): string {
  if (bytes.length !== RECOVERY_CODE_BYTES) throw new RangeError(`a recovery code holds ${RECOVERY_CODE_BYTES} bytes`);
  const chars = symbolsOf(bytes).map((v) => ALPHABET[v]!);
  const groups: string[] = [];
  for (let i = 0; i < chars.length; i += 4) groups.push(chars.slice(i, i + 4).join(''));
  return groups.join('-');
}

/**
 * The 16 bytes of a typed recovery code, given as text or as its ASCII bytes (the enclave never makes it a
 * string). The caller owns (and zeroes) the result.
 *
 * @throws {RecoveryCodeFormatError} a wrong length, a character outside the alphabet, or a failed checksum
 */
export function parseRecoveryCode(typed: string | Uint8Array): Uint8Array {
  const values: number[] = [];
  const length = typeof typed === 'string' ? typed.length : typed.length;
  if (length > 64) throw new RecoveryCodeFormatError('a recovery code has 28 characters (7 groups of 4)');
  for (let i = 0; i < length; i++) {
    let c = typeof typed === 'string' ? typed.charCodeAt(i) : typed[i]!;
    if (c === 0x20 || c === 0x2d || c === 0x09) continue; // space, dash, tab
    if (c >= 0x61 && c <= 0x7a) c -= 0x20; // lowercase
    if (c === 0x4f) c = 0x30; // O → 0
    if (c === 0x49 || c === 0x4c) c = 0x31; // I, L → 1
    const v = ALPHABET.indexOf(String.fromCharCode(c));
    if (v < 0) throw new RecoveryCodeFormatError('a recovery code uses the digits and the letters A–Z but U');
    values.push(v);
  }
  if (values.length !== RECOVERY_CODE_CHARS) throw new RecoveryCodeFormatError('a recovery code has 28 characters (7 groups of 4)');
  const bytes = new Uint8Array(RECOVERY_CODE_BYTES);
  let acc = 0;
  let bits = 0;
  let at = 0;
  for (let i = 0; i < 26; i++) {
    acc = (acc << 5) | values[i]!;
    bits += 5;
    if (bits >= 8) {
      bytes[at++] = (acc >> (bits - 8)) & 0xff;
      bits -= 8;
      acc &= (1 << bits) - 1;
    }
  }
  const check = crc10(bytes);
  const ok = acc === 0 && values[26] === check >> 5 && values[27] === (check & 31);
  values.fill(0);
  if (!ok) {
    bytes.fill(0);
    throw new RecoveryCodeFormatError('the recovery code has a typo: check each group');
  }
  return bytes;
}
