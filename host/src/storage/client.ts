/**
 * The host's DynamoDB client, with deadlines. The AWS SDK's own handler has
 * none by default: a table endpoint that accepts a connection and never
 * answers (a network partition, a stuck proxy) would hold every request that
 * reads or writes the store for as long as the caller waits. With these, a
 * silent store answers STORAGE_UNAVAILABLE (503) within about ten seconds
 * (docs/storage.md#deadlines). An attempt cut by a deadline is tried again
 * (the SDK's standard retry), so a conditional write may find its own earlier
 * attempt already stored: the record types read it back (wallets.ts,
 * sessions.ts) instead of answering a conflict.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/**
 * An attempt whose answer has not begun within this fails: from its start, the wait for a pooled connection and
 * the connection's making included. DynamoDB answers in milliseconds.
 */
export const STORAGE_REQUEST_TIMEOUT_MS = 5_000;
/** A connection silent this long while an attempt uses it fails the attempt: the answer's body included. */
export const STORAGE_SOCKET_TIMEOUT_MS = 3_000;
/**
 * An attempt's whole deadline, its answer's body included: the two above measure the time to the answer and
 * silences, and an answer that drips a byte now and then trips neither (DeadlineHandler).
 */
export const STORAGE_ATTEMPT_DEADLINE_MS = 8_000;
/** Attempts per call (the SDK's standard retry: a timeout or a dropped connection is tried again). */
export const STORAGE_MAX_ATTEMPTS = 3;
/** Connections kept to the table's endpoint (the SDK's 50 made a burst of calls wait in line, and time out there). */
export const STORAGE_MAX_SOCKETS = 200;

export interface StorageClientOptions {
  region: string;
  /** A local DynamoDB-compatible server (dynalite), with the local stand-in's credentials; unset on AWS. */
  endpoint?: string | undefined;
  requestTimeoutMs?: number;
  socketTimeoutMs?: number;
  attemptDeadlineMs?: number;
  maxAttempts?: number;
}

export function storageClient(options: StorageClientOptions): DynamoDBClient {
  const agent = { keepAlive: true, maxSockets: STORAGE_MAX_SOCKETS };
  return new DynamoDBClient({
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
    maxAttempts: options.maxAttempts ?? STORAGE_MAX_ATTEMPTS,
    requestHandler: new DeadlineHandler(options.attemptDeadlineMs ?? STORAGE_ATTEMPT_DEADLINE_MS, {
      requestTimeout: options.requestTimeoutMs ?? STORAGE_REQUEST_TIMEOUT_MS,
      // Without it the SDK only logs a warning when requestTimeout passes, and the call goes on waiting.
      throwOnRequestTimeout: true,
      // requestTimeout ends when the answer's headers arrive; this one also covers a body that stalls after them.
      socketTimeout: options.socketTimeoutMs ?? STORAGE_SOCKET_TIMEOUT_MS,
      httpAgent: agent,
      httpsAgent: agent,
    }),
  });
}

/**
 * The SDK's Node handler with a deadline over each attempt as a whole: an abort signal that fires after `deadlineMs`
 * (with the caller's own, if any), which the handler turns into destroying the request, and with it the answer's
 * body still being read.
 */
class DeadlineHandler extends NodeHttpHandler {
  constructor(
    private readonly deadlineMs: number,
    options: ConstructorParameters<typeof NodeHttpHandler>[0],
  ) {
    super(options);
  }

  override handle(...[request, options = {}]: Parameters<NodeHttpHandler['handle']>): ReturnType<NodeHttpHandler['handle']> {
    const deadline = AbortSignal.timeout(this.deadlineMs);
    const caller = options.abortSignal as AbortSignal | undefined;
    return super.handle(request, { ...options, abortSignal: caller ? AbortSignal.any([caller, deadline]) : deadline });
  }
}
