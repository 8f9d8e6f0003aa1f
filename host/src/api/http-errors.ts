/** The error body of SPEC §2 and the mapping from any failure to it. */
import type { IncomingMessage } from 'node:http';
import type { Response } from 'express';
import { announcesBody } from './body.js';
import { EnclaveWalletError, type ErrorCodeName } from '@enclave-wallet/proto';
import { HTTP_STATUS } from './http-status.js';
import { ZodError } from 'zod';

/** What an error answer may carry besides code and message (SPEC §2). */
export interface ErrorExtra {
  attemptsLeft?: number;
  retryAfter?: number;
  /** Chain codes: what the node said. */
  reason?: string;
  /** A send whose outcome is unknown: the transaction's hash. */
  hash?: string;
}

export function sendError(res: Response, code: ErrorCodeName, message: string, extra: ErrorExtra = {}): void {
  const status = HTTP_STATUS[code];
  // A refusal before the body was read (not authenticated, over the limit, rate-limited): close the connection
  // after the answer rather than read the rest of a body nobody wants.
  const req = res.req as IncomingMessage | undefined;
  if (req && !req.complete && announcesBody(req.headers)) res.setHeader('connection', 'close');
  if (extra.retryAfter !== undefined) res.setHeader('Retry-After', String(extra.retryAfter));
  res.locals.errorCode = code;
  res.status(status).json({ error: { code, message, requestId: res.locals.requestId as string, ...extra } });
}

/** Turns a thrown value into the API's error answer. Unknown errors become INTERNAL_ERROR with no detail. */
export function sendFailure(res: Response, err: unknown): void {
  if (err instanceof ZodError) {
    const issue = err.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : 'body';
    sendError(res, 'VALIDATION_FAILED', `${where}: ${issue?.message ?? 'invalid'}`);
    return;
  }
  if (err instanceof EnclaveWalletError) {
    const extra: ErrorExtra = {};
    if (err.code === 'PIN_INVALID' || err.code === 'RECOVERY_CODE_WRONG') extra.attemptsLeft = err.details.attemptsLeft ?? 0;
    // A refused passkey assertion was counted when it was meant to open the wallet (not at registration).
    else if (err.code === 'PASSKEY_INVALID' && err.details.attemptsLeft !== undefined) extra.attemptsLeft = err.details.attemptsLeft;
    if (err.details.retryAfter !== undefined) extra.retryAfter = err.details.retryAfter;
    if (err.details.reason !== undefined) extra.reason = err.details.reason;
    if (err.details.hash !== undefined) extra.hash = err.details.hash;
    // Codes that only make sense inside the host/enclave link are not worth exposing as such.
    const code =
      err.code === 'MALFORMED_REQUEST' ||
      err.code === 'PROTOCOL_VERSION_UNSUPPORTED' ||
      err.code === 'ENCLAVE_TIMEOUT' ||
      err.code === 'ENCLAVE_NOT_INITIALIZED'
        ? 'ENCLAVE_UNAVAILABLE'
        : err.code;
    sendError(res, code, code === err.code ? err.message : 'the enclave is unavailable', extra);
    return;
  }
  res.locals.internalError = err;
  sendError(res, 'INTERNAL_ERROR', 'internal error');
}
