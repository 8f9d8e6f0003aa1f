/**
 * Request/response over one framed byte stream: the host's client (many
 * requests in flight, answers matched by request id in any order, a timeout
 * per request) and the enclave's server (handlers per operation, bounded
 * concurrency, typed error answers).
 */
import type { Duplex } from 'node:stream';
import { EnclaveWalletError } from './errors.js';
import { encodeFrame, FrameDecoder, FrameError, MAX_FRAME_BYTES } from './framing.js';
import { PROTOCOL_VERSION, v1 } from './messages.js';
import { connect, listen } from './transport/index.js';

/** Every operation of the schema, by its field name in both envelopes. */
export const OPERATIONS = [
  'init',
  'health',
  'getAttestation',
  'createWallet',
  'deriveAccount',
  'sign',
  'changePin',
  'export',
  'import',
  'updateCredentials',
] as const;

/** One operation's name. */
export type OperationName = (typeof OPERATIONS)[number];
/** What a caller passes for an operation. */
export type RequestOf<K extends OperationName> = NonNullable<v1.HostRequest.$Properties[K]>;
/** What a handler receives for an operation (decoded, defaults filled in). */
export type DecodedRequestOf<K extends OperationName> = NonNullable<v1.HostRequest[K]>;
/** What an operation answers with. */
export type ResponseOf<K extends OperationName> = NonNullable<v1.EnclaveResponse.$Properties[K]>;

/** Default time an answer may take. Argon2id and KMS round trips stay well below it. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** Default cap on concurrent requests per connection on the server side. */
export const DEFAULT_MAX_IN_FLIGHT = 32;

/**
 * Owns a stream and turns it into frames in and frames out. Any framing error,
 * end of stream or stream error closes it once, removing every listener it
 * added.
 */
class FramedStream {
  private readonly decoder: FrameDecoder;
  private done = false;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- EventEmitter listener signature
  private readonly listeners: Array<[string, (...args: any[]) => void]>;

  constructor(
    readonly stream: Duplex,
    private readonly maxFrameBytes: number,
    onFrame: (frame: Buffer) => void,
    private readonly onClose: (reason: Error | undefined) => void,
  ) {
    this.decoder = new FrameDecoder(maxFrameBytes);
    const onData = (chunk: Buffer): void => {
      let frames: Buffer[];
      try {
        frames = this.decoder.push(chunk);
      } catch (err) {
        this.close(err as FrameError);
        return;
      }
      for (const frame of frames) {
        if (this.done) return;
        onFrame(frame);
      }
    };
    const onEnd = (): void => {
      try {
        this.decoder.end();
        this.close(undefined);
      } catch (err) {
        this.close(err as FrameError);
      }
    };
    const onError = (err: Error): void => this.close(err);
    const onStreamClose = (): void => this.close(undefined);
    this.listeners = [
      ['data', onData],
      ['end', onEnd],
      ['error', onError],
      ['close', onStreamClose],
    ];
    for (const [event, fn] of this.listeners) stream.on(event, fn);
  }

  get closed(): boolean {
    return this.done;
  }

  /** Sends one payload; false when the stream is already closed. */
  send(payload: Uint8Array): boolean {
    if (this.done) return false;
    this.stream.write(encodeFrame(payload, this.maxFrameBytes));
    return true;
  }

  /** Closes after everything written so far has been flushed. */
  closeAfterFlush(reason: Error): void {
    if (this.done) return;
    this.stream.end(() => this.close(reason));
  }

  close(reason: Error | undefined): void {
    if (this.done) return;
    this.done = true;
    for (const [event, fn] of this.listeners) this.stream.off(event, fn);
    // A late error from a stream being torn down must not become an uncaught exception.
    this.stream.on('error', () => {});
    this.stream.destroy();
    this.onClose(reason);
  }
}

interface Pending {
  readonly operation: OperationName;
  readonly resolve: (value: never) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/** Options of an RpcClient. */
export interface RpcClientOptions {
  /** Time an answer may take unless a call says otherwise. */
  timeoutMs?: number;
  /** Largest frame accepted or sent. */
  maxFrameBytes?: number;
}

/**
 * The host's side of one connection to the enclave.
 *
 * @example
 * const rpc = await RpcClient.connect('tcp://127.0.0.1:5005');
 * const { initialized } = await rpc.call('health', {});
 */
export class RpcClient {
  private readonly framed: FramedStream;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private readonly timeoutMs: number;
  private closeReason: Error | undefined;
  private readonly closeWaiters: Array<(reason: Error | undefined) => void> = [];

  /** Connects to `tcp://…` or `vsock://…`. */
  static async connect(address: string, options: RpcClientOptions & { connectTimeoutMs?: number } = {}): Promise<RpcClient> {
    const stream = await connect(address, { timeoutMs: options.connectTimeoutMs });
    return new RpcClient(stream, options);
  }

  constructor(stream: Duplex, options: RpcClientOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.framed = new FramedStream(
      stream,
      options.maxFrameBytes ?? MAX_FRAME_BYTES,
      (frame) => this.onFrame(frame),
      (reason) => this.onClosed(reason),
    );
  }

  /** Whether the connection is gone (no call can succeed any more). */
  get closed(): boolean {
    return this.framed.closed;
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Resolves when the connection closes, with the reason if it failed. */
  whenClosed(): Promise<Error | undefined> {
    if (this.framed.closed) return Promise.resolve(this.closeReason);
    return new Promise((resolve) => this.closeWaiters.push(resolve));
  }

  /**
   * Sends one request and waits for its answer.
   *
   * @throws {EnclaveWalletError} the enclave's error; ENCLAVE_TIMEOUT when no
   *   answer came in time; ENCLAVE_UNAVAILABLE when the connection is or goes
   *   down; VALIDATION_FAILED / PAYLOAD_TOO_LARGE when the request cannot be encoded
   */
  call<K extends OperationName>(operation: K, body: RequestOf<K>, options: { timeoutMs?: number; traceId?: string } = {}): Promise<ResponseOf<K>> {
    if (this.framed.closed) {
      return Promise.reject(new EnclaveWalletError('ENCLAVE_UNAVAILABLE', 'the connection to the enclave is closed', { cause: this.closeReason }));
    }
    const requestId = this.allocateId();
    let payload: Uint8Array;
    try {
      payload = v1.HostRequest.encode({ requestId, protocolVersion: PROTOCOL_VERSION, ...(options.traceId ? { traceId: options.traceId.slice(0, 64) } : {}), [operation]: body }).finish();
    } catch (err) {
      return Promise.reject(new EnclaveWalletError('VALIDATION_FAILED', `cannot encode ${operation} request: ${(err as Error).message}`));
    }
    return new Promise<ResponseOf<K>>((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? this.timeoutMs;
      const timer = setTimeout(() => {
        // A late answer to this id is dropped by onFrame.
        this.pending.delete(requestId);
        reject(new EnclaveWalletError('ENCLAVE_TIMEOUT', `the enclave did not answer ${operation} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(requestId, { operation, resolve: resolve as (value: never) => void, reject, timer });
      try {
        this.framed.send(payload);
      } catch (err) {
        clearTimeout(timer);
        this.pending.delete(requestId);
        reject(
          err instanceof FrameError && err.code === 'FRAME_TOO_LARGE'
            ? new EnclaveWalletError('PAYLOAD_TOO_LARGE', err.message)
            : new EnclaveWalletError('ENCLAVE_UNAVAILABLE', `cannot send to the enclave: ${(err as Error).message}`),
        );
      }
    });
  }

  /** Closes the connection; calls in flight fail with ENCLAVE_UNAVAILABLE. */
  close(): void {
    this.framed.close(undefined);
  }

  private allocateId(): number {
    // Ids stay below 2^53 (protobuf uint64 as a JS number) and skip ids in flight after wrapping.
    do {
      const id = this.nextId;
      this.nextId = this.nextId >= Number.MAX_SAFE_INTEGER ? 1 : this.nextId + 1;
      if (!this.pending.has(id)) return id;
    } while (true);
  }

  private onFrame(frame: Buffer): void {
    let response: v1.EnclaveResponse;
    try {
      response = v1.EnclaveResponse.decode(frame);
    } catch (err) {
      this.framed.close(new Error(`undecodable answer from the enclave: ${(err as Error).message}`, { cause: err }));
      return;
    }
    const id = response.requestId;
    if (id === 0) {
      // The enclave could not read one of our requests and closes the connection.
      const err = response.error ? EnclaveWalletError.fromProto(response.error) : undefined;
      this.framed.close(new Error(`the enclave rejected the connection: ${err?.message ?? 'no reason given'}`, { cause: err }));
      return;
    }
    const call = this.pending.get(id);
    if (!call) return; // answer to a request that timed out
    this.pending.delete(id);
    clearTimeout(call.timer);
    const kind = response.result;
    if (kind === 'error' && response.error) {
      call.reject(EnclaveWalletError.fromProto(response.error));
    } else if (kind === call.operation) {
      call.resolve(response[call.operation] as never);
    } else {
      call.reject(new EnclaveWalletError('INTERNAL_ERROR', `the enclave answered ${call.operation} with ${kind ?? 'nothing'}`));
    }
  }

  private onClosed(reason: Error | undefined): void {
    this.closeReason = reason;
    for (const [, call] of this.pending) {
      clearTimeout(call.timer);
      call.reject(new EnclaveWalletError('ENCLAVE_UNAVAILABLE', 'the connection to the enclave closed before it answered', { cause: reason }));
    }
    this.pending.clear();
    for (const waiter of this.closeWaiters.splice(0)) waiter(reason);
  }
}

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

  const reply = (response: v1.EnclaveResponse.$Properties): void => {
    if (framed.closed) return;
    let payload: Uint8Array;
    try {
      payload = v1.EnclaveResponse.encode({ ...response, protocolVersion: PROTOCOL_VERSION }).finish();
    } catch (err) {
      options.onInternalError?.(err, undefined);
      payload = v1.EnclaveResponse.encode({
        requestId: response.requestId,
        protocolVersion: PROTOCOL_VERSION,
        error: new EnclaveWalletError('INTERNAL_ERROR', 'internal error').toProto(),
      }).finish();
    }
    try {
      framed.send(payload);
    } catch (err) {
      // An answer larger than a frame is a bug; the host times out on it rather than getting a broken stream.
      options.onInternalError?.(err, undefined);
    }
  };
  const replyError = (requestId: number, err: EnclaveWalletError): void => reply({ requestId, error: err.toProto() });

  const handle = async (request: v1.HostRequest): Promise<void> => {
    const requestId = request.requestId;
    const operation = request.operation as OperationName | undefined;
    if (request.protocolVersion !== PROTOCOL_VERSION) {
      replyError(requestId, new EnclaveWalletError('PROTOCOL_VERSION_UNSUPPORTED', `protocol version ${request.protocolVersion} is not supported (this enclave speaks ${PROTOCOL_VERSION})`));
      return;
    }
    if (!operation) {
      replyError(requestId, new EnclaveWalletError('MALFORMED_REQUEST', 'the request names no operation'));
      return;
    }
    const handler = handlers[operation] as ((body: unknown, ctx: RequestContext) => Promise<unknown>) | undefined;
    if (!handler) {
      replyError(requestId, new EnclaveWalletError('UNSUPPORTED_OPERATION', `operation ${operation} is not supported by this enclave`));
      return;
    }
    const traceId = (request.traceId ?? '').slice(0, 64);
    const started = Date.now();
    let code: string | undefined;
    try {
      const result = await handler(request[operation], { requestId, traceId });
      reply({ requestId, [operation]: result });
    } catch (err) {
      if (err instanceof EnclaveWalletError) {
        code = err.code;
        replyError(requestId, err);
      } else {
        code = 'INTERNAL_ERROR';
        options.onInternalError?.(err, operation);
        replyError(requestId, new EnclaveWalletError('INTERNAL_ERROR', 'internal error'));
      }
    } finally {
      options.onRequestDone?.({ operation, traceId, ms: Date.now() - started, ...(code ? { code } : {}) });
    }
  };

  const onFrame = (frame: Buffer): void => {
    let request: v1.HostRequest;
    try {
      request = v1.HostRequest.decode(frame);
    } catch (err) {
      replyError(0, new EnclaveWalletError('MALFORMED_REQUEST', `undecodable request: ${(err as Error).message}`));
      framed.closeAfterFlush(new Error('undecodable request', { cause: err }));
      return;
    }
    if (!request.requestId) {
      replyError(0, new EnclaveWalletError('MALFORMED_REQUEST', 'request id 0 is reserved'));
      framed.closeAfterFlush(new Error('request without an id'));
      return;
    }
    inFlight += 1;
    if (inFlight >= maxInFlight) stream.pause();
    void handle(request).finally(() => {
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
