/**
 * The seam between the framing/RPC code and the wire. Each transport turns an
 * address into byte streams (Node `Duplex`), so the same framing code runs
 * over TCP locally and over vsock on Nitro.
 */
import type { Duplex } from 'node:stream';
import type { TransportAddress } from '../address.js';

/** A listening endpoint. */
export interface Listener {
  /** The address actually bound (with the real port when 0 was asked for). */
  readonly address: string;
  /** Stops accepting connections. Open connections are left to their owners. */
  close(): Promise<void>;
}

/** How to open and accept byte streams for one address scheme. */
export interface Transport {
  /** The scheme this transport serves. */
  readonly scheme: TransportAddress['scheme'];
  /**
   * Opens a stream to `address`.
   *
   * @throws {TransportError} CONNECT_FAILED, CONNECT_TIMEOUT or UNAVAILABLE
   */
  connect(address: TransportAddress, options?: { timeoutMs?: number }): Promise<Duplex>;
  /**
   * Accepts streams on `address`; `onConnection` gets each one.
   *
   * @throws {TransportError} LISTEN_FAILED or UNAVAILABLE
   */
  listen(address: TransportAddress, onConnection: (stream: Duplex) => void): Promise<Listener>;
}

/** Why a transport could not do what was asked. */
export type TransportErrorCode = 'CONNECT_FAILED' | 'CONNECT_TIMEOUT' | 'LISTEN_FAILED' | 'UNAVAILABLE';

/** A transport-level failure (no connection, no device, no native binding). */
export class TransportError extends Error {
  override readonly name = 'TransportError';
  constructor(
    readonly code: TransportErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
