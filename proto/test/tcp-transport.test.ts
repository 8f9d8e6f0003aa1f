import { createServer, type AddressInfo } from 'node:net';
import { tcpTransport } from '../src/transport/tcp.js';
import { transportSuite } from './transport-suite.js';

/** A port that was free a moment ago (bound, then released). */
let deadPort = 1;
beforeAll(async () => {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  deadPort = (server.address() as AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
});

transportSuite('tcp', () => ({
  transport: tcpTransport,
  listenAddress: () => 'tcp://127.0.0.1:0',
  deadAddress: () => `tcp://127.0.0.1:${deadPort}`,
}));
