/**
 * The host's side of the RPC: many requests in flight on one connection,
 * answers matched by request id in any order, a timeout per request.
 */
import type { Duplex } from 'node:stream';
import { EnclaveWalletError } from './errors.js';
import { FrameError, MAX_FRAME_BYTES } from './framing.js';
import { PROTOCOL_VERSION, v1 } from './messages.js';
import { DEFAULT_REQUEST_TIMEOUT_MS, type OperationName, type RequestOf, type ResponseOf } from './rpc.js';
import { FramedStream } from './rpc-stream.js';
import { connect } from './transport/index.js';

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
      payload = v1.HostRequest.encode({
        requestId,
        protocolVersion: PROTOCOL_VERSION,
        ...(options.traceId ? { traceId: options.traceId.slice(0, 64) } : {}),
        [operation]: body,
      }).finish();
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
