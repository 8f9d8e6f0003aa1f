/**
 * Request bodies, read only where a route wants one and only after the
 * caller is authenticated (or, for login and refresh, rate-limited), with
 * the route's own size limit: an unauthenticated client cannot make the host
 * hold a body in memory, and nobody can make it hold more than the route
 * needs. A body over the limit is refused as soon as its length says so (or
 * as soon as that many bytes arrived), without reading the rest; the
 * connection is then closed (http-errors.ts).
 */
import type { IncomingMessage } from 'node:http';
import { EnclaveWalletError } from '@enclave-wallet/proto';

/** Body limits by route (bytes). Only signature requests (which carry what is signed) get the large one. */
export const BODY_LIMITS = Object.freeze({
  /** login (an ID token of at most 16 KiB), refresh, and every call whose body is a PIN envelope. */
  small: 32 * 1024,
  /** transactions/prepare (calldata of up to 128 KiB, as hex). */
  prepare: 320 * 1024,
  /** sign and transactions/send: a message of up to 1 MiB, EIP-712 data, a transaction with its calldata. */
  sign: 1024 * 1024,
});

/** Strict UTF-8 (invalid bytes throw); one for every request, since `decode` without `stream` keeps no state between calls. */
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Whether a request announces a body (a length above 0, or chunks). */
export const announcesBody = (headers: IncomingMessage['headers']): boolean =>
  headers['transfer-encoding'] !== undefined || (headers['content-length'] !== undefined && headers['content-length'] !== '0');

/**
 * Reads a JSON body of at most `limit` bytes into `req.body`. Leaves `req.body` undefined when no body was
 * announced, the body is empty, or it is not sent as `application/json` (parseBody says what is expected).
 *
 * @throws {EnclaveWalletError} PAYLOAD_TOO_LARGE past the limit; VALIDATION_FAILED for bytes that are not UTF-8 JSON
 */
export async function readJsonBody(req: IncomingMessage & { body?: unknown }, limit: number): Promise<void> {
  if (req.body !== undefined || !announcesBody(req.headers)) return;
  const [type = '', ...params] = (req.headers['content-type'] ?? '').split(';').map((p) => p.trim().toLowerCase());
  if (type !== 'application/json') return;
  const charset = params.find((p) => p.startsWith('charset='))?.slice(8);
  if (charset !== undefined && charset.replace(/"/g, '') !== 'utf-8')
    throw new EnclaveWalletError('VALIDATION_FAILED', 'send the body as UTF-8 JSON (content-type: application/json)');
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding !== 'identity') throw new EnclaveWalletError('VALIDATION_FAILED', 'send the body uncompressed (no content-encoding)');
  const tooLarge = () => new EnclaveWalletError('PAYLOAD_TOO_LARGE', `the body exceeds ${limit} bytes, this call's limit`);
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  await new Promise<void>((resolve, reject) => {
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
    };
    const fail = (err: Error) => {
      cleanup();
      req.pause();
      reject(err);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) fail(tooLarge());
      else chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve();
    };
    const onError = () => fail(new EnclaveWalletError('VALIDATION_FAILED', 'the body could not be read'));
    const onAborted = onError;
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
  if (size === 0) return;
  let text: string;
  try {
    text = utf8.decode(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
  } catch {
    throw new EnclaveWalletError('VALIDATION_FAILED', 'the body is not valid UTF-8');
  }
  try {
    req.body = JSON.parse(text) as unknown;
  } catch {
    throw new EnclaveWalletError('VALIDATION_FAILED', 'the body is not valid JSON');
  }
}
