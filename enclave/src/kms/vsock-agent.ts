/**
 * How the enclave reaches KMS on Nitro. An enclave has no network; the parent
 * instance runs `vsock-proxy`, which forwards one vsock port (8000 by
 * convention) to the region's KMS endpoint on TCP 443. This agent gives the
 * AWS SDK (and the guard's own HTTP client) sockets that are TLS connections *made inside the enclave* over a
 * vsock stream to that proxy: TLS is end to end between the enclave and KMS,
 * and the proxy (and the parent) see only ciphertext. Certificates and the
 * host name are verified as for any HTTPS request.
 *
 * Chosen over an in-enclave TCP forwarder (a local port that relays to vsock)
 * because it needs no extra process, no /etc/hosts rewrite and no loopback
 * interface set-up in the enclave, and it keeps the SDK unmodified: only its
 * `httpsAgent` differs from local runs.
 */
import { Agent, type AgentOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { parseAddress, vsockTransport, type Transport } from '@enclave-wallet/proto';

export interface VsockAgentOptions {
  /** The parent's vsock-proxy, e.g. vsock://3:8000. */
  proxy: string;
  /** The transport to reach it (the vsock transport; tests pass one over a stand-in). */
  transport?: Transport;
  /** The roots TLS trusts: production passes only the Amazon roots (kms/amazon-roots.ts, via config.ts); tests a private CA. */
  tls?: Pick<ConnectionOptions, 'ca'>;
}

type Callback = (err: Error | null, socket?: Duplex) => void;

/**
 * A TLS connection to `servername` made inside the enclave over a vsock stream to the parent's vsock-proxy
 * (the guard's HTTP client uses these directly; the agent below gives them to the AWS SDK).
 */
export function connectThroughProxy(options: VsockAgentOptions, servername: string): Promise<TLSSocket> {
  const address = parseAddress(options.proxy);
  const transport = options.transport ?? vsockTransport;
  return transport.connect(address).then(
    (stream) =>
      new Promise<TLSSocket>((resolve, reject) => {
        const socket: TLSSocket = tlsConnect({ socket: stream, servername, ALPNProtocols: ['http/1.1'], ...options.tls });
        const onError = (err: Error): void => {
          socket.destroy();
          stream.destroy();
          reject(err);
        };
        socket.once('error', onError);
        socket.once('secureConnect', () => {
          socket.off('error', onError);
          resolve(socket);
        });
      }),
  );
}

/** An HTTPS agent whose connections go through vsock-proxy. */
export function createVsockHttpsAgent(options: VsockAgentOptions): Agent {
  parseAddress(options.proxy); // a bad address fails here, not at the first request
  class VsockHttpsAgent extends Agent {
    constructor(agentOptions: AgentOptions) {
      super(agentOptions);
    }

    override createConnection(connectOptions: { host?: string; servername?: string }, callback: Callback): undefined {
      connectThroughProxy(options, connectOptions.servername ?? connectOptions.host ?? '').then(
        (socket) => callback(null, socket),
        (err: Error) => callback(err),
      );
      return undefined;
    }
  }
  return new VsockHttpsAgent({ keepAlive: true, maxSockets: 8 });
}
