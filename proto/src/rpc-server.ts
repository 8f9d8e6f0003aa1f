/**
 * The enclave's side of the RPC: a handler per operation, bounded
 * concurrency per connection, typed error answers.
 */
import type { Duplex } from 'node:stream';
import { EnclaveWalletError } from './errors.js';
import { MAX_FRAME_BYTES } from './framing.js';
import { PROTOCOL_VERSION, v1 } from './messages.js';
import { DEFAULT_MAX_IN_FLIGHT, type DecodedRequestOf, type OperationName, type ResponseOf } from './rpc.js';
import { FramedStream } from './rpc-stream.js';
import { listen } from './transport/index.js';

/** Context of one request on the server side. */
export interface RequestContext {
  /** The request id the host chose. */
  readonly requestId: number;
  /** The host's id of the HTTP request (for logs); empty when none. */
  readonly traceId: string;
}

/** The enclave's implementation of each operation; a missing one answers UNSUPPORTED_OPERATION. */
export type Handlers = {
  [K in OperationName]?: (body: DecodedRequestOf<K>, context: RequestContext) => Promise<ResponseOf<K>>;
};

/** Options of the server side. */
export interface ServeOptions {
  /** Largest frame accepted or sent. */
  maxFrameBytes?: number;
  /** Requests handled at once per connection; reading pauses above it. */
  maxInFlight?: number;
  /**
   * Called with errors that are not EnclaveWalletErrors (bugs). The answer
   * carries only INTERNAL_ERROR; what to log is the caller's decision.
   */
  onInternalError?: (err: unknown, operation: OperationName | undefined) => void;
  /** Called when a connection closes, with the reason if it failed. */
  onConnectionClosed?: (reason: Error | undefined) => void;
  /** Called after each request is answered: the operation, the host's trace id, the time taken and the error code if it failed. */
  onRequestDone?: (done: { operation: OperationName; traceId: string; ms: number; code?: string }) => void;
  /**
   * Called when a request is answered with an error before any handler runs (a frame that does not decode, request
   * id 0, another protocol version, no or an unknown operation): its code, and the operation and the host's trace id
   * where the request decoded and named them. Nothing of its content.
   */
  onRefused?: (refused: { code: string; operation?: string; traceId?: string }) => void;
}

/** A served connection. */
export interface ServedConnection {
  /** Resolves once the connection is closed. */
  readonly closed: Promise<Error | undefined>;
  /** Closes it; answers still being computed are dropped. */
  close(): void;
}

/**
 * Serves requests arriving on one stream.
 *
 * Undecodable frames are answered with MALFORMED_REQUEST (request id 0) and
 * the connection is closed; a frame-level error closes it at once.
 */
export function serveConnection(stream: Duplex, handlers: Handlers, options: ServeOptions = {}): ServedConnection {
  const maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
  let inFlight = 0;
  let resolveClosed!: (reason: Error | undefined) => void;
  const closed = new Promise<Error | undefined>((resolve) => (resolveClosed = resolve));

  const reply = (response: Answer): void => {
    if (framed.closed) return;
    try {
      framed.send(encodeResponse(response, options));
    } catch (err) {
      // An answer larger than a frame is a bug; the host times out on it rather than getting a broken stream.
      options.onInternalError?.(err, undefined);
    }
  };
  const replyError = (requestId: number, err: EnclaveWalletError): void => reply(answer(requestId, 'error', err.toProto()));

  const onFrame = (frame: Buffer): void => {
    let request: Incoming;
    try {
      request = incomingOf(v1.HostRequest.decode(frame));
    } catch (err) {
      replyError(0, new EnclaveWalletError('MALFORMED_REQUEST', `undecodable request: ${(err as Error).message}`));
      options.onRefused?.({ code: 'MALFORMED_REQUEST' });
      framed.closeAfterFlush(new Error('undecodable request', { cause: err }));
      return;
    }
    if (!request.requestId) {
      replyError(0, new EnclaveWalletError('MALFORMED_REQUEST', 'request id 0 is reserved'));
      options.onRefused?.({ code: 'MALFORMED_REQUEST', ...refusedFields(request) });
      framed.closeAfterFlush(new Error('request without an id'));
      return;
    }
    inFlight += 1;
    if (inFlight >= maxInFlight) stream.pause();
    void handleRequest(request, handlers, options, reply).finally(() => {
      inFlight -= 1;
      if (inFlight < maxInFlight && !framed.closed) stream.resume();
    });
  };

  const framed = new FramedStream(stream, options.maxFrameBytes ?? MAX_FRAME_BYTES, onFrame, (reason) => {
    options.onConnectionClosed?.(reason);
    resolveClosed(reason);
  });

  return { closed, close: () => framed.close(undefined) };
}

type Handler = (body: unknown, ctx: RequestContext) => Promise<unknown>;

/*
 * A decoded request and an answer each have one shape here, whatever their operation. protobufjs gives a decoded
 * message the fields the wire carried, as own properties in the wire's order, so requests of two operations are
 * objects of two shapes (V8's maps), and so were answers written `{ requestId, [operation]: result }`. The enclave's
 * request path is optimised by V8 within its first few hundred signatures; each operation first seen after that (a
 * health check, an attestation, a new wallet) made V8 throw that code away and compile it again, on the enclave's
 * core, beside the stretch (docs/performance.md, twenty-fourth look).
 */

/** A decoded request, as the server reads it: the same fields, in the same order, for every operation. */
interface Incoming {
  requestId: number;
  protocolVersion: number;
  /** The host's trace id, as the enclave passes it on (at most 64 characters). */
  traceId: string;
  operation: string | undefined;
  body: unknown;
}

function incomingOf(request: v1.HostRequest): Incoming {
  const operation = request.operation;
  return {
    requestId: request.requestId,
    protocolVersion: request.protocolVersion,
    traceId: (request.traceId ?? '').slice(0, 64),
    operation,
    body: operation === undefined ? undefined : request[operation],
  };
}

/** An answer: every field of `EnclaveResponse`, the oneof's all null but one (encoding skips null fields). */
type Answer = { requestId: number; protocolVersion: number } & Record<'error' | OperationName, unknown>;

/**
 * An answer with `value` in `field`; the object literal gives every answer the same shape (`proto/test/rpc-shapes.test.ts`
 * checks it lists the schema's fields, and that V8 gives answers of every operation one map).
 */
function answer(requestId: number, field: 'error' | OperationName, value: unknown): Answer {
  const out: Answer = {
    requestId,
    protocolVersion: PROTOCOL_VERSION,
    error: null,
    init: null,
    health: null,
    getAttestation: null,
    createWallet: null,
    deriveAccount: null,
    sign: null,
    changePin: null,
    export: null,
    import: null,
    updateCredentials: null,
    newRecoveryCode: null,
    resetPin: null,
    listFactors: null,
    addPasskey: null,
    removePasskey: null,
  };
  out[field] = value;
  return out;
}

/** What a refused request that decoded may say of itself: the operation it names (a schema field's name) and its trace id. */
function refusedFields(request: Incoming): { operation?: string; traceId?: string } {
  const { traceId } = request;
  return { ...(request.operation ? { operation: request.operation } : {}), ...(traceId ? { traceId } : {}) };
}

/** The handler a request names, or the error that answers it instead (wrong version, no or unknown operation). */
function resolveHandler(request: Incoming, handlers: Handlers): { operation: OperationName; handler: Handler } | EnclaveWalletError {
  const operation = request.operation as OperationName | undefined;
  if (request.protocolVersion !== PROTOCOL_VERSION) {
    return new EnclaveWalletError(
      'PROTOCOL_VERSION_UNSUPPORTED',
      `protocol version ${request.protocolVersion} is not supported (this enclave speaks ${PROTOCOL_VERSION})`,
    );
  }
  if (!operation) return new EnclaveWalletError('MALFORMED_REQUEST', 'the request names no operation');
  const handler = handlers[operation] as Handler | undefined;
  if (!handler) return new EnclaveWalletError('UNSUPPORTED_OPERATION', `operation ${operation} is not supported by this enclave`);
  return { operation, handler };
}

/** Runs one request's handler and answers it: its result, its EnclaveWalletError, or INTERNAL_ERROR for anything else. */
async function handleRequest(request: Incoming, handlers: Handlers, options: ServeOptions, reply: (response: Answer) => void): Promise<void> {
  const requestId = request.requestId;
  const resolved = resolveHandler(request, handlers);
  if (resolved instanceof EnclaveWalletError) {
    reply(answer(requestId, 'error', resolved.toProto()));
    options.onRefused?.({ code: resolved.code, ...refusedFields(request) });
    return;
  }
  const { operation, handler } = resolved;
  const traceId = request.traceId;
  const started = Date.now();
  let code: string | undefined;
  try {
    const result = await handler(request.body, { requestId, traceId });
    reply(answer(requestId, operation, result));
  } catch (err) {
    code = err instanceof EnclaveWalletError ? err.code : 'INTERNAL_ERROR';
    if (!(err instanceof EnclaveWalletError)) options.onInternalError?.(err, operation);
    const error = err instanceof EnclaveWalletError ? err : new EnclaveWalletError('INTERNAL_ERROR', 'internal error');
    reply(answer(requestId, 'error', error.toProto()));
  } finally {
    options.onRequestDone?.({ operation, traceId, ms: Date.now() - started, ...(code ? { code } : {}) });
  }
}

/** The response's bytes; a response that does not encode (a bug) becomes INTERNAL_ERROR for its request. */
function encodeResponse(response: Answer, options: ServeOptions): Uint8Array {
  try {
    return v1.EnclaveResponse.encode(response as v1.EnclaveResponse.$Properties).finish();
  } catch (err) {
    options.onInternalError?.(err, undefined);
    return v1.EnclaveResponse.encode(
      answer(response.requestId, 'error', new EnclaveWalletError('INTERNAL_ERROR', 'internal error').toProto()) as v1.EnclaveResponse.$Properties,
    ).finish();
  }
}

/** A listening RPC server. */
export interface RpcServer {
  /** The address actually bound. */
  readonly address: string;
  /** Stops listening and closes every open connection. */
  close(): Promise<void>;
  /** Open connections. */
  readonly connections: number;
  /** Stops accepting connections; the open ones keep being served. */
  stopListening(): Promise<void>;
}

/** Listens on `tcp://…` or `vsock://…` and serves every connection with `handlers`. */
export async function startRpcServer(address: string, handlers: Handlers, options: ServeOptions = {}): Promise<RpcServer> {
  const connections = new Set<ServedConnection>();
  const listener = await listen(address, (stream) => {
    const served = serveConnection(stream, handlers, options);
    connections.add(served);
    void served.closed.then(() => connections.delete(served));
  });
  let listening = true;
  const stopListening = async (): Promise<void> => {
    if (!listening) return;
    listening = false;
    // Closing a TCP listener resolves only once its connections are gone: do not wait for that here.
    void listener.close();
  };
  return {
    address: listener.address,
    get connections() {
      return connections.size;
    },
    stopListening,
    async close() {
      // A TCP listener only finishes closing once its connections are gone, so close both together.
      const stopped = listener.close();
      const all = [...connections];
      for (const c of all) c.close();
      await Promise.all([stopped, ...all.map((c) => c.closed)]);
    },
  };
}
