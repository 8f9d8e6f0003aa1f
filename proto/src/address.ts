/**
 * Transport addresses as strings: `tcp://127.0.0.1:5005` for local runs and
 * tests, `vsock://16:5005` (CID:port) on AWS Nitro.
 */

/** A parsed transport address. */
export type TransportAddress =
  { readonly scheme: 'tcp'; readonly host: string; readonly port: number } | { readonly scheme: 'vsock'; readonly cid: number; readonly port: number };

/** The address string is not one this project understands. */
export class AddressError extends TypeError {
  override readonly name = 'AddressError';
}

const TCP = /^tcp:\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;
const VSOCK = /^vsock:\/\/(\d{1,10}):(\d{1,10})$/;

/**
 * Parses `tcp://HOST:PORT` or `vsock://CID:PORT`. Port 0 (TCP) asks the
 * system for a free port when listening.
 *
 * @throws {AddressError} naming what is wrong
 * @example parseAddress('vsock://16:5005') // { scheme: 'vsock', cid: 16, port: 5005 }
 */
export function parseAddress(address: string): TransportAddress {
  if (typeof address !== 'string') throw new AddressError('address must be a string');
  let m = TCP.exec(address);
  if (m) {
    const port = Number(m[2]);
    if (port > 65535) throw new AddressError(`tcp port out of range in ${address}`);
    const host = m[1]!.startsWith('[') ? m[1]!.slice(1, -1) : m[1]!;
    return { scheme: 'tcp', host, port };
  }
  m = VSOCK.exec(address);
  if (m) {
    const cid = Number(m[1]);
    const port = Number(m[2]);
    if (cid > 0xffffffff) throw new AddressError(`vsock CID out of range in ${address}`);
    if (port > 0xffffffff) throw new AddressError(`vsock port out of range in ${address}`);
    return { scheme: 'vsock', cid, port };
  }
  throw new AddressError(`not a transport address: ${JSON.stringify(address)} (expected tcp://HOST:PORT or vsock://CID:PORT)`);
}

/** The canonical string form of an address. */
export function formatAddress(address: TransportAddress): string {
  if (address.scheme === 'vsock') return `vsock://${address.cid}:${address.port}`;
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return `tcp://${host}:${address.port}`;
}
