/** The one error class of API failures, carrying what the API said. */
export class EnclaveWalletApiError extends Error {
  override readonly name = 'EnclaveWalletApiError';
  /**
   * The API's stable code (e.g. PIN_INVALID); NETWORK_ERROR when no answer came; TIMEOUT when none came within
   * `requestTimeoutMs` (ClientOptions); INVALID_RESPONSE when a success
   * answer was not JSON (not the API's: a proxy's page); HTTP_<status> for a failure answer without the API's error.
   */
  readonly code: string;
  /** HTTP status; 0 when no answer came. */
  readonly status: number;
  readonly requestId: string | undefined;
  /** With PIN_INVALID (RECOVERY_CODE_WRONG): attempts left before the wallet (its recovery) locks. */
  readonly attemptsLeft: number | undefined;
  /** With PIN_LOCKED, RECOVERY_LOCKED and RATE_LIMITED: seconds until a retry may succeed. */
  readonly retryAfter: number | undefined;
  /** With the chain codes: what the node said (a revert reason, a refusal). */
  readonly reason: string | undefined;
  /** With a send whose outcome is unknown: the transaction's hash (Solana: its signature), to look up before sending again. */
  readonly hash: string | undefined;

  constructor(init: {
    code: string;
    message: string;
    status: number;
    requestId?: string;
    attemptsLeft?: number;
    retryAfter?: number;
    reason?: string;
    hash?: string;
    cause?: unknown;
  }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = init.code;
    this.status = init.status;
    this.requestId = init.requestId;
    this.attemptsLeft = init.attemptsLeft;
    this.retryAfter = init.retryAfter;
    this.reason = init.reason;
    this.hash = init.hash;
  }
}
