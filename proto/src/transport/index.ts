/** Picks the transport for an address string. */
import type { Duplex } from 'node:stream';
import { parseAddress, type TransportAddress } from '../address.js';
import { tcpTransport } from './tcp.js';
import type { Listener, Transport } from './types.js';
import { vsockTransport } from './vsock.js';

export * from './types.js';
export { tcpTransport, TCP_CONNECT_TIMEOUT_MS } from './tcp.js';
export * from './vsock.js';

/** The transport serving an address's scheme. */
export function transportFor(address: TransportAddress): Transport {
  return address.scheme === 'tcp' ? tcpTransport : vsockTransport;
}

/** Opens a stream to `tcp://…` or `vsock://…`. */
export function connect(address: string, options?: { timeoutMs?: number }): Promise<Duplex> {
  const parsed = parseAddress(address);
  return transportFor(parsed).connect(parsed, options);
}

/** Listens on `tcp://…` or `vsock://…`. */
export function listen(address: string, onConnection: (stream: Duplex) => void): Promise<Listener> {
  const parsed = parseAddress(address);
  return transportFor(parsed).listen(parsed, onConnection);
}
