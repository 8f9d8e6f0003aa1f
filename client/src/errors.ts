/** The one error class of API failures, carrying what the API said. */
export class EnclaveWalletApiError extends Error {
  override readonly name = 'EnclaveWalletApiError';
  /** The API's stable code (e.g. PIN_INVALID), or NETWORK_ERROR when no answer came. */
  readonly code: string;
  /** HTTP status; 0 when no answer came. */
  readonly status: number;
  readonly requestId: string | undefined;
  /** With PIN_INVALID: attempts left before the wallet locks. */
  readonly attemptsLeft: number | undefined;
  /** With PIN_LOCKED and RATE_LIMITED: seconds until a retry may succeed. */
  readonly retryAfter: number | undefined;

  constructor(init: { code: string; message: string; status: number; requestId?: string; attemptsLeft?: number; retryAfter?: number; cause?: unknown }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = init.code;
    this.status = init.status;
    this.requestId = init.requestId;
    this.attemptsLeft = init.attemptsLeft;
    this.retryAfter = init.retryAfter;
  }
}
