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
import { whenReady } from '../guard/http1.js';

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
 * (the guard's HTTP client uses these directly; the agent below gives them to the AWS SDK). `signal` abandons the
 * attempt (the stream and the TLS socket destroyed): the parent could otherwise stall a handshake forever. The
 * socket keeps an error listener of its own, so an error before its user's listeners are attached (a bad record
 * right after the handshake, say) destroys it instead of throwing in the enclave.
 */
export function connectThroughProxy(options: VsockAgentOptions, servername: string, signal?: AbortSignal): Promise<TLSSocket> {
  const address = parseAddress(options.proxy);
  const transport = options.transport ?? vsockTransport;
  const abandon = signal ?? new AbortController().signal;
  return new Promise<TLSSocket>((resolve, reject) => {
    const onAbort = (): void => reject(new Error('the connection attempt was abandoned'));
    if (abandon.aborted) return onAbort();
    abandon.addEventListener('abort', onAbort, { once: true });
    const failed = (err: unknown): void => {
      abandon.removeEventListener('abort', onAbort);
      reject(err instanceof Error ? err : new Error(String(err)));
    };
    let stream: Promise<Duplex>;
    try {
      stream = transport.connect(address);
    } catch (err) {
      return failed(err);
    }
    stream.then((s) => {
      abandon.removeEventListener('abort', onAbort);
      if (abandon.aborted) return void s.destroy(); // already rejected
      try {
        const socket: TLSSocket = tlsConnect({ socket: s, servername, ALPNProtocols: ['http/1.1'], ...options.tls });
        socket.once('close', () => s.destroy());
        whenReady(socket, 'secureConnect', abandon).then(resolve, reject);
      } catch (err) {
        s.destroy();
        failed(err);
      }
    }, failed);
  });
}

/**
 * How long the KMS client's agent waits for a connection and its TLS handshake. The request's own deadline
 * (KMS_REQUEST_TIMEOUT_MS, client.ts) counts from the request's start and so ends a stalled handshake first; this one
 * still ends the connection attempt behind it.
 */
const HANDSHAKE_TIMEOUT_MS = 10_000;

/** An HTTPS agent whose connections go through vsock-proxy. */
export function createVsockHttpsAgent(options: VsockAgentOptions): Agent {
  parseAddress(options.proxy); // a bad address fails here, not at the first request
  class VsockHttpsAgent extends Agent {
    constructor(agentOptions: AgentOptions) {
      super(agentOptions);
    }

    override createConnection(connectOptions: { host?: string; servername?: string }, callback: Callback): undefined {
      connectThroughProxy(options, connectOptions.servername ?? connectOptions.host ?? '', AbortSignal.timeout(HANDSHAKE_TIMEOUT_MS)).then(
        // An error between the handshake and here destroyed it (its own listener): the request fails, not hangs.
        (socket) => (socket.destroyed ? callback(new Error('the TLS connection closed while it was made')) : callback(null, socket)),
        (err: Error) => callback(err),
      );
      return undefined;
    }
  }
  return new VsockHttpsAgent({ keepAlive: true, maxSockets: 8 });
}
