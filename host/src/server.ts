/**
 * The host's HTTP server: the app behind timeouts of seconds and a cap on the
 * connections one client address may hold open, so that slow or idle
 * connections cannot pile up (docs/api.md#limits).
 *
 * At the cap, a new connection from that address takes the place of the
 * oldest one of the same address that is not serving a received request
 * (idle, or still sending its headers or body): a client that holds many
 * slow requests open only ever holds the cap's worth, and loses them first,
 * while requests that arrived whole are never cut. If every one of them is
 * serving a request, the new connection is answered 429 and closed.
 */
import { randomUUID } from 'node:crypto';
import { createServer, IncomingMessage, ServerResponse, type RequestListener, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { announcesBody } from './api/body.js';
import { clientKey } from './api/rate-limit.js';

/** The whole request (headers and body) must arrive within this. */
export const REQUEST_TIMEOUT_MS = 20_000;
/** The headers must arrive within this. */
export const HEADERS_TIMEOUT_MS = 10_000;
/** An idle keep-alive connection is closed after this. */
export const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** How often Node checks the two timeouts above (its default, 30 s, would let them run over by as much). */
const TIMEOUT_CHECK_MS = 1_000;

export interface HostServerOptions {
  /** Open connections per client address (IPv6 by /64); 0: no cap. Not applied behind trusted proxies (their addresses are not the clients'). */
  maxConnectionsPerAddress: number;
  /** TRUST_PROXY_HOPS: above 0 the socket address is a proxy's, so the cap is the proxy's to enforce. */
  trustProxyHops?: number;
  /**
   * The prototypes the app gives every request and response (an Express app's `request` and `response`). Node then
   * builds each request and response on them, so Express's `Object.setPrototypeOf` on every request finds them
   * already set and changes nothing. Changing the prototype of a live object makes V8 keep each request's objects
   * alive through scavenges; the old generation then grows with every request until a mark-compact, and that
   * collection throws away optimised code (docs/performance.md, fourteenth look).
   */
  prototypes?: { request: object; response: object };
}

/** A constructor for Node's server to build `Base` objects with `prototype` as their prototype. */
function builtOn<T extends typeof IncomingMessage | typeof ServerResponse>(base: T, prototype: object): T {
  // Reflect.construct runs Node's constructor on an object whose prototype is `newTarget.prototype`.
  function newTarget(...args: unknown[]): object {
    return Reflect.construct(base, args, newTarget) as object;
  }
  newTarget.prototype = prototype;
  return newTarget as unknown as T;
}

export function createHostServer(app: RequestListener, options: HostServerOptions): Server {
  const server = createServer(
    {
      requestTimeout: REQUEST_TIMEOUT_MS,
      headersTimeout: HEADERS_TIMEOUT_MS,
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      connectionsCheckingInterval: TIMEOUT_CHECK_MS,
      ...(options.prototypes
        ? {
            IncomingMessage: builtOn(IncomingMessage, options.prototypes.request),
            ServerResponse: builtOn(ServerResponse, options.prototypes.response),
          }
        : {}),
    },
    app,
  );
  const cap = options.maxConnectionsPerAddress;
  if (cap <= 0 || (options.trustProxyHops ?? 0) > 0) return server;

  const byAddress = new Map<string, Set<Socket>>();
  /** The request each connection is on, until it is answered. */
  const current = new WeakMap<Socket, IncomingMessage>();
  server.on('request', (req: IncomingMessage, res) => {
    current.set(req.socket, req);
    res.once('close', () => {
      if (current.get(req.socket) === req) current.delete(req.socket);
    });
  });
  // Serving a request that arrived whole (its headers, and its body if it has one).
  const serving = (socket: Socket): boolean => {
    const req = current.get(socket);
    return req !== undefined && (req.complete || !announcesBody(req.headers));
  };
  server.on('connection', (socket: Socket) => {
    const key = clientKey(socket.remoteAddress, undefined, 0);
    let open = byAddress.get(key);
    if (!open) byAddress.set(key, (open = new Set()));
    if (open.size >= cap) {
      let victim: Socket | undefined;
      for (const s of open) {
        if (!serving(s)) {
          victim = s;
          break;
        }
      }
      if (victim) {
        open.delete(victim);
        victim.destroy();
      } else {
        refuse(socket);
        return;
      }
    }
    open.add(socket);
    socket.once('close', () => {
      open.delete(socket);
      if (open.size === 0 && byAddress.get(key) === open) byAddress.delete(key);
    });
  });
  return server;
}

/** 429 RATE_LIMITED, written before any request is read, then the connection is closed. */
function refuse(socket: Socket): void {
  socket.pause();
  const body = JSON.stringify({
    error: { code: 'RATE_LIMITED', message: 'too many open connections from this address', requestId: randomUUID(), retryAfter: 1 },
  });
  socket.end(
    `HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    () => socket.destroy(),
  );
}
