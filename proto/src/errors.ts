/**
 * The product's error codes (from the schema's `ErrorCode` enum) and the one
 * error class both sides throw. What HTTP status a code becomes is the
 * host's business (host/src/api/http-status.ts).
 */
import { v1 } from './messages.js';

/** An error code's stable name, as the API returns it. */
export type ErrorCodeName = Exclude<keyof typeof v1.ErrorCode, 'ERROR_CODE_UNSPECIFIED'>;

/** Every code name, in schema order (taken from the generated enum, so a new code needs no list here). */
export const ERROR_CODE_NAMES: readonly ErrorCodeName[] = Object.freeze(
  Object.entries(v1.ErrorCode)
    .filter(([name, value]) => typeof value === 'number' && name !== 'ERROR_CODE_UNSPECIFIED')
    .sort((a, b) => (a[1] as number) - (b[1] as number))
    .map(([name]) => name as ErrorCodeName),
);
const CODE_NAMES: ReadonlySet<string> = new Set(ERROR_CODE_NAMES);

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
  /** With the chain codes: what the node said (a revert reason, a refusal), never a secret. With PASSKEY_INVALID: the check that failed. */
  reason?: string;
  /** With a send whose outcome is unknown (the node went away after the transaction was signed): its hash, to look up. */
  hash?: string;
}

/** True when `name` is one of the product's error codes. */
export function isErrorCodeName(name: unknown): name is ErrorCodeName {
  return typeof name === 'string' && CODE_NAMES.has(name);
}

/** What an error carries besides its code and message: details for the caller, its cause. */
export interface EnclaveWalletErrorOptions extends ErrorDetails {
  /** What caused it (kept for logs; never sent to a peer). */
  cause?: unknown;
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

  constructor(code: ErrorCodeName, message: string, options: EnclaveWalletErrorOptions = {}) {
    const { cause, ...details } = options;
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
    this.details = Object.freeze(details);
  }

  /** The error as the schema's `Error` message. */
  toProto(): v1.Error.$Properties {
    const out: v1.Error.$Properties = { code: v1.ErrorCode[this.code], message: this.message };
    if (this.details.attemptsLeft !== undefined) {
      out.attemptsLeft = this.details.attemptsLeft;
      out.hasAttemptsLeft = true;
    }
    if (this.details.retryAfter !== undefined) out.retryAfterSeconds = this.details.retryAfter;
    if (this.details.expected !== undefined) out.expected = this.details.expected;
    if (this.details.actual !== undefined) out.actual = this.details.actual;
    if (this.details.reason !== undefined) out.reason = this.details.reason;
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
    if (err.attemptsLeft || err.hasAttemptsLeft) details.attemptsLeft = err.attemptsLeft ?? 0;
    if (err.retryAfterSeconds) details.retryAfter = err.retryAfterSeconds;
    if (err.expected) details.expected = err.expected;
    if (err.actual) details.actual = err.actual;
    if (err.reason) details.reason = err.reason;
    // A PIN_INVALID with no attempts left is still meaningful: keep the zero (also from peers without hasAttemptsLeft).
    if ((code === 'PIN_INVALID' || code === 'RECOVERY_CODE_WRONG') && details.attemptsLeft === undefined) details.attemptsLeft = 0;
    return new EnclaveWalletError(code, err.message || code, details);
  }
}
