/**
 * vsock transport, for the host ⇄ enclave link on AWS Nitro.
 *
 * It wraps the published native addon of node-vsock
 * (`node-vsock-linux-x64-gnu`, an optional dependency), loaded lazily on first
 * use so that machines without it, or without a vsock device, still build and
 * test. The addon is event-based; here each socket becomes a Node `Duplex`
 * so the framing and RPC code run over it unchanged.
 */
import { createRequire } from 'node:module';
import { Duplex } from 'node:stream';
import { formatAddress, type TransportAddress } from '../address.js';
import { TransportError, type Listener, type Transport } from './types.js';

/** npm package of the native addon. */
export const VSOCK_NATIVE_PACKAGE = 'node-vsock-linux-x64-gnu';

/** Default time to wait for a vsock connection (the addon itself retries with back-off). */
export const VSOCK_CONNECT_TIMEOUT_MS = 10_000;

/** The addon calls this with (error, eventName, ...args) from its I/O threads. */
export type VsockEmit = (err: Error | null | undefined, event: string, ...args: unknown[]) => void;

/** One native socket of the addon. */
export interface VsockNativeSocket {
  listen(port: number): void;
  connect(cid: number, port: number): void;
  startRecv(): void;
  writeBuffer(data: Buffer): void;
  end(): void;
  close(): void;
}

/** The addon's exports, as far as this wrapper uses them. */
export interface VsockBinding {
  VsockSocket: new (emit: VsockEmit, fd?: number) => VsockNativeSocket;
}

let cachedBinding: VsockBinding | undefined;

/**
 * Loads the native addon once.
 *
 * @throws {TransportError} UNAVAILABLE when it is not installed or cannot load
 */
export function loadVsockBinding(): VsockBinding {
  if (cachedBinding) return cachedBinding;
  try {
    cachedBinding = createRequire(import.meta.url)(VSOCK_NATIVE_PACKAGE) as VsockBinding;
    return cachedBinding;
  } catch (err) {
    throw new TransportError('UNAVAILABLE', `vsock is unavailable: cannot load ${VSOCK_NATIVE_PACKAGE} (${(err as Error).message})`, { cause: err });
  }
}

/** A native vsock socket as a Node byte stream. */
export class VsockStream extends Duplex {
  private readonly native: VsockNativeSocket;
  private connectWaiter: ((err?: Error) => void) | undefined;

  constructor(binding: VsockBinding, fd?: number) {
    super({ allowHalfOpen: false });
    this.native = new binding.VsockSocket((err, event, ...args) => this.onNativeEvent(err, event, args), fd);
  }

  /** Starts delivering received bytes (the addon reads on a thread of its own). */
  startReceiving(): void {
    this.native.startRecv();
  }

  /** Connects and resolves once the addon reports the connection. */
  connectTo(cid: number, port: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.connectWaiter = (err) => {
        this.connectWaiter = undefined;
        if (err) reject(err);
        else resolve();
      };
      try {
        this.native.connect(cid, port);
      } catch (err) {
        this.connectWaiter(err as Error);
      }
    });
  }

  private onNativeEvent(err: Error | null | undefined, event: string, args: unknown[]): void {
    if (err || event === '_error') {
      const error = err ?? (args[0] instanceof Error ? args[0] : new Error(`vsock error: ${String(args[0])}`));
      if (this.connectWaiter) this.connectWaiter(error);
      else this.destroy(error);
      return;
    }
    switch (event) {
      case '_connect':
        this.connectWaiter?.();
        return;
      case '_data': {
        const data = args[0];
        if (data instanceof Uint8Array && data.length > 0) this.push(Buffer.from(data.buffer, data.byteOffset, data.length));
        return;
      }
      case 'end':
        this.push(null);
        return;
      default:
        // '_shutdown' and 'close' follow our own end() and destroy().
        return;
    }
  }

  override _read(): void {
    // The addon pushes data as it arrives; there is no pull to start.
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    try {
      this.native.writeBuffer(chunk);
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  override _final(callback: (error?: Error | null) => void): void {
    try {
      this.native.end();
    } catch {
      // Already shut down by the peer.
    }
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    try {
      this.native.close();
    } catch {
      // Closing twice is harmless.
    }
    callback(error);
  }
}

/**
 * A vsock transport over a given binding (the real addon by default; tests
 * pass a stand-in, since these machines have no vsock device).
 */
export function createVsockTransport(loadBinding: () => VsockBinding = loadVsockBinding): Transport {
  const expectVsock = (address: TransportAddress): Extract<TransportAddress, { scheme: 'vsock' }> => {
    if (address.scheme !== 'vsock') throw new TypeError(`vsock transport cannot serve ${formatAddress(address)}`);
    return address;
  };
  return {
    scheme: 'vsock',

    async connect(address, options = {}) {
      const { cid, port } = expectVsock(address);
      const binding = loadBinding();
      const timeoutMs = options.timeoutMs ?? VSOCK_CONNECT_TIMEOUT_MS;
      const stream = new VsockStream(binding, undefined);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new TransportError('CONNECT_TIMEOUT', `no vsock connection to ${formatAddress(address)} within ${timeoutMs} ms`)),
          timeoutMs,
        );
      });
      try {
        await Promise.race([stream.connectTo(cid, port), timeout]);
      } catch (err) {
        stream.destroy();
        if (err instanceof TransportError) throw err;
        throw new TransportError('CONNECT_FAILED', `cannot connect to ${formatAddress(address)}: ${(err as Error).message}`, { cause: err });
      } finally {
        clearTimeout(timer);
      }
      stream.startReceiving();
      return stream;
    },

    async listen(address, onConnection) {
      const { port } = expectVsock(address);
      const binding = loadBinding();
      let closed = false;
      const server = new binding.VsockSocket((err, event, ...args) => {
        if (closed || err || event !== '_connection') return; // accept errors are per attempt; the addon keeps accepting
        const stream = new VsockStream(binding, args[0] as number);
        stream.startReceiving();
        onConnection(stream);
      });
      try {
        // The addon always binds VMADDR_CID_ANY; the CID of a listen address is not used.
        server.listen(port);
      } catch (err) {
        throw new TransportError('LISTEN_FAILED', `cannot listen on ${formatAddress(address)}: ${(err as Error).message}`, { cause: err });
      }
      return {
        address: formatAddress(address),
        close: async () => {
          if (closed) return;
          closed = true;
          server.close();
        },
      } satisfies Listener;
    },
  };
}

/** The vsock transport over the real addon. */
export const vsockTransport: Transport = createVsockTransport();
