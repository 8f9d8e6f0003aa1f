/** TCP transport, for local runs and tests. */
import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { formatAddress, type TransportAddress } from '../address.js';
import { TransportError, type Listener, type Transport } from './types.js';

/** Default time to wait for a TCP connection to open. */
export const TCP_CONNECT_TIMEOUT_MS = 5000;

function expectTcp(address: TransportAddress): Extract<TransportAddress, { scheme: 'tcp' }> {
  if (address.scheme !== 'tcp') throw new TypeError(`tcp transport cannot serve ${formatAddress(address)}`);
  return address;
}

/** Frames travel as a continuous stream; disable Nagle so small requests are not delayed. */
function tune(socket: Socket): Socket {
  socket.setNoDelay(true);
  return socket;
}

export const tcpTransport: Transport = {
  scheme: 'tcp',

  connect(address, options = {}) {
    const { host, port } = expectTcp(address);
    const timeoutMs = options.timeoutMs ?? TCP_CONNECT_TIMEOUT_MS;
    return new Promise<Duplex>((resolve, reject) => {
      const socket = createConnection({ host, port });
      const timer = setTimeout(() => {
        cleanup();
        socket.destroy();
        reject(new TransportError('CONNECT_TIMEOUT', `no TCP connection to ${formatAddress(address)} within ${timeoutMs} ms`));
      }, timeoutMs);
      const onConnect = (): void => {
        cleanup();
        resolve(tune(socket));
      };
      const onError = (err: Error): void => {
        cleanup();
        socket.destroy();
        reject(new TransportError('CONNECT_FAILED', `cannot connect to ${formatAddress(address)}: ${err.message}`, { cause: err }));
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        socket.off('connect', onConnect);
        socket.off('error', onError);
      };
      socket.once('connect', onConnect);
      socket.once('error', onError);
    });
  },

  listen(address, onConnection) {
    const { host, port } = expectTcp(address);
    return new Promise<Listener>((resolve, reject) => {
      const server = createServer((socket) => onConnection(tune(socket)));
      const onError = (err: Error): void => {
        reject(new TransportError('LISTEN_FAILED', `cannot listen on ${formatAddress(address)}: ${err.message}`, { cause: err }));
      };
      server.once('error', onError);
      server.listen(port, host, () => {
        server.off('error', onError);
        const bound = server.address() as AddressInfo;
        resolve({
          address: formatAddress({ scheme: 'tcp', host, port: bound.port }),
          close: () => new Promise<void>((done) => server.close(() => done())),
        });
      });
    });
  },
};
