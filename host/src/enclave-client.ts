/**
 * The host's link to the enclave: one RPC connection, opened on first use and
 * re-opened with back-off after it drops. While the enclave is away every
 * call fails fast with ENCLAVE_UNAVAILABLE.
 */
import { EnclaveWalletError, RpcClient, type OperationName, type RequestOf, type ResponseOf } from '@enclave-wallet/proto';

export interface EnclaveClientOptions {
  /** `tcp://…` or `vsock://…`. */
  address: string;
  /** Time an answer may take. */
  timeoutMs?: number;
  /** First and largest pause between reconnection attempts. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /**
   * The configuration handed to the enclave on every new connection (an
   * enclave that restarted has forgotten it). Without it the enclave stays
   * uninitialised and only health and attestation work.
   */
  init?: () => RequestOf<'init'> | Promise<RequestOf<'init'>>;
}

export class EnclaveClient {
  private rpc: RpcClient | undefined;
  private connecting: Promise<RpcClient> | undefined;
  private nextAttemptAt = 0;
  private backoffMs: number;
  private stopped = false;

  constructor(private readonly options: EnclaveClientOptions) {
    this.backoffMs = options.minBackoffMs ?? 100;
  }

  /** Calls an enclave operation; `traceId`, the HTTP request's id, goes along, so the enclave's log line of this call carries it too. */
  async call<K extends OperationName>(operation: K, body: RequestOf<K>, options?: { timeoutMs?: number; traceId?: string }): Promise<ResponseOf<K>> {
    const rpc = await this.connection();
    const { traceId, ...rest } = options ?? {};
    return rpc.call(operation, body, { ...rest, ...(traceId ? { traceId } : {}) });
  }

  /** Closes the connection and stops reconnecting. */
  close(): void {
    this.stopped = true;
    this.rpc?.close();
  }

  private async connection(): Promise<RpcClient> {
    if (this.stopped) throw new EnclaveWalletError('ENCLAVE_UNAVAILABLE', 'the enclave client is closed');
    if (this.rpc && !this.rpc.closed) return this.rpc;
    if (this.connecting) return this.connecting;
    if (Date.now() < this.nextAttemptAt) throw new EnclaveWalletError('ENCLAVE_UNAVAILABLE', 'the enclave is unavailable; reconnecting');
    this.connecting = RpcClient.connect(this.options.address, { timeoutMs: this.options.timeoutMs, connectTimeoutMs: 2000 })
      .then(async (rpc) => {
        if (this.options.init) {
          try {
            await rpc.call('init', await this.options.init());
          } catch (err) {
            rpc.close();
            throw err;
          }
        }
        this.rpc = rpc;
        this.backoffMs = this.options.minBackoffMs ?? 100;
        return rpc;
      })
      .catch((err: unknown) => {
        this.nextAttemptAt = Date.now() + this.backoffMs;
        this.backoffMs = Math.min(this.backoffMs * 2, this.options.maxBackoffMs ?? 5000);
        // An enclave that refuses our configuration is an operator error worth naming (still 503).
        if (err instanceof EnclaveWalletError && err.code === 'CONFIG_REJECTED') throw err;
        throw new EnclaveWalletError('ENCLAVE_UNAVAILABLE', 'the enclave is unavailable', { cause: err });
      })
      .finally(() => {
        this.connecting = undefined;
      });
    return this.connecting;
  }
}

/** A few connections to the enclave, used round-robin (each carries many requests at once). */
export class EnclavePool {
  private readonly clients: EnclaveClient[];
  private next = 0;

  constructor(options: EnclaveClientOptions & { size?: number }) {
    this.clients = Array.from({ length: Math.max(1, options.size ?? 2) }, () => new EnclaveClient(options));
  }

  call<K extends OperationName>(operation: K, body: RequestOf<K>, options?: { timeoutMs?: number; traceId?: string }): Promise<ResponseOf<K>> {
    const client = this.clients[this.next]!;
    this.next = (this.next + 1) % this.clients.length;
    return client.call(operation, body, options);
  }

  close(): void {
    for (const c of this.clients) c.close();
  }
}
