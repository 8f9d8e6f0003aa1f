/**
 * Factors (docs/recovery.md): what authorizes a request to open a wallet. One notion for every call: the
 * client's envelope sealing takes a Factor and puts it into the envelope by one rule here, so a new kind
 * (passkeys: `{ passkey: true }`, docs/passkeys.md) is a new variant of Factor, not a new variant of each method. Also
 * the client's side of the recovery code: checked before it is sealed, and opened from the enclave's HPKE answer; and
 * how a signing call's options (`pin`, `getPin`, `passkey`, `authorize`) become the factor of that signature.
 */
import { RECOVERY_CODE_INFO } from './proto-copy/labels.js';
import { formatRecoveryCode, parseRecoveryCode, RecoveryCodeFormatError } from './proto-copy/recovery-code.js';
import type { EnvelopeBody } from './envelope.js';
import type { GetPin, PinRequest } from './summary.js';
import { EnclaveWalletApiError } from './errors.js';
import { hpkeOpen } from './hpke.js';
import { base64 } from '@scure/base';

export { RECOVERY_CODE_INFO };

/**
 * A factor that authorizes one request: the PIN, the recovery code (a PIN reset, adding a passkey), or one of the
 * wallet's passkeys (`{ passkey: true }`: the SDK asks the browser for an assertion over the request, with PRF).
 */
export type Factor =
  | { pin: string; recoveryCode?: undefined; passkey?: undefined }
  | { recoveryCode: string; pin?: undefined; passkey?: undefined }
  | { passkey: true; pin?: undefined; recoveryCode?: undefined };

/** What authorizes a signature: the PIN or a passkey. */
export type SignFactor = { pin: string; passkey?: undefined } | { passkey: true; pin?: undefined };

/** A factor a wallet has, as GET /v1/wallets/{id}/factors lists it: its kind and dates (ISO, or null), nothing secret. */
export interface FactorInfo {
  kind: 'pin' | 'recovery-code' | 'passkey';
  createdAt: string | null;
  lastUsedAt: string | null;
  /** Passkeys: the credential id, base64url (the browser's `rawId`). */
  credentialId?: string;
}

/** A factor as the older calls take it: a PIN string, or a Factor. */
export function asFactor(factor: string | Factor): Factor {
  return typeof factor === 'string' ? { pin: factor } : factor;
}

export const isPasskey = (factor: Factor): factor is { passkey: true } => factor.passkey === true;

/** The envelope fields of a PIN or a recovery code (a passkey's are its assertion: passkey.ts). A recovery code is checked first (checkRecoveryCode). */
export function factorFields(factor: Factor): Pick<EnvelopeBody, 'pin' | 'recoveryCode'> {
  if (typeof factor.pin === 'string') return { pin: factor.pin };
  if (typeof factor.recoveryCode === 'string') {
    checkRecoveryCode(factor.recoveryCode);
    return { recoveryCode: factor.recoveryCode };
  }
  throw new TypeError('a factor is { pin }, { recoveryCode } or { passkey: true }');
}

/**
 * How a signing call is authorized, in its options: `pin` (asked by the app beforehand), `getPin` (asked once the
 * SDK has decoded what is signed), `passkey: true` (the passkey prompt is the approval), or `authorize`, which
 * receives the same summary as `getPin` and answers `{ pin }` or `{ passkey: true }`.
 */
export type SignAuthorization =
  | { pin: string; getPin?: undefined; passkey?: undefined; authorize?: undefined }
  | { getPin: GetPin; pin?: undefined; passkey?: undefined; authorize?: undefined }
  | { passkey: true; pin?: undefined; getPin?: undefined; authorize?: undefined }
  | { authorize: Authorize; pin?: undefined; getPin?: undefined; passkey?: undefined };

/** Asks the user to approve one signature, with the decoded summary: answers the PIN or `{ passkey: true }`. */
export type Authorize = (request: PinRequest) => SignFactor | Promise<SignFactor>;

/** Just the authorization of signing options (the rest, e.g. `address`, left out), to pass on. */
export function authorizationOf(options: SignAuthorization): SignAuthorization {
  if (options.authorize) return { authorize: options.authorize };
  if (options.getPin) return { getPin: options.getPin };
  if (options.passkey === true) return { passkey: true };
  return { pin: options.pin as string };
}

/**
 * The factor of one signature. `getPin` and `authorize` are called only after `ready` (the attestation checked:
 * nothing would be sealed otherwise), with the summary of what is signed.
 */
export async function signFactor(options: SignAuthorization, request: PinRequest, ready: () => Promise<unknown>): Promise<SignFactor> {
  if (options.passkey === true) return { passkey: true };
  if (typeof options.pin === 'string') return { pin: options.pin };
  if (options.getPin) {
    await ready();
    const pin = await options.getPin(request);
    if (typeof pin !== 'string') throw new TypeError('getPin must return the PIN');
    return { pin };
  }
  if (options.authorize) {
    await ready();
    const answer = await options.authorize(request);
    if (answer && answer.passkey === true) return { passkey: true };
    if (answer && typeof answer.pin === 'string') return { pin: answer.pin };
    throw new TypeError('authorize must return { pin } or { passkey: true }');
  }
  throw new TypeError('a signature needs pin, getPin, passkey: true or authorize');
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
