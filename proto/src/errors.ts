/**
 * The product's error codes (from the schema's `ErrorCode` enum), the HTTP
 * status each maps to, and the one error class both sides throw.
 */
import { v1 } from './messages.js';

/** An error code's stable name, as the API returns it. */
export type ErrorCodeName = Exclude<keyof typeof v1.ErrorCode, 'ERROR_CODE_UNSPECIFIED'>;

/**
 * The HTTP status of every code. Typed as a total record, so adding a code to
 * the schema without deciding its status does not compile.
 */
export const HTTP_STATUS: Readonly<Record<ErrorCodeName, number>> = Object.freeze({
  INTERNAL_ERROR: 500,
  VALIDATION_FAILED: 400,
  NOT_FOUND: 404,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  UNSUPPORTED_OPERATION: 400,
  SHUTTING_DOWN: 503,
  MALFORMED_REQUEST: 400,
  PROTOCOL_VERSION_UNSUPPORTED: 503,
  ENCLAVE_UNAVAILABLE: 503,
  ENCLAVE_TIMEOUT: 503,
  ENCLAVE_NOT_INITIALIZED: 503,
  CONFIG_REJECTED: 503,
  UNAUTHENTICATED: 401,
  TOKEN_EXPIRED: 401,
  TOKEN_INVALID: 401,
  TOKEN_REVOKED: 401,
  FORBIDDEN: 403,
  WALLET_NOT_FOUND: 404,
  WALLET_CONFLICT: 409,
  ACCOUNT_EXISTS: 409,
  ACCOUNT_NOT_FOUND: 404,
  STORAGE_UNAVAILABLE: 503,
  WALLET_EXISTS: 409,
  ENVELOPE_INVALID: 422,
  ENVELOPE_MISMATCH: 422,
  ENVELOPE_EXPIRED: 422,
  ENVELOPE_REPLAYED: 422,
  PIN_INVALID: 422,
  PIN_LOCKED: 403,
  PIN_FORMAT_INVALID: 422,
  PIN_TOO_WEAK: 422,
  BLOB_INVALID: 422,
  BLOB_MISMATCH: 422,
  KMS_UNAVAILABLE: 503,
  KMS_ACCESS_DENIED: 503,
  GUARD_UNAVAILABLE: 503,
  BLOB_ROLLED_BACK: 409,
  NETWORK_UNSUPPORTED: 400,
  ACCOUNT_INDEX_INVALID: 400,
  MNEMONIC_INVALID: 422,
  TRANSACTION_INVALID: 400,
  MESSAGE_INVALID: 400,
  TYPED_DATA_INVALID: 400,
  RECIPIENT_KEY_INVALID: 400,
  ATTESTATION_UNAVAILABLE: 503,
  NONCE_INVALID: 400,
  CHAIN_UNSUPPORTED: 400,
  CHAIN_UNAVAILABLE: 503,
  TRANSACTION_REJECTED: 422,
  CHAIN_ERROR: 502,
  TRANSACTION_REVERTED: 422,
  NONCE_TOO_LOW: 409,
  FEE_TOO_LOW: 422,
  INSUFFICIENT_FUNDS: 422,
});

/** Every code name, in schema order. */
export const ERROR_CODE_NAMES: readonly ErrorCodeName[] = Object.freeze(
  Object.keys(HTTP_STATUS) as ErrorCodeName[],
);

/** Extra, non-secret facts an error may carry to the caller. */
export interface ErrorDetails {
  /** With PIN_INVALID: attempts left before the wallet locks. */
  attemptsLeft?: number;
  /** With PIN_LOCKED and RATE_LIMITED: seconds until a retry may succeed. */
  retryAfter?: number;
  /** With *_MISMATCH: what was expected. */
  expected?: string;
  /** With *_MISMATCH: what arrived instead. */
  actual?: string;
  /** With the chain codes: what the node said (a revert reason, a refusal), never a secret. */
  reason?: string;
  /** With a send whose outcome is unknown (the node went away after the transaction was signed): its hash, to look up. */
  hash?: string;
}

/** True when `name` is one of the product's error codes. */
export function isErrorCodeName(name: unknown): name is ErrorCodeName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(HTTP_STATUS, name);
}

/**
 * The one error class of the product. `code` is stable; `message` is for
 * humans and never contains a secret.
 *
 * @example
 * throw new EnclaveWalletError('PIN_INVALID', 'wrong PIN', { attemptsLeft: 3 });
 */
export class EnclaveWalletError extends Error {
  override readonly name = 'EnclaveWalletError';
  /** The stable code. */
  readonly code: ErrorCodeName;
  /** Non-secret details for the caller. */
  readonly details: Readonly<ErrorDetails>;
  /**
   * A re-sealed wallet blob that came with the error (a failed PIN attempt
   * was recorded in it). Opaque; the host must store it.
   */
  readonly sealedBlob: Uint8Array | undefined;

  constructor(code: ErrorCodeName, message: string, details: ErrorDetails = {}, sealedBlob?: Uint8Array, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.details = Object.freeze({ ...details });
    this.sealedBlob = sealedBlob && sealedBlob.length > 0 ? sealedBlob : undefined;
  }

  /** The HTTP status this error maps to. */
  get status(): number {
    return HTTP_STATUS[this.code];
  }

  /** The error as the schema's `Error` message. */
  toProto(): v1.Error.$Properties {
    const out: v1.Error.$Properties = { code: v1.ErrorCode[this.code], message: this.message };
    if (this.details.attemptsLeft !== undefined) out.attemptsLeft = this.details.attemptsLeft;
    if (this.details.retryAfter !== undefined) out.retryAfterSeconds = this.details.retryAfter;
    if (this.details.expected !== undefined) out.expected = this.details.expected;
    if (this.details.actual !== undefined) out.actual = this.details.actual;
    if (this.sealedBlob) out.sealedBlob = this.sealedBlob;
    return out;
  }

  /**
   * The error a peer sent. An unknown or unset code (a newer peer) becomes
   * INTERNAL_ERROR rather than being trusted blindly.
   */
  static fromProto(err: v1.Error.$Properties): EnclaveWalletError {
    const raw = typeof err.code === 'number' ? v1.ErrorCode[err.code] : undefined;
    const code: ErrorCodeName = isErrorCodeName(raw) ? raw : 'INTERNAL_ERROR';
    const details: ErrorDetails = {};
    if (err.attemptsLeft) details.attemptsLeft = err.attemptsLeft;
    if (err.retryAfterSeconds) details.retryAfter = err.retryAfterSeconds;
    if (err.expected) details.expected = err.expected;
    if (err.actual) details.actual = err.actual;
    // A PIN_INVALID with no attempts left is still meaningful: keep the zero.
    if (code === 'PIN_INVALID' && details.attemptsLeft === undefined) details.attemptsLeft = 0;
    return new EnclaveWalletError(code, err.message || code, details, err.sealedBlob ?? undefined);
  }
}
