/**
 * The behaviour every transport must show, run against each of them: TCP for
 * real, vsock through the wrapper over a stand-in of its native addon.
 */
import type { Duplex } from 'node:stream';
import { parseAddress, type TransportAddress } from '../src/address.js';
import { EnclaveWalletError } from '../src/errors.js';
import { RpcClient, serveConnection, type Handlers } from '../src/index.js';
import { TransportError, type Listener, type Transport } from '../src/transport/types.js';

export interface SuiteSetup {
  transport: Transport;
  /** A fresh address to listen on. */
  listenAddress(): string;
  /** An address where nothing listens. */
  deadAddress(): string;
  /** Called after each test: nothing may be left open. */
  assertNoLeaks?(): void;
}

const handlers: Handlers = {
  async health() {
    return { initialized: true, uptimeMs: 42 };
  },
  async getAttestation(body) {
    // Echo the nonce back inside the document, like the real enclave does.
    return { document: body.nonce, expiresAtMs: 1 };
  },
};

function once(stream: Duplex, event: string): Promise<void> {
  return new Promise((resolve) => stream.once(event, () => resolve()));
}

export function transportSuite(name: string, setup: () => SuiteSetup): void {
  describe(`transport contract: ${name}`, () => {
    let s: SuiteSetup;
    let listener: Listener | undefined;
    const served: Duplex[] = [];

    beforeEach(() => {
      s = setup();
    });

    afterEach(async () => {
      for (const stream of served.splice(0)) stream.destroy();
      await listener?.close();
      listener = undefined;
      await new Promise((r) => setTimeout(r, 10));
      s.assertNoLeaks?.();
    });

    async function listenRpc(): Promise<TransportAddress> {
      listener = await s.transport.listen(parseAddress(s.listenAddress()), (stream) => {
        served.push(stream);
        serveConnection(stream, handlers);
      });
      return parseAddress(listener.address);
    }

    test('carries framed requests and answers both ways', async () => {
      const address = await listenRpc();
      const rpc = new RpcClient(await s.transport.connect(address));
      await expect(rpc.call('health', {})).resolves.toMatchObject({ initialized: true, uptimeMs: 42 });
      rpc.close();
    });

    test('carries a 1 MiB payload intact, across many chunks', async () => {
      const address = await listenRpc();
      const rpc = new RpcClient(await s.transport.connect(address));
      const nonce = Buffer.alloc(1024 * 1024);
      for (let i = 0; i < nonce.length; i++) nonce[i] = (i * 31 + 7) & 0xff;
      const answer = await rpc.call('getAttestation', { nonce });
      expect(Buffer.from(answer.document!).equals(nonce)).toBe(true);
      rpc.close();
    });

    test('serves many connections and many requests in flight at once', async () => {
      const address = await listenRpc();
      const clients = await Promise.all(Array.from({ length: 5 }, async () => new RpcClient(await s.transport.connect(address))));
      const answers = await Promise.all(
        clients.flatMap((rpc, c) => Array.from({ length: 20 }, (_, i) => rpc.call('getAttestation', { nonce: Uint8Array.of(c, i) }))),
      );
      expect(answers.map((a) => [...a.document!])).toEqual(clients.flatMap((_, c) => Array.from({ length: 20 }, (_, i) => [c, i])));
      for (const rpc of clients) rpc.close();
    });

    test('a connection to where nothing listens fails with a TransportError', async () => {
      await expect(s.transport.connect(parseAddress(s.deadAddress()), { timeoutMs: 3000 })).rejects.toBeInstanceOf(TransportError);
    });

    test('when the server side closes, calls in flight fail with ENCLAVE_UNAVAILABLE and later calls too', async () => {
      listener = await s.transport.listen(parseAddress(s.listenAddress()), (stream) => {
        served.push(stream);
        // Never answers; closes the connection on the first request.
        stream.once('data', () => stream.destroy());
      });
      const rpc = new RpcClient(await s.transport.connect(parseAddress(listener.address)));
      const err = await rpc.call('health', {}).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EnclaveWalletError);
      expect((err as EnclaveWalletError).code).toBe('ENCLAVE_UNAVAILABLE');
      await rpc.whenClosed();
      await expect(rpc.call('health', {})).rejects.toMatchObject({ code: 'ENCLAVE_UNAVAILABLE' });
    });

    test('ending the stream is seen by the other side', async () => {
      let serverSide: Duplex | undefined;
      const accepted = new Promise<void>((resolve) => {
        void s.transport
          .listen(parseAddress(s.listenAddress()), (stream) => {
            served.push(stream);
            serverSide = stream;
            stream.resume();
            resolve();
          })
          .then((l) => (listener = l));
      });
      while (!listener) await new Promise((r) => setTimeout(r, 1));
      const client = await s.transport.connect(parseAddress(listener.address));
      await accepted;
      const ended = once(serverSide!, 'end');
      client.end();
      await ended;
      client.destroy();
    });

    test('after the listener closes, new connections are refused', async () => {
      const address = await listenRpc();
      await listener!.close();
      listener = undefined;
      await expect(s.transport.connect(address, { timeoutMs: 3000 })).rejects.toBeInstanceOf(TransportError);
    });
  });
}
