/**
 * Factors (docs/recovery.md): what authorizes a request to open a wallet. One notion for every call: the
 * client's envelope sealing takes a Factor and puts it into the envelope by one rule here, so a new kind
 * (passkeys next) is a new variant of Factor, not a new variant of each method. Also the client's side of the
 * recovery code: checked before it is sealed, and opened from the enclave's HPKE answer.
 */
import { RECOVERY_CODE_INFO } from './proto-copy/labels.js';
import { formatRecoveryCode, parseRecoveryCode, RecoveryCodeFormatError } from './proto-copy/recovery-code.js';
import type { EnvelopeBody } from './envelope.js';
import { EnclaveWalletApiError } from './errors.js';
import { hpkeOpen } from './hpke.js';
import { base64 } from '@scure/base';

export { RECOVERY_CODE_INFO };

/** A factor that authorizes one request: the PIN, or the recovery code (only a PIN reset takes it). */
export type Factor = { pin: string; recoveryCode?: undefined } | { recoveryCode: string; pin?: undefined };

/** A factor a wallet has, as GET /v1/wallets/{id}/factors lists it: its kind and dates (ISO, or null), nothing secret. */
export interface FactorInfo {
  kind: 'pin' | 'recovery-code';
  createdAt: string | null;
  lastUsedAt: string | null;
}

/** The envelope fields of a factor. A recovery code is checked first (checkRecoveryCode). */
export function factorFields(factor: Factor): Pick<EnvelopeBody, 'pin' | 'recoveryCode'> {
  if (typeof factor.pin === 'string') return { pin: factor.pin };
  if (typeof factor.recoveryCode === 'string') {
    checkRecoveryCode(factor.recoveryCode);
    return { recoveryCode: factor.recoveryCode };
  }
  throw new TypeError('a factor is { pin } or { recoveryCode }');
}

/**
 * Checks a recovery code as a person typed it (case, spaces and dashes do not matter; O reads as 0, I and L as
 * 1) and returns it written the usual way (`XXXX-XXXX-…`). Nothing is sent.
 *
 * @throws {EnclaveWalletApiError} RECOVERY_CODE_INVALID (status 0): a wrong length, a character outside the
 *   alphabet, or a typo the checksum catches
 */
export function checkRecoveryCode(typed: string): string {
  let bytes: Uint8Array;
  try {
    bytes = parseRecoveryCode(typed);
  } catch (err) {
    if (err instanceof RecoveryCodeFormatError || (err instanceof Error && err.name === 'RecoveryCodeFormatError')) {
      throw new EnclaveWalletApiError({ code: 'RECOVERY_CODE_INVALID', message: `${err.message}; nothing was sent`, status: 0, cause: err });
    }
    throw err;
  }
  try {
    return formatRecoveryCode(bytes);
  } finally {
    bytes.fill(0);
  }
}

/**
 * Opens `encryptedRecoveryCode` (base64 enc ‖ ct, 16 bytes inside) with the call's key; returns the code written
 * out. An answer without one that opens is RECOVERY_CODE_MISSING (status 0): make a new code with the PIN.
 */
export function openRecoveryCode(secretKey: Uint8Array, encryptedRecoveryCode: string | undefined): string {
  let bytes: Uint8Array;
  try {
    bytes = hpkeOpen(secretKey, base64.decode(encryptedRecoveryCode ?? ''), RECOVERY_CODE_INFO);
  } catch (cause) {
    throw new EnclaveWalletApiError({ code: 'RECOVERY_CODE_MISSING', message: 'the answer carried no recovery code that opens', status: 0, cause });
  }
  try {
    return formatRecoveryCode(bytes);
  } finally {
    bytes.fill(0);
  }
}
